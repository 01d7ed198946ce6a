"""Term sense and parallel passages."""

from __future__ import annotations

from copyadvisor.retrieval.corpus import load_corpus
from copyadvisor.retrieval.terms import align_blocks, content_blocks, context_sense, lexical_sense
from copyadvisor.retrieval.splitting import read_blocks
from conftest import CORPUS

DOCS = {d.lang: d for d in load_corpus(CORPUS).documents}


def aligned_texts(lang_a: str, lang_b: str) -> list[tuple[str, str]]:
    a, b = DOCS[lang_a], DOCS[lang_b]
    blocks_a, blocks_b = content_blocks(read_blocks(a)), content_blocks(read_blocks(b))
    return [(blocks_a[i].text(a), blocks_b[j].text(b)) for i, j in align_blocks(a, blocks_a, b, blocks_b)]


def test_line_parallel_translations_align_one_to_one():
    pairs = aligned_texts("fr", "ja")
    assert len(pairs) == 63
    assert ("Caractéristiques des Clients", "クライアントの特徴") in pairs
    assert ("Qui est un client ?", "顧客は誰ですか?") in pairs


def test_arabic_aligns_despite_extra_lines():
    pairs = dict(aligned_texts("id", "ar"))
    assert pairs["Siapa Klien?"] == "من هو العميل؟"
    assert pairs["Karakteristik Klien"] == "خصائص العملاء"
    assert pairs["Pertanyaan yang Sering Diajukan"] == "أسئلة مكررة"
    assert "تعريف العميل مقابل تعريف العميل" not in pairs.values()  # the Arabic-only heading stays unaligned


def test_lexical_sense_per_language():
    assert lexical_sense("顧客は価格を気にします", "ja").concepts == {"customer"}
    assert lexical_sense("クライアントは信頼します", "ja").concepts == {"client"}
    assert lexical_sense("Klien dan pelanggan", "id").concepts == {"client", "customer"}
    french = lexical_sense("Le client achète", "fr")
    assert french.concepts == set() and french.ambiguous
    assert lexical_sense("من هو الزبون؟", "ar").concepts == {"customer"}
    assert lexical_sense('الكلمتين "client" و "customer"', "ar").concepts == {"client", "customer"}
    assert lexical_sense("Abonent płaci za usługę cykliczną", "pl").terms == {"subscriber"}
    # no false hit inside another word
    assert lexical_sense("The clientele of customerservice.io", "en").concepts == set()


def test_context_cues_vote():
    assert context_sense("Klienci sklepu spożywczego płacą od razu, liczy się cena i wygoda zakupu.", "pl") == {"customer"}
    assert context_sense("Klient to długoterminowa relacja, jak z prawnikiem lub księgowym.", "pl") == {"client"}
    assert context_sense("Bonjour.", "fr") == set()


def passage_starting(passages, doc_id, prefix):
    return next(p for p in passages if p.doc_id == doc_id and p.text.startswith(prefix))


def test_french_sense_comes_from_the_japanese_and_indonesian_parallels(passages):
    customer_traits = passage_starting(passages, "fr-client-vs-customer", "- Ils pourraient aller et venir")
    client_traits = passage_starting(passages, "fr-client-vs-customer", "- Leurs attentes sont réalistes")
    # Both sections are titled "Caractéristiques des clients": only the parallels tell them apart.
    assert customer_traits.concepts == ["customer"] and customer_traits.sense_source == "parallel"
    assert client_traits.concepts == ["client"] and client_traits.sense_source == "parallel"


def test_arabic_sense_and_parallels(passages):
    by_id = {p.id: p for p in passages}
    client_def = passage_starting(passages, "ar-client-vs-customer", "العملاء ، في جوهرهم")
    assert client_def.sense == "client"
    langs = {by_id[pid].lang for pid in client_def.parallel_ids}
    assert langs == {"fr", "ja", "id"}


def test_parallels_are_symmetric_and_stay_in_the_translation_group(passages):
    by_id = {p.id: p for p in passages}
    for passage in passages:
        for other in passage.parallel_ids:
            assert passage.id in by_id[other].parallel_ids
            assert by_id[other].doc_id != passage.doc_id
    assert all(not p.parallel_ids for p in passages if p.lang == "pl")


def test_polish_sense_comes_from_context(passages):
    grocery = passage_starting(passages, "pl-klient-a-klient", "Słowo klient to rodzaj ogólnego")
    professional = passage_starting(passages, "pl-klient-a-klient", "Klient korzysta z bieżących usług")
    assert grocery.sense == "customer" and grocery.sense_source == "context"
    assert professional.sense == "client"
