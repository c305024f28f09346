"""Elementwise transforms: affine (scale*x + offset), polyval (Horner), clip.

Each block kernel maps one 1-D slice into its output slice; map_rows lifts it
to rows and, in the parallel variant, to blocks on threads. fastmath is
ELEMENTWISE = {contract, nsz, arcp}: "contract" turns x*s + o into an FMA and
nothing here reduces, so "reassoc" would buy no vectorization; there is no
nnan/ninf, so clip's compares keep NaN in place.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _checks, _plan
from .._compile import ELEMENTWISE, kernel
from . import _drivers

# Polynomials with up to this many coefficients pass them as a tuple: numba
# types its length, LLVM unrolls the Horner loop fully and the element loop
# vectorizes (about 25 GB/s on float32 here). At 20 coefficients LLVM stops
# unrolling and the tuple path fell to 0.7 GB/s, so longer ones take the
# array path below (4-6 GB/s).
UNROLL_MAX = 16
# Elements per chunk of the long-polynomial path: the chunk of out, used as
# the accumulator, stays in L1 across the passes over the coefficients.
CHUNK = 512


@kernel(ELEMENTWISE)
def _affine(xs, outs, p):
    s, o = p
    for i in range(xs.shape[0]):
        outs[i] = xs[i] * s + o


@kernel(ELEMENTWISE)
def _polyval_short(xs, outs, c):
    # c is a UniTuple of a fixed length: range(1, len(c)) has a constant trip
    # count, LLVM unrolls it, and the loop over elements is left to vectorize.
    for i in range(xs.shape[0]):
        v = xs[i]
        acc = c[0]
        for k in range(1, len(c)):
            acc = acc * v + c[k]
        outs[i] = acc


@kernel(ELEMENTWISE)
def _polyval_long(xs, outs, p):
    c, inplace = p
    if inplace:
        # out is x: no room for an accumulator, so plain Horner per element.
        for i in range(xs.shape[0]):
            v = xs[i]
            acc = c[0]
            for k in range(1, c.shape[0]):
                acc = acc * v + c[k]
            outs[i] = acc
        return
    # Loops interchanged per chunk: one vectorizable pass per coefficient,
    # with the out chunk as accumulator. Bit for bit the same arithmetic as
    # Horner, since each element still sees ((c0*v + c1)*v + c2)...
    n = xs.shape[0]
    for s in range(0, n, CHUNK):
        xc = xs[s : s + CHUNK]
        oc = outs[s : s + CHUNK]
        c0 = c[0]
        for j in range(oc.shape[0]):
            oc[j] = c0
        for k in range(1, c.shape[0]):
            ck = c[k]
            for j in range(oc.shape[0]):
                oc[j] = oc[j] * xc[j] + ck


@kernel(ELEMENTWISE)
def _clip(xs, outs, p):
    lo, hi = p
    for i in range(xs.shape[0]):
        v = xs[i]
        # Both compares are false for a NaN, so it passes through; with
        # lo > hi every element ends at hi, as numpy's minimum(maximum(..)).
        v = lo if v < lo else v
        outs[i] = hi if v > hi else v


_AFFINE = _drivers.map_rows.bind(block=_affine)
_POLYVAL_SHORT = _drivers.map_rows.bind(block=_polyval_short)
_POLYVAL_LONG = _drivers.map_rows.bind(block=_polyval_long)
_CLIP = _drivers.map_rows.bind(block=_clip)

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _float_dtype(x: np.ndarray, dtype) -> np.dtype:
    """The output dtype of affine/polyval: x's float dtype, else float64."""
    if dtype is None:
        return x.dtype if x.dtype in _FLOATS else _FLOATS[1]
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype!r}") from None
    if dt not in _FLOATS:
        raise TypeError(f"dtype: expected float32 or float64, got {dt}")
    return dt


def _compute_dtype(x: np.ndarray, dt: np.dtype) -> np.dtype:
    # float32 arithmetic only for float32 in and out; integers and mixed cases
    # compute in float64 and round once on the store.
    return dt if x.dtype == dt == _FLOATS[0] else _FLOATS[1]


def _prepare(x, out, dt, variant, inplace=True):
    """Resolve the variant and check or allocate out, before any compiled code."""
    v = _plan.variant(variant, x.nbytes)
    if out is None:
        return v, _plan.empty(x, x.shape, dt)
    return v, _checks.out(out, x.shape, dt, x=x, inplace=inplace)


def _launch(drv, v, x, out, params):
    xv, ov = _plan.elementwise_rows(x, out)
    nb = _plan.nblocks(v, xv.shape[0], xv.shape[1])
    drv(v, xv, ov, nb, params)
    return out


def affine(x, scale, offset, dtype=None, *, out=None, variant="auto"):
    """scale * x + offset, elementwise.

    float32 x gives float32 and float64 gives float64; integer x gives
    float64 unless ``dtype`` asks for float32. ``out`` may be x itself.
    """
    x = _checks.array(x)
    scale = _checks.real(scale, "scale")
    offset = _checks.real(offset, "offset")
    dt = _float_dtype(x, dtype)
    ct = _compute_dtype(x, dt).type
    v, out = _prepare(x, out, dt, variant)
    return _launch(_AFFINE, v, x, out, (ct(scale), ct(offset)))


def _coeffs(coeffs) -> np.ndarray:
    if isinstance(coeffs, (list, tuple)) and len(coeffs) == 0:
        return np.zeros(0)
    return _checks.array(coeffs, "coeffs", ndims=(1,))


def polyval(coeffs, x, *, dtype=None, out=None, variant="auto"):
    """The polynomial with ``coeffs`` (highest power first, as numpy.polyval)
    at every element of x, by Horner's rule. Output dtype as affine's; empty
    coeffs give zeros, as in numpy. Horner starts from coeffs[0], so at x = +-inf
    the result is the polynomial's limit where numpy's (from 0 * x) is NaN."""
    c = _coeffs(coeffs)
    x = _checks.array(x)
    dt = _float_dtype(x, dtype)
    v, out = _prepare(x, out, dt, variant)
    if c.size == 0:
        c = np.zeros(1)  # numpy: the empty polynomial is 0 everywhere
    c = c.astype(_compute_dtype(x, dt))
    if c.size <= UNROLL_MAX:
        return _launch(_POLYVAL_SHORT, v, x, out, tuple(c))
    # out passed the check, so it overlaps x only when it is x itself
    return _launch(_POLYVAL_LONG, v, x, out, (c, _checks.overlaps(out, x)))


def _bound(value, name: str, dt: np.dtype, default):
    """A clip bound as a scalar of x's dtype (None: no bound on that side)."""
    if value is None:
        return dt.type(default)
    if dt.kind == "f":
        return dt.type(_checks.real(value, name))
    # integer x: the bound must be an integer that x's dtype can hold
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    if isinstance(value, (numbers.Integral, np.integer)):
        v = int(value)
    else:
        f = float(value)
        if not (math.isfinite(f) and f.is_integer()):
            raise ValueError(f"{name}: expected an integral value for {dt} x, got {value!r}")
        v = int(f)
    info = np.iinfo(dt)
    if not info.min <= v <= info.max:
        raise ValueError(f"{name}: expected an integer in [{info.min}, {info.max}], got {v}")
    return dt.type(v)


def clip(x, lo, hi, *, out=None, variant="auto"):
    """x limited to [lo, hi], in x's dtype, as numpy.clip: NaN stays NaN and
    lo > hi gives hi. Either bound may be None. For integer x the bounds must
    be integers (or integral floats) that x's dtype can hold."""
    x = _checks.array(x)
    dt = x.dtype
    if dt.kind == "f":
        lo_v = _bound(lo, "lo", dt, -np.inf)
        hi_v = _bound(hi, "hi", dt, np.inf)
    else:
        info = np.iinfo(dt)
        lo_v = _bound(lo, "lo", dt, info.min)
        hi_v = _bound(hi, "hi", dt, info.max)
    v, out = _prepare(x, out, dt, variant)
    if dt.kind == "f" and (np.isnan(lo_v) or np.isnan(hi_v)):
        # numpy: maximum/minimum with a NaN bound give NaN everywhere. The
        # kernel's compares cannot say that, so this rare case is a plain fill.
        out[...] = np.nan
        return out
    return _launch(_CLIP, v, x, out, (lo_v, hi_v))
