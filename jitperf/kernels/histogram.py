"""Histogram with uniform bins, bin for bin the same as numpy.histogram.

Each value's bin is computed as numpy's uniform-bins fast path computes it: in
the same dtypes, by the same formula, with the same +-1 corrections against
the bin edges, so that a value on or near an edge lands where numpy puts it.
Blocks count into histograms of their own, summed afterwards.

fastmath: none. The bin index is ``(t - lo) / (hi - lo) * bins`` truncated;
reassoc or arcp would turn the division into a multiply by a reciprocal and
move values across edges. The bins of a run of values are computed first, in
a loop that vectorizes (no flags needed: nothing is reordered), then counted
in a scalar loop: the increment is a scatter into memory.
"""

from __future__ import annotations

import numpy as np

from .. import _checks, _plan
from .._compile import kernel
from . import _reduce as R

# Values per pass: the bins of CH values go to a scratch row (in the block's
# state, after the counts), then the counts are incremented from it.
CH = 512


@kernel(fastmath=())
def _bins(xs, idx, p):
    """idx[i] = xs[i]'s bin as numpy's fast path computes it, or nb (the
    number of bins) where xs[i] has none.

    Branch-free, and the edges the corrections compare with are computed
    rather than loaded, so that it vectorizes: loads at computed indices left
    LLVM unable to bound the accesses, and a scalar loop that also counted ran
    at 4 ns a value here. An edge is recomputed as numpy.linspace made it:
    j * step + start in the step's dtype (that of the one-element array
    ``steps``), rounded to the edges' dtype; the last edge is the stop.
    _edge_formula checked that this gives every edge back.
    """
    klo, khi, flo, denom, nbins, edges, step, start, steps = p
    nb = edges.shape[0] - 1
    et, st = edges.dtype.type, steps.dtype.type
    last = edges[nb]
    for i in range(xs.shape[0]):
        v = xs[i]
        # The keep test compares in the dtype numpy compares x with the range.
        keep = (v >= klo) & (v <= khi)  # false for NaN and values outside
        t = edges.dtype.type(v) if keep else flo  # no int() of NaN or huge f
        j = int((t - flo) / denom * nbins)
        j = nb - 1 if j >= nb else j
        # numpy's corrections, in this order: the index formula can be a ulp
        # off on either side of an edge.
        # (not a helper function: its call kept the loop scalar)
        lo_edge = et(st(j) * step + start)
        j = j - 1 if t < lo_edge else j
        hi_edge = last if j + 1 >= nb else et(st(j + 1) * step + start)
        j = j + 1 if (t >= hi_edge) & (j != nb - 1) else j
        idx[i] = j if keep & (j >= 0) & (j < nb) else nb


@kernel(fastmath=())
def _count(x, hist, p):
    """hist[:nb] = the counts of x's values; hist[nb] takes the values
    without a bin and hist[nb + 1:] is the scratch row of _bins."""
    nb = p[5].shape[0] - 1
    for k in range(nb + 1):
        hist[k] = 0
    idx = hist[nb + 1 :]
    for s in range(0, x.shape[0], CH):
        xs = x[s : s + CH]
        _bins(xs, idx, p)
        for i in range(xs.shape[0]):
            hist[idx[i]] += 1


_DRIVER = R.driver(_count)


def _pair(value):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"range: expected a pair (lo, hi) of reals, got {type(value).__name__}")
    if len(value) != 2:
        raise ValueError(f"range: expected a pair (lo, hi), got {len(value)} values")
    lo, hi = value
    for v in (lo, hi):
        _checks.real(v, "range")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"range: expected finite values, got ({lo}, {hi})")
    if not lo < hi:
        raise ValueError(f"range: expected lo < hi, got ({lo}, {hi})")
    # numpy's dtype rules tell a Python scalar (weak) from a numpy one, so keep
    # each as given; other float widths become Python floats.
    return tuple(
        v if isinstance(v, (int, float, np.float32, np.float64, np.integer)) else float(v)
        for v in (lo, hi)
    )


def _unsigned_subtract(a, b):
    # numpy's helper: hi - lo of signed integers, taken as the unsigned type
    dt = np.result_type(a, b)
    if dt.kind == "i":
        udt = np.dtype(f"u{dt.itemsize}")
        return np.subtract(np.asarray(a, dt), np.asarray(b, dt), casting="unsafe", dtype=udt)
    return np.subtract(a, b, dtype=dt)


def _keep_bound(v, dt: np.dtype, side: str):
    """The range bound as the scalar x is compared with, or None: no x can pass."""
    if isinstance(v, int) and not isinstance(v, bool) and dt.kind in "iu":
        # numpy compares integers with a Python int exactly, in range or not
        info = np.iinfo(dt)
        if side == "lo":
            return None if v > info.max else dt.type(max(v, info.min))
        return None if v < info.min else dt.type(min(v, info.max))
    return np.result_type(dt, v).type(v)


def _params(x: np.ndarray, bins: int, lo, hi):
    """The scalars and edges numpy's fast path computes with, and the edges'
    formula (see _bins); None when no value of x's dtype can fall in the
    range, "numpy" when _bins cannot compute the edges again."""
    bin_type = np.result_type(lo, hi, x.dtype)
    if bin_type.kind != "f":
        bin_type = np.result_type(bin_type, float)
    with np.errstate(all="ignore"):
        edges = np.linspace(lo, hi, bins + 1, endpoint=True, dtype=bin_type)
    if np.any(edges[:-1] >= edges[1:]):
        raise ValueError(f"bins: {bins} bins of equal width do not fit in range ({lo}, {hi})")
    klo = _keep_bound(lo, x.dtype, "lo")
    khi = _keep_bound(hi, x.dtype, "hi")
    if klo is None or khi is None:
        return None
    denom = np.asarray(_unsigned_subtract(hi, lo))
    # f = (t - lo) / denom * bins: t - lo is in the edges' dtype, the division
    # in that dtype promoted with denom's (a numpy scalar, so not weak).
    f_type = np.result_type(bin_type, denom.dtype)
    formula = _edge_formula(lo, hi, bins, edges)
    if formula is None:
        return "numpy"
    return (klo, khi, bin_type.type(lo), f_type.type(denom), f_type.type(bins), edges, *formula)


def _edge_formula(lo, hi, bins, edges):
    """(step, start, a one-element array of their dtype) with which _bins
    computes ``edges`` again, or None where it would not get them back."""
    start, stop = np.asarray(lo), np.asarray(hi)
    dt = np.result_type(start, stop, 1.0)  # linspace's: the range's, made inexact
    step = dt.type(np.subtract(stop, start, dtype=dt) / bins)
    with np.errstate(all="ignore"):
        y = np.arange(0, bins + 1, dtype=dt) * step + dt.type(start)
    y[-1] = stop
    if not np.array_equal(y.astype(edges.dtype), edges):
        return None
    return (step, dt.type(start), np.zeros(1, dt))


def histogram(x, bins, range, *, out=None, variant="auto"):  # noqa: A002
    """Counts of x's values in ``bins`` equal bins over ``range`` = (lo, hi).

    As numpy.histogram(x, bins, range)[0]: the last bin includes hi; NaN and
    values outside the range are not counted. A 2-D x is counted whole. The
    counts are int64 of shape (bins,), written to ``out`` when given.
    """
    x = _checks.array(x)
    bins = _checks.integer(bins, "bins", minimum=1)
    lo, hi = _pair(range)
    if out is None:
        out = np.empty(bins, dtype=np.int64)
    else:
        out = _checks.out(out, (bins,), np.int64, x=x)
    v = _plan.variant(variant, x.nbytes)
    p = _params(x, bins, lo, hi)
    if p is None or x.size == 0:
        out[...] = 0
        return out
    if isinstance(p, str):  # edges _bins cannot recompute: numpy counts
        out[...] = np.histogram(x, bins, (lo, hi))[0]
        return out
    view, _ = _plan.rows(x, None)
    nb = _plan.nblocks(v, view.shape[0], view.shape[1])
    state = np.empty((view.shape[0], nb, bins + 1 + CH), dtype=np.int64)
    _DRIVER(v, view, nb, state, p)
    np.sum(state[:, :, :bins], axis=(0, 1), out=out)
    return out
    state = np.empty((view.shape[0], nb, bins), dtype=np.int64)
    _DRIVER(v, view, nb, state, p)
    np.sum(state, axis=(0, 1), out=out)
    return out
