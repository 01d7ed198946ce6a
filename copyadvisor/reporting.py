"""What the evaluations share: reading their JSONL sets, and per-language metric tables."""

from __future__ import annotations

import json
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
