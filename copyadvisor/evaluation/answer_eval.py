"""Answer evaluation: the text people read, checked question by question.

Sets are JSON Lines under ``eval/`` (``answers-dev.jsonl``, the development half, and
``answers-holdout.jsonl``, the held-out half, committed before its first run). Each line::

    {"id", "lang", "intent", "question", "history": [{"role", "content"}],
     "facts": [{"name", "any": [regex, ...]}], "must_not": [regex, ...],
     "expect_term": "client" | ... | "depends" | null, "decline": bool, "cite_doc": doc id (optional)}

``answers-house.jsonl`` asks about a house style guide that is not shipped: it is run on a
scratch library, the shipped corpus plus ``eval/house/`` (``--with-documents eval/house``).

Every answer goes through :mod:`answer_checks`; the summary gives pass rates per intent
and per language, and the report (Markdown) shows every question with its answer, the
checks it failed and the passages it was shown, for people to read before they believe
a figure.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from . import reporting
from ..answering.advisor import Advisor, Turn, embedding_similarity, instruction_texts
from ..answering.answer_checks import Check, Expectation, check_answer
from ..config import PROJECT_ROOT
from ..types import Answer

DEV_SET = PROJECT_ROOT / "eval" / "answers-dev.jsonl"
HOLDOUT_SET = PROJECT_ROOT / "eval" / "answers-holdout.jsonl"
HOUSE_SET = PROJECT_ROOT / "eval" / "answers-house.jsonl"
HOUSE_HOLDOUT_SET = PROJECT_ROOT / "eval" / "answers-house-holdout.jsonl"
HOUSE_DOCUMENTS = PROJECT_ROOT / "eval" / "house"  # a house style guide and its rules, added to a scratch library
DEFAULT_SETS = [DEV_SET]
INTENTS = ("difference", "origin", "why", "examples", "alternative", "rewrite", "verdict", "followup", "out_of_scope", "house_style")
# The cosine (the library's embedder) above which a sentence counts as saying what a passage says, when
# they share too few words (another language): see advisor.SUPPORT_SIMILARITY for the calibration.
CITATION_SIMILARITY = 0.55


@dataclass
class Item:
    id: str
    expected: Expectation
    history: list[Turn] = field(default_factory=list)


@dataclass
class Result:
    item: Item
    answer: Answer
    checks: list[Check]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


def load_items(path: Path) -> list[Item]:
    def item(row: dict) -> Item:
        if row["intent"] not in INTENTS:
            raise ValueError(f"unknown intent {row['intent']!r}")
        history = [Turn(t["role"], t["content"]) for t in row.get("history", [])]
        expected = Expectation(
            lang=row["lang"], intent=row["intent"], question=row["question"],
            facts=[(f["name"], [re.compile(p, re.IGNORECASE) for p in f["any"]]) for f in row.get("facts", [])],
            must_not=[re.compile(p, re.IGNORECASE) for p in row.get("must_not", [])],
            expect_term=row.get("expect_term"), decline=bool(row.get("decline")),
            history_text=" ".join(t.content for t in history), cite_doc=row.get("cite_doc"),
        )
        return Item(row["id"], expected, history)

    return reporting.read_jsonl(path, item)


def run(advisor: Advisor, items: list[Item], progress=None) -> list[Result]:
    instructions = instruction_texts()
    similarity = embedding_similarity(advisor.library.embedder)  # the same measure the advisor's guard uses
    results = []
    for item in items:
        started = time.perf_counter()
        answer = advisor.ask(item.expected.question, item.history)
        seconds = time.perf_counter() - started
        checks = check_answer(answer, item.expected, instructions, similarity, CITATION_SIMILARITY)
        results.append(Result(item, answer, checks, seconds))
        if progress:
            progress(results[-1])
    return results


def with_documents(config, folder: Path):
    """``config`` pointed at a scratch library: its corpus plus the documents (and ``styles/``)
    in ``folder``, copied to a cache folder named by their contents and indexed there, so the
    shipped corpus and index are never touched and a second run reuses the index."""
    import hashlib
    import shutil
    from dataclasses import replace

    from ..backends.model_cache import cache_dir

    sources = [Path(config.corpus), Path(folder)]
    digest = hashlib.sha256()
    for source in sources:
        for path in sorted(p for p in source.rglob("*") if p.is_file() and ".trash" not in p.parts):
            digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    scratch = cache_dir() / "scratch-libraries" / digest.hexdigest()[:16]
    corpus = scratch / "corpus"
    if not corpus.is_dir():
        staging = scratch / "corpus.partial"
        shutil.rmtree(staging, ignore_errors=True)
        for source in sources:
            shutil.copytree(source, staging, dirs_exist_ok=True)
        staging.rename(corpus)
    return replace(config, corpus=corpus, index=scratch / "index")


# --- figures ---------------------------------------------------------------------------


def rates(results: list[Result]) -> dict:
    row = {"questions": len(results), "pass": sum(r.passed for r in results) / len(results)}
    for name in ("facts", "echo", "numbers", "language", "verdict", "foreign_words", "citations", "decline", "cited_doc"):
        judged = [c for r in results for c in r.checks if c.name == name]
        if judged:
            row[name] = sum(c.passed for c in judged) / len(judged)
    return row


def summarise(results: list[Result]) -> dict:
    """Pass rates per language and per intent, and the bar's counts."""
    verdicts = [r for r in results if r.item.expected.expect_term]
    verdict_ok = [r for r in verdicts if all(c.passed for c in r.checks if c.name in ("verdict", "decline"))]
    return {
        "by_language": reporting.per_language(results, lambda r: r.item.expected.lang, rates),
        "by_intent": reporting.per_language(results, lambda r: r.item.expected.intent, rates),
        "echoes": sum(not c.passed for r in results for c in r.checks if c.name == "echo"),
        "unsupported_numbers": sum(not c.passed for r in results for c in r.checks if c.name == "numbers"),
        "verdict_accuracy": len(verdict_ok) / len(verdicts) if verdicts else None,
        "pass_rate": sum(r.passed for r in results) / len(results) if results else 0.0,
        "seconds_p50": sorted(r.seconds for r in results)[len(results) // 2] if results else 0.0,
    }


COLUMNS = ["questions", "pass", "facts", "echo", "numbers", "language", "verdict", "foreign_words", "citations", "decline", "cited_doc"]


def format_summary(summary: dict) -> str:
    lines = ["by language", reporting.format_table(summary["by_language"], COLUMNS, 9), "",
             "by intent", reporting.format_table(summary["by_intent"], COLUMNS, 9).replace("lang  ", "intent", 1), ""]
    accuracy = summary["verdict_accuracy"]
    lines.append(f"all checks passed: {summary['pass_rate']:.3f}   prompt echoes: {summary['echoes']}   "
                 f"unsupported numbers: {summary['unsupported_numbers']}   verdict accuracy: "
                 f"{'-' if accuracy is None else f'{accuracy:.3f}'}   answer time p50: {summary['seconds_p50']:.1f} s")
    return "\n".join(lines)


def failures(results: list[Result]) -> list[str]:
    return [f"{r.item.id}: " + "; ".join(f"{c.name}: {c.detail}" for c in r.failed()) + f" :: {r.answer.text[:140]!r}"
            for r in results if not r.passed]


# --- the readable report ---------------------------------------------------------------


def write_report(results: list[Result], summary: dict, path: Path, title: str, generator: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [f"# {title}", "", f"Generator: `{generator}`. {len(results)} questions; "
           f"{sum(r.passed for r in results)} passed every check.", "", "```", format_summary(summary), "```", ""]
    for r in results:
        e = r.item.expected
        mark = "PASS" if r.passed else "FAIL: " + "; ".join(f"{c.name} ({c.detail})" if c.detail else c.name for c in r.failed())
        out += [f"## {r.item.id} · {e.intent} · {e.lang} · {mark}", ""]
        for turn in r.item.history:
            out.append(f"> *{turn.role}:* {one_line(turn.content)}")
        out += [f"> **Q:** {one_line(e.question)}", "", f"**A** ({r.seconds:.1f} s, verdict: "
                f"{r.answer.recommendation.term or '-'}):", "", one_line(r.answer.text), ""]
        for p in r.answer.passages:
            origin = f", machine-translated from {p.get('original_lang')}" if p.get("machine_translated") else ""
            out.append(f"- [{p['number']}] `{p['passage_id']}` ({p.get('lang')}{origin}): {one_line(p.get('text', ''))[:400]}")
        out.append("")
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def one_line(text: str) -> str:
    return " ".join(text.split()).replace("<", "&lt;")


def report_path(set_path: Path, folder: Optional[Path] = None) -> Path:
    return (folder or PROJECT_ROOT / "eval" / "reports") / f"{set_path.stem}.md"
