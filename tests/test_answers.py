"""Answering with the real bundled model: the bar from the issue, on eval/answers.jsonl."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from copyadvisor.advisor import Advisor
from copyadvisor.answer_eval import answer_language, load_scenarios, run, summarise
from copyadvisor.types import Answer
from conftest import CORPUS


@pytest.fixture(scope="module")
def advisor(library):
    from copyadvisor.generation import get_generator

    return Advisor(library, get_generator("bundled", "int8"))


def test_answer_streams_and_is_grounded_in_french(advisor):
    started, arrivals = time.perf_counter(), []
    for event in advisor.stream("Nous sommes un cabinet d'avocats avec des relations de confiance durables. Client ou client ?"):
        arrivals.append(((time.perf_counter() - started) * 1000, event))
    pieces, answer = [event for _, event in arrivals[:-1]], arrivals[-1][1]
    assert isinstance(answer, Answer) and len(pieces) >= 3  # the verdict, the model's sentences, a citation
    assert pieces[0] == "Utilisez « client »."
    assert arrivals[0][0] < answer.timings["first_token_ms"]  # the verdict went out before the model's first token
    assert "".join(pieces).strip() == answer.text
    assert answer.recommendation.term == "client" and answer.grounded
    assert answer.language == "fr" and answer_language(answer) == "fr"
    assert all(1 <= c.number <= len(answer.passages) for c in answer.citations)
    assert answer.timings["first_token_ms"] > 0


def test_eval_set_meets_the_bar(advisor):
    scenarios = load_scenarios()
    assert len([s for s in scenarios if not s.decline]) >= 30 and any(s.decline for s in scenarios)
    summary = summarise(run(advisor, scenarios))["all"]
    print(summary)
    assert summary["recommendation"] >= 0.9
    assert summary["decline"] >= 0.9
    assert summary["citations_valid"] == 1.0
    assert summary["language"] >= 0.9


def test_cli_ask_json_and_stdin(tmp_path):
    base = [sys.executable, "-m", "copyadvisor", "--corpus", str(CORPUS), "--index", str(tmp_path / "index")]
    single = subprocess.run([*base, "ask", "We sell cheap coffee, one-off purchases. Client or customer?", "--json"],
                            capture_output=True, timeout=600)
    assert single.returncode == 0, single.stderr.decode()[-2000:]
    data = json.loads(single.stdout)
    assert data["recommendation"]["term"] == "customer" and data["grounded"] and data["citations"]
    batch = subprocess.run([*base, "ask"], input="What is the capital of France?\n\nKlien atau pelanggan untuk firma hukum?\n".encode(),
                           capture_output=True, timeout=600)
    rows = [json.loads(line) for line in batch.stdout.decode().splitlines()]
    assert len(rows) == 2
    assert rows[0]["declined"] and rows[1]["language"] == "id" and rows[1]["recommendation"]["term"] == "client"
