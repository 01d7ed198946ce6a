"""Term sense and parallel passages.

The French, Polish and Arabic texts often render both "client" and "customer" with one
word (client / klient / عميل), so the word alone does not tell which English concept a
passage discusses. Sense is decided per block, in this order:

1. *lexical*: a word that is unambiguous in its language (クライアント / 顧客, klien /
   pelanggan, client / customer, الزبون ...);
2. *parallel*: for translations of one original, the aligned blocks in a language that
   keeps the two words apart (the Japanese and Indonesian do);
3. *context*: cue words around the ambiguous word (one-off purchase, price, store ->
   customer; relationship, long-term, professional, trust -> client);
4. *unresolved*: the ambiguous word is there but nothing tells which; counted as both.

Translations are aligned block by block with a monotone dynamic programme over
length, structure and shared anchors (numbers, Latin words such as SaaS or B2B), in the
spirit of Gale & Church (1993); no embedding model is needed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from ..knowledge import senses as sense_data
from .splitting import Block, effective_length, read_blocks, split_document
from ..types import Document, Passage

# The words and cues are data: ``data/senses.toml``, read through
# :func:`copyadvisor.knowledge.senses`.
# English words count in any language (the "*" patterns), except "client" where the
# language writes it for both concepts (``own_client_word``).


@dataclass
class BlockSense:
    concepts: set[str] = field(default_factory=set)
    ambiguous: bool = False
    source: str = "none"
    terms: set[str] = field(default_factory=set)


def lexical_sense(text: str, lang: str) -> BlockSense:
    """What the words alone say: unambiguous concepts, and whether an ambiguous word occurs."""
    sense = BlockSense()
    known = sense_data()
    client_patterns = [known.client_words.get(lang), None if lang in known.own_client_word else known.client_words.get("*")]
    customer_patterns = [known.customer_words.get(lang), known.customer_words.get("*")]
    ambiguous = known.ambiguous.get(lang)
    if any(p is not None and p.search(text) for p in client_patterns):
        sense.concepts.add("client")
    if any(p is not None and p.search(text) for p in customer_patterns):
        sense.concepts.add("customer")
    if ambiguous is not None and ambiguous.search(text):
        sense.ambiguous = True
    sense.terms = {name for name, pattern in known.other.items() if pattern.search(text)}
    if sense.concepts:
        sense.source = "lexical"
    return sense


def context_sense(text: str, lang: str) -> set[str]:
    """Concepts suggested by cue words around an ambiguous term (empty when no cue).

    Cues vote: a side with at least twice the other's cues wins alone, otherwise both.
    """
    cues = sense_data()
    customer = len(cues.customer_cues[lang].findall(text)) if lang in cues.customer_cues else 0
    client = len(cues.client_cues[lang].findall(text)) if lang in cues.client_cues else 0
    if customer == client == 0:
        return set()
    if customer >= 2 * client:
        return {"customer"}
    if client >= 2 * customer:
        return {"client"}
    return {"client", "customer"}


# --- alignment -------------------------------------------------------------------

SKIP_COST = 1.0
KIND_GROUPS = {"heading": "head", "question": "head", "title": "title", "item": "item", "paragraph": "para"}
ANCHOR = re.compile(r"[A-Za-z][A-Za-z0-9]{1,}|\d+")


def block_features(doc: Document, blocks: list[Block]) -> list[tuple[float, str, frozenset]]:
    lengths = [max(effective_length(b.text(doc)), 1) for b in blocks]
    mean = sum(lengths) / len(lengths)
    return [
        (length / mean, KIND_GROUPS.get(b.kind, b.kind), frozenset(ANCHOR.findall(b.text(doc))) - {"vs", "Vs"})
        for b, length in zip(blocks, lengths)
    ]


def match_cost(a: tuple, b: tuple) -> float:
    (len_a, kind_a, anchors_a), (len_b, kind_b, anchors_b) = a, b
    cost = abs(len_a - len_b) / (len_a + len_b)  # 0 (same relative length) .. 1
    if kind_a != kind_b:
        cost += 0.6
    if anchors_a and anchors_b:
        cost += -0.3 if anchors_a & anchors_b else 0.2
    return cost


def align_blocks(doc_a: Document, blocks_a: list[Block], doc_b: Document, blocks_b: list[Block]) -> list[tuple[int, int]]:
    """Pairs (i, j) of aligned positions in ``blocks_a`` and ``blocks_b`` (monotone, 1:1 or skip)."""
    fa, fb = block_features(doc_a, blocks_a), block_features(doc_b, blocks_b)
    n, m = len(fa), len(fb)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            here = cost[i][j]
            if here == inf:
                continue
            if i < n and j < m and here + match_cost(fa[i], fb[j]) < cost[i + 1][j + 1]:
                cost[i + 1][j + 1], back[i + 1][j + 1] = here + match_cost(fa[i], fb[j]), (i, j)
            if i < n and here + SKIP_COST < cost[i + 1][j]:
                cost[i + 1][j], back[i + 1][j] = here + SKIP_COST, (i, j)
            if j < m and here + SKIP_COST < cost[i][j + 1]:
                cost[i][j + 1], back[i][j + 1] = here + SKIP_COST, (i, j)
    pairs = []
    i, j = n, m
    while (i, j) != (0, 0):
        pi, pj = back[i][j]
        if i - pi == 1 and j - pj == 1:
            pairs.append((pi, pj))
        i, j = pi, pj
    return pairs[::-1]


# --- putting it together ---------------------------------------------------------


def content_blocks(blocks: list[Block]) -> list[Block]:
    return [b for b in blocks if b.kind not in ("meta", "boilerplate")]


def build_passages(documents: list[Document]) -> list[Passage]:
    """Split every document, then fill in each passage's parallels and term sense."""
    blocks = {doc.id: content_blocks(read_blocks(doc)) for doc in documents}
    passages = {doc.id: split_document(doc) for doc in documents}
    owner = {doc.id: passage_of_block(blocks[doc.id], passages[doc.id]) for doc in documents}
    senses = {
        doc.id: [lexical_sense(b.text(doc), doc.lang) for b in blocks[doc.id]] for doc in documents
    }
    aligned = align_translations(documents, blocks)  # (doc, block) -> [(doc, block)]
    by_id = {doc.id: doc for doc in documents}
    for doc in documents:
        for index, sense in enumerate(senses[doc.id]):
            resolve_block_sense(doc, blocks[doc.id][index], sense, aligned.get((doc.id, index), []), senses, by_id)
    for doc in documents:
        for passage in passages[doc.id]:
            indices = [i for i, pid in enumerate(owner[doc.id]) if pid == passage.id]
            apply_sense(passage, [senses[doc.id][i] for i in indices])
            parallels = {
                owner[other_doc][other_index]
                for i in indices
                for other_doc, other_index in aligned.get((doc.id, i), [])
                if owner[other_doc][other_index] is not None
            }
            passage.parallel_ids = sorted(parallels)
    return [p for doc in documents for p in passages[doc.id]]


def passage_of_block(blocks: list[Block], passages: list[Passage]) -> list[str | None]:
    """For each block, the id of the passage whose span contains it (None for headings)."""
    result: list[str | None] = []
    for block in blocks:
        owner = next((p.id for p in passages if p.start <= block.start and block.end <= p.end), None)
        result.append(owner)
    return result


def align_translations(documents: list[Document], blocks: dict[str, list[Block]]) -> dict:
    groups: dict[str, list[Document]] = defaultdict(list)
    for doc in documents:
        if doc.translation_of:
            groups[doc.translation_of].append(doc)
    aligned: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for members in groups.values():
        for x, doc_a in enumerate(members):
            for doc_b in members[x + 1 :]:
                for i, j in align_blocks(doc_a, blocks[doc_a.id], doc_b, blocks[doc_b.id]):
                    aligned[(doc_a.id, i)].append((doc_b.id, j))
                    aligned[(doc_b.id, j)].append((doc_a.id, i))
    return aligned


def resolve_block_sense(doc, block, sense: BlockSense, parallels, senses, by_id) -> None:
    if not sense.ambiguous:
        return
    from_parallels = set()
    for other_doc, other_index in parallels:
        if by_id[other_doc].lang in sense_data().unambiguous_languages:
            from_parallels |= senses[other_doc][other_index].concepts
    if from_parallels:
        sense.concepts |= from_parallels
        sense.source = "parallel"
        return
    from_context = context_sense(block.text(doc), doc.lang)
    if from_context:
        sense.concepts |= from_context
        sense.source = "context"
    elif not sense.concepts:
        sense.concepts = {"client", "customer"}
        sense.source = "unresolved"


SOURCE_PRIORITY = ("unresolved", "context", "parallel", "lexical")


def apply_sense(passage: Passage, senses: list[BlockSense]) -> None:
    concepts = set().union(*(s.concepts for s in senses)) if senses else set()
    terms = set().union(*(s.terms for s in senses)) if senses else set()
    sources = {s.source for s in senses}
    passage.concepts = sorted(concepts) if concepts else ["other"]
    passage.terms = sorted(terms)
    passage.sense_source = next((s for s in SOURCE_PRIORITY if s in sources), "none")
