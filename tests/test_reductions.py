"""Reductions against numpy: values, shapes, dtypes, layouts, NaN/Inf, empties."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitperf as jp
from jitperf._checks import SUPPORTED

VARIANTS = ["strict", "simd", "parallel", "auto"]
ALL_DTYPES = [d.name for d in SUPPORTED]
# name -> numpy reference, computed in float64 where jitperf returns float64
FLOAT_RESULT = {
    "sum": np.sum,
    "mean": np.mean,
    "var": np.var,
    "std": np.std,
    "nansum": np.nansum,
    "nanmean": np.nanmean,
    "nanvar": np.nanvar,
    "nanstd": np.nanstd,
}
SAME_DTYPE = {
    "min": np.min,
    "max": np.max,
    "nanmin": np.nanmin,
    "nanmax": np.nanmax,
    "argmin": np.argmin,
    "argmax": np.argmax,
}
KERNELS = {**FLOAT_RESULT, **SAME_DTYPE}


def rtol_for(dtype):
    return 1e-6 if np.dtype(dtype) == np.float32 else 1e-12


def reference(name, x, axis):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on all-NaN
        if name in FLOAT_RESULT:
            return KERNELS[name](x.astype(np.float64), axis=axis)
        return KERNELS[name](x, axis=axis)


def check(name, x, axis, variant):
    got = getattr(jp, name)(x, axis=axis, variant=variant)
    want = reference(name, x, axis)
    assert np.shape(got) == np.shape(want)
    if name in FLOAT_RESULT:
        assert np.asarray(got).dtype == np.float64
    elif name.startswith("arg"):
        assert np.asarray(got).dtype == np.intp
        np.testing.assert_array_equal(got, want)
        return
    else:
        assert np.asarray(got).dtype == x.dtype
    np.testing.assert_allclose(got, want, rtol=rtol_for(x.dtype), atol=0, equal_nan=True)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_every_dtype(name, dtype):
    rng = np.random.default_rng(1)
    info = np.finfo(dtype) if dtype.startswith("float") else np.iinfo(dtype)
    lo, hi = (-100, 100) if dtype.startswith("float") else (max(info.min, -100), min(info.max, 100))
    x = rng.uniform(lo, hi, size=(37, 41)).astype(dtype)
    for axis in (None, 0, 1):
        check(name, x, axis, "simd")


def layouts(x):
    yield "C", x
    yield "F", np.asfortranarray(x)
    yield "strided", x[::2, ::3]
    yield "reversed", x[::-1, ::-1]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_variants_layouts(name, variant):
    rng = np.random.default_rng(2)
    for dtype in ("float32", "float64", "int32"):
        base = (rng.standard_normal((90, 70)) * 50).astype(dtype)
        for _, x in layouts(base):
            for axis in (None, 0, 1, -1):
                check(name, x, axis, variant)
        check(name, base[:, 5], None, variant)  # 1-D strided


def test_parallel_blocks_agree_with_numpy():
    # large enough that the parallel variant splits one row into many blocks
    x = np.random.default_rng(3).standard_normal(1 << 21)
    x[12345] = np.nan
    for name in KERNELS:
        check(name, x, None, "parallel")
    x2 = x.reshape(64, -1)
    for name in ("sum", "var", "argmax", "nanmin"):
        check(name, x2, 1, "parallel")


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from(["float32", "float64", "int16"]))
    ndim = draw(st.integers(1, 2))
    shape = tuple(draw(st.lists(st.integers(0, 40), min_size=ndim, max_size=ndim)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 10).astype(dtype)
    if dtype.startswith("float") and x.size:
        special = draw(st.sampled_from(["none", "nan", "inf", "allnan", "mixed"]))
        flat = x.reshape(-1)
        k = rng.integers(0, x.size, size=max(1, x.size // 7))
        if special == "nan":
            flat[k] = np.nan
        elif special == "inf":
            flat[k] = np.inf
        elif special == "allnan":
            flat[:] = np.nan
        elif special == "mixed":
            flat[k] = rng.choice([np.nan, np.inf, -np.inf], size=k.size)
    if draw(st.booleans()) and ndim == 2:
        x = np.asfortranarray(x)
    step = draw(st.sampled_from([1, 2, -1]))
    x = x[(slice(None, None, step),) * ndim]
    axis = draw(st.sampled_from([None, 0, -1] if ndim == 1 else [None, 0, 1, -1]))
    return x, axis


@settings(deadline=None)
@given(arrays(), st.sampled_from(sorted(KERNELS)), st.sampled_from(["strict", "simd"]))
def test_random_against_numpy(case, name, variant):
    x, axis = case
    empty_axis = x.size == 0 if axis is None else x.shape[axis] == 0
    if name in SAME_DTYPE and empty_axis:  # no identity: numpy raises too
        with pytest.raises(ValueError, match="^x: "):
            getattr(jp, name)(x, axis=axis, variant=variant)
        return
    check(name, x, axis, variant)


def test_empty_semantics():
    e = np.array([], dtype=np.float32)
    assert jp.sum(e) == 0.0
    assert np.isnan(jp.mean(e))
    assert np.isnan(jp.var(e)) and np.isnan(jp.nanmean(e))
    assert jp.nancount(e) == 0
    for name in ("min", "max", "argmin", "argmax", "nanmin", "nanmax"):
        with pytest.raises(ValueError, match="^x: "):
            getattr(jp, name)(e)
    # an empty axis on a non-empty array: numpy raises for min, gives 0 for sum
    z = np.zeros((3, 0))
    np.testing.assert_array_equal(jp.sum(z, axis=1), np.zeros(3))
    with pytest.raises(ValueError, match="^x: "):
        jp.min(z, axis=1)
    with pytest.raises(ValueError, match="^x: "):
        jp.argmax(z.T, axis=0)


def test_nan_semantics():
    x = np.array([1.0, np.nan, -3.0, 2.0], dtype=np.float32)
    assert np.isnan(jp.sum(x)) and np.isnan(jp.min(x)) and np.isnan(jp.max(x))
    assert jp.nansum(x) == 0.0 and jp.nanmin(x) == -3.0 and jp.nanmax(x) == 2.0
    assert jp.argmin(x) == 1 and jp.argmax(x) == 1  # numpy: the first NaN
    assert jp.nancount(x) == 3 and jp.nancount(x).dtype == np.int64
    allnan = np.full(5, np.nan)
    assert np.isnan(jp.nanmin(allnan)) and np.isnan(jp.nanmean(allnan))
    assert jp.nansum(allnan) == 0.0
    inf = np.array([np.inf, 1.0, -np.inf])
    assert jp.max(inf) == np.inf and jp.nanmin(inf) == -np.inf
    assert np.isnan(jp.var(inf))


def test_ddof():
    x = np.random.default_rng(4).standard_normal((30, 5))
    for ddof in (0, 1, 2):
        np.testing.assert_allclose(jp.var(x, ddof=ddof), np.var(x, ddof=ddof), rtol=1e-12)
        np.testing.assert_allclose(
            jp.nanstd(x, axis=0, ddof=ddof), np.nanstd(x, axis=0, ddof=ddof), rtol=1e-12
        )
    assert np.isnan(jp.var(np.ones(1), ddof=1))
    with pytest.raises(ValueError, match="^ddof: "):
        jp.var(x, ddof=-1)


def test_memmap_input(tmp_path):
    path = tmp_path / "x.npy"
    x = np.random.default_rng(5).random((100, 30)).astype(np.float32)
    np.save(path, x)
    m = np.load(path, mmap_mode="r")
    assert isinstance(m, np.memmap)
    for name in ("sum", "var", "nanmax", "argmin"):
        check(name, m, None, "simd")
        check(name, m, 0, "parallel")


def test_dot():
    rng = np.random.default_rng(6)
    for dtype in ("float32", "float64", "int16"):
        x = (rng.standard_normal(5001) * 10).astype(dtype)
        y = (rng.standard_normal(5001) * 10).astype(dtype)
        want = np.dot(x.astype(np.float64), y.astype(np.float64))
        for v in VARIANTS:
            got = jp.dot(x, y, variant=v)
            assert got.dtype == np.float64
            np.testing.assert_allclose(got, want, rtol=rtol_for(dtype))
        np.testing.assert_allclose(jp.dot(x[::2], y[::2]), np.dot(x[::2] * 1.0, y[::2]), rtol=1e-6)
    with pytest.raises(ValueError, match="^y: expected length 3"):
        jp.dot(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="^x: "):
        jp.dot(np.ones((3, 3)), np.ones(3))


@pytest.mark.parametrize("variant", ["strict", "simd", "parallel"])
def test_extremes_at_the_edges_of_the_order_keys(variant):
    # min/max reduce integer order keys of the float bits: check the values
    # where that mapping could slip
    neg_nan = -np.abs(np.float64(np.nan))  # sign bit set: its key is below -inf
    tiny = np.nextafter(0.0, 1.0)
    for dt in (np.float32, np.float64):
        x = np.array([3.0, -tiny, tiny, -0.0, 0.0, np.inf, -np.inf, -2.5], dt)
        assert jp.min(x, variant=variant) == -np.inf and jp.max(x, variant=variant) == np.inf
        y = np.array([-tiny, tiny, 5.0, -7.0], dt)
        assert jp.min(y, variant=variant) == -7.0 and jp.nanmax(y, variant=variant) == 5.0
        z = np.array([1.0, neg_nan, 2.0], dt)
        assert np.isnan(jp.min(z, variant=variant)) and np.isnan(jp.max(z, variant=variant))
        assert jp.nanmin(z, variant=variant) == 1.0 and jp.nanmax(z, variant=variant) == 2.0
        assert np.isnan(jp.nanmin(np.array([np.nan, neg_nan], dt), variant=variant))
        assert jp.nanmax(np.array([np.nan, -np.inf], dt), variant=variant) == -np.inf
    for dt in (np.int8, np.int64, np.uint8, np.uint64):
        info = np.iinfo(dt)
        x = np.array([info.max, 0, info.min, 1], dt)
        assert jp.min(x, variant=variant) == info.min and jp.max(x, variant=variant) == info.max
        assert jp.nanmin(x, variant=variant).dtype == dt


@pytest.mark.parametrize("variant", ["simd", "parallel"])
def test_axis_reductions_across_the_contiguous_axis(variant):
    # axis 0 of a C array (and axis 1 of an F one): rows of the view are
    # strided; many of them, and long enough for parallel blocks
    rng = np.random.default_rng(7)
    x = rng.standard_normal((70_000, 5)).astype(np.float32)
    x[5, 3] = np.nan
    for name in sorted(KERNELS):
        check(name, x, 0, variant)
        check(name, np.asfortranarray(x.T), 1, variant)
    np.testing.assert_array_equal(jp.nancount(x, axis=0, variant=variant), (~np.isnan(x)).sum(0))
    s = jp.stats(x, axis=0, variant=variant)
    np.testing.assert_allclose(s.var(), np.nanvar(x.astype(np.float64), axis=0), rtol=1e-6)


@pytest.mark.parametrize("variant", ["simd", "parallel"])
def test_arg_ties_and_nans_resolve_in_c_order_for_any_layout(variant):
    # A Fortran array is searched in its memory order; ties and NaNs must
    # still resolve to the first occurrence in C order, as numpy's do.
    rng = np.random.default_rng(11)
    for _ in range(50):
        n, c = rng.integers(2, 40, 2)
        x = rng.integers(0, 3, (n, c)).astype(np.float32)
        x[rng.random(x.shape) < 0.05] = np.nan
        for y in (x, np.asfortranarray(x), x[::2], x[:, ::-1]):
            for axis in (None, 0, 1):
                for ours, ref in ((jp.argmin, np.argmin), (jp.argmax, np.argmax)):
                    got = ours(y, axis=axis, variant=variant)
                    np.testing.assert_array_equal(got, ref(y, axis=axis))
    big = np.asfortranarray(rng.integers(0, 3, (300_000, 4)).astype(np.int8))
    assert jp.argmin(big, variant=variant) == np.argmin(big)
    assert jp.argmax(big, variant=variant) == np.argmax(big)
