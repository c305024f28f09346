"""Transforms on hypothesis-drawn arrays: shapes, dtypes, strides, NaN/Inf, empties.

Each is checked against numpy or bottleneck computed in float64, with the
tolerance its arithmetic allows (stated beside each check).
"""

import bottleneck as bn
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

import jitperf as jp

VARIANTS = st.sampled_from(["strict", "simd", "parallel"])


@st.composite
def arrays(draw, specials=("nan", "inf"), min_side=0):
    dtype = draw(st.sampled_from(["float32", "float64", "int16"]))
    ndim = draw(st.integers(1, 2))
    shape = tuple(draw(st.lists(st.integers(min_side, 30), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = (rng.standard_normal(shape) * 8).astype(dtype)
    if dtype != "int16" and x.size:
        kind = draw(st.sampled_from(("none",) + specials))
        if kind != "none":
            k = rng.integers(0, x.size, size=max(1, x.size // 5))
            x.reshape(-1)[k] = np.nan if kind == "nan" else rng.choice([np.inf, -np.inf])
    if ndim == 2 and draw(st.booleans()):
        x = np.asfortranarray(x)
    step = draw(st.sampled_from([1, 2, -1]))
    return x[(slice(None, None, step),) * ndim]


def float_out(x):
    return np.float32 if x.dtype == np.float32 else np.float64


def close(got, want, scale, rtol):
    """|got - want| <= rtol * scale elementwise, NaN and Inf in the same places.

    Below got's smallest normal number rounding is absolute, not relative
    (1.5e-249 is 0 in float32): that much more is allowed everywhere.
    """
    tiny = np.finfo(np.asarray(got).dtype).tiny
    got = np.asarray(got, dtype=np.float64)
    same = (np.isnan(got) == np.isnan(want)) & np.where(np.isinf(want), got == want, True)
    assert same.all()
    ok = np.isfinite(want)
    assert (np.abs(got[ok] - want[ok]) <= rtol * scale[ok] + tiny).all()


def rtol(x):
    return 1e-6 if x.dtype == np.float32 else 1e-12


@settings(deadline=None)
@given(arrays(), VARIANTS, st.floats(-4, 4), st.floats(-4, 4))
@example(np.array([1.0058417], np.float32), "strict", 0.0, 1.5675869895530368e-249)
@example(np.array([[-np.inf]], np.float32), "strict", 1.797174529690941e-155, 0.0)
def test_affine(x, variant, scale, offset):
    got = jp.affine(x, scale, offset, variant=variant)
    assert got.dtype == float_out(x) and got.shape == x.shape
    xf = x.astype(np.float64)
    # float32 x computes in float32, as numpy does: the parameters round first
    # (1.8e-155 is 0, and 0 * -inf is NaN)
    scale, offset = (float(got.dtype.type(v)) for v in (scale, offset))
    with np.errstate(invalid="ignore"):
        want = scale * xf + offset
    # one rounding of each product and sum, relative to the terms' size
    with np.errstate(invalid="ignore"):
        size = np.abs(scale * xf) + abs(offset)
    close(got, want, size, 2 * rtol(got))


@settings(deadline=None)
@given(arrays(), VARIANTS, st.floats(-3, 3), st.floats(0, 3))
def test_clip(x, variant, lo, width):
    hi = lo + width
    if x.dtype.kind == "i":
        lo, hi = round(lo), round(hi)
    got = jp.clip(x, lo, hi, variant=variant)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, np.clip(x, x.dtype.type(lo), x.dtype.type(hi)))


@settings(deadline=None)
@given(arrays(), VARIANTS, st.sampled_from([None, 0, -1]))
def test_cumsum(x, variant, axis):
    got = jp.cumsum(x, axis=axis, variant=variant)
    if x.dtype.kind == "i":  # exact, in int64 as numpy
        np.testing.assert_array_equal(got, np.cumsum(x, axis=axis))
        return
    assert got.dtype == x.dtype
    xf = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        want = np.cumsum(xf, axis=axis)
        scale = np.cumsum(np.abs(np.nan_to_num(xf, posinf=0, neginf=0)), axis=axis)
    # float64 accumulation, one rounding to the output dtype per element
    close(got, want, scale + np.where(np.isfinite(want), np.abs(want), 0.0), 4 * rtol(x))


@settings(deadline=None)
@given(arrays(specials=("nan",), min_side=1), VARIANTS, st.data())
def test_moving_mean_and_std(x, variant, data):
    axis = -1
    window = data.draw(st.integers(1, x.shape[axis]))
    xf = x.astype(np.float64)
    got = jp.moving_mean(x, window, axis=axis, variant=variant)
    assert got.dtype == float_out(x)
    want = bn.move_mean(xf, window, axis=axis)
    big = np.nanmax(np.abs(xf)) if np.isfinite(xf).any() else 1.0
    # a running sum's error grows with the values that passed through it
    close(got, want, np.full(want.shape, big * window), 4 * rtol(x))
    got = jp.moving_std(x, window, axis=axis, variant=variant)
    want = bn.move_std(xf, window, axis=axis)
    close(got**2, want**2, np.full(want.shape, big * big * window), 8 * rtol(x))


@settings(deadline=None)
@given(arrays(), VARIANTS, st.integers(1, 20))
def test_histogram(x, variant, bins):
    got = jp.histogram(x, bins, (-10.0, 10.0), variant=variant)
    np.testing.assert_array_equal(got, np.histogram(x, bins, (-10.0, 10.0))[0])
