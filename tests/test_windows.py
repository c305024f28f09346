"""moving_sum, moving_mean and moving_std against bottleneck.

Vectorization, as observed with vectorized_loops on float32 C input: no loop
of the moving kernels is vectorized in the simd variant (the running sum and
the Welford state carry from one element to the next), which the last test
asserts.
"""

import bottleneck as bn
import numpy as np
import pytest
from _errors import raises_clean

import jitperf
from jitperf import _plan
from jitperf.inspect.remarks import vectorized_loops
from jitperf.kernels import windows as W
from jitperf.kernels.windows import moving_mean, moving_std, moving_sum

VARIANTS = ["strict", "simd", "parallel", "auto"]
DTYPES = [np.float32, np.float64, np.int16]
FUNCS = {
    "sum": (moving_sum, bn.move_sum),
    "mean": (moving_mean, bn.move_mean),
    "std": (moving_std, bn.move_std),
}


def data(dtype, shape=(7, 120), seed=0, nan=True):
    x = np.random.default_rng(seed).standard_normal(shape) * 10
    x = x.astype(dtype)
    if nan and x.dtype.kind == "f":
        flat = x.reshape(-1)
        flat[[i for i in (0, 17, 18, 300) if i < flat.size] + [flat.size - 1]] = np.nan
    return x


def check(name, got, x, window, axis, **kw):
    """got against bottleneck run on x in float64.

    rtol is 1e-6 for float32 output and 1e-12 for float64, but not relative
    to the window's own value alone: a running sum's rounding error scales
    with the magnitudes that have passed through it (bottleneck's as much as
    ours), so near-zero sums of large values get an error term of
    rtol * window * max|x| (mean: max|x|). std compares variances, whose
    sliding-update error scales as max|x|**2 in the same way.
    """
    xr = np.asarray(x, dtype=np.float64)
    want = FUNCS[name][1](xr, window, axis=axis, **kw)
    assert got.shape == x.shape
    assert got.dtype == (np.float32 if x.dtype == np.float32 else np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    rtol = 1e-6 if got.dtype == np.float32 else 1e-12
    m = np.nanmax(np.abs(xr)) if xr.size else 0.0
    g, w = got[ok].astype(np.float64), want[ok]
    if name == "std":
        g, w, scale = g * g, w * w, m * m
    else:
        scale = window * m if name == "sum" else m
    assert np.all(np.abs(g - w) <= rtol * (np.abs(w) + scale))


@pytest.mark.parametrize("name", list(FUNCS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_matches_bottleneck(name, dtype, variant):
    f = FUNCS[name][0]
    x = data(dtype)
    for window in (1, 4, 120):
        check(name, f(x[2], window, variant=variant), x[2], window, -1)
        check(name, f(x, window, variant=variant), x, window, -1)
    check(name, f(x, 3, axis=0, variant=variant), x, 3, 0)
    check(name, f(x, 7, axis=0, variant=variant), x, 7, 0)


@pytest.mark.parametrize("name", list(FUNCS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_layouts_and_memmap(name, variant, tmp_path):
    f = FUNCS[name][0]
    x = data(np.float64, (12, 40))
    fx = np.asfortranarray(x)
    for view in (fx, x[::2, ::3], x[:, ::-1]):
        for axis in (0, 1, -1):
            check(name, f(view, 3, axis, variant=variant), view, 3, axis)
    m = np.memmap(tmp_path / "x.bin", dtype=np.float64, mode="w+", shape=x.shape)
    m[:] = x
    check(name, f(m, 5, variant=variant), x, 5, -1)


@pytest.mark.parametrize("variant", ["simd", "parallel"])
def test_parallel_blocks(variant, monkeypatch):
    # Small blocks, so that the parallel variant splits a row and each block
    # starts warm from its halo, including windows longer than a block.
    monkeypatch.setattr(_plan, "MIN_BLOCK", 64)
    x = data(np.float64, (5000,), seed=4)
    assert _plan.nblocks("parallel", 1, x.size) > 1
    for window in (2, 33, 64, 700):
        for name, (f, _) in FUNCS.items():
            got = f(x, window, variant=variant)
            check(name, got, x, window, -1)
            # and the simd result, within the same error terms as check()
            simd = f(x, window, variant="simd")
            m = np.nanmax(np.abs(x))
            if name == "std":
                got, simd, atol = got * got, simd * simd, 1e-12 * m * m
            else:
                atol = 1e-12 * window * m
            np.testing.assert_allclose(got, simd, rtol=1e-12, atol=atol)


def test_strict_float64_is_bottleneck_bit_for_bit():
    x = data(np.float64, (3000,), nan=False)
    for window in (1, 3, 64):
        np.testing.assert_array_equal(
            moving_sum(x, window, variant="strict"), bn.move_sum(x, window)
        )
        np.testing.assert_array_equal(
            moving_std(x, window, variant="strict"), bn.move_std(x, window)
        )


def test_std_far_from_zero_and_ddof():
    # Data far from zero: a sum of squares would lose every digit here.
    x = 1e8 + np.random.default_rng(5).standard_normal(2000)
    np.testing.assert_allclose(moving_std(x, 50)[49:], bn.move_std(x, 50)[49:], rtol=1e-6)
    y = data(np.float64, (200,), nan=False)
    for ddof in (1, 3):
        np.testing.assert_allclose(moving_std(y, 10, ddof=ddof), bn.move_std(y, 10, ddof=ddof))
    assert np.isnan(moving_std(y, 3, ddof=3)).all()  # window <= ddof: NaN (numpy's var)


@pytest.mark.parametrize("variant", VARIANTS)
def test_nan_and_inf(variant):
    # Reference: each window on its own. An inf stays inf only while inside a
    # window (bottleneck's running sum turns every later window NaN instead).
    x = np.array([1.0, 2, np.inf, 3, 4, 5, -np.inf, 6, np.inf, 7, 8, 9, np.nan, 1, 2, 3, 4])
    w = 3
    win = np.lib.stride_tricks.sliding_window_view(x, w)
    with np.errstate(invalid="ignore"):
        sums = np.concatenate([np.full(w - 1, np.nan), win.sum(axis=1)])
        stds = np.concatenate([np.full(w - 1, np.nan), win.std(axis=1)])
    np.testing.assert_array_equal(moving_sum(x, w, variant=variant), sums)
    np.testing.assert_allclose(moving_mean(x, w, variant=variant), sums / w)
    np.testing.assert_allclose(moving_std(x, w, variant=variant), stds, atol=1e-12)
    assert moving_sum(x, w, variant=variant)[-1] == 9.0  # back to finite after all that


@pytest.mark.parametrize("variant", VARIANTS)
def test_empty_rows(variant):
    for f, _ in FUNCS.values():
        assert f(np.empty((0, 5)), 2, variant=variant).shape == (0, 5)
        assert f(np.empty((5, 0)), 3, axis=0, variant=variant).shape == (5, 0)


@pytest.mark.parametrize("name", list(FUNCS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_out_and_no_allocations(name, variant, monkeypatch):
    monkeypatch.setattr(_plan, "MIN_BLOCK", 64)  # blocks with halos too
    f = FUNCS[name][0]
    for dt in (np.float32, np.int16):
        x = data(dt, (2, 600))
        out = np.empty(x.shape, np.float32 if dt == np.float32 else np.float64)
        assert f(x, 9, out=out, variant=variant) is out
        with jitperf.count_allocations() as c:
            assert f(x, 9, out=out, variant=variant) is out
        assert c.calls >= 1 and c.allocs == 0
        check(name, out, x, 9, -1)


@pytest.mark.parametrize("name", list(FUNCS))
def test_bad_input(name):
    f = FUNCS[name][0]
    x = data(np.float64, (4, 10))
    for bad in (x.astype(np.complex128), x.astype(object), x > 0, np.zeros(3, "M8[s]")):
        raises_clean(TypeError, "x:", lambda bad=bad: f(bad, 2))
    raises_clean(ValueError, "x:", lambda: f(np.zeros((2, 2, 2)), 2))
    raises_clean(ValueError, "axis:", lambda: f(x, 2, 2))
    raises_clean(TypeError, "axis:", lambda: f(x, 2, None))
    for window in (0, -1, 11):
        raises_clean(ValueError, "window:", lambda window=window: f(x, window))
    raises_clean(ValueError, "window:", lambda: f(x, 5, axis=0))  # axis 0 has length 4
    raises_clean(ValueError, "window:", lambda: f(np.empty(0), 1))
    for window in (2.0, "2", True, None):
        raises_clean(TypeError, "window:", lambda window=window: f(x, window))
    raises_clean(ValueError, "variant:", lambda: f(x, 2, variant="x"))
    raises_clean(ValueError, "out:", lambda: f(x, 2, out=np.empty((4, 9))))
    raises_clean(TypeError, "out:", lambda: f(x, 2, out=np.empty(x.shape, np.float32)))
    raises_clean(TypeError, "out:", lambda: f(data(np.int16), 2, out=np.empty((7, 120), np.int16)))
    ro = np.empty(x.shape)
    ro.flags.writeable = False
    raises_clean(ValueError, "out:", lambda: f(x, 2, out=ro))
    raises_clean(ValueError, "out:", lambda: f(x, 2, out=x))  # not even in place
    raises_clean(ValueError, "out:", lambda: f(x, 2, out=x[::-1]))
    if name == "std":
        raises_clean(ValueError, "ddof:", lambda: f(x, 2, ddof=-1))
        raises_clean(TypeError, "ddof:", lambda: f(x, 2, ddof=0.5))


@pytest.mark.parametrize("drv", [W._MOVE_SUM, W._MOVE_STD], ids=["sum", "std"])
def test_the_running_state_does_not_vectorize(drv):
    # each output depends on the previous one; the one vector loop is
    # moving_sum's finiteness test of a stretch, moving_std's square roots
    x = np.ones((1, 1024), np.float32)
    state = np.zeros((1, 1, W.STATE))
    remarks = vectorized_loops(drv, "simd", x, np.empty_like(x), 1, 63, state, (64, 1.0))
    assert remarks
    assert sum(r.vectorized for r in remarks) == 1, remarks
