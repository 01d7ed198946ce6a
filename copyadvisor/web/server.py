"""One FastAPI application: the API, the widget, and the Gradio app mounted at ``/``."""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, Response

from ..config import Config
from ..corpus import MAX_DOCUMENT_BYTES
from .api import AskIn, answer, build_router
from .security import GuardMiddleware, allowed_origins
from .services import Services

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
WIDGET_ASSETS = {"widget.css": "text/css", "widget-app.js": "text/javascript"}


def widget_headers(config: Config) -> dict:
    ancestors = " ".join(["'self'", *allowed_origins(config)])
    return {
        "Content-Security-Policy": f"default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                                   f"img-src 'self' data:; frame-ancestors {ancestors}",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def create_app(config: Config, services: Services | None = None, load: bool = True) -> FastAPI:
    """The whole server. ``load`` starts loading index and model in the background."""
    services = services or Services(config)
    if load and not services.ready:
        services.load_in_background()
    app = FastAPI(title="copyadvisor", version="0.1.0", description="Client or customer? Advice grounded in a local library.",
                  docs_url="/docs", openapi_url="/openapi.json")
    app.state.services = services
    app.add_middleware(GuardMiddleware, config=config)
    app.add_middleware(CORSMiddleware, allow_origins=allowed_origins(config), allow_methods=["GET", "POST"],
                       allow_headers=["Authorization", "Content-Type", "Accept"])
    app.include_router(build_router(services))

    @app.get("/widget", include_in_schema=False)
    def widget():
        return FileResponse(STATIC / "widget.html", media_type="text/html", headers=widget_headers(config))

    @app.get("/widget/static/{name}", include_in_schema=False)
    def widget_asset(name: str):
        if name not in WIDGET_ASSETS:
            return Response(status_code=404)
        return FileResponse(STATIC / name, media_type=WIDGET_ASSETS[name], headers=widget_headers(config))

    @app.get("/widget.js", include_in_schema=False)
    def embed_script():
        return FileResponse(STATIC / "embed.js", media_type="text/javascript", headers={"X-Content-Type-Options": "nosniff"})

    @app.post("/widget/api/ask", include_in_schema=False)
    async def widget_ask(body: AskIn, request: Request):
        return await answer(services, body, request)

    from .app import build_app

    # uploads (a Review draft, a Library document) over the library's document size limit are refused by Gradio
    return gr.mount_gradio_app(app, build_app(services), path="/", max_file_size=MAX_DOCUMENT_BYTES)


def serve(config: Config, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    host, port = host or config.host, port or config.port
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: reachable from other machines; set api_tokens and allowed_origins", host)
    log.info("copyadvisor on http://%s:%d (loading index and model in the background; see /healthz)", host, port)
    uvicorn.run(create_app(config), host=host, port=port, log_level="info")
