"""The browser app. For now a search page over the library; chat and review come next."""

from __future__ import annotations

import logging

import gradio as gr

from ..config import Config
from ..library import Library, open_library
from ..retrieval import QueryError

log = logging.getLogger(__name__)

HIT_COLUMNS = ["#", "passage", "lang", "sense", "score", "heading", "text"]
EXAMPLES = [
    "Should I say client or customer?",
    "Quelle est la différence entre un client ponctuel et un client fidèle ?",
    "Jakich innych określeń mogę używać zamiast słowa klient?",
    "クライアントと顧客の違いは何ですか？",
    "Apa perbedaan antara klien dan pelanggan?",
    "ما الفرق بين العميل والزبون؟",
]


def search_rows(library: Library, query: str, k: int) -> tuple[str, list[list]]:
    """Status line and table rows for a query; errors become a status line, never a crash."""
    try:
        result = library.search(query, k=int(k))
    except QueryError as error:
        return f"⚠️ {error}", []
    verdict = "covered by the library" if result.relevant else "**not covered** by the library"
    status = f"{verdict} (relevance {result.relevance:.3f}, threshold {result.threshold:.3f})"
    rows = [
        [h.rank, h.passage.id, h.passage.lang, h.passage.sense, round(h.score, 4), h.passage.heading, h.passage.text]
        for h in result.hits
    ]
    return status, rows


def build_app(library: Library) -> gr.Blocks:
    status = library.index.status()
    with gr.Blocks(title="copyadvisor") as app:
        gr.Markdown("# copyadvisor\nSearch the library of articles on *client* vs *customer*, in any language.")
        with gr.Row():
            query = gr.Textbox(label="Question", placeholder="Should I say client or customer?", scale=5)
            k = gr.Slider(1, 10, value=5, step=1, label="Passages", scale=1)
        button = gr.Button("Search", variant="primary")
        verdict = gr.Markdown()
        table = gr.Dataframe(headers=HIT_COLUMNS, wrap=True, interactive=False)
        gr.Examples(EXAMPLES, inputs=query)
        gr.Markdown(
            f"Index: {status['passages']} passages from {status['documents']} documents, "
            f"embedder `{status['embedder']}`."
        )
        for trigger in (button.click, query.submit):
            trigger(lambda q, n: search_rows(library, q, n), inputs=[query, k], outputs=[verdict, table])
    return app


def serve(config: Config, host: str = "127.0.0.1", port: int = 7860) -> None:
    library = open_library(config)
    log.info("serving on http://%s:%d", host, port)
    build_app(library).launch(server_name=host, server_port=port, share=False, show_error=True)
