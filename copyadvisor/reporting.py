"""Per-language metric tables, shared by the evaluations."""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")


def per_language(items: Iterable[T], language: Callable[[T], str], metrics: Callable[[list[T]], dict]) -> dict:
    """``metrics`` of each language's items, plus an "all" row last."""
    groups: dict[str, list[T]] = defaultdict(list)
    for item in items:
        groups[language(item)].append(item)
        groups["all"].append(item)
    return {lang: metrics(group) for lang, group in sorted(groups.items(), key=lambda kv: (kv[0] == "all", kv[0]))}


def format_table(summary: dict, columns: list[str], width: int) -> str:
    lines = ["lang  " + "  ".join(f"{c:>{width}}" for c in columns)]
    for lang, row in summary.items():
        cells = []
        for column in columns:
            value = row.get(column)
            if value is None:
                cells.append(f"{'-':>{width}}")
            elif isinstance(value, int):
                cells.append(f"{value:>{width}d}")
            else:
                cells.append(f"{value:>{width}.3f}")
        lines.append(f"{lang:<6}" + "  ".join(cells))
    return "\n".join(lines)
