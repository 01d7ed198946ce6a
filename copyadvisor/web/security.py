"""Intranet safety: tokens, origins, rate limits and request size.

* API tokens (``api_tokens``): when set, ``/api/v1/*`` needs ``Authorization: Bearer <token>``.
* Origins (``allowed_origins``): CORS for the API and ``frame-ancestors`` for the widget
  allow the server's own origin plus this list, nothing else.
* Rate limit (``rate_limit`` per minute): per client (token, else IP address), 429 beyond.
* Request size (``max_body_bytes``): larger bodies get 413 before they are read whole.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..config import Config, split_list


def error(status: int, message: str, **headers) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class RateLimiter:
    """Sliding window of request times per client key."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.calls: dict[str, deque] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            window = self.calls.setdefault(key, deque())
            while window and now - window[0] > 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return False
            window.append(now)
            return True


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def token_ok(config: Config, request: Request) -> bool:
    tokens = split_list(config.api_tokens)
    if not tokens:
        return True
    given = bearer_token(request)
    return any(hmac.compare_digest(given, token) for token in tokens)


def allowed_origins(config: Config) -> list[str]:
    return split_list(config.allowed_origins)


def origin_allowed(config: Config, request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin:
        return True  # not a cross-origin browser request
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin == own or origin in allowed_origins(config)


class GuardMiddleware(BaseHTTPMiddleware):
    """Size limit, origin check, token check and rate limit for the API and widget routes."""

    def __init__(self, app, config: Config):
        super().__init__(app)
        self.config = config
        self.limiter = RateLimiter(config.rate_limit)

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        guarded = path.startswith("/api/") or path.startswith("/widget/api/")
        if not guarded:
            return await call_next(request)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.config.max_body_bytes:
            return error(413, f"request body over {self.config.max_body_bytes} bytes")
        if request.method == "POST" and not length and len(await request.body()) > self.config.max_body_bytes:
            return error(413, f"request body over {self.config.max_body_bytes} bytes")  # chunked upload
        if not origin_allowed(self.config, request):
            return error(403, "this origin is not allowed; add it to allowed_origins")
        if path.startswith("/api/") and not token_ok(self.config, request):
            return error(401, "a valid API token is required (Authorization: Bearer <token>)", **{"WWW-Authenticate": "Bearer"})
        client = bearer_token(request) or (request.client.host if request.client else "unknown")
        if request.method != "OPTIONS" and not self.limiter.allow(client):
            return error(429, f"rate limit: {self.config.rate_limit} requests per minute", **{"Retry-After": "10"})
        return await call_next(request)
