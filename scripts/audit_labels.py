"""List the retrieval questions by the passages they name, so that twins sit side by side.

    python scripts/audit_labels.py [--questions eval/retrieval.jsonl ...]

Two questions that ask the same thing (often in two languages) should name the same
passages. Answers are compared as groups of translations, since a quote in one article
stands for its translations too. Questions are printed one per line, sorted by their
groups, leaving out those whose groups no other question shares in part; a reader then
looks for neighbours that ask the same thing but name different groups.
"""

from __future__ import annotations

import argparse
import logging
import sys
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from copyadvisor.config import load_config  # noqa: E402
from copyadvisor.evaluation.retrieval_eval import QUESTION_SETS, load_questions  # noqa: E402
from copyadvisor.retrieval.library import open_library  # noqa: E402
from copyadvisor.types import Passage  # noqa: E402


def translation_group(passage: Passage) -> str:
    """One name for a passage and its translations: the smallest id among them."""
    return min([passage.id, *passage.parallel_ids])


def answer_groups(files: list[Path], passages: list[Passage]) -> list[tuple[str, str, frozenset[str]]]:
    by_id = {p.id: p for p in passages}
    rows = []
    for file in files:
        for question in load_questions(ROOT / file, passages):
            if not question.off_topic:
                groups = frozenset(translation_group(by_id[i]) for i in question.relevant_ids)
                rows.append((question.id, question.query, groups))
    return rows


def sharing_part(rows: list[tuple[str, str, frozenset[str]]]) -> list[tuple[str, str, frozenset[str]]]:
    """The rows whose groups overlap another row's without being the same."""
    kept: set[int] = set()
    for (i, (_, _, a)), (j, (_, _, b)) in combinations(enumerate(rows), 2):
        if a & b and a != b:
            kept.update((i, j))
    return [rows[i] for i in sorted(kept)]


def short_name(group: str) -> str:
    """``ar-client-vs-customer#012`` as ``ar#012``."""
    doc, _, number = group.partition("#")
    return f"{doc.split('-')[0]}#{number}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", nargs="+", type=Path, default=QUESTION_SETS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    passages = open_library(load_config()).index.passages
    rows = answer_groups(args.questions, passages)
    shown = sorted(sharing_part(rows), key=lambda row: sorted(row[2]))
    for question_id, query, groups in shown:
        print(f"{question_id:8} {query[:60]:60} {' '.join(short_name(g) for g in sorted(groups))}")
    print(f"{len(shown)} of {len(rows)} questions share part of their answers with another question")
    return 0


if __name__ == "__main__":
    sys.exit(main())
