"""Data types shared by every module: documents, passages and search hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

CONCEPTS = ("client", "customer", "other")


@dataclass(frozen=True)
class Document:
    """One article of the library, as read from ``corpus/``."""

    id: str
    path: str  # relative to the corpus folder
    title: str
    lang: str  # ISO 639-1 code
    text: str  # the file's text (UTF-8, byte-order mark removed); offsets point into it
    published: Optional[str] = None  # ISO date
    translation_of: Optional[str] = None  # documents sharing this are translations of one original
    sha256: str = ""
    titles: dict[str, str] = field(default_factory=dict)  # the title in other languages (catalog ``titles``)


@dataclass
class Passage:
    """A piece of a document cut along its own structure (heading, list item, paragraphs)."""

    id: str  # "<doc_id>#<n>"
    doc_id: str
    lang: str
    heading: str  # heading path, " › " separated, "" when none
    text: str  # == document.text[start:end]
    start: int
    end: int
    kind: str = "paragraph"  # paragraph | list | mixed
    concepts: list[str] = field(default_factory=list)  # subset of CONCEPTS; client+customer == "both"
    sense_source: str = "none"  # lexical | parallel | context | unresolved | none
    terms: list[str] = field(default_factory=list)  # other audience words seen (subscriber, user, ...)
    parallel_ids: list[str] = field(default_factory=list)  # aligned passages in translations

    @property
    def sense(self) -> str:
        """client, customer, both or other."""
        has_client = "client" in self.concepts
        has_customer = "customer" in self.concepts
        if has_client and has_customer:
            return "both"
        if has_client:
            return "client"
        if has_customer:
            return "customer"
        return "other"

    def embedding_text(self) -> str:
        """What the embedder sees: the heading gives a short passage its topic."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text

    def to_dict(self) -> dict:
        data = asdict(self)
        data["sense"] = self.sense
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Passage":
        data = {k: v for k, v in data.items() if k != "sense"}
        return cls(**data)


@dataclass
class Hit:
    """One search result."""

    passage: Passage
    score: float  # fused score, higher is better
    dense_score: float  # cosine similarity of query and passage
    lexical_score: float  # BM25 score (0 when the passage had no lexical match)
    rank: int = 0

    def to_dict(self) -> dict:
        p = self.passage
        return {
            "passage_id": p.id,
            "doc_id": p.doc_id,
            "lang": p.lang,
            "heading": p.heading,
            "text": p.text,
            "score": round(self.score, 6),
            "dense_score": round(self.dense_score, 6),
            "lexical_score": round(self.lexical_score, 6),
            "concepts": p.concepts,
            "sense": p.sense,
            "start": p.start,
            "end": p.end,
            "parallel_ids": p.parallel_ids,
        }


@dataclass
class SearchResult:
    """Hits for one query, with the signal that tells a real hit from "not covered"."""

    query: str
    hits: list[Hit]
    relevance: float  # best dense similarity, the raw signal
    relevant: bool  # relevance >= the embedder's threshold
    threshold: float

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "relevant": self.relevant,
            "relevance": round(self.relevance, 6),
            "threshold": self.threshold,
            "hits": [h.to_dict() for h in self.hits],
        }


@dataclass
class Recommendation:
    """Which word to use, decided from the question's signals and the evidence, not from free text."""

    term: Optional[str]  # client | customer | subscriber | member | user | buyer | consumer | shopper | None
    confidence: float
    rationale: str  # one line, English
    signals: dict[str, list[str]] = field(default_factory=dict)  # term -> phrases that pointed to it
    groups: tuple[str, ...] = ()  # when the question describes two groups: the word for each, in its order
    group_texts: tuple[str, ...] = ()  # ... and each group as the question describes it, in its own words


@dataclass
class Citation:
    number: int  # as written in the answer: [number]
    passage_id: str
    doc_id: str
    lang: str
    quote: str


@dataclass
class Answer:
    question: str
    text: str
    language: str  # ISO 639-1 of the question (and the answer)
    recommendation: Recommendation
    citations: list[Citation]
    grounded: bool  # answered from passages, with at least one valid citation
    declined: bool = False
    decline_reason: Optional[str] = None  # not_covered | out_of_scope | injection | invalid
    invalid_citations: list[str] = field(default_factory=list)  # "[7]" and the like, removed from text
    injection_detected: bool = False
    passages: list[dict] = field(default_factory=list)  # the numbered passages given to the model
    timings: dict = field(default_factory=dict)  # milliseconds
    generator: str = ""
    intent: Optional[str] = None  # the kind of question answered (difference, origin, verdict ...); None when declined
    rewritten: Optional[str] = None  # a rewrite request's sentence as revised (in the language of the sentence given)

    def to_dict(self) -> dict:
        return asdict(self)
