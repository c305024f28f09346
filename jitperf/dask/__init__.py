"""jitperf's kernels on dask arrays, lazily: every call returns a dask object.
Reductions merge block states by the kernels' own merges (da.reduction), windows overlap by
window-1, cumsum carries block totals; calls default to "simd", as dask runs one per core.
"""

from __future__ import annotations

import math

try:
    import dask
    import dask.array as da
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError(f"jitperf.dask needs dask[array] ({e}): pip install jitperf[dask]") from e
import numpy as np

from .. import _checks
from ..batch import streams as S
from ..batch.kernels import lookup, parse_params
from ..kernels import scan, windows
from . import _parts

__all__ = [
    "apply",
    "argmax",
    "argmin",
    "cumsum",
    "dot",
    "max",
    "mean",
    "min",
    "moving_mean",
    "moving_std",
    "moving_sum",
    "nancount",
    "nanmax",
    "nanmean",
    "nanmin",
    "nanstd",
    "nansum",
    "nanvar",
    "reduce",
    "stats",
    "std",
    "sum",
    "var",
]

DEFAULT_VARIANT = "simd"
_ARG = ("argmin", "argmax")


def _dask_array(x, name: str = "x") -> da.Array:
    if not isinstance(x, da.Array):
        raise TypeError(f"{name}: expected a dask array, got {type(x).__name__}")
    if any(math.isnan(c) for cs in x.chunks for c in cs):
        raise ValueError(f"{name}: unknown chunk sizes (call {name}.compute_chunk_sizes() first)")
    return x


def _probe(x: da.Array) -> np.ndarray:
    """A one-element array of x's dtype and ndim, to check arguments and learn
    output dtypes on before any graph is built."""
    return np.ones((1,) * x.ndim, dtype=x.dtype)


def _keepdims(chunks, axes) -> tuple:
    return tuple((1,) * len(c) if i in axes else c for i, c in enumerate(chunks))


# --------------------------------------------------------------------------
# reductions


def _state(block, name: str, axis, variant: str, block_info=None):
    """The merged state of one block; arg* indices made global from where
    the block sits."""
    red = _parts.reduction(name)
    st, _ = red.chunk(block, axis, variant)
    if name in _ARG:
        (s0, _), *rest = block_info[0]["array-location"]
        if axis is None and block.ndim == 2:
            s1, ncols = rest[0][0], block_info[0]["shape"][1]
            i = st["index"]
            st["index"] = (s0 + i // block.shape[1]) * ncols + s1 + i % block.shape[1]
        elif axis == 1:
            st["index"] += rest[0][0]
        else:
            st["index"] += s0
    return st


def _dot_state(xb, yb, variant: str):
    return _parts.reduction("dot").chunk(xb, None, variant, y=yb)[0]


def _states(x: da.Array, name: str, axis, variant: str, axes: tuple) -> da.Array:
    return x.map_blocks(
        _state,
        name,
        axis,
        variant,
        chunks=_keepdims(x.chunks, axes),
        dtype=object,
        meta=np.empty((0,) * x.ndim, dtype=object),
        token=f"jitperf-{name}-chunk",
    )


def _result(out: da.Array, name: str):
    """A Stats record as one Delayed; any other reduction stays a dask array."""
    if name != "stats":
        return out
    return dask.delayed(_parts.join, pure=True)(list(out.to_delayed().flat))


def reduce(name: str, x, axis=None, *, variant: str = DEFAULT_VARIANT, split_every=None, **params):
    """Reduction ``name`` (a kernel of ``jitperf run``: sum, nanvar, argmax,
    stats, ...) of the dask array x along ``axis``, lazily.

    Returns a dask array (0-d for axis=None), or for ``stats`` a Delayed
    whose compute() gives a :class:`jitperf.Stats`. ``params`` are the
    kernel's (``ddof=1``); ``split_every`` is da.reduction's. For ``dot``
    give ``y=``, a dask array of x's shape.
    """
    spec = lookup(name)
    if spec.stream is S.Dot:
        return dot(x, params.pop("y", None), variant=variant, split_every=split_every, **params)
    if not issubclass(spec.stream, S.Reduce):
        raise ValueError(f"name: {name} is not a reduction (apply() runs transforms)")
    x = _dask_array(x)
    p = parse_params(spec, params)
    kw = {k: p[k] for k in spec.finish_params}
    ax = _checks.axis(axis, x.ndim)
    probe = _probe(x)
    red = spec.target
    out_dtype = np.asarray(red.finish(*red.chunk(probe, ax, variant), probe.dtype, **kw)).dtype
    axes = tuple(range(x.ndim)) if ax is None else (ax,)
    states = _states(x, name, ax, variant, axes)
    scalar = ax is None or x.ndim == 1
    out = _parts.tree(states, name, axes, out_dtype, x.dtype, kw, scalar, split_every)
    return _result(out, name)


def stats(x, axis=None, *, variant: str = DEFAULT_VARIANT, split_every=None):
    """A Delayed :class:`jitperf.Stats` of the dask array x (one per row along
    ``axis``): count, nan_count, sum, mean, m2, min, max in one read."""
    return reduce("stats", x, axis, variant=variant, split_every=split_every)


def dot(x, y, *, variant: str = DEFAULT_VARIANT, split_every=None):
    """Inner product of two 1-D dask arrays of one length (float64, 0-d)."""
    x = _dask_array(x)
    if not isinstance(y, da.Array):
        if y is None:
            raise TypeError("y: dot needs y=, a 1-D array of x's length")
        y = da.from_array(np.asarray(y), chunks=x.chunks)
    y = _dask_array(y, "y")
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"y: expected a 1-D array of shape {x.shape} like x, got {y.shape}")
    y = y.rechunk(x.chunks)
    spec = lookup("dot")
    red = spec.target
    red.chunk(_probe(x), None, variant, y=np.ones(1, dtype=y.dtype))
    states = da.map_blocks(
        _dot_state,
        x,
        y,
        variant,
        chunks=_keepdims(x.chunks, (0,)),
        dtype=object,
        meta=np.empty((0,), dtype=object),
        token="jitperf-dot-chunk",
    )
    return _parts.tree(states, "dot", (0,), np.float64, x.dtype, {}, True, split_every)


def _reduction(name: str, summary: str, ddof: bool = False):
    if ddof:

        def f(x, axis=None, *, ddof=0, variant=DEFAULT_VARIANT, split_every=None):
            return reduce(name, x, axis, variant=variant, split_every=split_every, ddof=ddof)

    else:

        def f(x, axis=None, *, variant=DEFAULT_VARIANT, split_every=None):
            return reduce(name, x, axis, variant=variant, split_every=split_every)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"{summary} of a dask array along ``axis``, lazily (a dask array)."
    return f


sum = _reduction("sum", "Sum (float64)")
mean = _reduction("mean", "Mean (float64)")
var = _reduction("var", "Variance (float64, numpy's ddof)", ddof=True)
std = _reduction("std", "Standard deviation (float64, numpy's ddof)", ddof=True)
min = _reduction("min", "Smallest value (NaN if any)")
max = _reduction("max", "Largest value (NaN if any)")
argmin = _reduction("argmin", "Index of the first smallest value (flat C index for axis=None)")
argmax = _reduction("argmax", "Index of the first largest value (flat C index for axis=None)")
nansum = _reduction("nansum", "Sum of the non-NaN values")
nanmean = _reduction("nanmean", "Mean of the non-NaN values")
nanvar = _reduction("nanvar", "Variance of the non-NaN values", ddof=True)
nanstd = _reduction("nanstd", "Standard deviation of the non-NaN values", ddof=True)
nanmin = _reduction("nanmin", "Smallest non-NaN value")
nanmax = _reduction("nanmax", "Largest non-NaN value")
nancount = _reduction("nancount", "Number of non-NaN values (int64)")


# --------------------------------------------------------------------------
# transforms


def _map(block, name: str, params: dict, variant: str):
    return lookup(name).target(block, None, variant, params)


def _total(block, axis: int, variant: str):
    return np.expand_dims(_parts.total(block, axis, variant), axis)


def _scan(block, carry, axis: int, variant: str):
    start = None
    if carry is not None:
        start = np.ascontiguousarray(carry).reshape(scan.carry_shape(block.shape, axis))
    return scan.cumsum_carry(block, axis, start, variant=variant)[0]


def cumsum(x, axis=None, *, variant: str = DEFAULT_VARIANT):
    """Cumulative sum of the dask array x along ``axis`` (None: flattened in
    C order), as jitperf.cumsum: every block scans from the sum of the blocks
    before it (their totals, then an exclusive prefix of those)."""
    x = _dask_array(x)
    ax = _checks.axis(axis, x.ndim)
    out, carry = scan.cumsum_carry(_probe(x), ax, variant=variant)
    meta = np.empty((0,) * (1 if ax is None else x.ndim), dtype=out.dtype)
    if ax is None:
        x, ax = x.reshape(-1), 0
    if x.numblocks[ax] == 1:
        return x.map_blocks(_scan, None, ax, variant, dtype=out.dtype, meta=meta)
    totals = x.map_blocks(
        _total,
        ax,
        variant,
        chunks=_keepdims(x.chunks, (ax,)),
        dtype=carry.dtype,
        meta=np.empty((0,) * x.ndim, dtype=carry.dtype),
    )
    starts = totals.rechunk({ax: -1}).map_blocks(_parts.carries, ax, dtype=carry.dtype)
    starts = starts.rechunk({ax: 1})
    ind = tuple(range(x.ndim))
    return da.blockwise(
        _scan,
        ind,
        x,
        ind,
        starts,
        ind,
        ax,
        None,
        variant,
        None,
        align_arrays=False,
        dtype=out.dtype,
        meta=meta,
        token="jitperf-cumsum",
    )


def _window_block(block, kernel, window, axis, ddof, length, variant, block_info=None):
    lead = block.shape[axis] - block_info[None]["chunk-shape"][axis]
    return windows.moving_carry(
        kernel, block, window, axis, ddof=ddof, lead=lead, length=length, variant=variant
    )[0]


def _moving(name: str, x, window, axis, ddof, variant: str):
    x = _dask_array(x)
    ax = _checks.axis(-1 if axis is None else axis, x.ndim)
    out, _ = windows.moving_carry(
        name, _probe(x), window, ax, ddof=ddof, length=x.shape[ax], variant=variant
    )
    w = int(window)
    kw = dict(
        dtype=out.dtype,
        meta=np.empty((0,) * x.ndim, dtype=out.dtype),
        kernel=name,
        window=w,
        axis=ax,
        ddof=int(ddof),
        length=x.shape[ax],
        variant=variant,
    )
    if x.numblocks[ax] == 1 or w == 1:
        return x.map_blocks(_window_block, **kw)
    # each block reads the window-1 inputs before it from its left neighbour
    # (dask rechunks first where a block is shorter than that)
    depth = {i: (w - 1, 0) if i == ax else 0 for i in range(x.ndim)}
    return da.map_overlap(_window_block, x, depth=depth, boundary="none", trim=False, **kw)


def moving_sum(x, window, axis=-1, *, variant: str = DEFAULT_VARIANT):
    """Window sums along ``axis``, as jitperf.moving_sum (a dask array)."""
    return _moving("moving_sum", x, window, axis, 0, variant)


def moving_mean(x, window, axis=-1, *, variant: str = DEFAULT_VARIANT):
    """Window means along ``axis``, as jitperf.moving_mean (a dask array)."""
    return _moving("moving_mean", x, window, axis, 0, variant)


def moving_std(x, window, axis=-1, *, ddof=0, variant: str = DEFAULT_VARIANT):
    """Window standard deviations along ``axis``, as jitperf.moving_std."""
    return _moving("moving_std", x, window, axis, ddof, variant)


def apply(name: str, x, *, axis=None, variant: str = DEFAULT_VARIANT, **params):
    """Transform ``name`` (affine, polyval, clip, cumsum, moving_sum,
    moving_mean, moving_std) of the dask array x, lazily: a dask array.

    ``params`` are the kernel's, as ``jitperf run -p`` takes them
    (``scale=2.0, offset=1.0``; ``window=64``); ``axis`` is cumsum's and the
    windows' (default: flattened, and the last axis).
    """
    spec = lookup(name)
    p = parse_params(spec, params)
    if spec.stream is S.Map:
        x = _dask_array(x)
        if axis is not None:
            raise TypeError(f"axis: {name} is elementwise and takes no axis")
        dt = spec.target(_probe(x), None, variant, p).dtype
        meta = np.empty((0,) * x.ndim, dtype=dt)
        return x.map_blocks(_map, name, p, variant, dtype=dt, meta=meta, token=f"jitperf-{name}")
    if spec.stream is S.Cumsum:
        return cumsum(x, axis, variant=variant)
    if spec.stream is S.Window:
        return _moving(name, x, p["window"], axis, p.get("ddof", 0), variant)
    raise ValueError(
        f"name: jitperf.dask runs the transforms affine, polyval, clip, cumsum and moving_*, "
        f"not {name}"
    )
