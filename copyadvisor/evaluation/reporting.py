"""What the evaluations share: reading their JSONL sets, and per-language metric tables."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")


def read_jsonl(path: Path, convert: Callable[[dict], T], comments: bool = False,
               error: type[ValueError] = ValueError) -> list[T]:
    """``convert`` applied to each JSON line of ``path`` (blank lines skipped, and lines
    starting with # when ``comments``); a bad line raises ``error`` naming path and line."""
    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or comments and line.lstrip().startswith("#"):
            continue
        try:
            items.append(convert(json.loads(line)))
        except (ValueError, KeyError, TypeError) as problem:
            raise error(f"{path}:{number}: {problem}") from problem
    return items


def per_language(items: Iterable[T], language: Callable[[T], str], metrics: Callable[[list[T]], dict]) -> dict:
    """``metrics`` of each language's items, plus an "all" row last."""
    groups: dict[str, list[T]] = defaultdict(list)
    for item in items:
        groups[language(item)].append(item)
        groups["all"].append(item)
    return {lang: metrics(group) for lang, group in sorted(groups.items(), key=lambda kv: (kv[0] == "all", kv[0]))}


def mean_interval(values: list[float], level: float = 0.95, samples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval for the mean of ``values``: how far a figure from a few
    questions could move with other questions like them. Seeded, so a set always gets the same.
    It cannot see misses that never happened: a perfect score gets the interval 1.00-1.00."""
    if not values:
        raise ValueError("no values")
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=len(values))) / len(values) for _ in range(samples))
    tail = (1 - level) / 2
    return means[int(tail * (samples - 1))], means[int((1 - tail) * (samples - 1))]


def format_table(summary: dict, columns: list[str], width: int) -> str:
    lines = ["lang  " + "  ".join(f"{c:>{width}}" for c in columns)]
    for lang, row in summary.items():
        cells = []
        for column in columns:
            value = row.get(column)
            if value is None:
                cells.append(f"{'-':>{width}}")
            elif isinstance(value, (tuple, list)):
                cells.append(f"{'-'.join(f'{v:.2f}' for v in value):>{width}}")
            elif isinstance(value, int):
                cells.append(f"{value:>{width}d}")
            else:
                cells.append(f"{value:>{width}.3f}")
        lines.append(f"{lang:<6}" + "  ".join(cells))
    return "\n".join(lines)
