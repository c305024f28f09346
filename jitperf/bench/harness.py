"""The bench harness: time kernels and baselines side by side, with allocations.

Every implementation of one kernel and dtype is timed round-robin (one call of
each in turn, ``repeat`` rounds) with the wall clock, after a first call
(timed apart as the compile) and a warm-up, so that a burst of noise on a
shared machine hits them all alike. Allocations are counted on one more call:
NRT allocations for jitperf rows, tracemalloc for every row's bytes.
"""

from __future__ import annotations

import cProfile
import gc
import os
import platform
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

from ..alloc import count_allocations
from . import stats as S
from .suites import GROUPS, QUICK_SIZE, SIZE, SPECS, optional  # noqa: F401 (tests patch optional here)

VARIANTS = ("strict", "simd", "parallel")
# numexpr and c run on as many threads as jitperf's parallel rows, numexpr1
# and c1 on one, beside the one-thread simd rows
BASELINES = ("numpy", "numexpr", "numexpr1", "bottleneck", "numbagg", "scipy", "c", "c1")
NUMPY_DOMAIN = getattr(np.lib, "tracemalloc_domain", 389047)


@dataclass
class Row:
    kernel: str
    impl: str
    dtype: str
    n: int
    bytes: int
    flops: int
    compile_s: float
    times_s: list
    min_s: float
    median_s: float
    iqr_s: float
    gbps: float
    gflops: float
    limit_frac: float | None
    allocs_per_op: float | None
    bytes_per_op: float | None
    threads: str  # "1" or "all": which machine limit applies
    bound: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Run:
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def _threads(impl: str) -> str:
    return "all" if impl in ("parallel", "auto", "numexpr", "c") else "1"


_CREF: list = []  # [(library or None, note or None)], built once per process


def _c_reference():
    if not _CREF:
        from . import cref

        _CREF.append(cref.build())
    return _CREF[0]


def limit_of(machine: dict | None, bound: str, dtype: str, threads: str, rw: bool):
    """The machine figure that bounds a row (GB/s or GFLOP/s), or None."""
    if not machine:
        return None
    t = "all" if threads == "all" else "1t"
    if bound == "compute":
        return machine.get("peak_gflops", {}).get(f"{'f32' if dtype == 'float32' else 'f64'}_{t}")
    return machine.get("bandwidth_gbps", {}).get(f"{'copy' if rw else 'read'}_{t}")


def _allocations(call, jitperf_row: bool):
    """(allocs per call, bytes per call) of one more call."""
    allocs = None
    if jitperf_row:
        with count_allocations() as c:
            call()
        allocs = c.allocs
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.DomainFilter(True, NUMPY_DOMAIN)]
        )
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call()
        peak = tracemalloc.get_traced_memory()[1] - base
        if not jitperf_row:
            # arrays the call left alive (its results): the allocations that
            # escape it; temporaries freed inside show in the bytes only
            after = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.DomainFilter(True, NUMPY_DOMAIN)]
            )
            allocs = max(0, len(after.traces) - len(before.traces))
        del result
    finally:
        tracemalloc.stop()
    return allocs, max(0, peak)


def implementations(spec, variants, baselines, notes):
    """(impl, jitperf?, builder) for the implementations that can run."""
    out = [(v, True, lambda d, v=v: spec.jitperf(d, v)) for v in variants]
    for b in baselines:
        if b in ("c", "c1"):
            lib, note = _c_reference()
            if lib is None:
                if note not in notes:
                    notes.append(note)
                continue
            from . import cref

            builder = cref.calls(lib).get(spec.name)
            if builder is not None:
                threads = 1 if b == "c1" else None
                out.append((b, False, lambda d, f=builder, t=threads: f(d, t or _nthreads())))
            continue
        if b not in spec.baselines:
            continue
        module = spec.modules.get(b, "numpy")
        if optional(module) is None:
            note = f"{b}: not installed ({module}), its rows are skipped"
            if note not in notes:
                notes.append(note)
            continue
        out.append((b, False, spec.baselines[b]))
    return out


def _nthreads() -> int:
    import numba

    return numba.get_num_threads()


def measure(spec, dt, n, impls, repeat, *, machine=None, number=1, progress=None) -> list:
    """Rows of ``impls`` ((impl, jitperf?, builder) as implementations gives) for one
    input of ``n`` elements of ``dt``, timed round-robin in one go."""
    data = spec.make(n, dt, np.random.default_rng(0))
    nbytes, flops = int(spec.bytes(data)), int(spec.flops(data))
    calls = {impl: build(data) for impl, _, build in impls}
    compile_s, times = timed(calls, repeat, number)
    rows = []
    # numpy's row first: the others are reported against it as they go
    for impl, is_jp, _ in sorted(impls, key=lambda i: i[0] != "numpy"):
        ts = times[impl]
        med = S.median(ts)
        allocs, bpo = _allocations(calls[impl], is_jp)
        threads = _threads(impl)
        lim = limit_of(machine, spec.bound, dt, threads, spec.writes)
        gbps, gflops = nbytes / med / 1e9, flops / med / 1e9
        row = Row(
            kernel=spec.name, impl=impl, dtype=dt, n=int(n), bytes=nbytes, flops=flops,
            compile_s=compile_s[impl], times_s=ts, min_s=min(ts), median_s=med,
            iqr_s=S.iqr(ts), gbps=gbps, gflops=gflops,
            limit_frac=((gflops if spec.bound == "compute" else gbps) / lim) if lim else None,
            allocs_per_op=allocs, bytes_per_op=bpo, threads=threads, bound=spec.bound,
        )  # fmt: skip
        rows.append(row)
        if progress is not None:
            progress(row, calls[impl])
    return rows


def run(
    kernels=None,
    *,
    dtypes=("float32", "float64"),
    size=None,
    variants=VARIANTS,
    baselines=BASELINES,
    repeat=11,
    quick=False,
    machine=None,
    progress=None,
    profile_dir=None,
) -> Run:
    """Benchmark ``kernels`` (names of SPECS; default: the default group).

    ``size`` is the main input's size in bytes (default SIZE, or QUICK_SIZE
    with ``quick``); ``machine`` is a Machine's dict, for the limit
    fractions; ``progress(row)`` is called as each row finishes.
    """
    names = list(kernels or GROUPS["default"])
    result = Run()
    size = size or (QUICK_SIZE if quick else SIZE)

    def done(row, call):
        if profile_dir is not None:
            _profile(call, repeat, profile_dir, row)
        result.rows.append(row)
        if progress is not None:
            progress(row)

    for name in names:
        spec = SPECS[name]
        for dt in spec.dtypes or dtypes:
            n = max(1, size // np.dtype(dt).itemsize)
            impls = implementations(spec, variants, baselines, result.notes)
            measure(spec, dt, n, impls, repeat, machine=machine, progress=done)
    return result


# with timed(number=None), a sample is at least this long: calls far shorter
# than it are repeated in a loop, so the clock's resolution and the timer's own
# cost do not show
SAMPLE_S = 1e-3


def timed(calls: dict, repeat: int, number: int | None = 1) -> tuple[dict, dict]:
    """(compile seconds, wall times) by name of zero-argument calls: each is
    called once (the compile, timed apart) and warmed up, then all are timed
    round-robin, ``repeat`` rounds, with garbage collection off. A time is
    that of ``number`` calls in a row, divided by ``number``; None picks, per
    call, enough calls for SAMPLE_S seconds."""
    compile_s, counts = {}, {}
    for name, call in calls.items():
        t = time.perf_counter()
        call()  # compiles, or loads from the cache
        compile_s[name] = time.perf_counter() - t
        t = time.perf_counter()
        call()  # warm-up, and the length of one call
        one = time.perf_counter() - t
        counts[name] = number or max(1, min(10_000, int(SAMPLE_S / max(one, 1e-9))))
    times = {name: [] for name in calls}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            for name, call in calls.items():
                k = counts[name]
                loop = range(k)
                t = time.perf_counter()
                for _ in loop:
                    call()
                times[name].append((time.perf_counter() - t) / k)
    finally:
        if gc_was:
            gc.enable()
    return compile_s, times


def _profile(call, repeat: int, folder, row: Row) -> None:
    os.makedirs(folder, exist_ok=True)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeat):
        call()
    prof.disable()
    prof.dump_stats(os.path.join(folder, f"{row.kernel}.{row.impl}.{row.dtype}.prof"))


def versions() -> dict:
    import llvmlite
    import numba

    import jitperf

    out = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "jitperf": jitperf.__version__,
    }
    for mod in ("numexpr", "bottleneck", "numbagg", "scipy"):
        m = optional(mod)
        if m is not None:
            out[mod] = getattr(m, "__version__", "?")
    return out


def document(run_: Run, machine: dict | None, command: list) -> dict:
    """The --json object: machine, versions, command, results (and notes)."""
    return {
        "machine": machine,
        "versions": versions(),
        "command": list(command),
        "results": [r.to_dict() for r in run_.rows],
        "notes": list(run_.notes),
    }
