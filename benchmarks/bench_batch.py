"""jitperf run over a large file against the in-memory kernels on the same data.

Generates a float32 sample (default 2 GiB) with `jitperf gen` unless --input
names one, then times `jitperf run stats` and `jitperf run affine` (each a
fresh process, its JSON report's gbps and RssAnon peak) next to jitperf.stats
and jitperf.affine called once on the whole array: on the memory map and on a
copy in RAM. Medians of --repeat runs, all in one invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import jitperf as jp
from jitperf.batch.runner import rss_anon


def jitperf_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "jitperf", *map(str, args)]


def batch(args, repeat: int) -> dict:
    """Median gbps and elapsed, and the largest RssAnon growth, of `jitperf run`."""
    runs = []
    for _ in range(repeat):
        p = subprocess.run(
            jitperf_cmd(*args, "--format", "json", "--no-progress"),
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(p.stdout.splitlines()[-1]))
    return {
        "gbps": statistics.median(r["gbps"] for r in runs),
        "elapsed_s": statistics.median(r["elapsed_s"] for r in runs),
        "rss_anon_peak_mib": max(r["rss_anon_peak_bytes"] for r in runs) / 2**20,
        "rss_anon_growth_mib": max(
            r["rss_anon_peak_bytes"] - r["rss_anon_start_bytes"] for r in runs
        )
        / 2**20,
        "phases_s": runs[len(runs) // 2]["phases_s"],
    }


def timed(fn, nbytes: int, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return nbytes / statistics.median(times) / 1e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", help="an existing float32 .npy (default: generate one)")
    ap.add_argument("--size-gib", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk-mb", type=float, default=64)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=os.environ.get("JITPERF_BENCH_DIR")) as tmp:
        path = args.input
        if path is None:
            path = os.path.join(tmp, "big.npy")
            rows = int(args.size_gib * 2**30) // 8
            subprocess.run(
                jitperf_cmd(
                    "gen",
                    path,
                    "--dtype",
                    "float32",
                    "--shape",
                    f"{rows},2",
                    "--nan-fraction",
                    "0.001",
                ),
                check=True,
            )
        x = np.load(path, mmap_mode="r")
        gib = x.nbytes / 2**30
        print(
            f"input {path}: {x.dtype} {x.shape}, {gib:.2f} GiB; chunks {args.chunk_mb} MiB; "
            f"medians of {args.repeat}"
        )
        out = os.path.join(tmp, "out.npy")
        chunk = ["--chunk-mb", args.chunk_mb]
        st = batch(["run", "stats", path, *chunk], args.repeat)
        af = batch(
            [
                "run",
                "affine",
                path,
                "-p",
                "scale=2",
                "-p",
                "offset=-1",
                "-o",
                out,
                "--force",
                *chunk,
            ],
            args.repeat,
        )
        base = rss_anon()
        mapped_stats = timed(lambda: jp.stats(x), x.nbytes, args.repeat)
        dst = np.empty(x.shape, x.dtype)
        dst[...] = 0
        mapped_affine = timed(lambda: jp.affine(x, 2.0, -1.0, out=dst), x.nbytes, args.repeat)
        ram = np.array(x)
        ram_stats = timed(lambda: jp.stats(ram), x.nbytes, args.repeat)
        ram_affine = timed(lambda: jp.affine(ram, 2.0, -1.0, out=dst), x.nbytes, args.repeat)
        grown = (rss_anon() - base) / 2**20
        print(
            f"{'kernel':8s} {'jitperf run':>12s} {'one call, map':>14s} {'one call, RAM':>14s}"
            f" {'run RssAnon peak (growth)':>26s}"
        )
        for name, b, m, r in (
            ("stats", st, mapped_stats, ram_stats),
            ("affine", af, mapped_affine, ram_affine),
        ):
            print(
                f"{name:8s} {b['gbps']:8.2f} GB/s {m:9.2f} GB/s {r:9.2f} GB/s "
                f"{b['rss_anon_peak_mib']:12.0f} MiB (+{b['rss_anon_growth_mib']:.0f} MiB)"
                "   run phases: " + ", ".join(f"{k} {v:.3f} s" for k, v in b["phases_s"].items())
            )
        print(f"(the in-memory calls held {grown:.0f} MiB of anonymous memory: output and copy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
