"""The alloc group of jitperf bench: every pattern runs, and the directions that hold
whatever the noise (allocations and bytes, never timings) come out as the lessons say."""

import warnings

import numpy as np
import pytest
from numba.core.errors import NumbaPendingDeprecationWarning

from jitperf.bench import patterns as P

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # numpy < 2
    from numpy.core.multiarray import get_handler_name


@pytest.fixture(scope="module")
def run():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = P.run_patterns(quick=True, repeat=3)
    return {(r.kernel, r.impl): r for r in rows}, caught


@pytest.fixture(scope="module")
def rows(run):
    return run[0]


def test_every_pattern_and_impl_has_a_filled_row(rows):
    expected = [(name, impl) for name, impls in P.PATTERNS.items() for impl, _ in impls]
    assert list(rows) == expected
    for (name, _), r in rows.items():
        assert r.n == P.SIZES[name][1]
        assert r.dtype == "float64" and r.threads == "1" and r.bound == "memory"
        assert r.flops == 0 and r.gbps == 0.0 and r.gflops == 0.0 and r.limit_frac is None
        assert r.bytes >= 0 and r.compile_s >= 0
        assert len(r.times_s) == 3 and all(t > 0 for t in r.times_s)
        assert r.min_s == min(r.times_s) and r.min_s <= r.median_s and r.iqr_s >= 0
        assert r.allocs_per_op is not None and r.allocs_per_op >= 0
        assert r.bytes_per_op is not None and r.bytes_per_op >= 0
        assert set(r.to_dict()) >= {"allocs_per_op", "bytes_per_op", "times_s"}


def test_no_reflected_list_warning_escapes(run):
    assert not [w for w in run[1] if issubclass(w.category, NumbaPendingDeprecationWarning)]


def test_the_default_numpy_handler_is_back():
    assert P.numpy_allocation_counter() is not None  # numpy >= 1.22 on CPython
    assert get_handler_name() == "default_allocator"


def test_out_and_pool_allocate_no_array(rows):
    name = "alloc-vs-out-vs-pool"
    assert rows[name, "alloc"].allocs_per_op >= 1
    assert rows[name, "out"].allocs_per_op == 0
    assert rows[name, "pool"].allocs_per_op == 0
    assert rows[name, "alloc"].bytes_per_op >= 8 * rows[name, "alloc"].n


def test_append_allocates_per_item(rows):
    name = "append-vs-prealloc-vs-typed-list"
    app, pre = rows[name, "np.append"], rows[name, "prealloc"]
    assert app.allocs_per_op > pre.allocs_per_op or app.bytes_per_op > pre.bytes_per_op
    assert app.allocs_per_op >= app.n  # a new array for every item
    assert pre.allocs_per_op == 1


def test_fused_kernel_makes_no_temporaries(rows):
    name = "temporaries-vs-fused"
    expr, fused = rows[name, "numpy-expr"], rows[name, "fused"]
    assert fused.allocs_per_op == 0
    assert expr.allocs_per_op >= 2 or expr.bytes_per_op >= 2 * expr.n * 8


def test_array_argument_unboxes_with_fewer_allocations(rows):
    name = "reflected-list-vs-array"
    # the list is copied into a fresh native list on every call; the array is a view
    assert rows[name, "array"].allocs_per_op < rows[name, "reflected-list"].allocs_per_op


def _results(name, n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        return {impl: setup(n).fn() for impl, setup in P.PATTERNS[name]}


def test_the_implementations_of_a_pattern_agree():
    texts = _results("text-concat-vs-join-vs-stringio", 300)
    assert texts["concat"] == texts["join"] == texts["stringio"]
    assert texts["join"].count("\n") == 300
    expr = _results("temporaries-vs-fused", 1000)
    assert np.allclose(expr["numpy-expr"], expr["fused"], rtol=1e-12, atol=1e-12)
    grown = _results("append-vs-prealloc-vs-typed-list", 500)
    assert np.array_equal(grown["np.append"], grown["prealloc"])
    assert np.array_equal(grown["np.append"], grown["typed-list"])
    totals = _results("reflected-list-vs-array", 1000)
    assert totals["reflected-list"] == pytest.approx(totals["array"], rel=1e-12)


def test_counter_counts_buffers_not_views():
    counter = P.numpy_allocation_counter()
    x = np.ones(100)
    with counter.counting():
        a = np.empty(10)
        b = np.zeros(1000)  # calloc
        v = x[::2]
        c = x + x
    assert counter.count == 3
    with counter.counting():
        d = x + 1.0  # numpy wraps the scalar in a 0-d array, a buffer of its own
    assert counter.count == 2
    del a, b, v, c, d  # freed through numpy's own free, after the handler is gone


def test_without_the_handler_numpy_rows_count_the_arrays_left(monkeypatch):
    monkeypatch.setattr(P, "numpy_allocation_counter", lambda: None)
    n = 1000
    alloc = dict(P.PATTERNS["alloc-vs-out-vs-pool"])
    for impl, setup in alloc.items():
        call = setup(n)
        call.fn()
        allocs, _ = P._allocations(call)
        assert allocs == (1 if impl == "alloc" else 0)
