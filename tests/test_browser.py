"""End to end in headless Chromium (Debian's, driven by Playwright): the app's Chat tab, and
the widget embedded by a host page on another origin, allowed and refused.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import functools
import http.server
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from copyadvisor.answering.advisor import Advisor
from copyadvisor.config import Config
from copyadvisor.review.reviewer import Reviewer
from copyadvisor.web.server import create_app
from copyadvisor.web.services import Services
from conftest import CORPUS, ROOT
from test_web import free_port, start

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium (make test does it as root)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def host_page(folder: Path, widget_base: str) -> None:
    (folder / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Intranet</title></head>"
        "<body><h1>ACME intranet</h1><p>Ask copyadvisor in the corner.</p>"
        f"<script src='{widget_base}/widget.js' async></script></body></html>",
        encoding="utf-8",
    )


def serve_folder(folder: Path, port: int) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def setup(library, tmp_path_factory):
    from copyadvisor.backends.generation import get_generator

    allowed_port, refused_port = free_port(), free_port()
    config = replace(Config.defaults(), corpus=CORPUS, index=library.config.index,
                     allowed_origins=f"http://127.0.0.1:{allowed_port}", rate_limit=1000)
    services = Services(config, library=library, reviewer=Reviewer(library), advisor=Advisor(library, get_generator()))
    base, server = start(create_app(config, services, load=False))
    folder = tmp_path_factory.mktemp("host")
    host_page(folder, base)
    hosts = [serve_folder(folder, allowed_port), serve_folder(folder, refused_port)]
    ARTIFACTS.mkdir(exist_ok=True)
    yield base, f"http://127.0.0.1:{allowed_port}", f"http://127.0.0.1:{refused_port}"
    server.should_exit = True
    for host in hosts:
        host.shutdown()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_widget_answers_on_an_allowed_host_page(setup, browser):
    base, allowed, _ = setup
    page = browser.new_page(viewport={"width": 1100, "height": 700})
    page.goto(allowed)
    frame = page.frame_locator("#copyadvisor-frame")
    frame.locator("#question").fill("We are a law firm with long-term retainers. Client or customer?")
    frame.locator("#send").click()
    frame.locator(".verdict").wait_for(timeout=120_000)
    assert "client" in frame.locator(".verdict").inner_text()
    assert frame.locator(".sources li").count() >= 1
    assert "#" in frame.locator(".sources li").first.inner_text()  # a passage id like fr-…#007
    page.screenshot(path=str(ARTIFACTS / "widget-allowed-origin.png"))
    page.close()


def test_widget_is_refused_on_a_host_page_that_is_not_allowed(setup, browser):
    _, _, refused = setup
    page = browser.new_page(viewport={"width": 1100, "height": 700})
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "frame-ancestors" in message.text else None)
    page.goto(refused)
    page.wait_for_selector("#copyadvisor-frame", state="attached")
    page.wait_for_timeout(2000)
    frame = page.frame_locator("#copyadvisor-frame")
    assert frame.locator("#question").count() == 0  # the widget never rendered inside the iframe
    assert blocked, "Chromium should report the frame-ancestors refusal"
    page.screenshot(path=str(ARTIFACTS / "widget-refused-origin.png"))
    page.close()


def test_chat_tab_answers_with_a_verdict_and_sources(setup, browser):
    base, _, _ = setup
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(base + "/")
    page.get_by_label("Question").fill("Kami menjual kopi murah, orang membeli sekali. Klien atau pelanggan?")
    page.get_by_role("button", name="Ask").click()
    page.get_by_text("→ customer").wait_for(timeout=120_000)
    assert page.get_by_text("id-klien-vs-pelanggan#").count() + page.get_by_text("#0").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "app-chat.png"), full_page=True)
    page.close()
