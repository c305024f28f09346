"""jitperf.bench.machine and ``jitperf machine``: the fields, the cache, the peak kernel.

One small quick measurement (module constants shrunk) serves the field tests; the
cache tests count calls to a stand-in for measure_machine. No speed is asserted
beyond "> 0": the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numba
import numpy as np
import pytest

from jitperf.bench import Machine, load_machine, measure_machine
from jitperf.bench import machine as M
from jitperf.cli import machine as cli_machine
from jitperf.inspect import report
from jitperf.inspect.compile import host_cpu

BANDWIDTH = ("read_1t", "read_all", "copy_1t", "copy_all", "triad_1t", "triad_all")
PEAKS = ("f32_1t", "f32_all", "f64_1t", "f64_all")
AVX512 = "+avx512f" in host_cpu()[1]


def _shrink(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(M, "QUICK_WORKING_SET_BYTES", 24 << 20)
    mp.setattr(M, "WORKING_SET_BYTES", 24 << 20)
    mp.setattr(M, "LLC_FACTOR", 0)
    mp.setattr(M, "QUICK_PEAK_SECONDS", 0.01)
    mp.setattr(M, "PEAK_SECONDS", 0.01)
    mp.setattr(M, "QUICK_REPEATS", 2)
    mp.setattr(M, "REPEATS", 2)


@pytest.fixture(scope="module")
def measured() -> Machine:
    with pytest.MonkeyPatch.context() as mp:
        _shrink(mp)
        messages = []
        m = measure_machine(quick=True, progress=messages.append)
    assert messages and all(isinstance(s, str) for s in messages)
    return m


def test_fields_exist_and_are_positive(measured):
    d = json.loads(json.dumps(measured.to_dict()))
    for k in BANDWIDTH:
        assert d["bandwidth_gbps"][k] > 0, k
    for k in PEAKS:
        assert d["peak_gflops"][k] > 0, k
        assert d["vector_bits"][k] in (128, 256, 512), k
    for k in d["peak_gflops"]:
        assert k in d["vector_bits"]
    cpu, features = host_cpu()
    assert d["cpu"] == cpu and d["features"] == features
    assert d["threads"] == numba.get_num_threads() >= 1
    assert d["pool_threads"] == numba.config.NUMBA_NUM_THREADS
    assert d["threading_layer"] in ("omp", "tbb", "workqueue")
    assert d["quick"] is True
    assert d["numba_version"] == numba.__version__
    assert d["jitperf_version"]
    assert "T" in d["measured_at"]
    assert d["working_set_bytes"] > 0 and d["repeats"] == 2
    for c in d["caches"]:
        assert set(c) == {"level", "type", "size_bytes"} and c["size_bytes"] > 0
    if AVX512:
        assert isinstance(d["zmm_default"], bool)
        if d["zmm_default"]:
            assert all(b == 512 for b in d["vector_bits"].values())
        else:
            assert any(k.endswith("_512") for k in d["peak_gflops"])


def test_to_dict_round_trip(measured):
    d = json.loads(json.dumps(measured.to_dict()))
    assert Machine.from_dict(d) == measured
    assert Machine.from_dict({**d, "from_a_later_version": 1}) == measured
    with pytest.raises(ValueError, match="bandwidth_gbps"):
        Machine.from_dict({k: v for k, v in d.items() if k != "bandwidth_gbps"})
    with pytest.raises(ValueError):
        Machine.from_dict([1, 2])


def test_threads_restored(measured):
    assert numba.get_num_threads() == measured.threads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("parallel", [False, True])
def test_peak_kernel_is_fma(measured, dtype, parallel):
    """The peak kernel's hot loop is packed FMA at the width the figure records."""
    kernel, sig = M.peak_kernel(dtype, parallel=parallel, bits=measured.vector_bits["f32_1t"])
    hot = report(kernel, sig).asm_stats["hot"]
    assert hot.fma > 0
    assert hot.packed_fp >= hot.fma
    assert hot.scalar_fp == 0
    tag = "f32" if dtype == np.float32 else "f64"
    assert hot.vector_bits == measured.vector_bits[f"{tag}_{'all' if parallel else '1t'}"]


def test_block_sizes():
    assert M._block(512, 4) == M.CHAINS * 16
    assert M._block(256, 4) == M.CHAINS * 8
    assert M._block(256, 8) % 4 == 0 and M._block(256, 8) >= M.MIN_BLOCK
    assert M._block(0, 8) >= M.MIN_BLOCK


def test_read_caches(tmp_path):
    for cpu in ("cpu0", "cpu1"):
        entries = [
            ("1", "Data", "48K", cpu),
            ("1", "Instruction", "32K", cpu),
            ("3", "Unified", "32M", "0"),
        ]
        for i, (level, kind, size, ident) in enumerate(entries):
            d = tmp_path / cpu / "cache" / f"index{i}"
            d.mkdir(parents=True)
            for name, text in (("level", level), ("type", kind), ("size", size), ("id", ident)):
                (d / name).write_text(text + "\n")
    assert M.read_caches(str(tmp_path)) == [
        {"level": 1, "type": "Data", "size_bytes": 48 << 10},
        {"level": 1, "type": "Instruction", "size_bytes": 32 << 10},
        {"level": 3, "type": "Unified", "size_bytes": 32 << 20},
    ]
    assert M.llc_bytes(str(tmp_path)) == 32 << 20  # one shared L3, not two
    assert M.read_caches(str(tmp_path / "missing")) == []
    assert M.llc_bytes(str(tmp_path / "missing")) is None


def test_512_figures_merged_when_default_is_narrower(monkeypatch):
    """A CPU with AVX-512 whose default build uses ymm: the subprocess's figures
    come back as *_512."""
    _shrink(monkeypatch)
    name, features = host_cpu()
    monkeypatch.setattr(M, "host_cpu", lambda: (name, features + ",+avx512f"))
    narrow = {
        "peak_gflops": dict.fromkeys(PEAKS, 1.0),
        "vector_bits": dict.fromkeys(PEAKS, 256),
        "fma": dict.fromkeys(PEAKS, 12),
        "notes": [],
    }
    monkeypatch.setattr(M, "_measure_peaks", lambda *a: json.loads(json.dumps(narrow)))
    asked = []

    def wide(extra, **kw):
        asked.append(extra)
        wide_bits = dict.fromkeys(PEAKS, 512)
        return {**narrow, "peak_gflops": dict.fromkeys(PEAKS, 2.0), "vector_bits": wide_bits}

    monkeypatch.setattr(M, "measure_peaks_with_features", wide)
    m = measure_machine(quick=True)
    assert asked == [",-prefer-256-bit"]
    assert m.zmm_default is False
    for k in PEAKS:
        assert m.peak_gflops[k] == 1.0 and m.vector_bits[k] == 256
        assert m.peak_gflops[f"{k}_512"] == 2.0 and m.vector_bits[f"{k}_512"] == 512


@pytest.mark.skipif(not AVX512, reason="needs AVX-512")
def test_features_subprocess_sets_the_width():
    """NUMBA_CPU_FEATURES reaches the subprocess: +prefer-256-bit gives ymm."""
    res = M.measure_peaks_with_features(",+prefer-256-bit", seconds=0.005, repeats=1, threads=1)
    assert res["features"].endswith(",+prefer-256-bit")
    for k in PEAKS:
        assert res["peak_gflops"][k] > 0
        assert res["vector_bits"][k] == 256
        assert res["fma"][k] > 0


# -- the cache -----------------------------------------------------------------------------------


@pytest.fixture
def cache(tmp_path, monkeypatch, measured):
    """A tmp cache dir and a counting stand-in for measure_machine."""
    monkeypatch.setenv("JITPERF_CACHE_DIR", str(tmp_path / "cache"))
    calls = []

    def fake(*, quick=False, progress=None):
        calls.append(quick)
        return dataclasses.replace(measured, quick=quick, measured_at=f"call {len(calls)}")

    monkeypatch.setattr(M, "measure_machine", fake)
    return tmp_path / "cache" / "machine.json", calls


def test_cache_written_and_reused(cache):
    path, calls = cache
    m1 = load_machine()
    assert calls == [False] and path.is_file()
    data = json.loads(path.read_text())
    assert list(data["entries"]) == [M.machine_key()]
    assert data["entries"][M.machine_key()]["full"]["measured_at"] == "call 1"
    m2 = load_machine()
    assert calls == [False]  # not measured again
    assert m2 == m1
    assert [p.name for p in path.parent.iterdir()] == ["machine.json"]  # no temp files left


def test_refresh_measures_again(cache):
    path, calls = cache
    load_machine()
    m = load_machine(refresh=True)
    assert calls == [False, False] and m.measured_at == "call 2"
    assert load_machine().measured_at == "call 2"


def test_changed_key_measures_again(cache, monkeypatch):
    path, calls = cache
    load_machine()
    features = host_cpu()[1]
    monkeypatch.setattr(M, "host_cpu", lambda: ("some-other-cpu", features))
    load_machine()
    assert len(calls) == 2
    assert len(json.loads(path.read_text())["entries"]) == 2
    load_machine()
    assert len(calls) == 2


def test_changed_features_measures_again(cache, monkeypatch):
    path, calls = cache
    load_machine()
    name, features = host_cpu()
    monkeypatch.setattr(M, "host_cpu", lambda: (name, features + ",-avx512f"))
    load_machine()
    assert len(calls) == 2


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_changed_thread_count_measures_again(cache):
    path, calls = cache
    load_machine()
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        load_machine()
    finally:
        numba.set_num_threads(before)
    assert len(calls) == 2


def test_quick_never_replaces_full(cache):
    path, calls = cache
    q = load_machine(quick=True)
    assert calls == [True] and q.quick
    f = load_machine()  # a quick one does not stand for a full one
    assert calls == [True, False] and not f.quick
    assert load_machine(quick=True) == f  # the full one serves quick too
    load_machine(quick=True, refresh=True)
    assert calls == [True, False, True]
    entry = json.loads(path.read_text())["entries"][M.machine_key()]
    assert entry["full"]["quick"] is False and entry["quick"]["quick"] is True
    assert load_machine() == f
    assert len(calls) == 3


def test_unreadable_cache_is_measured_over(cache):
    path, calls = cache
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    load_machine()
    assert calls == [False]
    assert M.machine_key() in json.loads(path.read_text())["entries"]
    entry = json.loads(path.read_text())
    entry["entries"][M.machine_key()]["full"] = {"cpu": "half a record"}
    path.write_text(json.dumps(entry))
    load_machine()
    assert len(calls) == 2


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("JITPERF_CACHE_DIR", str(tmp_path / "own"))
    assert M.cache_path() == tmp_path / "own" / "machine.json"
    monkeypatch.delenv("JITPERF_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert M.cache_path() == tmp_path / "xdg" / "jitperf" / "machine.json"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert M.cache_path() == tmp_path / "home" / ".cache" / "jitperf" / "machine.json"


# -- the command ---------------------------------------------------------------------------------


def _run(argv):
    p = argparse.ArgumentParser(prog="jitperf")
    sub = p.add_subparsers(dest="command", required=True)
    cli_machine.add_commands(sub)
    args = p.parse_args(argv)
    return args.func(args)


def test_cmd_machine_json(cache, capsys):
    path, calls = cache
    assert _run(["machine", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(BANDWIDTH) <= set(d["bandwidth_gbps"]) and set(PEAKS) <= set(d["peak_gflops"])
    assert calls == [False]
    assert _run(["machine", "--format", "json", "--quick"]) == 0  # the full one, cached
    assert json.loads(capsys.readouterr().out) == d
    assert _run(["machine", "--format", "json", "--refresh"]) == 0
    assert calls == [False, False]


def test_cmd_machine_text(cache, capsys, measured):
    path, calls = cache
    assert _run(["machine", "--quick"]) == 0
    out = capsys.readouterr().out
    assert calls == [True]
    assert measured.cpu in out
    for name in ("read", "copy", "triad", "float32", "float64"):
        assert name in out
    assert out.count("GB/s") == 6
    assert out.count("GFLOP/s") == len(measured.peak_gflops)
    assert f"({measured.vector_bits['f32_1t']}-bit)" in out
    assert str(path) in out
    # the figures line up: every figure row has its units at the same columns
    rows = [ln for ln in out.splitlines() if "GB/s" in ln]
    assert len({ln.index("GB/s") for ln in rows}) == 1
