"""Time every jitperf kernel variant against numpy (and bottleneck, scipy).

For each kernel, each variant and each dtype this prints the median wall time
(ms) and the throughput in GB/s (bytes read + written by the kernel: inputs
plus outputs; a reduction's scalar result is not counted) on a 1-D array of
``--size-mb`` MiB, next to the numpy equivalent, bottleneck where it has one,
and the ratio reference_time / variant_time (above 1: the variant is faster).
sqeuclidean runs on (4096, 64) x (4096, 64) and reports GFLOP/s (3*n*m*d).

Kernel modules that do not import (or lack a function) are skipped with a
note, so the script runs while the library is still being written.

The machine this runs on is small and shared: every implementation of one
kernel is timed round-robin (one call of each in turn, ``--repeat`` rounds),
so that a burst of noise hits them all alike, and the table shows medians.
Transforms write into an ``out=`` array allocated once, outside the timing
(numpy too, where it takes ``out=``: affine is np.multiply + np.add in place;
np.polyval and bottleneck allocate their results).

The CHECK lines at the end apply the rule "the simd variants of sum, nanmean
and var must be at least as fast as numpy's sum on the same array": np.sum
is timed in the same rounds, on the array that kernel reads.

    python benchmarks/bench_kernels.py --quick
    python benchmarks/bench_kernels.py --dtype float32 --kernels sum,var --json out.json
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from _machine import other_cpu_busy  # beside this script

try:
    import bottleneck as bn
except ImportError:  # optional
    bn = None

try:
    from scipy.spatial.distance import cdist
except ImportError:  # optional
    cdist = None

MiB = 1 << 20
VARIANTS = ("strict", "simd", "parallel")
CHECK_KERNELS = ("sum", "nanmean", "var")
WINDOW = 64  # moving-window length
BINS, RANGE = 100, (0.0, 1.0)  # histogram
CLIP = (0.1, 0.9)
SCALE, OFFSET = 2.5, -0.75  # affine
COEFFS = (0.5, -1.25, 2.0, 0.75, 3.0)  # polyval, degree 4, highest power first
DIST_SHAPE = (4096, 64)  # sqeuclidean: a and b are both (n, d)
DIST_SHAPE_QUICK = (1024, 64)


# --------------------------------------------------------------------------
# Kernel table
# --------------------------------------------------------------------------


@dataclass
class Data:
    """The arrays of one dtype; each kernel reads the ones its spec names."""

    x: np.ndarray  # uniform [0, 1)
    nan: np.ndarray | None  # x's distribution with ~1% NaN (nan* kernels only)
    y: np.ndarray | None  # a second uniform array (dot)
    a: np.ndarray | None  # sqeuclidean inputs
    b: np.ndarray | None


@dataclass
class Spec:
    """One kernel: how to call it, its references, and which data it reads.

    ``call(f, d, out, variant)`` runs the kernel; ``numpy``/``bn`` are
    ``ref(d, out)`` callables (None where there is no equivalent).
    ``source`` names the array the kernel reads ("x", "nan", "xy", "ab").
    """

    name: str
    module: str
    kind: str  # "reduce" | "transform" | "distance"
    source: str
    call: Callable
    numpy: Callable | None = None
    bn: Callable | None = None
    scipy: Callable | None = None
    numpy_label: str = "numpy"


def _inputs(spec: Spec, d: Data) -> list[np.ndarray]:
    return {
        "x": [d.x],
        "nan": [d.nan],
        "xy": [d.x, d.y],
        "ab": [d.a, d.b],
    }[spec.source]


def _main_input(spec: Spec, d: Data) -> np.ndarray:
    return _inputs(spec, d)[0]


def _reduction(name: str, module: str = "reductions", source: str | None = None) -> Spec:
    nan = name.startswith("nan")
    src = source or ("nan" if nan else "x")
    arr = "nan" if src == "nan" else "x"
    bn_fn = getattr(bn, name, None) if (bn is not None and nan and name != "nancount") else None

    def call(f, d, out, v):
        return f(getattr(d, arr), variant=v)

    if name == "nancount":  # numpy has none: count the non-NaN values
        return Spec(
            name,
            module,
            "reduce",
            src,
            call,
            numpy=lambda d, out: np.count_nonzero(~np.isnan(d.nan)),
            numpy_label="numpy(count_nonzero)",
        )
    np_fn = getattr(np, name, None)
    return Spec(
        name,
        module,
        "reduce",
        src,
        call,
        numpy=(lambda d, out: np_fn(getattr(d, arr))) if np_fn else None,
        bn=(lambda d, out: bn_fn(getattr(d, arr))) if bn_fn else None,
    )


def _affine_np(d, out):
    np.multiply(d.x, SCALE, out=out)
    np.add(out, OFFSET, out=out)


def _coeffs(d):
    return np.asarray(COEFFS, dtype=d.x.dtype)


def _sqeuclidean_np(d, out):
    # |a|^2 + |b|^2 - 2 a.b^T, the usual numpy route (BLAS gemm)
    aa = np.einsum("ij,ij->i", d.a, d.a)
    bb = np.einsum("ij,ij->i", d.b, d.b)
    np.matmul(d.a, d.b.T, out=out)
    out *= -2
    out += aa[:, None]
    out += bb[None, :]


def _window(name: str) -> Spec:
    bn_fn = getattr(bn, name.replace("moving_", "move_"), None) if bn is not None else None
    return Spec(
        name,
        "windows",
        "transform",
        "x",
        lambda f, d, out, v: f(d.x, WINDOW, out=out, variant=v),
        bn=(lambda d, out: bn_fn(d.x, WINDOW)) if bn_fn else None,
    )


def build_specs() -> list[Spec]:
    specs = [
        _reduction(n)
        for n in (
            "sum",
            "mean",
            "var",
            "std",
            "min",
            "max",
            "argmin",
            "argmax",
            "nansum",
            "nanmean",
            "nanvar",
            "nanstd",
            "nanmin",
            "nanmax",
            "nancount",
        )
    ]
    specs.append(
        Spec(
            "dot",
            "reductions",
            "reduce",
            "xy",
            lambda f, d, out, v: f(d.x, d.y, variant=v),
            numpy=lambda d, out: np.dot(d.x, d.y),
        )
    )
    specs.append(
        Spec("stats", "stats", "reduce", "x", lambda f, d, out, v: f(d.x, variant=v)),
    )
    specs += [
        Spec(
            "affine",
            "elementwise",
            "transform",
            "x",
            lambda f, d, out, v: f(d.x, SCALE, OFFSET, out=out, variant=v),
            numpy=_affine_np,
            numpy_label="numpy(a*x+b, out=)",
        ),
        Spec(
            "polyval",
            "elementwise",
            "transform",
            "x",
            lambda f, d, out, v: f(_coeffs(d), d.x, out=out, variant=v),
            numpy=lambda d, out: np.polyval(_coeffs(d), d.x),
        ),
        Spec(
            "clip",
            "elementwise",
            "transform",
            "x",
            lambda f, d, out, v: f(d.x, CLIP[0], CLIP[1], out=out, variant=v),
            numpy=lambda d, out: np.clip(d.x, CLIP[0], CLIP[1], out=out),
        ),
        Spec(
            "cumsum",
            "scan",
            "transform",
            "x",
            lambda f, d, out, v: f(d.x, out=out, variant=v),
            numpy=lambda d, out: np.cumsum(d.x, dtype=out.dtype, out=out),
        ),
        _window("moving_sum"),
        _window("moving_mean"),
        _window("moving_std"),
        Spec(
            "histogram",
            "histogram",
            "transform",
            "x",
            lambda f, d, out, v: f(d.x, BINS, RANGE, out=out, variant=v),
            numpy=lambda d, out: np.histogram(d.x, BINS, RANGE),
        ),
        Spec(
            "sqeuclidean",
            "distance",
            "distance",
            "ab",
            lambda f, d, out, v: f(d.a, d.b, out=out, variant=v),
            numpy=_sqeuclidean_np,
            numpy_label="numpy(gemm)",
            scipy=(lambda d, out: cdist(d.a, d.b, "sqeuclidean")) if cdist else None,
        ),
    ]
    return specs


def load_kernel(spec: Spec):
    """The kernel function, or (None, why) when its module is not there yet."""
    modname = f"jitperf.kernels.{spec.module}"
    try:
        mod = importlib.import_module(modname)
    except Exception as e:  # missing or half-written module
        return None, f"{modname} does not import ({type(e).__name__}: {e})"
    f = getattr(mod, spec.name, None)
    if f is None:
        return None, f"{modname} has no {spec.name}()"
    return f, None


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


@dataclass
class Impl:
    label: str  # "strict", "simd", "parallel", "auto", "numpy", "bottleneck", ...
    fn: Callable[[], object]
    role: str  # "variant" | "numpy" | "bn" | "scipy" | "check"
    first_s: float = float("nan")
    times: list[float] = field(default_factory=list)


def _first_call(impl: Impl) -> str | None:
    t0 = time.perf_counter()
    try:
        impl.fn()
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    impl.first_s = time.perf_counter() - t0
    return None


def time_round_robin(impls: list[Impl], repeat: int, budget_s: float) -> int:
    """Call each impl once per round; stop after ``repeat`` rounds, or earlier
    (but never before 3) once the group has run ``budget_s`` seconds."""
    start = time.perf_counter()
    rounds = 0
    for r in range(repeat):
        for impl in impls:
            t0 = time.perf_counter()
            impl.fn()
            impl.times.append(time.perf_counter() - t0)
        rounds = r + 1
        if rounds >= 3 and time.perf_counter() - start > budget_s:
            break
    return rounds


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def make_data(dtype, n: int, specs: list[Spec], dist_shape) -> Data:
    rng = np.random.default_rng(0)
    sources = {s.source for s in specs}
    x = rng.random(n, dtype=dtype)
    y = rng.random(n, dtype=dtype) if "xy" in sources else None
    nan = None
    if "nan" in sources:
        nan = x.copy()
        nan[rng.integers(0, n, size=max(1, n // 100))] = np.nan
    a = b = None
    if "ab" in sources:
        a = rng.random(dist_shape, dtype=dtype)
        b = rng.random(dist_shape, dtype=dtype)
    return Data(x, nan, y, a, b)


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

COLS = (
    ("kernel", 12, "<"),
    ("dtype", 7, "<"),
    ("impl", 20, "<"),
    ("first_s", 8, ">"),
    ("median_ms", 10, ">"),
    ("min_ms", 9, ">"),
    ("GB/s", 7, ">"),
    ("GFLOP/s", 8, ">"),
    ("vs_numpy", 8, ">"),
    ("vs_bn", 6, ">"),
)


def _fmt_row(values) -> str:
    return "  ".join(f"{v:{a}{w}}" for v, (_, w, a) in zip(values, COLS, strict=True))


def header() -> str:
    h = _fmt_row([c[0] for c in COLS])
    return h + "\n" + "-" * len(h)


def _threading_layer() -> str:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # no parallel region ran
        return "(not started)"


def _num(v, spec=".2f") -> str:
    return "-" if v is None or v != v else format(v, spec)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=(
            "Benchmark jitperf kernels (strict/simd/parallel) against numpy and "
            "bottleneck: median time, GB/s and speed ratios, plus the simd-vs-np.sum CHECK."
        )
    )
    p.add_argument("--size-mb", type=float, default=256, help="array size in MiB (default 256)")
    p.add_argument("--repeat", type=int, default=7, help="timed rounds; the median is shown")
    p.add_argument(
        "--dtype", default="float32,float64", help="comma list (default float32,float64)"
    )
    p.add_argument(
        "--kernels", default=None, help="comma list of kernel names to run (default all)"
    )
    p.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma list of strict,simd,parallel,auto (default strict,simd,parallel)",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 16 MiB, repeat 3")
    p.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help="seconds per kernel group after which rounds stop early (min 3 rounds; default 10)",
    )
    p.add_argument("--no-bottleneck", action="store_true", help="leave bottleneck out")
    p.add_argument("--json", metavar="FILE", help="also write the rows as a JSON list of dicts")
    p.add_argument(
        "--fail-on-check", action="store_true", help="exit with status 1 if a CHECK line fails"
    )
    a = p.parse_args(argv)
    if a.quick:
        a.size_mb, a.repeat = 16, 3
    a.dtypes = [np.dtype(t.strip()) for t in a.dtype.split(",") if t.strip()]
    a.variant_list = [v.strip() for v in a.variants.split(",") if v.strip()]
    bad = [v for v in a.variant_list if v not in VARIANTS + ("auto",)]
    if bad:
        p.error(f"--variants: unknown {bad}")
    a.kernel_list = [k.strip() for k in a.kernels.split(",")] if a.kernels else None
    if a.repeat < 1:
        p.error("--repeat must be >= 1")
    return a


def run(args) -> int:
    global bn
    if args.no_bottleneck:
        bn = None
    import numba

    import jitperf
    from jitperf import _plan

    specs = build_specs()
    if args.kernel_list is not None:
        known = {s.name for s in specs}
        for k in args.kernel_list:
            if k not in known:
                print(f"note: unknown kernel {k!r} ignored (known: {', '.join(sorted(known))})")
        specs = [s for s in specs if s.name in args.kernel_list]

    loaded = []
    for s in specs:
        f, why = load_kernel(s)
        if f is None:
            print(f"note: skipping {s.name}: {why}")
        else:
            loaded.append((s, f))

    dist_shape = DIST_SHAPE_QUICK if args.quick else DIST_SHAPE
    print(
        f"# jitperf {jitperf.__version__}  numpy {np.__version__}  numba {numba.__version__}"
        f"  bottleneck {bn.__version__ if bn else 'absent'}"
        f"  scipy {'present' if cdist else 'absent'}"
    )
    print(
        f"# {platform.machine()} {platform.python_implementation()} {platform.python_version()}"
        f"  numba threads {numba.get_num_threads()}"
        f"  PARALLEL_MIN_BYTES {_plan.PARALLEL_MIN_BYTES}"
        f"  other CPU use {other_cpu_busy():.0%}"
    )
    print(
        f"# 1-D arrays of {args.size_mb:g} MiB per input, median of {args.repeat} round-robin"
        f" rounds after one untimed round (budget {args.budget:g} s per kernel),"
        f" sqeuclidean on {dist_shape} x {dist_shape};"
        " first_s = first call (compile or cache load + one run);"
        " vs_* = reference median / this median"
    )
    print(
        f"# moving window {WINDOW}, histogram {BINS} bins on {RANGE}, polyval degree"
        f" {len(COEFFS) - 1}, nan* kernels read a copy with ~1% NaN"
    )
    sys.stdout.flush()

    rows: list[dict] = []
    checks: dict[tuple[str, str], dict[str, float]] = {}
    for dtype in args.dtypes:
        n = int(args.size_mb * MiB) // dtype.itemsize
        data = make_data(dtype, n, [s for s, _ in loaded], dist_shape)
        print()
        print(f"## {dtype.name}: n = {n:,} ({n * dtype.itemsize / MiB:g} MiB)")
        print(header())
        sys.stdout.flush()
        for spec, f in loaded:
            rows += bench_one(spec, f, data, args, checks)
            sys.stdout.flush()
        del data
        gc.collect()

    print()
    busy = other_cpu_busy()
    print(f"# numba threading layer {_threading_layer()}; other CPU use at end {busy:.0%}")
    failed = 0
    for dtype in args.dtypes:
        for k in CHECK_KERNELS:
            c = checks.get((dtype.name, k), {})
            if "simd" not in c or "np.sum" not in c:
                print(f"CHECK {dtype.name} simd {k}: SKIP (not measured in this run)")
                continue
            ok = c["simd"] <= c["np.sum"]
            failed += not ok
            print(
                f"CHECK {dtype.name} simd {k} {c['simd']:.4g} s vs np.sum {c['np.sum']:.4g} s:"
                f" {'PASS' if ok else 'FAIL'}"
            )

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
        print(f"# wrote {len(rows)} rows to {args.json}")
    return 1 if (failed and args.fail_on_check) else 0


def bench_one(spec: Spec, f, data: Data, args, checks) -> list[dict]:
    inputs = _inputs(spec, data)
    x0 = _main_input(spec, data)
    dtype = x0.dtype.name
    in_bytes = sum(a.nbytes for a in inputs)
    state = {"out": None}

    impls: list[Impl] = []
    for v in args.variant_list:

        def fn(v=v):
            return spec.call(f, data, state["out"], v)

        impl = Impl(v, fn, "variant")
        if spec.kind != "reduce" and state["out"] is None:
            # The first variant's first call allocates its result; that array
            # (shape and dtype as the kernel makes them) becomes out= for all.
            t0 = time.perf_counter()
            try:
                r = fn()
            except Exception as e:
                print(f"note: {spec.name} {dtype} {v}: failed ({type(e).__name__}: {e})")
                continue
            impl.first_s = time.perf_counter() - t0
            r0 = r[0] if isinstance(r, tuple) else r
            state["out"] = np.empty_like(r0)
            del r, r0
            fn()  # once with out=, in case that path compiles apart
        else:
            err = _first_call(impl)
            if err:
                print(f"note: {spec.name} {dtype} {v}: failed ({err})")
                continue
        impls.append(impl)

    if not impls:
        return []
    out = state["out"]
    if out is None and spec.kind != "reduce":  # no variant ran: numpy still needs out=
        out = state["out"] = np.empty_like(x0)
    out_bytes = out.nbytes if out is not None else 0
    nbytes = in_bytes + out_bytes
    flops = None
    if spec.kind == "distance":
        (na, dd), mb = data.a.shape, data.b.shape[0]
        flops = 3.0 * na * mb * dd

    refs = [
        (spec.numpy, spec.numpy_label, "numpy"),
        (spec.bn, "bottleneck", "bn"),
        (spec.scipy, "scipy(cdist)", "scipy"),
    ]
    if spec.name in CHECK_KERNELS and spec.name != "sum":
        arr = x0
        refs.append((lambda d, out: np.sum(arr), "np.sum (CHECK ref)", "check"))
    for ref, label, role in refs:
        if ref is None:
            continue
        impl = Impl(label, lambda ref=ref: ref(data, out), role)
        err = _first_call(impl)
        if err:
            print(f"note: {spec.name} {dtype} {label}: failed ({err})")
            continue
        impls.append(impl)

    for impl in impls:  # one untimed round: lets pages and threads settle
        impl.fn()
    time_round_robin(impls, args.repeat, args.budget)

    med = {i.role if i.role != "variant" else i.label: statistics.median(i.times) for i in impls}
    np_med = med.get("numpy")
    bn_med = med.get("bn")
    if spec.name in CHECK_KERNELS:
        c = checks.setdefault((dtype, spec.name), {})
        if "simd" in med:
            c["simd"] = med["simd"]
        ref = med.get("numpy") if spec.name == "sum" else med.get("check")
        if ref is not None:
            c["np.sum"] = ref

    rows = []
    for i in impls:
        m, lo = statistics.median(i.times), min(i.times)
        gbps = nbytes / m / 1e9
        gflops = flops / m / 1e9 if flops else None
        vs_np = np_med / m if np_med and i.role in ("variant", "bn", "scipy") else None
        vs_bn = bn_med / m if bn_med and i.role == "variant" else None
        print(
            _fmt_row(
                [
                    spec.name,
                    dtype,
                    i.label,
                    _num(i.first_s, ".3f"),
                    _num(m * 1e3, ".3f"),
                    _num(lo * 1e3, ".3f"),
                    _num(gbps, ".1f"),
                    _num(gflops, ".1f"),
                    _num(vs_np),
                    _num(vs_bn),
                ]
            )
        )
        rows.append(
            {
                "kernel": spec.name,
                "impl": i.label,
                "dtype": dtype,
                "n": int(x0.size),
                "bytes": int(nbytes),
                "median_s": m,
                "min_s": lo,
                "gbps": gbps,
                "gflops": gflops,
                "first_s": None if i.first_s != i.first_s else i.first_s,
                "rounds": len(i.times),
                "vs_numpy": vs_np,
                "vs_bottleneck": vs_bn,
            }
        )
    return rows


def main(argv=None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
