"""sqeuclidean: pairwise squared Euclidean distances, as scipy's cdist.

Tolerances: float64 results match a numpy float64 reference to rtol 1e-12
(the kernel sums d squares in another order than numpy, a few ulps apart).
float32 results match the float64 reference of the same float32 inputs to
rtol 1e-5: the kernel accumulates in float32, (d + 1) * 2**-24 relative error
at worst for these d.
"""

import numpy as np
import pytest

import jitperf
from jitperf.inspect.remarks import vectorized_loops
from jitperf.kernels import distance as D
from jitperf.kernels.distance import sqeuclidean

VARIANTS = ["strict", "simd", "parallel", "auto"]


def ref(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)


def pair(dtype, n=37, m=1100, d=7, seed=0):
    # m > JT and n, d not multiples of the tile sizes: every tail runs
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        a = rng.standard_normal((n, d)) * 3 + 1
        b = rng.standard_normal((m, d)) * 3 + 1
    else:
        a = rng.integers(-100, 100, (n, d))
        b = rng.integers(-100, 100, (m, d))
    return a.astype(dtype), b.astype(dtype)


@pytest.mark.parametrize("variant", VARIANTS)
def test_float64(variant):
    a, b = pair(np.float64)
    got = sqeuclidean(a, b, variant=variant)
    assert got.dtype == np.float64 and got.shape == (37, 1100)
    np.testing.assert_allclose(got, ref(a, b), rtol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_float32(variant):
    a, b = pair(np.float32, d=64)
    got = sqeuclidean(a, b, variant=variant)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref(a, b), rtol=1e-5)


@pytest.mark.parametrize("variant", ["simd", "parallel"])
def test_int16_and_mixed(variant):
    a, b = pair(np.int16, d=5)
    got = sqeuclidean(a, b, variant=variant)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, ref(a, b))  # small integers: exact
    a32, b64 = a.astype(np.float32), b.astype(np.float64)
    got = sqeuclidean(a32, b64, variant=variant)
    assert got.dtype == np.float64  # float32 with anything else: float64
    np.testing.assert_array_equal(got, ref(a, b))


def test_near_points_accurate():
    # the direct (a - b)**2 form keeps relative accuracy for close points,
    # where ||a||^2 + ||b||^2 - 2ab would cancel to noise
    rng = np.random.default_rng(1)
    a = rng.standard_normal((20, 16)) + 1e4
    b = a + rng.standard_normal((20, 16)) * 1e-6
    np.testing.assert_allclose(sqeuclidean(a, b), ref(a, b), rtol=1e-12)


def test_scipy():
    spd = pytest.importorskip("scipy.spatial.distance")
    for dtype in (np.float64, np.float32):
        a, b = pair(dtype, n=50, m=60, d=13, seed=2)
        want = spd.cdist(a, b, "sqeuclidean")
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(sqeuclidean(a, b), want, rtol=rtol)


@pytest.mark.parametrize("layout", ["F", "strided"])
def test_input_layouts(layout):
    a, b = pair(np.float64, n=30, m=40, d=9, seed=3)
    big_a = np.zeros((60, 27))
    big_a[::2, ::3] = a
    big_b = np.zeros((80, 27))
    big_b[::2, ::3] = b
    if layout == "F":
        xa, xb = np.asfortranarray(a), np.asfortranarray(b)
    else:
        xa, xb = big_a[::2, ::3], big_b[::2, ::3]
    for v in ("strict", "simd", "parallel"):
        np.testing.assert_allclose(sqeuclidean(xa, xb, variant=v), ref(a, b), rtol=1e-12)


@pytest.mark.parametrize("layout", ["F", "strided"])
def test_out_layouts(layout):
    a, b = pair(np.float64, n=30, m=40, d=9, seed=4)
    if layout == "F":
        out = np.empty((30, 40), order="F")
    else:
        out = np.empty((60, 80))[::2, ::2]
    assert sqeuclidean(a, b, out=out) is out
    np.testing.assert_allclose(out, ref(a, b), rtol=1e-12)


def test_memmap(tmp_path):
    a, b = pair(np.float32, n=20, m=30, d=8, seed=5)
    mm = np.memmap(tmp_path / "a.bin", dtype=np.float32, mode="w+", shape=a.shape)
    mm[:] = a
    mm.flush()
    np.testing.assert_allclose(sqeuclidean(mm, b), ref(a, b), rtol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_empty(variant):
    for n, m, d in [(0, 5, 3), (4, 0, 3), (0, 0, 3)]:
        a = np.ones((n, d))
        b = np.ones((m, d))
        got = sqeuclidean(a, b, variant=variant)
        assert got.shape == (n, m) and got.dtype == np.float64
    # d = 0: every distance is zero
    got = sqeuclidean(np.ones((3, 0)), np.ones((4, 0)), variant=variant)
    np.testing.assert_array_equal(got, np.zeros((3, 4)))


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
@pytest.mark.parametrize("variant", VARIANTS)
def test_out_no_allocations(dtype, variant):
    a, b = pair(dtype, n=40, m=50, d=6, seed=6)
    out = np.empty((40, 50), np.float32 if dtype == np.float32 else np.float64)
    sqeuclidean(a, b, out=out, variant=variant)  # compile outside the window
    with jitperf.count_allocations() as c:
        got = sqeuclidean(a, b, out=out, variant=variant)
    assert got is out
    assert c.calls >= 1 and c.allocs == 0
    np.testing.assert_allclose(out, ref(a, b), rtol=1e-5)


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((2, 3), np.complex64), np.zeros((2, 3)), "a: expected dtype"),
        (np.zeros((2, 3)), np.zeros((2, 3), object), "b: expected dtype"),
        (np.zeros((2, 3), bool), np.zeros((2, 3)), "a: expected dtype"),
        (np.zeros((2, 3)), np.zeros((2, 3), "datetime64[s]"), "b: expected dtype"),
        (np.zeros((2, 3, 1)), np.zeros((2, 3)), "a: expected a 2-D"),
        (np.zeros(3), np.zeros((2, 3)), "a: expected a 2-D"),
        (np.zeros((2, 3)), np.zeros(3), "b: expected a 2-D"),
        (np.zeros((2, 3)), np.zeros((2, 4)), "b: expected 3 columns"),
    ],
)
def test_bad_inputs(a, b, message):
    with pytest.raises((TypeError, ValueError), match="^" + message):
        sqeuclidean(a, b)


def test_bad_out():
    a = np.zeros((3, 4))
    b = np.zeros((5, 4))
    with pytest.raises(ValueError, match="^out: expected shape"):
        sqeuclidean(a, b, out=np.empty((5, 3)))
    with pytest.raises(TypeError, match="^out: expected dtype float64"):
        sqeuclidean(a, b, out=np.empty((3, 5), np.float32))
    with pytest.raises(TypeError, match="^out: expected dtype float32"):
        sqeuclidean(a.astype(np.float32), b.astype(np.float32), out=np.empty((3, 5)))
    ro = np.empty((3, 5))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="^out: expected a writeable"):
        sqeuclidean(a, b, out=ro)
    buf = np.zeros((5, 5))
    with pytest.raises(ValueError, match="^out: expected memory apart from a"):
        sqeuclidean(buf[:, :4][:3], b, out=buf[:3])
    with pytest.raises(ValueError, match="^out: expected memory apart from b"):
        sqeuclidean(a, buf[:, :4], out=buf[:3])
    with pytest.raises(ValueError, match="^variant:"):
        sqeuclidean(a, b, variant="fast")


def test_inner_loop_vectorizes():
    a = np.ones((8, 64), np.float32)
    bt = np.ones((64, 8), np.float32)
    out = np.empty((8, 8), np.float32)
    remarks = vectorized_loops(D._sqeuclidean, "simd", a, bt, out)
    assert any(r.vectorized and r.width >= 4 for r in remarks), remarks
