"""cumsum against numpy, in every variant, axis and layout.

Vectorization, as observed with vectorized_loops on float32 C input: the scan
loop itself is not vectorized in any variant ("value that could not be
identified as reduction is used outside the loop": every partial sum is
stored), while the block-totals pass of the parallel two-pass scan is.
"""

import numpy as np
import pytest
from _errors import raises_clean

import jitperf
from jitperf import _plan
from jitperf.inspect.remarks import vectorized_loops
from jitperf.kernels import scan as S
from jitperf.kernels.scan import cumsum

VARIANTS = ["strict", "simd", "parallel", "auto"]
DTYPES = [np.float32, np.float64, np.int16]


def data(dtype, shape=(9, 41), seed=0):
    x = np.random.default_rng(seed).standard_normal(shape) * 100
    return x.astype(dtype)


def ref(x, axis=None):
    if x.dtype == np.float32:  # cumsum accumulates float32 in float64
        return np.cumsum(x, axis=axis, dtype=np.float64).astype(np.float32)
    return np.cumsum(x, axis=axis)


def check(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype.kind == "f":
        # the two-pass scans add block totals in another order than numpy
        rtol = 1e-6 if want.dtype == np.float32 else 1e-12
        scale = np.abs(want).max() if want.size else 0.0
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_matches_numpy(dtype, variant):
    x = data(dtype)
    check(cumsum(x[0], variant=variant), ref(x[0]))
    for axis in (None, 0, 1, -1):
        check(cumsum(x, axis, variant=variant), ref(x, axis))
    f = np.asfortranarray(x)
    for axis in (None, 0):
        check(cumsum(f, axis, variant=variant), ref(x, axis))


@pytest.mark.parametrize("variant", VARIANTS)
def test_strided_and_memmap(variant, tmp_path):
    x = data(np.float64, (20, 30))
    for view in (x[::2, ::3], x[:, ::-1], x[4, ::3]):
        for axis in (None, -1):
            check(cumsum(view, axis, variant=variant), ref(view, axis))
    m = np.memmap(tmp_path / "x.bin", dtype=np.float64, mode="w+", shape=x.shape)
    m[:] = x
    check(cumsum(m, variant=variant), ref(x))


@pytest.mark.parametrize("dtype", DTYPES + [np.uint8])
@pytest.mark.parametrize("variant", ["simd", "parallel"])
def test_two_pass_blocks(dtype, variant, monkeypatch):
    # Tiny blocks, so that the parallel variant splits rows into many blocks
    # and runs the two-pass scan; it must equal the simd result (exactly for
    # integers).
    monkeypatch.setattr(_plan, "MIN_BLOCK", 16)
    x = np.random.default_rng(3).integers(0, 200, (3, 1000)).astype(dtype)
    assert _plan.nblocks("parallel", 1, x.size) > 1
    for view, axis in ((x, None), (x, 1), (x.T, None), (x[:, ::3], None)):
        got = cumsum(view, axis, variant=variant)
        check(got, ref(view, axis))
        check(got, cumsum(view, axis, variant="simd"))


def test_dtypes_and_wrapping():
    assert cumsum(np.arange(5, dtype=np.uint8)).dtype == np.uint64
    assert cumsum(np.arange(5, dtype=np.int8)).dtype == np.int64
    big = np.full(4, 2**62, np.int64)
    np.testing.assert_array_equal(cumsum(big), np.cumsum(big))  # wraps as numpy
    f32 = np.full(1 << 17, 0.1, np.float32)  # float32 accumulation would drift
    np.testing.assert_allclose(cumsum(f32)[-1], np.float32(0.1) * (1 << 17), rtol=1e-6)


@pytest.mark.parametrize("variant", VARIANTS)
def test_nan_and_inf(variant):
    x = data(np.float64, (4, 12))
    x[0, 3], x[1, 0], x[2, 5], x[3, 2], x[3, 8] = np.nan, np.inf, -np.inf, np.inf, -np.inf
    for axis in (None, 0, 1):
        with np.errstate(invalid="ignore"):
            got, want = cumsum(x, axis, variant=variant), ref(x, axis)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_empty(variant):
    for shape, axis in (((0,), None), ((0, 4), None), ((0, 4), 0), ((3, 0), 1), ((3, 0), 0)):
        got = cumsum(np.empty(shape), axis, variant=variant)
        assert got.shape == np.cumsum(np.empty(shape), axis).shape


@pytest.mark.parametrize("variant", VARIANTS)
def test_out_and_no_allocations(variant, monkeypatch):
    monkeypatch.setattr(_plan, "MIN_BLOCK", 16)  # the two-pass path too
    for dt in (np.float32, np.int16):
        x = data(dt, (2, 500))
        for axis in (None, 1):
            want = ref(x, axis)
            out = np.empty_like(want)
            assert cumsum(x, axis, out=out, variant=variant) is out
            with jitperf.count_allocations() as c:
                assert cumsum(x, axis, out=out, variant=variant) is out
            assert c.calls >= 1 and c.allocs == 0
            check(out, want)
    y = data(np.float64)
    want = ref(y, 1)
    assert cumsum(y, 1, out=y, variant=variant) is y  # in place
    check(y, want)


def test_bad_input():
    x = data(np.float64)
    for bad in (x.astype(np.complex64), x.astype(object), x > 0, np.zeros(3, "M8[s]")):
        raises_clean(TypeError, "x:", lambda bad=bad: cumsum(bad))
    raises_clean(ValueError, "x:", lambda: cumsum(np.zeros((2, 2, 2))))
    raises_clean(ValueError, "axis:", lambda: cumsum(x, 2))
    raises_clean(TypeError, "axis:", lambda: cumsum(x, 1.0))
    raises_clean(ValueError, "variant:", lambda: cumsum(x, variant="fast"))
    raises_clean(ValueError, "out:", lambda: cumsum(x, out=np.empty(x.shape)))  # axis=None is 1-D
    raises_clean(TypeError, "out:", lambda: cumsum(data(np.int16), out=np.empty(x.size)))
    ro = np.empty(x.shape)
    ro.flags.writeable = False
    raises_clean(ValueError, "out:", lambda: cumsum(x, 1, out=ro))
    raises_clean(ValueError, "out:", lambda: cumsum(x, 1, out=x[::-1]))
    flat = np.zeros(101)
    raises_clean(ValueError, "out:", lambda: cumsum(flat[:-1], out=flat[1:]))


def test_vectorization_as_observed():
    x = np.ones((1, 1024), np.float32)
    out = np.empty_like(x)
    p = (np.float64(0),)
    scan = vectorized_loops((S._SCAN), "simd", x, out, 1, np.zeros((1, 1)), p)
    assert scan and not any(r.vectorized for r in scan), scan
    totals = vectorized_loops((S._TOTALS), "simd", x, 1, np.zeros((1, 1, 1)), p)
    assert any(r.vectorized for r in totals), totals
