"""The targets group: every target judged from one run's medians, none dropped."""

from __future__ import annotations

import json

import pytest

from jitperf.bench import targets as T
from jitperf.bench.suites import SPECS
from jitperf.cli import main

MACHINE = {"peak_gflops": {"f32_all": 1.0}, "bandwidth_gbps": {"read_1t": 10.0}}


def _medians(**m):
    return {"flops": 2e9, "bytes": 1 << 20, **m}


def test_ratios_read_the_medians_as_the_issue_states_them():
    over = T._over("simd", "c1")
    assert over(_medians(simd=1.0, c1=0.9), None, None) == pytest.approx(0.9)
    # (parallel / simd speed-up) against the C reference's own
    m = _medians(simd=4.0, parallel=2.0, c1=3.0, c=1.0)
    assert T._scaling(m, None, None) == pytest.approx(2.0 / 3.0)
    assert T._auto_vs_best(_medians(auto=1.1, strict=3.0, simd=1.0, parallel=2.0), None, None) == (
        pytest.approx(1.1)
    )
    # 2e9 flops in 1 s on a 1 GFLOP/s peak
    assert T._peak_fraction(_medians(parallel=1.0), None, MACHINE) == pytest.approx(2.0)
    with pytest.raises(LookupError):
        T._peak_fraction(_medians(parallel=1.0), None, {})


def test_judging_passes_fails_and_skips_without_dropping():
    at_least = T.Target("c", ("sum",), "simd / c1", 0.9, T._over("simd", "c1"), ("simd", "c1"))
    at_most = T.Target("c", ("sum",), "auto / best", 1.2, T._auto_vs_best,
                       ("auto", "strict", "simd", "parallel"), at_most=True)  # fmt: skip
    ok = T._judge(at_least, "sum", "float32", 1, _medians(simd=1.0, c1=0.95), None)
    bad = T._judge(at_least, "sum", "float32", 1, _medians(simd=1.0, c1=0.5), None)
    gone = T._judge(at_least, "sum", "float32", 1, _medians(simd=1.0), None)
    assert (ok.status, bad.status, gone.status) == ("PASS", "FAIL", "SKIP")
    assert gone.ratio is None and "c1" in gone.why
    near = _medians(auto=1.3, strict=2.0, simd=1.0, parallel=1.5)
    assert T._judge(at_most, "sum", "float32", 1, near, None).status == "FAIL"
    text = T.table([ok, bad, gone])
    assert "1 PASS, 1 FAIL, 1 SKIP of 3 targets" in text
    assert "SKIP (no c1 row)" in text and ">= 0.9" in text


def test_every_target_names_kernels_the_bench_has():
    for t in T.TARGETS:
        assert set(t.kernels) <= set(SPECS), t
        for k in t.kernels:
            assert SPECS[k].dtypes or t.dtypes
    classes = {t.cls for t in T.TARGETS}
    assert {"memory-bound reductions", "nan-aware reductions", "variance", "elementwise",
            "windows and scans", "histogram", "compute-bound", "scaling",
            "small inputs"} <= classes  # fmt: skip


def test_a_small_run_measures_each_target_once_from_one_round_robin():
    chosen = [
        T.Target("t", ("sum", "nanmean"), "simd / C (1 thread)", 0.9, T._over("simd", "c1"),
                 ("simd", "c1")),
        T.Target("t", ("sum",), "auto / best", 1.2, T._auto_vs_best,
                 ("auto", "strict", "simd", "parallel"), sizes=(1 << 10,), at_most=True),
    ]  # fmt: skip
    run = T.run(chosen, repeat=3, machine=MACHINE, size_scale=(1 << 16) / T.SIZE)
    assert [(r.kernel, r.dtype) for r in run.results] == [
        ("sum", "float32"), ("sum", "float64"), ("nanmean", "float32"), ("nanmean", "float64"),
        ("sum", "float32"), ("sum", "float64"),
    ]  # fmt: skip
    for r in run.results:
        assert r.status in ("PASS", "FAIL") and r.ratio > 0
        rows = {x.impl: x for x in run.rows if x.kernel == r.kernel and x.dtype == r.dtype
                and x.bytes == r.size}  # fmt: skip
        if r.target.startswith("simd"):
            assert r.ratio == pytest.approx(rows["c1"].median_s / rows["simd"].median_s)
    small = [x for x in run.rows if x.n == (1 << 10) // 4 and x.dtype == "float32"]
    assert {x.impl for x in small} == {"auto", "strict", "simd", "parallel"}


def test_start_targets_time_fresh_processes():
    results = T.start_targets(repeat=1)
    assert [r.cls for r in results] == ["compile and start"] * 2
    for r in results:
        assert r.ratio > 0.05 and r.status in ("PASS", "FAIL")


def test_the_cli_prints_the_table_and_writes_the_results(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("jitperf.cli.bench._machine", lambda quick: MACHINE)
    monkeypatch.setattr(T, "TARGETS", T.TARGETS[:1])
    monkeypatch.setattr(T, "start_targets", lambda: [])
    out = tmp_path / "t.json"
    assert main(["bench", "--group", "targets", "--size", "64K", "--repeat", "3",
                 "--json", str(out)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    n = len(T.TARGETS[0].kernels) * 2
    assert f"of {n} targets" in text
    doc = json.loads(out.read_text())
    assert len(doc["targets"]) == n
    assert {"cls", "kernel", "dtype", "size", "target", "need", "ratio", "status"} <= set(
        doc["targets"][0]
    )
