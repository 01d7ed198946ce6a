"""Finding audience words with exact offsets, and inflected replacements."""

from __future__ import annotations

import pytest

from copyadvisor.review.lexicon import find_terms, replacement


def hits(text, lang):
    found = find_terms(text, (lang,))
    for hit in found:
        assert text[hit.start : hit.end] == hit.text  # exact offsets
    return found


@pytest.mark.parametrize(
    "lang, text, expected",
    [
        ("en", "Our Clients' success. Every customer. CLIENTS love us.", [("Clients'", "Customers'"), ("customer", "client"), ("CLIENTS", "CUSTOMERS")]),
        ("id", "Kliennya puas. Klien-klien setia. Para pelanggan.", [("Kliennya", "Pelanggannya"), ("Klien-klien", "Pelanggan-pelanggan"), ("pelanggan", "klien")]),
        ("ja", "お客様とクライアント", [("お客様", "クライアント"), ("クライアント", "顧客")]),
        ("ar", "نخدم عملاءنا ولعملائنا والعميل وزبائننا", [("عملاءنا", "زبائننا"), ("ولعملائنا", "ولزبائننا"), ("والعميل", "والزبون"), ("وزبائننا", "وعملائنا")]),
    ],
)
def test_client_customer_swap_keeps_inflection_and_case(lang, text, expected):
    found = hits(text, lang)
    swapped = [(h.text, replacement(h, "customer" if h.term == "client" else "client")) for h in found]
    assert swapped == expected


def test_polish_cases_carry_over_to_alternatives():
    found = hits("Naszych klientów, klientom, z klientem, o kliencie, Klienci.", "pl")
    assert [replacement(h, "subscriber") for h in found] == ["abonentów", "abonentom", "abonentem", "abonencie", "Abonenci"]
    assert [replacement(h, "member") for h in found] == ["członków", "członkom", "członkiem", "członku", "Członkowie"]
    assert all(h.ambiguous for h in found)


def test_french_gender_and_number():
    found = hits("Nos clientes et le client, les clients.", "fr")
    assert [replacement(h, "user") for h in found] == ["utilisatrices", "utilisateur", "utilisateurs"]


@pytest.mark.parametrize(
    "lang, text",
    [
        ("en", "clientele, customerservice, subclients, client-side is one word? no: client-side"),
        ("ja", "クライアントサイドの開発"),
        ("id", "Kami berlangganan majalah."),
        ("ar", "تعميلات"),
    ],
)
def test_no_hits_inside_other_words(lang, text):
    found = hits(text, lang)
    if lang == "en":
        assert [h.text for h in found] == ["client", "client"]  # "client-side": the word client, before a hyphen
    else:
        assert found == []


def test_offsets_survive_emoji_combining_marks_and_rtl():
    text = "👩‍💼 Café\u0301 clients — العملاء — 顧客"
    assert [h.text for h in hits(text, "en")] == ["clients"]
    assert [h.text for h in hits(text, "ar")] == ["العملاء"]
    assert [h.text for h in hits(text, "ja")] == ["顧客"]
