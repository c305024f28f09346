"""Bad input: one-line TypeError/ValueError naming the argument, before any kernel runs."""

import numba
import numpy as np
import pytest

import jitperf as jp

REDUCTIONS = ["sum", "mean", "var", "min", "argmax", "nanmean", "nancount", "stats"]
BAD_DTYPES = [
    np.zeros(4, np.complex128),
    np.array([object(), 1], dtype=object),
    np.zeros(4, "datetime64[s]"),
    np.zeros(4, bool),
    np.zeros(4, np.float16),
    np.zeros(4, ">f8"),
]


def assert_clean(excinfo, prefix):
    msg = str(excinfo.value)
    assert msg.startswith(prefix), msg
    assert "\n" not in msg
    assert not isinstance(excinfo.value, numba.core.errors.NumbaError)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("x", BAD_DTYPES, ids=lambda a: str(a.dtype))
def test_unsupported_dtype(name, x):
    with pytest.raises(TypeError) as e:
        getattr(jp, name)(x)
    assert_clean(e, "x: expected ")


@pytest.mark.parametrize("name", REDUCTIONS)
def test_bad_shapes_and_axes(name):
    f = getattr(jp, name)
    with pytest.raises(ValueError) as e:
        f(np.zeros((2, 2, 2)))
    assert_clean(e, "x: expected a 1-D or 2-D array, got 3-D")
    with pytest.raises(ValueError) as e:
        f(np.zeros((2, 2)), axis=2)
    assert_clean(e, "axis: expected None, 0, 1 or -1")
    with pytest.raises(ValueError) as e:
        f(np.zeros(3), axis=1)
    assert_clean(e, "axis: expected None, 0 or -1")
    with pytest.raises(TypeError) as e:
        f(np.zeros(3), axis=0.5)
    assert_clean(e, "axis: ")
    with pytest.raises(ValueError) as e:
        f(np.zeros(3), variant="fast")
    assert_clean(e, "variant: expected one of")
    with pytest.raises(TypeError) as e:
        f("abc")
    assert_clean(e, "x: expected")


def test_lists_are_accepted_like_numpy():
    assert jp.sum([1, 2, 3]) == 6.0
    assert jp.max([[1.5, 2.5]], axis=1)[0] == 2.5
