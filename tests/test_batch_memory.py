"""The memory bound of batch runs: anonymous memory stays within a few chunks.

jitperf.batch.run maps its input and walks it chunk by chunk, so whatever the
file size its anonymous resident memory (RssAnon: heap, buffers, not the page
cache the maps fill) must grow by a few chunks at most. The runs happen in a
fresh interpreter, so nothing an earlier test allocated (or freed into the
allocator) is counted, and after the kernels have been compiled or loaded on
a small file, so compile memory is not counted either. Two measures per
kernel: the report's rss_anon_peak_bytes (sampled after each chunk) and a
thread that reads /proc/self/status every ~2 ms during the run (the peak
within chunks). As a check that the measure can fail, np.load of the same
file (a copy in memory, not a map) must grow RssAnon by about its size.

Run with -s to see the numbers.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from jitperf.io import generate

MiB = 1 << 20
COLUMNS = 16
ROWS = 512 * MiB // (4 * COLUMNS)  # float32: 512 MiB
CHUNK = 8 * MiB
BOUND = 8 * CHUNK  # growth over the warmed baseline

CHILD = textwrap.dedent(
    r"""
    import gc, json, os, sys, threading, time

    def rss_anon():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no RssAnon in /proc/self/status")

    start_rss = rss_anon()
    import numpy as np
    from jitperf.batch import run

    big, small, outdir, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    KERNELS = [
        ("stats", None, None, False),
        ("affine", {"scale": 2.5, "offset": -1.0}, None, True),
        ("cumsum", None, None, True),
        ("moving_mean", {"window": 64}, 0, True),
    ]

    label = [None]
    peaks, counts = {}, {}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            r = rss_anon()
            k = label[0]
            if k is not None:
                if r > peaks.get(k, 0):
                    peaks[k] = r
                counts[k] = counts.get(k, 0) + 1
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    def out_path(tag, kernel):
        return os.path.join(outdir, f"{tag}.{kernel}.npy")

    # Warm up: the same kernels, the same (parallel) variants, on a small
    # file with small chunks, so that compiling or loading them, the thread
    # pool and the allocator's first arenas are in the baseline.
    for _ in range(2):
        for kernel, params, axis, writes in KERNELS:
            o = out_path("warm", kernel) if writes else None
            run(kernel, small, params=params, axis=axis, output=o, chunk_bytes=chunk // 8)
            if o:
                os.unlink(o)
    gc.collect()
    time.sleep(0.05)
    baseline = rss_anon()

    results = {"start": start_rss, "baseline": baseline, "kernels": {}}
    for kernel, params, axis, writes in KERNELS:
        o = out_path("big", kernel) if writes else None
        before = rss_anon()
        label[0] = kernel
        t = time.perf_counter()
        r = run(kernel, big, params=params, axis=axis, output=o, chunk_bytes=chunk)
        elapsed = time.perf_counter() - t
        after = rss_anon()
        time.sleep(0.005)
        label[0] = None
        entry = {
            "before": before,
            "after": after,
            "sampled_peak": max(peaks.get(kernel, 0), after),
            "samples": counts.get(kernel, 0),
            "report_peak": r.rss_anon_peak_bytes,
            "chunks": r.chunks,
            "chunk_bytes": r.chunk_bytes,
            "variant": r.variant,
            "elapsed_s": elapsed,
        }
        if kernel == "stats":
            entry["count"] = r.to_dict()["result"]["count"]
        if o:
            a = np.load(o, mmap_mode="r")
            entry["out_shape"] = list(a.shape)
            del a
            os.unlink(o)
        results["kernels"][kernel] = entry
        gc.collect()

    # The check that the measure can fail: a copy of the file in memory.
    before = rss_anon()
    label[0] = "np.load"
    t = time.perf_counter()
    arr = np.load(big)
    elapsed = time.perf_counter() - t
    after = rss_anon()
    time.sleep(0.005)
    label[0] = None
    results["np.load"] = {
        "before": before,
        "after": after,
        "sampled_peak": max(peaks.get("np.load", 0), after),
        "samples": counts.get("np.load", 0),
        "nbytes": int(arr.nbytes),
        "elapsed_s": elapsed,
    }
    del arr
    stop.set()
    sampler.join()
    print("RESULT " + json.dumps(results))
    """
)


def mib(n):
    return n / MiB


def test_batch_rss_anon_stays_within_a_few_chunks(tmp_path):
    big = tmp_path / "big.npy"
    small = tmp_path / "small.npy"
    outdir = tmp_path / "out"
    outdir.mkdir()
    try:
        t = time.perf_counter()
        generate(big, "float32", (ROWS, COLUMNS), seed=1)
        gen_s = time.perf_counter() - t
        generate(small, "float32", (ROWS // 128, COLUMNS), seed=2)
        file_bytes = os.path.getsize(big)
        data_bytes = ROWS * COLUMNS * 4
        assert data_bytes >= 32 * CHUNK

        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(big), str(small), str(outdir), str(CHUNK)],
            capture_output=True,
            text=True,
            timeout=240,
            env=env,
            cwd=str(tmp_path),
        )
        child_s = time.perf_counter() - t
        assert proc.returncode == 0, proc.stderr[-4000:]
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
        res = json.loads(line[len("RESULT ") :])
    finally:
        for p in (big, small):
            if p.exists():
                p.unlink()
        shutil.rmtree(outdir, ignore_errors=True)
    assert not big.exists() and not small.exists()

    base = res["baseline"]
    print()
    print(
        f"input {mib(file_bytes):.0f} MiB float32 ({ROWS} x {COLUMNS}), "
        f"chunk {mib(CHUNK):.0f} MiB; "
        f"generate {gen_s:.2f} s; child process {child_s:.2f} s"
    )
    print(
        f"RssAnon at start {mib(res['start']):.1f} MiB, warmed baseline {mib(base):.1f} MiB; "
        f"bound: growth <= {mib(BOUND):.0f} MiB"
    )
    print(
        f"{'kernel':12s} {'chunks':>6s} {'report':>12s} {'sampled':>12s} "
        f"{'samples':>7s} {'time':>7s}"
    )
    failures = []
    for kernel, e in res["kernels"].items():
        report_growth = e["report_peak"] - base
        sampled_growth = e["sampled_peak"] - base
        print(
            f"{kernel:12s} {e['chunks']:6d} {mib(report_growth):+9.1f} MiB "
            f"{mib(sampled_growth):+9.1f} MiB "
            f"{e['samples']:7d} {e['elapsed_s']:6.2f}s"
        )
        assert e["chunks"] >= 32, e
        assert e["chunk_bytes"] <= CHUNK
        assert e["samples"] >= 5, f"{kernel}: the sampler hardly ran ({e['samples']} samples)"
        if report_growth > BOUND:
            failures.append(f"{kernel}: report's peak grew {mib(report_growth):.1f} MiB")
        if sampled_growth > BOUND:
            failures.append(f"{kernel}: sampled peak grew {mib(sampled_growth):.1f} MiB")
    assert res["kernels"]["stats"]["count"] == ROWS * COLUMNS
    for kernel in ("affine", "moving_mean"):
        assert res["kernels"][kernel]["out_shape"] == [ROWS, COLUMNS]
    assert res["kernels"]["cumsum"]["out_shape"] == [ROWS * COLUMNS]

    load = res["np.load"]
    load_growth = load["sampled_peak"] - load["before"]
    load_after = load["after"] - load["before"]
    print(
        f"{'np.load':12s} {'':6s} {'':12s} {mib(load_growth):+9.1f} MiB {load['samples']:7d} "
        f"{load['elapsed_s']:6.2f}s  (after: {mib(load_after):+.1f} MiB, "
        f"{load_after / data_bytes:.3f} x the data)"
    )
    assert load["nbytes"] == data_bytes
    # the measure sees a whole-file copy: it can fail
    assert load_after >= 0.9 * data_bytes, (mib(load_after), mib(data_bytes))
    assert load_growth >= 0.9 * data_bytes
    assert not failures, "; ".join(failures)


@pytest.mark.parametrize("kernel", ["stats"])
def test_report_rss_anon_peak_is_a_plausible_number(tmp_path, kernel):
    """The report's field is RssAnon in bytes: above zero, below the
    process's whole resident size."""
    from jitperf.batch import run
    from jitperf.batch.runner import rss_anon

    p = tmp_path / "x.npy"
    generate(p, "float32", (4096, 4))
    r = run(kernel, p, chunk_bytes=4096)
    assert r.chunks == 16
    peak = r.rss_anon_peak_bytes
    assert isinstance(peak, int) and peak > 0
    assert r.to_dict()["rss_anon_peak_bytes"] == peak
    with open("/proc/self/status") as f:
        rss = next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmRSS:"))
    assert peak <= rss + 64 * (1 << 20)
    assert abs(rss_anon() - peak) < 256 * (1 << 20)
    assert r.result["count"] == 4096 * 4
    assert np.isfinite(r.result["mean"])
