"""What the web layer serves: library, advisor and reviewer, loaded once in the background.

The index, the model and the language detector are independent; each reports its progress
to :class:`LoadingProgress`. They load one after the other unless ``parallel`` is set (two
threads: torch releases the GIL, but on two cores both halves compete for them).
``/healthz`` reports ``loading`` with that progress until both are ready. Generation runs
one answer at a time per loaded model; up to ``max_waiting`` more wait their turn, and
anything beyond that is refused with 503 instead of piling up.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Optional

from ..answering.advisor import Advisor
from ..config import Config
from ..language import detect_language
from ..retrieval.library import Library, open_generator, open_library
from ..progress import LoadingProgress
from ..review.reviewer import Reviewer

log = logging.getLogger(__name__)


class Busy(RuntimeError):
    """More answers are waiting than the server accepts."""


@dataclass
class Services:
    config: Config
    library: Optional[Library] = None
    advisor: Optional[Advisor] = None
    reviewer: Optional[Reviewer] = None
    error: Optional[str] = None
    started: float = field(default_factory=time.time)
    progress: LoadingProgress = field(default_factory=LoadingProgress)
    # Index and model one after the other: at the same time was measured slower on this 2-core
    # machine (first start 210 s vs 141 s, warm start no better; docs/loading.md).
    parallel: bool = False
    _waiting: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _swap_lock: threading.Lock = field(default_factory=threading.Lock)  # library, advisor, reviewer change together
    rebuilding: threading.Lock = field(default_factory=threading.Lock)  # one library rebuild at a time (library_admin.py)

    @property
    def ready(self) -> bool:
        return self.advisor is not None and self.reviewer is not None

    def load(self) -> None:
        """Language detector, index, model (or index and model at once when ``parallel`` is
        set). Errors are kept for /healthz rather than crashing the server; search works once
        the index is in.

        With ``parallel``, two threads, balanced: the index thread loads the embedder, checks
        (or builds) the index and prepares the advisor (it embeds the intent example
        questions); the model thread loads the model, then lingua's language models (needed by
        advisor and reviewer, independent of the rest)."""
        progress = {name: self.progress.callback(name) for name in ("languages", "index", "model")}
        made: dict = {}

        def load_index():
            self.library = open_library(self.config, progress=progress["index"])
            progress["index"]("prepare_answers", 0, None)
            made["reviewer"], made["advisor"] = Reviewer(self.library), Advisor(self.library)  # model attached below
            self.progress.finish("index")

        def load_model():
            made["generator"] = open_generator(self.config, progress=progress["model"])
            self.progress.finish("model")

        def load_languages():
            progress["languages"]("load_languages", 0, None)
            detect_language("warm up the language detector")
            self.progress.finish("languages")

        if self.parallel:
            index_thread = threading.Thread(target=self.guarded, args=("index", load_index), name="copyadvisor-index", daemon=True)
            index_thread.start()
            self.guarded("model", load_model) and self.guarded("language detector", load_languages)
            index_thread.join()
        else:
            self.guarded("language detector", load_languages) and self.guarded("index", load_index) and self.guarded("model", load_model)
        if self.error is None:
            made["reviewer"].generator = made["advisor"].generator = made["generator"]
            self.reviewer, self.advisor = made["reviewer"], made["advisor"]
            self.progress.ready()
            log.info("ready in %.1fs", time.time() - self.started)

    def guarded(self, task: str, work) -> bool:
        """Run one loading task; the first failure is kept for /healthz and every endpoint."""
        try:
            work()
            return True
        except Exception as error:
            log.exception("loading the %s failed", task)
            if self.error is None:
                self.error = f"{type(error).__name__}: {error}"
                self.progress.fail(self.error)
            return False

    def swap_library(self, library: Library, advisor: Optional[Advisor] = None, reviewer: Optional[Reviewer] = None):
        """Serve ``library`` (and the advisor and reviewer built on it) from now on; answers already
        running finish with the objects they started with. Returns the previous (library, advisor, reviewer)."""
        with self._swap_lock:
            previous = (self.library, self.advisor, self.reviewer)
            self.library = library
            self.advisor = advisor if advisor is not None else self.advisor
            self.reviewer = reviewer if reviewer is not None else self.reviewer
        log.info("now serving the index built at %s", library.index.manifest.get("built_at"))
        return previous

    def load_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.load, name="copyadvisor-load", daemon=True)
        thread.start()
        return thread

    def health(self, language: str = "en") -> dict:
        status = "ready" if self.ready else ("error" if self.error else "loading")
        body = {"status": status, "uptime_s": round(time.time() - self.started, 1), "waiting": self._waiting,
                "loading": self.progress.snapshot(language, ready=self.ready)}
        if self.error:
            body["error"] = self.error
        if self.library:
            body["index"] = self.library.index.status()
        if self.advisor and self.advisor.generator:
            body["generator"] = self.advisor.generator.id
        return body

    def enter_queue(self) -> None:
        with self._lock:
            if self._waiting >= self.config.max_waiting + 1:
                raise Busy(f"{self._waiting} answers are already in progress or waiting; try again shortly")
            self._waiting += 1

    def leave_queue(self) -> None:
        with self._lock:
            self._waiting -= 1

    @contextmanager
    def queue_slot(self):
        """A place in the generation queue for the ``with`` block; raises :class:`Busy` when full."""
        self.enter_queue()
        try:
            yield
        finally:
            self.leave_queue()
