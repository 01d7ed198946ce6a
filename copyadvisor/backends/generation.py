"""The ``Generator`` interface and its back ends.

* ``transformers`` (default): a local causal LM on the CPU; by default the bundled
  Qwen2.5-Coder-0.5B-Instruct, or ``qwen2.5-coder-1.5b`` when its packages are installed
  (see ``model_cache.BUNDLED_MODELS``), int8, streamed token by token.
* ``openai``: any OpenAI-compatible chat endpoint (vLLM, TGI, llama.cpp's server,
  Ollama), configured by base URL and model name.

A generator takes chat messages and an optional *prefix*: text the answer must start
with (the transformers back end continues from it; the HTTP back end is told to start
with it and the prefix is prepended if the server does not repeat it). It yields text
pieces as they are produced.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Protocol, runtime_checkable

from .model_cache import BUNDLED, LoadedModel, ModelError, load_model

log = logging.getLogger(__name__)

DEFAULT_MAX_NEW_TOKENS = 160


class GenerationError(RuntimeError):
    """Generation failed (model missing, server unreachable ...); the message says why."""


@runtime_checkable
class Generator(Protocol):
    id: str

    def stream(
        self, messages: list[dict], prefix: str = "", max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        stop: Optional[Callable[[str], bool]] = None,
    ) -> Iterator[str]:
        """Yield ``prefix``, then generated text; end early once ``stop(text_so_far)`` is true."""
        ...


@dataclass
class TransformersGenerator:
    """Greedy decoding with a local transformers model, streamed through ``TextIteratorStreamer``."""

    source: str = BUNDLED
    quantization: str = "int8"
    loaded: LoadedModel | None = None
    progress: Optional[Callable] = field(default=None, repr=False, compare=False)  # see progress.py
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.loaded is None:
            try:
                self.loaded = load_model(self.source, self.quantization, progress=self.progress)
            except ModelError as error:
                raise GenerationError(str(error)) from error
        self.id = f"transformers:{self.source}:{self.quantization}"
        if self.progress:
            self.progress("warm_up", 0, None)
        self.warm_up()

    def warm_up(self) -> None:
        """A prompt of realistic length through the model, so the first question does not pay for set-up."""
        filler = "A customer buys once; a client stays for a long relationship. " * 40
        for _ in self.stream([{"role": "user", "content": filler}], max_new_tokens=2):
            pass

    @property
    def tokenizer(self):
        return self.loaded.tokenizer

    def prompt_ids(self, messages: list[dict], prefix: str = ""):
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) + prefix
        return self.tokenizer(text, return_tensors="pt", add_special_tokens=False)

    def stream(self, messages, prefix="", max_new_tokens=DEFAULT_MAX_NEW_TOKENS, stop=None) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        inputs = self.prompt_ids(messages, prefix)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=120)
        failure: list[BaseException] = []
        produced: list[str] = []

        class StopWhenAsked(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return stop is not None and stop("".join(produced))

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.loaded.model.generate(
                        **inputs,
                        streamer=streamer,
                        max_new_tokens=max_new_tokens,
                        do_sample=False,
                        stopping_criteria=StoppingCriteriaList([StopWhenAsked()]),
                        pad_token_id=self.tokenizer.eos_token_id,
                    )
            except BaseException as error:  # surfaced in the consumer thread below
                failure.append(error)
                streamer.end()

        with self._lock:  # one generation at a time per loaded model
            worker = threading.Thread(target=run, name="copyadvisor-generate", daemon=True)
            worker.start()
            yield prefix
            for piece in streamer:
                if piece:
                    produced.append(piece)
                    yield piece
            worker.join()
        if failure:
            raise GenerationError(f"generation failed: {failure[0]}") from failure[0]


@dataclass
class OpenAIGenerator:
    """Any OpenAI-compatible ``/v1/chat/completions`` endpoint, streamed with server-sent events."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 120.0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.id = f"openai:{self.model}@{self.base_url}"

    def stream(self, messages, prefix="", max_new_tokens=DEFAULT_MAX_NEW_TOKENS, stop=None) -> Iterator[str]:
        import httpx

        if prefix:  # chat APIs have no standard prefill: ask for a continuation, drop the prefix if repeated
            note = f"\n\nYour answer has already started with: {prefix}\nContinue it."
            messages = [*messages[:-1], {**messages[-1], "content": messages[-1]["content"] + note}]
        payload = {"model": self.model, "messages": messages, "stream": True, "max_tokens": max_new_tokens, "temperature": 0}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        yield prefix
        produced, pending = "", prefix.strip()
        try:
            with httpx.stream("POST", f"{self.base_url}/chat/completions", json=payload, headers=headers, timeout=self.timeout) as response:
                if response.status_code != 200:
                    raise GenerationError(f"{self.base_url} answered {response.status_code}: {response.read()[:300]!r}")
                for piece in parse_sse(response.iter_lines()):
                    if pending:  # still comparing the start of the output with the prefix
                        candidate = (produced + piece).lstrip()
                        if pending.startswith(candidate):
                            produced += piece
                            continue
                        piece = candidate[len(pending):] if candidate.startswith(pending) else produced + piece
                        produced, pending = "", ""
                    produced += piece
                    yield piece
                    if stop is not None and stop(produced):
                        break
        except httpx.HTTPError as error:
            raise GenerationError(f"cannot reach the model server at {self.base_url}: {error}") from error


def parse_sse(lines: Iterator[str]) -> Iterator[str]:
    """Content pieces from an OpenAI chat-completions event stream."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError:
            continue
        for choice in event.get("choices", []):
            content = (choice.get("delta") or {}).get("content")
            if content:
                yield content


def openai_generator(model: str, quantization: str, base_url: str | None, api_key: str | None,
                     progress: Optional[Callable]) -> Generator:
    if not base_url:
        raise GenerationError("the openai back end needs a base URL (--llm-url or COPYADVISOR_LLM_URL)")
    return OpenAIGenerator(base_url=base_url, model=model, api_key=api_key)


def transformers_generator(source: str, quantization: str, base_url: str | None, api_key: str | None,
                           progress: Optional[Callable]) -> Generator:
    started = time.perf_counter()
    generator = TransformersGenerator(source=source, quantization=quantization, progress=progress)
    log.info("generator %s ready in %.1fs", generator.id, time.perf_counter() - started)
    return generator


# The back ends chosen by a prefix of the spec; a factory is given the rest of the spec and the
# other settings. Any other spec is a transformers model (bundled name, directory or hub id).
GENERATORS: dict[str, Callable[..., Generator]] = {"openai:": openai_generator}


def get_generator(spec: str = BUNDLED, quantization: str = "int8", base_url: str | None = None, api_key: str | None = None,
                  progress: Optional[Callable] = None) -> Generator:
    """A bundled model (``bundled``, ``qwen2.5-coder-1.5b`` ...), a model directory or hub id
    (transformers), or ``openai:<model>`` with ``base_url`` (see ``GENERATORS``)."""
    for prefix, factory in GENERATORS.items():
        if spec.startswith(prefix):
            return factory(spec[len(prefix):], quantization, base_url, api_key, progress)
    return transformers_generator(spec, quantization, base_url, api_key, progress)
