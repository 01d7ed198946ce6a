"""Reading and validating the documents in ``corpus/``.

Every ``.txt`` and ``.md`` file in the folder is a document. Metadata comes from
``catalog.toml`` (see the comments in the bundled one), from a Markdown front-matter
block, or is inferred: title from the first line, language detected from the text,
publication date from a "Published: 2022-04-29" style line.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..types import Document

log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = (".txt", ".md")
CATALOG_NAME = "catalog.toml"
MAX_DOCUMENT_BYTES = 5_000_000
# A date at the start of a line, after a short label in any language ("Publié: 2022-04-29").
DATE_LINE = re.compile(r"^[^\W\d_]{2,20}\s*[:：]\s*(\d{4}-\d{2}-\d{2})", re.MULTILINE)
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CorpusError(ValueError):
    """A document cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class CorpusSnapshot:
    """The loaded documents plus a fingerprint of everything they were read from."""

    documents: list[Document]
    fingerprint: str  # sha256 over file names, contents and the catalog
    skipped: list[str]  # "file: reason" for documents left out (when not strict)


def load_corpus(folder: Path, strict: bool = True) -> CorpusSnapshot:
    """Load every document in ``folder``.

    With ``strict`` a bad file raises :class:`CorpusError`; otherwise it is skipped,
    logged, and listed in ``skipped`` so the rest of the library stays usable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"corpus folder {folder} does not exist")
    catalog = read_catalog(folder)
    digest = hashlib.sha256()
    catalog_path = folder / CATALOG_NAME
    if catalog_path.exists():
        digest.update(catalog_path.read_bytes())
    documents, skipped = [], []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in DOCUMENT_SUFFIXES and p.is_file()):
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(raw).digest())
        try:
            documents.append(parse_document(path.name, raw, catalog.get(path.name, {})))
        except CorpusError as error:
            if strict:
                raise
            log.warning("skipping %s", error)
            skipped.append(str(error))
    check_unique_ids(documents)
    if not documents:
        raise CorpusError(f"no usable .txt or .md documents in {folder}")
    log.info("loaded %d documents from %s", len(documents), folder)
    return CorpusSnapshot(documents, digest.hexdigest(), skipped)


def read_catalog(folder: Path) -> dict[str, dict]:
    """Map file name -> metadata from ``catalog.toml`` (empty when there is none)."""
    path = folder / CATALOG_NAME
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CorpusError(f"{path.name}: not valid TOML: {error}") from error
    entries = data.get("document", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "file" in e for e in entries):
        raise CorpusError(f"{path.name}: expected [[document]] tables, each with a 'file' key")
    return {entry["file"]: entry for entry in entries}


def parse_document(name: str, raw: bytes, metadata: dict) -> Document:
    """Validate one file's bytes and build its :class:`Document`."""
    text = decode_text(name, raw)
    metadata = dict(metadata)
    match = FRONT_MATTER.match(text)
    if match and name.lower().endswith(".md"):
        metadata = {**parse_front_matter(match.group(1)), **metadata}
    lang = (metadata.get("lang") or detect_document_language(name, text)).lower()
    if not re.fullmatch(r"[a-z]{2,3}", lang):
        raise CorpusError(f"{name}: language {lang!r} is not an ISO 639 code such as 'fr'")
    published = str(metadata["published"]) if metadata.get("published") else find_publication_date(text)
    if published and not ISO_DATE.match(published):
        raise CorpusError(f"{name}: published date {published!r} is not YYYY-MM-DD")
    return Document(
        id=str(metadata.get("id") or Path(name).stem),
        path=name,
        title=str(metadata.get("title") or first_line(text)),
        lang=lang,
        text=text,
        published=published,
        translation_of=metadata.get("translation_of"),
        sha256=hashlib.sha256(raw).hexdigest(),
        titles=read_titles(name, metadata.get("titles")),
    )


def read_titles(name: str, titles) -> dict[str, str]:
    """The catalog's ``titles = { en = "...", de = "..." }``: the title in other languages."""
    if titles is None:
        return {}
    if not isinstance(titles, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in titles.items()):
        raise CorpusError(f"{name}: titles must be a table of language = \"title\"")
    return {lang.lower(): title.strip() for lang, title in titles.items()}


def decode_text(name: str, raw: bytes) -> str:
    """UTF-8 text of a file, or a :class:`CorpusError` saying why it is not usable."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise CorpusError(f"{name}: {len(raw):,} bytes is larger than the {MAX_DOCUMENT_BYTES:,} byte limit")
    if b"\0" in raw:
        raise CorpusError(f"{name}: contains NUL bytes; this looks like a binary file, not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(f"{name}: not UTF-8 text (bad byte at offset {error.start}); re-save it as UTF-8") from error
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise CorpusError(f"{name}: the file is empty")
    if not any(ch.isalpha() for ch in text):
        raise CorpusError(f"{name}: has no words in it")
    return text


def parse_front_matter(block: str) -> dict:
    """``key: value`` lines of a Markdown front-matter block."""
    result = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            result[key.strip()] = value.strip().strip("'\"")
    return result


def first_line(text: str) -> str:
    body = FRONT_MATTER.sub("", text, count=1)
    for line in body.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:200]
    return ""


def find_publication_date(text: str) -> Optional[str]:
    match = DATE_LINE.search(text[:2000])
    return match.group(1) if match else None


def detect_document_language(name: str, text: str) -> str:
    """ISO 639-1 code of the text's language, or a :class:`CorpusError` if unsure."""
    from ..language import detect_language

    lang = detect_language(text[:5000], min_confidence=0.5)
    if lang is None:
        raise CorpusError(
            f"{name}: unknown language; could not tell it from the text. "
            f"Declare it with lang = \"..\" in {CATALOG_NAME} or in the front matter"
        )
    log.info("%s: no language declared, detected %r", name, lang)
    return lang


def check_unique_ids(documents: list[Document]) -> None:
    seen: dict[str, str] = {}
    for doc in documents:
        if doc.id in seen:
            raise CorpusError(f"{doc.path}: id {doc.id!r} is already used by {seen[doc.id]}")
        seen[doc.id] = doc.path
