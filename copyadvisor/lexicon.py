"""Audience words in drafts: where they are, what they mean, and how to replace them.

Each language has a table of surface forms. A form knows its term (client, customer,
subscriber ...) and its grammatical slot (number, case, suffix), so a replacement keeps
the inflection: English "Clients'" -> "Customers'", Indonesian "kliennya" ->
"pelanggannya", Arabic "لعملائنا" -> "لزبائننا", Polish "klientów" -> "abonentów",
Japanese "クライアント" -> "顧客" (but not inside "クライアントサイド").

Matching is on the original text with Unicode-aware boundaries, so offsets are exact
Python string indices into the draft, and no hit lands inside another word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional


@dataclass(frozen=True)
class TermHit:
    start: int
    end: int
    text: str
    lang: str
    term: str  # client | customer | subscriber | member | user | buyer | consumer | shopper | follower
    slot: str  # grammatical slot used to inflect a replacement (e.g. "pl", "gen.pl", "poss")
    ambiguous: bool = False  # the word stands for both client and customer in this language (fr, pl)


# --- English -----------------------------------------------------------------------

EN_NOUNS = {
    "client": ("client", "clients"), "customer": ("customer", "customers"), "subscriber": ("subscriber", "subscribers"),
    "member": ("member", "members"), "user": ("user", "users"), "buyer": ("buyer", "buyers"),
    "consumer": ("consumer", "consumers"), "shopper": ("shopper", "shoppers"), "follower": ("follower", "followers"),
}


def english_forms() -> dict[str, tuple[str, str]]:
    """surface (lower case) -> (term, slot)."""
    forms = {}
    for term, (singular, plural) in EN_NOUNS.items():
        forms[singular] = (term, "sg")
        forms[plural] = (term, "pl")
        forms[singular + "'s"] = (term, "sg.poss")
        forms[plural + "'"] = (term, "pl.poss")
    return forms


def english_form(term: str, slot: str) -> str:
    singular, plural = EN_NOUNS[term]
    return {"sg": singular, "pl": plural, "sg.poss": singular + "'s", "pl.poss": plural + "'"}[slot]


# --- Polish: masculine personal nouns, by case -----------------------------------------

PL_SLOTS = ("nom.sg", "gen.sg", "dat.sg", "ins.sg", "loc.sg", "nom.pl", "gen.pl", "dat.pl", "ins.pl", "loc.pl")
PL_NOUNS = {
    # the one Polish word for both client and customer
    "client": ("klient", "klienta", "klientowi", "klientem", "kliencie", "klienci", "klientów", "klientom", "klientami", "klientach"),
    "subscriber": ("abonent", "abonenta", "abonentowi", "abonentem", "abonencie", "abonenci", "abonentów", "abonentom", "abonentami", "abonentach"),
    "member": ("członek", "członka", "członkowi", "członkiem", "członku", "członkowie", "członków", "członkom", "członkami", "członkach"),
    "user": ("użytkownik", "użytkownika", "użytkownikowi", "użytkownikiem", "użytkowniku", "użytkownicy", "użytkowników", "użytkownikom", "użytkownikami", "użytkownikach"),
    "buyer": ("nabywca", "nabywcy", "nabywcy", "nabywcą", "nabywcy", "nabywcy", "nabywców", "nabywcom", "nabywcami", "nabywcach"),
    "consumer": ("konsument", "konsumenta", "konsumentowi", "konsumentem", "konsumencie", "konsumenci", "konsumentów", "konsumentom", "konsumentami", "konsumentach"),
}

# --- French: gender and number --------------------------------------------------------

FR_SLOTS = ("m.sg", "f.sg", "m.pl", "f.pl")
FR_NOUNS = {
    "client": ("client", "cliente", "clients", "clientes"),
    "subscriber": ("abonné", "abonnée", "abonnés", "abonnées"),
    "member": ("membre", "membre", "membres", "membres"),
    "user": ("utilisateur", "utilisatrice", "utilisateurs", "utilisatrices"),
    "buyer": ("acheteur", "acheteuse", "acheteurs", "acheteuses"),
    "consumer": ("consommateur", "consommatrice", "consommateurs", "consommatrices"),
}

# --- Indonesian: stem + optional possessive/definite suffix, or reduplication ---------

ID_NOUNS = {"client": "klien", "customer": "pelanggan", "member": "anggota", "user": "pengguna", "buyer": "pembeli", "consumer": "konsumen"}
ID_SUFFIXES = ("nya", "mu", "ku", "")

# --- Japanese: uninflected ------------------------------------------------------------

JA_NOUNS = {"client": "クライアント", "customer": "顧客", "subscriber": "購読者", "member": "会員", "user": "ユーザー", "buyer": "購入者", "consumer": "消費者"}
JA_EXTRA_CUSTOMER = ("お客様",)

# --- Arabic: proclitics + stem (singular / plural) + pronoun suffix --------------------

AR_NOUNS = {
    "client": ("عميل", "عملاء", "عملائ"),  # singular, plural, plural before a suffix
    "customer": ("زبون", "زبائن", "زبائن"),
    "subscriber": ("مشترك", "مشتركين", "مشتركي"),
    "member": ("عضو", "أعضاء", "أعضائ"),
    "user": ("مستخدم", "مستخدمين", "مستخدمي"),
    "consumer": ("مستهلك", "مستهلكين", "مستهلكي"),
}
AR_PREFIX = r"(?:و|ف)?(?:ب|ل|ك)?(?:ال|ل)?"
AR_SUFFIX = r"(?:ي|ك|كم|كن|ه|ها|هم|هن|نا|ة|ا)?"


@lru_cache(maxsize=None)
def patterns() -> dict[str, re.Pattern]:
    """One alternation per language, longest forms first."""
    return {
        "en": re.compile(r"(?<![\w'])(" + "|".join(sorted(map(re.escape, english_forms()), key=len, reverse=True)) + r")(?!\w)", re.IGNORECASE),
        "pl": re.compile(r"(?<!\w)(" + "|".join(sorted({f for forms in PL_NOUNS.values() for f in forms}, key=len, reverse=True)) + r")(?!\w)", re.IGNORECASE),
        "fr": re.compile(r"(?<!\w)(" + "|".join(sorted({f for forms in FR_NOUNS.values() for f in forms}, key=len, reverse=True)) + r")(?!\w)", re.IGNORECASE),
        "id": re.compile(r"(?<!\w)(" + "|".join(ID_NOUNS.values()) + r")(?:-(?:\1))?(nya|mu|ku)?(?!\w)", re.IGNORECASE),
        "ja": re.compile(r"(?<![ァ-ヺー])(" + "|".join(map(re.escape, [*JA_NOUNS.values(), *JA_EXTRA_CUSTOMER])) + r")(?![ァ-ヺー])"),
        "ar": re.compile(
            r"(?<![\u0600-\u06FF])(" + AR_PREFIX + r")("
            + "|".join(sorted({f for forms in AR_NOUNS.values() for f in forms}, key=len, reverse=True))
            + r")(" + AR_SUFFIX + r")(?![\u0600-\u06FF])"
        ),
    }


def find_terms(text: str, languages: tuple[str, ...]) -> list[TermHit]:
    """Every audience word of ``languages`` in ``text``, in order, without overlaps."""
    hits: list[TermHit] = []
    for lang in languages:
        finder = FINDERS.get(lang)
        if finder:
            hits.extend(finder(text))
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[TermHit] = []
    for hit in hits:
        if kept and hit.start < kept[-1].end:
            continue
        kept.append(hit)
    return kept


def find_en(text: str) -> list[TermHit]:
    forms = english_forms()
    hits = []
    for m in patterns()["en"].finditer(text):
        term, slot = forms[m.group(1).lower().replace("’", "'")]
        hits.append(TermHit(m.start(1), m.end(1), m.group(1), "en", term, slot))
    return hits


def find_table(text: str, lang: str, table: dict[str, tuple[str, ...]], slots: tuple[str, ...], ambiguous_term: str) -> list[TermHit]:
    index = {}
    for term, forms in table.items():
        for slot, form in zip(slots, forms):
            index.setdefault(form, (term, slot))  # first slot wins for syncretic forms (nabywcy)
    hits = []
    for m in patterns()[lang].finditer(text):
        term, slot = index[m.group(1).lower()]
        hits.append(TermHit(m.start(1), m.end(1), m.group(1), lang, term, slot, ambiguous=(term == ambiguous_term)))
    return hits


def find_id(text: str) -> list[TermHit]:
    stems = {stem: term for term, stem in ID_NOUNS.items()}
    hits = []
    for m in patterns()["id"].finditer(text):
        term = stems[m.group(1).lower()]
        slot = ("redup" if "-" in m.group(0) else "base") + ("." + m.group(2).lower() if m.group(2) else "")
        hits.append(TermHit(m.start(), m.end(), m.group(0), "id", term, slot))
    return hits


def find_ja(text: str) -> list[TermHit]:
    terms = {word: term for term, word in JA_NOUNS.items()}
    terms.update({word: "customer" for word in JA_EXTRA_CUSTOMER})
    return [TermHit(m.start(1), m.end(1), m.group(1), "ja", terms[m.group(1)], "base") for m in patterns()["ja"].finditer(text)]


def find_ar(text: str) -> list[TermHit]:
    index = {}
    for term, (singular, plural, plural_suffixed) in AR_NOUNS.items():
        index.setdefault(singular, (term, "sg"))
        index.setdefault(plural, (term, "pl"))
        index.setdefault(plural_suffixed, (term, "pl.suffixed"))
    hits = []
    for m in patterns()["ar"].finditer(text):
        prefix, stem, suffix = m.group(1), m.group(2), m.group(3)
        if stem.endswith("ئ") and not suffix:
            continue  # عملائ must carry a suffix
        term, slot = index[stem]
        hits.append(TermHit(m.start(), m.end(), m.group(0), "ar", term, f"{slot}|{prefix}|{suffix}"))
    return hits


FINDERS = {
    "en": find_en,
    "pl": lambda text: find_table(text, "pl", PL_NOUNS, PL_SLOTS, "client"),
    "fr": lambda text: find_table(text, "fr", FR_NOUNS, FR_SLOTS, "client"),
    "id": find_id,
    "ja": find_ja,
    "ar": find_ar,
}
# Languages where client and customer are different words (the others have one word for both).
DISTINGUISHES = {"en", "id", "ja", "ar"}


def replacement(hit: TermHit, term: str) -> Optional[str]:
    """``hit`` rewritten as ``term`` with the same inflection and capitalisation (None if the language lacks it)."""
    if hit.lang == "en":
        return match_case(english_form(term, hit.slot), hit.text)
    if hit.lang == "pl":
        forms = PL_NOUNS.get(term)
        return match_case(forms[PL_SLOTS.index(hit.slot)], hit.text) if forms else None
    if hit.lang == "fr":
        forms = FR_NOUNS.get(term)
        return match_case(forms[FR_SLOTS.index(hit.slot)], hit.text) if forms else None
    if hit.lang == "id":
        stem = ID_NOUNS.get(term)
        if not stem:
            return None
        kind, _, suffix = hit.slot.partition(".")
        word = f"{stem}-{stem}" if kind == "redup" else stem
        return match_case(word + suffix, hit.text)
    if hit.lang == "ja":
        return JA_NOUNS.get(term)
    if hit.lang == "ar":
        forms = AR_NOUNS.get(term)
        if not forms:
            return None
        number, prefix, suffix = hit.slot.split("|")
        if number == "sg":
            stem = forms[0]
        else:  # a plural before a pronoun suffix takes its bound form (مشتركين + نا -> مشتركينا)
            stem = forms[2] if suffix else forms[1]
        return prefix + stem + suffix
    return None


def match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
