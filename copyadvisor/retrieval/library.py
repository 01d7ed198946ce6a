"""The assembled library: a config turned into an embedder, a verified index and a retriever,
plus the house rules kept beside the documents (``corpus/styles``, see ``house_rules.py``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from ..config import Config
from ..backends.embeddings import Embedder, get_embedder
from ..review.house_rules import HouseRules, load_library_rules
from .index import LoadedIndex, open_index
from .search import Retriever
from ..types import Passage, SearchResult

log = logging.getLogger(__name__)


@dataclass
class Library:
    config: Config
    embedder: Embedder
    index: LoadedIndex
    retriever: Retriever
    house_rules: Optional[HouseRules] = None  # None: not loaded (a Library built by hand)

    def search(self, query: object, k: int = 5, collapse_translations: bool = True) -> SearchResult:
        return self.retriever.search(query, k=k, collapse_translations=collapse_translations)

    def passage(self, passage_id: str) -> Passage:
        return self.index.passage(passage_id)

    def topics(self, language: str) -> list[str]:
        """One title per document (translations of one original count once), in ``language``
        where the library has it (the document's own title or its catalog ``titles``), else English."""
        groups: dict[str, list[dict]] = {}
        for doc in self.index.manifest.get("documents", []):
            groups.setdefault(doc.get("translation_of") or doc["id"], []).append(doc)
        topics = []
        for docs in groups.values():
            titles = {doc["lang"]: doc["title"] for doc in docs}
            for doc in docs:
                titles = {**(doc.get("titles") or {}), **titles}
            topics.append(titles.get(language) or titles.get("en") or docs[0]["title"])
        return topics

    def parallels(self, passage_id: str) -> list[Passage]:
        """The passages that translate ``passage_id`` in the other articles of its group."""
        return [self.index.passage(pid) for pid in self.index.passage(passage_id).parallel_ids]

    def reload_house_rules(self) -> HouseRules:
        """Read ``<corpus>/styles`` again (after a rule file is added or edited); never raises."""
        self.house_rules = load_library_rules(self.config.corpus, self.index)
        return self.house_rules


def open_library(config: Config, force_rebuild: bool = False, progress=None) -> Library:
    """Load (or rebuild) everything ``config`` names; raises clear errors for a bad corpus or model.
    ``progress(stage, done, total)`` hears how far it has got (see ``progress.py``).

    House rules never stop the library: a bad rule file is left out and listed in
    ``library.house_rules.problems``."""
    if progress:
        progress("load_embedder", 0, None)
    embedder = get_embedder(config.embedder, config.threshold, config.late_interaction, config.embedder_dtype)
    index = open_index(config.corpus, config.index, embedder, force_rebuild=force_rebuild, progress=progress)
    return Library(config, embedder, index, Retriever(index, embedder), load_library_rules(config.corpus, index))


def open_generator(config: Config, progress=None):
    """The generator the config names (loads the model: seconds from cache, a minute the first time)."""
    from ..backends.generation import get_generator

    return get_generator(config.llm, config.quantization, base_url=config.llm_url, api_key=config.llm_api_key,
                         progress=progress)
