"""Changing the library while the server runs: add a document, remove one, rebuild the index.

Everything here is an admin action (see docs/library.md):

* :func:`check_admin` refuses unless ``admin_token`` is configured and given (compared in
  constant time); there is no way around it, and no API or widget route calls these functions.
* :func:`add_document` validates the bytes with :func:`corpus.parse_document` (and the catalog
  entry the file name would get) *before* anything is written, then writes a temporary file in
  ``corpus/`` and renames it into place. A name already used needs ``replace``; the old file goes
  to ``corpus/.trash/``.
* :func:`remove_document` moves the file to ``corpus/.trash/`` (nothing is deleted). Its
  ``catalog.toml`` entry is left as it is: it does nothing without the file, it applies again when
  the file is restored, and a new file given the same name is told that the entry applies to it.
* :func:`rebuild_library` builds a complete index in ``<index>.new/`` while the old one keeps
  serving, then renames it into place and swaps the services' library, advisor and reviewer under
  a lock. A build that fails leaves the old index, on disk and in memory, untouched.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import shutil
import time
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..retrieval.corpus import CATALOG_NAME, DOCUMENT_SUFFIXES, MAX_DOCUMENT_BYTES, CorpusError, parse_document, read_catalog
from ..retrieval.index import LOCK_FILE, MANIFEST_FILE, OPTIONAL_FILES, PASSAGES_FILE, VECTORS_FILE, open_index
from ..language import language_name, language_names
from ..types import Document

log = logging.getLogger(__name__)

TRASH_FOLDER = ".trash"
MAX_NAME_LENGTH = 80
WRONG_TOKEN_DELAY = 1.0  # seconds before a wrong admin token is refused
INDEX_DATA_FILES = {VECTORS_FILE, PASSAGES_FILE, MANIFEST_FILE, LOCK_FILE, *OPTIONAL_FILES}
ADMIN_OFF = ("Changing the library is turned off: no admin token is configured. Start the server with "
             "--admin-token or COPYADVISOR_ADMIN_TOKEN (docs/library.md).")

Progress = Callable[[float, str], None]


class AdminError(ValueError):
    """An admin action was refused; the message says why and what to do."""


def admin_enabled(config) -> bool:
    return bool(getattr(config, "admin_token", ""))


def check_admin(config, token: Optional[str]) -> None:
    """Raise :class:`AdminError` unless admin actions are on and ``token`` is the admin token."""
    expected = getattr(config, "admin_token", "") or ""
    if not expected:
        raise AdminError(ADMIN_OFF)
    if not token or not hmac.compare_digest(token.strip().encode("utf-8"), expected.encode("utf-8")):
        time.sleep(WRONG_TOKEN_DELAY)  # the Library tab's events run one at a time: guessing stays slow
        raise AdminError("Wrong or missing admin token: the library was not changed.")


# --- names ---------------------------------------------------------------------------------

def document_name(name: str) -> str:
    """A safe file name for ``corpus/``: no folders, a .md or .txt suffix, letters, digits, ``.-_``
    (anything else becomes ``-``). Raises :class:`AdminError` for what cannot be made safe."""
    name = unicodedata.normalize("NFKC", str(name or "")).strip()
    if not name:
        raise AdminError("The document needs a file name.")
    if "/" in name or "\\" in name or "\0" in name:
        raise AdminError(f"{name!r} is a path: give a file name only, such as 'pricing-guide.md'.")
    stem, suffix = os.path.splitext(name)
    if suffix.lower() not in DOCUMENT_SUFFIXES:
        raise AdminError(f"{name!r}: only .md and .txt documents can be added.")
    stem = re.sub(r"[^\w.-]+", "-", stem).strip(".-_")[:MAX_NAME_LENGTH].strip(".-_")
    if not stem:
        raise AdminError(f"{name!r}: the file name has no letters or digits.")
    return stem + suffix.lower()


def name_from_title(title: str) -> str:
    """``pricing-guide.md`` for the title "Pricing guide"."""
    return document_name(re.sub(r"[^\w]+", "-", (title or "").strip().lower())[:MAX_NAME_LENGTH] + ".md")


def pasted_document(title: str, lang: str, text: str) -> bytes:
    """A Markdown document with a front-matter block (title, and lang unless it is to be detected)."""
    title = " ".join((title or "").split())
    if not title:
        raise AdminError("A pasted text needs a title.")
    if not (text or "").strip():
        raise AdminError("The pasted text is empty.")
    if text.lstrip().startswith("---"):
        raise AdminError("Paste the text without a front-matter block: the title and language fields fill it in.")
    lang = (lang or "").strip().lower()
    header = f"---\ntitle: {title}\n" + (f"lang: {lang}\n" if lang else "") + "---\n\n"
    return (header + f"# {title}\n\n" + text.strip() + "\n").encode("utf-8")


# --- the corpus folder ------------------------------------------------------------------------

def corpus_files(corpus: Path) -> list[str]:
    """The document files in ``corpus`` (what :func:`corpus.load_corpus` reads), sorted."""
    corpus = Path(corpus)
    if not corpus.is_dir():
        return []
    return sorted(p.name for p in corpus.iterdir() if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES)


def corpus_documents(corpus: Path, catalog: dict) -> dict[str, Optional[Document]]:
    """File name -> its Document (None when the file is not usable as it is)."""
    documents = {}
    for name in corpus_files(corpus):
        try:
            documents[name] = parse_document(name, (Path(corpus) / name).read_bytes(), catalog.get(name, {}))
        except (CorpusError, OSError):
            documents[name] = None
    return documents


@dataclass
class Added:
    name: str
    document: Document
    replaced: list[str]  # files moved to the trash to make room
    notes: list[str]

    def message(self) -> str:
        d = self.document
        text = f"Added {self.name}: “{d.title}” ({language_name(d.lang)}, id {d.id})."
        if self.replaced:
            text += f" The previous {', '.join(self.replaced)} is in {TRASH_FOLDER}/."
        return " ".join([text, *self.notes])


def add_document(corpus: Path, name: str, raw: bytes, replace: bool = False) -> Added:
    """Validate ``raw`` as the document ``name`` and write it into ``corpus`` (temp file + rename).

    Refused (:class:`AdminError`, nothing written) when the bytes are not a usable document
    (binary, empty, not UTF-8, too large, language unknown or not one the library knows), or
    when the name or the document id is taken and ``replace`` is not set."""
    corpus = Path(corpus)
    name = document_name(name)
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise AdminError(f"{name}: {len(raw):,} bytes is larger than the {MAX_DOCUMENT_BYTES:,} byte limit.")
    try:
        catalog = read_catalog(corpus)
    except CorpusError as error:
        raise AdminError(f"The library's {CATALOG_NAME} is broken, so nothing can be added: {error}") from error
    entry = catalog.get(name, {})
    try:
        document = parse_document(name, raw, entry)
    except CorpusError as error:
        raise AdminError(f"Refused: {error}.") from error
    if document.lang not in language_names():
        raise AdminError(f"Refused: {name}: language {document.lang!r} is not one the library knows "
                         f"({', '.join(sorted(language_names()))}).")
    stem = Path(name).stem
    existing = corpus_documents(corpus, catalog)
    same_name = [n for n in existing if Path(n).stem == stem]
    same_id = [n for n, d in existing.items() if d is not None and d.id == document.id and n not in same_name]
    if same_id:
        raise AdminError(f"Refused: the document id {document.id!r} is already used by {same_id[0]}; "
                         f"choose another name or remove that document first.")
    if same_name and not replace:
        raise AdminError(f"Refused: {', '.join(same_name)} is already in the library. Tick “replace” to put this "
                         f"one in its place (the old file goes to {TRASH_FOLDER}/), or choose another name.")
    notes = []
    if entry:
        notes.append(f"Its {CATALOG_NAME} entry (title, language, translation_of …) applies to it.")
    staged = corpus / f".{stem}.{uuid.uuid4().hex}.upload"  # not .md/.txt: never read as a document
    try:
        with staged.open("xb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        replaced = []
        for old in same_name:
            if old == name:
                shutil.copy2(corpus / old, trash_path(corpus, old))  # then overwritten atomically below
            else:
                os.replace(corpus / old, trash_path(corpus, old))
            replaced.append(old)
        os.replace(staged, corpus / name)
    except OSError as error:
        raise AdminError(f"Could not write {name} into {corpus}: {error}") from error
    finally:
        staged.unlink(missing_ok=True)
    log.warning("library: added %s (%s, %d bytes)%s", name, document.lang, len(raw),
                f", replacing {', '.join(replaced)}" if replaced else "")
    return Added(name, document, replaced, notes)


def remove_document(corpus: Path, name: str) -> str:
    """Move the document ``name`` to ``corpus/.trash/``; its catalog entry is kept (see the module doc)."""
    corpus = Path(corpus)
    files = corpus_files(corpus)
    if name not in files:  # only names listed from the folder itself: never a path built from input
        raise AdminError(f"There is no document {name!r} in the library.")
    if len(files) == 1:
        raise AdminError(f"{name} is the library's last document; add another one before removing it.")
    try:
        target = trash_path(corpus, name)
        os.replace(corpus / name, target)
    except OSError as error:
        raise AdminError(f"Could not move {name} to {TRASH_FOLDER}/: {error}") from error
    log.warning("library: removed %s (kept as %s)", name, target)
    note = ""
    if name in read_catalog_quietly(corpus):
        note = f" Its {CATALOG_NAME} entry is kept: it applies again if the file is put back."
    return f"Removed {name}: moved to {TRASH_FOLDER}/{target.name}.{note}"


def read_catalog_quietly(corpus: Path) -> dict:
    try:
        return read_catalog(corpus)
    except CorpusError:
        return {}


def trash_path(corpus: Path, name: str) -> Path:
    trash = Path(corpus) / TRASH_FOLDER
    trash.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = trash / f"{stamp}-{name}"
    counter = 1
    while target.exists():
        counter += 1
        target = trash / f"{stamp}-{counter}-{name}"
    return target


# --- rebuilding -----------------------------------------------------------------------------

def rebuild_library(services, progress: Optional[Progress] = None):
    """Build a new index from ``corpus/`` into ``<index>.new/``, then swap it in (folder and services).

    Answers keep coming from the old index meanwhile; if anything fails, ``<index>.new/`` is
    removed, the old index stays in place and :class:`AdminError` says why. Returns the new Library."""
    from ..answering.advisor import Advisor
    from ..backends.embeddings import get_embedder
    from ..review.house_rules import load_library_rules
    from ..retrieval.library import Library
    from ..retrieval.search import Retriever
    from ..review.reviewer import Reviewer

    report = progress or (lambda fraction, text: None)
    if not services.rebuilding.acquire(blocking=False):
        raise AdminError("A rebuild is already running; wait for it to finish.")
    config = services.config
    index_dir = Path(config.index)
    staging = index_dir.with_name(index_dir.name + ".new")
    started = time.perf_counter()
    try:
        report(0.0, "Preparing a new index beside the old one")
        log.info("library: rebuilding the index into %s (the old one keeps serving)", staging)
        embedder = services.library.embedder if services.library is not None else get_embedder(
            config.embedder, config.threshold, config.late_interaction, config.embedder_dtype)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        copy_extras(index_dir, staging)
        report(0.05, "Reading the documents and embedding the passages")
        loaded = open_index(config.corpus, staging, embedder, force_rebuild=True)
        report(0.8, "Loading the house rules and the advisor on the new index")
        library = Library(config, embedder, loaded, Retriever(loaded, embedder), load_library_rules(config.corpus, loaded))
        generator = services.advisor.generator if services.advisor is not None else None
        advisor = Advisor(library, generator)
        reviewer = Reviewer(library, generator)
        report(0.95, "Swapping the new index in")
        swap_folders(staging, index_dir)
        loaded.folder = index_dir
        services.swap_library(library, advisor, reviewer)
    except AdminError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except Exception as error:
        log.exception("library: rebuild failed; the previous index keeps serving")
        shutil.rmtree(staging, ignore_errors=True)
        raise AdminError(f"The rebuild failed ({type(error).__name__}: {error}); the previous index keeps serving.") from error
    finally:
        services.rebuilding.release()
    status = loaded.status()
    log.info("library: new index in place: %d passages from %d documents in %.1fs", status["passages"],
             status["documents"], time.perf_counter() - started)
    report(1.0, "Done")
    return library


def copy_extras(index_dir: Path, staging: Path) -> None:
    """Files kept in the index folder that a build does not make (its README, glosses made by
    ``copyadvisor glosses``) go into the new folder too."""
    if not index_dir.is_dir():
        return
    for path in index_dir.iterdir():
        if path.is_file() and path.name not in INDEX_DATA_FILES and not path.name.startswith("."):
            shutil.copy2(path, staging / path.name)


def swap_folders(staging: Path, index_dir: Path) -> None:
    """``staging`` becomes ``index_dir``; the old folder is moved aside first and deleted last.
    (Two renames: a process that opens the index in between finds none and builds its own.)"""
    retired = index_dir.with_name(index_dir.name + ".old")
    shutil.rmtree(retired, ignore_errors=True)
    had_old = index_dir.exists()
    if had_old:
        os.replace(index_dir, retired)
    try:
        os.replace(staging, index_dir)
    except OSError:
        if had_old:
            os.replace(retired, index_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)
