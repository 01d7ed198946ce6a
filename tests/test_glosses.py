"""Glosses: the plumbing (lookup, source choice, validation, resumable writes) with a fake generator.

The real translations are made by ``copyadvisor gloss`` and read by a person; these tests only
check that the right text is sent, that bad output is refused and that nothing is lost.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from copyadvisor import cli
from copyadvisor.retrieval.glosses import (
    GLOSSES_FILE, Glosses, build_glosses, choose_source, gloss_text, iter_glosses, parse_languages, problems, segments,
    text_sha256,
)
from copyadvisor.retrieval.splitting import effective_length
from copyadvisor.types import Passage

FR_TEXT = ("Un client achète une fois dans un magasin, pour le prix. Un client fidèle entretient une relation "
           "de confiance à long terme avec un professionnel.")
ID_TEXT = ("Pelanggan membeli sekali di toko, karena harga. Klien menjalin hubungan kepercayaan jangka panjang "
           "dengan seorang profesional.")
JA_TEXT = "顧客は価格のために店で一度だけ購入します。クライアントは専門家と長期的な信頼関係を築きます。"
PL_TEXT = ("Klient dokonuje pojedynczej transakcji w sklepie, podczas gdy klient polega na ciągłej, osobistej "
           "obsłudze profesjonalisty.")
EN_FROM_ID = ("A customer buys once in a store, because of the price. A client builds a long-term relationship "
              "of trust with a professional.")
EN_FROM_PL = ("A customer makes a single transaction in a shop, while a client relies on ongoing, personal "
              "service from a professional.")
EN_FROM_FR = ("A customer buys once in a shop, for the price. A loyal client keeps a long-term relationship of "
              "trust with a professional.")


def passage(pid: str, lang: str, text: str, concepts=("client", "customer"), parallels=()) -> Passage:
    doc = pid.split("#")[0]
    return Passage(id=pid, doc_id=doc, lang=lang, heading="", text=text, start=0, end=len(text),
                   concepts=list(concepts), parallel_ids=list(parallels))


def aligned_article() -> list[Passage]:
    """One passage of an article in French, Indonesian and Japanese, plus a Polish one alone."""
    return [
        passage("fr#000", "fr", FR_TEXT, parallels=["id#000", "ja#000"]),
        passage("id#000", "id", ID_TEXT, parallels=["fr#000", "ja#000"]),
        passage("ja#000", "ja", JA_TEXT, parallels=["fr#000", "id#000"]),
        passage("pl#000", "pl", PL_TEXT),
    ]


@dataclass
class FakeConfig:
    corpus: Path
    index: Path


@dataclass
class FakeIndex:
    passages: list[Passage]


@dataclass
class FakeLibrary:
    config: FakeConfig
    index: FakeIndex


@dataclass
class FakeGenerator:
    """Answers from a table (source text -> translation); records every prompt it was given."""

    table: dict[str, str] = field(default_factory=dict)
    default: str | None = None
    fail_on_call: int | None = None  # raise KeyboardInterrupt on this call (1-based): an interrupted run
    calls: list[list[dict]] = field(default_factory=list)
    id: str = "fake:translator"

    def stream(self, messages, prefix="", max_new_tokens=160, stop=None):
        self.calls.append(messages)
        if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
            raise KeyboardInterrupt
        yield prefix
        text = self.table.get(messages[-1]["content"], self.default)
        yield text if text is not None else messages[-1]["content"]


@pytest.fixture
def folders(tmp_path) -> FakeConfig:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    index.mkdir()
    return FakeConfig(corpus, index)


def library_of(folders: FakeConfig, passages: list[Passage]) -> FakeLibrary:
    return FakeLibrary(folders, FakeIndex(passages))


def line(p: Passage, lang: str, text: str) -> str:
    return json.dumps({"source_sha256": text_sha256(p.text), "lang": lang, "text": text, "from_lang": p.lang,
                       "generator": "fake", "passage_id": p.id}, ensure_ascii=False) + "\n"


def test_lookup_by_text_sha_and_language(folders):
    fr, _, _, pl = aligned_article()
    (folders.corpus / GLOSSES_FILE).write_text(line(fr, "en", "shipped") + line(pl, "en", EN_FROM_PL), encoding="utf-8")
    (folders.index / GLOSSES_FILE).write_text(line(fr, "en", "made here"), encoding="utf-8")
    glosses = Glosses.open(folders.corpus, folders.index)
    assert glosses.get(pl, "en") == EN_FROM_PL
    assert glosses.get(fr, "en") == "made here"  # the local file wins over the shipped one
    assert glosses.get(pl, "de") is None
    assert glosses.entry(pl, "en")["from_lang"] == "pl"


def test_a_changed_passage_is_not_shown_a_stale_gloss(folders):
    _, _, _, pl = aligned_article()
    (folders.corpus / GLOSSES_FILE).write_text(line(pl, "en", EN_FROM_PL), encoding="utf-8")
    edited = passage(pl.id, "pl", pl.text.replace("sklepie", "supermarkecie"))
    glosses = Glosses.open(folders.corpus, folders.index)
    assert glosses.get(edited, "en") is None
    assert glosses.get(pl, "en") == EN_FROM_PL


def test_malformed_lines_are_skipped_with_a_warning(folders, caplog):
    fr, _, _, pl = aligned_article()
    good = line(pl, "en", EN_FROM_PL)
    bad = ["not json\n", "[1, 2]\n", json.dumps({"source_sha256": "abc", "lang": "en", "text": "x"}) + "\n",
           json.dumps({"source_sha256": text_sha256(fr.text), "lang": "en"}) + "\n", "\n", line(fr, "en", "torn")[:30]]
    (folders.index / GLOSSES_FILE).write_text(bad[0] + good + "".join(bad[1:]), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="copyadvisor.retrieval.glosses"):
        glosses = Glosses.open(folders.corpus, folders.index)  # no shipped file: that is fine too
    assert glosses.get(pl, "en") == EN_FROM_PL
    assert len(glosses) == 1 and glosses.skipped_lines == 5
    assert sum("not a valid gloss line" in r.message for r in caplog.records) == 5


def lengths_of(passages: list[Passage]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in passages:
        out[p.doc_id] = out.get(p.doc_id, 0) + effective_length(p.text)
    return out


def test_source_is_french_with_the_words_the_indonesian_parallel_uses():
    passages = aligned_article()
    by_id = {p.id: p for p in passages}
    source = choose_source(by_id["fr#000"], "en", by_id, lengths_of(passages))
    assert (source.lang, source.ids, source.terms_from) == ("fr", ["fr#000"], ["id#000"])
    assert source.text == FR_TEXT.replace("Un client achète", "Un customer achète")  # sentence 1: pelanggan
    assert source.original == FR_TEXT and source.hint == ""
    for other in ("id#000", "ja#000"):  # the Indonesian and Japanese passages are glossed from the French too
        assert choose_source(by_id[other], "en", by_id, lengths_of(passages)).text == source.text
    german = choose_source(by_id["fr#000"], "de", by_id, lengths_of(passages))
    assert german.text == FR_TEXT.replace("Un client achète", "Un Kunde achète").replace("Un client fidèle", "Un Klient fidèle")


def test_french_words_that_cannot_be_told_are_left_to_the_model_or_the_indonesian_is_used():
    unresolvable = "Un client est un client. Voilà tout, vraiment."  # two "client"...
    reference = "Klien adalah pelanggan yang setia dan pelanggan lagi. Itu saja, sungguh."  # ...for three words
    passages = [passage("fr#000", "fr", unresolvable, parallels=["id#000"]), passage("id#000", "id", reference, parallels=["fr#000"])]
    by_id = {p.id: p for p in passages}
    source = choose_source(by_id["fr#000"], "en", by_id, lengths_of(passages))
    assert (source.lang, source.text, source.terms_rendered) == ("fr", unresolvable, False)
    assert "'client' stands for both English words" in source.hint
    assert source.unresolved == ["Un client est un client."] and not source.checks_terms("Un client est un client.")
    assert source.checks_terms("Voilà tout, vraiment.")  # a sentence without an undecided word is still checked
    misaligned = "Un client est un client. Voilà tout. Vraiment tout."  # three sentences for two: no alignment
    passages[0] = passage("fr#000", "fr", misaligned, parallels=["id#000"])
    by_id = {p.id: p for p in passages}
    source = choose_source(by_id["fr#000"], "en", by_id, lengths_of(passages))
    assert (source.lang, source.ids, source.terms_rendered) == ("id", ["id#000"], True)
    assert source.text == "Client adalah customer yang setia dan customer lagi. Itu saja, sungguh."  # words pre-rendered
    assert source.original == reference and source.hint == ""
    spanish = choose_source(by_id["fr#000"], "es", by_id, lengths_of(passages))  # one word in Spanish too
    assert (spanish.lang, spanish.text) == ("fr", misaligned)


def test_a_gloss_must_keep_the_words_of_a_pre_rendered_source():
    src = "Un customer achète une fois, alors qu'un client reste des années."
    ok = "A customer buys once, while a client stays for years."
    assert problems(ok, src, "fr", "en", check_terms=True) == []
    assert "loses the client/customer distinction" in problems(ok.replace("a client", "a customer"), src, "fr", "en", check_terms=True)
    one = "Les customers achètent une fois dans un magasin, pour le prix du produit."
    assert any("says client" in p for p in problems("Clients buy once in a shop, for the price of the product.", one, "fr", "en", check_terms=True))
    assert problems("Clients buy once in a shop, for the price of the product.", one, "fr", "en") == []  # not asked


def test_a_parallel_that_also_covers_a_neighbour_is_not_used():
    fr = [passage("fr#000", "fr", FR_TEXT, ["customer"], ["id#000"]), passage("fr#001", "fr", FR_TEXT, ["client"], ["id#000"])]
    ind = passage("id#000", "id", ID_TEXT + " " + ID_TEXT, parallels=["fr#000", "fr#001"])
    by_id = {p.id: p for p in [*fr, ind]}
    source = choose_source(fr[0], "en", by_id, lengths_of([*fr, ind]))
    assert (source.lang, source.ids, source.terms_from) == ("fr", ["fr#000"], [])
    assert source.text == FR_TEXT.replace("client", "customer")  # its own sense: customer


def test_a_polish_passage_for_both_gets_words_in_the_prompt_and_one_sense_is_pre_rendered():
    both = passage("pl#000", "pl", PL_TEXT, ["client", "customer"])
    by_id = {both.id: both}
    source = choose_source(both, "en", by_id, lengths_of([both]))
    assert source.text == PL_TEXT and "'klient' stands for both English words" in source.hint
    one = passage("pl#001", "pl", "Klienci kupują w sklepie. Klient płaci od razu i klienta nie widzimy więcej.", ["customer"])
    source = choose_source(one, "en", {one.id: one}, lengths_of([one]))
    assert source.text == "Customers kupują w sklepie. Customer płaci od razu i customer nie widzimy więcej."
    assert source.hint == ""
    assert choose_source(one, "es", {one.id: one}, lengths_of([one])).text == one.text  # Spanish: one word too


def test_an_ambiguous_passage_gets_its_sense_in_the_prompt(folders):
    pl = passage("pl#000", "pl", PL_TEXT, ["client", "customer"])
    generator = FakeGenerator({PL_TEXT: EN_FROM_PL})
    report = build_glosses(library_of(folders, [pl]), generator, ["en"], progress=False)
    assert report.made == 1
    system = generator.calls[0][0]["content"]
    assert system.startswith("Translate the user's text into English. Output only the translation.")
    assert "'klient' stands for both English words" in system
    assert generator.calls[0][1] == {"role": "user", "content": PL_TEXT}
    entry = Glosses.open(folders.corpus, folders.index).entry(pl, "en")  # default out: <index>/glosses.jsonl
    assert entry["text"] == EN_FROM_PL and entry["from_lang"] == "pl" and entry["generator"] == "fake:translator"


def test_only_missing_glosses_are_generated(folders):
    passages = aligned_article()
    fr, ind, ja, pl = passages
    (folders.corpus / GLOSSES_FILE).write_text(line(pl, "en", EN_FROM_PL), encoding="utf-8")
    out = folders.index / "mine.jsonl"
    out.write_text(line(ja, "en", EN_FROM_ID), encoding="utf-8")
    french = FR_TEXT.replace("Un client achète", "Un customer achète")  # terms from the Indonesian parallel
    first, second = segments(french)[0][1], segments(french)[1][1]
    generator = FakeGenerator({french: EN_FROM_FR})
    report = build_glosses(library_of(folders, passages), generator, ["en", "id"], out, progress=False)
    # en: fr and id are new (both from the French text, translated once), ja is in --out, pl is shipped;
    # id: only pl needs one (fr and ja have the Indonesian parallel, id is Indonesian), from its English gloss
    assert report.existing == 2 and report.not_needed == 3 and report.made == 2
    pivot = "A pelanggan makes a single transaction in a shop, while a klien relies on ongoing, personal service from a professional."
    assert [m[-1]["content"] for m in generator.calls] == [french, pivot, pivot.replace("pelanggan", "PELANGGAN").replace("klien", "KLIEN")]
    written = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [(e["passage_id"], e["lang"]) for e in written] == [("ja#000", "en"), ("fr#000", "en"), ("id#000", "en")]
    assert report.skipped == 1  # pl -> id: the fake echoed English, which is not Indonesian
    assert written[1]["from_lang"] == "fr" and written[1]["terms_from"] == ["id#000"] and written[1]["text"] == EN_FROM_FR
    generator.calls.clear()
    build_glosses(library_of(folders, passages), generator, ["en"], out, progress=False)
    assert generator.calls == []  # nothing left to do


def test_a_gloss_failing_validation_is_retried_by_sentence_then_skipped(folders, caplog):
    pl = passage("pl#000", "pl", PL_TEXT + " Obie relacje wymagają uwagi i wysokiej jakości obsługi.")
    generator = FakeGenerator(default="Un client achète une fois dans un magasin, pour le prix, en toute simplicité.")
    with caplog.at_level(logging.WARNING, logger="copyadvisor.retrieval.glosses"):
        report = build_glosses(library_of(folders, [pl]), generator, ["en"], progress=False)
    assert (report.made, report.skipped) == (0, 1)
    assert "language fr, not en" in report.failures[0]
    assert len(generator.calls) == 2  # the whole passage, then its first sentence: refused, so no more
    assert not (folders.index / GLOSSES_FILE).read_text(encoding="utf-8")
    assert any("no gloss for pl#000" in r.message for r in caplog.records)


def test_sentence_by_sentence_retry_can_rescue_a_passage():
    source_text = "Klient kupuje raz w sklepie.\n- Klient wraca przez wiele lat do tego samego prawnika."
    table = {
        source_text: "A customer buys once. Translate the user's text into English.",  # instruction echo
        "Klient kupuje raz w sklepie.": "A customer buys once in a shop.",
        "Klient wraca przez wiele lat do tego samego prawnika.": "A client comes back to the same lawyer for many years.",
    }
    from copyadvisor.retrieval.glosses import Source

    outcome = gloss_text(FakeGenerator(table), Source(source_text, "pl", ["pl#0"]), "en")
    assert outcome.issues == []
    assert outcome.text == "A customer buys once in a shop.\n- A client comes back to the same lawyer for many years."


def test_validation_catches_invented_numbers_echoes_and_runaway_length():
    src = "Pelanggan membeli sekali di toko karena harga, sedangkan klien tetap bersama Anda selama bertahun-tahun."
    ok = "A customer buys once in a store because of the price, while a client stays with you for years."
    assert problems(ok, src, "id", "en") == []
    assert any("numbers" in p for p in problems(ok.replace("for years", "for 10 years"), src, "id", "en"))
    assert any("echoes" in p for p in problems("Here is the translation: " + ok, src, "id", "en"))
    assert any("length" in p for p in problems(ok * 4, src, "id", "en"))
    assert any("length" in p for p in problems("A customer buys.", src, "id", "en"))
    assert problems("A customer buys in 2022.", "Pelanggan membeli pada tahun ٢٠٢٢.", "ar", "en") == []
    google = "A customer buys once in a store because of the price, while a client like Google stays with you for years."
    assert any("names not in the source: Google" in p for p in problems(google, src, "id", "en"))


def test_an_interrupted_run_keeps_the_lines_it_finished(folders):
    passages = [passage(f"pl#{n:03d}", "pl", f"{PL_TEXT} ({n})") for n in range(1, 4)]
    table = {p.text: f"{EN_FROM_PL} ({n})" for n, p in enumerate(passages, 1)}
    out = folders.index / GLOSSES_FILE
    with pytest.raises(KeyboardInterrupt):
        build_glosses(library_of(folders, passages), FakeGenerator(table, fail_on_call=3), ["en"], out, progress=False)
    kept = [json.loads(x)["passage_id"] for x in out.read_text(encoding="utf-8").splitlines()]
    assert kept == ["pl#001", "pl#002"]
    with out.open("a", encoding="utf-8") as handle:  # a run killed mid-write leaves a torn line
        handle.write('{"source_sha256": "')
    generator = FakeGenerator(table)
    report = build_glosses(library_of(folders, passages), generator, ["en"], out, progress=False)
    assert report.made == 1 and report.existing == 2 and len(generator.calls) == 1
    glosses = Glosses.open(None, folders.index)
    assert [glosses.get(p, "en") for p in passages] == list(table.values())
    assert glosses.skipped_lines == 1  # the torn line, and nothing glued to it


def test_segments_keep_list_markers_and_line_breaks():
    parts = segments("Premier. Deuxième !\n\n- Un point.\n• Autre point.")
    assert parts == [("", "Premier.", " "), ("", "Deuxième !", "\n\n"), ("- ", "Un point.", "\n"), ("• ", "Autre point.", "")]
    assert [s for _, s, _ in segments("顧客は買います。クライアントは残ります。")] == ["顧客は買います。", "クライアントは残ります。"]


def test_languages_option():
    assert parse_languages(None) == ["en"]
    assert parse_languages("en, de,ES") == ["en", "de", "es"]
    with pytest.raises(ValueError):
        parse_languages("english")
    args = cli.build_parser().parse_args(["--llm", "bundled", "gloss", "--lang", "en,de", "--out", "x.jsonl"])
    assert (args.handler, args.lang, args.out, args.llm, args.gloss_llm) == (cli.cmd_gloss, "en,de", "x.jsonl", "bundled", None)
    assert cli.main(["gloss", "--lang", "english"]) == 2  # refused before any model is loaded


def test_mixed_words_in_one_sentence_are_mapped_in_order():
    from copyadvisor.retrieval.glosses import render_by_reference

    text = "Un client est un client plus fidèle.\nLes clients reviennent."
    reference = "Klien adalah pelanggan yang lebih setia.\nPara pelanggan kembali."
    assert render_by_reference(text, "fr", reference, "id", "en") == (
        "Un client est un customer plus fidèle.\nLes customers reviennent.")
    assert render_by_reference(text, "fr", "Klien adalah pelanggan. Satu. Dua.", "id", "en") is None  # 2 sentences for 3


@dataclass
class FakeEmbedder:
    """Unit vectors: the same for texts about the same thing, orthogonal for an invented one."""

    def embed_passages(self, texts):
        import numpy as np

        return np.array([[0.0, 1.0] if "INVENTED" in t else [1.0, 0.0] for t in texts], dtype=np.float32)


def test_a_gloss_that_changes_the_meaning_is_retried_sentence_by_sentence_then_kept_or_skipped():
    from copyadvisor.retrieval.glosses import Source

    source_text = ("Klient kupuje raz w sklepie i płaci od razu gotówką. "
                   "Klient wraca przez wiele lat do tego samego prawnika.")
    whole = "INVENTED a customer who buys once in a shop and pays at once in cash. A client returns to the same lawyer."
    table = {
        source_text: whole,
        "Klient kupuje raz w sklepie i płaci od razu gotówką.": "A customer buys once in a shop and pays at once in cash.",
        "Klient wraca przez wiele lat do tego samego prawnika.": "A client returns to the same lawyer for many years.",
    }
    generator = FakeGenerator(table)
    outcome = gloss_text(generator, Source(source_text, "pl", ["pl#0"]), "en", FakeEmbedder())
    assert outcome.text == ("A customer buys once in a shop and pays at once in cash. "
                            "A client returns to the same lawyer for many years.")
    assert outcome.similarity == pytest.approx(1.0) and len(generator.calls) == 3
    table["Klient wraca przez wiele lat do tego samego prawnika."] = "INVENTED: a client is a lawyer who returns for years."
    outcome = gloss_text(FakeGenerator(table), Source(source_text, "pl", ["pl#0"]), "en", FakeEmbedder())
    assert outcome.text is None and "similarity to the source 0.00" in outcome.issues[-1]


def test_words_that_do_not_survive_are_retried_in_capitals():
    from copyadvisor.retrieval.glosses import Source

    text = "Un client est un customer plus fidèle que les autres."
    table = {
        text: "A customer is a more loyal customer than the others.",  # the model "corrected" it
        "Un CLIENT est un CUSTOMER plus fidèle que les autres.": "A CLIENT is a more loyal CUSTOMER than the others.",
    }
    generator = FakeGenerator(table)
    outcome = gloss_text(generator, Source(text, "fr", ["fr#0"], terms_rendered=True), "en")
    assert outcome.text == "A client is a more loyal customer than the others."
    assert "Keep the words CLIENT and CUSTOMER in capitals" in generator.calls[1][0]["content"]
    generator = FakeGenerator(table)  # not pre-rendered (a Polish passage for both): no such check, no retry
    assert gloss_text(generator, Source(text, "fr", ["fr#0"]), "en").text == table[text]
    assert len(generator.calls) == 1


def test_other_languages_are_translated_from_the_english_gloss(folders):
    fr = passage("fr#000", "fr", FR_TEXT, parallels=["id#000"])
    ind = passage("id#000", "id", ID_TEXT, parallels=["fr#000"])
    (folders.corpus / GLOSSES_FILE).write_text(line(fr, "en", EN_FROM_FR), encoding="utf-8")
    german_source = ("A Kunde buys once in a shop, for the price. A loyal Klient keeps a long-term relationship of "
                     "trust with a professional.")
    german = ("Ein Kunde kauft einmal in einem Geschäft, wegen des Preises. Ein treuer Klient pflegt eine langfristige "
              "Vertrauensbeziehung zu einem Fachmann.")
    generator = FakeGenerator({german_source: german})
    report = build_glosses(library_of(folders, [fr, ind]), generator, ["de"], progress=False)
    assert generator.calls[0][-1]["content"] == german_source  # the English gloss, its words already in German
    entry = Glosses.open(folders.corpus, folders.index).entry(fr, "de")
    assert entry["text"] == german and entry["from_lang"] == "en" and entry["via"] == "en"
    assert report.made == 1 and report.skipped == 1  # id#000 has no English gloss: from French, the fake echoes it


def test_every_shipped_passage_has_a_current_english_german_and_spanish_gloss():
    """The shipped translations are keyed by the passages' text: a corpus edit that leaves them
    stale (never shown, silently) fails here, and so does a passage left without them."""
    from copyadvisor.config import Config
    from copyadvisor.retrieval.corpus import load_corpus
    from copyadvisor.retrieval.splitting import split_document

    corpus = Config.defaults().corpus
    passages = [p for doc in load_corpus(corpus).documents for p in split_document(doc)]
    glosses = Glosses.open(corpus, None)
    missing = [(p.id, lang) for p in passages for lang in ("en", "de", "es") if not glosses.has(p, lang)]
    assert not missing
    current = {(text_sha256(p.text)) for p in passages}
    stale = [e["passage_id"] for e in iter_glosses(corpus / GLOSSES_FILE) if e["source_sha256"] not in current]
    assert not stale
