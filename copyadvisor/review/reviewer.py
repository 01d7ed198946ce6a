"""Draft review: find, explain and fix client/customer wording, like a prose linter.

1. The draft is validated (text, at most 50,000 characters) and cut into paragraphs;
   each paragraph's language is detected, and its audience words are found with exact
   offsets (``lexicon.find_terms``).
2. The relationship the draft describes is inferred from its own words (the same cues the
   advisor uses: one-off and price -> customer; ongoing, personalised, professional ->
   client; paywall -> subscriber ...), or taken from a context the user states.
3. Rules, each with an id and severity (Vale's levels):
   - ``copyadvisor.WrongTerm`` (warning): client where the draft describes customers, or
     the reverse, in a language that tells them apart (en, id, ja, ar);
   - ``copyadvisor.Inconsistent`` (warning): both words for the same audience and no
     context deciding between them; the minority word is flagged;
   - ``copyadvisor.BetterAlternative`` (suggestion): subscriber, member, user … fits the
     described relationship better than client/customer (every language).
   - ``House.<Style>.<Rule>`` (the rule's own level): the library's house rules, Vale rule
     files in ``corpus/styles/<Style>/<Rule>.yml`` (``house_rules.py``): a substitution
     suggests its swap value, an existence rule only flags. Where a house rule and a
     built-in rule flag the same words, the house rule wins (the library decided), and a
     built-in suggestion that a house rule would flag is not offered.
4. Every finding carries a replacement with the same inflection and capitalisation, and
   the library passage that justifies it. ``revised_text`` applies them all; text outside
   the flagged spans is never changed; findings never overlap.

A draft is data: nothing in it is executed or obeyed. Findings come from rules, not from a
model. Optionally (``explain``) a model phrases one or two sentences per finding; it sees
the flagged word, the suggestion, the relationship and the cited passage, never the draft,
and what it writes is only an explanation: it changes no text.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Optional

from ..answering.verdict import RATIONALES, SUPPORT_SEARCH_K, TERM_QUERIES, best_support, in_language, recommend
from .house_rules import NO_RULES, HouseRule, HouseRules, RuleMatch
from ..knowledge import message, prompts, terms
from ..language import detect_language
from .lexicon import TermHit, distinguishes, find_terms, languages, replacement
from ..retrieval.library import Library
from ..types import Recommendation

MAX_DRAFT_CHARS = 50_000
SEVERITY_ORDER = {"error": 3, "warning": 2, "suggestion": 1}
MESSAGE_LANGUAGE = "en"  # findings' messages (data/messages.toml) stay English, like the rationales they quote
FR_ELISION = re.compile(r"(?<!\w)(le|la|du|au)\s+$", re.IGNORECASE)
SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？؟])\s*")  # sentence ends, as the advisor splits them


class ReviewError(ValueError):
    """The draft cannot be reviewed; the message says why."""


@dataclass
class SourcePassage:
    passage_id: str
    doc_id: str
    lang: str
    quote: str


@dataclass
class Finding:
    start: int
    end: int
    line: int
    column: int
    text: str
    rule: str
    severity: str
    message: str
    suggestion: Optional[str]
    replacements: list[str]
    citations: list[SourcePassage]
    explanation: Optional[str] = None  # written by the model, only when asked for


@dataclass
class ReviewContext:
    relationship: Optional[str]  # the term the described relationship calls for, None when unclear
    source: str  # stated | inferred | unclear
    rationale: str
    signals: dict[str, list[str]]
    citations: list[SourcePassage] = field(default_factory=list)


@dataclass
class Review:
    findings: list[Finding]
    context: ReviewContext
    revised_text: str
    languages: list[str]
    stats: dict

    @property
    def has_warnings(self) -> bool:
        return any(SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER["warning"] for f in self.findings)

    def to_dict(self) -> dict:
        return asdict(self)


def validate_draft(draft: object) -> str:
    if isinstance(draft, bytes):
        if b"\0" in draft:
            raise ReviewError("the draft is binary data, not text")
        try:
            draft = draft.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ReviewError(f"the draft is not UTF-8 text (bad byte at offset {error.start})") from error
    if not isinstance(draft, str):
        raise ReviewError("the draft must be text")
    if not draft.strip():
        raise ReviewError("the draft is empty")
    if len(draft) > MAX_DRAFT_CHARS:
        raise ReviewError(f"the draft is {len(draft):,} characters long; the limit is {MAX_DRAFT_CHARS:,}")
    if "\0" in draft:
        raise ReviewError("the draft is binary data, not text")
    return draft


def alternatives() -> tuple[str, ...]:
    """The terms other than client and customer (data/terms.toml): subscriber, member, user ..."""
    return tuple(label for label in terms() if label not in ("client", "customer"))


class Reviewer:
    def __init__(self, library: Library, generator=None, house_rules: Optional[HouseRules] = None):
        """``house_rules``: the rules to enforce; by default the library's own (``library.house_rules``),
        read at each review, so rules reloaded into the library apply at once."""
        self.library = library
        self.generator = generator
        self._house_rules = house_rules
        self._support: dict[tuple[str, str], list[SourcePassage]] = {}
        detect_language("warm up the language detector")  # loads lingua's models now, not in the first review

    def review(self, draft: object, context: Optional[str] = None, relationship: Optional[str] = None) -> Review:
        """``relationship``: the word already decided for the people the draft addresses (the
        advisor's verdict), instead of inferring it from ``context`` and the draft."""
        started = time.perf_counter()
        text = validate_draft(draft)
        hits, languages = self.find_hits(text)
        ctx = self.infer_context(text, context, languages, relationship)
        house = self.house_findings(text)
        built_in = [f for f in self.apply_rules(text, hits, ctx) if f and not self.house_rules_flag(f.suggestion)]
        findings = without_overlaps(house + built_in)
        findings.sort(key=lambda f: f.start)
        return Review(
            findings=findings,
            context=ctx,
            revised_text=apply_all(text, findings),
            languages=languages,
            stats={
                "characters": len(text),
                "terms_found": len(hits),
                "findings": len(findings),
                "warnings": sum(f.severity == "warning" for f in findings),
                "house_findings": sum(f.rule.startswith("House.") for f in findings),
                "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )

    @property
    def house_rules(self) -> HouseRules:
        if self._house_rules is not None:
            return self._house_rules
        return getattr(self.library, "house_rules", None) or NO_RULES

    # --- steps ------------------------------------------------------------------

    def find_hits(self, text: str) -> tuple[list[TermHit], list[str]]:
        """Audience words paragraph by paragraph, each in its detected language."""
        hits: list[TermHit] = []
        seen: Counter = Counter()
        for start, paragraph in paragraphs(text):
            lang = detect_language(paragraph) or "en"
            lang = lang if lang in languages() else "en"
            seen[lang] += len(paragraph)
            for hit in find_terms(paragraph, (lang,)):
                hits.append(TermHit(hit.start + start, hit.end + start, hit.text, hit.lang, hit.term, hit.slot, hit.ambiguous))
        return hits, [lang for lang, _ in seen.most_common()]

    def infer_context(self, text: str, stated: Optional[str], languages: list[str], decided_term: Optional[str] = None) -> ReviewContext:
        if decided_term in RATIONALES:  # the advisor's verdict, already shown to the reader
            decided = Recommendation(decided_term, 1.0, RATIONALES[decided_term])
            source = "stated"
        elif stated and stated.strip():
            decided = recommend(stated, text)  # the stated context counts fully, the draft half
            source = "stated"
        else:
            decided = recommend(text)
            source = "inferred"
        if decided.term is None:
            return ReviewContext(None, "unclear", decided.rationale, decided.signals)
        citations = self.support(decided.term, languages[0] if languages else "en")
        return ReviewContext(decided.term, source, decided.rationale, decided.signals, citations)

    def apply_rules(self, text: str, hits: list[TermHit], ctx: ReviewContext):
        want = ctx.relationship
        others = alternatives()
        majority = majority_term(hits)
        for hit in hits:
            if distinguishes(hit.lang) and hit.term in ("client", "customer"):
                if want in ("client", "customer") and hit.term != want:
                    yield self.finding(text, hit, want, "copyadvisor.WrongTerm", "warning",
                                       "review_wrong_term", read_as=hit.term, why=RATIONALES[want])
                elif want is None and majority and hit.term != majority:
                    yield self.finding(text, hit, majority, "copyadvisor.Inconsistent", "warning",
                                       "review_inconsistent", majority=majority)
                elif want in others:
                    yield self.alternative(text, hit, want)
            elif hit.term in ("client", "customer") and want in others:
                yield self.alternative(text, hit, want)

    def house_findings(self, text: str) -> list[Finding]:
        """The house rules' findings, strictest first (then those with a fix), for :func:`without_overlaps`."""
        found = [house_finding(text, rule, hit) for rule, hit in self.house_rules.check(text)]
        found.sort(key=lambda f: (-SEVERITY_ORDER[f.severity], f.suggestion is None, f.start))
        return found

    def house_rules_flag(self, suggestion: Optional[str]) -> bool:
        """Whether a house rule flags ``suggestion`` (a built-in rule must not offer a word the house bans)."""
        return bool(suggestion) and bool(self.house_rules) and bool(self.house_rules.check(suggestion))

    def alternative(self, text: str, hit: TermHit, want: str) -> Optional[Finding]:
        return self.finding(text, hit, want, "copyadvisor.BetterAlternative", "suggestion",
                            "review_alternative", why=RATIONALES[want])

    def finding(self, text: str, hit: TermHit, term: str, rule: str, severity: str, key: str, **values) -> Optional[Finding]:
        """``key``: the finding's message in data/messages.toml, given ``values`` and {word}, {suggestion}."""
        suggestion = replacement(hit, term)
        if suggestion is None:
            return None
        start, end, original = hit.start, hit.end, hit.text
        if hit.lang == "fr" and suggestion[:1].lower() in "aeiouyéèêh":
            article = FR_ELISION.search(text[max(0, start - 8) : start])
            if article:  # "le client" -> "l'abonné", "du client" -> "de l'abonné"
                start -= len(text[max(0, start - 8) : start]) - article.start()
                elided = {"le": "l'", "la": "l'", "du": "de l'", "au": "à l'"}[article.group(1).lower()]
                suggestion = match_article_case(elided, article.group(1)) + suggestion
                original = text[start:end]
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        return Finding(
            start=start, end=end, line=line, column=column, text=original, rule=rule, severity=severity,
            message=message(key, MESSAGE_LANGUAGE, word=hit.text, suggestion=suggestion, **values), suggestion=suggestion, replacements=[suggestion],
            citations=self.support(term, hit.lang),
        )

    def support(self, term: str, lang: str) -> list[SourcePassage]:
        """The library passage that best justifies ``term`` (in ``lang`` when a translation exists)."""
        key = (term, lang)
        if key not in self._support:
            hits = self.library.search(TERM_QUERIES[term], k=SUPPORT_SEARCH_K, collapse_translations=False).hits
            found = best_support(hits, term)
            best = [in_language(self.library, found, lang).passage] if found else []
            self._support[key] = [SourcePassage(p.id, p.doc_id, p.lang, quote_of(p.text)) for p in best]
        return self._support[key]


    def explain(self, finding: Finding, language: str, relationship: Optional[str], max_new_tokens: int = 70):
        """Stream a model-written explanation of ``finding`` (requires a generator).

        ``relationship`` is the review's context term (``review.context.relationship``)."""
        from ..language import language_name

        if self.generator is None:
            raise ReviewError("explanations need a language model")
        passage = finding.citations[0].quote if finding.citations else "(none)"
        if finding.rule.startswith("House."):
            prompt = prompts()["review"]["house_explain"].format(language=language_name(language), passage=passage, word=finding.text,
                                                 message=finding.message)
        else:
            why = RATIONALES[relationship] if relationship else finding.rule.rsplit(".", 1)[-1]
            prompt = prompts()["review"]["explain"].format(language=language_name(language), passage=passage, word=finding.text,
                                           suggestion=finding.suggestion, why=why)
        messages = [{"role": "user", "content": prompt}]
        yield from self.generator.stream(messages, max_new_tokens=max_new_tokens, stop=SentenceGuard(""))

    def review_with_explanations(self, draft: object, context: Optional[str] = None) -> Review:
        """``review`` plus a model-written explanation on each finding."""
        result = self.review(draft, context)
        language = result.languages[0] if result.languages else "en"
        for finding in result.findings:
            finding.explanation = "".join(self.explain(finding, language, result.context.relationship)).strip()
        return result


def paragraphs(text: str):
    """(offset, paragraph) for each non-empty line block."""
    for match in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text):
        if match.group(0).strip():
            yield match.start(), match.group(0)


def house_finding(text: str, rule: HouseRule, hit: RuleMatch) -> Finding:
    """A house rule's match as a :class:`Finding`, cited with the passage the rule rests on."""
    j = rule.justification
    line = text.count("\n", 0, hit.start) + 1
    column = hit.start - (text.rfind("\n", 0, hit.start) + 1) + 1
    return Finding(
        start=hit.start, end=hit.end, line=line, column=column, text=hit.text, rule=rule.id, severity=rule.level,
        message=hit.message, suggestion=hit.suggestion, replacements=list(hit.replacements),
        citations=[SourcePassage(j.passage_id, j.doc_id, j.lang, j.quote)] if j else [],
    )


def without_overlaps(findings: list[Finding]) -> list[Finding]:
    """The findings in the order given, less any that overlaps one kept before it
    (so the house rules, given first, win over the built-in rules on the same words)."""
    kept: list[Finding] = []
    for finding in findings:
        if not any(finding.start < k.end and k.start < finding.end for k in kept):
            kept.append(finding)
    return kept


def majority_term(hits: list[TermHit]) -> Optional[str]:
    """client or customer: the one the draft uses more (first used on a tie); None if it uses one only."""
    counts = Counter(h.term for h in hits if h.term in ("client", "customer") and distinguishes(h.lang))
    if len(counts) < 2:
        return None
    first = next(h.term for h in hits if h.term in counts)
    return max(counts, key=lambda t: (counts[t], t == first))


def apply_all(text: str, findings: list[Finding]) -> str:
    """The draft with every finding's suggestion applied; nothing outside the spans changes."""
    revised = text
    for finding in sorted(findings, key=lambda f: f.start, reverse=True):
        if finding.suggestion is not None:
            revised = revised[: finding.start] + finding.suggestion + revised[finding.end :]
    return revised


def match_article_case(elided: str, article: str) -> str:
    return elided[:1].upper() + elided[1:] if article[:1].isupper() else elided


def quote_of(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


class SentenceGuard:
    """Stop condition for short generations (the reviewer's explanations): enough sentences, or a loop."""

    def __init__(self, prefix: str, max_sentences: int = 3):
        self.prefix = prefix
        self.max_sentences = max_sentences
        self.halted = False

    def halt(self) -> None:
        self.halted = True

    def __call__(self, generated: str) -> bool:
        done = [s.strip() for s in SENTENCE_SPLIT.split(self.prefix + generated) if s.strip()][:-1]
        return self.halted or len(done) > self.max_sentences or len(set(done)) < len(done)
