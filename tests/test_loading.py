"""Loading progress as data (/healthz), the loading page at / and /widget, and 503 with
Retry-After from the API while the index and the model load. A fake loading (no model)
drives the progress by hand, so every assertion is deterministic."""

from __future__ import annotations

import html
from types import SimpleNamespace
from dataclasses import replace

import httpx
import pytest

from copyadvisor.config import Config
from copyadvisor.knowledge import loading_messages
from copyadvisor.progress import LoadingProgress, counting_iterations
from copyadvisor.web.server import create_app
from copyadvisor.web.services import Services
from conftest import CORPUS
from test_model_cache import fake_model  # noqa: F401 (a fixture)
from test_web import start


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_estimate_is_measured_and_absent_without_a_measure():
    clock = Clock()
    progress = LoadingProgress(clock)
    index, model = progress.callback("index"), progress.callback("model")
    index("build_index", 0, 100)
    model("dequantise", 0, None)
    clock.now += 0.5
    index("build_index", 10, 100)
    assert progress.snapshot()["tasks"][0]["eta_s"] is None  # under a second of measurement: no estimate
    clock.now += 1.5
    index("build_index", 40, 100)  # 40 in 2 s: 60 left take 3 s
    snapshot = progress.snapshot()
    assert snapshot["tasks"][0]["percent"] == 40.0 and snapshot["tasks"][0]["eta_s"] == 3
    # the model's stage has no measure: it holds readiness up, with no percent and no invented estimate
    assert snapshot["stage"] == "dequantise" and snapshot["percent"] is None and snapshot["eta_s"] is None
    assert snapshot["estimate"] == loading_messages()["no_estimate"]["en"]
    assert progress.retry_after() == 5
    model("load_model", 0, 24)
    clock.now += 2
    model("load_model", 12, 24)  # 12 layers in 2 s: 2 s left; the index, at its rate, 1.5 s more -> rounds to 2
    assert progress.snapshot()["stage"] in ("load_model", "build_index")
    progress.finish("index")
    snapshot = progress.snapshot("fr")
    assert snapshot["stage"] == "load_model" and snapshot["percent"] == 50.0 and snapshot["eta_s"] == 2
    assert snapshot["message"] == loading_messages()["load_model"]["fr"] and "2 s" in snapshot["estimate"]
    assert snapshot["tasks"][0]["finished"] and snapshot["tasks"][0]["seconds"] == 4.0
    assert progress.retry_after() == 2


def test_counting_iterations_reports_a_third_party_loop():
    import types

    import sys

    module = types.ModuleType("fake_gguf")
    module.tqdm = lambda iterable, **kwargs: iterable
    sys.modules["fake_gguf"] = module
    heard = []
    with counting_iterations("fake_gguf", lambda *a: heard.append(a), "dequantise"):
        assert list(module.tqdm([1, 2, 3], desc="x")) == [1, 2, 3]
    assert heard == [("dequantise", 0, 3), ("dequantise", 1, 3), ("dequantise", 2, 3), ("dequantise", 3, 3)]
    assert module.tqdm([4], desc="x") == [4]  # put back


def test_the_messages_have_english_and_french():
    table = loading_messages()
    for key in ("build_index", "dequantise", "load_model", "title", "explain", "seconds_left", "no_estimate"):
        assert table[key]["en"] and table[key]["fr"]


@pytest.fixture
def loading(tmp_path):
    """A server whose services are still loading, at the model's de-quantising stage, with the
    index 25 % built at a measured rate."""
    clock = Clock()
    config = replace(Config.defaults(), corpus=CORPUS, index=tmp_path / "index", rate_limit=1000)
    services = Services(config, progress=LoadingProgress(clock))
    index, model = services.progress.callback("index"), services.progress.callback("model")
    index("build_index", 0, 200)
    clock.now += 10
    index("build_index", 50, 200)  # 50 in 10 s: 30 s left
    model("load_model", 0, 24)
    clock.now += 2
    model("load_model", 2, 24)  # 2 in 2 s: 22 s left
    base, server = start(create_app(config, services, load=False))
    yield base, services, clock
    server.should_exit = True


def test_healthz_reports_the_stage_percent_and_estimate(loading):
    base, _, _ = loading
    response = httpx.get(f"{base}/healthz")
    assert response.status_code == 503
    health = response.json()
    assert health["status"] == "loading"
    headline = health["loading"]
    assert (headline["stage"], headline["percent"], headline["eta_s"]) == ("build_index", 25.0, 36)
    assert {task["task"]: task["stage"] for task in headline["tasks"]} == {"index": "build_index", "model": "load_model"}
    french = httpx.get(f"{base}/healthz", params={"lang": "fr"}).json()["loading"]
    assert french["message"] == loading_messages()["build_index"]["fr"]
    assert httpx.get(f"{base}/healthz", headers={"Accept-Language": "fr-CH,fr;q=0.9"}).json()["loading"]["message"] == french["message"]


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/api/v1/ask", {"question": "Client or customer?"}),
    ("POST", "/api/v1/review", {"draft": "Our clients buy bread."}),
    ("GET", "/api/v1/search?q=client", None),
    ("POST", "/widget/api/ask", {"question": "Client or customer?"}),
])
def test_the_api_answers_503_with_the_stage_and_retry_after(loading, method, path, body):
    base, _, _ = loading
    response = httpx.request(method, base + path, json=body)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"  # the estimate (36 s) kept within 1..30
    payload = response.json()
    assert payload["status"] == "loading" and payload["loading"]["stage"] == "build_index"
    assert payload["loading"]["percent"] == 25.0 and payload["loading"]["eta_s"] == 36
    assert payload["error"].startswith("not ready")


def test_loading_page_stands_in_for_the_app_until_ready(loading):
    base, services, _ = loading
    for path in ("/", "/widget"):
        page = httpx.get(base + path, headers={"Accept-Language": "fr"})
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["Content-Security-Policy"] and page.headers["Cache-Control"] == "no-store"
        assert html.escape(loading_messages()["title"]["fr"]) in page.text
        assert html.escape(loading_messages()["build_index"]["fr"]) in page.text
        assert '<script src="/loading/static/loading.js">' in page.text and "<style" not in page.text
    for asset in ("loading.js", "loading.css"):
        assert httpx.get(f"{base}/loading/static/{asset}").status_code == 200
    assert httpx.get(f"{base}/loading/static/other.js").status_code == 404
    assert httpx.get(f"{base}/widget/static/widget.css").status_code == 200  # the rest passes untouched

    services.advisor, services.reviewer = SimpleNamespace(generator=None), object()  # ready (nothing here asks them anything)
    app = httpx.get(base + "/")
    assert app.status_code == 200 and "gradio" in app.text.lower() and loading_messages()["title"]["en"] not in app.text
    widget = httpx.get(base + "/widget")
    assert widget.status_code == 200 and 'id="copyadvisor-widget"' in widget.text
    health = httpx.get(f"{base}/healthz").json()
    assert health["status"] == "ready" and health["loading"]["stage"] == "ready"


def test_a_failed_load_is_reported(tmp_path):
    config = replace(Config.defaults(), corpus=tmp_path / "no-corpus", index=tmp_path / "index", llm="openai:none")
    services = Services(config)
    services.load()  # the index fails (no corpus); the model fails (no URL); the first failure is kept
    health = services.health()
    assert health["status"] == "error" and health["loading"]["stage"] == "failed"
    assert health["loading"]["estimate"] == services.error
    assert services.progress.retry_after() == 30


def test_joining_the_model_reports_bytes(fake_model):
    from copyadvisor.backends.model_cache import assemble_gguf

    model, whole = fake_model
    heard = []
    assemble_gguf(model, progress=lambda *a: heard.append(a))
    assert heard[-1] == ("join_model", len(whole), len(whole))  # one report per block (each part here is one)
    assert [done for _, done, _ in heard] == sorted(done for _, done, _ in heard) and len(heard) == 3


def test_building_an_index_reports_texts_embedded(small_corpus, tmp_path, embedder):
    from copyadvisor.retrieval.index import open_index

    heard = []
    open_index(small_corpus, tmp_path / "index", embedder, progress=lambda *a: heard.append(a))
    assert heard[0] == ("check_index", 0, None)
    builds = [(done, total) for stage, done, total in heard if stage == "build_index"]
    assert builds[0][0] == 0 and builds[-1][0] == builds[-1][1] > 0  # every text counted, latent pass included
    heard.clear()
    open_index(small_corpus, tmp_path / "index", embedder, progress=lambda *a: heard.append(a))
    assert heard == [("check_index", 0, None)]  # up to date: nothing built
