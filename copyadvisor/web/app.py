"""The Gradio app: Chat, Review and Library tabs over the shared services.

Every piece of model or user text is shown as text: chat messages are HTML-escaped and
rendered without Markdown; findings and passages go into plain components.
"""

from __future__ import annotations

import html
import logging
import tempfile
from pathlib import Path

import gradio as gr

from ..answering.advisor import Turn
from ..retrieval.corpus import MAX_DOCUMENT_BYTES
from ..review.house_rules import overview_rows
from ..knowledge import read_toml
from ..language import language_names
from .library_admin import (
    ADMIN_OFF, AdminError, add_document, admin_enabled, check_admin, corpus_files, name_from_title, pasted_document,
    rebuild_library, remove_document,
)
from ..retrieval.search import QueryError
from ..review.reviewer import ReviewError, validate_draft
from ..types import Answer
from .services import Busy, Services

log = logging.getLogger(__name__)

UI = read_toml("ui.toml")  # example questions and the sample draft are data
EXAMPLES = list(UI["examples"])
SAMPLE_DRAFT = UI["sample_draft"]
FINDING_COLUMNS = ["line", "column", "text", "suggestion", "rule", "severity", "message", "source"]


def answer_markup(answer: Answer) -> str:
    """Escaped answer text plus verdict and numbered sources (no HTML from the model survives)."""
    lines = [html.escape(answer.text)]
    rec = answer.recommendation
    if not answer.declined and (rec.term or answer.intent == "verdict"):  # a verdict only where one was asked
        lines.append(f"\n**→ {html.escape(rec.term or 'it depends')}** ({rec.confidence:.0%}): {html.escape(rec.rationale)}")
    shown = {p["number"]: p for p in answer.passages}
    for c in answer.citations:
        passage = shown.get(c.number, {})
        label = passage.get("label") or c.lang
        lines.append(f"[{c.number}] {html.escape(c.passage_id)} ({html.escape(label)}): {html.escape(c.quote)}")
    return "\n".join(lines)


def chat(services: Services, message: str, history: list[dict]):
    """Stream the answer into the chat; the conversation's earlier turns go to the advisor."""
    history = history or []
    if services.advisor is None:
        yield history + [{"role": "user", "content": html.escape(message)}, {"role": "assistant", "content": "Still loading the model; try again in a few seconds."}], ""
        return
    turns = [Turn(t["role"], html.unescape(str(t["content"])).split("\n")[0]) for t in history[-6:]]
    shown = history + [{"role": "user", "content": html.escape(message)}, {"role": "assistant", "content": "…"}]
    try:
        with services.queue_slot():
            text = ""
            for event in services.advisor.stream(message, turns):
                if isinstance(event, Answer):
                    shown[-1]["content"] = answer_markup(event)
                    yield shown, format_passages(event)
                else:
                    text += event
                    shown[-1]["content"] = html.escape(text)
                    yield shown, ""
    except Busy as problem:
        shown[-1]["content"] = f"Busy: {problem}"
        yield shown, ""
    except QueryError as problem:
        shown[-1]["content"] = f"⚠️ {html.escape(str(problem))}"
        yield shown, ""


def format_passages(answer: Answer) -> str:
    parts = []
    for p in answer.passages:
        label = p.get("label") or p["lang"]
        part = f"[{p['number']}] {p['passage_id']} · {label}\n{p['text']}"
        if p.get("original_lang") and p.get("original_text") and p["original_text"] != p["text"]:
            part += f"\n\nOriginal ({p['original_lang']}): {p['original_text']}"
        parts.append(part)
    return "\n\n".join(parts)


def review(services: Services, draft: str, context: str, upload):
    """Findings for the pasted draft, or for the uploaded file (checked like any draft: size, UTF-8, binary)."""
    if services.reviewer is None:
        return [], [], "Still loading; try again in a few seconds.", "", None
    try:
        draft = validate_draft(Path(upload).read_bytes() if upload is not None else draft)
        result = services.reviewer.review(draft, context=context or None)
    except ReviewError as problem:
        return [], [], f"⚠️ {html.escape(str(problem))}", "", None
    highlights, cursor = [], 0
    for f in result.findings:
        highlights.append((draft[cursor : f.start], None))
        highlights.append((draft[f.start : f.end], f"{f.severity}: → {f.suggestion}"))
        cursor = f.end
    highlights.append((draft[cursor:], None))
    rows = [[f.line, f.column, f.text, f.suggestion, f.rule, f.severity, f.message,
             ", ".join(c.passage_id for c in f.citations)] for f in result.findings]
    ctx = result.context
    summary = (f"{len(result.findings)} finding(s) · relationship: {ctx.relationship or 'unclear'} ({ctx.source}) · "
               f"{result.stats['elapsed_ms']} ms")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as out:
        out.write(result.revised_text)
    return highlights, rows, summary, result.revised_text, out.name


def library_overview(services: Services):
    if services.library is None:
        return "Loading…", []
    status = services.library.index.status()
    text = (f"{status['passages']} passages from {status['documents']} documents · embedder {status['embedder']} · "
            f"chunking {status['chunking']} · built {status['built_at']}")
    rows = [[p.id, p.lang, p.sense, p.sense_source, len(p.parallel_ids), p.heading, p.text[:300]]
            for p in services.library.index.passages]
    return text, rows


HOUSE_RULE_COLUMNS = ["style", "rule", "level", "kind", "message", "justified by", "passage", "notes"]


def house_rules_overview(services: Services, reload: bool = False):
    """The house rules (corpus/styles) as a status line, a table and the files left out; ``reload``
    reads the folder again, so a rule file dropped in applies to the next review."""
    library = services.library
    if library is None:
        return "Loading…", [], ""
    rules = library.reload_house_rules() if reload or library.house_rules is None else library.house_rules
    folder = rules.folder if rules.folder is not None else "corpus/styles"
    text = (f"**House rules**: {len(rules.rules)} from {html.escape(str(folder))}"
            + (f" · {len(rules.problems)} rule file(s) left out (below)" if rules.problems else "")
            + " · Vale rule files, extends: existence or substitution (docs/house-rules.md)")
    return text, overview_rows(rules), "\n".join(str(problem) for problem in rules.problems)


def rebuild_message(services: Services, progress=None) -> str:
    """Rebuild beside the old index and swap it in; the outcome as one line (never raises)."""
    if not services.ready:
        return ("⚠️ The library is not loaded yet (or failed to load: see /healthz), so the index was not rebuilt; "
                "try again in a few seconds.")
    report = (lambda fraction, text: progress(fraction, desc=text)) if progress is not None else None
    try:
        library = rebuild_library(services, report)
    except AdminError as problem:
        return f"⚠️ {html.escape(str(problem))}"
    status = library.index.status()
    return f"Index rebuilt: {status['passages']} passages from {status['documents']} documents; answers now come from it."


def add_to_library(services: Services, token: str, upload, title: str, lang: str, text: str, name: str,
                   replace: bool, progress=None) -> str:
    """The Library tab's "Add": an uploaded .md/.txt file, or pasted text with a title and language,
    validated, written into corpus/ and indexed. Refused without the admin token."""
    try:
        check_admin(services.config, token)
        name = (name or "").strip()
        if upload is not None:
            path = Path(upload)
            if path.stat().st_size > MAX_DOCUMENT_BYTES:
                raise AdminError(f"Refused: {path.name} is larger than the {MAX_DOCUMENT_BYTES:,} byte limit.")
            raw = path.read_bytes()
            filename = (name if Path(name).suffix else name + path.suffix) if name else path.name
        elif (text or "").strip():
            raw = pasted_document(title, lang, text)
            filename = (name if name.lower().endswith(".md") else name + ".md") if name else name_from_title(title)
        else:
            raise AdminError("Choose a .md or .txt file to upload, or paste a text with a title.")
        added = add_document(services.config.corpus, filename, raw, replace=bool(replace))
    except AdminError as problem:
        return f"⚠️ {html.escape(str(problem))}"
    except OSError as problem:
        return f"⚠️ Could not read the upload: {html.escape(str(problem))}"
    return html.escape(added.message()) + "\n\n" + rebuild_message(services, progress)


def remove_from_library(services: Services, token: str, name: str, progress=None) -> str:
    """The Library tab's "Remove": the file goes to corpus/.trash/, then the index is rebuilt."""
    try:
        check_admin(services.config, token)
        if not name:
            raise AdminError("Choose the document to remove.")
        message = remove_document(services.config.corpus, name)
    except AdminError as problem:
        return f"⚠️ {html.escape(str(problem))}"
    return html.escape(message) + "\n\n" + rebuild_message(services, progress)


def rebuild(services: Services, token: str, progress=None) -> str:
    try:
        check_admin(services.config, token)
    except AdminError as problem:
        return f"⚠️ {html.escape(str(problem))}"
    return rebuild_message(services, progress)


def document_choices(services: Services):
    return gr.update(choices=corpus_files(services.config.corpus), value=None)


LANGUAGE_CHOICES = [("detect from the text", "")] + sorted(((f"{name} ({code})", code) for code, name in language_names().items()))


def build_app(services: Services) -> gr.Blocks:
    with gr.Blocks(title="copyadvisor") as app:
        gr.Markdown("# copyadvisor\nClient or customer? Advice grounded in a small library of articles, in your language.")
        with gr.Tab("Chat"):
            chatbot = gr.Chatbot(label="Advice", height=420, render_markdown=True, sanitize_html=True)
            question = gr.Textbox(label="Question", placeholder="Should we say client or customer?", rtl=False)
            with gr.Row():
                send = gr.Button("Ask", variant="primary")
                reset = gr.Button("New conversation")
            passages = gr.Textbox(label="Passages the answer comes from (numbered as cited; the original below each translation)", lines=8, interactive=False)
            gr.Examples(EXAMPLES, inputs=question)
            for trigger in (send.click, question.submit):
                trigger(lambda m, h: (yield from chat(services, m, h)), inputs=[question, chatbot], outputs=[chatbot, passages]).then(
                    lambda: "", outputs=question)
            reset.click(lambda: ([], ""), outputs=[chatbot, passages])
        with gr.Tab("Review"):
            draft = gr.Textbox(label="Draft copy", lines=8, value=SAMPLE_DRAFT)
            upload = gr.File(label="…or upload a .txt file", file_types=[".txt", ".md"], type="filepath")
            context = gr.Textbox(label="Context (optional): the relationship, e.g. 'law firm, long-term retainers'")
            check = gr.Button("Review", variant="primary")
            summary = gr.Markdown()
            marked = gr.HighlightedText(label="Findings in the draft", combine_adjacent=False)
            findings = gr.Dataframe(headers=FINDING_COLUMNS, label="Findings", wrap=True, interactive=False)
            revised = gr.Textbox(label="Revised draft (apply all)", lines=8, interactive=False)
            download = gr.File(label="Download the revised draft")
            check.click(lambda d, c, u: review(services, d, c, u), inputs=[draft, context, upload],
                        outputs=[marked, findings, summary, revised, download])
        with gr.Tab("Library"):
            status = gr.Markdown()
            with gr.Accordion("Manage the library (admin)", open=admin_enabled(services.config)):
                gr.Markdown(ADMIN_OFF if not admin_enabled(services.config) else
                            "Add or remove a document, then the index is rebuilt beside the old one and swapped in when "
                            "complete (answers keep coming from the old one meanwhile). Files are checked before anything "
                            "is written; removed files go to `corpus/.trash/`. See docs/library.md.")
                admin_token = gr.Textbox(label="Admin token", type="password", max_lines=1)
                with gr.Row():
                    with gr.Column():
                        gr.Markdown("**Add a document**")
                        new_file = gr.File(label="Upload a .md or .txt file", file_types=[".md", ".txt"], type="filepath",
                                           elem_id="library-upload")
                        new_title = gr.Textbox(label="…or paste a text: title", max_lines=1)
                        new_lang = gr.Dropdown(LANGUAGE_CHOICES, value="", label="Language")
                        new_text = gr.Textbox(label="Text", lines=6)
                        new_name = gr.Textbox(label="File name (optional: from the upload or the title)", max_lines=1)
                        replace = gr.Checkbox(label="Replace a document with the same name (the old file goes to .trash)")
                        add_button = gr.Button("Add and rebuild", variant="primary")
                    with gr.Column():
                        gr.Markdown("**Remove a document**")
                        documents = gr.Dropdown(corpus_files(services.config.corpus), value=None, label="Document")
                        remove_button = gr.Button("Remove and rebuild", variant="stop")
                        rebuild_button = gr.Button("Rebuild index")
                admin_result = gr.Markdown("Changes and rebuilds report here.", elem_id="library-result", min_height=90,
                                           container=True, padding=True)
            table = gr.Dataframe(headers=["passage", "lang", "sense", "from", "parallels", "heading", "text"], wrap=True, interactive=False)
            refresh = gr.Button("Refresh")
            rules_status = gr.Markdown()
            rules_table = gr.Dataframe(headers=HOUSE_RULE_COLUMNS, label="House rules", wrap=True, interactive=False)
            rules_problems = gr.Textbox(label="Rule files left out", lines=2, interactive=False)
            rules_outputs = [rules_status, rules_table, rules_problems]
            refresh.click(lambda: library_overview(services), outputs=[status, table])
            refresh.click(lambda: house_rules_overview(services, reload=True), outputs=rules_outputs)
            refresh.click(lambda: document_choices(services), outputs=documents)

            new_inputs = [new_file, new_title, new_lang, new_text, new_name, replace]

            def on_add(token, upload, title, lang, text, name, replace_it, progress=gr.Progress(track_tqdm=True)):
                message = add_to_library(services, token, upload, title, lang, text, name, replace_it, progress)
                added = message.startswith("Added")  # the form is cleared once the document is in the library
                return message, *((None, "", "", "", "", False) if added else (gr.update(),) * len(new_inputs))

            def on_remove(token, name, progress=gr.Progress(track_tqdm=True)):
                return remove_from_library(services, token, name, progress)

            def on_rebuild(token, progress=gr.Progress(track_tqdm=True)):
                return rebuild(services, token, progress)

            # private: not in the API docs and not callable by the Gradio clients (the token is still checked)
            changes = [
                add_button.click(on_add, inputs=[admin_token, *new_inputs], outputs=[admin_result, *new_inputs], api_visibility="private", concurrency_limit=1, concurrency_id="library"),
                remove_button.click(on_remove, inputs=[admin_token, documents], outputs=admin_result,
                                    api_visibility="private", concurrency_limit=1, concurrency_id="library"),
                rebuild_button.click(on_rebuild, inputs=admin_token, outputs=admin_result,
                                     api_visibility="private", concurrency_limit=1, concurrency_id="library"),
            ]
            for change in changes:
                change.then(lambda: (*library_overview(services), document_choices(services)), outputs=[status, table, documents],
                            api_visibility="private").then(
                    lambda: house_rules_overview(services, reload=True), outputs=rules_outputs, api_visibility="private")
            app.load(lambda: library_overview(services), outputs=[status, table])
            app.load(lambda: house_rules_overview(services), outputs=rules_outputs)
    return app.queue(default_concurrency_limit=4)
