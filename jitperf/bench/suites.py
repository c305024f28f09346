"""What a bench run measures: kernels, their work, and their baselines.

A Spec says, for one kernel, how to build its inputs at a size, the bytes it
moves and the flops it does, whether memory or the FMA units bound it, how to
call jitperf (transforms into a preallocated out=) and each baseline that
computes the same thing. GROUPS names the kernels of the default run and of
each group; ``--quick`` shrinks the sizes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numba
import numpy as np

import jitperf as jp

WINDOW, BINS, RANGE, CLIP = 64, 100, (0.0, 1.0), (0.1, 0.9)
COEFFS = (0.5, -1.25, 2.0, 0.75, 3.0)


def optional(name: str):
    """The module if installed, else None (its baselines are skipped)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


@dataclass
class Spec:
    name: str
    make: object  # (n, dtype, rng) -> dict of arrays
    jitperf: object  # (data, variant) -> call()
    baselines: dict = field(default_factory=dict)  # impl -> (data) -> call(), or None
    bytes: object = None  # (data) -> bytes moved
    flops: object = None  # (data) -> floating-point operations
    bound: str = "memory"  # or "compute"
    modules: dict = field(default_factory=dict)  # impl -> module it needs
    writes: bool = False  # an output as large as the input: copy bandwidth bounds it
    dtypes: tuple | None = None  # the input dtypes it runs at (None: the run's)


def _x(n, dt, rng, nan=False):
    x = rng.random(n).astype(dt)
    if nan:
        x[rng.random(n) < 0.01] = np.nan
    return {"x": x, "out": np.empty_like(x)}


def _read(d):
    return d["x"].nbytes


def _rw(d):
    return 2 * d["x"].nbytes


def _n(d):
    return d["x"].size


def _baseline(module: str, fn_name: str, *args, **kw):
    """A baseline that calls module.fn_name(x, *args, **kw)."""

    def build(d):
        fn, x = getattr(optional(module), fn_name), d["x"]
        return lambda: fn(x, *args, **kw)

    return build


def _reduction(name, numpy_fn, bn_name=None, nan=False, numbagg_name=None):
    baselines = {"numpy": lambda d: lambda: numpy_fn(d["x"])}
    modules = {}
    if bn_name:
        baselines["bottleneck"] = _baseline("bottleneck", bn_name)
        modules["bottleneck"] = "bottleneck"
    if numbagg_name:
        baselines["numbagg"] = _baseline("numbagg", numbagg_name)
        modules["numbagg"] = "numbagg"
    fn = getattr(jp, name)
    return Spec(
        name,
        lambda n, dt, rng: _x(n, dt, rng, nan),
        lambda d, v: lambda: fn(d["x"], variant=v),
        baselines,
        bytes=_read,
        flops=_n,
        modules=modules,
    )


def _numexpr(expr: str, threads: int | None):
    """numexpr evaluating ``expr`` into out, on ``threads`` (None: as many
    as jitperf's parallel rows use)."""

    def build(d):
        ne = optional("numexpr")
        nt = threads or numba.get_num_threads()
        # constants as 0-d arrays of out's dtype: numexpr computes a Python
        # float in float64, which would upcast float32 x
        ft = d["out"].dtype.type
        consts = {**dict(zip("abcde", COEFFS, strict=True)), "lo": CLIP[0], "hi": CLIP[1],
                  "s": 2.5, "o": -0.75}  # fmt: skip
        env = {"x": d["x"], **{k: np.asarray(v, ft) for k, v in consts.items()}}
        out = d["out"]

        def call():
            if ne.get_num_threads() != nt:  # numexpr's pool is global
                ne.set_num_threads(nt)
            return ne.evaluate(expr, local_dict=env, out=out)

        return call

    return build


def _elementwise(name, jitperf_call, numpy_call, expr, flops, make=None, dtypes=None):
    return Spec(
        name,
        make or _x,
        jitperf_call,
        {
            "numpy": numpy_call,
            "numexpr": _numexpr(expr, None),
            "numexpr1": _numexpr(expr, 1),
        },
        bytes=lambda d: d["x"].nbytes + d["out"].nbytes,
        writes=True,
        flops=flops,
        modules={"numexpr": "numexpr", "numexpr1": "numexpr"},
        dtypes=dtypes,
    )


def _x_int16(n, dt, rng):
    x = rng.integers(-(1 << 15), 1 << 15, n, dtype=np.int16)
    return {"x": x, "out": np.empty(n, np.float32)}


def _xy(n, dt, rng):
    return {"x": rng.random(n).astype(dt), "y": rng.random(n).astype(dt)}


def _moving(name, bn_name):
    fn = getattr(jp, name)
    return Spec(
        name,
        _x,
        lambda d, v: lambda: fn(d["x"], WINDOW, out=d["out"], variant=v),
        {
            "bottleneck": _baseline("bottleneck", bn_name, WINDOW),
            "numbagg": _baseline("numbagg", bn_name, window=WINDOW, min_count=WINDOW),
        },
        bytes=_rw,
        writes=True,
        flops=lambda d: 3 * _n(d),
        modules={"bottleneck": "bottleneck", "numbagg": "numbagg"},
    )


def _numpy_stats(d):
    x = d["x"]

    def call():
        # what stats() returns, the numpy way: one pass per figure
        return (np.count_nonzero(np.isnan(x)), np.nansum(x), np.nanmean(x), np.nanvar(x),
                np.nanmin(x), np.nanmax(x))  # fmt: skip

    return call


def _dist_make(n, dt, rng):
    # square, (side, 64) against (side, 64): side = 4096 at the default 256
    # MiB of float32 (the n = m = 4096, d = 64), 64 for --quick
    dim = 64
    side = min(max(n // 16384, 16), 4096)
    a = rng.random((side, dim)).astype(dt)
    b = rng.random((side, dim)).astype(dt)
    return {"a": a, "b": b, "out": np.empty((side, side), dt)}


def _cdist(d):
    sp = optional("scipy.spatial.distance")
    return lambda: sp.cdist(d["a"], d["b"], "sqeuclidean")


_AFFINE_EXPR = "x * s + o"
_POLY_EXPR = "(((a * x + b) * x + c) * x + d) * x + e"
_CLIP_EXPR = "where(x < lo, lo, where(x > hi, hi, x))"


def _affine_call(dtype=None):
    return lambda d, v: lambda: jp.affine(d["x"], 2.5, -0.75, dtype, out=d["out"], variant=v)


SPECS = {
    s.name: s
    for s in [
        _reduction("sum", np.sum),
        _reduction("mean", np.mean),
        _reduction("var", np.var),
        _reduction("std", np.std),
        _reduction("nansum", np.nansum, "nansum", nan=True, numbagg_name="nansum"),
        _reduction("nanmean", np.nanmean, "nanmean", nan=True, numbagg_name="nanmean"),
        _reduction("nanvar", np.nanvar, "nanvar", nan=True, numbagg_name="nanvar"),
        _reduction("nanstd", np.nanstd, "nanstd", nan=True, numbagg_name="nanstd"),
        _reduction(
            "nancount", lambda x: np.count_nonzero(~np.isnan(x)), nan=True, numbagg_name="nancount"
        ),  # fmt: skip
        _reduction("min", np.min),
        _reduction("max", np.max),
        _reduction("nanmin", np.nanmin, "nanmin", nan=True, numbagg_name="nanmin"),
        _reduction("nanmax", np.nanmax, "nanmax", nan=True, numbagg_name="nanmax"),
        _reduction("argmin", np.argmin),
        Spec(
            "dot",
            _xy,
            lambda d, v: lambda: jp.dot(d["x"], d["y"], variant=v),
            {"numpy": lambda d: lambda: np.dot(d["x"], d["y"])},
            bytes=lambda d: 2 * d["x"].nbytes,
            flops=lambda d: 2 * _n(d),
        ),
        Spec(
            "stats",
            lambda n, dt, rng: _x(n, dt, rng, nan=True),
            lambda d, v: lambda: jp.stats(d["x"], variant=v),
            {"numpy": _numpy_stats},
            bytes=_read,
            flops=lambda d: 4 * _n(d),
        ),
        _elementwise(
            "affine",
            _affine_call(),
            lambda d: lambda: d["x"] * 2.5 - 0.75,
            _AFFINE_EXPR,
            lambda d: 2 * _n(d),
        ),
        _elementwise(
            "affine_i16",
            _affine_call("float32"),
            lambda d: lambda: d["x"] * np.float32(2.5) - np.float32(0.75),
            _AFFINE_EXPR,
            lambda d: 2 * _n(d),
            make=_x_int16,
            dtypes=("int16",),
        ),
        _elementwise(
            "polyval",
            lambda d, v: lambda: jp.polyval(COEFFS, d["x"], out=d["out"], variant=v),
            lambda d: lambda: np.polyval(COEFFS, d["x"]),
            _POLY_EXPR,
            lambda d: 2 * (len(COEFFS) - 1) * _n(d),
        ),
        _elementwise(
            "clip",
            lambda d, v: lambda: jp.clip(d["x"], *CLIP, out=d["out"], variant=v),
            lambda d: lambda: np.clip(d["x"], *CLIP),
            _CLIP_EXPR,
            lambda d: 2 * _n(d),
        ),
        Spec(
            "cumsum",
            _x,
            lambda d, v: lambda: jp.cumsum(d["x"], out=d["out"], variant=v),
            {"numpy": lambda d: lambda: np.cumsum(d["x"], out=d["out"])},
            bytes=_rw,
            writes=True,
            flops=_n,
        ),
        _moving("moving_sum", "move_sum"),
        _moving("moving_mean", "move_mean"),
        _moving("moving_std", "move_std"),
        Spec(
            "histogram",
            _x,
            lambda d, v: lambda: jp.histogram(d["x"], BINS, RANGE, variant=v),
            {"numpy": lambda d: lambda: np.histogram(d["x"], BINS, RANGE)},
            bytes=_read,
            flops=_n,
        ),
        Spec(
            "sqeuclidean",
            _dist_make,
            lambda d, v: lambda: jp.sqeuclidean(d["a"], d["b"], out=d["out"], variant=v),
            {"scipy": _cdist},
            bytes=lambda d: d["a"].nbytes + d["b"].nbytes + d["out"].nbytes,
            flops=lambda d: 3 * d["a"].shape[0] * d["b"].shape[0] * d["a"].shape[1],
            bound="compute",
            modules={"scipy": "scipy.spatial.distance"},
        ),
    ]
}

GROUPS = {
    "default": ["sum", "mean", "var", "nansum", "nanmean", "nanstd", "min", "nanmax", "argmin",
                "affine", "polyval", "clip", "cumsum", "moving_mean", "histogram",
                "sqeuclidean"],
    "reductions": ["sum", "mean", "var", "std", "nansum", "nanmean", "nanvar", "nanstd",
                   "nancount", "min", "max", "nanmin", "nanmax", "argmin", "dot", "stats"],
    "transforms": ["affine", "affine_i16", "polyval", "clip", "cumsum", "moving_sum",
                   "moving_mean", "moving_std", "histogram"],
    "compute": ["sqeuclidean"],
}  # fmt: skip

SIZE = 256 << 20  # bytes of the main input in a default run: 8x this L3, so memory bounds it
QUICK_SIZE = 4 << 20
