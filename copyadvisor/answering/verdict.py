"""The verdict and the passage behind it, shared by the advisor and the reviewer.

* :func:`recommend`: which audience word a text's own signals call for (the cues of
  ``cues.py``; earlier turns count half, only when the question's own signals do not decide),
  plus, when given, how close the description is in meaning to each word's situations
  (``terms.toml``), with a confidence and the reason (``RATIONALES``: each term's meaning in ``data/terms.toml``);
* :func:`best_support`: the library passage that best supports a word, among hits for the
  word's query (``TERM_QUERIES``, ``SUPPORT_SEARCH_K`` of them), and :func:`in_language`: the
  same passage in the reader's language when the library has that translation.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

from ..knowledge import read_toml, terms
from ..retrieval.library import Library
from ..types import Hit, Passage, Recommendation
from .cues import score_terms

HISTORY_WEIGHT = 0.5
DECISIVE_MARGIN = 0.25  # the best term's cue score must lead the next by this much
MEANING_WEIGHT = 8.0  # cue units per unit of cosine with a word's situations ...
MEANING_MARGIN = 0.2  # ... and the lead the best word's cues + meaning then needs (tuned on the
# four answer sets with verdicts, answers-verdicts.jsonl included: 0.59 -> 0.89 of 117 verdicts)
SUPPORT_SEARCH_K = 20

RATIONALES = {label: term.meaning for label, term in terms().items()}
# What to search for when the top passages do not discuss the recommended term.
TERM_QUERIES = {label: term.query for label, term in terms().items()}


def recommend(question: str, earlier: str = "", closeness: Optional[dict[str, float]] = None,
              exclude: tuple[str, ...] | list[str] = (), among: tuple[str, ...] | list[str] = ()) -> Recommendation:
    """Decide the term from the question's signals; earlier turns count (half) only when the
    question's own signals do not decide ("and those who buy once?" is about them, not the turn before).
    ``closeness``: the question's cosine with each word's situations; cues rarely cover new
    wording ("people grab tacos at lunch and go"), closeness in meaning does. ``exclude``: words
    the question asks another word for ("a better word than customer?"). ``among``: the words the
    question offers ("'Customer login' or 'Client login'?"): the verdict is one of them, whatever
    other word a cue calls for (a portal's login is no reason for "user")."""
    scores, matched = score_terms(question)
    if earlier and not decisive(scores):
        old_scores, old_matched = score_terms(earlier, HISTORY_WEIGHT)
        for term, value in old_scores.items():
            scores[term] = scores.get(term, 0.0) + value
            matched.setdefault(term, []).extend(old_matched[term])
    margin = DECISIVE_MARGIN
    if closeness:
        scores, margin = with_meaning(scores, closeness), MEANING_MARGIN
    scores = {term: value for term, value in scores.items() if term not in exclude and (not among or term in among)}
    if not scores:
        return no_recommendation(matched)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best, best_score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if best_score - runner_up < margin:
        reasons = verdict_reasons()
        return Recommendation(None, 0.4, reasons["mixed"].format(terms=", ".join(t for t, _ in ranked[:2]), none=reasons["none"]), matched)
    confidence = round(min(0.95, 0.55 + 0.15 * (best_score - runner_up)), 2)
    phrases = ", ".join(f"'{p}'" for p in matched.get(best, [])[:3])
    why = f"signals: {phrases}" if phrases else "closest in meaning"
    return Recommendation(best, confidence, f"{RATIONALES[best]} ({why})", matched)


def with_meaning(scores: dict[str, float], closeness: dict[str, float]) -> dict[str, float]:
    """Each word's cue score plus MEANING_WEIGHT times its closeness in meaning."""
    return {term: scores.get(term, 0.0) + MEANING_WEIGHT * closeness.get(term, 0.0)
            for term in dict.fromkeys([*scores, *closeness])}


@lru_cache(maxsize=1)
def verdict_reasons() -> dict[str, str]:
    """terms.toml's [rationale]: the reason given when no single word is decided (read once)."""
    return read_toml("terms.toml")["rationale"]


def decisive(scores: dict[str, float]) -> bool:
    ranked = sorted(scores.values(), reverse=True) + [0.0, 0.0]
    return ranked[0] > 0 and ranked[0] - ranked[1] >= DECISIVE_MARGIN


def no_recommendation(signals: Optional[dict] = None) -> Recommendation:
    return Recommendation(
        None, 0.0,
        verdict_reasons()["none"],
        signals or {},
    )


def in_language(library: Library, hit: Hit, language: str) -> Hit:
    """``hit``, or the same passage in ``language`` when one of its translations is in it."""
    if hit.passage.lang == language:
        return hit
    for parallel in library.parallels(hit.passage.id):
        if parallel.lang == language:
            return Hit(parallel, hit.score, hit.dense_score, hit.lexical_score, hit.rank)
    return hit


def supports(passage: Passage, term: str) -> bool:
    if term in ("client", "customer"):
        return term in passage.concepts
    return term in passage.terms


SOURCE_RELIABILITY = {"lexical": 3, "parallel": 3, "context": 1, "unresolved": 0, "none": 0}


def support_rank(hit: Hit, term: str) -> tuple:
    """Sort key, best first. Client/customer: strength, then how the sense was known (words or
    translations beat context cues). Other terms: strength, then how literally the passage names them."""
    if term in ("client", "customer"):
        tie_break = -SOURCE_RELIABILITY.get(hit.passage.sense_source, 0)
    else:
        tie_break = -hit.lexical_score
    return (-support_strength(hit.passage, term), tie_break, hit.rank)


def support_strength(passage: Passage, term: str) -> int:
    """2: about exactly this term; 1: discusses it among others; 0: not at all."""
    if not supports(passage, term):
        return 0
    return 2 if passage.sense == term or (term not in ("client", "customer") and passage.sense == "other") else 1


def best_support(hits: list[Hit], term: str) -> Optional[Hit]:
    """The hit that best supports ``term`` (None if none does)."""
    ranked = sorted(hits, key=lambda h: support_rank(h, term))
    return ranked[0] if ranked and support_strength(ranked[0].passage, term) > 0 else None
