"""Review evaluation over ``eval/review.jsonl``.

Each line: ``{"id", "lang", "draft", "context" (optional), "expected": [{"text", "occurrence"
(1-based, default 1), "suggestion" (optional)}]}``; clean drafts have ``"expected": []``.
A finding counts as correct when its span is exactly an expected span. Printed per
language: span precision and recall, suggestion accuracy on the matched spans, warnings
on clean drafts, and the slowest review.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import reporting
from ..config import PROJECT_ROOT
from .reporting import per_language
from ..review.reviewer import Review, Reviewer

DEFAULT_DRAFTS = PROJECT_ROOT / "eval" / "review.jsonl"
COLUMNS = ["drafts", "precision", "recall", "suggestions", "clean_warnings", "max_ms"]


@dataclass
class Draft:
    id: str
    lang: str
    text: str
    context: str | None
    expected: dict[tuple[int, int], str | None]  # span -> expected suggestion


@dataclass
class Result:
    draft: Draft
    review: Review


def locate(text: str, fragment: str, occurrence: int) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence):
        start = text.find(fragment, start + 1)
        if start == -1:
            raise ValueError(f"{fragment!r} (occurrence {occurrence}) is not in the draft")
    return start, start + len(fragment)


def load_drafts(path: Path = DEFAULT_DRAFTS) -> list[Draft]:
    def draft(row: dict) -> Draft:
        expected = {locate(row["draft"], e["text"], e.get("occurrence", 1)): e.get("suggestion") for e in row["expected"]}
        return Draft(row["id"], row["lang"], row["draft"], row.get("context"), expected)

    return reporting.read_jsonl(path, draft)


def run(reviewer: Reviewer, drafts: list[Draft]) -> list[Result]:
    return [Result(d, reviewer.review(d.text, context=d.context)) for d in drafts]


def summarise(results: list[Result]) -> dict:
    return per_language(results, lambda r: r.draft.lang, metrics)


def metrics(results: list[Result]) -> dict:
    flagged = [(r, (f.start, f.end), f.suggestion) for r in results for f in r.review.findings]
    expected = sum(len(r.draft.expected) for r in results)
    correct = [(r, span, s) for r, span, s in flagged if span in r.draft.expected]
    with_suggestion = [(r, span, s) for r, span, s in correct if r.draft.expected[span] is not None]
    clean = [r for r in results if not r.draft.expected]
    return {
        "drafts": len(results),
        "precision": len(correct) / len(flagged) if flagged else 1.0,
        "recall": len(correct) / expected if expected else 1.0,
        "suggestions": sum(s == r.draft.expected[span] for r, span, s in with_suggestion) / len(with_suggestion) if with_suggestion else 1.0,
        "clean_warnings": sum(r.review.stats["warnings"] for r in clean),
        "max_ms": max(r.review.stats["elapsed_ms"] for r in results),
    }


def format_table(summary: dict) -> str:
    return reporting.format_table(summary, COLUMNS, 14)


def failures(results: list[Result]) -> list[str]:
    lines = []
    for r in results:
        got = {(f.start, f.end): f for f in r.review.findings}
        for span in set(got) - set(r.draft.expected):
            lines.append(f"{r.draft.id}: unexpected {got[span].rule} on {got[span].text!r} at {span}")
        for span in set(r.draft.expected) - set(got):
            lines.append(f"{r.draft.id}: missed {r.draft.text[span[0]:span[1]]!r} at {span}")
        for span in set(got) & set(r.draft.expected):
            want = r.draft.expected[span]
            if want is not None and got[span].suggestion != want:
                lines.append(f"{r.draft.id}: suggestion {got[span].suggestion!r}, expected {want!r}")
    return lines
