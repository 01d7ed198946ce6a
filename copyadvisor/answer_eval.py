"""Answer evaluation over ``eval/answers.jsonl``.

Each line: ``{"id", "lang", "question", "expected_term" (or null for "it depends"),
"decline" (true for off-topic questions), "history": [{"role", "content"}]}``.

Metrics per language and overall: recommendation accuracy (on-topic questions answered
with the expected term), off-topic decline rate, false declines, citation validity
(citations that point to a given passage, of all the model wrote), grounded share, and
answer-language accuracy (lingua on the answer text, citations removed), and the time to
the model's first token (median and maximum, in seconds) for the answered questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import reporting
from .advisor import Advisor, Turn
from .config import PROJECT_ROOT
from .language import detect_language
from .reporting import per_language
from .types import Answer

DEFAULT_SCENARIOS = PROJECT_ROOT / "eval" / "answers.jsonl"


@dataclass
class Scenario:
    id: str
    lang: str
    question: str
    expected_term: str | None
    decline: bool
    history: list[Turn]


@dataclass
class Result:
    scenario: Scenario
    answer: Answer
    answer_language: str | None


def load_scenarios(path: Path = DEFAULT_SCENARIOS) -> list[Scenario]:
    def scenario(row: dict) -> Scenario:
        history = [Turn(t["role"], t["content"]) for t in row.get("history", [])]
        return Scenario(row["id"], row["lang"], row["question"], row.get("expected_term"), bool(row.get("decline")), history)

    return reporting.read_jsonl(path, scenario)


def answer_language(answer: Answer) -> str | None:
    """The language the answer is written in (verdict terms and citations removed)."""
    text = re.sub(r"\[[\d,\s]+\]", " ", answer.text)
    text = re.sub(r"[\"“”«»„「」'‘’]\w+[\"“”«»„「」'‘’]", " ", text)
    return detect_language(text)


def run(advisor: Advisor, scenarios: list[Scenario], progress=None) -> list[Result]:
    results = []
    for scenario in scenarios:
        answer = advisor.ask(scenario.question, scenario.history)
        results.append(Result(scenario, answer, answer_language(answer)))
        if progress:
            progress(results[-1])
    return results


def summarise(results: list[Result]) -> dict:
    return per_language(results, lambda r: r.scenario.lang, metrics)


def metrics(results: list[Result]) -> dict:
    on = [r for r in results if not r.scenario.decline]
    off = [r for r in results if r.scenario.decline]
    written = sum(len(r.answer.citations) + len(r.answer.invalid_citations) for r in results)
    valid = sum(len(r.answer.citations) for r in results)
    row = {"scenarios": len(results)}
    if on:
        row["recommendation"] = sum(not r.answer.declined and r.answer.recommendation.term == r.scenario.expected_term for r in on) / len(on)
        row["false_decline"] = sum(r.answer.declined for r in on) / len(on)
        row["grounded"] = sum(r.answer.grounded for r in on) / len(on)
    if off:
        row["decline"] = sum(r.answer.declined for r in off) / len(off)
    row["citations_valid"] = valid / written if written else 1.0
    row["language"] = sum(r.answer_language == r.scenario.lang for r in results) / len(results)
    first = sorted(r.answer.timings["first_token_ms"] / 1000 for r in on if not r.answer.declined)
    if first:
        row["ttft_p50_s"] = first[len(first) // 2]
        row["ttft_max_s"] = first[-1]
    return row


COLUMNS = ["scenarios", "recommendation", "decline", "false_decline", "citations_valid", "grounded", "language", "ttft_p50_s", "ttft_max_s"]


def format_table(summary: dict) -> str:
    return reporting.format_table(summary, COLUMNS, 15)


def failures(results: list[Result]) -> list[str]:
    lines = []
    for r in results:
        s, a = r.scenario, r.answer
        wrong_term = not s.decline and (a.declined or a.recommendation.term != s.expected_term)
        if wrong_term or s.decline != a.declined or r.answer_language != s.lang or a.invalid_citations:
            lines.append(f"{s.id}: term={a.recommendation.term} (want {s.expected_term}) declined={a.declined} "
                         f"lang={r.answer_language} (want {s.lang}) invalid={a.invalid_citations} :: {a.text[:160]!r}")
    return lines
