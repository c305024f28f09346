"""stats() and the Stats record: fields, NaN handling, merge, to_dict."""

import numpy as np
import pytest

import jitperf as jp


def expected(x):
    f = x[~np.isnan(x)] if x.dtype.kind == "f" else x
    f = f.astype(np.float64)
    return {
        "count": f.size,
        "nan_count": x.size - f.size,
        "sum": f.sum(),
        "mean": f.mean() if f.size else np.nan,
        "var": f.var() if f.size else np.nan,
        "std": f.std() if f.size else np.nan,
        "min": f.min() if f.size else np.nan,
        "max": f.max() if f.size else np.nan,
    }


@pytest.mark.parametrize("variant", ["strict", "simd", "parallel", "auto"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "uint16"])
def test_fields(dtype, variant):
    x = (np.random.default_rng(0).random((300, 17)) * 1000).astype(dtype)
    if dtype.startswith("float"):
        x[::7, 3] = np.nan
    d = jp.stats(x, variant=variant).to_dict()
    e = expected(x)
    assert list(d) == ["count", "nan_count", "sum", "mean", "var", "std", "min", "max"]
    assert d["count"] == e["count"] and d["nan_count"] == e["nan_count"]
    for k in ("sum", "mean", "var", "std", "min", "max"):
        assert d[k] == pytest.approx(e[k], rel=1e-12), k


def test_axis_gives_per_row_fields():
    x = np.random.default_rng(1).standard_normal((40, 9))
    x[3, 2] = np.nan
    s0 = jp.stats(x, axis=0)
    assert s0.count.shape == (9,) and s0.count[2] == 39
    np.testing.assert_allclose(s0.mean, np.nanmean(x, axis=0), rtol=1e-12)
    np.testing.assert_allclose(jp.stats(x, axis=1).var(1), np.nanvar(x, axis=1, ddof=1), rtol=1e-12)
    np.testing.assert_array_equal(jp.stats(np.asfortranarray(x), axis=1).max, np.nanmax(x, axis=1))


def test_empty_and_all_nan():
    for x in (np.array([], np.float64), np.full(10, np.nan)):
        d = jp.stats(x).to_dict()
        assert d["count"] == 0 and d["nan_count"] == x.size and d["sum"] == 0.0
        assert all(np.isnan(d[k]) for k in ("mean", "var", "std", "min", "max"))


def test_merge_is_exact_and_handles_empty_parts():
    x = np.random.default_rng(2).standard_normal(10_001)
    whole = jp.stats(x)
    empty = jp.stats(x[:0])
    parts = jp.stats(x[:3333]).merge(empty).merge(jp.stats(x[3333:]))
    assert parts.count == whole.count
    assert parts.var() == pytest.approx(whole.var(), rel=1e-13)
    assert parts.mean == pytest.approx(whole.mean, rel=1e-13)
    assert (parts.min, parts.max) == (whole.min, whole.max)
    assert empty.merge(empty).count == 0
    with pytest.raises(TypeError, match="^other: "):
        whole.merge({"count": 1})
    with pytest.raises(ValueError, match="^other: "):
        whole.merge(jp.stats(x.reshape(1, -1), axis=1))


def test_var_ddof_and_equality():
    s = jp.stats(np.array([1.0, 2.0, 3.0, 4.0]))
    assert s.var() == pytest.approx(1.25) and s.var(ddof=1) == pytest.approx(5 / 3)
    assert np.isnan(jp.stats(np.array([1.0])).var(ddof=1))
    assert s == jp.stats(np.array([1.0, 2.0, 3.0, 4.0]))
    assert s.to_dict(ddof=1)["var"] == pytest.approx(5 / 3)
