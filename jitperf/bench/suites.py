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


def _reduction(name, numpy_fn, bn_name=None, nan=False, numbagg_name=None):
    baselines = {"numpy": lambda d: lambda: numpy_fn(d["x"])}
    modules = {}
    if bn_name:
        baselines["bottleneck"] = lambda d: lambda: getattr(optional("bottleneck"), bn_name)(d["x"])
        modules["bottleneck"] = "bottleneck"
    if numbagg_name:
        baselines["numbagg"] = lambda d: lambda: getattr(optional("numbagg"), numbagg_name)(d["x"])
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


def _affine_numpy(d):
    x, out = d["x"], d["out"]

    def call():
        np.multiply(x, 2.5, out=out)
        np.add(out, -0.75, out=out)

    return call


def _numexpr_affine(d):
    ne = optional("numexpr")
    ne.set_num_threads(numba.get_num_threads())  # the thread count jitperf's parallel rows use
    x, out = d["x"], d["out"]  # noqa: F841 (numexpr reads the names)
    return lambda: ne.evaluate("x * 2.5 - 0.75", out=out)


def _dist_make(n, dt, rng):
    # (rows, 64) against (256, 64): O(rows * 256 * 64) work, so rows is capped
    # where the strict variant would take seconds a call
    m, dim = 256, 64
    rows = min(max(n // dim, 16), 8192)
    a = rng.random((rows, dim)).astype(dt)
    b = rng.random((m, dim)).astype(dt)
    return {"a": a, "b": b, "out": np.empty((rows, m), dt)}


def _cdist(d):
    sp = optional("scipy.spatial.distance")
    return lambda: sp.cdist(d["a"], d["b"], "sqeuclidean")


SPECS = {
    s.name: s
    for s in [
        _reduction("sum", np.sum, numbagg_name=None),
        _reduction("mean", np.mean),
        _reduction("var", np.var),
        _reduction("nansum", np.nansum, "nansum", nan=True, numbagg_name="nansum"),
        _reduction("nanmean", np.nanmean, "nanmean", nan=True, numbagg_name="nanmean"),
        _reduction("nanstd", np.nanstd, "nanstd", nan=True, numbagg_name="nanstd"),
        _reduction("min", np.min),
        _reduction("nanmax", np.nanmax, "nanmax", nan=True, numbagg_name="nanmax"),
        _reduction("argmin", np.argmin),
        Spec(
            "affine",
            _x,
            lambda d, v: lambda: jp.affine(d["x"], 2.5, -0.75, out=d["out"], variant=v),
            {"numpy": _affine_numpy, "numexpr": _numexpr_affine},
            bytes=_rw,
            writes=True,
            flops=lambda d: 2 * _n(d),
            modules={"numexpr": "numexpr"},
        ),
        Spec(
            "polyval",
            _x,
            lambda d, v: lambda: jp.polyval(COEFFS, d["x"], out=d["out"], variant=v),
            {"numpy": lambda d: lambda: np.polyval(COEFFS, d["x"])},
            bytes=_rw,
            writes=True,
            flops=lambda d: 2 * (len(COEFFS) - 1) * _n(d),
        ),
        Spec(
            "clip",
            _x,
            lambda d, v: lambda: jp.clip(d["x"], *CLIP, out=d["out"], variant=v),
            {"numpy": lambda d: lambda: np.clip(d["x"], *CLIP, out=d["out"])},
            bytes=_rw,
            writes=True,
            flops=lambda d: 2 * _n(d),
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
        Spec(
            "moving_mean",
            lambda n, dt, rng: _x(n, dt, rng),
            lambda d, v: lambda: jp.moving_mean(d["x"], WINDOW, out=d["out"], variant=v),
            {
                "bottleneck": lambda d: lambda: optional("bottleneck").move_mean(d["x"], WINDOW),
                "numbagg": lambda d: (
                    lambda: optional("numbagg").move_mean(d["x"], WINDOW, min_count=WINDOW)
                ),
            },
            bytes=_rw,
            writes=True,
            flops=lambda d: 3 * _n(d),
            modules={"bottleneck": "bottleneck", "numbagg": "numbagg"},
        ),
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
    "default": list(SPECS),
    "reductions": ["sum", "mean", "var", "nansum", "nanmean", "nanstd", "min", "nanmax",
                   "argmin"],
    "transforms": ["affine", "polyval", "clip", "cumsum", "moving_mean", "histogram"],
    "compute": ["sqeuclidean"],
}  # fmt: skip

SIZE = 256 << 20  # bytes of the main input in a default run: 8x this L3, so memory bounds it
QUICK_SIZE = 4 << 20
