"""The retrieval bar, measured on the question set in eval/ (real embedder, real index)."""

from __future__ import annotations

import json

import pytest

from copyadvisor.evaluation.retrieval_eval import (
    DEFAULT_QUESTIONS, HELDOUT2_QUESTIONS, QUESTION_SETS, EvalSetError, evaluate, load_questions, summarise,
)
from copyadvisor.evaluation.reporting import mean_interval


@pytest.fixture(scope="module")
def summary(library):
    questions = load_questions(DEFAULT_QUESTIONS, library.index.passages)
    return summarise(evaluate(library, questions))


def test_question_set_is_large_and_multilingual(library):
    questions = load_questions(DEFAULT_QUESTIONS, library.index.passages)
    on_topic = [q for q in questions if not q.off_topic]
    assert len(on_topic) >= 40
    langs = {q.lang for q in on_topic}
    assert {"en", "fr", "pl", "ja", "id", "ar"} <= langs and langs - {"en", "fr", "pl", "ja", "id", "ar"}
    assert any(q.off_topic for q in questions)


def test_recall_at_5_in_every_language(summary):
    for lang, row in summary.items():
        if "recall@5" in row:
            assert row["recall@5"] >= 0.95, (lang, row)


def test_mrr_in_every_language(summary):
    """The issue's bar, per language, with the default embedder (EmbeddingGemma)."""
    for lang, row in summary.items():
        if "mrr" in row:
            assert row["mrr"] >= 0.85, (lang, row)


def test_overall_mrr_and_relevance_signal(summary):
    overall = summary["all"]
    assert overall["mrr"] >= 0.85, overall
    assert overall["declined_flag"] == 1.0, overall
    assert overall["covered_flag"] == 1.0, overall


def test_the_other_question_sets_pooled_meet_the_bar(library):
    """The held-out, check, fresh and second held-out sets, pooled (165 on-topic questions). The
    weight of EmbeddingGemma's translation averaging was chosen seeing them (README)."""
    questions = [q for path in QUESTION_SETS if path != DEFAULT_QUESTIONS for q in load_questions(path, library.index.passages)]
    overall = summarise(evaluate(library, questions))["all"]
    assert overall["questions"] >= 160, overall
    assert overall["mrr"] >= 0.85 and overall["recall@5"] >= 0.98, overall
    assert overall["covered_flag"] == 1.0 and overall["declined_flag"] == 1.0, overall


def test_the_second_held_out_set_meets_the_bar_in_every_language(library):
    """The issue's bar on the set written for it: at least five questions in each of eight languages."""
    questions = load_questions(HELDOUT2_QUESTIONS, library.index.passages)
    summary = summarise(evaluate(library, questions))
    assert {"en", "fr", "pl", "ja", "id", "ar", "de", "es"} <= set(summary)
    for lang, row in summary.items():
        if "mrr" in row:
            assert row["questions"] >= 5 and row["recall@5"] >= 0.95 and row["mrr"] >= 0.85, (lang, row)


def test_bad_question_file_names_the_line(tmp_path, library):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "x", "lang": "en", "query": "q", "relevant": [{"doc": "pl-klient-a-klient", "quote": "not in the text"}]}) + "\n")
    with pytest.raises(EvalSetError, match=":1: quote"):
        load_questions(path, library.index.passages)


def test_mrr_interval_brackets_the_figure_and_narrows_with_more_questions():
    few = [1.0, 1.0, 0.5, 0.25]
    low, high = mean_interval(few)
    assert low < sum(few) / len(few) < high
    assert mean_interval(few) == (low, high)  # seeded: the same set, the same interval
    many_low, many_high = mean_interval(few * 10)
    assert high - low > many_high - many_low > 0
    assert mean_interval([1.0, 1.0]) == (1.0, 1.0)
    with pytest.raises(ValueError):
        mean_interval([])
