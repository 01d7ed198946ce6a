"""The server through real HTTP: API, SSE, widget, security limits, concurrency.

One uvicorn server runs on loopback in a thread, with the real index and the real model.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest

http = httpx.Client(timeout=60)  # generous: CI machines are loaded
import uvicorn

from copyadvisor.answering.advisor import Advisor
from copyadvisor.config import Config
from copyadvisor.review.reviewer import Reviewer
from copyadvisor.types import Answer, Recommendation
from copyadvisor.web.app import answer_markup
from copyadvisor.web.server import create_app
from copyadvisor.web.services import Services
from conftest import CORPUS

ALLOWED = "http://127.0.0.1:8123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(app) -> tuple[str, uvicorn.Server]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.time() + 60
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.1)
    return f"http://127.0.0.1:{port}", server


@pytest.fixture(scope="module")
def loaded(library, tmp_path_factory):
    """Services with the real index and model, shared by every server in this module."""
    from copyadvisor.backends.generation import get_generator

    config = replace(Config.defaults(), corpus=CORPUS, index=library.config.index, allowed_origins=ALLOWED, rate_limit=1000)
    services = Services(config, library=library, reviewer=Reviewer(library), advisor=Advisor(library, get_generator()))
    return config, services


@pytest.fixture(scope="module")
def base(loaded):
    config, services = loaded
    url, server = start(create_app(config, services, load=False))
    yield url
    server.should_exit = True


def test_healthz_ready_with_index_and_model(base):
    health = http.get(f"{base}/healthz").json()
    assert health["status"] == "ready" and health["index"]["passages"] > 50 and health["generator"].startswith("transformers:")


def test_search_and_review_endpoints(base):
    hits = http.get(f"{base}/api/v1/search", params={"q": "Qui est un client ?", "k": 3}).json()["hits"]
    assert len(hits) == 3 and hits[0]["lang"] == "fr"
    review = http.post(f"{base}/api/v1/review", json={"draft": "Big discounts at our grocery store! Clients pick up cheap bread."}).json()
    assert review["findings"][0]["suggestion"] == "Customers"
    assert http.get(f"{base}/api/v1/search", params={"q": " "}).status_code == 400
    assert http.post(f"{base}/api/v1/review", json={"draft": ""}).status_code == 400


def test_ask_json(base):
    answer = http.post(f"{base}/api/v1/ask", json={"question": "We sell cheap coffee, one-off purchases. Client or customer?"}, timeout=120).json()
    assert answer["recommendation"]["term"] == "customer" and answer["grounded"] and answer["citations"]


def test_an_answer_set_runs_through_the_api_and_is_checked_like_answers_made_in_process(base, loaded):
    from copyadvisor.evaluation.answer_eval import Item, run
    from copyadvisor.answering.answer_checks import Expectation
    from copyadvisor.answering.advisor import Turn
    from copyadvisor.evaluation.api_client import ApiAdvisor

    _, services = loaded
    history = [Turn("user", "We run a law firm. Client or customer?"), Turn("assistant", 'Use "client".')]
    expected = Expectation(lang="en", intent="followup", question="and the people who just buy our printed guide once?",
                           facts=[], must_not=[], expect_term="customer", history_text=" ".join(t.content for t in history))
    remote = ApiAdvisor(base, services.advisor.library)
    (result,) = run(remote, [Item("api-1", expected, history)])
    in_process = services.advisor.ask(expected.question, history)
    assert result.answer.text == in_process.text and result.answer.recommendation.term == in_process.recommendation.term == "customer"
    assert result.passed, result.failed()


def test_ask_streams_server_sent_events(base):
    events = []
    with http.stream("POST", f"{base}/api/v1/ask", json={"question": "私たちは法律事務所です。クライアントと顧客のどちらですか？", "stream": True}, timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    tokens = [data["text"] for name, data in events if name == "token"]
    final = [data for name, data in events if name == "answer"]
    assert len(tokens) >= 2 and len(final) == 1  # the verdict at once, then the model's sentences (or a quote)
    assert tokens[0] == "「クライアント」を使いましょう。"  # the word in the asker's language, not the English label
    assert final[0]["language"] == "ja" and final[0]["recommendation"]["term"] == "client"
    assert "".join(tokens).strip() == final[0]["text"].strip()


def test_concurrent_clients_get_their_own_answers(base):
    questions = {
        "We are a law firm with long-term retainers. Client or customer?": "client",
        "We sell cheap sandwiches, one-off purchases. Client or customer?": "customer",
        "People pay for our paywalled articles. What do we call them?": "subscriber",
        "Our gym has a community with a yearly membership. What do we call them?": "member",
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda q: (q, http.post(f"{base}/api/v1/ask", json={"question": q}, timeout=300)), questions))
    for question, reply in replies:
        assert reply.status_code == 200
        assert reply.json()["question"] == question and reply.json()["recommendation"]["term"] == questions[question]


def test_widget_page_and_script_are_served_locally_with_a_strict_policy(base):
    page = http.get(f"{base}/widget")
    policy = page.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {ALLOWED}" in policy and "script-src 'self'" in policy
    assert "http" not in page.text.replace(base, "").split("<script")[1].split(">")[0]  # no CDN
    assert http.get(f"{base}/widget/static/widget-app.js").status_code == 200
    assert http.get(f"{base}/widget/static/../server.py").status_code == 404
    assert "iframe" in http.get(f"{base}/widget.js").text


def test_origins(base):
    blocked = http.post(f"{base}/widget/api/ask", json={"question": "client?"}, headers={"Origin": "http://evil.example"})
    assert blocked.status_code == 403
    preflight = http.options(f"{base}/api/v1/ask", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"})
    assert preflight.headers.get("access-control-allow-origin") == ALLOWED
    other = http.options(f"{base}/api/v1/ask", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert other.headers.get("access-control-allow-origin") is None


def test_request_size_limit_is_a_clear_413(base):
    reply = http.post(f"{base}/api/v1/review", content=b"{" + b" " * 400_000 + b"}", headers={"Content-Type": "application/json"})
    assert reply.status_code == 413 and "bytes" in reply.json()["error"]


def test_tokens_rate_limit_and_busy(loaded):
    config, shared = loaded
    guarded = replace(config, api_tokens="s3cret,other", rate_limit=3, max_waiting=0)
    services = Services(guarded, library=shared.library, reviewer=shared.reviewer, advisor=shared.advisor)
    url, server = start(create_app(guarded, services, load=False))
    try:
        assert http.get(f"{url}/api/v1/search", params={"q": "client"}).status_code == 401
        assert http.get(f"{url}/api/v1/search", params={"q": "client"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = {"Authorization": "Bearer s3cret"}
        codes = [http.get(f"{url}/api/v1/search", params={"q": "client"}, headers=ok).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        services._waiting = 1  # one answer in progress, none may wait
        busy = http.post(f"{url}/api/v1/ask", json={"question": "client?"}, headers={"Authorization": "Bearer other"})
        assert busy.status_code == 503 and busy.headers["retry-after"]
    finally:
        services._waiting = 0
        server.should_exit = True


def test_healthz_says_loading_before_the_model_is_there(loaded):
    config, _ = loaded
    url, server = start(create_app(config, Services(config), load=False))
    try:
        assert http.get(f"{url}/healthz").json()["status"] == "loading"
        assert http.post(f"{url}/api/v1/ask", json={"question": "client?"}).status_code == 503
    finally:
        server.should_exit = True


def test_model_text_is_escaped_in_the_chat():
    answer = Answer("q", '<img src=x onerror="alert(1)"> Use client [1]', "en", Recommendation("client", 0.9, "<b>why</b>"), [], True)
    markup = answer_markup(answer)
    assert "<img" not in markup and "&lt;img" in markup and "<b>" not in markup


def test_openapi_docs(base):
    paths = http.get(f"{base}/openapi.json").json()["paths"]
    assert {"/api/v1/ask", "/api/v1/review", "/api/v1/search", "/healthz"} <= set(paths)


def test_review_tab_reports_bad_uploads_clearly(loaded, tmp_path):
    from copyadvisor.web.app import review

    _, services = loaded
    binary = tmp_path / "draft.txt"
    binary.write_bytes(b"\x00\x01\x02 binary")
    assert "binary" in review(services, "", "", str(binary))[2]
    good = tmp_path / "good.txt"
    good.write_text("Big discounts at our grocery store! Clients pick up cheap bread.", encoding="utf-8")
    highlights, rows, summary, revised, download = review(services, "", "", str(good))
    assert rows[0][3] == "Customers" and revised.startswith("Big discounts") and open(download, encoding="utf-8").read() == revised
