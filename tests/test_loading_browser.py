"""The loading page in headless Chromium (Debian's, driven by Playwright): while the services
load, / shows the stage, percent and estimate, refreshed from /healthz; once they are ready it
switches to the app by itself. The loading is faked (no index, no model) so the test is
deterministic; the screenshot goes to /tmp/loading.png and test-artifacts/loading.png."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from copyadvisor.config import Config
from copyadvisor.knowledge import loading_messages
from copyadvisor.progress import LoadingProgress
from copyadvisor.web.server import create_app
from copyadvisor.web.services import Services
from conftest import CORPUS
from test_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401 (browser: the shared module-scoped fixture)
from test_loading import Clock
from test_web import start

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium")
SCREENSHOT = Path("/tmp/loading.png")


@pytest.fixture
def loading_server(tmp_path):
    clock = Clock()
    config = replace(Config.defaults(), corpus=CORPUS, index=tmp_path / "index", rate_limit=1000)
    services = Services(config, progress=LoadingProgress(clock))
    index, model, languages = (services.progress.callback(name) for name in ("index", "model", "languages"))
    index("build_index", 0, 480)
    model("dequantise", 0, 290)
    clock.now += 20
    index("build_index", 160, 480)  # a third in 20 s: 40 s left
    model("dequantise", 58, 290)  # a fifth in 20 s: 80 s left, so the model holds readiness up
    base, server = start(create_app(config, services, load=False))
    yield base, services, clock, model
    server.should_exit = True


def test_loading_page_shows_progress_then_switches_to_the_app(loading_server, browser):
    base, services, clock, model = loading_server
    messages = loading_messages()
    page = browser.new_page(viewport={"width": 900, "height": 620}, locale="en-GB")
    refused = []  # CSP refusals (a 503 from the page or /healthz while loading is logged too, and expected)
    page.on("console", lambda message: refused.append(message.text) if "Refused" in message.text else None)
    page.goto(base + "/")
    assert page.locator("h1").inner_text() == messages["title"]["en"]
    page.locator("#tasks li").nth(2).wait_for()  # filled in by loading.js from /healthz
    assert page.locator("#stage").inner_text() == messages["dequantise"]["en"]
    assert page.locator("#percent").inner_text() == "20 %"
    assert page.locator("#estimate").inner_text() == messages["seconds_left"]["en"].format(seconds=80)

    model("dequantise", 145, 290)  # the page follows the progress without a reload
    clock.now += 10  # 145 in 30 s: 30 s left
    page.get_by_text("50 %").wait_for(timeout=10_000)
    assert not refused, refused  # no inline script or style anywhere
    assert page.locator("#stage").inner_text() == messages["build_index"]["en"]  # now the index has more left (60 s)
    page.wait_for_timeout(600)  # the bar's width transition
    page.screenshot(path=str(SCREENSHOT))
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(SCREENSHOT, ARTIFACTS / "loading.png")

    services.advisor, services.reviewer = SimpleNamespace(generator=None), object()  # ready
    page.get_by_label("Question").wait_for(timeout=60_000)  # the app itself, after loading.js reloaded
    assert page.locator("#loading").count() == 0
