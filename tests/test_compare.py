"""jitperf compare: the Mann-Whitney U test against scipy, compare() on synthetic
bench results, the text and JSON output and the CLI."""

from __future__ import annotations

import argparse
import json
import math
import random

import numpy as np
import pytest
from scipy import stats as sps

from jitperf.bench import stats as S
from jitperf.bench.compare import MIN_SAMPLES, compare, format_time, load_results
from jitperf.cli.compare import add_commands, cmd_compare
from jitperf.errors import InputError

# --- the statistics ---------------------------------------------------------------


def _scipy(a, b, method):
    r = sps.mannwhitneyu(a, b, alternative="two-sided", method=method, use_continuity=True)
    return float(r.statistic), float(r.pvalue)


def _close(ours, theirs):
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12, abs=1e-12)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-9, abs=1e-12)


def test_u_exact_matches_scipy():
    rng = random.Random(20240501)
    for _ in range(300):
        n1, n2 = rng.randint(1, 12), rng.randint(1, 12)
        if n1 + n2 > 20:
            continue
        a = [rng.random() for _ in range(n1)]
        b = [rng.random() + rng.choice([0.0, 0.3]) for _ in range(n2)]
        want = _scipy(a, b, "exact")
        _close(S.mann_whitney_u(a, b), want)  # auto is exact without ties
        _close(S.mann_whitney_u(a, b, method="exact"), want)


def test_u_exact_larger_samples():
    rng = random.Random(7)
    for n1, n2 in [(25, 25), (10, 40), (1, 49), (20, 30)]:
        a = [rng.gauss(0, 1) for _ in range(n1)]
        b = [rng.gauss(0.5, 1) for _ in range(n2)]
        _close(S.mann_whitney_u(a, b), _scipy(a, b, "exact"))


def test_u_asymptotic_matches_scipy():
    rng = random.Random(99)
    for i in range(300):
        n1, n2 = rng.randint(1, 40), rng.randint(1, 40)
        if i % 2:  # ties: integers from a small range
            hi = rng.randint(1, 6)
            a = [rng.randint(0, hi) for _ in range(n1)]
            b = [rng.randint(0, hi) + rng.choice([0, 1]) for _ in range(n2)]
        else:
            a = [rng.random() for _ in range(n1)]
            b = [rng.random() * rng.choice([1.0, 1.5]) for _ in range(n2)]
        if len(set(a + b)) == 1:
            continue
        want = _scipy(a, b, "asymptotic")
        _close(S.mann_whitney_u(a, b, method="asymptotic"), want)
        if len(set(a + b)) < len(a + b) or n1 + n2 > S.EXACT_MAX_N:
            _close(S.mann_whitney_u(a, b), want)  # auto falls back on the approximation


def test_u_degenerate():
    assert S.mann_whitney_u([1.0, 1.0, 1.0], [1.0, 1.0])[1] == 1.0
    assert S.mann_whitney_u([], [1.0, 2.0]) == (0.0, 1.0)
    assert S.mann_whitney_u([1.0], []) == (0.0, 1.0)
    assert S.mann_whitney_u([], [])[1] == 1.0
    assert S.mann_whitney_u([1.0], [2.0])[1] == 1.0
    with pytest.raises(ValueError, match="method"):
        S.mann_whitney_u([1.0], [2.0], method="perm")


def test_min_p_value_is_complete_separation():
    for n1, n2 in [(3, 3), (4, 4), (5, 5), (2, 10), (1, 1)]:
        a = [float(i) for i in range(n1)]
        b = [float(100 + i) for i in range(n2)]
        assert S.min_p_value(n1, n2) == pytest.approx(S.mann_whitney_u(a, b)[1], rel=1e-12)
    assert S.min_p_value(3, 3) == pytest.approx(0.1)
    assert S.min_p_value(0, 5) == 1.0


def test_median_iqr_quantile_match_numpy():
    rng = np.random.default_rng(3)
    for n in range(1, 16):
        x = rng.standard_normal(n)
        assert S.median(x) == pytest.approx(np.median(x), rel=1e-15, abs=1e-15)
        want = np.percentile(x, 75) - np.percentile(x, 25)
        assert S.iqr(x) == pytest.approx(want, rel=1e-12, abs=1e-15)
        for q in (0.0, 0.1, 0.5, 0.9, 1.0):
            assert S.quantile(x, q) == pytest.approx(np.quantile(x, q), rel=1e-12, abs=1e-15)
    for f in (S.median, S.iqr, S.geomean):
        with pytest.raises(ValueError):
            f([])


def test_geomean():
    x = [1e-6, 3e-3, 2.0, 0.5]
    assert S.geomean(x) == pytest.approx(sps.gmean(x), rel=1e-12)
    assert S.geomean([4.0]) == 4.0
    with pytest.raises(ValueError):
        S.geomean([1.0, 0.0])


# --- compare() --------------------------------------------------------------------


def _row(kernel, impl, n, times, dtype="float32"):
    return {
        "kernel": kernel, "impl": impl, "dtype": dtype, "n": n, "bytes": 4 * n,
        "flops": n, "compile_s": 0.1, "times_s": list(times), "min_s": min(times),
        "median_s": float(np.median(times)), "iqr_s": 0.0, "gbps": 1.0, "gflops": 1.0,
        "limit_frac": None, "allocs_per_op": 0.0, "bytes_per_op": 0.0,
    }  # fmt: skip


def _doc(rows):
    return {"machine": {}, "versions": {}, "command": ["jitperf", "bench"], "results": rows}


@pytest.fixture
def docs():
    rng = random.Random(12345)
    slow_old = [1e-3 * (1 + 0.05 * rng.random()) for _ in range(10)]
    same_old = [3e-6 * (1 + 0.05 * rng.random()) for _ in range(10)]
    same_new = [3e-6 * (1 + 0.05 * rng.random()) for _ in range(10)]
    gone = [8e-7 * (1 + 0.01 * rng.random()) for _ in range(10)]
    new_k = [4e-7 * (1 + 0.01 * rng.random()) for _ in range(10)]
    old = _doc(
        [
            _row("sum", "simd", 1_000_000, slow_old),
            _row("mean", "numpy", 1000, same_old),
            _row("var", "simd", 100, gone),
        ]
    )
    new = _doc(
        [
            _row("mean", "numpy", 1000, same_new),
            _row("sum", "simd", 1_000_000, [2 * t for t in slow_old]),
            _row("cumsum", "parallel", 100, new_k),
        ]
    )
    return old, new


def _by_name(c):
    return {r.name: r for r in c.rows}


def test_compare_known_difference(docs):
    old, new = docs
    c = compare(old, new)
    rows = _by_name(c)
    assert [r.status for r in c.rows] == ["matched", "matched", "removed", "added"]

    slow = rows["sum/simd/float32/1000000"]
    assert slow.delta_pct == pytest.approx(100.0, rel=1e-12)
    assert slow.significant and slow.p < 1e-4
    want = sps.mannwhitneyu(old["results"][0]["times_s"], new["results"][1]["times_s"])
    assert slow.p == pytest.approx(S.min_p_value(10, 10)) and want.pvalue < 1e-3
    assert (slow.old_samples, slow.new_samples) == (10, 10)
    assert slow.note is None

    same = rows["mean/numpy/float32/1000"]
    assert not same.significant and same.p > 0.05
    assert same.old_median_s == pytest.approx(np.median(old["results"][1]["times_s"]))

    assert rows["var/simd/float32/100"].status == "removed"
    assert rows["var/simd/float32/100"].new_median_s is None
    assert rows["cumsum/parallel/float32/100"].status == "added"

    ratios = [2.0, same.new_median_s / same.old_median_s]
    assert c.geomean_pct == pytest.approx((math.sqrt(ratios[0] * ratios[1]) - 1) * 100)
    assert any("only in" in n for n in c.notes)


def test_compare_text_table(docs):
    old, new = docs
    text = compare(old, new, old_name="base.json", new_name="head.json").to_text()
    lines = text.splitlines()
    assert lines[0] == "old: base.json" and lines[1].startswith("new: head.json")
    head = next(ln for ln in lines if ln.startswith("name "))
    slow = next(ln for ln in lines if ln.startswith("sum/simd/float32/1000000"))
    same = next(ln for ln in lines if ln.startswith("mean/numpy/float32/1000 "))
    gone = next(ln for ln in lines if ln.startswith("var/simd/float32/100"))
    added = next(ln for ln in lines if ln.startswith("cumsum/parallel/float32/100"))
    geo = next(ln for ln in lines if ln.startswith("geomean"))
    assert "+100.00%" in slow and "p=0.000 n=10+10" in slow and " ms" in slow
    assert " µs" in same and "~" in same
    assert "removed" in gone and " ns" in gone
    assert "added" in added
    # the delta column lines up: it starts under the "delta" heading on every row
    col = head.index("delta")
    assert slow.index("+100.00%") == col and same.index("~") == col
    assert gone.index("removed") == col and added.index("added") == col
    assert geo.index("%") > col and geo[col] in "+-"
    # both times in one row share a unit
    assert slow.count(" ms") == 2


def test_too_few_samples_not_significant():
    base = [1e-3, 1.01e-3, 1.02e-3]
    old = _doc([_row("sum", "simd", 10, base)])
    new = _doc([_row("sum", "simd", 10, [3 * t for t in base])])
    c = compare(old, new)
    (r,) = c.rows
    assert r.delta_pct == pytest.approx(200.0)
    assert not r.significant
    assert "too few samples" in r.note and f"at least {MIN_SAMPLES}" in r.note
    assert any("too few samples" in n and r.name in n for n in c.notes)
    line = next(ln for ln in c.to_text().splitlines() if ln.startswith(r.name))
    assert "~" in line and "[1]" in line and "+200" not in line


def test_alpha_beyond_reach_of_the_samples():
    base = [1e-3 * (1 + i / 100) for i in range(5)]
    old = _doc([_row("sum", "simd", 10, base)])
    new = _doc([_row("sum", "simd", 10, [2 * t for t in base])])
    assert compare(old, new).rows[0].significant  # 5 + 5 separated: p = 0.0079
    r = compare(old, new, alpha=0.005).rows[0]
    assert not r.significant and "cannot reach p < 0.005" in r.note
    with pytest.raises(InputError, match="alpha"):
        compare(old, new, alpha=1.5)


def test_pooled_duplicates_and_no_times():
    a = [1e-3 * (1 + i / 100) for i in range(6)]
    old = _doc([_row("sum", "simd", 10, a[:3]), _row("sum", "simd", 10, a[3:])])
    nt = _row("sum", "simd", 10, a)
    nt["times_s"] = []
    c = compare(old, _doc([nt]))
    (r,) = c.rows
    assert r.old_samples == 6 and r.new_samples == 0
    assert r.new_median_s == nt["median_s"] and r.p is None and not r.significant
    assert any("pooled" in n for n in c.notes)


def test_to_dict_is_json(docs):
    old, new = docs
    d = compare(old, new).to_dict()
    back = json.loads(json.dumps(d, allow_nan=False))
    assert back["alpha"] == 0.05 and back["geomean_pct"] == pytest.approx(d["geomean_pct"])
    first = back["rows"][0]
    assert first["name"] == "sum/simd/float32/1000000" and first["significant"] is True
    assert {"old_median_s", "new_median_s", "delta_pct", "p", "status", "note"} <= set(first)


def test_bad_rows_name_the_file():
    with pytest.raises(InputError, match=r"^x\.json: not a jitperf bench result"):
        compare({"machine": {}}, _doc([]), old_name="x.json")
    bad = _doc([{"kernel": "sum", "impl": "simd", "dtype": "float32"}])
    with pytest.raises(InputError, match=r"y\.json: results\[0\].*'n'"):
        compare(_doc([]), bad, new_name="y.json")
    bad = _doc([_row("sum", "simd", 10, [1.0])])
    bad["results"][0]["times_s"] = [1.0, "fast"]
    with pytest.raises(InputError, match=r"results\[0\]\.times_s"):
        compare(bad, _doc([]))


def test_format_time():
    assert format_time(1.5e-9) == "1.500 ns"
    assert format_time(2.5e-6) == "2.500 µs"
    assert format_time(0.0123) == "12.30 ms"
    assert format_time(0.1234) == "123.4 ms"
    assert format_time(3.0) == "3.000 s"
    assert format_time(1234.5) == "1234 s" or format_time(1234.5) == "1235 s"
    assert format_time(None) == "-"


def test_empty_files():
    c = compare(_doc([]), _doc([]))
    assert c.rows == [] and c.geomean_pct is None
    assert "no rows" in c.to_text()


# --- load_results and the CLI -----------------------------------------------------


def _parser():
    p = argparse.ArgumentParser(prog="jitperf")
    add_commands(p.add_subparsers(dest="command", required=True))
    return p


@pytest.fixture
def files(tmp_path, docs):
    old, new = docs
    po, pn = tmp_path / "old.json", tmp_path / "new.json"
    po.write_text(json.dumps(old))
    pn.write_text(json.dumps(new))
    return po, pn


def test_cli_text(files, capsys):
    po, pn = files
    args = _parser().parse_args(["compare", str(po), str(pn)])
    assert args.func is cmd_compare and args.alpha == 0.05 and args.format == "text"
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "sum/simd/float32/1000000" in out and "+100.00%" in out and "geomean" in out
    assert str(po) in out.splitlines()[0]


def test_cli_json(files, capsys):
    po, pn = files
    args = _parser().parse_args(
        ["compare", str(po), str(pn), "--format", "json", "--alpha", "0.01"]
    )
    assert cmd_compare(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["alpha"] == 0.01 and d["old"] == str(po)
    assert [r["status"] for r in d["rows"]] == ["matched", "matched", "removed", "added"]


def test_cli_bad_alpha(files):
    po, pn = files
    for a in ("0", "1", "nan", "-0.1"):
        args = _parser().parse_args(["compare", str(po), str(pn), "--alpha", a])
        with pytest.raises(InputError, match="--alpha"):
            cmd_compare(args)


def _ns(old, new, **kw):
    return argparse.Namespace(old=str(old), new=str(new), alpha=0.05, format="text", **kw)


def test_cli_input_errors(files, tmp_path):
    po, _ = files
    missing = tmp_path / "nope.json"
    with pytest.raises(InputError, match=r"nope\.json: no such file") as e:
        cmd_compare(_ns(po, missing))
    assert e.value.exit_code == 2 and "\n" not in str(e.value)

    broken = tmp_path / "broken.json"
    broken.write_text('{"results": [')
    with pytest.raises(InputError, match=r"broken\.json: not valid JSON") as e:
        cmd_compare(_ns(broken, po))
    assert "\n" not in str(e.value)

    other = tmp_path / "other.json"
    other.write_text('{"rows": []}')
    with pytest.raises(InputError, match=r"other\.json: not a jitperf bench result"):
        cmd_compare(_ns(po, other))

    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(InputError, match=r"list\.json: not a jitperf bench result"):
        load_results(listing)

    with pytest.raises(InputError, match="is a folder"):
        load_results(tmp_path)

    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match=r"bin\.json: not valid JSON"):
        load_results(binary)


def test_load_results_round_trip(files, docs):
    po, _ = files
    assert load_results(po) == docs[0]
