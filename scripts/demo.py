"""The demo: jitperf's kernels over a memory-mapped sample, with throughput.

It writes a sample .npy in chunks with jitperf.io.generate (never the whole
array in memory), maps it read-only, and runs each kernel in the "auto" variant, printing the result
and GB/s. Run it through scripts/demo, which sets up .venv first.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numba
import numpy as np

import jitperf as jp
from jitperf.io import generate


def timed(fn, repeat: int):
    fn()  # compile (or load from the on-disk cache)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return value, float(np.median(times))


def fmt(value) -> str:
    if isinstance(value, np.ndarray):
        head = ", ".join(f"{v:.6g}" for v in value.ravel()[:3])
        return f"array{value.shape} [{head}, ...]"
    return f"{value:.10g}" if isinstance(value, (float, np.floating)) else str(value)


def jobs(x):
    """(label, call, bytes moved) for each kernel the demo runs over x."""
    x2 = x[: (x.size // 64) * 64].reshape(-1, 64)
    out = np.empty(x.shape, dtype=x.dtype)
    counts = np.zeros(100, dtype=np.int64)
    n = x.nbytes
    return [
        ("nansum", lambda: jp.nansum(x), n),
        ("nanmean", lambda: jp.nanmean(x), n),
        ("nanstd", lambda: jp.nanstd(x), n),
        ("nanmin", lambda: jp.nanmin(x), n),
        ("nanmax", lambda: jp.nanmax(x), n),
        ("nancount", lambda: jp.nancount(x), n),
        ("sum (NaN propagates)", lambda: jp.sum(x), n),
        ("nanmean axis=0 of (n/64, 64)", lambda: jp.nanmean(x2, axis=0), x2.nbytes),
        ("affine 2x-1 -> out", lambda: jp.affine(x, 2.0, -1.0, out=out), 2 * n),
        ("clip [0.1, 0.9] -> out", lambda: jp.clip(x, 0.1, 0.9, out=out), 2 * n),
        ("moving_mean w=64 -> out", lambda: jp.moving_mean(x, 64, out=out), 2 * n),
        ("cumsum -> out", lambda: jp.cumsum(x, out=out), 2 * n),
        ("histogram 100 bins", lambda: jp.histogram(x, 100, (0.0, 1.0), out=counts), n),
    ]


def run(x, repeat: int) -> None:
    todo = jobs(x)
    width = max(len(label) for label, _, _ in todo)
    for label, fn, nbytes in todo:
        value, t = timed(fn, repeat)
        if label.startswith("histogram"):
            value = f"{int(value.sum()):,} counted"
        shown = fmt(value)
        print(f"{label:<{width}}  {shown:<34} {t * 1e3:8.2f} ms {nbytes / t / 1e9:7.2f} GB/s")
    s = jp.stats(x)
    print("\nstats:", {k: round(v, 6) for k, v in s.to_dict().items()})
    half = x.size // 2
    halves = jp.stats(x[:half]).merge(jp.stats(x[half:]))
    print(f"stats of two halves, merged: var {halves.var():.12g} vs one pass {s.var():.12g}")
    out = np.empty(x.shape, dtype=x.dtype)
    jp.affine(x, 2.0, -1.0, out=out)
    with jp.count_allocations() as c:
        jp.nanmean(x)
        jp.affine(x, 2.0, -1.0, out=out)
    print(f"NRT allocations in {c.calls} kernel calls (nanmean, affine with out=): {c.allocs}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=64, help="sample size in MiB (default 64)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--nan-fraction", type=float, default=0.001)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per kernel (median)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    itemsize = np.dtype(args.dtype).itemsize
    n = int(args.size_mb * (1 << 20)) // itemsize
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sample.npy")
        generate(
            path, args.dtype, str(n), nan_fraction=args.nan_fraction, seed=args.seed, dist="uniform"
        )
        x = np.load(path, mmap_mode="r")
        print(f"sample: {path} {args.dtype} n={n:,} ({x.nbytes / 2**20:.0f} MiB), memory-mapped")
        print(f"threads: {numba.get_num_threads()}  variant: auto\n")
        run(x, args.repeat)
        del x  # unmap before the directory goes
    return 0


if __name__ == "__main__":
    sys.exit(main())
