"""Checks on the text of an answer: what a reader would object to, found automatically.

Each check returns a :class:`Check` (name, passed, detail). They read the answer's text,
the passages it was shown (``Answer.passages``: the text shown and the original) and the
evaluation item's expectations; none of them looks at how the advisor works inside.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..knowledge import echo_markers, main_words, shares_its_name, terms
from ..language import detect_language
from ..types import Answer

CITATION = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
SENTENCE_END = re.compile(r"(?<=[.!?。！？؟])\s+|(?<=[。！？])")
LIST_NUMBER = re.compile(r"(?m)^\s*\d{1,2}[.)]\s")
DIGITS = re.compile(r"\d+(?:[.,]\d+)?")
# What an answer says when it repeats its instructions instead of answering (data/checks.toml).
ECHO_MARKERS = echo_markers()
MAX_SENTENCES = 5
MIN_ECHO_WORDS = 6  # a run of this many instruction words in the answer is an echo


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class Expectation:
    """What a right answer to one evaluation question must (and must not) say."""

    lang: str
    intent: str
    question: str
    facts: list[tuple[str, list[re.Pattern]]] = field(default_factory=list)
    must_not: list[re.Pattern] = field(default_factory=list)
    expect_term: Optional[str] = None  # a term label, "depends", or None when no verdict is asked
    decline: bool = False
    history_text: str = ""
    cite_doc: Optional[str] = None  # the document (id) a right answer cites, e.g. a house style guide


def plain(text: str) -> str:
    """The answer without citation markers, Unicode-normalised."""
    return unicodedata.normalize("NFC", CITATION.sub(" ", text))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip() and re.search(r"\w", s)]


def shown_texts(answer: Answer) -> list[str]:
    """Every text the answer was shown: the passages as shown and their originals."""
    texts = []
    for passage in answer.passages:
        texts.append(passage.get("text", ""))
        texts.append(passage.get("original_text", ""))
    return [t for t in texts if t]


# --- the checks ------------------------------------------------------------------------


def check_decline(answer: Answer, expected: Expectation) -> Check:
    if expected.decline:
        return Check("decline", answer.declined, "" if answer.declined else "answered an out-of-scope request")
    return Check("decline", not answer.declined, f"declined ({answer.decline_reason})" if answer.declined else "")


def check_facts(answer: Answer, expected: Expectation) -> Check:
    text = plain(answer.text)
    missing = [name for name, patterns in expected.facts if not any(p.search(text) for p in patterns)]
    return Check("facts", not missing, "missing: " + "; ".join(missing) if missing else "")


def check_must_not(answer: Answer, expected: Expectation) -> Check:
    text = plain(answer.text)
    said = [p.pattern for p in expected.must_not if p.search(text)]
    return Check("must_not", not said, "says: " + "; ".join(said) if said else "")


def words_of(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def check_echo(answer: Answer, instructions: list[str]) -> Check:
    """No instruction phrase, and no run of MIN_ECHO_WORDS words taken from the instructions."""
    text = plain(answer.text)
    marker = ECHO_MARKERS.search(text)
    if marker:
        return Check("echo", False, f"repeats instructions: {marker.group(0)!r}")
    said = words_of(text)
    runs = {tuple(said[i:i + MIN_ECHO_WORDS]) for i in range(len(said) - MIN_ECHO_WORDS + 1)}
    for instruction in instructions:
        words = words_of(instruction)
        for i in range(len(words) - MIN_ECHO_WORDS + 1):
            if tuple(words[i:i + MIN_ECHO_WORDS]) in runs:
                return Check("echo", False, "repeats instructions: " + " ".join(words[i:i + MIN_ECHO_WORDS]))
    return Check("echo", True)


def numbers_in(text: str) -> set[str]:
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789"))
    return {n.replace(",", ".") for n in DIGITS.findall(text)}


def check_numbers(answer: Answer, expected: Expectation) -> Check:
    """Every number the answer states is in the question, the conversation or a passage shown."""
    text = LIST_NUMBER.sub(" ", plain(answer.text))
    allowed = numbers_in(expected.question + " " + expected.history_text)
    for shown in shown_texts(answer):
        allowed |= numbers_in(shown)
    unsupported = sorted(numbers_in(text) - allowed)
    return Check("numbers", not unsupported, "unsupported: " + ", ".join(unsupported) if unsupported else "")


SCRIPTS = {"ja": r"[\u3040-\u30ff\u4e00-\u9fff]", "ar": r"[\u0600-\u06ff]", "zh": r"[\u4e00-\u9fff]"}


def script_share(text: str, language: str) -> float:
    """The share of letters written in the language's script (Latin for the others)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    pattern = re.compile(SCRIPTS.get(language, r"[A-Za-zÀ-ɏ]"))
    return sum(bool(pattern.match(ch)) for ch in letters) / len(letters)


def check_language(answer: Answer, expected: Expectation) -> Check:
    """The answer is in the asker's language and script, short quotes and a rewritten sentence
    aside (the sentence fixed stays in the language it was given in, as in check_foreign_words)."""
    text = plain(answer.text.replace(answer.rewritten, " ") if answer.rewritten else answer.text)
    quoted = re.sub(r"[\"“”«»„「」『』][^\"“”«»„「」『』]{0,40}[\"“”«»„「」『』]", " ", text)
    detected = detect_language(quoted)
    share = script_share(quoted, expected.lang)
    ok = detected == expected.lang and share >= (0.6 if expected.lang in SCRIPTS else 0.9)
    return Check("language", ok, "" if ok else f"detected {detected}, {share:.0%} in the {expected.lang} script")


def check_verdict(answer: Answer, expected: Expectation) -> Check:
    """A verdict only where one is asked; then the expected one, with its word in the asker's language."""
    got = answer.recommendation.term
    if expected.expect_term is None:
        ok = (got is None or expected.intent in ("verdict", "followup", "rewrite")
              or (expected.intent == "alternative" and got not in main_words()))  # "what do we call our Instagram followers?"
        return Check("verdict", ok, "" if ok else f"gave a verdict ({got}) where none was asked")
    if expected.expect_term == "depends":
        ok = got is None
        return Check("verdict", ok, "" if ok else f"recommended {got}, expected 'it depends'")
    if got != expected.expect_term:
        return Check("verdict", False, f"recommended {got}, expected {expected.expect_term}")
    term = terms()[got]
    in_rewrite = bool(answer.rewritten) and any(p.search(answer.rewritten) for p in term.forms.values())  # the fixed sentence's own language
    if not (term.found_in(plain(answer.text), expected.lang) or in_rewrite):
        return Check("verdict", False, f"the text does not name {term.name(expected.lang)!r} in {expected.lang}")
    return Check("verdict", True)


FOREIGN_MIN_LETTERS = 4


def is_proper(word: str) -> bool:
    return word[:1].isupper() or any(ch.isdigit() for ch in word) or word.isupper()


def english_main_forms() -> set[str]:
    """The library's two main words in English, singular and plural ("client", "clients" ...)."""
    names = [terms()[word].name("en").lower() for word in main_words()[:2]]
    return {form for name in names for form in (name, name + "s")}


def english_name_of_shared(term: Optional[str], lang: str) -> set[str]:
    """The English name of ``term`` (singular and plural) when another word has its name in ``lang``."""
    if not term or term not in terms() or lang == "en" or not shares_its_name(term, lang):
        return set()
    english = terms()[term].name("en").lower()
    return {english, english + "s"}


def english_names_glossed(answer: Answer, text: str, lang: str) -> set[str]:
    """The English names of the recommended words that the answer also names in the asker's language:
    a word given with its translation is advice for English copy, not a word copied from a passage."""
    recommended = {answer.recommendation.term, *answer.recommendation.groups} - {None}
    glossed = [terms()[word] for word in recommended if word in terms() and terms()[word].found_in(text, lang)]
    return {form for term in glossed for form in (term.name("en").lower(), term.name("en").lower() + "s")}


ENGLISH_MARK = re.compile(r"(?<=\w)\s*\((?:" + "|".join(sorted({re.escape(terms()[w].name("en")) for w in terms() if w not in main_words()[:2]}))
                          + r")s?\)", re.IGNORECASE)  # the two main words' marks: allowed where the asker wrote them (below)


def check_foreign_words(answer: Answer, expected: Expectation) -> Check:
    """No word copied from a passage in another language, and no audience word of another language.
    A rewritten sentence is left out: it is in the language of the sentence the asker gave."""
    text = plain(answer.text.replace(answer.rewritten, " ") if answer.rewritten else answer.text)
    text = ENGLISH_MARK.sub("", text)  # "• Acheteur (shopper) –": the English word of the word before it, marked
    lang = expected.lang
    asked = expected.question + " " + expected.history_text
    own = words_of(asked) + re.findall(r"[a-z\u00c0-\u024f]+", asked.lower())  # "customerって": the Latin word too
    own_shown = " ".join(p.get("text", "") for p in answer.passages if p.get("lang") == lang)
    allowed = set(own) | set(words_of(own_shown))
    if any(terms()[word].forms["en"].search(asked) for word in main_words()[:2]):
        allowed |= english_main_forms()  # "…mamy wszędzie „customers”" → "Użyj „clients”": the asker's English copy
    allowed |= english_name_of_shared(answer.recommendation.term, lang)  # „kupujący” (shopper): Polish has one word for two
    allowed |= english_names_glossed(answer, text, lang)  # „member” (po polsku: „członek”): for the asker's English copy
    foreign_words: set[str] = set()
    for passage in answer.passages:
        for key, passage_lang in (("text", passage.get("lang")), ("original_text", passage.get("original_lang"))):
            if passage_lang and passage_lang != lang and passage.get(key):
                foreign_words |= {w.lower() for w in re.findall(r"\w+", passage[key])
                                  if len(w) >= FOREIGN_MIN_LETTERS and not is_proper(w) and not w.isdigit()}
    copied = sorted({w for w in words_of(text) if w in foreign_words and w not in allowed and not script_native(w, lang)})
    for term in terms().values():
        own_pattern = term.forms.get(lang)
        for other, pattern in term.forms.items():
            if other == lang:
                continue
            for match in pattern.finditer(text):
                word = match.group(0)
                if (own_pattern and own_pattern.search(word)) or word.lower() in allowed or any(
                        t.forms.get(lang) and t.forms[lang].search(word) for t in terms().values()):
                    continue
                copied.append(word)
    copied = sorted(set(copied))
    return Check("foreign_words", not copied, "copied: " + ", ".join(copied[:8]) if copied else "")


def script_native(word: str, lang: str) -> bool:
    """A word in the asker's own non-Latin script is never 'copied' from a Latin-script passage, and vice versa."""
    if lang in SCRIPTS:
        return bool(re.match(SCRIPTS[lang], word))
    return False


def check_length(answer: Answer, expected: Expectation) -> Check:
    if answer.declined:
        return Check("length", True)
    count = len(sentences(plain(answer.text)))
    ok = 1 <= count <= MAX_SENTENCES
    return Check("length", ok, "" if ok else f"{count} sentences")


def content_words(text: str) -> set[str]:
    """Words of 4+ letters (Latin, Arabic ...) and character pairs of CJK text."""
    words = {w for w in words_of(text) if len(w) >= 4 and not re.match(r"[\u3040-\u30ff\u4e00-\u9fff]", w)}
    cjk = "".join(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]+", text))
    words |= {cjk[i:i + 2] for i in range(len(cjk) - 1)}
    return words


def check_citations(answer: Answer, expected: Expectation,
                    similarity: Optional[Callable[[str, str], float]] = None, threshold: float = 0.0) -> Check:
    """An answered question cites; each cited sentence shares content with the passage it cites."""
    if answer.declined:
        return Check("citations", True)
    if not answer.citations:
        return Check("citations", False, "no citation")
    shown = {p["number"]: p.get("text", "") for p in answer.passages}
    problems = []
    for sentence in claims_with_citations(answer.text):
        for group in CITATION.findall(sentence):
            claim = plain(sentence)
            for number in map(int, re.findall(r"\d+", group)):
                passage = shown.get(number)
                if passage is None:
                    problems.append(f"[{number}] was not shown")
                    continue
                shared = content_words(claim) & content_words(passage)
                if len(shared) >= 2 or quotes_verbatim(claim, passage):
                    continue
                if similarity is not None and similarity(claim, passage) >= threshold:
                    continue
                problems.append(f"[{number}] does not support {claim[:60]!r}")
    return Check("citations", not problems, "; ".join(problems[:3]))


QUOTE_MARKS = "“”«»„\"'「」『』 "


def quotes_verbatim(claim: str, passage: str) -> bool:
    """Whether the claim, without its quotation marks, is the passage's own words
    ("A client is a current customer. And a loyal one." [3]: the second sentence is short)."""
    words = " ".join(CITATION.sub(" ", claim).split()).strip(QUOTE_MARKS)
    return len(words) >= 8 and words in " ".join(passage.split())


def claims_with_citations(text: str) -> list[str]:
    """Sentences, each with the citations written after it ("x. [1]" belongs to x)."""
    merged: list[str] = []
    for chunk in re.split(r"(?<=[.!?。！？؟\]])\s*", text):
        if not chunk.strip():
            continue
        if merged and not re.search(r"\w", plain(chunk)):
            merged[-1] += " " + chunk
        else:
            merged.append(chunk)
    return merged


def check_cited_document(answer: Answer, expected: Expectation) -> Check:
    """The answer cites a passage of the document the question is about."""
    cited = {c.passage_id.split("#")[0] for c in answer.citations}
    ok = expected.cite_doc is None or expected.cite_doc in cited
    return Check("cited_doc", ok, "" if ok else f"cites {sorted(cited) or 'nothing'}, not {expected.cite_doc}")


def check_answer(answer: Answer, expected: Expectation, instructions: list[str],
                 similarity: Optional[Callable[[str, str], float]] = None, threshold: float = 0.0) -> list[Check]:
    """All checks; a declined out-of-scope question needs only to be declined (and not echo)."""
    checks = [check_decline(answer, expected), check_echo(answer, instructions)]
    if answer.declined:
        return checks + [check_language(answer, expected)]
    return checks + [
        check_facts(answer, expected), check_must_not(answer, expected), check_numbers(answer, expected),
        check_language(answer, expected), check_verdict(answer, expected), check_foreign_words(answer, expected),
        check_citations(answer, expected, similarity, threshold), check_length(answer, expected),
        check_cited_document(answer, expected),
    ]
