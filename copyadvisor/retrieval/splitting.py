"""Cutting documents into passages along their own structure.

A document is first read as *blocks*: one per non-blank line, each classified as a
title, heading, question, list item, paragraph, metadata or boilerplate. Passages are
then packed from consecutive body blocks under one heading, so a passage never spans
two sections, a list item keeps the paragraph that explains it, and a paragraph is
only ever cut at a sentence end (``。``, ``؟``, ``.`` ...), never inside a word.

Every passage's text is an exact slice of its document: ``doc.text[start:end]``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .corpus import DATE_LINE, FRONT_MATTER
from ..types import Document, Passage


HEADING_MAX_CHARS = 100
QUESTION_MAX_CHARS = 140
# Sizes in effective_length units; chosen on eval/retrieval.jsonl (finer passages scored worse).
MIN_PASSAGE = 350  # a new list item starts a passage once the current one is this long
TARGET_PASSAGE = 550  # a new paragraph starts a passage once the current one is this long
MAX_PASSAGE = 1100  # never grow a passage past this; longer paragraphs are cut at sentence ends
# A leftover shorter than this ("Don't worry, it is explained below.") joins the passage
# before it under the same heading: on its own it says nothing, yet it matches short questions.
MIN_FRAGMENT = 150

LIST_MARKER = re.compile(r"^(?:[-*•‣◦–—]|\d{1,2}[.)])\s+")
MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+")
SENTENCE_END = re.compile(r"[.!?…]+[\"'”»)]*\s+|[。！？؟]+[\"'”»」』)]*\s*|[!?]+\s*$")
TERMINAL_PUNCTUATION = tuple(".!?…:;。！？؟：；,،")
QUESTION_MARKS = ("?", "？", "؟")
BOILERPLATE = re.compile(
    r"\bGIFs?\b|^(?:get bonus content|zdobądź dodatkową zawartość)\b|^(?:click here|cliquez ici|kliknij tutaj|klik di sini|ここをクリック|انقر هنا)\W*$",
    re.IGNORECASE,
)
HEADING_SEPARATOR = " › "


@dataclass(frozen=True)
class Block:
    """One non-blank line of a document: its span and what it is."""

    start: int
    end: int
    kind: str  # title | heading | question | item | paragraph | meta | boilerplate
    index: int  # position among the document's blocks

    def text(self, doc: Document) -> str:
        return doc.text[self.start : self.end]


def read_blocks(doc: Document) -> list[Block]:
    """Classify every non-blank line of ``doc``."""
    blocks: list[Block] = []
    offset = front_matter_end(doc)
    markdown = doc.path.lower().endswith(".md")
    body_seen = previous_blank = False
    for line in doc.text[offset:].splitlines(keepends=True):
        line_start, offset = offset, offset + len(line)
        content = line.strip()
        if not content:
            previous_blank = True
            continue
        start = line_start + (len(line) - len(line.lstrip()))
        end = start + len(content)
        if not blocks and not body_seen and (not markdown or MARKDOWN_HEADING.match(content)):
            blocks.append(Block(start, end, "title", 0))  # in Markdown only a # line is a title
            continue
        date = DATE_LINE.match(content) if not body_seen else None
        if date:
            blocks.append(Block(start, start + date.end(), "meta", len(blocks)))
            start += date.end()
            content = doc.text[start:end].strip()
            if not content:
                continue
            start = end - len(content)
        kind = classify_markdown_line(content) if markdown else classify_line(content)
        if markdown and continues(blocks, kind, previous_blank):
            blocks[-1] = Block(blocks[-1].start, end, blocks[-1].kind, blocks[-1].index)  # a hard-wrapped line
        else:
            blocks.append(Block(start, end, kind, len(blocks)))
        body_seen = body_seen or kind in ("paragraph", "item")
        previous_blank = False
    return blocks


def continues(blocks: list[Block], kind: str, previous_blank: bool) -> bool:
    """A Markdown line without a marker, right under a paragraph or list item, continues it."""
    return kind == "paragraph" and not previous_blank and bool(blocks) and blocks[-1].kind in ("paragraph", "item")


def classify_markdown_line(content: str) -> str:
    """In Markdown only ``#`` lines are headings; lines are joined into paragraphs by blank lines."""
    if BOILERPLATE.search(content):
        return "boilerplate"
    if MARKDOWN_HEADING.match(content):
        return "heading"
    return "item" if LIST_MARKER.match(content) else "paragraph"


def front_matter_end(doc: Document) -> int:
    """Where a Markdown document's front-matter block (``---`` ... ``---``) ends; 0 without one."""
    match = FRONT_MATTER.match(doc.text) if doc.path.lower().endswith(".md") else None
    return match.end() if match else 0


def classify_line(content: str) -> str:
    if BOILERPLATE.search(content):
        return "boilerplate"
    if MARKDOWN_HEADING.match(content):
        return "heading"
    if LIST_MARKER.match(content):
        return "item"
    if content.endswith(QUESTION_MARKS) and len(content) <= QUESTION_MAX_CHARS:
        return "question"
    if len(content) <= HEADING_MAX_CHARS and not content.endswith(TERMINAL_PUNCTUATION):
        return "heading"
    return "paragraph"


def effective_length(text: str) -> int:
    """Length in rough "Latin characters": a CJK character carries about two."""
    return sum(2 if is_wide(ch) else 1 for ch in text)


def is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def split_document(doc: Document, blocks: list[Block] | None = None) -> list[Passage]:
    """Passages of ``doc``; ``passage.text == doc.text[passage.start:passage.end]``."""
    blocks = read_blocks(doc) if blocks is None else blocks
    passages: list[Passage] = []
    heading = ""
    heading_has_body = True
    current: list[Block] = []
    previous: list[Block] = []  # the blocks of the last passage, while it may still take a fragment

    def flush() -> None:
        nonlocal previous
        if not current:
            return
        if joins_previous(passages, current, heading):
            previous = previous + current
            passages[-1] = make_passage(doc, len(passages) - 1, heading, previous)
        else:
            previous = list(current)
            passages.append(make_passage(doc, len(passages), heading, current))
        current.clear()

    def joins_previous(done: list[Passage], blocks: list[Block], section: str) -> bool:
        size = sum(effective_length(b.text(doc)) for b in blocks)
        if not done or done[-1].heading != section or size >= MIN_FRAGMENT:
            return False
        return effective_length(done[-1].text) + size <= MAX_PASSAGE

    for block in blocks:
        if block.kind in ("title", "meta", "boilerplate"):
            continue
        if block.kind in ("heading", "question"):
            flush()
            title = clean_heading(block.text(doc))
            # Headings in a row with no text between them nest: "FAQ › What is a client?"
            heading = title if heading_has_body or not heading else heading + HEADING_SEPARATOR + title
            heading_has_body = False
            continue
        heading_has_body = True
        for piece in cut_long_block(doc, block):
            size = sum(effective_length(b.text(doc)) for b in current)
            piece_size = effective_length(piece.text(doc))
            starts_new = (
                (piece.kind == "item" and size >= MIN_PASSAGE)
                or size + piece_size > MAX_PASSAGE
                or size >= TARGET_PASSAGE
            )
            if current and starts_new:
                flush()
            current.append(piece)
    flush()
    return passages


def clean_heading(text: str) -> str:
    return MARKDOWN_HEADING.sub("", text).strip()


def make_passage(doc: Document, number: int, heading: str, blocks: list[Block]) -> Passage:
    start, end = blocks[0].start, blocks[-1].end
    kinds = {b.kind for b in blocks}
    kind = "list" if kinds == {"item"} else ("mixed" if "item" in kinds else "paragraph")
    return Passage(
        id=f"{doc.id}#{number:03d}",
        doc_id=doc.id,
        lang=doc.lang,
        heading=heading,
        text=doc.text[start:end],
        start=start,
        end=end,
        kind=kind,
    )


def cut_long_block(doc: Document, block: Block) -> list[Block]:
    """The block itself, or pieces of at most MAX_PASSAGE cut at sentence ends."""
    text = block.text(doc)
    if effective_length(text) <= MAX_PASSAGE:
        return [block]
    pieces: list[Block] = []
    piece_start = 0
    last_cut = 0
    for cut in sentence_ends(text):
        if effective_length(text[piece_start:cut]) > MAX_PASSAGE and last_cut > piece_start:
            pieces.append(trimmed_block(block, text, piece_start, last_cut))
            piece_start = last_cut
        last_cut = cut
    while effective_length(text[piece_start:]) > MAX_PASSAGE and last_cut > piece_start:
        pieces.append(trimmed_block(block, text, piece_start, last_cut))
        piece_start = last_cut
    pieces.append(trimmed_block(block, text, piece_start, len(text)))
    return [p for p in pieces if p.end > p.start]


def sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence end (including the space that follows it)."""
    ends = [m.end() for m in SENTENCE_END.finditer(text)]
    if not ends or ends[-1] != len(text):
        ends.append(len(text))
    return ends


def trimmed_block(block: Block, text: str, start: int, end: int) -> Block:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    return Block(block.start + start + lead, block.start + end - trail, block.kind, block.index)
