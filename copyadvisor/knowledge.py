"""Knowledge kept as data: the TOML files under ``copyadvisor/data/``, loaded and checked here.

Every user-facing word list and message lives in those files, not in Python, so adding a
term or a language means editing data. Each loader validates its file once and raises
:class:`KnowledgeError` naming the file and what is wrong.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


class KnowledgeError(ValueError):
    """A data file is missing, malformed or incomplete; the message names it."""


def read_toml(name: str) -> dict:
    path = DATA / name
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as error:
        raise KnowledgeError(f"{path}: missing data file") from error
    except tomllib.TOMLDecodeError as error:
        raise KnowledgeError(f"{path}: {error}") from error


@dataclass(frozen=True)
class Term:
    """One audience word: its English label, what it is for, and how each language writes it."""

    label: str
    meaning: str
    names: dict[str, str]  # language -> the word to write
    forms: dict[str, re.Pattern]  # language -> finds the word and its inflections
    query: str = ""  # what to search the library for to find passages about the term
    situations: tuple[str, ...] = ()  # businesses where the articles' criteria point to this word (for the verdict)
    examples: str = ""  # typical businesses whose people are called this word (what an examples question looks for)

    def name(self, language: str) -> str:
        return self.names.get(language, self.names["en"])

    def found_in(self, text: str, language: str) -> bool:
        pattern = self.forms.get(language) or self.forms["en"]
        return bool(pattern.search(text))


@lru_cache(maxsize=1)
def main_words() -> list[str]:
    """terms.toml ``main``: the words the library is about (a difference question naming none is about them)."""
    return list(read_toml("terms.toml").get("main", []))


TERM_KEYS = ("meaning", "query", "examples")  # a term's string keys that are not languages


def supported_languages() -> list[str]:
    """The languages every message and term must have: those of the first term (client)."""
    return list(next(iter(terms().values())).names)


@lru_cache(maxsize=1)
def terms() -> dict[str, Term]:
    """``data/terms.toml``: label -> :class:`Term`, in the file's order."""
    table = read_toml("terms.toml").get("term")
    if not isinstance(table, dict) or not table:
        raise KnowledgeError(f"{DATA / 'terms.toml'}: no [term.<label>] tables")
    loaded = {}
    for label, entry in table.items():
        forms = entry.get("forms", {})
        names = {lang: value for lang, value in entry.items() if isinstance(value, str) and lang not in TERM_KEYS}
        if "en" not in names or "en" not in forms or not entry.get("meaning") or not entry.get("query"):
            raise KnowledgeError(f"{DATA / 'terms.toml'}: term {label!r} needs meaning, query, en and forms.en")
        try:
            # English forms are ASCII: "customerの語源" names "customer" (\b sees の as a letter otherwise)
            compiled = {lang: re.compile(pattern, re.IGNORECASE | (re.ASCII if lang == "en" else 0)) for lang, pattern in forms.items()}
        except re.error as error:
            raise KnowledgeError(f"{DATA / 'terms.toml'}: term {label!r}: bad pattern: {error}") from error
        loaded[label] = Term(label, entry["meaning"], names, compiled, entry["query"], tuple(entry.get("situations", ())),
                              entry.get("examples", ""))
    return loaded


def shares_its_name(term: str, language: str) -> bool:
    """Whether another of terms.toml's words has ``term``'s name in ``language`` (Polish
    „kupujący” is both buyer and shopper; French « abonné » both subscriber and follower)."""
    name = terms()[term].name(language).lower()
    return any(other != term and word.name(language).lower() == name for other, word in terms().items())


LOADING_REQUIRED = ("starting", "ready", "failed", "unknown_stage", "no_estimate", "seconds_left", "minutes_left", "title", "explain")


@lru_cache(maxsize=1)
def loading_messages() -> dict[str, dict[str, str]]:
    """``data/loading.toml``: key (a loading stage or a phrase of the loading page) ->
    language -> text; every entry has ``en``."""
    table = read_toml("loading.toml")
    path = DATA / "loading.toml"
    for key, entry in table.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("en"), str):
            raise KnowledgeError(f"{path}: [{key}] needs an en string")
    missing = [key for key in LOADING_REQUIRED if key not in table]
    if missing:
        raise KnowledgeError(f"{path}: lacks {', '.join(f'[{key}]' for key in missing)}")
    return table


# ``data/messages.toml`` (the sentences copyadvisor writes itself) and ``data/prompts.toml``
# (what the model is asked), for the advisor and the reviewer.
@lru_cache(maxsize=1)
def messages() -> dict[str, dict[str, str]]:
    return read_toml("messages.toml")


def message(key: str, language: str, **values) -> str:
    table = messages()[key]
    return table.get(language, table["en"]).format(**values)


@lru_cache(maxsize=1)
def prompts() -> dict:
    return read_toml("prompts.toml")


LEXICON_KINDS = {"english": 2, "table": None, "stem": None, "plain": None, "arabic": 3}  # kind -> forms per noun


@lru_cache(maxsize=1)
def lexicon() -> dict[str, dict]:
    """``data/lexicon.toml``: language -> its inflection table (``kind``, ``nouns`` and the
    kind's own keys), every noun a known term and every form list the right length."""
    path = DATA / "lexicon.toml"
    table = read_toml("lexicon.toml")
    known = terms()
    for lang, entry in table.items():
        kind = entry.get("kind")
        if kind not in LEXICON_KINDS:
            raise KnowledgeError(f"{path}: [{lang}] kind must be one of {', '.join(LEXICON_KINDS)}, not {kind!r}")
        nouns = entry.get("nouns")
        if not isinstance(nouns, dict) or not nouns:
            raise KnowledgeError(f"{path}: [{lang}] needs a [{lang}.nouns] table")
        size = len(entry.get("slots", ())) if kind == "table" else LEXICON_KINDS[kind]
        for term, forms in [*nouns.items(), *entry.get("extra", {}).items()]:
            if term not in known:
                raise KnowledgeError(f"{path}: [{lang}] names {term!r}, which is no [term.{term}] in terms.toml")
            if size is not None and term in nouns and (not isinstance(forms, list) or len(forms) != size):
                raise KnowledgeError(f"{path}: [{lang}.nouns] {term} needs {size} forms")
        if entry.get("ambiguous") is not None and entry["ambiguous"] not in nouns:
            raise KnowledgeError(f"{path}: [{lang}] ambiguous term {entry['ambiguous']!r} has no nouns entry")
    return table


@dataclass(frozen=True)
class Senses:
    """``data/senses.toml``, compiled: what tells client from customer in a passage."""

    client_words: dict[str, re.Pattern]  # language ("*" = any) -> an unambiguous client word
    customer_words: dict[str, re.Pattern]
    ambiguous: dict[str, re.Pattern]  # language -> the one word for both
    client_cues: dict[str, re.Pattern]
    customer_cues: dict[str, re.Pattern]
    other: dict[str, re.Pattern]  # term label -> its words, any language
    unambiguous_languages: frozenset[str]
    own_client_word: frozenset[str]  # languages whose ambiguous word is spelt "client"


@lru_cache(maxsize=1)
def senses() -> Senses:
    path = DATA / "senses.toml"
    data = read_toml("senses.toml")
    known = terms()

    def compiled(where: str, table: object) -> dict[str, re.Pattern]:
        if not isinstance(table, dict) or not all(isinstance(v, str) and v for v in table.values()):
            raise KnowledgeError(f"{path}: [{where}] must map names to non-empty patterns")
        try:
            return {key: re.compile(pattern, re.IGNORECASE) for key, pattern in table.items()}
        except re.error as error:
            raise KnowledgeError(f"{path}: [{where}]: bad pattern: {error}") from error

    for where in ("words", "cues"):
        if set(data.get(where, {})) != {"client", "customer"}:
            raise KnowledgeError(f"{path}: [{where}] needs exactly [{where}.client] and [{where}.customer]")
    unknown = [label for label in data.get("other", {}) if label not in known]
    if unknown:
        raise KnowledgeError(f"{path}: [other] names {', '.join(unknown)}, not terms in terms.toml")
    return Senses(
        client_words=compiled("words.client", data["words"]["client"]),
        customer_words=compiled("words.customer", data["words"]["customer"]),
        ambiguous=compiled("ambiguous", data.get("ambiguous", {})),
        client_cues=compiled("cues.client", data["cues"]["client"]),
        customer_cues=compiled("cues.customer", data["cues"]["customer"]),
        other=compiled("other", data.get("other", {})),
        unambiguous_languages=frozenset(data.get("unambiguous_languages", ())),
        own_client_word=frozenset(data.get("own_client_word", ())),
    )


@lru_cache(maxsize=1)
def languages() -> dict:
    """``data/languages.toml``: ``names`` (code -> English name) and ``detected`` (lingua's names)."""
    path = DATA / "languages.toml"
    data = read_toml("languages.toml")
    if not isinstance(data.get("names"), dict) or not data["names"] or not data.get("detected"):
        raise KnowledgeError(f"{path}: needs detected = [...] and a [names] table")
    missing = [lang for lang in supported_languages() if lang not in data["names"]]
    if missing:
        raise KnowledgeError(f"{path}: [names] lacks {', '.join(missing)}")
    return data


@lru_cache(maxsize=1)
def echo_markers() -> re.Pattern:
    """``data/checks.toml`` echo_markers, as one case-insensitive pattern."""
    path = DATA / "checks.toml"
    markers = read_toml("checks.toml").get("echo_markers")
    if not markers or not all(isinstance(m, str) and m for m in markers):
        raise KnowledgeError(f"{path}: echo_markers must be a list of non-empty patterns")
    try:
        return re.compile("|".join(markers), re.IGNORECASE)
    except re.error as error:
        raise KnowledgeError(f"{path}: echo_markers: bad pattern: {error}") from error


GLOSS_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"  # Latin letters: where a gloss's word ends


@lru_cache(maxsize=1)
def gloss_words() -> dict[str, dict]:
    """``data/glosses.toml`` as the tables glosses.py uses: ``distinct_words`` (language ->
    (client, customer)), ``term_patterns`` (language -> (client, customer) regexes, bounded),
    ``distinct_patterns`` (source language -> (client, customer) regexes), ``ambiguous_word``
    (language -> the one word), ``ambiguous_patterns`` (language -> (singular, plural)) and
    ``shown_patterns`` (language -> (client, customer) regexes for the words in shown passages)."""
    path = DATA / "glosses.toml"
    tables: dict[str, dict] = {key: {} for key in ("distinct_words", "term_patterns", "distinct_patterns", "ambiguous_word",
                                                    "ambiguous_patterns", "shown_patterns")}
    for lang, entry in read_toml("glosses.toml").items():
        for key in ("words", "find", "prerender", "ambiguous_forms", "shown"):
            if key in entry and (not isinstance(entry[key], list) or len(entry[key]) != 2):
                raise KnowledgeError(f"{path}: [{lang}] {key} must be a pair")
        try:
            for pattern in [*entry.get("find", ()), *entry.get("prerender", ()), *entry.get("ambiguous_forms", ()),
                            *entry.get("shown", ())]:
                re.compile(pattern)
        except re.error as error:
            raise KnowledgeError(f"{path}: [{lang}]: bad pattern: {error}") from error
        if "words" in entry:
            if "find" not in entry:
                raise KnowledgeError(f"{path}: [{lang}] has words but no find patterns")
            tables["distinct_words"][lang] = tuple(entry["words"])
            bound = entry.get("latin_bounded", True)
            tables["term_patterns"][lang] = tuple(
                rf"(?<![{GLOSS_LETTER}]){p}(?![{GLOSS_LETTER}])" if bound else p for p in entry["find"])
        if "prerender" in entry:
            tables["distinct_patterns"][lang] = tuple(entry["prerender"])
        if "ambiguous" in entry:
            tables["ambiguous_word"][lang] = entry["ambiguous"]
        if "ambiguous_forms" in entry:
            tables["ambiguous_patterns"][lang] = tuple(entry["ambiguous_forms"])
        if "shown" in entry:
            tables["shown_patterns"][lang] = tuple(re.compile(p) for p in entry["shown"])
    return tables
