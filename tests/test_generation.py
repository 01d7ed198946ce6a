"""Model loading, caching and streaming with the real bundled model, and the OpenAI back end
against a real llama.cpp server (llama-cpp-python) running on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from copyadvisor.backends import model_cache
from copyadvisor.backends.generation import GenerationError, OpenAIGenerator, TransformersGenerator, get_generator, parse_sse
from copyadvisor.backends.model_cache import QWEN_CODER_05B, assemble_gguf, cache_dir, int8_cache_file, load_model

HELLO = [{"role": "user", "content": "Say hello in French in one short sentence."}]


@pytest.fixture(scope="session")
def generator():
    return get_generator("bundled", "int8")


def test_bundled_model_is_assembled_verified_and_cached(generator):
    gguf = cache_dir() / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"  # the path it has always had
    assert gguf.stat().st_size == QWEN_CODER_05B.size
    assert (cache_dir() / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m-hf" / "model.safetensors").exists()
    assert int8_cache_file(model_cache.bundled_model_dir()).exists()


def test_later_loads_are_fast_and_identical(generator):
    started = time.perf_counter()
    again = load_model("bundled", "int8")
    seconds = time.perf_counter() - started
    print(f"int8 load from cache: {seconds:.1f}s")  # a figure, not an assertion: CI machines are noisy
    text_a = "".join(generator.stream(HELLO, max_new_tokens=12))
    text_b = "".join(TransformersGenerator(loaded=again).stream(HELLO, max_new_tokens=12))
    assert text_a == text_b and len(text_a) > 5


def test_streaming_yields_prefix_then_pieces(generator):
    pieces = list(generator.stream(HELLO, prefix="Bonjour", max_new_tokens=16))
    assert pieces[0] == "Bonjour" and len(pieces) > 3


def test_stop_condition_ends_generation_early(generator):
    pieces = list(generator.stream([{"role": "user", "content": "Count from 1 to 50, comma separated."}],
                                   max_new_tokens=150, stop=lambda text: text.count(",") >= 3))
    assert "".join(pieces).count(",") < 10


# Joining and verifying parts (wrong size, wrong hash, a missing package) is tested on
# small fake parts in test_model_cache.py.


def test_missing_or_broken_model_directory(tmp_path):
    with pytest.raises(GenerationError, match="not a transformers model directory"):
        get_generator(str(tmp_path))
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(GenerationError, match="could not load"):
        get_generator(str(tmp_path), "bf16")


def test_damaged_int8_cache_is_rebuilt(generator, tmp_path, monkeypatch):
    monkeypatch.setenv("COPYADVISOR_CACHE", str(cache_dir()))
    cached = int8_cache_file(model_cache.bundled_model_dir())
    backup = tmp_path / "backup"
    backup.write_bytes(cached.read_bytes())
    try:
        cached.write_bytes(b"not a safetensors file")
        rebuilt = load_model("bundled", "int8")
        assert "".join(TransformersGenerator(loaded=rebuilt).stream(HELLO, max_new_tokens=8))
        assert cached.stat().st_size > 100_000_000
    finally:
        if cached.stat().st_size < 100_000_000:
            cached.write_bytes(backup.read_bytes())


def test_parse_sse_reads_content_and_stops_at_done():
    lines = [
        'data: {"choices":[{"delta":{"role":"assistant"}}]}', "",
        'data: {"choices":[{"delta":{"content":"Hel"}}]}',
        ": keep-alive",
        'data: {"choices":[{"delta":{"content":"lo"}}]}',
        "data: [DONE]",
        'data: {"choices":[{"delta":{"content":"ignored"}}]}',
    ]
    assert list(parse_sse(iter(lines))) == ["Hel", "lo"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(generator):
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is in the test extras")
    gguf = assemble_gguf(QWEN_CODER_05B)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "4096", "--model_alias", "qwen", "--n_threads", str(os.cpu_count() or 2)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    import httpx

    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("llama.cpp server did not start")
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_openai_backend_streams_from_a_real_server(llama_server):
    generator = OpenAIGenerator(llama_server, "qwen")
    pieces = list(generator.stream(HELLO, prefix='Use "client".', max_new_tokens=24))
    assert pieces[0] == 'Use "client".' and len(pieces) > 3
    assert len("".join(pieces)) > len(pieces[0]) + 5


def test_advisor_answers_through_the_openai_backend(llama_server, library):
    from copyadvisor.answering.advisor import Advisor

    answer = Advisor(library, OpenAIGenerator(llama_server, "qwen")).ask("We are a law firm with long-term retainers. Client or customer?")
    assert answer.recommendation.term == "client" and answer.grounded and answer.citations
    assert answer.generator.startswith("openai:qwen@")


def test_unreachable_server_is_a_clear_error():
    generator = OpenAIGenerator(f"http://127.0.0.1:{free_port()}/v1", "qwen", timeout=3)
    with pytest.raises(GenerationError, match="cannot reach"):
        list(generator.stream(HELLO))
