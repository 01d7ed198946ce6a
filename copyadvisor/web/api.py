"""The HTTP API: ``/api/v1/ask`` (JSON or server-sent events), ``/api/v1/review``,
``/api/v1/search`` and ``/healthz``. Bodies are the same ``Answer``/``Review`` shapes as
``copyadvisor ask --json`` and ``copyadvisor review --json``."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Optional

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..answering.advisor import Turn
from ..retrieval.search import QueryError, validate_query
from ..review.reviewer import ReviewError
from ..types import Answer
from .security import error
from .services import Busy, Services

MAX_HISTORY = 8


class TurnIn(BaseModel):
    role: str = Field(pattern="^(user|assistant)$")
    content: str = Field(max_length=4000)


class AskIn(BaseModel):
    question: str = Field(description="the question, any language", max_length=20_000)
    history: list[TurnIn] = Field(default_factory=list, max_length=MAX_HISTORY)
    stream: bool = Field(False, description="answer as server-sent events: token events, then one answer event")


class ReviewIn(BaseModel):
    draft: str = Field(description="the draft copy (at most 50,000 characters)")
    context: Optional[str] = Field(None, max_length=2000, description="the relationship, stated")
    explain: bool = Field(False, description="add a model-written explanation to each finding (slower: queued for the model)")


def not_ready(services: Services, request: Request | None = None):
    """503 with how far loading has got (the ``loading`` object of /healthz) and a ``Retry-After``
    from the measured estimate (5 s without one)."""
    health = services.health(request_language(request) if request else "en")
    message = f"not ready: {health['status']}" + (f" ({health['error']})" if services.error else "")
    loading = {key: health["loading"].get(key) for key in ("stage", "message", "percent", "eta_s", "estimate")}
    return JSONResponse({"error": message, "status": health["status"], "loading": loading}, status_code=503,
                        headers={"Retry-After": str(services.progress.retry_after())})


def request_language(request: Request) -> str:
    """``?lang=xx``, else the first language of ``Accept-Language``, else English (two letters)."""
    wanted = request.query_params.get("lang") or request.headers.get("accept-language", "").split(",")[0]
    code = wanted.strip().split("-")[0].split(";")[0].lower()
    return code if len(code) == 2 and code.isalpha() else "en"


def busy(problem: Busy):
    return error(503, str(problem), **{"Retry-After": "5"})


def build_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", tags=["health"])
    def healthz(request: Request):
        """``status`` (loading, ready, error) and ``loading``: stage, percent, eta_s (seconds left in
        the stage, measured; null when it cannot be estimated), messages (``?lang=fr`` or Accept-Language)."""
        health = services.health(request_language(request))
        return JSONResponse(health, status_code=200 if health["status"] == "ready" else 503)

    @router.get("/api/v1/search", tags=["api"])
    def search(request: Request, q: str = Query(..., max_length=2000), k: int = Query(5, ge=1, le=50)):
        if services.library is None:
            return not_ready(services, request)
        try:
            return services.library.search(q, k=k).to_dict()
        except QueryError as problem:
            return error(400, str(problem))

    @router.post("/api/v1/review", tags=["api"])
    async def review(body: ReviewIn, request: Request):
        if services.reviewer is None:
            return not_ready(services, request)
        try:
            if body.explain:
                with services.queue_slot():
                    result = await run_in_threadpool(services.reviewer.review_with_explanations, body.draft, body.context)
            else:
                result = await run_in_threadpool(services.reviewer.review, body.draft, body.context)
        except Busy as problem:
            return busy(problem)
        except ReviewError as problem:
            return error(413 if "limit" in str(problem) else 400, str(problem))
        return result.to_dict()

    @router.post("/api/v1/ask", tags=["api"])
    async def ask(body: AskIn, request: Request):
        return await answer(services, body, request)

    return router


async def answer(services: Services, body: AskIn, request: Request):
    """Shared by the API and the widget: JSON, or SSE when asked for."""
    if services.advisor is None:
        return not_ready(services, request)
    try:
        validate_query(body.question)
    except QueryError as problem:
        return error(422, f"question: {problem}")
    history = [Turn(t.role, t.content) for t in body.history]
    wants_stream = body.stream or "text/event-stream" in request.headers.get("accept", "")
    if not wants_stream:
        try:
            with services.queue_slot():
                result = await run_in_threadpool(services.advisor.ask, body.question, history)
        except Busy as problem:
            return busy(problem)
        return result.to_dict()
    try:
        services.enter_queue()  # left by the producer thread when the stream ends
    except Busy as problem:
        return busy(problem)
    return StreamingResponse(sse_events(services, body.question, history), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def sse_events(services: Services, question: str, history: list[Turn]):
    """Run the advisor in a thread; relay its pieces as ``token`` events and the result as ``answer``."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def produce():
        try:
            for event in services.advisor.stream(question, history):
                loop.call_soon_threadsafe(queue.put_nowait, event)
        except Exception as problem:  # reported to the client as an error event
            loop.call_soon_threadsafe(queue.put_nowait, problem)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)
            services.leave_queue()

    threading.Thread(target=produce, daemon=True).start()
    while (event := await queue.get()) is not None:
        if isinstance(event, Answer):
            yield f"event: answer\ndata: {json.dumps(event.to_dict(), ensure_ascii=False)}\n\n"
        elif isinstance(event, Exception):
            yield f"event: error\ndata: {json.dumps({'error': str(event)})}\n\n"
        else:
            yield f"event: token\ndata: {json.dumps({'text': event}, ensure_ascii=False)}\n\n"
