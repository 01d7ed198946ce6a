"""Retrieval evaluation over a question set kept in the repo (``eval/retrieval.jsonl``).

Each line: ``{"id", "lang", "query", "relevant": [{"doc", "quote"}], "parallels": true}``.
A relevant passage is named by a short quote from it, so the set survives changes to how
passages are cut; with ``parallels`` (the default) the passages that translate it count
too. A question with no relevant passages is off-topic: the library must say it is not
covered (relevance below threshold) rather than rank something.

Metrics, per language and overall: recall@1 and recall@5 (share of questions with a
relevant passage in the top 1 / 5), MRR (mean of 1/rank of the first relevant passage)
with its 95% bootstrap interval (with a handful of questions per language, the interval
says how much one figure can be trusted), and the accuracy of the relevance signal on
on-topic and off-topic questions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..config import PROJECT_ROOT
from . import reporting
from ..retrieval.library import Library
from .reporting import per_language
from ..types import Passage

DEFAULT_QUESTIONS = PROJECT_ROOT / "eval" / "retrieval.jsonl"
# The question sets `copyadvisor eval retrieval` runs by default, in the order they were written:
# retrieval.jsonl tuned the passage sizes and the fusion; retrieval-holdout.jsonl was written as a
# held-out set, then used (with the first) to fit the ranking weights; retrieval-check.jsonl was
# written after that and has never been used to fit or tune anything, though its failures were
# read while looking for new signals; retrieval-fresh.jsonl was written after all of that and
# committed before it was first run.
# retrieval-heldout2.jsonl (57 + 4 questions, at least six per language in en fr pl ja id ar de es) was
# written for the issue that set the bar in every language, and committed before its first run;
# the choice of EmbeddingGemma's translation averaging was then made seeing all five sets.
CHECK_QUESTIONS = PROJECT_ROOT / "eval" / "retrieval-check.jsonl"
FRESH_QUESTIONS = PROJECT_ROOT / "eval" / "retrieval-fresh.jsonl"
HELDOUT2_QUESTIONS = PROJECT_ROOT / "eval" / "retrieval-heldout2.jsonl"
QUESTION_SETS = [DEFAULT_QUESTIONS, PROJECT_ROOT / "eval" / "retrieval-holdout.jsonl", CHECK_QUESTIONS, FRESH_QUESTIONS,
                 HELDOUT2_QUESTIONS]
K = 5


class EvalSetError(ValueError):
    """The question file is malformed; the message names the line."""


@dataclass
class Question:
    id: str
    lang: str
    query: str
    relevant_ids: set[str]

    @property
    def off_topic(self) -> bool:
        return not self.relevant_ids


@dataclass
class Outcome:
    question: Question
    rank: int | None  # 1-based rank of the first relevant passage, None if not in top K
    relevant_flag: bool  # what the relevance signal said
    top_ids: list[str] = field(default_factory=list)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def load_questions(path: Path, passages: list[Passage]) -> list[Question]:
    by_doc: dict[str, list[Passage]] = defaultdict(list)
    for passage in passages:
        by_doc[passage.doc_id].append(passage)

    def question(row: dict) -> Question:
        return Question(row["id"], row["lang"], row["query"], resolve_relevant(row, by_doc))

    return reporting.read_jsonl(path, question, comments=True, error=EvalSetError)


def resolve_relevant(row: dict, by_doc: dict[str, list[Passage]]) -> set[str]:
    ids: set[str] = set()
    for ref in row.get("relevant", []):
        if ref["doc"] not in by_doc:
            raise ValueError(f"unknown document {ref['doc']!r}")
        quote = squash(ref["quote"])
        found = [p for p in by_doc[ref["doc"]] if quote in squash(p.heading + " " + p.text)]
        if not found:
            raise ValueError(f"quote {ref['quote']!r} is in no passage of {ref['doc']}")
        for passage in found:
            ids.add(passage.id)
            if row.get("parallels", True):
                ids.update(passage.parallel_ids)
    return ids


def evaluate(library: Library, questions: list[Question], k: int = K) -> list[Outcome]:
    outcomes = []
    for question in questions:
        result = library.search(question.query, k=k)
        top = [hit.passage.id for hit in result.hits]
        rank = next((i + 1 for i, pid in enumerate(top) if pid in question.relevant_ids), None)
        outcomes.append(Outcome(question, rank, result.relevant, top))
    return outcomes


def summarise(outcomes: list[Outcome]) -> dict:
    """Metrics per language plus an "all" row."""
    return per_language(outcomes, lambda o: o.question.lang, metrics)


def metrics(outcomes: list[Outcome]) -> dict:
    on = [o for o in outcomes if not o.question.off_topic]
    off = [o for o in outcomes if o.question.off_topic]
    row = {"questions": len(on), "off_topic": len(off)}
    if on:
        row["recall@1"] = sum(o.rank == 1 for o in on) / len(on)
        row["recall@5"] = sum(o.rank is not None and o.rank <= 5 for o in on) / len(on)
        reciprocal_ranks = [1 / o.rank if o.rank else 0.0 for o in on]
        row["mrr"] = sum(reciprocal_ranks) / len(on)
        row["mrr_ci95"] = reporting.mean_interval(reciprocal_ranks)
        row["covered_flag"] = sum(o.relevant_flag for o in on) / len(on)
    if off:
        row["declined_flag"] = sum(not o.relevant_flag for o in off) / len(off)
    return row


COLUMNS = ["questions", "recall@1", "recall@5", "mrr", "mrr_ci95", "covered_flag", "off_topic", "declined_flag"]


def format_table(summary: dict) -> str:
    return reporting.format_table(summary, COLUMNS, 13)


def failures(outcomes: list[Outcome]) -> list[str]:
    lines = []
    for o in outcomes:
        q = o.question
        if q.off_topic and o.relevant_flag:
            lines.append(f"{q.id}: off-topic but flagged as covered: {q.query!r}")
        elif not q.off_topic and (o.rank is None or o.rank > 1 or not o.relevant_flag):
            lines.append(f"{q.id}: rank={o.rank} covered={o.relevant_flag} {q.query!r} top={o.top_ids[:3]}")
    return lines
