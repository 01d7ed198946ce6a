"""The on-disk index: FAISS vectors, the passage store and a manifest tying them together.

``index/`` holds ``passages.faiss``, ``passages.jsonl``, ``latent.npz`` (the sparse
latent-term vectors, when the embedder has them), ``tokens.npz`` (per-token vectors for
late interaction, when the embedder has them), ``gloss_vectors.npz`` (the vectors of the passages'
machine-translated glosses, when the embedder uses them and there are any: see ``glosses.py``)
and ``manifest.json``.
The manifest records what the index was built from (corpus fingerprint, embedder id,
dimensions, chunking version, a fingerprint of the glosses) and the SHA-256 of the data files. An index is only
served when all of that matches; otherwise it is rebuilt. A build writes new files
beside the old ones and swaps them in with ``os.replace``, manifest last, under a file
lock, so a crash or a concurrent build never leaves a mixed index behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import faiss
import numpy as np
from scipy import sparse
from tqdm import tqdm

from .corpus import CorpusSnapshot, load_corpus
from ..backends.embeddings import Embedder, latent_dim, token_dim, uses_glosses
from . import splitting, terms
from .glosses import Glosses, text_sha256
from .terms import build_passages
from ..types import Passage

log = logging.getLogger(__name__)

INDEX_FORMAT = 4  # 2: latent-term vectors beside the dense ones; 3: per-token vectors; 4: gloss vectors
VECTORS_FILE = "passages.faiss"
PASSAGES_FILE = "passages.jsonl"
LATENT_FILE = "latent.npz"
TOKENS_FILE = "tokens.npz"
GLOSS_VECTORS_FILE = "gloss_vectors.npz"
NO_GLOSSES = "none"  # the manifest's gloss fingerprint when the library has no glosses
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".lock"
BATCH_SIZE = 16


class IndexBuildError(RuntimeError):
    """The index cannot be built or written (for example a read-only folder)."""


@dataclass
class LoadedIndex:
    """A verified index, ready to search."""

    folder: Path
    manifest: dict
    passages: list[Passage]
    vectors: faiss.Index
    latent: sparse.csr_matrix | None = None  # passages x latent terms, when the embedder has them
    tokens: "TokenVectors | None" = None  # per-token vectors, when the embedder has them
    glosses: "GlossVectors | None" = None  # vectors of the passages' glosses, when there are any
    rebuilt: bool = False  # built during this load

    def passage(self, passage_id: str) -> Passage:
        return self._by_id[passage_id]

    def __post_init__(self) -> None:
        self._by_id = {p.id: p for p in self.passages}

    def status(self) -> dict:
        m = self.manifest
        return {
            "folder": str(self.folder),
            "passages": len(self.passages),
            "documents": len(m.get("documents", [])),
            "embedder": m.get("embedder"),
            "dim": m.get("dim"),
            "latent_dim": m.get("latent_dim"),
            "token_dim": m.get("token_dim"),
            "tokens": len(self.tokens.vectors) if self.tokens is not None else 0,
            "gloss_vectors": len(self.glosses.vectors) if self.glosses is not None else 0,
            "chunking": m.get("chunking"),
            "built_at": m.get("built_at"),
            "build_seconds": m.get("build_seconds"),
            "rebuilt_now": self.rebuilt,
        }


def chunking_version() -> str:
    """Changes whenever the code that cuts passages or decides their sense changes."""
    digest = hashlib.sha256()
    for module in (splitting, terms):
        digest.update(Path(module.__file__).read_bytes())
    return f"structure-{digest.hexdigest()[:12]}"


def expected_manifest(snapshot: CorpusSnapshot, embedder: Embedder, glosses: Glosses | None = None) -> dict:
    """The manifest fields an index must carry to be served for this corpus, embedder and glosses."""
    return {
        "format": INDEX_FORMAT,
        "corpus_fingerprint": snapshot.fingerprint,
        "embedder": embedder.id,
        "dim": embedder.dim,
        "chunking": chunking_version(),
        "latent_dim": latent_dim(embedder),
        "token_dim": token_dim(embedder),
        "glosses": glosses_fingerprint(glosses),
    }


def glosses_fingerprint(glosses: Glosses | None) -> str:
    """Changes whenever a gloss is added, removed or rewritten (in ``corpus/`` or ``index/``);
    :data:`NO_GLOSSES` when there are none, so a library without glosses still has an index."""
    entries = sorted((key, entry["text"]) for key, entry in (glosses.entries.items() if glosses else []))
    if not entries:
        return NO_GLOSSES
    digest = hashlib.sha256(json.dumps(entries, ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"{len(entries)}-{digest[:16]}"


# present when the manifest's size (or count) is not 0
OPTIONAL_FILES = {LATENT_FILE: "latent_dim", TOKENS_FILE: "token_dim", GLOSS_VECTORS_FILE: "gloss_vectors"}


def data_files(manifest: dict) -> tuple[str, ...]:
    return (VECTORS_FILE, PASSAGES_FILE, *(name for name, size in OPTIONAL_FILES.items() if manifest.get(size)))


def open_index(corpus_dir: Path, index_dir: Path, embedder: Embedder, force_rebuild: bool = False,
               progress: Callable | None = None) -> LoadedIndex:
    """Load the index for this corpus and embedder, rebuilding it first when needed.
    ``progress(stage, done, total)``, when given, hears "check_index", then "build_index" with
    texts embedded out of all to embed (see ``progress.py``)."""
    if progress:
        progress("check_index", 0, None)
    snapshot = load_corpus(corpus_dir, strict=False)
    index_dir = Path(index_dir)
    glosses = Glosses.open(corpus_dir, index_dir) if uses_glosses(embedder) else None  # else a gloss change rebuilds nothing
    expected = expected_manifest(snapshot, embedder, glosses)
    if not force_rebuild:
        loaded, reason = try_load(index_dir, expected)
        if loaded:
            log.info("index %s is up to date (%d passages)", index_dir, len(loaded.passages))
            return loaded
        log.info("rebuilding index in %s: %s", index_dir, reason)
    with build_lock(index_dir):
        if not force_rebuild:  # another process may have built it while we waited
            loaded, _ = try_load(index_dir, expected)
            if loaded:
                return loaded
        return build_index(snapshot, embedder, index_dir, expected, glosses, progress)


def try_load(index_dir: Path, expected: dict) -> tuple[LoadedIndex | None, str]:
    """(index, "") when the index on disk is complete, intact and matches ``expected``."""
    manifest_path = index_dir / MANIFEST_FILE
    if not manifest_path.exists():
        return None, "no index yet"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return None, f"manifest unreadable ({error})"
    for key, value in expected.items():
        if manifest.get(key) != value:
            return None, f"{key} changed ({manifest.get(key)!r} -> {value!r})"
    for name in data_files(manifest):  # the fields checked above agree; the gloss count is the manifest's
        path = index_dir / name
        if not path.exists():
            return None, f"{name} is missing"
        if file_sha256(path) != manifest.get("files", {}).get(name):
            return None, f"{name} does not match its checksum (corrupt or partly written)"
    try:
        vectors = faiss.read_index(str(index_dir / VECTORS_FILE))
        passages = [Passage.from_dict(json.loads(line)) for line in (index_dir / PASSAGES_FILE).open(encoding="utf-8")]
        latent = read_latent(index_dir / LATENT_FILE) if expected["latent_dim"] else None
        tokens = TokenVectors.read(index_dir / TOKENS_FILE) if expected["token_dim"] else None
        glosses = GlossVectors.read(index_dir / GLOSS_VECTORS_FILE) if manifest.get("gloss_vectors") else None
    except Exception as error:  # faiss raises RuntimeError; json/TypeError for bad rows; numpy ValueError
        return None, f"index files unreadable ({error})"
    if vectors.ntotal != len(passages) or vectors.d != expected["dim"]:
        return None, "vector count or size does not match the passages"
    if latent is not None and latent.shape != (len(passages), expected["latent_dim"]):
        return None, "latent-term vectors do not match the passages"
    if tokens is not None and not tokens.fits(len(passages), expected["token_dim"]):
        return None, "per-token vectors do not match the passages"
    if glosses is not None and not glosses.fits(len(passages), expected["dim"], manifest["gloss_vectors"]):
        return None, "gloss vectors do not match the passages"
    return LoadedIndex(index_dir, manifest, passages, vectors, latent, tokens, glosses), ""


def build_index(snapshot: CorpusSnapshot, embedder: Embedder, index_dir: Path, expected: dict,
                glosses: Glosses | None = None, progress: Callable | None = None) -> LoadedIndex:
    """Split, embed (with a progress bar) and write a new index atomically."""
    started = time.perf_counter()
    passages = build_passages(snapshot.documents)
    counter = Counter(progress, "build_index", len(passages) * (1 + bool(expected["latent_dim"]))
                      + (len(gloss_texts(passages, glosses)[1]) if glosses else 0))
    if expected["token_dim"]:
        vectors, tokens = embed_passages_and_tokens(embedder, passages, counter)
    else:
        vectors, tokens = embed_passages(embedder, passages, counter), None
    index = faiss.IndexFlatIP(embedder.dim)
    index.add(vectors)
    latent = embed_latent(embedder, passages, counter) if expected["latent_dim"] else None
    gloss_vectors = embed_glosses(embedder, passages, glosses, counter) if glosses else None
    manifest = {
        **expected,
        "count": len(passages),
        "gloss_vectors": len(gloss_vectors.vectors) if gloss_vectors is not None else 0,
        "documents": [
            {"id": d.id, "path": d.path, "lang": d.lang, "title": d.title, "sha256": d.sha256,
             "translation_of": d.translation_of, "titles": d.titles}
            for d in snapshot.documents
        ],
        "skipped": snapshot.skipped,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.perf_counter() - started, 3),
    }
    write_index(index_dir, index, passages, manifest, latent, tokens, gloss_vectors)
    log.info("built index: %d passages (%d gloss vectors) from %d documents in %.1fs", len(passages),
             manifest["gloss_vectors"], len(snapshot.documents), manifest["build_seconds"])
    return LoadedIndex(index_dir, manifest, passages, index, latent, tokens, gloss_vectors, rebuilt=True)


class Counter:
    """Texts embedded so far across a build's passes, told to ``progress`` after each batch."""

    def __init__(self, progress: Callable | None, stage: str, total: int):
        self.progress, self.stage, self.total, self.done = progress, stage, total, 0
        self.add(0)

    def add(self, count: int) -> None:
        self.done += count
        if self.progress:
            self.progress(self.stage, self.done, self.total)


def embed_passages(embedder: Embedder, passages: list[Passage], counter: Counter | None = None) -> np.ndarray:
    return stack_vectors(in_batches(embedder.embed_passages, passages, "Embedding passages", counter), embedder.dim)


def stack_vectors(batches: list[np.ndarray], dim: int) -> np.ndarray:
    """The batches' rows as one contiguous float32 matrix (0 x dim for no batches)."""
    return np.ascontiguousarray(np.vstack(batches), dtype=np.float32) if batches else np.zeros((0, dim), np.float32)


def embed_latent(embedder: Embedder, passages: list[Passage], counter: Counter | None = None) -> sparse.csr_matrix:
    rows = [row for batch in in_batches(embedder.embed_latent, passages, "Latent terms", counter) for row in batch]
    return latent_matrix(rows, latent_dim(embedder))


def embed_passages_and_tokens(embedder: Embedder, passages: list[Passage],
                              counter: Counter | None = None) -> tuple[np.ndarray, "TokenVectors"]:
    """Passage vectors and per-token vectors from one encoder pass per passage."""
    batches = in_batches(embedder.embed_passages_with_tokens, passages, "Embedding passages and tokens", counter)
    vectors = stack_vectors([v for v, _ in batches], embedder.dim)
    return vectors, TokenVectors.stack([rows for _, batch in batches for rows in batch], token_dim(embedder))


def embed_glosses(embedder: Embedder, passages: list[Passage], glosses: Glosses,
                  counter: Counter | None = None) -> "GlossVectors | None":
    """One vector per gloss of a passage (any language), embedded as a passage; None when no
    passage has a gloss."""
    owners, texts = gloss_texts(passages, glosses)
    if not texts:
        return None
    vectors = stack_vectors(in_batches(embedder.embed_passages, texts, "Embedding glosses", counter), embedder.dim)
    return GlossVectors(vectors, np.asarray(owners, dtype=np.int32))


def gloss_texts(passages: list[Passage], glosses: Glosses) -> tuple[list[int], list[str]]:
    """(owning passage's position, text to embed) for every gloss of the passages' current text,
    in passage order, then language."""
    by_source: dict[str, list[tuple[str, str]]] = {}
    for (sha, lang), entry in glosses.entries.items():
        by_source.setdefault(sha, []).append((lang, entry["text"]))
    owners, texts = [], []
    for position, passage in enumerate(passages):
        for _, text in sorted(by_source.get(text_sha256(passage.text), [])):
            owners.append(position)
            texts.append(gloss_embedding_text(passage, text))
    return owners, texts


def gloss_embedding_text(passage: Passage, gloss: str) -> str:
    """What the embedder sees for a gloss: the gloss alone (the heading stays in the passage's own
    language, so it would mix two languages in one text)."""
    return gloss


def in_batches(embed, passages: list[Passage] | list[str], description: str, counter: Counter | None = None) -> list:
    """``embed`` applied to the passages' embedding texts (or to texts), BATCH_SIZE at a time, with a
    progress bar (and ``counter``, when given, told after each batch)."""
    texts = [p if isinstance(p, str) else p.embedding_text() for p in passages]
    results = []
    with tqdm(total=len(texts), desc=description, unit="passage", disable=None) as bar:
        for start in range(0, len(texts), BATCH_SIZE):
            batch = texts[start : start + BATCH_SIZE]
            results.append(embed(batch))
            bar.update(len(batch))
            if counter is not None:
                counter.add(len(batch))
    return results


def latent_matrix(rows: list[tuple[np.ndarray, np.ndarray]], dim: int) -> sparse.csr_matrix:
    """Stack sparse (ids, weights) rows into a passages x dim CSR matrix."""
    indptr = np.cumsum([0] + [len(ids) for ids, _ in rows]).astype(np.int64)
    indices = np.concatenate([ids for ids, _ in rows]).astype(np.int32) if rows else np.zeros(0, np.int32)
    values = np.concatenate([v for _, v in rows]).astype(np.float32) if rows else np.zeros(0, np.float32)
    return sparse.csr_matrix((values, indices, indptr), shape=(len(rows), dim))


@dataclass
class TokenVectors:
    """Every passage's per-token vectors, stacked: passage i owns rows starts[i]:starts[i+1]."""

    vectors: np.ndarray  # (all tokens, dim) float32, L2-normalised rows
    starts: np.ndarray  # (passages + 1,) int64 row offsets

    @classmethod
    def stack(cls, per_passage: list[np.ndarray], dim: int) -> "TokenVectors":
        # every passage keeps at least one row, so a max over its rows is always defined
        blocks = [rows if len(rows) else np.zeros((1, dim), np.float32) for rows in per_passage]
        starts = np.cumsum([0] + [len(rows) for rows in blocks]).astype(np.int64)
        vectors = np.vstack(blocks) if blocks else np.zeros((0, dim), np.float32)
        # rounded as the file stores them, so a fresh build ranks exactly as the reloaded index
        return cls(vectors.astype(np.float16).astype(np.float32), starts)

    def fits(self, passages: int, dim: int) -> bool:
        starts = self.starts
        return (self.vectors.ndim == 2 and self.vectors.shape[1] == dim and len(starts) == passages + 1
                and starts[0] == 0 and starts[-1] == len(self.vectors) and bool(np.all(np.diff(starts) > 0)))

    @classmethod
    def read(cls, path: Path) -> "TokenVectors":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["vectors"].astype(np.float32), data["starts"].astype(np.int64))

    def write(self, path: Path) -> None:
        # float16 halves the file; the scores it feeds are z-scored, so the rounding is immaterial
        with path.open("wb") as out:
            np.savez(out, vectors=self.vectors.astype(np.float16), starts=self.starts)


@dataclass
class GlossVectors:
    """The vectors of the passages' glosses: row i belongs to passage ``owners[i]`` (a passage may
    own several rows, one per gloss language, or none)."""

    vectors: np.ndarray  # (glosses, dim) float32, L2-normalised rows
    owners: np.ndarray  # (glosses,) int32 passage positions

    def fits(self, passages: int, dim: int, count: int) -> bool:
        owners = self.owners
        return (self.vectors.ndim == 2 and self.vectors.shape == (count, dim) and owners.shape == (count,)
                and bool(np.all((owners >= 0) & (owners < passages))))

    def best(self, scores: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Each passage's score raised to its best gloss's cosine with ``query`` (1, dim)."""
        out = np.array(scores, dtype=np.float32, copy=True)
        np.maximum.at(out, self.owners, (self.vectors @ np.asarray(query, dtype=np.float32).reshape(-1)).astype(np.float32))
        return out

    @classmethod
    def read(cls, path: Path) -> "GlossVectors":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["vectors"].astype(np.float32), data["owners"].astype(np.int32))

    def write(self, path: Path) -> None:
        with path.open("wb") as out:
            np.savez(out, vectors=self.vectors.astype(np.float32), owners=self.owners.astype(np.int32))


def read_latent(path: Path) -> sparse.csr_matrix:
    with np.load(path, allow_pickle=False) as data:
        shape = tuple(int(n) for n in data["shape"])
        return sparse.csr_matrix((data["values"], data["indices"], data["indptr"]), shape=shape)


def write_latent(path: Path, matrix: sparse.csr_matrix) -> None:
    with path.open("wb") as out:
        np.savez(out, values=matrix.data, indices=matrix.indices, indptr=matrix.indptr, shape=np.array(matrix.shape))


def write_index(index_dir: Path, index: faiss.Index, passages: list[Passage], manifest: dict,
                latent: sparse.csr_matrix | None = None, tokens: TokenVectors | None = None,
                glosses: GlossVectors | None = None) -> None:
    """Write data files under temporary names, then swap them in; the manifest goes last."""
    index_dir.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    try:
        staged[VECTORS_FILE] = stage_file(index_dir, VECTORS_FILE)
        faiss.write_index(index, str(staged[VECTORS_FILE]))
        staged[PASSAGES_FILE] = stage_file(index_dir, PASSAGES_FILE)
        with staged[PASSAGES_FILE].open("w", encoding="utf-8") as out:
            for passage in passages:
                out.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")
        if latent is not None:
            staged[LATENT_FILE] = stage_file(index_dir, LATENT_FILE)
            write_latent(staged[LATENT_FILE], latent)
        if tokens is not None:
            staged[TOKENS_FILE] = stage_file(index_dir, TOKENS_FILE)
            tokens.write(staged[TOKENS_FILE])
        if glosses is not None:
            staged[GLOSS_VECTORS_FILE] = stage_file(index_dir, GLOSS_VECTORS_FILE)
            glosses.write(staged[GLOSS_VECTORS_FILE])
        manifest["files"] = {name: file_sha256(path) for name, path in staged.items()}
        staged[MANIFEST_FILE] = stage_file(index_dir, MANIFEST_FILE)
        staged[MANIFEST_FILE].write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        for name in [*manifest["files"], MANIFEST_FILE]:
            fsync_file(staged[name])
            os.replace(staged.pop(name), index_dir / name)
        for name in OPTIONAL_FILES:  # left over from an index built with other signals
            if name not in manifest["files"]:
                (index_dir / name).unlink(missing_ok=True)
    except OSError as error:
        raise IndexBuildError(f"cannot write the index to {index_dir}: {error}") from error
    finally:
        for leftover in staged.values():
            leftover.unlink(missing_ok=True)


def stage_file(index_dir: Path, name: str) -> Path:
    handle, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=index_dir)
    os.close(handle)
    return Path(path)


def fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """An exclusive lock so two processes never build into the same folder at once."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = (index_dir / LOCK_FILE).open("a")
    except OSError as error:
        raise IndexBuildError(f"cannot write to index folder {index_dir}: {error}") from error
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
