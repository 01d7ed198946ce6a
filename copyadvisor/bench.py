"""Benchmarks that print figures (no timed assertions: these machines are noisy)."""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from .config import Config
from .evaluation import DEFAULT_QUESTIONS
from .library import open_library


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench_queries() -> list[str]:
    import json

    return [json.loads(line)["query"] for line in DEFAULT_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def bench_retrieval(config: Config, repeat: int = 5) -> str:
    """Index build time (into a scratch folder), query latency p50/p95, peak memory."""
    rss_start = peak_rss_mib()
    with tempfile.TemporaryDirectory(prefix="copyadvisor-bench-") as scratch:
        started = time.perf_counter()
        library = open_library(replace(config, index=Path(scratch)), force_rebuild=True)
        build_seconds = time.perf_counter() - started
        queries = bench_queries()
        library.search(queries[0])  # warm-up
        latencies = []
        for _ in range(repeat):
            for query in queries:
                started = time.perf_counter()
                library.search(query, k=5)
                latencies.append((time.perf_counter() - started) * 1000)
    lines = [
        f"embedder            {library.embedder.id}",
        f"passages            {len(library.index.passages)}",
        f"index build         {build_seconds:.2f} s (split, embed, write; includes model load)",
        f"queries             {len(latencies)} ({len(queries)} questions x {repeat})",
        f"query latency p50   {statistics.median(latencies):.1f} ms",
        f"query latency p95   {percentile(latencies, 0.95):.1f} ms",
        f"query latency max   {max(latencies):.1f} ms",
        f"peak memory (RSS)   {peak_rss_mib():.0f} MiB (process start of bench: {rss_start:.0f} MiB)",
    ]
    return "\n".join(lines)
