"""Which loops LLVM vectorized, from its own remarks: simd does, strict doesn't.

A floating-point min/max recurrence does not vectorize in numba (LLVM asks
for function-level no-NaNs): min/max reduce integer order keys, which do, and
argmin/argmax stay scalar chains; the tests record both, so a change shows.
"""

import numpy as np
import pytest

from jitperf.inspect import loop_remarks, vectorized_loops
from jitperf.inspect.remarks import parse
from jitperf.kernels import reductions as r
from jitperf.kernels import stats as s

X32 = np.zeros((1, 64), np.float32)

VECTORIZED = {
    "sum": (r._SUM, 1),
    "nansum": (r._NANSUM, 2),
    "moments": (r._MOMENTS, 3),
    "nanmoments": (r._NANMOMENTS, 3),
    "stats": (s._STATS, 7),
}
SCALAR = {"argmin": r._ARGMIN, "argmax": r._ARGMAX}


def _remarks(drv, variant, k, dtype=np.float32):
    return vectorized_loops(drv, variant, X32.astype(dtype), 1, np.zeros((1, 1, k)), ())


@pytest.mark.parametrize("name", sorted(VECTORIZED))
def test_simd_reductions_vectorize(name):
    drv, k = VECTORIZED[name]
    rem = _remarks(drv, "simd", k)
    widths = [m.width for m in rem if m.vectorized]
    assert widths, f"{name}: no vectorized loop: {rem}"
    assert max(widths) >= 8  # float32 into float64 lanes, two ymm registers wide


@pytest.mark.parametrize("name", sorted(VECTORIZED))
def test_strict_reductions_stay_scalar(name):
    drv, k = VECTORIZED[name]
    rem = _remarks(drv, "strict", k)
    assert rem and not any(m.vectorized for m in rem)
    assert any("reorder floating-point" in m.reason for m in rem)


def test_dot_vectorizes():
    st = np.zeros((1, 1, 1))
    rem = vectorized_loops(r._DOT, "simd", X32, X32, 1, st, ())
    assert any(m.vectorized for m in rem)
    rem = vectorized_loops(r._DOT, "strict", X32, X32, 1, st, ())
    assert not any(m.vectorized for m in rem)


@pytest.mark.parametrize("variant", ["strict", "simd"])
@pytest.mark.parametrize("name", sorted(SCALAR))
def test_extremes_vectorize_only_their_nan_test(name, variant):
    # The NaN test is an integer OR and vectorizes in any variant; the
    # compare-select chains of _best8 stay scalar (see its docstring).
    params = (np.float32(np.inf), False)
    rem = vectorized_loops(SCALAR[name], variant, X32, 1, np.zeros((1, 1, 1), np.int64), params)
    assert any(m.vectorized and m.width >= 8 for m in rem)
    assert any("could not be identified as reduction" in m.reason for m in rem)


@pytest.mark.parametrize("variant", ["strict", "simd"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64])
def test_min_max_keys_vectorize(dtype, variant):
    # integer min/max reductions need no fast-math flags: strict vectorizes too
    x = np.zeros((1, 64), dtype).view(r._key_dtype(np.dtype(dtype)))
    state = np.zeros((1, 1, 4), x.dtype)
    rem = vectorized_loops(r._KEYRANGE, variant, x, 1, state, r._key_params(np.dtype(dtype)))
    assert any(m.vectorized and m.width >= 4 for m in rem), rem


def test_integer_sum_is_a_float_reduction():
    # int16 added into a float64 accumulator is still a floating-point
    # reduction: strict keeps it in order, simd vectorizes it.
    assert not any(m.vectorized for m in _remarks(r._SUM, "strict", 1, np.int16))
    assert any(m.vectorized for m in _remarks(r._SUM, "simd", 1, np.int16))


def test_capture_leaves_stderr_and_options_clean(capfd):
    assert _remarks(r._SUM, "simd", 1)
    _, err = capfd.readouterr()
    assert "remark" not in err
    # the remark options are off again: a later compile prints nothing
    disp = r._NANSUM.dispatcher("simd", cache=False)
    disp(X32, 1, np.zeros((1, 1, 2)), ())
    _, err = capfd.readouterr()
    assert "remark" not in err
    assert loop_remarks(lambda: None) == []


def test_parse_remarks():
    text = (
        "remark: k.py:12:3: loop not vectorized: cannot prove it is safe to reorder "
        "floating-point operations\n"
        "remark: k.py:12:3: loop not vectorized\n"
        "remark: k.py:20:5: vectorized loop (vectorization width: 8, interleaved count: 4)\n"
    )
    a, b = parse(text)
    assert (a.line, a.vectorized) == (12, False) and "reorder" in a.reason
    assert (b.line, b.vectorized, b.width, b.interleave) == (20, True, 8, 4)
