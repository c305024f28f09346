"""Chunked runs equal in-memory calls, for every kind of kernel.

Each kernel runs through jitperf.batch.run over a file at awkward chunk
sizes (one row, a prime number of bytes, more than the file) and is
compared with the in-memory kernel on the same data: reductions within
their tolerance, transforms exactly in the sequential variants.
"""

from __future__ import annotations

import numpy as np
import pytest

import jitperf
from jitperf.batch import KERNELS, run
from jitperf.errors import InputError
from jitperf.io import generate
from jitperf.kernels.stats import Stats

ONE_ROW = 1  # bytes: rounds up to one row per chunk
PRIME = 4099
HUGE = 1 << 30
CHUNKS = [ONE_ROW, PRIME, HUGE]

LAYOUTS = {
    "1d": ("2003", False),
    "2d": ("401,3", False),
    "2d-F": ("401,3", True),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """float32 inputs with NaNs, and an int16 one, per layout."""
    d = tmp_path_factory.mktemp("batch")
    out = {}
    for name, (shape, fortran) in LAYOUTS.items():
        out[name] = generate(
            d / f"{name}.npy", "float32", shape, nan_fraction=0.02, seed=3, fortran=fortran
        )
        out[name + "-clean"] = generate(
            d / f"{name}-clean.npy", "float64", shape, seed=4, fortran=fortran
        )
        out[name + "-int"] = generate(
            d / f"{name}-int.npy", "int16", shape, seed=5, fortran=fortran
        )
    out["y"] = generate(d / "y.npy", "float32", "7,3", seed=6)
    out["y1"] = generate(d / "y1.npy", "float32", "2003", seed=7)
    return out


def _close(got, want, exact: bool):
    got, want = np.asarray(got), np.asarray(want)
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


REDUCTIONS = [
    "sum",
    "mean",
    "var",
    "std",
    "nansum",
    "nanmean",
    "nanvar",
    "nanstd",
    "nancount",
    "min",
    "max",
    "nanmin",
    "nanmax",
    "argmin",
    "argmax",
]
# exact: the result is a value or count of the data, not a sum of it
EXACT = {"nancount", "min", "max", "nanmin", "nanmax", "argmin", "argmax"}


@pytest.mark.parametrize("chunk", CHUNKS, ids=["one-row", "prime", "huge"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("kind", ["", "-clean", "-int"], ids=["f32-nan", "f64", "i16"])
def test_reductions_match_in_memory(files, layout, kind, chunk):
    path = files[layout + kind]
    x = np.load(path)
    axes = [None, 0] if x.ndim == 1 else [None, 0, 1]
    for name in REDUCTIONS:
        for axis in axes:
            rep = run(name, path, axis=axis, chunk_bytes=chunk, variant="simd")
            want = getattr(jitperf, name)(x, axis=axis, variant="simd")
            _close(rep.result, want, name in EXACT)
            rows = rep.chunk_bytes // (x.nbytes // x.shape[0])
            assert rep.chunks == -(-x.shape[0] // rows)
    for axis in axes:
        rep = run("var", path, axis=axis, chunk_bytes=chunk, params={"ddof": "1"})
        _close(rep.result, jitperf.var(x, axis=axis, ddof=1), False)


@pytest.mark.parametrize("chunk", CHUNKS, ids=["one-row", "prime", "huge"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_stats_match_in_memory(files, layout, chunk):
    path = files[layout]
    x = np.load(path)
    for axis in [None, 0] if x.ndim == 1 else [None, 0, 1]:
        rep = run("stats", path, axis=axis, chunk_bytes=chunk, params={"ddof": 1})
        want = jitperf.stats(x, axis=axis).to_dict(ddof=1)
        assert list(rep.result) == list(want)
        for field in want:
            exact = field in ("count", "nan_count", "min", "max")
            _close(
                np.asarray(rep.result[field], dtype=float), np.asarray(want[field], float), exact
            )


def test_dot_matches_in_memory(files):
    x, y = np.load(files["1d"]), np.load(files["y1"])
    for chunk in CHUNKS:
        rep = run("dot", files["1d"], params={"y": files["y1"]}, chunk_bytes=chunk)
        _close(rep.result, jitperf.dot(x, y), False)


def _transforms(x):
    """(kernel, params, axis, the in-memory result, exact in simd?)."""
    nd = x.ndim
    cases = [
        ("affine", {"scale": "2.5", "offset": "-1"}, None, jitperf.affine(x, 2.5, -1), True),
        ("polyval", {"coeffs": "1,0,-2"}, None, jitperf.polyval([1.0, 0.0, -2.0], x), True),
        ("clip", {"lo": "-0.5", "hi": "0.5"}, None, jitperf.clip(x, -0.5, 0.5), True),
        (
            "histogram",
            {"bins": "17", "range": "-2,2"},
            None,
            jitperf.histogram(x, 17, (-2, 2)),
            True,
        ),
    ]
    for axis in [None, 0] + ([1] if nd == 2 else []):
        # a Fortran x flattened in C order scans in two passes even in simd
        exact = axis is not None or x.flags.c_contiguous
        cases.append(("cumsum", {}, axis, jitperf.cumsum(x, axis=axis, variant="simd"), exact))
    for axis in [0] + ([1] if nd == 2 else []):
        for name, w, ddof in [("moving_sum", 5, 0), ("moving_mean", 64, 0), ("moving_std", 7, 1)]:
            w = min(w, x.shape[axis])
            p = {"window": str(w)} | ({"ddof": str(ddof)} if ddof else {})
            kw = {"ddof": ddof} if ddof else {}
            want = getattr(jitperf, name)(x, w, axis=axis, variant="simd", **kw)
            cases.append((name, p, axis, want, True))
    return cases


@pytest.mark.parametrize("chunk", CHUNKS, ids=["one-row", "prime", "huge"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_transforms_match_in_memory(files, tmp_path, layout, chunk):
    path = files[layout]
    x = np.load(path)
    for i, (name, params, axis, want, exact) in enumerate(_transforms(x)):
        out = tmp_path / f"{i}-{name}.npy"
        rep = run(
            name, path, params=params, axis=axis, output=out, chunk_bytes=chunk, variant="simd"
        )
        assert rep.result == {"output": str(out)}
        got = np.load(out)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        if exact:
            np.testing.assert_array_equal(got, want, err_msg=f"{name} axis={axis}")
        else:
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=f"{name} axis={axis}")
        if got.ndim == 2:  # the output keeps the input's memory order
            assert got.flags.f_contiguous == (layout == "2d-F" and name != "histogram")


def test_parallel_chunks_match_within_tolerance(files, tmp_path):
    path = files["1d-clean"]
    x = np.load(path)
    for name, params, axis, want, _ in _transforms(x):
        out = tmp_path / f"{name}-{axis}.npy"
        run(name, path, params=params, axis=axis, output=out, chunk_bytes=PRIME, variant="parallel")
        np.testing.assert_allclose(np.load(out), want, rtol=1e-9, atol=1e-12)
    rep = run("stats", path, chunk_bytes=PRIME, variant="parallel")
    assert rep.variant == "parallel"
    assert rep.result["count"] == x.size


def test_sqeuclidean_matches_in_memory(files, tmp_path):
    x, y = np.load(files["2d"]), np.load(files["y"])
    x = np.nan_to_num(x)
    src = tmp_path / "x.npy"
    np.save(src, x)
    for chunk in CHUNKS:
        out = tmp_path / f"d{chunk}.npy"
        run("sqeuclidean", src, params={"y": files["y"]}, output=out, chunk_bytes=chunk)
        np.testing.assert_allclose(np.load(out), jitperf.sqeuclidean(x, y), rtol=1e-5)


def test_raw_input_with_offset_and_shape(tmp_path):
    x = np.arange(600, dtype=np.float64).reshape(200, 3)
    raw = tmp_path / "x.bin"
    raw.write_bytes(b"HEADER!!" + x.tobytes())
    rep = run("sum", raw, dtype="float64", shape="-1,3", offset=8, axis=0, chunk_bytes=PRIME)
    assert rep.shape == (200, 3)
    np.testing.assert_array_equal(rep.result, x.sum(axis=0))
    rep = run("max", raw, dtype="float64", offset=8)
    assert rep.shape == (600,) and rep.result == 599.0


def test_report_fields(files):
    rep = run("stats", files["2d"], chunk_bytes=PRIME)
    d = rep.to_dict()
    for field in [
        "kernel",
        "input",
        "dtype",
        "shape",
        "variant",
        "threads",
        "chunk_bytes",
        "elapsed_s",
        "bytes",
        "gbps",
        "result",
    ]:
        assert field in d
    assert d["bytes"] == 401 * 3 * 4 and d["dtype"] == "float32" and d["shape"] == [401, 3]
    assert d["chunk_bytes"] == (PRIME // 12) * 12
    assert d["gbps"] == pytest.approx(d["bytes"] / d["elapsed_s"] / 1e9)
    assert set(d["phases_s"]) == {"io_wait", "compute", "merge", "write"}
    assert sorted(d["result"]) == sorted(
        ["count", "nan_count", "sum", "mean", "var", "std", "min", "max"]
    )


def test_every_kernel_of_the_library_can_run():
    names = set(jitperf.__all__) - {"BufferPool", "Stats", "count_allocations"}
    assert names == set(KERNELS)


def test_errors_name_the_problem(files, tmp_path):
    with pytest.raises(InputError, match="-o: sum reports"):
        run("sum", files["1d"], output=tmp_path / "o.npy")
    with pytest.raises(InputError, match="-o: affine writes"):
        run("affine", files["1d"], params={"scale": 1})
    with pytest.raises(InputError, match="window"):
        run("moving_sum", files["1d"], params={"window": 5000}, output=tmp_path / "o.npy")
    assert not list(tmp_path.iterdir())


def test_stats_record_round_trip(files):
    # the report's numbers are the in-memory record's, ddof=0 by default
    rep = run("stats", files["1d"])
    rec = jitperf.stats(np.load(files["1d"]))
    assert isinstance(rec, Stats)
    assert rep.result["var"] == pytest.approx(float(rec.var()), rel=1e-12)
