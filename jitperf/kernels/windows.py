"""Moving-window statistics: moving_sum, moving_mean, moving_std.

Semantics are bottleneck's move_* at min_count=None: the first window-1
outputs along the axis are NaN, and so is every output whose window holds a
NaN. Each block kernel is one sequential pass with a running state in float64
(a sum; a Welford mean and M2 for std); window_rows hands every block the
window-1 inputs before it, so parallel blocks start warm. fastmath is
ELEMENTWISE = {contract, nsz, arcp}: the running state is a chain from one
element to the next, so "reassoc" would buy no vectorization, only results
further from bottleneck's; there is no nnan/ninf, so the finiteness tests stay.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks, _plan
from .._compile import ELEMENTWISE, kernel
from . import _drivers

# Non-finite inputs: the running state only ever holds a run of finite values.
# A NaN or an infinity restarts it, and the kernels remember where the last
# one of each kind was, so that a window containing one gets its value from
# that instead. Unlike bottleneck, which keeps inf in its running sum and
# then gives NaN (inf - inf) for every later window, a window here is inf
# only while an inf is inside it.


# A block's running state, carried from one chunk to the next: a flag (set
# once the state is valid), the float64 state, then the positions the
# kernels remember, counted from the end of the block's inputs (so that the
# next chunk, whose inputs start elsewhere, can place them again).
STATE = 8
SET, ACC, M2, START, BAD, NAN, POS, NEG = range(STATE)


# Inputs a stretch covers: moving_sum tests them for finiteness first, in a
# vectorized pass that reads them from L1 for the loop that follows;
# moving_std takes the square roots of a stretch's outputs in one pass.
FAST = 256


@kernel(ELEMENTWISE)
def _finite(xs):
    ok = True
    for i in range(xs.shape[0]):
        v = np.float64(xs[i])
        ok &= v - v == 0.0
    return ok


@kernel(ELEMENTWISE)
def _sqrt(xs):
    for i in range(xs.shape[0]):
        xs[i] = np.sqrt(xs[i])


@kernel(ELEMENTWISE)
def _move_sum(xs, outs, st, p):
    # p = (window, scale): scale 1.0 for the sum, 1 / window for the mean (a
    # multiply: a divide per element cost a third of the throughput).
    w, scale = p
    n = xs.shape[0]
    h = n - outs.shape[0]  # inputs before this block's first output
    if st[0] != 0.0:
        # Resume: the state is that of a run that ended at xs[h - 1].
        k0 = h
        acc = st[1]
        start = int(st[3]) + h
        bad_at = int(st[4]) + h
        nan_at = int(st[5]) + h
        pos_at = int(st[6]) + h
        neg_at = int(st[7]) + h
    else:
        # Warm up from xs[0], h inputs before the first output.
        k0 = 0
        acc = 0.0
        start = 0  # first index of the current finite run
        bad_at = -1  # last index of a non-finite input of any kind
        nan_at = -1  # ... and of a NaN, a +inf and a -inf
        pos_at = -1
        neg_at = -1
    k = k0
    while k < n:
        if k >= h and k - start >= w:
            # A full finite window behind k: if the next FAST inputs are
            # finite too, run them without the bookkeeping below. The same
            # operations in the same order, so the same bits; the general
            # loop ran 5 cycles an element, this one is the chain of adds.
            e = min(k + FAST, n)
            if _finite(xs[k:e]):
                for j in range(k, e):
                    acc += np.float64(xs[j]) - np.float64(xs[j - w])
                    outs[j - h] = acc * scale
                k = e
                continue
        v = np.float64(xs[k])
        if v - v == 0.0:  # finite
            if k - start >= w:
                # The same order as bottleneck's acc += new - old, so that
                # strict float64 results match it bit for bit on finite data.
                acc += v - np.float64(xs[k - w])
            else:
                acc += v
        else:
            if v != v:
                nan_at = k
            elif v > 0.0:
                pos_at = k
            else:
                neg_at = k
            bad_at = k
            start = k + 1
            acc = 0.0
        if k >= h:
            # The window is xs[s..k]. s < 0 only where xs starts at the row's
            # start (a block shorter than its halo got h < window-1), so it
            # marks the row's first window-1 outputs. As bad_at >= -1, the
            # one test s > bad_at is the common case: a full, finite window.
            s = k - w + 1
            if s > bad_at:
                r = acc * scale
            elif s < 0 or nan_at >= s or (pos_at >= s and neg_at >= s):
                r = np.nan
            elif pos_at >= s:
                r = np.inf
            else:
                r = -np.inf
            outs[k - h] = r
        k += 1
    st[0] = 1.0
    st[1] = acc
    st[3] = start - n
    st[4] = bad_at - n
    st[5] = nan_at - n
    st[6] = pos_at - n
    st[7] = neg_at - n


@kernel(ELEMENTWISE)
def _move_std(xs, outs, st, p):
    # p = (window, 1 / (window - ddof), or NaN where window <= ddof).
    w, inv = p
    n = xs.shape[0]
    h = n - outs.shape[0]
    invw = 1.0 / w
    if st[0] != 0.0:  # resume, as in _move_sum
        k0 = h
        mean = st[1]
        m2 = st[2]
        start = int(st[3]) + h
        bad_at = int(st[4]) + h
    else:
        k0 = 0
        mean = 0.0
        m2 = 0.0
        start = 0
        bad_at = -1  # last non-finite input: any window holding it is NaN
    for s0 in range(k0, n, FAST):
        e0 = min(s0 + FAST, n)
        for k in range(s0, e0):
            v = np.float64(xs[k])
            if v - v == 0.0:
                c = k - start + 1  # values in the state once v is in
                if c > w:
                    # Replace the oldest value o by v at a fixed count w:
                    # M2 changes by (v - o) * ((v - new mean) + (o - old mean)).
                    o = np.float64(xs[k - w])
                    d = v - o
                    mo = mean
                    mean += d * invw
                    m2 += d * ((v - mean) + (o - mo))
                    if m2 < 0.0:
                        m2 = 0.0  # rounding can take a flat window's M2 below 0
                else:
                    d = v - mean  # Welford's add, while the window fills
                    mean += d / c
                    m2 += d * (v - mean)
            else:
                bad_at = k
                start = k + 1
                mean = 0.0
                m2 = 0.0
            if k >= h:
                s = k - w + 1
                if s > bad_at:  # a full window of finite values (bad_at >= -1)
                    # the variance, rooted below (float32 out: rounded to
                    # float32 first, at most an ulp from the float64 root's)
                    outs[k - h] = m2 * inv
                else:
                    outs[k - h] = np.nan
        # The roots of the stretch in one vectorized pass over its outputs,
        # still in L1: one scalar sqrt an element bounded the loop above.
        _sqrt(outs[max(s0, h) - h : max(e0, h) - h])

    st[0] = 1.0
    st[1] = mean
    st[2] = m2
    st[3] = start - n
    st[4] = bad_at - n


_MOVE_SUM = _drivers.window_rows.bind(block=_move_sum)
_MOVE_STD = _drivers.window_rows.bind(block=_move_std)


def _window(window, n: int, ax: int) -> int:
    if isinstance(window, (bool, np.bool_)):
        raise TypeError("window: expected an int, got bool")
    w = _checks.integer(window, "window")
    if not 1 <= w <= n:
        raise ValueError(f"window: expected an int in [1, {n}] (the length of axis {ax}), got {w}")
    return w


def _sum_params(w, ddof):
    return (w, 1.0)


def _mean_params(w, ddof):
    return (w, 1.0 / w)


def _std_params(w, ddof):
    return (w, 1.0 / (w - ddof) if w > ddof else math.nan)


# name: (driver, the block kernel's parameters for a checked window and ddof)
MOVING = {
    "moving_sum": (_MOVE_SUM, _sum_params),
    "moving_mean": (_MOVE_SUM, _mean_params),
    "moving_std": (_MOVE_STD, _std_params),
}


def moving(name, x, window, axis=-1, *, ddof=0, out=None, variant="auto"):
    """The moving statistic ``name`` (a key of MOVING) of x along ``axis``."""
    return moving_carry(name, x, window, axis, ddof=ddof, out=out, variant=variant)[0]


def moving_carry(
    name, x, window, axis=-1, carry=None, *, ddof=0, out=None, lead=0, length=None, variant="auto"
):
    """moving() of x as the continuation of a previous chunk: (out, carry).

    The first ``lead`` inputs along the axis come before the outputs': the
    last ``window`` inputs of the previous chunk (all of them, if fewer).
    ``carry`` is the running state that chunk returned, one row of STATE
    floats per row walked (None: start afresh, warming up over the lead).
    Chunks computed one after another then give one in-memory call's result
    bit for bit in the strict and simd variants. ``length`` is the whole
    axis the window must fit in (default: x's).
    """
    drv, params = MOVING[name]
    x = _checks.array(x)
    if axis is None:
        raise TypeError("axis: expected an int, got NoneType (a moving window needs an axis)")
    ax = _checks.axis(axis, x.ndim)
    ddof = _checks.integer(ddof, "ddof", minimum=0)
    lead = _checks.integer(lead, "lead", minimum=0, maximum=x.shape[ax])
    w = _window(window, x.shape[ax] if length is None else length, ax)
    shape = x.shape[:ax] + (x.shape[ax] - lead,) + x.shape[ax + 1 :]
    dt = x.dtype if x.dtype == np.float32 else np.dtype(np.float64)
    v = _plan.variant(variant, x.nbytes)
    if out is None:
        out = _plan.empty(x, shape, dt)
    else:
        # Not in place: a window reads inputs that its outputs would overwrite.
        out = _checks.out(out, shape, dt, x=x)
    (xv,) = _plan.along(ax, x)
    (ov,) = _plan.along(ax, out)
    rows, n = ov.shape
    if carry is not None:
        carry = _checks.out(carry, (rows, STATE), np.float64, "carry")
    # A block re-reads window-1 inputs before it; at most n // w blocks keep
    # that re-reading below the block's own length.
    nb = min(_plan.nblocks(v, rows, n), max(1, n // w))
    state = np.zeros((rows, nb, STATE))
    if carry is not None:
        state[:, 0] = carry
    drv(v, xv, ov, nb, w - 1, state, params(w, ddof))
    return out, state[:, -1].copy()


def moving_sum(x, window, axis=-1, *, out=None, variant="auto"):
    """Sum over each window of ``window`` consecutive elements along ``axis``,
    as bottleneck.move_sum (min_count=None); float32 stays float32, other
    dtypes give float64, and the running sum is float64 throughout."""
    return moving("moving_sum", x, window, axis, out=out, variant=variant)


def moving_mean(x, window, axis=-1, *, out=None, variant="auto"):
    """Mean over each window, as bottleneck.move_mean (min_count=None)."""
    return moving("moving_mean", x, window, axis, out=out, variant=variant)


def moving_std(x, window, axis=-1, *, ddof=0, out=None, variant="auto"):
    """Standard deviation over each window, as bottleneck.move_std
    (min_count=None), from a sliding Welford update of mean and M2 with M2
    kept >= 0. NaN everywhere when window <= ddof (numpy's var gives NaN for
    n - ddof <= 0; bottleneck gives inf at window == ddof)."""
    return moving("moving_std", x, window, axis, ddof=ddof, out=out, variant=variant)
