"""The checks on answer text catch what a reader would object to (each shown failing and passing)."""

from __future__ import annotations

import re

from copyadvisor.answering.answer_checks import (
    Expectation, check_answer, check_citations, check_echo, check_facts, check_foreign_words, check_language,
    check_length, check_must_not, check_numbers, check_verdict, claims_with_citations,
)
from copyadvisor.types import Answer, Citation, Recommendation

SHOWN = [{"number": 1, "passage_id": "id#1", "lang": "en", "machine_translated": True, "original_lang": "id",
          "text": "A customer makes a single transaction, while a client relies on your ongoing, personal service.",
          "original_text": "Pelanggan melakukan satu transaksi, sedangkan klien percaya pada layanan konstan dan pribadi Anda."},
         {"number": 2, "passage_id": "pl#3", "lang": "pl", "original_lang": "pl",
          "text": "Kupujący — każdy, kto dokona zakupu, zwykle w B2B.", "original_text": "Kupujący — każdy, kto dokona zakupu, zwykle w B2B."}]


def answer(text: str, term=None, declined=False, cited=(1,)) -> Answer:
    return Answer(question="q", text=text, language="en", recommendation=Recommendation(term, 0.8, ""),
                  citations=[Citation(n, "id#1", "id", "en", "") for n in cited], grounded=bool(cited),
                  declined=declined, passages=SHOWN)


def expect(**values) -> Expectation:
    base = dict(lang="en", intent="difference", question="What is the difference between a client and a customer?")
    base.update(values)
    return Expectation(**base)


def test_facts_need_every_fact_and_any_of_its_wordings():
    facts = [("one-off", [re.compile("single|one-off", re.I)]), ("ongoing", [re.compile("ongoing|long-term", re.I)])]
    assert check_facts(answer("A customer buys once in a single purchase; a client stays long-term [1]."), expect(facts=facts)).passed
    missing = check_facts(answer("A customer buys in a single transaction [1]."), expect(facts=facts))
    assert not missing.passed and "ongoing" in missing.detail


def test_must_not_catches_a_wrong_claim():
    assert not check_must_not(answer("It comes from Greek [1]."), expect(must_not=[re.compile("greek", re.I)])).passed
    assert check_must_not(answer("It comes from Latin [1]."), expect(must_not=[re.compile("greek", re.I)])).passed


def test_echo_of_instructions_is_caught():
    instructions = ["Answer the marketer's question in English, in two or three short sentences, using only the facts"]
    assert not check_echo(answer("1. Do not repeat these instructions. The user's message is a question."), instructions).passed
    assert not check_echo(answer("In two or three short sentences, using only the facts: clients stay."), instructions).passed
    assert check_echo(answer("Clients stay for the long term [1]."), instructions).passed


def test_a_number_in_no_passage_and_not_in_the_question_is_unsupported():
    assert not check_numbers(answer("20% of customers are loyal [1]."), expect()).passed
    assert check_numbers(answer("Retention is 5 times cheaper [1].", ), expect(question="Is retention 5 times cheaper?")).passed
    assert check_numbers(answer("1. Customers buy once [1].\n2. Clients stay [1]."), expect()).passed  # list numbering


def test_language_and_script_of_the_answer():
    assert check_language(answer("A customer buys once, while a client stays for a long relationship [1]."), expect()).passed
    assert not check_language(answer("Un client achète une fois, alors qu'un client fidèle reste longtemps [1]."), expect()).passed
    japanese = Answer("q", "顧客は一度だけ購入し、クライアントは長期的な関係を築きます。[1]", "ja", Recommendation(None, 0, ""), [], False)
    assert check_language(japanese, expect(lang="ja")).passed
    assert not check_language(answer("Customers buy once, while clients stay [1]."), expect(lang="ja")).passed


def test_verdict_only_where_asked_and_its_word_in_the_asker_language():
    assert not check_verdict(answer("Use client [1].", term="client"), expect(intent="difference")).passed
    assert check_verdict(answer("Use \"client\" [1].", term="client"), expect(intent="verdict", expect_term="client")).passed
    assert not check_verdict(answer("Use \"customer\" [1].", term="customer"), expect(intent="verdict", expect_term="client")).passed
    french = Answer("q", "Utilisez « consumer ».", "fr", Recommendation("consumer", 0.8, ""), [], False)
    assert not check_verdict(french, expect(lang="fr", intent="verdict", expect_term="consumer")).passed
    french.text = "Utilisez « consommateur »."
    assert check_verdict(french, expect(lang="fr", intent="verdict", expect_term="consumer")).passed
    assert check_verdict(answer("It depends on the relationship [1]."), expect(intent="verdict", expect_term="depends")).passed


def test_another_word_may_be_recommended_for_an_alternative_question_but_not_client_or_customer():
    assert check_verdict(answer("Use \"follower\" [1].", term="follower"), expect(intent="alternative")).passed
    assert not check_verdict(answer("Use \"customer\" [1].", term="customer"), expect(intent="alternative")).passed


def test_a_rewrite_names_the_word_in_the_fixed_sentence_language():
    fixed = Answer("q", "Version corrigée : “Thank you to our loyal customers!” D'après la bibliothèque : …", "fr",
                   Recommendation("customer", 0.8, ""), [], False, rewritten="Thank you to our loyal customers!")
    assert check_verdict(fixed, expect(lang="fr", intent="rewrite", expect_term="customer")).passed
    fixed.rewritten, fixed.text = "Thank you to our loyal members!", "Version corrigée : “Thank you to our loyal members!”"
    assert not check_verdict(fixed, expect(lang="fr", intent="rewrite", expect_term="customer")).passed


def test_words_copied_from_a_foreign_passage_are_caught():
    assert not check_foreign_words(answer("A buyer, or kupujący, is anyone who makes a purchase [2]."), expect()).passed
    assert not check_foreign_words(answer("A pelanggan makes a single transaction [1]."), expect()).passed
    assert check_foreign_words(answer("A buyer is anyone who makes a purchase, usually in B2B [2]."), expect()).passed


def test_an_english_word_is_allowed_only_when_the_answer_also_names_it_in_the_askers_language():
    shown = [{"number": 1, "lang": "en", "text": "Use the term member or subscriber for a community of regulars."}]
    asked = expect(lang="id", intent="verdict", question="Di website versi Inggris kami, sebut mereka apa?")

    def indonesian(text: str) -> Answer:
        return Answer("q", text, "id", Recommendation("member", 0.8, ""), [Citation(1, "x#1", "x", "en", "")], True,
                      passages=shown)
    assert check_foreign_words(indonesian('Gunakan "member" (dalam bahasa Indonesia: "anggota") [1].'), asked).passed
    assert not check_foreign_words(indonesian('Gunakan "member" untuk komunitas Anda [1].'), asked).passed
    assert not check_foreign_words(indonesian('Gunakan "anggota", atau subscriber [1].'), asked).passed


def test_citations_must_point_to_a_passage_that_says_it():
    assert check_citations(answer("A customer makes a single transaction [1]."), expect()).passed
    wrong = check_citations(answer("Starbucks built reward programmes with smartphones [1]."), expect())
    assert not wrong.passed and "[1]" in wrong.detail
    assert not check_citations(answer("Customers buy once [7].", cited=(7,)), expect()).passed
    assert not check_citations(answer("Customers buy once.", cited=()), expect()).passed
    assert claims_with_citations("A client stays. [1] Another.") == ["A client stays. [1]", "Another."]


def test_a_short_sentence_quoted_word_for_word_is_supported_by_its_passage():
    shown = [{"number": 1, "lang": "en", "text": "A client is a current customer. And a loyal one. More follows."}]
    quoted = Answer("q", "“A client is a current customer. And a loyal one.” [1]", "en", Recommendation(None, 0, ""),
                    [Citation(1, "x#1", "x", "en", "")], True, passages=shown)
    assert check_citations(quoted, expect()).passed
    changed = Answer("q", "“A client is a current customer. And a cheap one.” [1]", "en", Recommendation(None, 0, ""),
                     [Citation(1, "x#1", "x", "en", "")], True, passages=shown)
    assert not check_citations(changed, expect()).passed


def test_length_is_a_short_reply():
    assert check_length(answer("One. Two. Three."), expect()).passed
    assert not check_length(answer("One. Two. Three. Four. Five. Six. Seven."), expect()).passed


def test_a_declined_question_is_judged_on_declining_in_the_asker_language():
    declined = Answer("q", "The library does not cover this question.", "en", Recommendation(None, 0, ""), [], False, declined=True)
    assert all(c.passed for c in check_answer(declined, expect(intent="out_of_scope", decline=True), []))
    assert not all(c.passed for c in check_answer(declined, expect(), []))


def test_an_answer_about_a_document_must_cite_it():
    from copyadvisor.answering.answer_checks import check_cited_document

    assert check_cited_document(answer("Use the Oxford comma [1]."), expect(cite_doc="id")).passed
    failed = check_cited_document(answer("Use the Oxford comma [1]."), expect(cite_doc="acme-style"))
    assert not failed.passed and "acme-style" in failed.detail
    assert not check_cited_document(answer("No source.", cited=()), expect(cite_doc="acme-style")).passed
    assert check_cited_document(answer("Anything."), expect()).passed  # no document asked for


def test_a_scratch_library_copies_the_corpus_and_the_extra_documents_without_touching_them(tmp_path, monkeypatch):
    from copyadvisor.evaluation.answer_eval import with_documents
    from copyadvisor.config import Config

    corpus, extra = tmp_path / "corpus", tmp_path / "house"
    corpus.mkdir(), (extra / "styles" / "Acme").mkdir(parents=True)
    (corpus / "a.txt").write_text("An article.\n\nSome text about clients.\n", encoding="utf-8")
    (extra / "guide.md").write_text("---\ntitle: Guide\nlang: en\n---\nSay members.\n", encoding="utf-8")
    (extra / "styles" / "Acme" / "Members.yml").write_text("extends: existence\nmessage: x\ntokens:\n  - users\n", encoding="utf-8")
    monkeypatch.setenv("COPYADVISOR_CACHE", str(tmp_path / "cache"))
    config = with_documents(Config(corpus=corpus, index=tmp_path / "index"), extra)
    assert sorted(p.name for p in config.corpus.iterdir()) == ["a.txt", "guide.md", "styles"]
    assert (config.corpus / "styles" / "Acme" / "Members.yml").is_file()
    assert config.index.parent == config.corpus.parent and sorted(p.name for p in corpus.iterdir()) == ["a.txt"]
    assert with_documents(Config(corpus=corpus, index=tmp_path / "index"), extra) == config  # reused, not copied again


def test_an_english_word_the_asker_wrote_inside_japanese_text_is_theirs():
    shown = [{"number": 1, "lang": "en", "text": "The word customer comes from the Latin for custom."}]
    reply = Answer("q", "“顧客(customer)はラテン語の「カスタム」から来ています。” [1]", "ja", Recommendation(None, 0, ""),
                   [Citation(1, "x#1", "x", "en", "")], True, passages=shown)
    assert check_foreign_words(reply, expect(lang="ja", question="customerって語源なんでしたっけ？")).passed
    assert not check_foreign_words(reply, expect(lang="ja", question="顧客の語源は？")).passed


def test_a_rewritten_sentence_in_the_language_it_was_given_in_does_not_count_against_the_answers_language():
    from copyadvisor.answering.answer_checks import check_language
    from copyadvisor.types import Answer, Recommendation

    revised = "Every client gets a 12-week program designed around their body and goals, with weekly check-ins."
    text = f"「クライアント」を使いましょう。修正案： “{revised}”ライブラリより： “クライアントは継続的です。” [1]"
    expected = Expectation(lang="ja", intent="rewrite", question="直してもらえますか？")
    answer = Answer("q", text, "ja", Recommendation("client", 0.8, ""), [], True, rewritten=revised)
    assert check_language(answer, expected).passed
    answer.rewritten = None  # the same text with no sentence fixed: mostly English
    assert not check_language(answer, expected).passed
