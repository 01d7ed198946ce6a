"""Answers from a running copyadvisor's ``POST /api/v1/ask``, for ``copyadvisor eval answers --api URL``.

:class:`ApiAdvisor` has the ``ask`` of :class:`~copyadvisor.answering.advisor.Advisor`, so an
answer set runs through the HTTP API (history included, as a client such as the widget sends
it) and is checked exactly like answers made in process. A 429 is waited out (its
``Retry-After``); any other error stops the run with the server's message.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import fields
from typing import Optional

from ..answering.advisor import Turn
from ..retrieval.library import Library
from ..types import Answer, Citation, Recommendation

ASK_PATH = "/api/v1/ask"
TIMEOUT_S = 300
RATE_LIMIT_RETRIES = 6


class ApiError(RuntimeError):
    """The API refused a question (the message says what it answered)."""


class ApiAdvisor:
    """Asks a running copyadvisor; ``library`` is a local one, for the checks' embedding similarity."""

    def __init__(self, url: str, library: Library, token: Optional[str] = None):
        self.url = url.rstrip("/") + ASK_PATH
        self.library = library
        self.token = token
        self.generator = type("ApiGenerator", (), {"id": f"api:{url.rstrip('/')}"})()

    def ask(self, question: str, history: Optional[list[Turn]] = None) -> Answer:
        body = json.dumps({"question": question, "history": [{"role": t.role, "content": t.content} for t in history or []]})
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {self.token}"} if self.token else {})}
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            request = urllib.request.Request(self.url, data=body.encode("utf-8"), headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                    return answer_from_dict(json.load(response))
            except urllib.error.HTTPError as error:
                if error.code != 429 or attempt == RATE_LIMIT_RETRIES:
                    raise ApiError(f"{self.url}: HTTP {error.code}: {error.read().decode('utf-8', 'replace')[:300]}") from error
                time.sleep(float(error.headers.get("Retry-After") or 10))
        raise ApiError(f"{self.url}: rate limited")  # not reached


def answer_from_dict(data: dict) -> Answer:
    """An :class:`Answer` from its JSON (``Answer.to_dict``), unknown keys ignored."""
    recommendation = dict(data["recommendation"])
    for key in ("groups", "group_texts"):
        recommendation[key] = tuple(recommendation.get(key) or ())
    known = {f.name for f in fields(Answer)}
    values = {key: value for key, value in data.items() if key in known}
    values["recommendation"] = Recommendation(**{k: v for k, v in recommendation.items() if k in {f.name for f in fields(Recommendation)}})
    values["citations"] = [Citation(**c) for c in data.get("citations", [])]
    return Answer(**values)
