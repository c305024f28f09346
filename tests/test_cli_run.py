"""`jitperf run` and `jitperf gen` from the command line: reports, outputs, several inputs."""

from __future__ import annotations

import json
import os
import pstats
import subprocess
import sys

import numpy as np
import pytest

import jitperf
from jitperf.cli import main
from jitperf.io import generate


@pytest.fixture()
def sample(tmp_path):
    return generate(tmp_path / "a.npy", "float32", "3001,2", nan_fraction=0.01, seed=2)


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_report_per_input(tmp_path, sample, capsys):
    other = generate(tmp_path / "b.npy", "float64", "500", seed=3)
    assert main(["run", "nanmean", sample, other, "--format", "json", "--chunk-mb", "0.01"]) == 0
    reports = _json_lines(capsys.readouterr().out)
    assert [r["input"] for r in reports] == [sample, other]
    for r, path in zip(reports, (sample, other), strict=True):
        assert r["result"] == pytest.approx(float(jitperf.nanmean(np.load(path))), rel=1e-12)
        assert r["kernel"] == "nanmean" and r["bytes"] == np.load(path).nbytes
    assert reports[0]["chunks"] == -(-3001 // (int(0.01 * 2**20) // 8))


def test_stats_json_fields_are_strict_json(tmp_path, capsys):
    x = np.full((10, 2), np.nan, dtype=np.float32)
    x[:, 0] = 1.0
    np.save(tmp_path / "n.npy", x)
    assert main(["run", "stats", str(tmp_path / "n.npy"), "--axis", "0", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out  # strict JSON: non-finite values are strings
    (r,) = _json_lines(out)
    assert r["result"]["count"] == [10, 0]
    assert r["result"]["mean"] == [1.0, "nan"]
    assert set(r["result"]) == {"count", "nan_count", "sum", "mean", "var", "std", "min", "max"}


def test_text_report(sample, capsys):
    assert main(["run", "stats", sample, "-p", "ddof=1"]) == 0
    out = capsys.readouterr().out
    want = jitperf.stats(np.load(sample)).to_dict(ddof=1)
    assert f"var        {want['var']}" in out
    assert "GB/s" in out and "peak RssAnon" in out


def test_transform_writes_output_and_refuses_to_clobber(tmp_path, sample, capsys):
    out = tmp_path / "o.npy"
    args = ["run", "affine", sample, "-p", "scale=2.5", "-p", "offset=-1", "-o", str(out)]
    assert main(args) == 0
    np.testing.assert_array_equal(np.load(out), jitperf.affine(np.load(sample), 2.5, -1))
    before = out.read_bytes()
    assert main(args[:-2] + ["-p", "scale=3", "-o", str(out)][2:] + args[-2:]) == 2
    assert "exists (use --force" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main([*args, "--force"]) == 0


def test_several_inputs_by_glob_into_a_folder(tmp_path, capsys):
    for i in range(3):
        generate(tmp_path / f"part{i}.npy", "float32", "1000", seed=i)
    outdir = tmp_path / "out"
    outdir.mkdir()
    pattern = str(tmp_path / "part*.npy")
    assert main(["run", "cumsum", pattern, "-o", str(outdir), "--format", "json"]) == 0
    reports = _json_lines(capsys.readouterr().out)
    assert len(reports) == 3
    for i, r in enumerate(reports):
        target = outdir / f"part{i}.cumsum.npy"
        assert r["result"] == {"output": str(target)}
        x = np.load(tmp_path / f"part{i}.npy")
        np.testing.assert_array_equal(np.load(target), jitperf.cumsum(x, variant="simd"))
    assert main(["run", "sum", str(tmp_path / "nothing*.npy")]) == 2
    assert "no file matches" in capsys.readouterr().err


def test_profile_writes_pstats_and_prints_the_split(tmp_path, sample, capsys):
    prof = tmp_path / "run.prof"
    assert main(["run", "stats", sample, "--profile", str(prof), "--chunk-mb", "0.005"]) == 0
    err = capsys.readouterr().err
    for phase in ("io_wait", "compute", "merge", "write"):
        assert phase in err
    stats = pstats.Stats(str(prof))
    assert any("step" in fn for (_, _, fn) in stats.stats)
    assert main(["run", "stats", sample, "--profile", str(prof)]) == 2  # no clobber


def test_threads_and_variant_are_reported(sample, capsys):
    assert (
        main(["run", "sum", sample, "--threads", "1", "--variant", "strict", "--format", "json"])
        == 0
    )
    (r,) = _json_lines(capsys.readouterr().out)
    assert r["threads"] == 1 and r["variant"] == "strict"
    assert main(["run", "sum", sample, "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err


def test_gen_raw_and_run_raw(tmp_path, capsys):
    raw = tmp_path / "r.f64"
    assert (
        main(
            [
                "gen",
                str(raw),
                "--dtype",
                "float64",
                "--shape",
                "1000,4",
                "--dist",
                "uniform",
                "--seed",
                "9",
            ]
        )
        == 0
    )
    assert raw.stat().st_size == 1000 * 4 * 8
    assert (
        main(
            [
                "run",
                "max",
                str(raw),
                "--dtype",
                "float64",
                "--shape=-1,4",
                "--axis",
                "0",
                "--format",
                "json",
            ]
        )
        == 0
    )
    (r,) = _json_lines(capsys.readouterr().out)
    x = np.fromfile(raw, dtype=np.float64).reshape(1000, 4)
    assert r["result"] == x.max(axis=0).tolist()
    assert 0.0 <= x.min() and x.max() < 1.0


def test_no_progress_bar_without_a_terminal(sample):
    # stderr is a pipe here: no tqdm output, only the report on stdout
    p = subprocess.run(
        [sys.executable, "-m", "jitperf", "run", "sum", sample],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"PYTHONWARNINGS": "ignore"},
    )
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert "result" in p.stdout


def test_help_lists_every_kernel(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in jitperf.batch.KERNELS:
        assert f"  {name} " in out


def test_touch_ahead_gives_the_same_result(sample, capsys):
    assert main(["run", "nansum", sample, "--chunk-mb", "0.01", "--format", "json"]) == 0
    assert (
        main(["run", "nansum", sample, "--chunk-mb", "0.01", "--format", "json", "--touch-ahead"])
        == 0
    )
    a, b = _json_lines(capsys.readouterr().out)
    assert a["result"] == b["result"] and a["chunks"] == b["chunks"] > 1
