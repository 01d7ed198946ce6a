"""What the web layer serves: library, advisor and reviewer, loaded once in the background.

The index and the model are independent, so they load at the same time (two threads;
torch releases the GIL), each reporting its progress to :class:`LoadingProgress`.
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

from ..advisor import Advisor
from ..config import Config
from ..library import Library, open_generator, open_library
from ..progress import LoadingProgress
from ..review import Reviewer

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
    parallel: bool = True  # index and model at the same time (see docs/loading.md for the measurements)
    _waiting: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ready(self) -> bool:
        return self.advisor is not None and self.reviewer is not None

    def load(self) -> None:
        """Index and model (at once, or one after the other when ``parallel`` is off). Errors
        are kept for /healthz rather than crashing the server; search works once the index is in."""
        index_progress, model_progress = self.progress.callback("index"), self.progress.callback("model")
        generator = []

        def load_index():
            self.library = open_library(self.config, progress=index_progress)
            self.progress.finish("index")

        def load_model():
            generator.append(open_generator(self.config, progress=model_progress))
            self.progress.finish("model")

        if self.parallel:
            index_thread = threading.Thread(target=self.guarded, args=("index", load_index), name="copyadvisor-index", daemon=True)
            index_thread.start()
            self.guarded("model", load_model)
            index_thread.join()
        else:
            self.guarded("index", load_index) and self.guarded("model", load_model)
        if self.error is None:
            self.reviewer = Reviewer(self.library, generator[0])
            self.advisor = Advisor(self.library, generator[0])
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
