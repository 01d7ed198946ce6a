"""What the web layer serves: library, advisor and reviewer, loaded once in the background.

``/healthz`` reports ``loading`` until the index and the model are ready. Generation runs
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
    _waiting: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _swap_lock: threading.Lock = field(default_factory=threading.Lock)  # library, advisor, reviewer change together
    rebuilding: threading.Lock = field(default_factory=threading.Lock)  # one library rebuild at a time (library_admin.py)

    @property
    def ready(self) -> bool:
        return self.advisor is not None and self.reviewer is not None

    def load(self) -> None:
        """Index, then model. Errors are kept for /healthz rather than crashing the server."""
        try:
            self.library = open_library(self.config)
            generator = open_generator(self.config)
            self.reviewer = Reviewer(self.library, generator)
            self.advisor = Advisor(self.library, generator)
            log.info("ready in %.1fs", time.time() - self.started)
        except Exception as error:  # reported by /healthz and every endpoint
            log.exception("loading failed")
            self.error = f"{type(error).__name__}: {error}"

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

    def health(self) -> dict:
        status = "ready" if self.ready else ("error" if self.error else "loading")
        body = {"status": status, "uptime_s": round(time.time() - self.started, 1), "waiting": self._waiting}
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
