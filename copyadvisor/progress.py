"""How far loading has got, as data: for ``/healthz``, the loading page and ``Retry-After``.

Code that takes long accepts an optional ``progress`` callback and calls it as
``progress(stage, done, total)``: ``stage`` is the name of a table in
``data/loading.toml`` (what the user reads), ``done`` and ``total`` count whatever the
stage measures (passages embedded, bytes joined, tensors converted, layers loaded);
``total=None`` means the stage has no measure, so no percent and no estimate are shown.

:class:`LoadingProgress` keeps one :class:`Task` per independent piece of work ("index",
"model"); the estimate of a stage's seconds left is measured, never assumed: the rate of
``done`` since the stage started, once at least one unit is done and a second has passed.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from .knowledge import loading_messages

Progress = Callable[[str, float, Optional[float]], None]
MIN_SECONDS_FOR_ESTIMATE = 1.0  # a rate measured over less than this is noise


def report(progress: Progress | None, stage: str, done: float = 0, total: float | None = None) -> None:
    """Call ``progress`` if there is one (for the functions whose callback is optional)."""
    if progress is not None:
        progress(stage, done, total)


@dataclass
class Task:
    name: str
    stage: str = "waiting"
    done: float = 0.0
    total: Optional[float] = None
    started: float = field(default_factory=time.monotonic)  # the task
    stage_started: float = field(default_factory=time.monotonic)
    rate_from: tuple[float, float] | None = None  # (time, done) when the stage's count began
    finished: Optional[float] = None  # seconds the task took, once done
    stages: dict[str, float] = field(default_factory=dict)  # stage -> seconds it took

    def update(self, stage: str, done: float, total: float | None, now: float) -> None:
        if stage != self.stage:
            if self.stage == "waiting":
                self.started = now  # a task that waited for another (sequential loading) starts now
            else:
                self.stages[self.stage] = round(now - self.stage_started, 2)
            self.stage, self.stage_started, self.rate_from = stage, now, None
        self.done, self.total = done, total
        if self.rate_from is None and total:
            self.rate_from = (now, done)

    def percent(self) -> float | None:
        if self.finished is not None:
            return 100.0
        if not self.total:
            return None
        return round(min(100.0, 100.0 * self.done / self.total), 1)

    def eta(self, now: float) -> float | None:
        """Seconds left in this stage at the rate measured since its count began, or None."""
        if self.finished is not None:
            return 0.0
        if not self.total or self.rate_from is None:
            return None
        since, done_then = self.rate_from
        elapsed, progressed = now - since, self.done - done_then
        if elapsed < MIN_SECONDS_FOR_ESTIMATE or progressed <= 0:
            return None
        return max(0.0, (self.total - self.done) * elapsed / progressed)


class LoadingProgress:
    """Thread-safe: each task is updated from its own thread, read by the web server."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.tasks: dict[str, Task] = {}
        self.started = clock()
        self.ready_after: float | None = None
        self.failed: str | None = None

    def callback(self, task: str) -> Progress:
        now = self.clock()
        with self.lock:
            self.tasks.setdefault(task, Task(task, started=now, stage_started=now))

        def progress(stage: str, done: float = 0, total: float | None = None) -> None:
            with self.lock:
                self.tasks[task].update(stage, float(done), None if total is None else float(total), self.clock())

        return progress

    def finish(self, task: str) -> None:
        now = self.clock()
        with self.lock:
            entry = self.tasks[task]
            entry.stages[entry.stage] = round(now - entry.stage_started, 2)
            entry.finished = round(now - entry.started, 2)
            entry.stage = "done"

    def ready(self) -> None:
        self.ready_after = round(self.clock() - self.started, 2)

    def fail(self, message: str) -> None:
        self.failed = message

    def snapshot(self, language: str = "en", ready: bool = False) -> dict:
        """The JSON ``/healthz`` returns under ``loading``: the stage holding readiness up (the
        running task with the most, or an unknown, time left in its stage), its percent and
        estimate, and every task (a task not started yet is at stage ``waiting``). ``ready`` says the services are ready however they were loaded."""
        now = self.clock()
        with self.lock:
            tasks = [self.task_entry(t, now, language) for t in self.tasks.values()]
        body: dict = {"elapsed_s": round(now - self.started, 1), "tasks": tasks}
        if self.failed:
            return {"stage": "failed", "message": text("failed", language), "percent": None, "eta_s": None,
                    "estimate": self.failed, **body}
        if self.ready_after is not None or ready:
            return {"stage": "ready", "message": text("ready", language), "percent": 100.0, "eta_s": 0,
                    "estimate": "", "ready_after_s": self.ready_after, **body}
        running = [t for t in tasks if not t["finished"] and t["stage"] != "waiting"]  # waiting: not started
        if not running:
            return {"stage": "starting", "message": text("starting", language), "percent": None, "eta_s": None,
                    "estimate": text("no_estimate", language), **body}
        slowest = max(running, key=lambda t: math.inf if t["eta_s"] is None else t["eta_s"])
        headline = {key: slowest[key] for key in ("stage", "message", "percent", "eta_s", "estimate")}
        return {**headline, **body}

    def task_entry(self, task: Task, now: float, language: str) -> dict:
        eta = task.eta(now)
        return {
            "task": task.name,
            "stage": task.stage,
            "message": text(task.stage, language),
            "percent": task.percent(),
            "eta_s": None if eta is None else math.ceil(eta),
            "estimate": estimate_text(eta, language) if task.finished is None and task.stage != "waiting" else "",
            "done": task.done if task.total else None,
            "total": task.total,
            "stage_elapsed_s": round(now - task.stage_started, 1),
            "finished": task.finished is not None,
            "seconds": task.finished,
            "stages": dict(task.stages),
        }

    def retry_after(self) -> int:
        """Seconds a client should wait before asking again: the estimate, kept within 1..30."""
        eta = self.snapshot()["eta_s"]
        if self.failed:
            return 30
        return 5 if eta is None else int(min(30, max(1, eta)))


def text(key: str, language: str, **values) -> str:
    table = loading_messages().get(key) or loading_messages()["unknown_stage"]
    return table.get(language, table["en"]).format(**values)


def estimate_text(seconds: float | None, language: str) -> str:
    if seconds is None:
        return text("no_estimate", language)
    if seconds >= 90:
        return text("minutes_left", language, minutes=math.ceil(seconds / 60))
    return text("seconds_left", language, seconds=max(1, math.ceil(seconds)))


class counting_iterations:
    """Within the ``with`` block, ``module.tqdm(iterable, ...)`` also tells ``progress`` how many
    of the iterable's items are done: for third-party loops that only show a tqdm bar (such as
    transformers' GGUF de-quantisation). A no-op without ``progress`` or without ``module.tqdm``.
    Not thread-safe for other users of that module during the block (it runs once, at first start)."""

    def __init__(self, module_name: str, progress: Progress | None, stage: str):
        self.module_name, self.progress, self.stage, self.original = module_name, progress, stage, None

    def __enter__(self):
        import importlib

        try:
            self.module = importlib.import_module(self.module_name)
        except ImportError:
            return self
        self.original = getattr(self.module, "tqdm", None)
        if self.progress is None or self.original is None:
            self.original = None
            return self
        original, progress, stage = self.original, self.progress, self.stage

        def counted(iterable=None, *args, **kwargs):
            try:
                total = kwargs.get("total") or len(iterable)
            except TypeError:
                total = None

            def items():
                progress(stage, 0, total)
                for number, item in enumerate(original(iterable, *args, **kwargs), 1):
                    yield item
                    progress(stage, number, total)

            return items()

        self.module.tqdm = counted
        return self

    def __exit__(self, *exc):
        if self.original is not None:
            self.module.tqdm = self.original
        return False
