"""What this CPU does natively, read once, and the numeric type EmbeddingGemma runs in.

bf16 is fast on a CPU only where it has bf16 instructions: ``avx512_bf16`` (AMD Zen 4 and
later, Intel Cooper Lake and Sapphire Rapids) or AMX (``amx_bf16``, Intel Sapphire Rapids and
later). Elsewhere torch still runs bf16, but by converting to float32 and back around every
operation: on an AVX2-only AMD EPYC, building the index of the shipped corpus in bf16 took
4 min 21 s instead of about 30 s. So ``auto`` picks bf16 only where it is native, else float32
(see docs/performance.md for what each costs here).

Where the flags come from, in this order (the first that answers wins):

1. ``/proc/cpuinfo`` (Linux): the first ``flags`` line. It lists what the kernel lets programs
   use, so AMX shows only where the kernel has enabled it.
2. ``torch.cpu.get_capabilities()`` where torch has it (any OS): "an immutable mapping of CPU
   capabilities detected at runtime ... using cpuinfo", with keys such as ``avx2``,
   ``avx512_f``, ``avx512_bf16``, ``amx_bf16`` (PyTorch docs, torch.cpu.get_capabilities).
   Its ``avx512_f`` is spelled ``avx512f`` here, as in /proc/cpuinfo.
3. Nothing: no flags, so float32 (always correct, never emulated).

``torch.backends.cpu.get_cpu_capability()`` ("DEFAULT", "NO AVX", "AVX2", "AVX512", ...: the
kernel set torch dispatches to; PyTorch docs, torch.backends.cpu) is shown beside the flags.
It says nothing about bf16. Nor is ``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` a
check for native bf16: in PyTorch's source its ``mkldnn_bf16_device_check`` asks only for
avx512bw, avx512vl and avx512dq, where oneDNN emulates bf16 (onnxruntime's DNNL tests note
that such CPUs "can run bfloat16 but [it] is slower than float32 by 3x to 4x").

bf16 also counts as not native where the flags have it but torch is held below it: torch's
kernels capped below AVX-512 (``ATEN_CPU_CAPABILITY=avx2``, seen through
``get_cpu_capability()``) or oneDNN's (``ONEDNN_MAX_CPU_ISA`` / ``DNNL_MAX_CPU_ISA`` set to an
ISA without bf16, such as ``AVX2`` or ``AVX512_CORE``). With both set to AVX2 on a CPU that
has avx512_bf16, a bf16 linear layer here ran 16 times slower than without them and 3.4
times slower than float32: the AVX2-only case, reproduced (docs/performance.md).

ARM's ``bf16`` feature is not counted as native: untested here; ``embedder_dtype = "bfloat16"``
asks for bf16 anyway.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

CPUINFO = Path("/proc/cpuinfo")
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
DTYPE_SETTINGS = ("auto", "bfloat16", "float32")
TORCH_NAMES = {"avx512_f": "avx512f"}  # torch.cpu.get_capabilities() key -> /proc/cpuinfo flag
TORCH_BELOW_AVX512 = ("AVX2", "NO AVX", "DEFAULT")  # get_cpu_capability() values that rule bf16 out on x86
ONEDNN_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")
ONEDNN_CAPS = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


@dataclass(frozen=True)
class CpuFeatures:
    flags: frozenset[str]
    source: str  # "/proc/cpuinfo", "torch.cpu.get_capabilities()" or "unknown"
    torch_capability: str = ""  # torch.backends.cpu.get_cpu_capability(), when torch answers
    capped_by: str = ""  # what holds torch below the CPU's bf16 ("ONEDNN_MAX_CPU_ISA=AVX2" ...), if anything

    @property
    def native_bf16(self) -> tuple[str, ...]:
        """The native bf16 flags this CPU has and torch may use (empty: bf16 would be emulated)."""
        return () if self.capped_by else tuple(flag for flag in NATIVE_BF16_FLAGS if flag in self.flags)

    @property
    def vector_isa(self) -> str:
        """The widest vector instruction set: avx512, avx2, "no avx2", or "unknown" (no flags)."""
        if not self.flags:
            return "unknown"
        return "avx512" if "avx512f" in self.flags else "avx2" if "avx2" in self.flags else "no avx2"

    @property
    def no_bf16_reason(self) -> str:
        """Why bf16 is not native: the cap, or the widest vector set ("avx2")."""
        return f"{self.vector_isa}, capped by {self.capped_by}" if self.capped_by else self.vector_isa

    def summary(self) -> str:
        """One line: native bf16 or not, the vector set, torch's kernels and where it was read."""
        capped = f", capped by {self.capped_by}" if self.capped_by else ""
        bf16 = f"bf16 native ({', '.join(self.native_bf16)})" if self.native_bf16 else f"bf16 not native (emulated{capped})"
        shown = ", ".join(f"{flag} {'yes' if flag in self.flags else 'no'}" for flag in ("avx2", "avx512f", *NATIVE_BF16_FLAGS))
        torch_part = f"; torch kernels {self.torch_capability}" if self.torch_capability else ""
        return f"{bf16}; {shown}{torch_part} (from {self.source})"


def parse_cpuinfo(text: str) -> frozenset[str]:
    """The flags of the first processor in ``/proc/cpuinfo`` text (x86 ``flags``); empty if none."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def torch_flags() -> frozenset[str]:
    """The flags torch's runtime detection reports as present, or empty where it has none."""
    try:
        import torch

        capabilities = torch.cpu.get_capabilities()
    except Exception:  # older torch (AttributeError), or anything its detection raises
        return frozenset()
    return frozenset(TORCH_NAMES.get(name, name) for name, value in capabilities.items() if value is True)


def torch_capability() -> str:
    try:
        import torch

        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:
        return ""


def read_features(cpuinfo: Path = CPUINFO) -> CpuFeatures:
    """The CPU's features, read now (see the module's docstring for the order of sources)."""
    try:
        flags = parse_cpuinfo(cpuinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        flags = frozenset()
    source = str(cpuinfo)
    if not flags:
        flags = torch_flags()
        source = "torch.cpu.get_capabilities()" if flags else "unknown"
    capability = torch_capability()
    return CpuFeatures(flags, source, capability, bf16_cap(flags, capability, os.environ))


def bf16_cap(flags: frozenset[str], capability: str, environ) -> str:
    """What keeps torch from the CPU's native bf16, or "" (see the module's docstring)."""
    if not any(flag in flags for flag in NATIVE_BF16_FLAGS):
        return ""
    for name in ONEDNN_CAPS:
        value = str(environ.get(name, "")).strip().upper()
        if value in ONEDNN_WITHOUT_BF16:
            return f"{name}={value}"
    if capability.upper() in TORCH_BELOW_AVX512:
        return f"torch kernels {capability}"
    return ""


@lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """This machine's features, read once per process."""
    return read_features()


def check_dtype_setting(value: str) -> str:
    """``auto``, ``bfloat16`` or ``float32`` (``bf16``/``fp32`` accepted), else ValueError."""
    text = str(value).strip().lower()
    text = {"bf16": "bfloat16", "fp32": "float32"}.get(text, text)
    if text not in DTYPE_SETTINGS:
        raise ValueError(f"embedder_dtype must be one of {', '.join(DTYPE_SETTINGS)}, not {value!r}")
    return text


def choose_dtype(setting: str = "auto", features: CpuFeatures | None = None) -> tuple[str, str]:
    """(dtype, why): ``auto`` gives bfloat16 only where the CPU has native bf16, else float32;
    ``bfloat16`` or ``float32`` is taken as asked."""
    setting = check_dtype_setting(setting)
    features = features or cpu_features()
    native = features.native_bf16
    if setting == "auto":
        if native:
            return "bfloat16", f"CPU has native bf16: {', '.join(native)}"
        return "float32", f"CPU has no native bf16: {features.no_bf16_reason}"
    if setting == "bfloat16" and not native:
        return "bfloat16", f"set by embedder_dtype; CPU has no native bf16 ({features.no_bf16_reason}), so it is emulated and slow"
    return setting, "set by embedder_dtype"


def bf16_is_emulated(features: CpuFeatures | None = None) -> bool:
    return not (features or cpu_features()).native_bf16
