"""Prefix scans: cumsum with numpy's semantics.

A scan is sequential along a row, so the parallel variant splits work across
rows, and a long row into blocks with two passes: block totals (reduce_rows),
their exclusive prefix in numpy, then every block scans from its carry
(scan_rows). fastmath is REDUCE: it lets the totals pass vectorize its sum;
the scan loop itself carries a dependency from one element to the next and
does not vectorize under any flags. There is no nnan/ninf, so NaN and Inf
propagate as in numpy.
"""

from __future__ import annotations

import numba
import numpy as np

from .. import _checks, _plan
from .._compile import REDUCE, kernel
from . import _drivers


@kernel(REDUCE)
def _scan_total(x, st, p):
    # The accumulator takes the carry dtype from p: float64 for floats (so
    # float32 sums in float64), int64 / uint64 for integers (exact, wrapping
    # as numpy's do).
    acc = p[0]
    for i in range(x.shape[0]):
        acc += x[i]
    st[0] = acc


@kernel(REDUCE)
def _scan_block(xs, outs, carry, p):
    acc = carry[0]
    for i in range(xs.shape[0]):
        acc += xs[i]
        outs[i] = acc  # float32 out: each partial sum rounds once, on the store
    carry[0] = acc  # unrounded, for the chunk that follows


_TOTALS = _drivers.reduce_rows.bind(block=_scan_total)
_SCAN = _drivers.scan_rows.bind(block=_scan_block)


def _result_dtype(dt: np.dtype) -> np.dtype:
    if dt.kind == "f":
        return dt
    return np.dtype(np.int64) if dt.kind == "i" else np.dtype(np.uint64)


def _acc_dtype(dt: np.dtype) -> np.dtype:
    return np.dtype(np.float64) if dt.kind == "f" else _result_dtype(dt)


def _views(x: np.ndarray, out: np.ndarray, ax):
    """Rows views of x and out, and whether the carry chains across rows.

    For axis=None the rows of a 2-D x are walked in C order and each row
    continues the previous one; otherwise every row is a scan of its own.
    """
    if ax is None and x.ndim == 2:
        if x.flags.c_contiguous:
            return x.reshape(1, -1), out.reshape(1, -1), False
        # out is 1-D: a 1-D array of any stride reshapes to 2-D as a view
        return x, out.reshape(x.shape), True
    xv, ov = _plan.along(ax, x, out)
    return xv, ov, False


def cumsum(x, axis=None, *, out=None, variant="auto"):
    """Cumulative sum along ``axis`` (None: over x flattened in C order).

    floats keep their dtype (float32 accumulates in float64 and rounds each
    output), signed integers give int64 and unsigned give uint64. ``out`` may
    be x itself when the dtypes match.
    """
    return cumsum_carry(x, axis, out=out, variant=variant)[0]


def carry_shape(shape, axis) -> tuple:
    """The shape of cumsum_carry's carry for an x of ``shape``: (1,) for
    axis=None or a 1-D x, else one accumulator per scanned row."""
    if axis is None or len(shape) == 1:
        return (1,)
    return (shape[1 - axis % 2],)


def cumsum_carry(x, axis=None, carry=None, *, out=None, variant="auto"):
    """cumsum() of x as the continuation of a scan: (out, the next carry).

    The scan starts from ``carry`` (the accumulators, float64 for float x;
    zeros when None) and returns its final accumulators unrounded, so that
    chunks scanned one after another give one in-memory call's result: bit
    for bit in the strict and simd variants, where each row is one
    sequential pass.
    """
    x = _checks.array(x)
    ax = _checks.axis(axis, x.ndim)
    dt = _result_dtype(x.dtype)
    acc = _acc_dtype(x.dtype)
    shape = (x.size,) if ax is None else x.shape
    v = _plan.variant(variant, x.nbytes)
    if out is None:
        out = _plan.empty(x, shape, dt)  # (axis=None: 1-D, where order is moot)
    else:
        out = _checks.out(out, shape, dt, x=x, inplace=True)
    cshape = carry_shape(x.shape, ax)
    if carry is None:
        start = np.zeros(cshape, dtype=acc)
    else:
        start = _checks.out(carry, cshape, acc, "carry")
    xv, ov, chained = _views(x, out, ax)
    rows, n = xv.shape
    if variant == "auto" and rows < numba.get_num_threads():
        # Too few rows to share out: the two-pass scan of a long row reads x
        # twice and ran slower on 2 cores than one pass on one (5.6 vs 10.6
        # GB/s, 64 MiB float32), so "auto" keeps it on one thread.
        v = "simd"
    nb = _plan.nblocks(v, rows, n)
    params = (acc.type(0),)
    if nb == 1 and not chained:
        blocks = start.reshape(rows, 1).copy()
    else:
        # Pass 1: each block's total; the carry of a block is the start plus
        # the totals before it, in its row or, for a chained axis=None, in
        # all rows before it too.
        totals = np.empty((rows, nb, 1), dtype=acc)
        _TOTALS(v, xv, nb, totals, params)
        t = totals[:, :, 0]
        flat = t.reshape(-1) if chained else t
        first = start.reshape(flat.shape[:-1] + (1,))
        blocks = np.empty_like(flat)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, as in x
            np.cumsum(np.concatenate([first, flat[..., :-1]], axis=-1), axis=-1, out=blocks)
        blocks = blocks.reshape(rows, nb)
    _SCAN(v, xv, ov, nb, blocks, params)
    end = blocks.reshape(-1)[-1:] if chained else blocks[:, -1]
    return out, end.reshape(cshape).copy()
