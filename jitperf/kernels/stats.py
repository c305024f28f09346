"""stats(): count, NaN count, sum, mean, variance, min and max in one read.

NaN values are counted apart and left out of every other field, so the
record is what the nan-kernels would give. Partial records merge exactly
(Chan's formulas), which is how chunked and distributed runs combine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._compile import NAN_SAFE, kernel
from . import _reduce as R
from .reductions import SUB, _key_dtype, _key_params, _nanshifted, _update, bitcast

# state columns
COUNT, NANS, SUM, MEAN, M2, MIN, MAX = range(7)


@kernel(NAN_SAFE)
def _fused(xs, bits, c, lo, hi, kp):
    """_nanshifted's (count, sums of x - c and its square) and _validkeys'
    (lo, hi) of one sub-block, in one loop: as two passes, even with the
    second reading L1, they ran at the sum of their times (22 vs 8 + 13 ms)."""
    shift, mask, lo_ok, hi_ok, least, most = kp
    t = bits.dtype.type
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
        b = bits[i]
        key = t(b ^ t((b >> shift) & mask))
        valid = (key >= lo_ok) & (key <= hi_ok)
        kl = key if valid else most
        kh = key if valid else least
        lo = kl if kl < lo else lo
        hi = kh if kh > hi else hi
    return k, s1, s2, lo, hi


@kernel(NAN_SAFE)
def _stats(x, st, p):
    # p: the order keys' parameters (reductions._key_params) and a key dtype
    shift, mask, lo_ok, hi_ok, least, most, kt = p
    kp = (shift, mask, lo_ok, hi_ok, least, most)
    cnt, mean, m2, total = 0.0, 0.0, 0.0, 0.0
    klo, khi = most, least
    n = x.shape[0]
    for s in range(0, n, SUB):
        xs = x[s : s + SUB]
        # The extremes come as integer keys, which vectorize where float
        # min/max do not (best8's scalar chains ran stats at 0.23x of C).
        if cnt == 0:  # no running mean yet: shift by this sub-block's own
            k, s1, s2, klo, khi = _fused(xs, xs.view(kt), 0.0, klo, khi, kp)
            if k == 0:
                continue  # nothing but NaN
            c = s1 / k
            k, s1, s2 = _nanshifted(xs, c)
        else:
            c = mean
            k, s1, s2, klo, khi = _fused(xs, xs.view(kt), c, klo, khi, kp)
            if k == 0:
                continue
        cnt, mean, m2 = _update(cnt, mean, m2, k, c, s1, s2)
        total += k * c + s1
    st[0] = cnt
    st[1] = n - cnt
    st[2] = total
    st[3] = mean
    st[4] = m2
    if cnt > 0:  # keys back to values: the key is its own inverse
        zero = x.dtype.type(0)
        st[5] = bitcast(kt(klo ^ kt((klo >> shift) & mask)), zero)
        st[6] = bitcast(kt(khi ^ kt((khi >> shift) & mask)), zero)
    else:
        st[5] = np.inf
        st[6] = -np.inf


_STATS = R.driver(_stats)


def _merge(state: np.ndarray) -> np.ndarray:
    """(rows, blocks, 7) states to (rows, 7): Chan for the moments, and the
    counts, sums and extremes by their own rules."""
    out = R.merge_moments(state, COUNT, MEAN, M2)
    out[:, NANS] = state[:, :, NANS].sum(axis=1)
    out[:, SUM] = state[:, :, SUM].sum(axis=1)
    out[:, MIN] = np.fmin.reduce(state[:, :, MIN], axis=1)
    out[:, MAX] = np.fmax.reduce(state[:, :, MAX], axis=1)
    return out


@dataclass(frozen=True)
class Stats:
    """Summary of the non-NaN values of an array (or, with an axis, per row).

    Fields are numpy scalars for axis=None and arrays otherwise. ``m2`` is the
    sum of squared deviations from the mean; var() and std() derive from it.
    min and max are NaN where count is 0.
    """

    count: object
    nan_count: object
    sum: object
    mean: object
    m2: object
    min: object
    max: object

    @classmethod
    def _from_state(cls, st: np.ndarray, shape) -> Stats:
        empty = st[..., COUNT] == 0
        f = {}
        f["count"] = R.result(st[..., COUNT].astype(np.int64), shape)
        f["nan_count"] = R.result(st[..., NANS].astype(np.int64), shape)
        f["sum"] = R.result(st[..., SUM], shape)
        f["mean"] = R.result(np.where(empty, np.nan, st[..., MEAN]), shape)
        f["m2"] = R.result(st[..., M2], shape)
        f["min"] = R.result(np.where(empty, np.nan, st[..., MIN]), shape)
        f["max"] = R.result(np.where(empty, np.nan, st[..., MAX]), shape)
        return cls(**f)

    def _state(self) -> np.ndarray:
        cols = [self.count, self.nan_count, self.sum, self.mean, self.m2, self.min, self.max]
        st = np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=-1)
        empty = st[..., COUNT] == 0
        st[..., MEAN] = np.where(empty, 0.0, st[..., MEAN])
        st[..., MIN] = np.where(empty, np.inf, st[..., MIN])
        st[..., MAX] = np.where(empty, -np.inf, st[..., MAX])
        return st

    def merge(self, other: Stats) -> Stats:
        """The record of both parts together, as if computed in one pass."""
        if not isinstance(other, Stats):
            raise TypeError(f"other: expected a Stats record, got {type(other).__name__}")
        a, b = self._state(), other._state()
        if a.shape != b.shape:
            raise ValueError(f"other: expected fields of shape {a.shape[:-1]}, got {b.shape[:-1]}")
        shape = a.shape[:-1]
        both = np.stack([a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])], axis=1)
        return Stats._from_state(_merge(both).reshape(a.shape), shape)

    def var(self, ddof: int = 0):
        """Variance with numpy's ddof; NaN where count - ddof <= 0."""
        n = np.asarray(self.count) - ddof
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(n > 0, np.asarray(self.m2) / np.where(n > 0, n, 1), np.nan)
        return v[()] if v.ndim == 0 else v

    def std(self, ddof: int = 0):
        return np.sqrt(self.var(ddof))

    def to_dict(self, ddof: int = 0) -> dict:
        """count, nan_count, sum, mean, var, std, min, max by name (plain floats
        and ints for axis=None, lists otherwise), with var/std at ``ddof``."""
        d = {
            "count": self.count,
            "nan_count": self.nan_count,
            "sum": self.sum,
            "mean": self.mean,
            "var": self.var(ddof),
            "std": self.std(ddof),
            "min": self.min,
            "max": self.max,
        }
        return {k: np.asarray(v).tolist() for k, v in d.items()}

    def __eq__(self, other):
        if not isinstance(other, Stats):
            return NotImplemented
        a, b = self._state(), other._state()
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))

    __hash__ = None


def _blocks(x, ax, variant):
    params = (*_key_params(x.dtype), _key_dtype(x.dtype).type)
    p = R.reduce(_STATS, x, ax, variant, 7, params=params)
    return p.flat(), p.shape


def _record(st, shape, dt) -> Stats:
    return Stats._from_state(st, shape)


STATS = R.Reduction("stats", _blocks, _merge, _record)


def stats(x, axis=None, *, variant="auto") -> Stats:
    """A :class:`Stats` record of x (or one per row along ``axis``), one read."""
    return STATS(x, axis, variant)
