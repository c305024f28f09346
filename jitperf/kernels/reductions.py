"""Reductions: sum, mean, var, std, min, max, arg*, their nan versions, dot.

Each block kernel below is a plain loop over a 1-D slice that writes its state
(sums and counts in float64, extremes in the input dtype). Sums of any dtype
accumulate in float64, so that data far from zero keeps its precision.

fastmath: the sum and moment kernels use REDUCE = {reassoc, contract, nsz,
arcp}, which lets LLVM reorder the float64 accumulation into vector lanes.
Variances take shifted sums per sub-block, shifted by the running mean, and
merge them with Chan's formulas; the error analysis is at _update.
The nan kernels use the same set: it has no nnan/ninf, so ``v == v`` stays a
real NaN test. LLVM does not vectorize a floating-point min/max reduction
(it wants function-level no-NaNs), so min/max reduce the floats' order keys,
integers whose min/max reductions do vectorize; argmin/argmax run eight
scalar compare chains beside a vectorized NaN test.
"""

from __future__ import annotations

import numpy as np
from numba.extending import intrinsic

from .. import _checks
from .._compile import NAN_SAFE, REDUCE, kernel
from . import _reduce as R
from ._reduce import chan

# Elements per sub-block of the variance. The first sub-block is read twice
# (for its mean) and so is best small; later ones take one pass each.
SUB = 4096


@kernel(REDUCE)
def _sum(x, st, p):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i]
    st[0] = acc


@kernel(NAN_SAFE)
def _nansum(x, st, p):
    acc = 0.0
    cnt = 0
    for i in range(x.shape[0]):
        v = x[i]
        ok = v == v
        acc += v if ok else 0.0
        cnt += ok
    st[0] = acc
    st[1] = cnt


@kernel(REDUCE)
def _dot(x, y, st, p):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += np.float64(x[i]) * np.float64(y[i])
    st[0] = acc


@kernel(REDUCE)
def _shifted(xs, c):
    """(count, sum of x - c, sum of (x - c)**2) over a sub-block, one pass."""
    s1 = 0.0
    s2 = 0.0
    for i in range(xs.shape[0]):
        d = xs[i] - c
        s1 += d
        s2 += d * d
    return xs.shape[0], s1, s2


@kernel(NAN_SAFE)
def _nanshifted(xs, c):
    """As _shifted, over the non-NaN values only."""
    k = 0
    s1 = 0.0
    s2 = 0.0
    for i in range(xs.shape[0]):
        v = xs[i]
        ok = v == v
        d = v - c if ok else 0.0
        s1 += d
        s2 += d * d
        k += ok
    return k, s1, s2


@kernel(REDUCE)
def _update(cnt, mean, m2, k, c, s1, s2):
    """Merge a sub-block's shifted sums into the running (count, mean, M2).

    With the shift c at the running mean, the sub-block's M2 (s2 - s1**2/k)
    cancels only as much as Chan's between-blocks term adds back, so the
    relative error of the total stays a few ulps: one pass, yet as accurate
    as a two-pass.
    """
    mb = c + s1 / k
    m2b = s2 - s1 * s1 / k
    return chan(cnt, mean, m2, k, mb, m2b if m2b > 0.0 else 0.0)


@kernel(REDUCE)
def _moments(x, st, p):
    # state: count, mean, M2 (sum of squared deviations from the mean)
    cnt, mean, m2 = 0.0, 0.0, 0.0
    for s in range(0, x.shape[0], SUB):
        # A slice, not range(s, e): LLVM vectorizes both forms, but with
        # range(s, e) the vector body never ran here (2.8 vs 17 GB/s).
        xs = x[s : s + SUB]
        if cnt == 0:  # no running mean yet: shift by this sub-block's own
            k, s1, s2 = _shifted(xs, 0.0)
            c = s1 / k
        else:
            c = mean
        k, s1, s2 = _shifted(xs, c)
        cnt, mean, m2 = _update(cnt, mean, m2, k, c, s1, s2)
    st[0] = cnt
    st[1] = mean
    st[2] = m2


@kernel(NAN_SAFE)
def _nanmoments(x, st, p):
    cnt, mean, m2 = 0.0, 0.0, 0.0
    for s in range(0, x.shape[0], SUB):
        cnt, mean, m2, _ = _nanupdate(x[s : s + SUB], cnt, mean, m2)
    st[0] = cnt
    st[1] = mean
    st[2] = m2


@kernel(NAN_SAFE)
def _nanupdate(xs, cnt, mean, m2):
    """One sub-block of the non-NaN moments (nanvar and stats share it):
    the new (count, mean, M2) and the sub-block's own sum."""
    c = mean
    if cnt == 0:
        k, s1, s2 = _nanshifted(xs, 0.0)
        if k == 0:
            return cnt, mean, m2, 0.0
        c = s1 / k
    k, s1, s2 = _nanshifted(xs, c)
    if k == 0:
        return cnt, mean, m2, 0.0
    cnt, mean, m2 = _update(cnt, mean, m2, k, c, s1, s2)
    return cnt, mean, m2, k * c + s1


# The extremes. One source serves min and max: `better` is bound to _less or
# _greater (Kernel.bind), and `best8` to _best8 bound the same way.
better = None
best8 = None


@kernel(REDUCE)
def _less(a, b):
    return a < b


@kernel(REDUCE)
def _greater(a, b):
    return a > b


@kernel(REDUCE)
def _best8(xs, m):
    """The best of m and the values of xs (NaN never wins a comparison).

    LLVM does not vectorize a floating-point min/max recurrence without
    function-level no-NaNs, and a single compare-select chain waits 4 cycles
    per element; eight independent chains keep the core busy instead.
    """
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = m
    n = xs.shape[0]
    n8 = n - n % 8
    for i in range(0, n8, 8):
        v0, v1, v2, v3 = xs[i], xs[i + 1], xs[i + 2], xs[i + 3]
        v4, v5, v6, v7 = xs[i + 4], xs[i + 5], xs[i + 6], xs[i + 7]
        m0 = v0 if better(v0, m0) else m0
        m1 = v1 if better(v1, m1) else m1
        m2 = v2 if better(v2, m2) else m2
        m3 = v3 if better(v3, m3) else m3
        m4 = v4 if better(v4, m4) else m4
        m5 = v5 if better(v5, m5) else m5
        m6 = v6 if better(v6, m6) else m6
        m7 = v7 if better(v7, m7) else m7
    for i in range(n8, n):
        v = xs[i]
        m0 = v if better(v, m0) else m0
    m0 = m1 if better(m1, m0) else m0
    m2 = m3 if better(m3, m2) else m2
    m4 = m5 if better(m5, m4) else m4
    m6 = m7 if better(m7, m6) else m6
    m0 = m2 if better(m2, m0) else m0
    m4 = m6 if better(m6, m4) else m4
    return m4 if better(m4, m0) else m0


@kernel(NAN_SAFE)
def _anynan(xs):
    bad = False
    for i in range(xs.shape[0]):
        bad |= xs[i] != xs[i]
    return bad


@kernel(NAN_SAFE)
def _first_nan(xs):
    for i in range(xs.shape[0]):
        if xs[i] != xs[i]:
            return i
    return -1


@kernel(REDUCE)
def _first_equal(xs, v):
    for i in range(xs.shape[0]):
        if xs[i] == v:
            return i
    return -1


@kernel(REDUCE)
def _keyrange(b, st, p):
    """min and max of the order keys of b: st[0], st[1] over all of them,
    st[2] the least valid (non-NaN) key and st[3] the greatest.

    b holds a float array's bits as integers (or an integer array as is). The
    key b ^ ((b >> shift) & mask) orders like the floats, with NaNs outside
    [key(-inf), key(+inf)]; with shift = mask = 0 it is b itself. Integer
    min/max reductions vectorize where float ones do not. Every value is cast
    back to b's type: numba computes int32 arithmetic in int64, which put
    8 lanes in a zmm instead of 16 (and ran float32 min at 0.42x of C).
    ``mode`` says what the caller needs, so that a lane does no more: 0 both
    extremes (min and max, whose NaN test reads both), 1 the least valid key
    (nanmin: only NaNs below key(-inf) could win), 2 the greatest (nanmax).
    """
    shift, mask, lo_ok, hi_ok, least, most, mode = p
    t = b.dtype.type
    lo, hi = most, least
    if mode == 1:
        for i in range(b.shape[0]):
            v = b[i]
            k = t(v ^ t((v >> shift) & mask))
            k = k if k >= lo_ok else most
            lo = k if k < lo else lo
    elif mode == 2:
        for i in range(b.shape[0]):
            v = b[i]
            k = t(v ^ t((v >> shift) & mask))
            k = k if k <= hi_ok else least
            hi = k if k > hi else hi
    else:
        for i in range(b.shape[0]):
            v = b[i]
            k = t(v ^ t((v >> shift) & mask))
            lo = k if k < lo else lo
            hi = k if k > hi else hi
    st[0] = lo
    st[1] = hi
    st[2] = lo
    st[3] = hi


@intrinsic
def bitcast(typingctx, value, like):
    """value's bits as a scalar of like's type and width (int <-> float)."""
    if getattr(value, "bitwidth", None) != getattr(like, "bitwidth", 0):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(like))

    return like(value, like), codegen


@kernel(NAN_SAFE)
def _argextreme(x, st, p):
    m = p[0]
    k = 0
    for s in range(0, x.shape[0], SUB):
        xs = x[s : s + SUB]
        if _anynan(xs):
            k = s + _first_nan(xs)  # the first NaN wins, as in numpy
            break
        mb = best8(xs, m)
        if better(mb, m):
            m = mb
            k = s + _first_equal(xs, mb)
    st[0] = k


_SUM = R.driver(_sum)
_NANSUM = R.driver(_nansum)
_DOT = R.driver(_dot, two_inputs=True)
_MOMENTS = R.driver(_moments)
_NANMOMENTS = R.driver(_nanmoments)
_MIN8 = _best8.bind(better=_less)
_MAX8 = _best8.bind(better=_greater)
_KEYRANGE = R.driver(_keyrange)
_ARGMIN = R.driver(_argextreme.bind(better=_less, best8=_MIN8))
_ARGMAX = R.driver(_argextreme.bind(better=_greater, best8=_MAX8))


def _divide(a, b):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.true_divide(a, b)


def _summed(drv, k: int, counted: bool = False):
    """A partial() that reduces with ``drv`` into k float64 sums per block;
    ``counted`` appends each output's element count (in block 0) for the mean."""

    def partial(x, ax, variant):
        p = R.reduce(drv, x, ax, variant, k)
        st = p.flat()
        if counted:
            n = np.zeros(st.shape[:2] + (1,))
            n[:, 0, 0] = p.count()
            st = np.concatenate([st, n], axis=2)
        return st, p.shape

    return partial


def _column(c: int, dtype=None):
    """A finish() that returns column c of the merged state."""

    def finish(st, shape, dt):
        v = st[:, c]
        return R.result(v if dtype is None else v.astype(dtype), shape)

    return finish


def _ratio(st, shape, dt):
    return R.result(_divide(st[:, 0], st[:, 1]), shape)


def _ddof(ddof):
    return _checks.integer(ddof, "ddof", minimum=0)


def _variance(root: bool):
    """A finish() for (count, mean, M2) states: var, or std when ``root``."""

    def finish(st, shape, dt, ddof=0):
        ddof = _ddof(ddof)
        n = st[:, 0]
        v = np.where(n - ddof > 0, _divide(st[:, 2], n - ddof), np.nan)
        return R.result(np.sqrt(v) if root else v, shape)

    return finish


SUM = R.Reduction("sum", _summed(_SUM, 1), R.merge_add, _column(0))
MEAN = R.Reduction("mean", _summed(_SUM, 1, counted=True), R.merge_add, _ratio)
NANSUM = R.Reduction("nansum", _summed(_NANSUM, 2), R.merge_add, _column(0))
NANMEAN = R.Reduction("nanmean", _summed(_NANSUM, 2), R.merge_add, _ratio)
NANCOUNT = R.Reduction("nancount", _summed(_NANSUM, 2), R.merge_add, _column(1, np.int64))
VAR = R.Reduction("var", _summed(_MOMENTS, 3), R.merge_moments, _variance(False))
STD = R.Reduction("std", _summed(_MOMENTS, 3), R.merge_moments, _variance(True))
NANVAR = R.Reduction("nanvar", _summed(_NANMOMENTS, 3), R.merge_moments, _variance(False))
NANSTD = R.Reduction("nanstd", _summed(_NANMOMENTS, 3), R.merge_moments, _variance(True))


def sum(x, axis=None, *, variant="auto"):
    """Sum of the elements, accumulated in float64 (a float64 result)."""
    return SUM(x, axis, variant)


def mean(x, axis=None, *, variant="auto"):
    """Arithmetic mean in float64; NaN for an empty input."""
    return MEAN(x, axis, variant)


def var(x, axis=None, *, ddof=0, variant="auto"):
    """Variance (float64), ddof as in numpy; NaN where n - ddof <= 0."""
    return VAR(x, axis, variant, ddof=_ddof(ddof))


def std(x, axis=None, *, ddof=0, variant="auto"):
    """Standard deviation: the square root of var()."""
    return STD(x, axis, variant, ddof=_ddof(ddof))


def nanvar(x, axis=None, *, ddof=0, variant="auto"):
    """Variance of the non-NaN elements; NaN where fewer than ddof+1 remain."""
    return NANVAR(x, axis, variant, ddof=_ddof(ddof))


def nanstd(x, axis=None, *, ddof=0, variant="auto"):
    return NANSTD(x, axis, variant, ddof=_ddof(ddof))


def nansum(x, axis=None, *, variant="auto"):
    """Sum treating NaN as zero (float64)."""
    return NANSUM(x, axis, variant)


def nanmean(x, axis=None, *, variant="auto"):
    """Mean of the non-NaN elements; NaN where there are none."""
    return NANMEAN(x, axis, variant)


def nancount(x, axis=None, *, variant="auto"):
    """Number of non-NaN elements (int64), as numbagg.nancount."""
    return NANCOUNT(x, axis, variant)


def _identity(dtype: np.dtype, smallest: bool):
    """The start value of a min (smallest=True) or max search in ``dtype``."""
    if dtype.kind == "f":
        return dtype.type(np.inf if smallest else -np.inf)
    info = np.iinfo(dtype)
    return dtype.type(info.max if smallest else info.min)


def _key_dtype(dt: np.dtype) -> np.dtype:
    return np.dtype(f"i{dt.itemsize}") if dt.kind == "f" else dt


def _key(bits: np.ndarray, shift, mask) -> np.ndarray:
    # an involution: the same xor turns keys back into bits
    return bits ^ ((bits >> shift) & mask)


def _key_params(dt: np.dtype):
    """(shift, mask, key(-inf), key(+inf), least, most) in the key dtype."""
    kt = _key_dtype(dt)
    info = np.iinfo(kt)
    if dt.kind != "f":
        zero = kt.type(0)
        return (
            zero,
            zero,
            kt.type(info.min),
            kt.type(info.max),
            kt.type(info.min),
            kt.type(info.max),
        )
    shift, mask = kt.type(8 * kt.itemsize - 1), kt.type(info.max)
    inf = np.array([-np.inf, np.inf], dtype=dt).view(kt)
    lo_ok, hi_ok = _key(inf, shift, mask)
    return (shift, mask, lo_ok, hi_ok, kt.type(info.min), kt.type(info.max))


def _keyranges(name: str):
    """A partial() of the order keys' ranges per block: of all keys for min and
    max, of the valid ones for nanmin and nanmax (see _keyrange)."""
    mode = {"nanmin": 1, "nanmax": 2}.get(name, 0)

    def partial(x, ax, variant):
        kt = _key_dtype(x.dtype)
        params = (*_key_params(x.dtype), mode)
        # a view of the same bits, whatever the strides: no copy
        p = R.reduce(_KEYRANGE, x.view(kt), ax, variant, 4, kt, nonempty=name, params=params)
        return p.flat(), p.shape

    return partial


def _merge_keys(st: np.ndarray) -> np.ndarray:
    lo, hi, vlo, vhi = (st[:, :, j] for j in range(4))
    return np.stack([lo.min(axis=1), hi.max(axis=1), vlo.min(axis=1), vhi.max(axis=1)], axis=1)


def _extreme(col: int, skipnan: bool):
    """A finish() for min (col 0) or max (col 1) from the keys' ranges, NaN as
    numpy's min/max (skipnan False) or nanmin/nanmax (skipnan True) has it."""

    def finish(st, shape, dt):
        shift, mask, lo_ok, hi_ok = _key_params(dt)[:4]
        lo, hi = st[:, 0], st[:, 1]
        keys = (st[:, 2], st[:, 3]) if skipnan else (lo, hi)
        values = _key(keys[col], shift, mask).view(dt)
        if dt.kind == "f":
            nan = (lo < lo_ok) | (hi > hi_ok)  # a NaN anywhere
            if skipnan:
                nan = keys[col] < lo_ok if col == 1 else keys[col] > hi_ok  # nothing but NaN
            values = np.where(nan, np.nan, values).astype(dt)
        return R.result(values, shape)

    return finish


MIN = R.Reduction("min", _keyranges("min"), _merge_keys, _extreme(0, False))
MAX = R.Reduction("max", _keyranges("max"), _merge_keys, _extreme(1, False))
NANMIN = R.Reduction("nanmin", _keyranges("nanmin"), _merge_keys, _extreme(0, True))
NANMAX = R.Reduction("nanmax", _keyranges("nanmax"), _merge_keys, _extreme(1, True))


def min(x, axis=None, *, variant="auto"):
    """Smallest element, in x's dtype; NaN if any element is NaN."""
    return MIN(x, axis, variant)


def max(x, axis=None, *, variant="auto"):
    """Largest element, in x's dtype; NaN if any element is NaN."""
    return MAX(x, axis, variant)


def nanmin(x, axis=None, *, variant="auto"):
    """Smallest non-NaN element; NaN where all are NaN (numpy warns, we don't)."""
    return NANMIN(x, axis, variant)


def nanmax(x, axis=None, *, variant="auto"):
    """Largest non-NaN element; NaN where all are NaN."""
    return NANMAX(x, axis, variant)


def _candidates(drv, name: str, smallest: bool):
    """A partial() of argmin/argmax: every block's best as (value, index).

    The state is a structured array (outputs, parts) with fields ``value``
    (x's dtype) and ``index`` (flat C index for axis=None, else the position
    along the axis), plus ``start``: the index of x's first element in the
    whole array when x is one chunk of it.
    """

    def partial(x, ax, variant, start=0):
        params = (_identity(x.dtype, smallest), False)
        fortran = ax is None and x.ndim == 2 and not x.flags.c_contiguous and x.flags.f_contiguous
        # A Fortran x is searched column by column (its memory order); each
        # column's first best, at C index row * ncols + col, is a candidate.
        p = R.reduce(
            drv, x, 0 if fortran else ax, variant, 1, np.int64, nonempty=name, params=params
        )
        view, nb = p.view, p.nblocks
        n = view.shape[1]
        # Block-local indices to positions in the view's rows.
        pos = p.state[:, :, 0] + (np.arange(nb) * n) // nb  # (rows, nblocks)
        vals = np.take_along_axis(view, pos, axis=1)
        if fortran:
            pos = pos * x.shape[1] + np.arange(x.shape[1])[:, None]
        elif ax is None and view.shape[0] != 1:  # strided 2-D: rows are x's rows
            pos = np.arange(view.shape[0])[:, None] * x.shape[1] + pos
        if ax is None:  # one output: the candidates of all rows
            pos, vals = pos.reshape(1, -1), vals.reshape(1, -1)
        st = np.empty(pos.shape, dtype=[("value", x.dtype), ("index", np.int64)])
        st["value"] = vals
        st["index"] = pos + start
        return st, () if ax is None else p.shape

    return partial


def _pick(pick):
    """A merge() keeping, per output, the best candidate as ``pick`` chooses
    it (np.argmin/np.argmax: NaN first, as numpy), and of equal ones the one
    with the smallest index: numpy's first occurrence in C order."""

    def merge(st: np.ndarray) -> np.ndarray:
        v = st["value"]
        rows = np.arange(st.shape[0])
        best = v[rows, pick(v, axis=1)][:, None]
        same = v == best
        if v.dtype.kind == "f":
            same |= np.isnan(v) & np.isnan(best)
        last = np.iinfo(np.int64).max
        out = np.empty(st.shape[0], dtype=st.dtype)
        out["value"] = best[:, 0]
        out["index"] = np.where(same, st["index"], last).min(axis=1)
        return out

    return merge


def _index(st, shape, dt):
    return R.result(st["index"].astype(np.intp), shape)


ARGMIN = R.Reduction("argmin", _candidates(_ARGMIN, "argmin", True), _pick(np.argmin), _index)
ARGMAX = R.Reduction("argmax", _candidates(_ARGMAX, "argmax", False), _pick(np.argmax), _index)


def argmin(x, axis=None, *, variant="auto"):
    """Index of the first smallest element (flat C index for axis=None)."""
    return ARGMIN(x, axis, variant)


def argmax(x, axis=None, *, variant="auto"):
    return ARGMAX(x, axis, variant)


def _dot_blocks(x, ax, variant, y):
    p = R.reduce(_DOT, x, None, variant, 1, y=y)
    return p.flat(), ()


DOT = R.Reduction("dot", _dot_blocks, R.merge_add, _column(0))


def _dot_args(x, y):
    x = _checks.array(x, "x", ndims=(1,))
    y = _checks.array(y, "y", ndims=(1,))
    if x.shape != y.shape:
        raise ValueError(f"y: expected length {x.shape[0]} to match x, got {y.shape[0]}")
    return x, y


def dot(x, y, *, variant="auto"):
    """Inner product of two 1-D arrays of one length, accumulated in float64."""
    x, y = _dot_args(x, y)
    st, shape = DOT.chunk(x, None, variant, y=y)
    return DOT.finish(st, shape, x.dtype)
