"""The bench harness end to end, on tiny sizes: rows, JSON schema, allocs/op, notes."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from jitperf._compile import kernel
from jitperf.bench import harness, suites
from jitperf.cli import main

FIELDS = {
    "kernel", "impl", "dtype", "n", "bytes", "flops", "compile_s", "times_s", "min_s",
    "median_s", "iqr_s", "gbps", "gflops", "limit_frac", "allocs_per_op", "bytes_per_op",
}  # fmt: skip
MACHINE = {
    "bandwidth_gbps": {"read_1t": 10.0, "read_all": 20.0, "copy_1t": 8.0, "copy_all": 16.0},
    "peak_gflops": {"f32_1t": 50.0, "f32_all": 100.0, "f64_1t": 25.0, "f64_all": 50.0},
}


@kernel()
def _allocating(x, out):
    tmp = np.empty(x.shape[0])  # an NRT allocation on every call
    for i in range(x.shape[0]):
        tmp[i] = x[i] * 2.0
        out[i] = tmp[i]


def _tiny(kernels, **kw):
    kw.setdefault("dtypes", ("float32",))
    kw.setdefault("variants", ("simd",))
    return harness.run(kernels, size=1 << 14, repeat=3, machine=MACHINE, **kw)


def test_rows_have_the_documented_fields_and_sane_figures():
    run = _tiny(["sum", "affine"], variants=("strict", "simd", "parallel"),
                baselines=("numpy",))  # fmt: skip
    assert [(r.kernel, r.impl) for r in run.rows] == [
        (k, i) for k in ("sum", "affine") for i in ("numpy", "strict", "simd", "parallel")
    ]
    for r in run.rows:
        d = r.to_dict()
        assert FIELDS <= set(d)
        assert len(d["times_s"]) == 3 and d["min_s"] <= d["median_s"]
        assert d["gbps"] == pytest.approx(d["bytes"] / d["median_s"] / 1e9)
        assert d["limit_frac"] == pytest.approx(
            d["gbps"]
            / harness.limit_of(
                MACHINE, "memory", "float32", r.threads, r.kernel == "affine"
            )  # fmt: skip
        )
    sum_row = run.rows[0]
    assert sum_row.bytes == (1 << 14) and sum_row.n == (1 << 14) // 4


def test_out_kernels_allocate_nothing_and_an_allocating_one_does(monkeypatch):
    spec = suites.Spec(
        "allocating",
        lambda n, dt, rng: {"x": rng.random(n).astype(dt), "out": np.empty(n, dt)},
        lambda d, v: lambda: _allocating(v, d["x"], d["out"]),
        bytes=lambda d: 2 * d["x"].nbytes,
        flops=lambda d: d["x"].size,
    )
    monkeypatch.setitem(suites.SPECS, "allocating", spec)
    run = _tiny(["affine", "cumsum", "allocating"], baselines=())
    allocs = {r.kernel: r.allocs_per_op for r in run.rows}
    assert allocs["affine"] == 0 and allocs["cumsum"] == 0
    assert allocs["allocating"] == 1


def test_a_missing_baseline_is_skipped_with_a_note(monkeypatch):
    real = suites.optional
    monkeypatch.setattr(harness, "optional",
                        lambda name: None if name == "bottleneck" else real(name))  # fmt: skip
    run = _tiny(["nanmean"], baselines=("numpy", "bottleneck"))
    assert [r.impl for r in run.rows] == ["numpy", "simd"]
    assert any(n.startswith("bottleneck: not installed") for n in run.notes)


def test_numpy_baseline_allocations_are_seen():
    run = _tiny(["nanmean", "polyval"], baselines=("numpy",))
    by = {(r.kernel, r.impl): r for r in run.rows}
    assert by[("polyval", "numpy")].allocs_per_op >= 1  # np.polyval returns a new array
    assert by[("polyval", "numpy")].bytes_per_op >= by[("polyval", "numpy")].n * 4
    assert by[("polyval", "simd")].allocs_per_op == 0


def test_cli_json_schema(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("jitperf.cli.bench._machine", lambda quick: MACHINE)
    out = tmp_path / "r.json"
    rc = main(["bench", "sum", "clip", "--dtype", "float32", "--size", "16K", "--repeat", "3",
               "--variants", "simd", "--baselines", "numpy", "--json", str(out)])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split()[:3] == ["kernel", "impl", "dtype"]
    assert len(text.splitlines()) == 1 + 4
    doc = json.loads(out.read_text())
    assert set(doc) >= {"machine", "versions", "command", "results"}
    assert doc["machine"] == MACHINE and doc["command"][0] == "jitperf"
    assert {"python", "numpy", "numba", "llvmlite"} <= set(doc["versions"])
    assert all(FIELDS <= set(r) for r in doc["results"]) and len(doc["results"]) == 4
    assert main(["bench", "sum", "--size", "16K", "--json", str(out)]) == 2  # no clobber


@pytest.mark.parametrize("args, message", [
    (["nosuch"], "kernel: unknown 'nosuch'"),
    (["sum", "--dtype", "float16"], "--dtype: unknown 'float16'"),
    (["sum", "--baselines", "matlab"], "--baselines: unknown 'matlab'"),
    (["sum", "--size", "lots"], "--size: expected BYTES"),
    (["sum", "--repeat", "1"], "--repeat: expected at least 3"),
])  # fmt: skip
def test_cli_bad_arguments(args, message, capsys):
    assert main(["bench", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jitperf: error: ") and message in err and err.count("\n") == 1


def test_size_argument():
    from jitperf.cli.bench import size_arg

    assert size_arg("64M") == ("bytes", 64 << 20)
    assert size_arg("1GiB") == ("bytes", 1 << 30)
    assert size_arg("1000") == ("n", 1000)


def test_plots_are_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("jitperf.cli.bench._machine", lambda quick: MACHINE)
    png = tmp_path / "roof.png"
    rc = main(["bench", "sum", "--dtype", "float32", "--size", "16K", "--repeat", "3",
               "--variants", "simd", "--baselines", "numpy", "--plot", str(png)])  # fmt: skip
    assert rc == 0
    for path in (png, tmp_path / "roof.speedup.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_c_reference_rows_and_a_missing_compiler(monkeypatch):
    run = _tiny(["sum", "affine"], baselines=("c",))
    # loading it must not switch on flush-to-zero for the process
    assert sys.float_info.min / 2 != 0.0
    c_rows = [r for r in run.rows if r.impl == "c"]
    assert [r.kernel for r in c_rows] == ["sum", "affine"] and c_rows[0].threads == "all"
    monkeypatch.setattr(harness, "_CREF", [])
    monkeypatch.setenv("CC", "/nonexistent/cc")
    run = _tiny(["sum"], baselines=("c",))
    assert [r.impl for r in run.rows] == ["simd"]
    assert any(
        n.startswith("c: /nonexistent/cc failed") or n.startswith("c: no C compiler")
        for n in run.notes
    ), run.notes


def test_alloc_group_through_the_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("jitperf.cli.bench._machine", lambda quick: MACHINE)
    out = tmp_path / "alloc.json"
    assert main(["bench", "--group", "alloc", "--quick", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    pairs = {(r["kernel"], r["impl"]): r for r in rows}
    assert pairs[("alloc-vs-out-vs-pool", "out")]["allocs_per_op"] == 0
    assert pairs[("alloc-vs-out-vs-pool", "alloc")]["allocs_per_op"] >= 1
    assert all(FIELDS <= set(r) for r in rows)
