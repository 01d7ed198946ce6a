"""Answering with the real bundled model, checked on the text people read (eval/answers-dev.jsonl)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from copyadvisor.answering.advisor import Advisor
from copyadvisor.answering.answer_checks import check_language, Expectation
from copyadvisor.evaluation.answer_eval import DEV_SET, load_items, run, summarise
from copyadvisor.types import Answer
from conftest import CORPUS


@pytest.fixture(scope="module")
def advisor(library):
    from copyadvisor.backends.generation import get_generator

    return Advisor(library, get_generator("bundled", "int8"))


def test_answer_streams_a_verdict_then_grounded_sentences_in_french(advisor):
    started, arrivals = time.perf_counter(), []
    for event in advisor.stream("Nous sommes un cabinet d'avocats avec des relations de confiance durables. Client ou client ?"):
        arrivals.append(((time.perf_counter() - started) * 1000, event))
    pieces, answer = [event for _, event in arrivals[:-1]], arrivals[-1][1]
    assert isinstance(answer, Answer) and len(pieces) >= 2  # the verdict, then the model's sentences (or a quote)
    assert pieces[0] == "Utilisez « client »."
    assert "".join(pieces).strip() == answer.text
    assert answer.recommendation.term == "client" and answer.grounded and answer.intent == "verdict"
    assert check_language(answer, Expectation("fr", "verdict", answer.question)).passed
    assert all(1 <= c.number <= len(answer.passages) for c in answer.citations)
    assert answer.timings["first_token_ms"] > 0


@pytest.mark.parametrize("answers", ["model", "quotes"])
def test_answer_text_on_the_dev_set_has_no_echo_no_invented_number_and_declines_off_topic(advisor, answers):
    """The bar's hard items on the text itself (the pass rate is reported by `copyadvisor eval answers`),
    with the bundled model writing (its guard at work) and with the library's quotes (the default)."""
    items = load_items(DEV_SET)
    assert len(items) >= 50 and len({i.expected.lang for i in items}) >= 8
    results = run(Advisor(advisor.library, advisor.generator, answers=answers), items)
    summary = summarise(results)
    print(summary["by_intent"]["all"])
    assert summary["echoes"] == 0
    assert summary["unsupported_numbers"] == 0
    assert all(r.answer.text.strip(" []0123456789") for r in results)  # never an empty answer
    off_topic = [r for r in results if r.item.expected.decline]
    assert sum(r.answer.declined for r in off_topic) >= len(off_topic) - 1
    assert not any(r.answer.declined for r in results if not r.item.expected.decline)


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


def test_questions_about_an_added_house_style_guide_are_answered_from_it_and_cited():
    """eval/house (a style guide and its Vale rules, not shipped) added to a scratch copy of the
    library: its questions are answered, not declined, and cite the guide; off-topic is declined."""
    from copyadvisor.evaluation.answer_eval import HOUSE_DOCUMENTS, HOUSE_SET, with_documents
    from copyadvisor.config import load_config
    from copyadvisor.backends.generation import get_generator
    from copyadvisor.retrieval.library import open_library

    library = open_library(with_documents(load_config({"corpus": str(CORPUS)}), HOUSE_DOCUMENTS))
    results = run(Advisor(library, get_generator("bundled", "int8")), load_items(HOUSE_SET))
    house = [r for r in results if not r.item.expected.decline]
    assert house and not [r.item.id for r in house if r.answer.declined]
    uncited = [r.item.id for r in house if not all(c.passed for c in r.checks if c.name == "cited_doc")]
    assert len(uncited) <= 1, uncited
    assert all(r.answer.declined for r in results if r.item.expected.decline)
