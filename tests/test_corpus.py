"""Loading and validating documents."""

from __future__ import annotations

import pytest

from copyadvisor.retrieval.corpus import CorpusError, load_corpus
from conftest import CORPUS


def test_bundled_corpus_has_five_articles_with_metadata():
    snapshot = load_corpus(CORPUS)
    by_lang = {d.lang: d for d in snapshot.documents}
    assert sorted(by_lang) == ["ar", "fr", "id", "ja", "pl"]
    assert by_lang["pl"].published == "2021-11-10"
    assert by_lang["ja"].title.startswith("クライアントと顧客")
    group = {d.lang for d in snapshot.documents if d.translation_of == "client-vs-customer-2022"}
    assert group == {"fr", "ja", "id", "ar"}
    assert by_lang["pl"].translation_of is None
    assert snapshot.skipped == []


def test_fingerprint_changes_with_content_and_catalog(corpus_copy):
    before = load_corpus(corpus_copy).fingerprint
    assert load_corpus(corpus_copy).fingerprint == before
    path = corpus_copy / "fr-client-vs-customer.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nUne phrase de plus.\n", encoding="utf-8")
    after_text = load_corpus(corpus_copy).fingerprint
    assert after_text != before
    catalog = corpus_copy / "catalog.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace("2021-11-10", "2021-11-11"), encoding="utf-8")
    assert load_corpus(corpus_copy).fingerprint != after_text


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (b"\xff\xfe\x00b\x00a\x00d", "binary"),
        (b"caf\xe9 cr\xe8me", "not UTF-8"),
        (b"1234 5678 !!! ???", "no words"),
    ],
)
def test_bad_files_get_clear_errors(tmp_path, content, message):
    (tmp_path / "bad.txt").write_bytes(content)
    with pytest.raises(CorpusError, match=message) as info:
        load_corpus(tmp_path)
    assert "bad.txt" in str(info.value)


def test_unknown_language_is_an_error(tmp_path):
    (tmp_path / "gibberish.txt").write_text("zxq vbnm qwpl\nxkcd zzq\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="unknown language"):
        load_corpus(tmp_path)


def test_non_strict_loading_skips_bad_files_and_keeps_the_rest(corpus_copy):
    (corpus_copy / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    snapshot = load_corpus(corpus_copy, strict=False)
    assert len(snapshot.documents) == 5
    assert len(snapshot.skipped) == 1 and "broken.txt" in snapshot.skipped[0]


def test_dropped_in_markdown_with_front_matter_is_picked_up(corpus_copy):
    (corpus_copy / "de-kunde.md").write_text(
        "---\ntitle: Kunde oder Klient?\nlang: de\npublished: 2024-05-01\n---\n"
        "# Kunde oder Klient?\n\nEin Kunde kauft einmal. Ein Klient bleibt lange.\n",
        encoding="utf-8",
    )
    docs = {d.id: d for d in load_corpus(corpus_copy).documents}
    doc = docs["de-kunde"]
    assert (doc.lang, doc.title, doc.published) == ("de", "Kunde oder Klient?", "2024-05-01")


def test_dropped_in_text_gets_detected_language_and_date(corpus_copy):
    (corpus_copy / "es-cliente.txt").write_text(
        "Cliente o consumidor\nPublicado: 2024-02-03\n"
        "Un cliente mantiene una relación duradera con la empresa y confía en su experiencia profesional.\n",
        encoding="utf-8",
    )
    doc = {d.id: d for d in load_corpus(corpus_copy).documents}["es-cliente"]
    assert (doc.lang, doc.title, doc.published) == ("es", "Cliente o consumidor", "2024-02-03")


def test_byte_order_mark_is_removed(tmp_path):
    (tmp_path / "bom.txt").write_bytes("\ufeffTitre\nUn client achète.\n".encode("utf-8"))
    (tmp_path / "catalog.toml").write_text('[[document]]\nfile = "bom.txt"\nlang = "fr"\n', encoding="utf-8")
    doc = load_corpus(tmp_path).documents[0]
    assert doc.text.startswith("Titre") and doc.title == "Titre"


def test_bad_catalog_and_duplicate_ids_are_reported(tmp_path):
    (tmp_path / "a.txt").write_text("Titre\nUn client achète.\n", encoding="utf-8")
    (tmp_path / "catalog.toml").write_text("[[document]\nfile = ", encoding="utf-8")
    with pytest.raises(CorpusError, match="not valid TOML"):
        load_corpus(tmp_path)
    (tmp_path / "b.txt").write_text("Titre\nUn client achète.\n", encoding="utf-8")
    (tmp_path / "catalog.toml").write_text(
        '[[document]]\nfile = "a.txt"\nid = "same"\nlang = "fr"\n[[document]]\nfile = "b.txt"\nid = "same"\nlang = "fr"\n',
        encoding="utf-8",
    )
    with pytest.raises(CorpusError, match="already used"):
        load_corpus(tmp_path)


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no usable"):
        load_corpus(tmp_path)
