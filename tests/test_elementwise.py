"""affine, polyval and clip against numpy, in every variant and layout."""

import numpy as np
import pytest
from _errors import raises_clean

import jitperf
from jitperf.inspect.remarks import vectorized_loops
from jitperf.kernels import elementwise as E
from jitperf.kernels.elementwise import affine, clip, polyval

VARIANTS = ["strict", "simd", "parallel", "auto"]
DTYPES = [np.float32, np.float64, np.int16]
COEFFS = [0.5, -1.25, 2.0, 0.75, 3.0]  # degree 4


def data(dtype, shape=(6, 37), seed=0):
    x = np.random.default_rng(seed).standard_normal(shape) * 10
    return x.astype(dtype)


def rtol(dtype):
    # simd/parallel contract x*s + o into an FMA: one rounding fewer than numpy
    return 1e-6 if np.dtype(dtype) == np.float32 else 1e-12


def ref_affine(x, s, o, dt=None):
    if x.dtype == np.float32 and dt in (None, np.float32):
        return (np.float32(s) * x + np.float32(o)).astype(np.float32)
    r = s * x.astype(np.float64) + o
    return r.astype(dt or np.float64)


def horner(c, x):
    # numpy.polyval's loop, but starting from c[0] rather than 0*x + c[0]: the
    # same numbers for finite x, and the polynomial's limit (not NaN) at +-inf.
    y = np.full_like(x, c[0])
    for ck in c[1:]:
        y = y * x + ck
    return y


def ref_polyval(c, x, dt=None):
    if x.dtype == np.float32 and dt in (None, np.float32):
        return horner(np.asarray(c, np.float32), x)
    return horner(np.asarray(c, np.float64), x.astype(np.float64)).astype(dt or np.float64)


def test_reference_is_numpy_polyval():
    for dt in (np.float32, np.float64):
        x = data(dt)
        np.testing.assert_array_equal(ref_polyval(COEFFS, x), np.polyval(np.asarray(COEFFS, dt), x))


CASES = {
    "affine": (lambda x, **kw: affine(x, 2.5, -1.5, **kw), lambda x: ref_affine(x, 2.5, -1.5)),
    "polyval": (lambda x, **kw: polyval(COEFFS, x, **kw), lambda x: ref_polyval(COEFFS, x)),
    "clip": (lambda x, **kw: clip(x, -4, 7, **kw), lambda x: np.clip(x, x.dtype.type(-4), 7)),
}


def check(got, want, dtype):
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol(dtype), atol=0)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_matches_numpy(name, dtype, variant):
    f, ref = CASES[name]
    for x in (data(dtype, (101,)), data(dtype), np.asfortranarray(data(dtype))):
        check(f(x, variant=variant), ref(x), dtype)


@pytest.mark.parametrize("variant", VARIANTS)
def test_int_input_float32_dtype(variant):
    x = data(np.int16)
    check(
        affine(x, 0.1, 3, np.float32, variant=variant),
        ref_affine(x, 0.1, 3, np.float32),
        np.float32,
    )
    got = polyval(COEFFS, x, dtype="float32", variant=variant)
    check(got, ref_polyval(COEFFS, x, np.float32), np.float32)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_strided_and_memmap(name, variant, tmp_path):
    f, ref = CASES[name]
    x = data(np.float64, (20, 30))
    for view in (x[::2, ::3], x[:, ::-2], x[3, 1::4], x.T[::2]):
        check(f(view, variant=variant), ref(view), np.float64)
    m = np.memmap(tmp_path / "x.bin", dtype=np.float64, mode="w+", shape=x.shape)
    m[:] = x
    check(f(m, variant=variant), ref(x), np.float64)


@pytest.mark.parametrize("variant", VARIANTS)
def test_nan_and_inf(variant):
    x = data(np.float64, (3, 16))
    x[0, 0], x[1, 5], x[2, -1] = np.nan, np.inf, -np.inf
    x[0, 7] = np.nan
    with np.errstate(invalid="ignore"):
        for f, ref in CASES.values():
            got, want = f(x, variant=variant), ref(x)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_clip_semantics():
    x = np.array([np.nan, -np.inf, -3.0, 0.5, 2.0, np.inf])
    np.testing.assert_array_equal(clip(x, -1, 1), np.clip(x, -1, 1))
    np.testing.assert_array_equal(clip(x, 1, -1), np.clip(x, 1, -1))  # lo > hi: hi
    np.testing.assert_array_equal(clip(x, None, 1), np.clip(x, None, 1))
    np.testing.assert_array_equal(clip(x, np.nan, 1), np.clip(x, np.nan, 1))
    xi = np.array([-30000, -5, 0, 5, 30000], np.int16)
    got = clip(xi, -10.0, 10)  # integral floats are fine for integer x
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, np.clip(xi, -10, 10))
    np.testing.assert_array_equal(clip(xi, -32768, None), xi)


def test_polyval_edge_coefficients():
    x = data(np.float64, (50,))
    np.testing.assert_array_equal(polyval([], x), np.polyval(np.array([]), x))
    np.testing.assert_array_equal(polyval([3.0], x), np.full(50, 3.0))


@pytest.mark.parametrize("variant", ["strict", "simd", "parallel"])
def test_polyval_long(variant):
    # more coefficients than UNROLL_MAX: the array path, chunked or in place
    c = np.random.default_rng(1).standard_normal(E.UNROLL_MAX + 4) / 4
    x = np.random.default_rng(2).uniform(-1.1, 1.1, 3000)
    want = np.polyval(c, x)
    np.testing.assert_allclose(polyval(c, x, variant=variant), want, rtol=1e-12, atol=1e-12)
    y = x.copy()
    assert polyval(c, y, out=y, variant=variant) is y
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_empty(variant):
    for dt in (np.float64, np.int16):
        for shape in ((0,), (0, 4), (3, 0)):
            x = np.empty(shape, dt)
            for f, _ in CASES.values():
                got = f(x, variant=variant)
                assert got.shape == shape


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_out_in_place_and_no_allocations(name, variant):
    f, ref = CASES[name]
    for dt in (np.float32, np.int16):
        x = data(dt)
        want = ref(x)
        out = np.empty_like(want)
        assert f(x, out=out, variant=variant) is out  # compile outside the window
        with jitperf.count_allocations() as c:
            assert f(x, out=out, variant=variant) is out
        assert c.calls >= 1 and c.allocs == 0
        check(out, want, dt)
    y = data(np.float32)
    want = ref(y)
    assert f(y, out=y, variant=variant) is y  # in place: out is x
    check(y, want, np.float32)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name):
    f, _ = CASES[name]
    x = data(np.float64)
    for bad in (
        x.astype(np.complex128),
        x.astype(object),
        x > 0,
        np.zeros(3, "datetime64[s]"),
    ):
        raises_clean(TypeError, "x:", lambda bad=bad: f(bad))
    raises_clean(ValueError, "x:", lambda: f(np.zeros((2, 2, 2))))
    raises_clean(ValueError, "variant:", lambda: f(x, variant="gpu"))
    raises_clean(ValueError, "out:", lambda: f(x, out=np.empty((6, 36))))
    raises_clean(TypeError, "out:", lambda: f(x, out=np.empty(x.shape, np.float32)))
    raises_clean(TypeError, "out:", lambda: f(x, out=[0.0] * 6))
    ro = np.empty_like(x)
    ro.flags.writeable = False
    raises_clean(ValueError, "out:", lambda: f(x, out=ro))
    raises_clean(ValueError, "out:", lambda: f(x, out=x[::-1]))  # overlapping, not x itself
    big = np.zeros(x.size + 1)
    shifted = big[1:].reshape(x.shape)
    raises_clean(ValueError, "out:", lambda: f(big[:-1].reshape(x.shape), out=shifted))


def test_bad_arguments():
    x = data(np.float64)
    xi = data(np.int16)
    raises_clean(TypeError, "scale:", lambda: affine(x, "2", 1))
    raises_clean(TypeError, "offset:", lambda: affine(x, 2, 1j))
    raises_clean(TypeError, "dtype:", lambda: affine(x, 2, 1, np.int32))
    raises_clean(TypeError, "dtype:", lambda: affine(x, 2, 1, "nonsense"))
    raises_clean(TypeError, "dtype:", lambda: polyval(COEFFS, x, dtype=np.float16))
    raises_clean(TypeError, "coeffs:", lambda: polyval(np.array([1j, 2]), x))
    raises_clean(ValueError, "coeffs:", lambda: polyval(np.ones((2, 2)), x))
    raises_clean(TypeError, "out:", lambda: affine(xi, 2, 1, out=np.empty(xi.shape, np.int16)))
    raises_clean(ValueError, "lo:", lambda: clip(xi, 0.5, 3))  # non-integral bound for int x
    raises_clean(ValueError, "hi:", lambda: clip(xi, 0, np.nan))
    raises_clean(ValueError, "hi:", lambda: clip(xi, 0, 40000))  # not an int16
    raises_clean(TypeError, "lo:", lambda: clip(xi, "0", 3))
    raises_clean(TypeError, "hi:", lambda: clip(x, 0, True))
    # in place needs matching dtypes: int16 x cannot hold affine's float64
    raises_clean(TypeError, "out:", lambda: affine(xi, 2, 1, out=xi))


@pytest.mark.parametrize(
    "drv, params",
    [
        (E._AFFINE, (np.float32(2), np.float32(1))),
        (E._POLYVAL_SHORT, tuple(np.float32(c) for c in COEFFS)),
        (E._CLIP, (np.float32(-1), np.float32(1))),
    ],
    ids=["affine", "polyval", "clip"],
)
def test_simd_loops_vectorize(drv, params):
    x = np.ones((1, 1024), np.float32)
    out = np.empty_like(x)
    remarks = vectorized_loops((drv), "simd", x, out, 1, params)
    assert any(r.vectorized for r in remarks), remarks
