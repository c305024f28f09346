"""histogram: bin for bin equal to numpy.histogram(x, bins, range)[0].

Compiles are the cost here (one per variant x dtype x layout x range scalar
types), so the cross products stay small: the dtype x variant grid runs on C
data, the layouts on float32, and the edge cases on the simd variant.
"""

import numpy as np
import pytest

import jitperf
from jitperf.inspect.remarks import vectorized_loops
from jitperf.kernels import histogram as H
from jitperf.kernels.histogram import histogram

VARIANTS = ["strict", "simd", "parallel", "auto"]
DTYPES = [np.float32, np.float64, np.int16]


def ref(x, bins, r):
    return np.histogram(x, bins, r)[0]


def data(dtype, n=5000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * 40
    if np.dtype(dtype).kind == "f":
        x[::97] = np.nan
        x[1::101] = np.inf
        x[2::103] = -np.inf
        x[3::50] = -50.0  # lo and hi themselves
        x[4::50] = 50.0
        x[5::50] = 12.5  # an inner edge for bins=8
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_matches_numpy(dtype, variant):
    x = data(dtype)
    for bins, r in [(8, (-50.0, 50.0)), (13, (-31.7, 44.1)), (1, (-1.0, 1.0))]:
        got = histogram(x, bins, r, variant=variant)
        assert got.dtype == np.int64 and got.shape == (bins,)
        np.testing.assert_array_equal(got, ref(x, bins, r))


@pytest.mark.parametrize("variant", ["strict", "simd", "parallel"])
def test_many_blocks(variant):
    # large enough for several parallel blocks, whose histograms are summed
    x = data(np.float64, n=300_000, seed=1)
    np.testing.assert_array_equal(
        histogram(x, 64, (-90.0, 90.0), variant=variant), ref(x, 64, (-90.0, 90.0))
    )


@pytest.mark.parametrize("variant", ["strict", "simd", "parallel"])
@pytest.mark.parametrize("layout", ["C2", "F", "strided", "strided1"])
def test_layouts(variant, layout):
    base = data(np.float32, n=6000, seed=2).reshape(60, 100)
    x = {
        "C2": base,
        "F": np.asfortranarray(base),
        "strided": base[::2, ::3],
        "strided1": base.reshape(-1)[::7],
    }[layout]
    r = (-40.0, 60.0)
    np.testing.assert_array_equal(histogram(x, 11, r, variant=variant), ref(x, 11, r))


def test_memmap(tmp_path):
    x = np.memmap(tmp_path / "x.bin", dtype=np.float64, mode="w+", shape=(3000,))
    x[:] = data(np.float64, n=3000, seed=3)
    x.flush()
    np.testing.assert_array_equal(histogram(x, 9, (-50.0, 50.0)), ref(x, 9, (-50.0, 50.0)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_on_edges(dtype):
    # values exactly on every edge numpy computes, and the floats either side
    for bins, lo, hi in [(10, 0.0, 1.0), (7, -3.3, 2.9), (100, -1e-3, 7e-3), (3, 1e6, 1e6 + 1)]:
        edges = np.linspace(lo, hi, bins + 1).astype(dtype)
        x = np.concatenate(
            [edges, np.nextafter(edges, dtype(-np.inf)), np.nextafter(edges, dtype(np.inf))]
        ).astype(dtype)
        x = np.concatenate([x, np.linspace(lo, hi, 1001).astype(dtype)])
        got = histogram(x, bins, (lo, hi), variant="simd")
        np.testing.assert_array_equal(got, ref(x, bins, (lo, hi)))
        assert got.sum() == ref(x, bins, (lo, hi)).sum()


def test_float32_near_edges_random():
    # many float32 values within a few ulps of edges of odd ranges
    rng = np.random.default_rng(4)
    for _trial in range(20):
        lo = float(rng.uniform(-100, 0))
        hi = lo + float(rng.uniform(1e-3, 100))
        bins = int(rng.integers(1, 200))
        edges = np.linspace(lo, hi, bins + 1).astype(np.float32)
        x = np.repeat(edges, 9)
        steps = rng.integers(-4, 5, size=x.size)
        x = x + steps * np.spacing(np.abs(x))
        x = x.astype(np.float32)
        np.testing.assert_array_equal(
            histogram(x, bins, (lo, hi), variant="simd"), ref(x, bins, (lo, hi))
        )


def test_range_scalar_types():
    # numpy's dtypes depend on whether range holds Python or numpy scalars
    x = data(np.float32, seed=5)
    r = (np.float64(-31.7), np.float64(44.1))
    np.testing.assert_array_equal(histogram(x, 13, r, variant="simd"), ref(x, 13, r))
    xi = data(np.int16, seed=5)
    for r in [(-30, 45), (-100000, 100000), (-30.5, 45.5)]:
        np.testing.assert_array_equal(histogram(xi, 13, r, variant="simd"), ref(xi, 13, r))
    # no int8 can fall in the range
    x8 = np.arange(-128, 128, dtype=np.int8)
    np.testing.assert_array_equal(histogram(x8, 4, (200, 300)), np.zeros(4, np.int64))


def test_unsigned_ints():
    x = np.arange(256, dtype=np.uint8)
    for r in [(0, 255), (10.5, 200.25), (-5, 300)]:
        np.testing.assert_array_equal(histogram(x, 7, r, variant="simd"), ref(x, 7, r))


@pytest.mark.parametrize("variant", VARIANTS)
def test_empty(variant):
    for x in [np.empty(0), np.empty((0, 4), np.int16)]:
        got = histogram(x, 5, (0.0, 1.0), variant=variant)
        np.testing.assert_array_equal(got, np.zeros(5, np.int64))
    out = np.full(5, 7, np.int64)
    assert histogram(np.empty(0), 5, (0.0, 1.0), out=out) is out
    assert not out.any()


@pytest.mark.parametrize("dtype", [np.float64, np.int16])
@pytest.mark.parametrize("variant", VARIANTS)
def test_out_no_allocations(dtype, variant):
    x = data(dtype)
    out = np.empty(8, np.int64)
    r = (-50.0, 50.0)
    histogram(x, 8, r, out=out, variant=variant)  # compile outside the window
    with jitperf.count_allocations() as c:
        got = histogram(x, 8, r, out=out, variant=variant)
    assert got is out
    assert c.calls >= 1 and c.allocs == 0
    np.testing.assert_array_equal(out, ref(x, 8, r))


@pytest.mark.parametrize(
    "x, message",
    [
        (np.zeros(3, np.complex128), "x: expected dtype"),
        (np.zeros(3, object), "x: expected dtype"),
        (np.zeros(3, bool), "x: expected dtype"),
        (np.zeros(3, "datetime64[s]"), "x: expected dtype"),
        (np.zeros((2, 2, 2)), "x: expected a 1-D or 2-D"),
    ],
)
def test_bad_x(x, message):
    with pytest.raises((TypeError, ValueError), match="^" + message):
        histogram(x, 4, (0.0, 1.0))


@pytest.mark.parametrize(
    "bins, r, exc, message",
    [
        (0, (0.0, 1.0), ValueError, "bins:"),
        (-3, (0.0, 1.0), ValueError, "bins:"),
        (2.5, (0.0, 1.0), TypeError, "bins:"),
        ("auto", (0.0, 1.0), TypeError, "bins:"),
        (10, (1.0, 1.0 + 4e-16), ValueError, "bins:"),  # edges not distinct
        (4, None, TypeError, "range:"),
        (4, 1.0, TypeError, "range:"),
        (4, (0.0, 1.0, 2.0), ValueError, "range:"),
        (4, (1.0, 1.0), ValueError, "range:"),
        (4, (2.0, 1.0), ValueError, "range:"),
        (4, (0.0, np.inf), ValueError, "range:"),
        (4, (np.nan, 1.0), ValueError, "range:"),
        (4, ("a", 1.0), TypeError, "range:"),
        (4, (True, 2), TypeError, "range:"),
    ],
)
def test_bad_bins_range(bins, r, exc, message):
    with pytest.raises(exc, match="^" + message):
        histogram(np.zeros(3), bins, r)


def test_bad_out():
    x = np.zeros(10)
    with pytest.raises(ValueError, match="^out: expected shape"):
        histogram(x, 4, (0.0, 1.0), out=np.empty(5, np.int64))
    with pytest.raises(TypeError, match="^out: expected dtype"):
        histogram(x, 4, (0.0, 1.0), out=np.empty(4, np.int32))
    ro = np.empty(4, np.int64)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="^out: expected a writeable"):
        histogram(x, 4, (0.0, 1.0), out=ro)
    with pytest.raises(TypeError, match="^out: expected a numpy array"):
        histogram(x, 4, (0.0, 1.0), out=[0, 0, 0, 0])
    with pytest.raises(ValueError, match="^variant:"):
        histogram(x, 4, (0.0, 1.0), variant="fast")


def test_the_bins_vectorize_and_the_counts_do_not():
    # The bin formula runs over a run of values in a loop of its own, which
    # vectorizes; the count loop is a scatter-increment, hist[j] += 1 at a
    # data-dependent j, for which LLVM reports "cannot identify array
    # bounds". Asserted so that a change shows up here.
    x = np.ones((1, 100))
    p = H._params(x, 10, -1.0, 1.0)
    st = np.empty((1, 1, 10 + 1 + H.CH), np.int64)
    remarks = vectorized_loops(H._DRIVER, "simd", x, 1, st, p)
    assert any(r.vectorized and r.width >= 2 for r in remarks), remarks
    assert any("cannot identify array bounds" in r.reason for r in remarks), remarks


@pytest.mark.parametrize("lo, hi", [(0.0, 1.0), (-3.7, 11.1), (np.float32(0.1), np.float32(0.7)),
                                    (1e-3, 1.5e-3), (-1e30, 1e30), (0, 7)])  # fmt: skip
@pytest.mark.parametrize("bins", [1, 3, 100, 997])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_the_kernel_recomputes_numpys_edges(lo, hi, bins, dtype):
    x = np.zeros(4, dtype)
    p = H._params(x, bins, lo, hi)
    edges = np.linspace(lo, hi, bins + 1, dtype=p[5].dtype)
    step, start, steps = p[6:]
    j = np.arange(bins + 1)
    mine = (j.astype(steps.dtype) * step + start).astype(edges.dtype)
    mine[-1] = edges[-1]
    np.testing.assert_array_equal(mine, edges)
    np.testing.assert_array_equal(p[5], edges)


def test_edges_it_cannot_recompute_are_counted_by_numpy(monkeypatch):
    x = np.random.default_rng(1).random(1000)
    want = np.histogram(x, 7, (0.1, 0.9))[0]
    monkeypatch.setattr(H, "_edge_formula", lambda *a: None)
    np.testing.assert_array_equal(histogram(x, 7, (0.1, 0.9)), want)
