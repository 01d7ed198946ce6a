"""Glosses: machine translations of passages into common languages, made once and cached.

The library has no English text, and a small answering model reads a passage in another
script poorly. A *gloss* is a passage translated by the local model, shown to users
labelled "machine-translated". Glosses live in two JSON-lines files:

* ``<corpus>/glosses.jsonl``: shipped with the library, read-only at run time;
* ``<index>/glosses.jsonl``: generated on this machine (``copyadvisor gloss``); wins over the shipped one.

One line per gloss::

    {"source_sha256": "<sha256 of the passage text, UTF-8>", "lang": "en", "text": "...",
     "from_lang": "fr", "generator": "transformers:qwen2.5-coder-1.5b:int8", "passage_id": "ar-...#003",
     "from_ids": ["fr-...#004", "fr-...#005"], "terms_from": ["id-...#004"], "similarity": 0.877}

A gloss is found by the SHA-256 of the passage text and the target language, so a passage
whose text changed is never shown a stale gloss. The other fields are informational:
``from_lang``/``from_ids`` the text actually translated, ``terms_from`` the parallels that
said which of client/customer each ambiguous word is, ``similarity`` the check below.

Which text is translated. French, Polish and Arabic write "client" and "customer" with one
word; Indonesian and Japanese keep them apart. Only parallels that say the same thing are
used (the alignment is closed: they align with this passage only, and their length fits).
Candidates, best first (``candidate_sources``):

1. French (the passage, or its parallel), with every ambiguous word already written as the
   target's client or customer: from the passages' own sense when it is one of the two, else
   sentence by sentence from the Indonesian (or Japanese) parallel, whose sentences align one
   to one. The local models translate French far better than Indonesian (measured, see
   ``PREFERRED_SOURCES``); the parallel supplies the distinction.
2. The Indonesian or Japanese parallel, their two words pre-rendered the same way.
3. The passage itself; for a Polish passage that means both, the prompt says how to choose.

Each gloss is translated line by line and checked: language, length, sentences left out,
numbers not in the source, echoes of the instructions, untranslated or looping text, the
client/customer words of the (pre-rendered) source kept in order, and, with the library's
multilingual embedder, similarity to the source. A line that fails is retried sentence by
sentence; a gloss that still fails is tried once from the next candidate, else skipped with
a warning and counted.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import time
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator, Optional

from tqdm import tqdm

from ..knowledge import gloss_words
from ..language import detect_language, language_name
from .splitting import effective_length
from ..types import Passage

log = logging.getLogger(__name__)

GLOSSES_FILE = "glosses.jsonl"
DEFAULT_LANGUAGES = ("en",)
# How many candidate sources a gloss is tried from. One: the next candidate (the Indonesian
# parallel) was measured worse into English with Qwen2.5-Coder-1.5B: of three glosses it
# passed, two had wrong or invented sentences ("a large client like Google"), so a passage
# that fails from its best source is better left without a gloss.
MAX_SOURCES = 1

# The client and customer words per language are data (data/glosses.toml):
# languages that write both English words with one word, and that word;
AMBIGUOUS_WORD = gloss_words()["ambiguous_word"]
# languages that keep the two apart, and their words (client, customer).
DISTINCT_WORDS = gloss_words()["distinct_words"]
SOURCE_LANGS = ("id", "ja")  # parallels worth translating from: they keep client and customer apart
EAST_ASIAN = frozenset({"ja", "zh", "ko"})
# Effective length (splitting.effective_length) of a text relative to its English translation,
# measured on the parallel articles (fr 11.6k, id 11.1k, ja 9.1k, ar 8.1k for one original).
DENSITY = {"en": 1.0, "fr": 1.15, "pl": 1.1, "id": 1.1, "ja": 0.9, "ar": 0.8, "de": 1.15, "es": 1.1,
           "it": 1.1, "pt": 1.1, "nl": 1.1, "zh": 0.6, "ko": 0.9, "ru": 1.05}
RATIO_BOUNDS = (0.5, 1.9)  # gloss vs source, after the density correction
SHORT_RATIO_BOUNDS = (0.25, 3.5)  # for texts under SHORT characters, where a word more or less counts
SHORT = 60
MIN_LETTERS_TO_JUDGE = 20  # language identification is unreliable on shorter texts
COVERAGE_BOUNDS = (0.7, 1.4)  # a parallel's length vs the passage's, relative to their documents'


class GlossError(RuntimeError):
    """The gloss file cannot be written (locked by another run, read-only ...)."""


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- reading ---------------------------------------------------------------------


@dataclass
class Glosses:
    """Every known gloss, by (sha256 of the passage text, target language)."""

    entries: dict[tuple[str, str], dict] = field(default_factory=dict)
    skipped_lines: int = 0

    @classmethod
    def open(cls, corpus_dir: Path | str | None, index_dir: Path | str | None) -> "Glosses":
        """The shipped glosses, then the local ones (a local gloss wins over a shipped one)."""
        glosses = cls()
        for folder in (corpus_dir, index_dir):
            if folder is not None:
                glosses.load(Path(folder) / GLOSSES_FILE)
        return glosses

    def load(self, path: Path | str) -> int:
        """Add the glosses in ``path`` (missing file: none); a later line for the same key wins."""
        path = Path(path)
        if not path.is_file():
            return 0
        count = 0
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                entry = parse_line(line)
                if entry is None:
                    log.warning("%s:%d: not a valid gloss line, skipped", path, number)
                    self.skipped_lines += 1
                    continue
                self.entries[(entry["source_sha256"], entry["lang"])] = entry
                count += 1
        log.info("read %d glosses from %s", count, path)
        return count

    def entry(self, passage: Passage, lang: str) -> Optional[dict]:
        """The whole record (text, from_lang, generator ...) for ``passage`` in ``lang``."""
        return self.entries.get((text_sha256(passage.text), lang))

    def get(self, passage: Passage, lang: str) -> Optional[str]:
        """The gloss of ``passage`` in ``lang``, or None (also when the passage text has changed)."""
        entry = self.entry(passage, lang)
        return entry["text"] if entry else None

    def has(self, passage: Passage, lang: str) -> bool:
        return self.entry(passage, lang) is not None

    def add(self, entry: dict) -> None:
        self.entries[(entry["source_sha256"], entry["lang"])] = entry

    def __len__(self) -> int:
        return len(self.entries)


def parse_line(line: str) -> Optional[dict]:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    sha, lang, text = entry.get("source_sha256"), entry.get("lang"), entry.get("text")
    if not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
        return None
    if not (isinstance(lang, str) and lang and isinstance(text, str) and text.strip()):
        return None
    return entry


# --- choosing what to translate --------------------------------------------------


@dataclass
class Source:
    """The text a gloss is translated from: the passage itself or its aligned parallels, with
    client/customer already written in the target's words where they are certain."""

    text: str  # what the model is given
    lang: str
    ids: list[str]  # the passages ``text`` comes from
    hint: str = ""  # how to render client/customer, for the system prompt (when not pre-rendered)
    original: str = ""  # ``text`` before the words were pre-rendered (what the gloss is compared with)
    terms_from: list[str] = field(default_factory=list)  # parallels that told which word each one is
    terms_rendered: bool = False  # every client/customer in ``text`` is in the target's words: the gloss must keep them
    unresolved: list[str] = field(default_factory=list)  # sentences of ``text`` whose ambiguous word is left as is

    def checks_terms(self, text: str) -> bool:
        """Whether every client/customer in ``text`` (a line or sentence of ``self.text``) is certain."""
        if self.terms_rendered:
            return True
        return bool(self.unresolved) and not any(sentence in text for sentence in self.unresolved)

    def __post_init__(self) -> None:
        self.original = self.original or self.text


def passage_number(passage_id: str) -> int:
    tail = passage_id.rsplit("#", 1)[-1]
    return int(tail) if tail.isdigit() else 0


# The languages the local model translates best from, first. Measured with Qwen2.5-Coder-1.5B
# into English on the same passages: from French the glosses kept the meaning (similarity to
# the source 0.82-0.86, see similarity()), from Indonesian they invented sentences (0.68-0.71).
# French is used only when every "client" in it is resolved (from the passage's own sense or,
# sentence by sentence, from the Indonesian or Japanese parallel); otherwise the Indonesian or
# Japanese parallel is translated (they keep the two words apart); otherwise the passage itself.
PREFERRED_SOURCES = ("fr", "id", "ja")


def choose_source(passage: Passage, target: str, by_id: dict[str, Passage], doc_lengths: dict[str, int]) -> Source:
    """What to translate into ``target`` for ``passage`` first (see the module docstring)."""
    return next(candidate_sources(passage, target, by_id, doc_lengths))


def candidate_sources(passage: Passage, target: str, by_id: dict[str, Passage], doc_lengths: dict[str, int]) -> Iterator[Source]:
    """The texts a gloss of ``passage`` can be translated from, best first; the last is the passage itself."""
    groups: dict[str, list[Passage]] = {passage.lang: [passage]}
    for lang in sorted({by_id[pid].lang for pid in passage.parallel_ids if pid in by_id}):
        parallels = usable_parallels(passage, lang, by_id, doc_lengths)
        if parallels:
            groups[lang] = parallels
    distinct = target in DISTINCT_WORDS
    references = [lang for lang in (("ja", "id") if target in EAST_ASIAN else ("id", "ja")) if lang in groups]
    seen: set[str] = set()

    def fresh(source: Source) -> bool:
        new = source.text not in seen
        seen.add(source.text)
        return new

    for lang in PREFERRED_SOURCES:
        if lang == target or lang not in groups:
            continue
        source = source_in(groups, lang, target, distinct, references)
        if source is not None and fresh(source):
            yield source
    for lang in references:  # a Japanese or Indonesian parallel not preferred above (e.g. into French)
        source = source_in(groups, lang, target, distinct, references)
        if lang != target and source is not None and fresh(source):
            yield source
    sense = passage.sense
    hint = sense_hint(passage, target) if needs_hint(passage.lang, target, sense) else ""
    rendered = passage.lang in AMBIGUOUS_PATTERNS and sense in ("client", "customer") or passage.lang in DISTINCT_PATTERNS
    source = Source(prerender(passage.text, passage.lang, target, sense), passage.lang, [passage.id], hint,
                    original=passage.text, terms_rendered=distinct and rendered)
    if fresh(source):
        yield source


def source_in(groups: dict[str, list[Passage]], lang: str, target: str, distinct: bool, references: list[str]) -> Optional[Source]:
    """The passages of ``groups[lang]`` as a source, with their words rendered; None when they are
    in a language with one word for both that neither their sense nor a reference can settle."""
    members = groups[lang]
    text, ids = "\n\n".join(p.text for p in members), [p.id for p in members]
    if lang in DISTINCT_PATTERNS or not distinct:  # nothing to resolve
        return Source(prerender(text, lang, target), lang, ids, original=text, terms_rendered=distinct)
    senses = {p.sense for p in members}
    if len(senses) == 1 and senses <= {"client", "customer", "other"}:
        return Source(prerender(text, lang, target, senses.pop()), lang, ids, original=text, terms_rendered=True)
    for partial in (False, True):  # partial: the sentences align, but some occurrence cannot be told
        for ref_lang in references:
            if ref_lang == lang:
                continue
            reference = groups[ref_lang]
            unresolved: list[str] = []
            rendered = render_by_reference(text, lang, "\n\n".join(p.text for p in reference), ref_lang, target,
                                           partial, unresolved)
            if rendered is not None:
                hint = sense_hint(members[0], target, word=AMBIGUOUS_WORD.get(lang), sense="both") if partial else ""
                return Source(rendered, lang, ids, hint, original=text, terms_from=[p.id for p in reference],
                              terms_rendered=not partial, unresolved=unresolved)
    return None


def render_by_reference(text: str, lang: str, reference: str, ref_lang: str, target: str,
                        partial: bool = False, unresolved: Optional[list[str]] = None) -> Optional[str]:
    """``text`` (French or Polish) with each ambiguous word written as the target's client or
    customer, as its sentence-aligned ``reference`` (Indonesian or Japanese) says; None when the
    sentences do not align one to one or (unless ``partial``: left as is) an occurrence cannot be told."""
    if lang not in AMBIGUOUS_PATTERNS or ref_lang not in DISTINCT_PATTERNS or target not in DISTINCT_WORDS:
        return None
    ours, theirs = segments(text), segments(reference)
    if len(ours) != len(theirs):
        return None
    client_pattern, customer_pattern = (re.compile(p, re.IGNORECASE) for p in DISTINCT_PATTERNS[ref_lang])
    singular, plural = (re.compile(p) for p in AMBIGUOUS_PATTERNS[lang])
    out = []
    for (lead, sentence, separator), (_, other, _) in zip(ours, theirs):
        kinds = sorted([(m.start(), "client") for m in client_pattern.finditer(other)]
                       + [(m.start(), "customer") for m in customer_pattern.finditer(other)])
        spans = sorted([(m.start(), m.end(), False) for m in singular.finditer(sentence)]
                       + [(m.start(), m.end(), True) for m in plural.finditer(sentence)])
        if spans:
            named = [kind for _, kind in kinds]
            if len(set(named)) == 1:
                named = named[:1] * len(spans)
            if len(named) != len(spans):
                if not partial:
                    return None
                if unresolved is not None:
                    unresolved.append(sentence)
            else:
                sentence = replace_spans(sentence, spans, named, target)
        out.append(lead + sentence + separator)
    return "".join(out).strip()


def replace_spans(sentence: str, spans: list[tuple[int, int, bool]], kinds: list[str], target: str) -> str:
    client, customer = DISTINCT_WORDS[target]
    plural_of = PLURALS.get(target, lambda word: word)
    for (start, end, is_plural), kind in sorted(zip(spans, kinds), reverse=True):
        word = client if kind == "client" else customer
        word = plural_of(word) if is_plural else word
        sentence = sentence[:start] + same_case(sentence[start:end], word) + sentence[end:]
    return sentence


def usable_parallels(passage: Passage, lang: str, by_id: dict[str, Passage], doc_lengths: dict[str, int]) -> list[Passage]:
    """The parallels of ``passage`` in ``lang``, in document order, when they say the same thing:
    each aligns with this passage only (not also with its neighbours) and their length fits."""
    parallels = sorted((by_id[pid] for pid in passage.parallel_ids if pid in by_id and by_id[pid].lang == lang),
                       key=lambda p: (p.doc_id, passage_number(p.id)))
    if not parallels or len({p.doc_id for p in parallels}) != 1:
        return []
    for other in parallels:
        back = {pid for pid in other.parallel_ids if pid in by_id and by_id[pid].doc_id == passage.doc_id}
        if back - {passage.id}:
            return []
    ours = effective_length(passage.text)
    theirs = sum(effective_length(p.text) for p in parallels)
    doc_ratio = doc_lengths.get(parallels[0].doc_id, 0) / max(doc_lengths.get(passage.doc_id, 0), 1)
    if ours and doc_ratio:
        relative = theirs / ours / doc_ratio
        if not COVERAGE_BOUNDS[0] <= relative <= COVERAGE_BOUNDS[1]:
            return []
    return parallels


# Where the words are certain, they are written in the target language before translating: a
# small model then cannot leave "pelanggan" untranslated or turn it into the wrong word.
DISTINCT_PATTERNS = gloss_words()["distinct_patterns"]
AMBIGUOUS_PATTERNS = gloss_words()["ambiguous_patterns"]  # (singular, plural) forms of the one word
PLURALS = {"en": lambda word: word + "s", "de": lambda word: word + ("n" if word.endswith("e") else "en")}


def prerender(text: str, source_lang: str, target: str, sense: str = "") -> str:
    if target not in DISTINCT_WORDS or source_lang == target:
        return text
    client, customer = DISTINCT_WORDS[target]
    if source_lang in DISTINCT_PATTERNS:
        client_pattern, customer_pattern = DISTINCT_PATTERNS[source_lang]
        text = re.sub(customer_pattern, lambda m: same_case(m.group(0), customer), text, flags=re.IGNORECASE)
        return re.sub(client_pattern, lambda m: same_case(m.group(0), client), text, flags=re.IGNORECASE)
    if source_lang in AMBIGUOUS_PATTERNS and sense in ("client", "customer"):
        word = client if sense == "client" else customer
        plural = PLURALS.get(target, lambda w: w)(word)
        singular_pattern, plural_pattern = AMBIGUOUS_PATTERNS[source_lang]
        text = re.sub(plural_pattern, lambda m: same_case(m.group(0), plural), text)
        return re.sub(singular_pattern, lambda m: same_case(m.group(0), word), text)
    return text


PIVOT = "en"  # glosses into other languages are translated from the English gloss when there is one


def pivot_source(passage: Passage, english: dict, target: str) -> Source:
    """The English gloss of ``passage`` as the source of its gloss into ``target``.

    Qwen2.5-Coder-1.5B asked for German from French answered in English or copied the French
    (3 lines of 3 tried); from English it wrote German. The English gloss says client or
    customer explicitly, so those words are written in the target's words first, as above."""
    text = english["text"]
    rendered = text
    if target in DISTINCT_WORDS:
        client, customer = DISTINCT_WORDS[target]
        plural = PLURALS.get(target, lambda word: word)
        cased = (lambda original, word: word) if target == "de" else same_case  # German nouns are capitalised
        for pattern, word in ((r"\bclients\b", plural(client)), (r"\bcustomers\b", plural(customer)),
                              (r"\bclient\b", client), (r"\bcustomer\b", customer)):
            rendered = re.sub(pattern, lambda m, w=word: cased(m.group(0), w), rendered, flags=re.IGNORECASE)
    return Source(rendered, PIVOT, [passage.id], original=text, terms_rendered=target in DISTINCT_WORDS)


def same_case(original: str, word: str) -> str:
    """``word`` capitalised like ``original`` (German nouns stay capitalised anyway)."""
    return word[:1].upper() + word[1:] if original[:1].isupper() else word


def needs_hint(source_lang: str, target: str, sense: str) -> bool:
    """Only an ambiguous word that stands for both needs words in the prompt: the rest is pre-rendered."""
    return source_lang in AMBIGUOUS_WORD and target in DISTINCT_WORDS and sense == "both"


def sense_hint(passage: Passage, target: str, word: str | None = None, sense: str | None = None) -> str:
    """For a French, Polish or Arabic passage: how to render its one word for both, from its sense."""
    word = word or AMBIGUOUS_WORD.get(passage.lang)
    if word is None or target not in DISTINCT_WORDS:
        return ""
    client, customer = DISTINCT_WORDS[target]
    sense = sense or passage.sense
    if sense == "customer":
        return f"Here '{word}' means customer (a one-off buyer): translate it as '{customer}'."
    if sense == "client":
        return (f"Here '{word}' means client (an ongoing, personal, professional relationship): "
                f"translate it as '{client}'.")
    if sense == "both":
        return (f"'{word}' stands for both English words 'client' and 'customer': use '{customer}' for one-off, "
                f"price-driven buyers and '{client}' for an ongoing, personal, professional relationship, from context.")
    return ""


# --- translating and checking ----------------------------------------------------


def system_prompt(target: str, hint: str = "") -> str:
    prompt = f"Translate the user's text into {language_name(target)}. Output only the translation."
    return f"{prompt} {hint}" if hint else prompt


def token_budget(generator, text: str, target: str) -> int:
    """max_new_tokens for translating ``text``: proportional to its length in tokens."""
    tokenizer = getattr(generator, "tokenizer", None)
    try:
        tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"]) if tokenizer is not None else None
    except Exception:  # a tokenizer with another call convention: estimate instead
        tokens = None
    if tokens is None:
        tokens = max(1, effective_length(text) // 3)
    factor = 2.2 if target in EAST_ASIAN or target == "ar" else 1.6
    return int(tokens * factor) + 24


def translate(generator, text: str, source_lang: str, target: str, hint: str = "") -> str:
    """One greedy translation of ``text``, cleaned of wrappers small models add."""
    messages = [{"role": "system", "content": system_prompt(target, hint)}, {"role": "user", "content": text}]
    limit = max_length(text, source_lang, target)

    def runaway(produced: str) -> bool:  # looping or rambling far past any sane translation
        return effective_length(produced) > limit or repeats(produced)

    pieces = generator.stream(messages, max_new_tokens=token_budget(generator, text, target), stop=runaway)
    return clean("".join(pieces))


def max_length(text: str, source_lang: str, target: str) -> float:
    bounds = SHORT_RATIO_BOUNDS if len(text) < SHORT else RATIO_BOUNDS
    scale = DENSITY.get(target, 1.0) / DENSITY.get(source_lang, 1.0)
    return effective_length(text) * scale * bounds[1] + 20


FILLER = re.compile(r"^\s*(?:sure|certainly|of course)\s*[,!.:]\s*(?=\S)", re.IGNORECASE)  # "Sure, the answer is ..."
LABEL = re.compile(r"^\s*(?:here is the translation[^:\n]*:|(?:\w+ )?translation\s*:|translated text\s*:)\s*", re.IGNORECASE)
FENCE = re.compile(r"^\s*```[\w-]*\n?|\n?```\s*$")
QUOTES = {'"': '"', "“": "”", "«": "»", "「": "」"}


def clean(text: str) -> str:
    text = FENCE.sub("", text.strip()).strip()
    text = LABEL.sub("", text).strip()
    if FILLER.match(text):
        text = FILLER.sub("", text)
        text = text[:1].upper() + text[1:]
    if len(text) >= 2 and QUOTES.get(text[0]) == text[-1] and text.count(text[0]) == 1 + (text[0] == text[-1]):
        text = text[1:-1].strip()
    return text


SENTENCE_END = re.compile(r"(?<=[.!?。！？؟])\s+|(?<=[。！？])")


def repeats(text: str) -> bool:
    """A finished sentence of some length said a third time: the model is looping."""
    sentences = [s.strip() for s in SENTENCE_END.split(text)[:-1] if len(s.strip()) >= 12]
    return any(sentences.count(s) >= 3 for s in set(sentences))


DIGITS = re.compile(r"\d+")
KANJI_NUMERALS = "一二三四五六七八九十"


def numbers(text: str) -> set[str]:
    """Digit runs, with any script's decimal digits read as ASCII ("٢٠٢٢" -> "2022")."""
    normal = "".join(str(unicodedata.digit(ch)) if ch.isdigit() and unicodedata.digit(ch, None) is not None else ch
                     for ch in text)
    return set(DIGITS.findall(normal))


ECHO_PATTERNS = re.compile(
    r"output only|the user's text|here is the translation|\btranslat(?:e|ed|ion|ing)\b|^\s*(?:sure|certainly)\b|^\s*\(?note\b",
    re.IGNORECASE | re.MULTILINE,
)


def shingles(text: str, size: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


TERM_PATTERNS = gloss_words()["term_patterns"]  # the target's client and customer words, any form


def term_sequence(text: str, target: str) -> list[str]:
    """The client/customer words of ``text`` in order, a repeated one counted once ("client
    client customer" -> client, customer): what a translation has to keep."""
    client, customer = TERM_PATTERNS[target]
    found = sorted([(m.start(), "client") for m in re.finditer(client, text, re.IGNORECASE)]
                   + [(m.start(), "customer") for m in re.finditer(customer, text, re.IGNORECASE)])
    runs: list[str] = []
    for _, kind in found:
        if not runs or runs[-1] != kind:
            runs.append(kind)
    return runs


def term_problem(gloss: str, source: str, target: str) -> Optional[str]:
    """The gloss must use the words the (pre-rendered) source uses: no "customer" for a client,
    where the source sets the two side by side both, and in the same order ("all SaaS clients
    are customers, but not all SaaS customers are clients" is not "...all customers are clients")."""
    if target not in TERM_PATTERNS:
        return None
    have, want = term_sequence(gloss, target), term_sequence(source, target)
    extra = set(have) - set(want)
    if extra:
        return f"says {' and '.join(sorted(extra))} where the source does not"
    if set(want) == {"client", "customer"} and have != want:
        return "loses the client/customer distinction" if set(have) != set(want) else "swaps client and customer"
    return None


def problems(gloss: str, source: str, source_lang: str, target: str, hint: str = "", check_terms: bool = False) -> list[str]:
    """Why ``gloss`` is not an acceptable translation of ``source`` (empty: it is)."""
    found = []
    if not gloss.strip():
        return ["empty"]
    if check_terms and (trouble := term_problem(gloss, source, target)):
        found.append(trouble)
    letters = sum(ch.isalpha() for ch in gloss)
    if letters >= MIN_LETTERS_TO_JUDGE:
        detected = detect_language(gloss)
        if detected != target:
            found.append(f"language {detected}, not {target}")
    elif source_lang != target and gloss.strip().casefold() == source.strip().casefold() and letters >= 6:
        found.append("not translated")
    if letters >= MIN_LETTERS_TO_JUDGE and source_lang != target:
        left = [s for s in SENTENCE_END.split(gloss) if sum(ch.isalpha() for ch in s) >= 30 and detect_language(s) == source_lang]
        if left:
            found.append(f"a sentence left in {language_name(source_lang)}: {left[0][:40]!r}")
    scale = DENSITY.get(target, 1.0) / DENSITY.get(source_lang, 1.0)
    ratio = effective_length(gloss) / max(effective_length(source) * scale, 1)
    low, high = SHORT_RATIO_BOUNDS if len(source) < SHORT else RATIO_BOUNDS
    if not low <= ratio <= high:
        found.append(f"length ratio {ratio:.2f} outside {low}-{high}")
    have, want = sentence_count(gloss), sentence_count(source)
    if have < want - max(1, want // 4):
        found.append(f"{have} sentences for {want} (some left out)")
    allowed = numbers(source)
    if any(ch in KANJI_NUMERALS for ch in source):
        allowed |= {str(n) for n in range(1, 11)}
    invented = sorted(numbers(gloss) - allowed)
    if invented:
        found.append(f"numbers not in the source: {', '.join(invented)}")
    invented = invented_names(gloss, source, source_lang, target)
    if invented:
        found.append(f"names not in the source: {', '.join(invented)}")
    copied = copied_share(gloss, source, target)
    if copied > (MAX_COPIED_COGNATE if {source_lang, target} <= COGNATE_LANGS else MAX_COPIED):
        found.append(f"{copied:.0%} of the words copied from the source (untranslated)")
    if looping(gloss):
        found.append("repeats itself")
    if ECHO_PATTERNS.search(gloss) and not ECHO_PATTERNS.search(source):
        found.append("echoes the instructions")
    elif shingles(gloss) & (shingles(system_prompt(target, hint)) - shingles(source)):
        found.append("echoes the instructions")
    return found


WORD = re.compile(r"[^\W\d_]{4,}")
MAX_COPIED = 0.3  # names (SaaS, Starbucks, B2B) stay well under this
COGNATE_LANGS = frozenset({"en", "fr", "es", "it", "pt", "de", "nl"})  # many shared words (service, relation ...)
MAX_COPIED_COGNATE = 0.5


def copied_share(gloss: str, source: str, target: str = "") -> float:
    """Share of the gloss's words (4+ letters) found as such in the source: left untranslated.
    The target's own client/customer words do not count (they may have been pre-rendered)."""
    ignore = {w.casefold() for w in DISTINCT_WORDS.get(target, ())}
    ignore |= {PLURALS[target](w).casefold() for w in ignore} if target in PLURALS else set()
    words = [w.casefold() for w in WORD.findall(gloss)]
    words = [w for w in words if w not in ignore]
    if len(words) < 4:
        return 0.0
    known = {w.casefold() for w in WORD.findall(source)}
    return sum(w in known for w in words) / len(words)


def sentence_count(text: str) -> int:
    return sum(1 for s in SENTENCE_END.split(text) if sum(ch.isalpha() for ch in s) >= 3)


LOOP_RUN = 10  # words; a translation repeating ten words in a row is looping, not translating


NAME = re.compile(r"(?<=[\w,;] )([A-Z][\w-]*)")  # a capitalised word inside a sentence
NAMES_CAPITALISED = frozenset({"en", "fr", "es", "it", "pt", "nl", "id", "pl", "sv", "da", "nb", "fi", "cs", "ro", "tr", "vi"})
LATIN_SCRIPT = frozenset({"en", "fr", "pl", "id", "de", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "cs", "ro", "tr", "vi"})


def invented_names(gloss: str, source: str, source_lang: str, target: str = "en") -> list[str]:
    """Capitalised words inside the gloss's sentences (names: "Google") that the source lacks;
    only for a source in Latin script, where a name would be spelled the same, and a target
    that capitalises names only (not German, which capitalises every noun)."""
    if source_lang not in LATIN_SCRIPT or target not in NAMES_CAPITALISED:
        return []
    known = {w.casefold() for w in re.findall(r"\w+", source)}
    names = {m.group(1) for m in NAME.finditer(gloss)}
    def stems(name: str) -> set[str]:  # "VIPs", "Netflix's" and "Latin-based" name what "VIP", "Netflix", "Latin" do
        name = name.casefold()
        return {name, name.removesuffix("'s"), name.removesuffix("s"), *name.split("-")}

    capitalised = {w.casefold() for w in re.findall(r"\b[A-Z]\w+", source)}

    def spelled_alike(name: str) -> bool:  # "Nordstrom" for the source's typo "Nordstorm"
        return any(SequenceMatcher(None, name.casefold(), other).ratio() >= 0.8 for other in capitalised)

    return sorted(n for n in names if n not in ("I", "I'm", "I'll", "I've") and not stems(n) & known
                  and not spelled_alike(n))


def looping(text: str) -> bool:
    """A sentence said twice, or a run of LOOP_RUN words said twice: small models loop."""
    sentences = [s.strip().casefold() for s in SENTENCE_END.split(text) if len(s.strip()) >= 20]
    if len(set(sentences)) < len(sentences):
        return True
    words = re.findall(r"\w+", text.casefold())
    runs = [tuple(words[i : i + LOOP_RUN]) for i in range(len(words) - LOOP_RUN + 1)]
    return len(set(runs)) < len(runs)


LINE_SPLIT = re.compile(r"(\n+)")
BULLET = re.compile(r"^(\s*(?:[-•*–]|\d+[.)])\s+)")


def segments(text: str) -> list[tuple[str, str, str]]:
    """(lead, sentence, trailing separator) for every sentence; lead is a list marker kept as is."""
    out: list[tuple[str, str, str]] = []
    for part in LINE_SPLIT.split(text):
        if not part or part.startswith("\n"):
            if out:
                lead, sentence, sep = out[-1]
                out[-1] = (lead, sentence, sep + part)
            continue
        bullet = BULLET.match(part)
        lead = bullet.group(1) if bullet else ""
        body = part[len(lead):]
        pieces = [p for p in re.split(r"((?<=[.!?؟])\s+|(?<=[。！？])\s*)", body)]
        sentences = pieces[0::2]
        separators = pieces[1::2] + [""]
        first = True
        for sentence, sep in zip(sentences, separators):
            if not sentence.strip():
                if out:
                    out[-1] = (out[-1][0], out[-1][1], out[-1][2] + sep)
                continue
            out.append((lead if first else "", sentence, sep))
            first = False
    return out


def joiner(separator: str, target: str) -> str:
    """What follows a translated sentence: the source's line breaks, else a space (none in CJK)."""
    if "\n" in separator:
        return separator
    return "" if target in EAST_ASIAN else " "


SIMILARITY_THRESHOLD = 0.75  # cosine, gloss vs the text translated (see similarity())
MIN_SIMILARITY_LENGTH = 80  # effective characters; shorter texts embed too noisily to judge


def similarity(embedder, gloss: str, source: str) -> Optional[float]:
    """Cosine of the gloss and the text translated, with the library's (multilingual) embedder.

    On this library's parallel passages, real translations of each other score 0.73 or more
    (5th percentile; the two lower pairs were partial alignments) while other passages of the
    same article, on the same topic, score at most 0.65. Glosses the 0.5B model invented
    scored 0.61-0.66; 1.5B glosses read as faithful scored 0.80-0.95, and those with a wrong
    or invented sentence 0.72-0.75. None when there is no embedder or the text is too short.
    """
    if embedder is None or effective_length(source) < MIN_SIMILARITY_LENGTH:
        return None
    vectors = embedder.embed_passages([gloss, source])
    return float(vectors[0] @ vectors[1])


@dataclass
class Outcome:
    text: Optional[str]  # None: no acceptable gloss
    issues: list[str] = field(default_factory=list)
    similarity: Optional[float] = None


def gloss_text(generator, source: Source, target: str, embedder=None) -> Outcome:
    """The validated gloss of ``source`` in ``target`` (text None, and the reasons, when it failed).

    Translated line by line (a small model asked for a whole passage at once drops or invents
    sentences); a line that fails its checks is retried sentence by sentence, and a sentence
    that fails too fails the passage. The assembled gloss must then mean what the source means
    (``similarity``); if not, the whole passage is retried once sentence by sentence.
    """
    issues: list[str] = []
    for by_sentence in (False, True):
        text, trouble = translate_lines(generator, source, target, by_sentence)
        if text is None:
            return Outcome(None, issues + trouble)
        score = similarity(embedder, text, source.original)
        if score is None or score >= SIMILARITY_THRESHOLD:
            return Outcome(text, [], score)
        issues.append(f"{'sentence by sentence' if by_sentence else 'line by line'}: "
                      f"similarity to the source {score:.2f} < {SIMILARITY_THRESHOLD} (content changed)")
        if by_sentence or len(segments(source.text)) <= 1:
            break
        log.info("gloss of %s into %s: %s; retrying sentence by sentence", source.ids, target, issues[-1])
    return Outcome(None, issues, score)


def translate_lines(generator, source: Source, target: str, by_sentence: bool = False) -> tuple[Optional[str], list[str]]:
    """Each line translated and checked (``attempt``); a failing line retried sentence by sentence."""
    out = []
    for lead, line, separator in lines_of(source.text):
        issues = ["translated sentence by sentence"]
        if not by_sentence:
            translated, issues = attempt(generator, line, source, target)
        if issues:
            sentences = segments(line)
            if len(sentences) <= 1 and not by_sentence:  # the same text again would fail the same way
                return None, [f"line {line[:40]!r}: {'; '.join(issues)}"]
            if not by_sentence:
                log.info("gloss of %s into %s: a line failed (%s); retrying it sentence by sentence",
                         source.ids, target, "; ".join(issues))
            parts = []
            for sentence_lead, sentence, sentence_separator in sentences:
                piece, trouble = attempt(generator, sentence, source, target)
                if trouble:
                    first = [] if by_sentence else [f"line {line[:40]!r}: {'; '.join(issues)}"]
                    return None, first + [f"sentence {sentence[:40]!r}: {'; '.join(trouble)}"]
                parts.append(sentence_lead + piece + joiner(sentence_separator, target))
            translated = "".join(parts).strip()
        out.append(lead + translated + separator)
    return "".join(out).strip(), []


def attempt(generator, text: str, source: Source, target: str) -> tuple[str, list[str]]:
    """``text`` translated and checked; when its client/customer words did not survive (or it
    failed otherwise), once more with the words in capitals and an instruction to keep them:
    a 1.5B model "corrects" "a client is a customer, but a more loyal one" to "a customer is
    a customer", and copies words in capitals as they are."""
    translated = translate(generator, text, source.lang, target, source.hint)
    checked = source.checks_terms(text)
    issues = problems(translated, text, source.lang, target, source.hint, checked)
    if not issues or not checked or target not in SHOUTED or not term_sequence(text, target):
        return translated, issues
    hint = " ".join(part for part in (source.hint, keep_hint(target)) if part)
    shouted = unshout(translate(generator, shout(text, target), source.lang, target, hint), target)
    trouble = problems(shouted, text, source.lang, target, hint, True)
    return (shouted, []) if not trouble else (translated, issues + [f"in capitals: {'; '.join(trouble)}"])


SHOUTED = {"en": str.lower, "id": str.lower, "nl": str.lower, "de": str.capitalize}  # how a word in capitals goes back


def shout(text: str, target: str) -> str:
    client, customer = TERM_PATTERNS[target]
    return re.sub(f"{client}|{customer}", lambda m: m.group(0).upper(), text, flags=re.IGNORECASE)


def unshout(text: str, target: str) -> str:
    """The target's client/customer words written in capitals, back in their usual case."""
    client, customer = TERM_PATTERNS[target]
    back = SHOUTED[target]
    text = re.sub(f"{client}|{customer}", lambda m: back(m.group(0)) if m.group(0).isupper() else m.group(0), text,
                  flags=re.IGNORECASE)
    return re.sub(f"(^|[.!?:]\\s+|\\n\\s*(?:[-•*–]\\s+)?)({client}|{customer})",
                  lambda m: m.group(1) + m.group(2)[:1].upper() + m.group(2)[1:], text, flags=re.IGNORECASE)


def keep_hint(target: str) -> str:
    client, customer = (word.upper() for word in DISTINCT_WORDS[target])
    return f"Keep the words {client} and {customer} in capitals, exactly where the text has them."


def lines_of(text: str) -> list[tuple[str, str, str]]:
    """(list marker, line, the line breaks after it) for every non-empty line of ``text``."""
    out: list[tuple[str, str, str]] = []
    for part in LINE_SPLIT.split(text):
        if not part.strip():
            if out:
                out[-1] = (out[-1][0], out[-1][1], out[-1][2] + part)
            continue
        bullet = BULLET.match(part)
        lead = bullet.group(1) if bullet else ""
        out.append((lead.lstrip(), part[len(lead):].strip(), ""))
    return out


# --- building --------------------------------------------------------------------


@dataclass
class GlossReport:
    made: int = 0
    skipped: int = 0  # failed validation twice
    existing: int = 0  # already glossed (shipped or local)
    not_needed: int = 0  # same language, or a real translation exists
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    per_language: dict[str, dict] = field(default_factory=dict)

    def line(self) -> str:
        return (f"glosses: {self.made} made, {self.skipped} skipped (failed validation), {self.existing} already there, "
                f"{self.not_needed} not needed; {self.seconds:.1f}s")


def needs_gloss(passage: Passage, lang: str, by_id: dict[str, Passage]) -> bool:
    """False when the passage is in ``lang`` or has a real translation in it."""
    if passage.lang == lang:
        return False
    return not any(pid in by_id and by_id[pid].lang == lang for pid in passage.parallel_ids)


def build_glosses(library, generator, languages: Iterable[str], out_path: Path | str | None = None,
                  progress: bool = True, passages: Optional[list[Passage]] = None) -> GlossReport:
    """Translate every passage that needs it into each of ``languages``, appending to ``out_path``.

    Skipped: passages already in the language, passages with a parallel in it, and passages
    with a gloss already (in the shipped file, the local file or ``out_path``). Each gloss is
    written and fsynced as soon as it is made, so an interrupted run keeps what it finished.
    """
    started = time.perf_counter()
    config = library.config
    out_path = Path(out_path) if out_path else Path(config.index) / GLOSSES_FILE
    all_passages = list(library.index.passages)
    passages = all_passages if passages is None else passages
    by_id = {p.id: p for p in all_passages}
    doc_lengths: dict[str, int] = {}
    for p in all_passages:
        doc_lengths[p.doc_id] = doc_lengths.get(p.doc_id, 0) + effective_length(p.text)
    embedder = getattr(library, "embedder", None)  # checks that a gloss means what its source means
    known = Glosses.open(config.corpus, config.index)
    defaults = {(Path(folder) / GLOSSES_FILE).resolve() for folder in (config.corpus, config.index)}
    if out_path.resolve() not in defaults:
        known.load(out_path)
    report = GlossReport()
    memo: dict[tuple, Outcome] = {}
    tasks = []
    for lang in languages:
        stats = report.per_language.setdefault(lang, {"made": 0, "skipped": 0, "existing": 0, "not_needed": 0, "seconds": 0.0})
        for passage in passages:
            if not needs_gloss(passage, lang, by_id):
                report.not_needed += 1
                stats["not_needed"] += 1
            elif known.has(passage, lang):
                report.existing += 1
                stats["existing"] += 1
            else:
                tasks.append((passage, lang))
    with append_lock(out_path) as out, tqdm(total=len(tasks), desc="Glossing", unit="passage",
                                            disable=None if progress else True) as bar:
        for passage, lang in tasks:
            stats = report.per_language[lang]
            task_started = time.perf_counter()
            if known.has(passage, lang):  # two passages with one text
                report.existing += 1
                stats["existing"] += 1
                bar.update(1)
                continue
            tried = []
            english = known.entry(passage, PIVOT) if lang != PIVOT else None
            sources = [pivot_source(passage, english, lang)] if english else candidate_sources(passage, lang, by_id, doc_lengths)
            for source in islice(sources, MAX_SOURCES):
                key = (source.text, source.lang, lang, source.hint)
                if key not in memo:  # the four translations share their French source: translate it once
                    memo[key] = gloss_text(generator, source, lang, embedder)
                outcome = memo[key]
                if outcome.text is not None:
                    break
                tried.append(f"from {source.lang} {source.ids}: {'; '.join(outcome.issues)}")
                log.info("gloss of %s into %s failed %s", passage.id, lang, tried[-1])
            if outcome.text is None:
                message = f"{passage.id} -> {lang}: " + " | ".join(tried)
                log.warning("no gloss for %s", message)
                report.failures.append(message)
                report.skipped += 1
                stats["skipped"] += 1
            else:
                entry = {
                    "source_sha256": text_sha256(passage.text), "lang": lang, "text": outcome.text, "from_lang": source.lang,
                    "generator": getattr(generator, "id", type(generator).__name__), "passage_id": passage.id,
                    "from_ids": source.ids,
                }
                if source.terms_from:
                    entry["terms_from"] = source.terms_from
                if english:
                    entry["from_ids"] = english.get("from_ids", [])  # what the English gloss was made from
                    entry["via"] = PIVOT
                if outcome.similarity is not None:
                    entry["similarity"] = round(outcome.similarity, 3)
                append_line(out, entry)
                known.add(entry)
                report.made += 1
                stats["made"] += 1
            stats["seconds"] = round(stats["seconds"] + time.perf_counter() - task_started, 1)
            bar.update(1)
    report.seconds = time.perf_counter() - started
    log.info("%s", report.line())
    return report


class append_lock:
    """``out_path`` opened for appending under an exclusive lock (one gloss run per file)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.handle = self.path.open("a+b")
        except OSError as error:
            raise GlossError(f"cannot write glosses to {self.path}: {error}") from error
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            self.handle.close()
            raise GlossError(f"another gloss run is writing {self.path}") from error
        self.handle.seek(0, os.SEEK_END)
        if self.handle.tell() > 0:  # a run killed mid-line left a torn line: start on a fresh one
            self.handle.seek(-1, os.SEEK_END)
            if self.handle.read(1) != b"\n":
                self.handle.write(b"\n")
                self.handle.flush()
        return self.handle

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def append_line(handle, entry: dict) -> None:
    """One gloss, on disk before the next is started."""
    handle.write((json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
    handle.flush()
    os.fsync(handle.fileno())


def parse_languages(value: str | None) -> list[str]:
    languages = [part.strip().lower() for part in (value or ",".join(DEFAULT_LANGUAGES)).split(",") if part.strip()]
    for lang in languages:
        if not re.fullmatch(r"[a-z]{2}", lang):
            raise ValueError(f"--lang takes ISO 639-1 codes separated by commas (en,de,es), not {lang!r}")
    return languages


def iter_glosses(path: Path | str) -> Iterator[dict]:
    """The valid lines of one gloss file (for inspection tools and tests)."""
    path = Path(path)
    if not path.is_file():
        return
    for line in path.open(encoding="utf-8", errors="replace"):
        entry = parse_line(line) if line.strip() else None
        if entry is not None:
            yield entry
