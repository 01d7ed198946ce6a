"""Cutting documents into passages along their structure."""

from __future__ import annotations

import re
import unicodedata

import pytest

from copyadvisor.retrieval.corpus import load_corpus, parse_document
from copyadvisor.retrieval.splitting import MAX_PASSAGE, effective_length, read_blocks, split_document
from conftest import CORPUS

DOCS = {d.lang: d for d in load_corpus(CORPUS).documents}
SENTENCE_OR_LINE_END = re.compile(r"[.!?…。！？؟:\"'”»)」』\]]$")


def document(text: str, lang: str = "en"):
    return parse_document("doc.txt", text.encode("utf-8"), {"lang": lang, "id": "doc"})


@pytest.mark.parametrize("lang", sorted(DOCS))
def test_every_passage_is_an_exact_slice_of_its_document(lang):
    doc = DOCS[lang]
    passages = split_document(doc)
    assert len(passages) >= 10
    for passage in passages:
        assert doc.text[passage.start : passage.end] == passage.text
        assert passage.text == passage.text.strip()
        assert passage.lang == lang and passage.doc_id == doc.id


@pytest.mark.parametrize("lang", sorted(DOCS))
def test_passages_end_at_a_line_or_sentence_end_never_mid_word(lang):
    doc = DOCS[lang]
    meta_ends = {b.end for b in read_blocks(doc) if b.kind == "meta"}  # "Publié: 2022-04-29Bienvenue…"
    for passage in split_document(doc):
        after = doc.text[passage.end : passage.end + 1]
        assert after in ("", "\n", "\r"), f"{passage.id} stops mid-line: …{passage.text[-20:]!r}|{after!r}"
        assert passage.start in meta_ends or doc.text[passage.start - 1] in "\n ", passage.id


def test_date_and_title_are_not_passage_text():
    doc = DOCS["fr"]
    first = split_document(doc)[0]
    assert first.text.startswith("Bienvenue dans English 101")
    assert "2022-04-29" not in "".join(p.text for p in split_document(doc))


def test_list_item_keeps_its_explanation_and_heading():
    passages = split_document(DOCS["ja"])
    item = next(p for p in passages if p.text.startswith("- 彼らはかなり速く行き来する"))
    assert "顧客は、SaaS製品から即座に価値を得る" in item.text
    assert item.heading == "お客様の特徴"
    assert item.kind == "mixed"


def test_consecutive_headings_nest():
    passages = split_document(DOCS["id"])
    faq = next(p for p in passages if p.text.startswith("Klien adalah pelanggan saat ini"))
    assert faq.heading == "Pertanyaan yang Sering Diajukan › Singkatnya, apa perbedaan antara pelanggan dan klien?"


def test_arabic_gif_captions_are_dropped_as_boilerplate():
    kinds = {b.text(DOCS["ar"]): b.kind for b in read_blocks(DOCS["ar"])}
    captions = [t for t in kinds if "GIF" in t]
    assert captions and all(kinds[t] == "boilerplate" for t in captions)
    assert not any("GIF" in p.text for p in split_document(DOCS["ar"]))


def test_long_japanese_paragraph_is_cut_at_full_width_sentence_ends():
    sentence = "顧客は価格と利便性を重視し、一度だけ購入することが多いです。"
    text = "タイトル\n" + sentence * 60 + "\n"
    doc = document(text, "ja")
    passages = split_document(doc)
    assert len(passages) > 1
    for passage in passages:
        assert passage.text.endswith("。"), passage.text[-10:]
        assert effective_length(passage.text) <= MAX_PASSAGE
    assert "".join(p.text for p in passages) == sentence * 60


def test_long_arabic_paragraph_is_cut_at_arabic_question_marks_and_periods():
    sentence = "هل يحتاج العميل إلى علاقة طويلة الأمد مع الشركة؟ نعم، في أغلب الأحيان. "
    doc = document("عنوان\n" + sentence * 40 + "\n", "ar")
    passages = split_document(doc)
    assert len(passages) > 1
    for passage in passages:
        assert passage.text[-1] in "؟.", passage.text[-10:]
        assert doc.text[passage.start : passage.end] == passage.text


def test_a_sentence_longer_than_the_limit_is_kept_whole_rather_than_cut_mid_word():
    words = " ".join(f"mot{i}" for i in range(400))
    doc = document("Titre\n" + words + ".\n", "fr")
    (passage,) = split_document(doc)
    assert passage.text == words + "."


def test_mixed_scripts_emoji_and_combining_marks_keep_exact_offsets():
    text = "Title\nClients 👩‍💼 love café (e\u0301) — العميل و顧客 both count.\nSecond paragraph here.\n"
    doc = document(text)
    for passage in split_document(doc):
        assert doc.text[passage.start : passage.end] == passage.text
    assert unicodedata.normalize("NFC", doc.text) != doc.text  # the text was not normalised


def test_a_short_leftover_joins_the_passage_before_it_under_the_same_heading():
    body = " ".join(["Customers buy once, for price and convenience, and may not come back."] * 9)
    text = f"Title\nWho is a customer?\n{body}\nDon't worry, it is explained below.\nWho is a client?\nA client keeps coming back.\n"
    passages = split_document(document(text))
    assert [p.heading for p in passages] == ["Who is a customer?", "Who is a client?"]
    assert passages[0].text.endswith("explained below.") and passages[0].text.startswith("Customers buy once")
    assert passages[1].text == "A client keeps coming back."  # short, but alone under its heading: kept
    assert all(document(text).text[p.start : p.end] == p.text for p in passages)


def test_the_bundled_articles_have_no_orphan_fragments():
    for doc in DOCS.values():
        passages = split_document(doc)
        for before, passage in zip(passages, passages[1:]):
            if passage.heading == before.heading:
                assert effective_length(passage.text) >= 150 or effective_length(before.text + passage.text) > MAX_PASSAGE, passage.id


def test_markdown_front_matter_is_not_text_and_hard_wrapped_lines_stay_one_paragraph():
    from copyadvisor.retrieval.corpus import parse_document

    raw = ("---\ntitle: Acme house style\nlang: en\n---\nHow Acme writes.\n\n## People who pay us\n\n"
           "The people who pay Acme are members. Say \"members\",\nnever \"users\" or \"customers\": a membership\n"
           "is an ongoing relationship.\n\n## Lists\n\n- an item that wraps\n  onto two lines\n- second\n").encode()
    doc = parse_document("acme.md", raw, {})
    passages = split_document(doc)
    assert doc.title == "Acme house style"
    assert not any("title:" in p.text or "title:" in p.heading for p in passages)
    members = next(p for p in passages if "members" in p.text)
    assert members.heading == "People who pay us"
    assert " ".join(members.text.split()).endswith("a membership is an ongoing relationship.")
    assert any(p.heading == "Lists" and "onto two lines" in p.text for p in passages)
