"""Add translations of library passages, made outside copyadvisor, to a glosses file.

Each input line: {"passage_id": "...", "lang": "en", "text": "..."}. Each output line is a
gloss (see copyadvisor/retrieval/glosses.py) keyed by the SHA-256 of the passage's current text, so
a translation of a passage whose text later changes is never shown. A passage already
glossed in the same language is replaced; the others are kept.

    python scripts/import_translations.py --corpus corpus --index index \
        --generator "..." /work/translations/en.jsonl ... --out corpus/glosses.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from copyadvisor.retrieval.glosses import iter_glosses, text_sha256


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--index", type=Path, default=Path("index"), help="index folder (its passages.jsonl)")
    parser.add_argument("--generator", required=True, help="who made the translations (stored with each gloss)")
    parser.add_argument("--out", type=Path, default=Path("corpus/glosses.jsonl"))
    args = parser.parse_args(argv)

    passages = {row["id"]: row for row in map(json.loads, (args.index / "passages.jsonl").read_text(encoding="utf-8").splitlines())}
    imported: dict[tuple[str, str], dict] = {}
    for path in args.files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            passage = passages.get(row.get("passage_id"))
            text = (row.get("text") or "").strip()
            if passage is None or not text or not row.get("lang"):
                print(f"{path}:{number}: unknown passage or empty text, skipped", file=sys.stderr)
                continue
            if row["lang"] == passage["lang"] and " ".join(text.split()) == " ".join(passage["text"].split()):
                continue  # a same-language version that changed nothing: the passage itself is shown
            entry = {"source_sha256": text_sha256(passage["text"]), "lang": row["lang"], "text": text,
                     "from_lang": passage["lang"], "generator": args.generator, "passage_id": passage["id"]}
            imported[(entry["source_sha256"], entry["lang"])] = entry
    kept = [e for e in iter_glosses(args.out) if (e["source_sha256"], e["lang"]) not in imported] if args.out.is_file() else []
    with args.out.open("w", encoding="utf-8") as out:
        for entry in [*kept, *imported.values()]:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
    print(f"{len(imported)} translations imported, {len(kept)} earlier glosses kept: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
