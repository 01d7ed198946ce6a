"""One FastAPI application: the API, the widget, and the Gradio app mounted at ``/``."""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response

from ..config import Config
from ..retrieval.corpus import MAX_DOCUMENT_BYTES
from ..progress import text
from .api import AskIn, answer, build_router, request_language
from .security import GuardMiddleware, allowed_origins
from .services import Services

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
WIDGET_ASSETS = {"widget.css": "text/css", "widget-app.js": "text/javascript"}
LOADING_ASSETS = {"loading.css": "text/css", "loading.js": "text/javascript"}
LOADING_PATHS = ("/", "/widget")  # the pages the loading page stands in for until the services are ready


def widget_headers(config: Config) -> dict:
    ancestors = " ".join(["'self'", *allowed_origins(config)])
    return {
        "Content-Security-Policy": f"default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                                   f"img-src 'self' data:; frame-ancestors {ancestors}",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def loading_page(services: Services, language: str) -> str:
    """``static/loading.html`` in ``language`` (data/loading.toml), showing the progress so far."""
    loading = services.health(language)["loading"]
    names = {task: text(f"{task}_task", language) for task in ("index", "model", "languages")}
    values = {"lang": language, "title": text("title", language), "explain": text("explain", language),
              "no_script": text("no_script", language), "stage": loading["message"], "estimate": loading["estimate"],
              "names": json.dumps(names, ensure_ascii=False)}
    template = (STATIC / "loading.html").read_text(encoding="utf-8")
    return template.format(**{key: html.escape(str(value), quote=True) for key, value in values.items()})


class LoadingPageMiddleware:
    """Until the services are ready, ``GET /`` and ``GET /widget`` get the loading page instead
    of the app (which would have nothing to answer with); it polls /healthz and reloads itself.
    Pure ASGI, so everything else (the Gradio app's own assets, the API) passes untouched."""

    def __init__(self, app, services: Services, config: Config):
        self.app, self.services, self.headers = app, services, {**widget_headers(config), "Cache-Control": "no-store"}

    async def __call__(self, scope, receive, send):
        if (scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and scope["path"] in LOADING_PATHS
                and not self.services.ready):
            language = request_language(Request(scope))
            response = HTMLResponse(loading_page(self.services, language), status_code=503,
                                    headers={**self.headers, "Retry-After": str(self.services.progress.retry_after())})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(config: Config, services: Services | None = None, load: bool = True) -> FastAPI:
    """The whole server. ``load`` starts loading index and model in the background."""
    services = services or Services(config)
    # Gradio patches tqdm when an event tracks it (the Library tab's); a bar the background load
    # opened before that patch would crash when closed after it, failing the load: patch first.
    from gradio.helpers import patch_tqdm

    patch_tqdm()
    if load and not services.ready:
        services.load_in_background()
    app = FastAPI(title="copyadvisor", version="0.1.0", description="Client or customer? Advice grounded in a local library.",
                  docs_url="/docs", openapi_url="/openapi.json")
    app.state.services = services
    app.add_middleware(GuardMiddleware, config=config)
    app.add_middleware(LoadingPageMiddleware, services=services, config=config)
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

    @app.get("/loading/static/{name}", include_in_schema=False)
    def loading_asset(name: str):
        if name not in LOADING_ASSETS:
            return Response(status_code=404)
        return FileResponse(STATIC / name, media_type=LOADING_ASSETS[name], headers=widget_headers(config))

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
