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

from ..knowledge import lexicon


@dataclass(frozen=True)
class TermHit:
    start: int
    end: int
    text: str
    lang: str
    term: str  # client | customer | subscriber | member | user | buyer | consumer | shopper | follower
    slot: str  # grammatical slot used to inflect a replacement (e.g. "pl", "gen.pl", "poss")
    ambiguous: bool = False  # the word stands for both client and customer in this language (fr, pl)


# The words themselves are data: ``data/lexicon.toml`` (one table per language, by kind of
# inflection), read through :func:`copyadvisor.knowledge.lexicon`.


def table(lang: str) -> dict:
    return lexicon()[lang]


def nouns(lang: str) -> dict:
    return lexicon()[lang]["nouns"]


def english_forms(lang: str = "en") -> dict[str, tuple[str, str]]:
    """surface (lower case) -> (term, slot)."""
    forms = {}
    for term, (singular, plural) in nouns(lang).items():
        forms[singular] = (term, "sg")
        forms[plural] = (term, "pl")
        forms[singular + "'s"] = (term, "sg.poss")
        forms[plural + "'"] = (term, "pl.poss")
    return forms


def english_form(term: str, slot: str, lang: str = "en") -> str:
    singular, plural = nouns(lang)[term]
    return {"sg": singular, "pl": plural, "sg.poss": singular + "'s", "pl.poss": plural + "'"}[slot]


def alternation(forms) -> str:
    return "|".join(sorted(dict.fromkeys(forms), key=len, reverse=True))


def kind_pattern(lang: str) -> re.Pattern:
    entry = table(lang)
    kind = entry["kind"]
    if kind == "english":
        return re.compile(r"(?<![\w'])(" + alternation(map(re.escape, english_forms(lang))) + r")(?!\w)", re.IGNORECASE)
    if kind == "table":
        return re.compile(r"(?<!\w)(" + alternation(f for forms in entry["nouns"].values() for f in forms) + r")(?!\w)", re.IGNORECASE)
    if kind == "stem":
        suffixes = "|".join(s for s in entry.get("suffixes", ()) if s)
        return re.compile(r"(?<!\w)(" + "|".join(entry["nouns"].values()) + r")(?:-(?:\1))?(" + suffixes + r")?(?!\w)", re.IGNORECASE)
    if kind == "plain":
        words = [*entry["nouns"].values(), *(w for extra in entry.get("extra", {}).values() for w in extra)]
        boundary = entry.get("boundary")
        before, after = (rf"(?<![{boundary}])", rf"(?![{boundary}])") if boundary else (r"(?<!\w)", r"(?!\w)")
        return re.compile(before + "(" + "|".join(map(re.escape, words)) + ")" + after)
    if kind == "arabic":
        return re.compile(
            r"(?<![\u0600-\u06FF])(" + entry.get("prefix", "") + r")("
            + alternation(f for forms in entry["nouns"].values() for f in forms)
            + r")(" + entry.get("suffix", "") + r")(?![\u0600-\u06FF])"
        )
    raise ValueError(f"unknown lexicon kind {kind!r}")


@lru_cache(maxsize=None)
def patterns() -> dict[str, re.Pattern]:
    """One alternation per language, longest forms first."""
    return {lang: kind_pattern(lang) for lang in lexicon()}


def find_terms(text: str, languages: tuple[str, ...]) -> list[TermHit]:
    """Every audience word of ``languages`` in ``text``, in order, without overlaps."""
    hits: list[TermHit] = []
    for lang in languages:
        if lang in lexicon():
            hits.extend(FINDERS[table(lang)["kind"]](text, lang))
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[TermHit] = []
    for hit in hits:
        if kept and hit.start < kept[-1].end:
            continue
        kept.append(hit)
    return kept


def find_en(text: str, lang: str = "en") -> list[TermHit]:
    forms = english_forms(lang)
    hits = []
    for m in patterns()[lang].finditer(text):
        term, slot = forms[m.group(1).lower().replace("’", "'")]
        hits.append(TermHit(m.start(1), m.end(1), m.group(1), lang, term, slot))
    return hits


def find_table(text: str, lang: str) -> list[TermHit]:
    entry = table(lang)
    index = {}
    for term, forms in entry["nouns"].items():
        for slot, form in zip(entry["slots"], forms):
            index.setdefault(form, (term, slot))  # first slot wins for syncretic forms (nabywcy)
    hits = []
    for m in patterns()[lang].finditer(text):
        term, slot = index[m.group(1).lower()]
        hits.append(TermHit(m.start(1), m.end(1), m.group(1), lang, term, slot, ambiguous=(term == entry.get("ambiguous"))))
    return hits


def find_stem(text: str, lang: str) -> list[TermHit]:
    stems = {stem: term for term, stem in nouns(lang).items()}
    hits = []
    for m in patterns()[lang].finditer(text):
        term = stems[m.group(1).lower()]
        slot = ("redup" if "-" in m.group(0) else "base") + ("." + m.group(2).lower() if m.group(2) else "")
        hits.append(TermHit(m.start(), m.end(), m.group(0), lang, term, slot))
    return hits


def find_plain(text: str, lang: str) -> list[TermHit]:
    terms = {word: term for term, word in nouns(lang).items()}
    for term, words in table(lang).get("extra", {}).items():
        terms.update({word: term for word in words})
    return [TermHit(m.start(1), m.end(1), m.group(1), lang, terms[m.group(1)], "base") for m in patterns()[lang].finditer(text)]


def find_arabic(text: str, lang: str) -> list[TermHit]:
    index = {}
    for term, (singular, plural, plural_suffixed) in nouns(lang).items():
        index.setdefault(singular, (term, "sg"))
        index.setdefault(plural, (term, "pl"))
        index.setdefault(plural_suffixed, (term, "pl.suffixed"))
    hits = []
    for m in patterns()[lang].finditer(text):
        prefix, stem, suffix = m.group(1), m.group(2), m.group(3)
        if stem.endswith("ئ") and not suffix:
            continue  # عملائ must carry a suffix
        term, slot = index[stem]
        hits.append(TermHit(m.start(), m.end(), m.group(0), lang, term, f"{slot}|{prefix}|{suffix}"))
    return hits


FINDERS = {"english": find_en, "table": find_table, "stem": find_stem, "plain": find_plain, "arabic": find_arabic}


def languages() -> tuple[str, ...]:
    """The languages the reviewer reads (those with an inflection table)."""
    return tuple(lexicon())


def distinguishes(lang: str) -> bool:
    """Whether ``lang`` writes client and customer with different words."""
    return bool(lexicon().get(lang, {}).get("distinguishes"))


def replacement(hit: TermHit, term: str) -> Optional[str]:
    """``hit`` rewritten as ``term`` with the same inflection and capitalisation (None if the language lacks it)."""
    if hit.lang not in lexicon():
        return None
    entry = table(hit.lang)
    forms = entry["nouns"].get(term)
    if not forms:
        return None
    kind = entry["kind"]
    if kind == "english":
        return match_case(english_form(term, hit.slot, hit.lang), hit.text)
    if kind == "table":
        return match_case(forms[entry["slots"].index(hit.slot)], hit.text)
    if kind == "stem":
        stem = forms
        kind_, _, suffix = hit.slot.partition(".")
        word = f"{stem}-{stem}" if kind_ == "redup" else stem
        return match_case(word + suffix, hit.text)
    if kind == "plain":
        return forms
    if kind == "arabic":
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
