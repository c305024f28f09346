"""The performance targets: each a ratio of medians measured in one run, PASS or FAIL.

A Target names a class of kernels, the ratio it is judged on (jitperf's time
against a peer's, or against a machine figure) and the bound it must reach.
``run()`` times every implementation the targets of one kernel and dtype need
in one round-robin (harness.measure), then evaluates each target from those
medians; compile and start-up targets time fresh subprocesses instead. A
target whose peer is not installed is reported as SKIP with the reason, never
dropped, so the table always lists every target.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import harness
from .suites import SIZE, SPECS

MEMORY = ("sum", "mean", "var", "std", "min", "max", "nansum", "nanmean", "nanvar", "nanstd",
          "nanmin", "nanmax", "nancount", "dot", "stats")  # fmt: skip
NAN_AWARE = ("nansum", "nanmean", "nanvar", "nanmin", "nanmax")
VARIANCE = ("var", "std", "nanvar", "stats")
ELEMENTWISE = ("affine", "affine_i16", "polyval", "clip")
WINDOWS = ("moving_sum", "moving_mean", "moving_std")
SMALL_SIZES = (1 << 10, 64 << 10)
# every kernel of the small-input target: the library's, one spec each
SMALL = (*MEMORY, "argmin", *ELEMENTWISE, "cumsum", *WINDOWS, "histogram", "sqeuclidean")
START_FILE_BYTES = 1 << 20
SMALL_REPEAT = 31


@dataclass(frozen=True)
class Target:
    """``ratio(m)`` of the medians ``m`` (impl -> seconds) must be >= need,
    or <= need where ``at_most``. ``text`` is the ratio as the table shows it."""

    cls: str
    kernels: tuple
    text: str
    need: float
    ratio: object  # (medians, spec, machine) -> float
    impls: tuple  # what ratio() reads
    dtypes: tuple = ("float32", "float64")
    sizes: tuple = (SIZE,)
    at_most: bool = False

    def cases(self):
        """(kernel, dtype, size) of every measurement this target judges."""
        for k in self.kernels:
            for dt in SPECS[k].dtypes or self.dtypes:
                for size in self.sizes:
                    yield k, dt, size


@dataclass
class Result:
    cls: str
    kernel: str
    dtype: str
    size: int
    target: str
    need: str
    ratio: float | None
    status: str  # PASS, FAIL or SKIP
    why: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _over(num: str, den: str):
    """den's time / num's: how many times faster num runs."""
    return lambda m, spec, machine: m[den] / m[num]


def _scaling(m, spec, machine):
    # jitperf's parallel speed-up over simd, against C's all-threads speed-up
    return (m["simd"] / m["parallel"]) / (m["c1"] / m["c"])


def _peak_fraction(m, spec, machine):
    peak = (machine or {}).get("peak_gflops", {}).get("f32_all")
    if not peak:
        raise LookupError("no machine FMA peak (run jitperf machine)")
    return m["flops"] / m["parallel"] / 1e9 / peak


def _auto_vs_best(m, spec, machine):
    return m["auto"] / min(m["strict"], m["simd"], m["parallel"])


TARGETS = [
    Target("memory-bound reductions", MEMORY, "simd / C (1 thread)", 0.9,
           _over("simd", "c1"), ("simd", "c1")),
    Target("memory-bound reductions", MEMORY, "parallel / C OpenMP (all threads)", 0.9,
           _over("parallel", "c"), ("parallel", "c")),
    Target("nan-aware reductions", NAN_AWARE, "simd / bottleneck", 4.0,
           _over("simd", "bottleneck"), ("simd", "bottleneck")),
    Target("variance", VARIANCE, "simd / numpy", 4.0, _over("simd", "numpy"), ("simd", "numpy")),
    Target("elementwise", ELEMENTWISE, "simd / C (1 thread)", 0.9, _over("simd", "c1"),
           ("simd", "c1")),
    Target("elementwise", ELEMENTWISE, "simd / numexpr (1 thread)", 2.0,
           _over("simd", "numexpr1"), ("simd", "numexpr1")),
    Target("elementwise", ELEMENTWISE, "parallel / numexpr (all threads)", 2.0,
           _over("parallel", "numexpr"), ("parallel", "numexpr")),
    Target("elementwise", ELEMENTWISE, "simd / numpy expression", 4.0, _over("simd", "numpy"),
           ("simd", "numpy")),
    Target("windows and scans", WINDOWS, "simd / bottleneck", 1.5, _over("simd", "bottleneck"),
           ("simd", "bottleneck")),
    Target("windows and scans", WINDOWS, "simd / numbagg", 2.0, _over("simd", "numbagg"),
           ("simd", "numbagg")),
    Target("windows and scans", ("cumsum",), "simd / numpy", 3.0, _over("simd", "numpy"),
           ("simd", "numpy")),
    Target("histogram", ("histogram",), "simd / numpy.histogram", 3.0, _over("simd", "numpy"),
           ("simd", "numpy")),
    Target("compute-bound", ("sqeuclidean",), "parallel GFLOP/s / FMA peak (all threads)", 0.6,
           _peak_fraction, ("parallel",), dtypes=("float32",)),
    Target("compute-bound", ("sqeuclidean",), "parallel / scipy cdist", 5.0,
           _over("parallel", "scipy"), ("parallel", "scipy"), dtypes=("float32",)),
    Target("scaling", ("sqeuclidean", "histogram"), "parallel / simd (compute-bound)", 1.8,
           _over("parallel", "simd"), ("parallel", "simd")),
    Target("scaling", (*MEMORY, *ELEMENTWISE), "(parallel/simd) / (C all / C 1 thread)", 0.9,
           _scaling, ("simd", "parallel", "c1", "c")),
    Target("small inputs", SMALL, "auto / best variant", 1.2, _auto_vs_best,
           ("auto", "strict", "simd", "parallel"), sizes=SMALL_SIZES, at_most=True),
]  # fmt: skip

COLD_COMPILE_S = 2.0
WARM_START_S = 1.5


@dataclass
class TargetRun:
    rows: list = field(default_factory=list)  # harness.Row
    results: list = field(default_factory=list)  # Result
    notes: list = field(default_factory=list)


def _plan(targets):
    """(kernel, dtype, size) -> the impls its targets need, in first-seen order."""
    plan: dict = {}
    for t in targets:
        for case in t.cases():
            impls = plan.setdefault(case, [])
            impls.extend(i for i in t.impls if i not in impls)
    return plan


def run(targets=None, *, repeat=11, machine=None, progress=None, size_scale=1.0) -> TargetRun:
    """Measure and judge ``targets`` (default: TARGETS). ``size_scale``
    shrinks the large inputs (tests); ``progress(row)`` hears each row."""
    targets = list(targets or TARGETS)
    out = TargetRun()
    medians: dict = {}
    for (kernel, dt, size), impls in _plan(targets).items():
        spec = SPECS[kernel]
        nbytes = size if size in SMALL_SIZES else max(1 << 16, int(size * size_scale))
        n = max(1, nbytes // np.dtype(dt).itemsize)
        variants = [i for i in impls if i in (*harness.VARIANTS, "auto")]
        baselines = [i for i in impls if i not in variants]
        built = harness.implementations(spec, variants, baselines, out.notes)

        def seen(row, call):
            out.rows.append(row)
            if progress is not None:
                progress(row)

        small = nbytes < (1 << 20)
        # small calls: samples of SAMPLE_S each (harness.timed) and more of
        # them, since a few microseconds of noise is a large share of a call
        reps = max(repeat, SMALL_REPEAT) if small else repeat
        rows = harness.measure(spec, dt, n, built, reps, machine=machine,
                               number=None if small else 1, progress=seen)  # fmt: skip
        m = {r.impl: r.median_s for r in rows}
        m["flops"] = rows[0].flops if rows else 0
        m["bytes"] = nbytes
        medians[(kernel, dt, size)] = m
    for t in targets:
        for k, dt, size in t.cases():
            m = medians[(k, dt, size)]
            out.results.append(_judge(t, k, dt, m["bytes"], m, machine))
    return out


def _judge(t: Target, kernel, dt, size, m, machine) -> Result:
    need = f"{'<=' if t.at_most else '>='} {t.need:g}"
    base = dict(cls=t.cls, kernel=kernel, dtype=dt, size=size, target=t.text, need=need)
    missing = [i for i in t.impls if i not in m]
    if missing:
        return Result(**base, ratio=None, status="SKIP", why=f"no {', '.join(missing)} row")
    try:
        r = float(t.ratio(m, SPECS[kernel], machine))
    except LookupError as e:
        return Result(**base, ratio=None, status="SKIP", why=str(e))
    ok = r <= t.need if t.at_most else r >= t.need
    return Result(**base, ratio=r, status="PASS" if ok else "FAIL")


# -- compile and start ---------------------------------------------------------------------

_COLD = """
import time, numpy as np
x = np.ones(1 << 16, np.float32)
import jitperf
t = time.perf_counter()
jitperf.sum(x, variant="simd")
print(time.perf_counter() - t)
"""


def _python(code_or_args, env, timeout=300) -> subprocess.CompletedProcess:
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else list(code_or_args)
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=True)  # fmt: skip


def start_targets(repeat: int = 3) -> list:
    """The compile and start targets, each the median of ``repeat`` fresh
    processes: a cold compile of jitperf.sum (simd, float32) with an empty
    numba cache, and the wall time of ``jitperf run stats`` on a 1 MiB file
    in a second process, once a first one has filled that cache."""
    from ..io import gen

    results = []
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "start.npy")
        gen.generate(path, "float32", (START_FILE_BYTES // 4,))
        for k in range(repeat):
            env = {**os.environ, "NUMBA_CACHE_DIR": os.path.join(tmp, f"cache{k}")}
            cold.append(float(_python(_COLD, env).stdout.split()[-1]))
            cmd = ["-m", "jitperf", "run", "stats", path, "--no-progress", "--format", "json"]
            _python(cmd, env)  # fills the cache
            t = time.perf_counter()
            _python(cmd, env)
            warm.append(time.perf_counter() - t)
    for text, need, times in (
        ("cold compile, sum simd float32 (s)", COLD_COMPILE_S, cold),
        ("jitperf run stats 1 MiB, cached, wall (s)", WARM_START_S, warm),
    ):
        med = float(np.median(times))
        results.append(Result("compile and start", "sum" if "compile" in text else "stats",
                              "float32", START_FILE_BYTES, text, f"<= {need:g}", med,
                              "PASS" if med <= need else "FAIL"))  # fmt: skip
    return results


def table(results) -> str:
    """The targets as an aligned text table, one line a target."""
    head = ("class", "target", "kernel", "dtype", "size", "need", "measured", "result")
    lines = [head]
    for r in results:
        measured = "-" if r.ratio is None else f"{r.ratio:.2f}"
        status = r.status + (f" ({r.why})" if r.why else "")
        lines.append((r.cls, r.target, r.kernel, r.dtype, _size(r.size), r.need, measured, status))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    text = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in lines]  # fmt: skip
    passed = sum(r.status == "PASS" for r in results)
    failed = sum(r.status == "FAIL" for r in results)
    skipped = len(results) - passed - failed
    text.append(f"{passed} PASS, {failed} FAIL, {skipped} SKIP of {len(results)} targets")
    return "\n".join(text)


def _size(b: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= scale and b % scale == 0:
            return f"{b // scale} {unit}"
    return f"{b} B"
