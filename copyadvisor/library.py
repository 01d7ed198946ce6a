"""The assembled library: a config turned into an embedder, a verified index and a retriever."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .config import Config
from .embeddings import Embedder, get_embedder
from .index import LoadedIndex, open_index
from .retrieval import Retriever
from .types import Passage, SearchResult

log = logging.getLogger(__name__)


@dataclass
class Library:
    config: Config
    embedder: Embedder
    index: LoadedIndex
    retriever: Retriever

    def search(self, query: object, k: int = 5, collapse_translations: bool = True) -> SearchResult:
        return self.retriever.search(query, k=k, collapse_translations=collapse_translations)

    def passage(self, passage_id: str) -> Passage:
        return self.index.passage(passage_id)

    def parallels(self, passage_id: str) -> list[Passage]:
        """The passages that translate ``passage_id`` in the other articles of its group."""
        return [self.index.passage(pid) for pid in self.index.passage(passage_id).parallel_ids]


def open_library(config: Config, force_rebuild: bool = False) -> Library:
    """Load (or rebuild) everything ``config`` names; raises clear errors for a bad corpus or model."""
    embedder = get_embedder(config.embedder, config.threshold, config.late_interaction, config.embedder_dtype)
    index = open_index(config.corpus, config.index, embedder, force_rebuild=force_rebuild)
    return Library(config, embedder, index, Retriever(index, embedder))


def open_generator(config: Config):
    """The generator the config names (loads the model: seconds from cache, a minute the first time)."""
    from .generation import get_generator

    return get_generator(config.llm, config.quantization, base_url=config.llm_url, api_key=config.llm_api_key)
