"""jitperf.testing and its pytest plugin, on kernels whose outcome is known."""

import re
from importlib.metadata import entry_points

import numba
import numpy as np
import pytest

import jitperf as jp
from jitperf import testing
from jitperf._compile import kernel
from jitperf.kernels import reductions as r
from jitperf.testing import assert_no_alloc, assert_not_vectorized, assert_vectorized

pytest_plugins = ["pytester"]

X = np.ones(4096)
REORDER = "cannot prove it is safe to reorder floating-point operations"
FASTMATH_ADVICE = "add fastmath={'reassoc'}"


def _sum(x):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i]
    return acc


fast_sum = numba.njit(fastmath=True)(_sum)
strict_sum = numba.njit(_sum)


@numba.njit
def alloc_in_loop(x, out):
    for i in range(x.shape[0]):
        tmp = np.empty(3)  # one NRT allocation per element
        tmp[:] = x[i]
        out[i] = tmp.sum()


@numba.njit
def into_out(x, out):
    for i in range(x.shape[0]):
        out[i] = 2.0 * x[i]
    return out[0]


@kernel()
def _allocating(x, out):
    tmp = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        tmp[i] = x[i] * 2.0
    out[0] = tmp.sum()


def test_fastmath_sum_is_vectorized():
    rep = assert_vectorized(fast_sum, (X,))
    assert rep.vectorized(256) and any(m.vectorized for m in rep.loops)


def test_signature_string_and_numba_types():
    assert_vectorized(fast_sum, "float64(float64[::1])")
    assert_vectorized(fast_sum, (numba.float64[::1],))
    assert_not_vectorized(strict_sum, "float64(float64[::1])")


def test_strict_sum_is_not_vectorized_and_says_why():
    with pytest.raises(AssertionError) as e:
        assert_vectorized(strict_sum, (X,))
    msg = str(e.value)
    assert "_sum" in msg and "array(float64, 1d, C)" in msg  # kernel and signature
    assert REORDER in msg
    assert FASTMATH_ADVICE in msg
    assert "hot loops" in msg and "scalar" in msg
    rep = assert_not_vectorized(strict_sum, (X,))
    assert not rep.vectorized(256, "any")


def test_not_vectorized_fails_on_vector_code():
    with pytest.raises(AssertionError, match="is vectorized") as e:
        assert_not_vectorized(fast_sum, (X,))
    assert re.search(r"(256|512)-bit packed arithmetic", str(e.value))


def test_jitperf_kernels_and_their_dispatchers():
    x = np.ones((1, 4096), np.float32)
    args = (x, 1, np.empty((1, 1, 1)), ())
    assert_vectorized(r._SUM, args, variant="simd")
    assert_not_vectorized(r._SUM, args, variant="strict")
    with pytest.raises(AssertionError, match=r"_sum\] \(strict\)") as e:
        assert_vectorized(r._SUM.dispatcher("strict"), args)
    assert FASTMATH_ADVICE in str(e.value)


def test_bad_arguments():
    with pytest.raises(TypeError, match="args_or_signature"):
        assert_vectorized(fast_sum, X)  # an array, not a tuple of arguments
    with pytest.raises(ValueError, match="loops"):
        assert_vectorized(fast_sum, (X,), loops="most")


def test_allocation_in_the_loop_fails_with_its_count():
    x, out = np.ones(16), np.zeros(16)
    with pytest.raises(AssertionError, match=r"alloc_in_loop made 16 NRT allocation"):
        assert_no_alloc(alloc_in_loop, x, out)


def test_writing_to_out_passes_and_returns_the_result():
    x, out = np.arange(8.0), np.zeros(8)
    assert assert_no_alloc(into_out, x, out) == 0.0
    assert assert_no_alloc(into_out, x + 1, out=out) == 2.0  # keyword arguments too
    assert assert_no_alloc(r._SUM.dispatcher("simd"), x[None], 1, np.empty((1, 1, 1)), ()) is None


def test_python_functions_calling_jitperf_kernels():
    x = np.random.default_rng(0).random(1 << 12).astype(np.float32)
    out = np.empty_like(x)
    assert assert_no_alloc(lambda: jp.affine(x, 2, 1, out=out)) is out
    # jitperf allocates a missing out= with numpy, which is no NRT allocation
    np.testing.assert_allclose(assert_no_alloc(jp.affine, x, 2, 1), 2 * x + 1)
    assert assert_no_alloc(jp.sum, x, variant="parallel") == pytest.approx(x.sum(), rel=1e-5)
    with pytest.raises(AssertionError, match=r"made 1 NRT allocation.* 1 jitperf kernel call"):
        assert_no_alloc(lambda: _allocating("simd", x, out[:1]))


def test_numba_functions_jitperf_cannot_see_are_not_passed_silently():
    x, out = np.ones(16), np.zeros(16)
    with pytest.raises(AssertionError, match="pass the numba function itself"):
        assert_no_alloc(lambda: alloc_in_loop(x, out))


def test_fixtures_are_the_functions(assert_vectorized, assert_not_vectorized, assert_no_alloc):
    assert assert_vectorized is testing.assert_vectorized
    assert assert_not_vectorized is testing.assert_not_vectorized
    assert assert_no_alloc is testing.assert_no_alloc


def test_plugin_is_an_installed_entry_point():
    (ep,) = [e for e in entry_points(group="pytest11") if e.name == "jitperf"]
    assert ep.value == "jitperf.pytest_plugin"


GENERATED = """
import numba
import numpy as np


def _sum(x):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i]
    return acc


fast = numba.njit(fastmath=True)(_sum)
strict = numba.njit(_sum)


def test_uses_the_fixtures(assert_vectorized, assert_not_vectorized, assert_no_alloc):
    x = np.ones(4096)
    assert_vectorized(fast, (x,))
    assert_not_vectorized(strict, (x,))
    assert assert_no_alloc(fast, x) == 4096.0


def test_strict_fails(assert_vectorized):
    assert_vectorized(strict, (np.ones(4096),))
"""


def test_fixtures_through_the_entry_point(pytester, monkeypatch):
    # a fresh pytest process with no conftest: only the installed entry point
    # can provide the fixtures
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    pytester.makepyfile(test_generated=GENERATED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*is not vectorized*", f"*{REORDER}*"])
    fixtures = pytester.runpytest_subprocess("--fixtures", "-p", "no:xdist")
    fixtures.stdout.fnmatch_lines(
        [
            "*fixtures defined from jitperf.pytest_plugin*",
            "assert_vectorized*",
            "*",
            "assert_not_vectorized*",
            "*",
            "assert_no_alloc*",
        ]
    )
