"""Sweep input sizes to find where the parallel variant starts to beat simd.

jitperf's variant="auto" picks "parallel" when x.nbytes >= PARALLEL_MIN_BYTES
(jitperf/_plan.py) and "simd" below. This script times float32 sum, nanmean
(on a copy with ~1% NaN), var, and affine (with out=, when
jitperf.kernels.elementwise exists) in both variants for sizes from 4 KiB to
64 MiB (powers of two), and prints per kernel:

- size, simd us, parallel us per call, ratio = simd / parallel (above 1:
  parallel is faster);
- the smallest size from which parallel is faster at that size and at every
  larger size of the sweep;

then a suggested PARALLEL_MIN_BYTES: the largest of those sizes over the
kernels, rounded up to a power of two.

Timing: per (kernel, size) the loop count k is set so that one batch of k
calls takes about ``--target-ms``; ``--repeat`` batches of simd and parallel
run alternately and the per-call time is the median batch time / k.
Small arrays stay in cache across the calls of a batch, as they would in a
loop of small calls in real use.

    python benchmarks/auto_threshold.py
    python benchmarks/auto_threshold.py --kernels sum --repeat 41 --json sweep.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import statistics
import sys
import time

import numpy as np
from _machine import other_cpu_busy  # beside this script

KiB, MiB = 1 << 10, 1 << 20
SCALE, OFFSET = 2.5, -0.75


def _fmt_size(b: int) -> str:
    if b >= MiB:
        return f"{b // MiB} MiB"
    return f"{b // KiB} KiB"


def build_cases(names, x_full, nan_full):
    """(name, make(n) -> {variant: fn}) for the kernels that exist."""
    from jitperf.kernels import reductions as red

    cases = []

    def reduction(f, src):
        def make(n):
            a = src[:n]
            return {v: (lambda v=v: f(a, variant=v)) for v in ("simd", "parallel")}

        return make

    if "sum" in names:
        cases.append(("sum", reduction(red.sum, x_full)))
    if "nanmean" in names:
        cases.append(("nanmean", reduction(red.nanmean, nan_full)))
    if "var" in names:
        cases.append(("var", reduction(red.var, x_full)))
    if "affine" in names:
        try:
            affine = importlib.import_module("jitperf.kernels.elementwise").affine
        except Exception as e:  # not written yet
            print(f"note: skipping affine: jitperf.kernels.elementwise.affine unavailable ({e})")
        else:
            out_full = np.empty_like(x_full)

            def make(n):
                a, o = x_full[:n], out_full[:n]
                return {
                    v: (lambda v=v: affine(a, SCALE, OFFSET, out=o, variant=v))
                    for v in ("simd", "parallel")
                }

            cases.append(("affine", make))
    return cases


def time_pair(fns: dict, repeat: int, target_s: float) -> tuple[dict, int]:
    """Median seconds per call of each fn, batches alternating; and the loop counts."""
    for fn in fns.values():  # warm up: compile, fault in pages, start threads
        fn()
        fn()
    # each variant gets its own loop count, so that both batches last ~target_s
    ks = {v: max(1, math.ceil(target_s / max(_one(fn), 1e-9))) for v, fn in fns.items()}
    times = {v: [] for v in fns}
    for _ in range(repeat):
        for v, fn in fns.items():
            k = ks[v]
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            times[v].append((time.perf_counter() - t0) / k)
    return {v: statistics.median(t) for v, t in times.items()}, ks


def _one(fn) -> float:
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def threshold(rows, margin: float):
    """Smallest size from which simd/parallel > margin at every larger size."""
    best = None
    for r in reversed(rows):  # rows sorted by size
        if r["ratio"] > margin:
            best = r["bytes"]
        else:
            break
    return best


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Sweep sizes, time simd vs parallel, suggest PARALLEL_MIN_BYTES."
    )
    p.add_argument("--min-kb", type=int, default=4, help="smallest size in KiB (default 4)")
    p.add_argument("--max-mb", type=int, default=64, help="largest size in MiB (default 64)")
    p.add_argument("--repeat", type=int, default=25, help="timed batches per variant (median)")
    p.add_argument(
        "--target-ms", type=float, default=10.0, help="wall time of one batch (default 10 ms)"
    )
    p.add_argument(
        "--kernels", default="sum,nanmean,var,affine", help="comma list (default all four)"
    )
    p.add_argument(
        "--margin",
        type=float,
        default=1.0,
        help="parallel counts as faster when simd/parallel > MARGIN (default 1.0)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    a = p.parse_args(argv)
    lo, hi = a.min_kb * KiB, a.max_mb * MiB
    if lo & (lo - 1) or hi & (hi - 1) or lo > hi or lo < 4:
        p.error("--min-kb and --max-mb must be powers of two with min <= max")
    a.sizes = [1 << e for e in range(lo.bit_length() - 1, hi.bit_length())]
    a.kernel_list = [k.strip() for k in a.kernels.split(",") if k.strip()]
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    import numba

    from jitperf import _plan

    busy = other_cpu_busy()
    if busy > 0.2:
        print(
            f"warning: {busy:.0%} of the CPUs busy with other work before the sweep;"
            " contention slows the parallel variant most"
        )
    dtype = np.dtype(np.float32)
    nmax = args.sizes[-1] // dtype.itemsize
    rng = np.random.default_rng(0)
    x_full = rng.random(nmax, dtype=dtype)
    nan_full = x_full.copy()
    nan_full[rng.integers(0, nmax, size=max(1, nmax // 100))] = np.nan

    cases = build_cases(args.kernel_list, x_full, nan_full)
    print(
        f"# float32, numba {numba.__version__}, {numba.get_num_threads()} threads,"
        f" current PARALLEL_MIN_BYTES = {_plan.PARALLEL_MIN_BYTES}"
        f" ({_fmt_size(_plan.PARALLEL_MIN_BYTES)})"
    )
    print(
        f"# median of {args.repeat} alternating batches of ~{args.target_ms:g} ms;"
        f" ratio = simd / parallel (> {args.margin:g}: parallel faster);"
        f" other CPU use at start {busy:.0%}"
    )
    sys.stdout.flush()

    results = {}
    all_rows = []
    t_start = time.perf_counter()
    for name, make in cases:
        print()
        print(f"## {name}")
        print(
            f"{'size':>8}  {'bytes':>9}  {'calls':>13}  {'simd us':>10}  {'parallel us':>11}  "
            f"{'ratio':>6}  faster"
        )
        rows = []
        for b in args.sizes:
            n = b // dtype.itemsize
            med, ks = time_pair(make(n), args.repeat, args.target_ms / 1e3)
            ratio = med["simd"] / med["parallel"]
            row = {
                "kernel": name,
                "bytes": b,
                "n": n,
                "calls_per_batch": ks,
                "simd_us": med["simd"] * 1e6,
                "parallel_us": med["parallel"] * 1e6,
                "ratio": ratio,
            }
            rows.append(row)
            print(
                f"{_fmt_size(b):>8}  {b:>9}  {ks['simd']:>6}/{ks['parallel']:<6}  "
                f"{row['simd_us']:>10.2f}  "
                f"{row['parallel_us']:>11.2f}  {ratio:>6.2f}  "
                f"{'parallel' if ratio > args.margin else 'simd'}"
            )
            sys.stdout.flush()
        th = threshold(rows, args.margin)
        results[name] = th
        print(
            f"{name}: parallel consistently faster from "
            f"{_fmt_size(th) + f' ({th} bytes)' if th else 'nowhere in the sweep'}"
        )
        all_rows += rows

    print()
    print(
        f"# sweep took {time.perf_counter() - t_start:.1f} s;"
        f" other CPU use at end {other_cpu_busy():.0%}"
    )
    print(
        "threshold per kernel: "
        + ", ".join(f"{k} {_fmt_size(v) if v else 'none'}" for k, v in results.items())
    )
    found = {k: v for k, v in results.items() if v}
    missing = [k for k, v in results.items() if not v]
    suggested = None
    if found:
        top = max(found.values())
        suggested = 1 << (top - 1).bit_length()  # round up to a power of two
    if missing:
        print(
            f"note: parallel never consistently faster up to {_fmt_size(args.sizes[-1])} for "
            f"{', '.join(missing)}; the suggestion below covers the others only"
        )
    if suggested:
        print(
            f"suggested PARALLEL_MIN_BYTES = {suggested} ({_fmt_size(suggested)})"
            f"  [1 << {suggested.bit_length() - 1}]"
        )
    else:
        print("suggested PARALLEL_MIN_BYTES: none (parallel never consistently faster)")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"rows": all_rows, "thresholds": results, "suggested": suggested}, fh, indent=1
            )
        print(f"# wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
