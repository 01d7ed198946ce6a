# Two commands set everything up on a fresh machine:
#   make run    install into .venv, then start the app on http://127.0.0.1:7860
#   make test   install into .venv (with test extras), then run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-test bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# torch first, pinned: 2.13.0 is the CPU build (a looser spec pulls a multi-GB CUDA build)
	$(BIN)/pip install torch==2.13.0

install: $(BIN)/python
	$(BIN)/pip install -e .

install-test: $(BIN)/python
	$(BIN)/pip install -e '.[test]'

run: install
	$(BIN)/python app.py

test: install-test
	$(BIN)/python -m pytest -ra

eval: install
	$(BIN)/copyadvisor eval retrieval

bench: install
	$(BIN)/copyadvisor bench

clean:
	rm -rf $(VENV) index/*.faiss index/*.jsonl index/manifest.json
