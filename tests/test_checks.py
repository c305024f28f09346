"""Bad input: one-line TypeError/ValueError naming the argument, before any kernel runs."""

import numpy as np
import pytest
from _errors import raises_clean

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


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("x", BAD_DTYPES, ids=lambda a: str(a.dtype))
def test_unsupported_dtype(name, x):
    raises_clean(TypeError, "x: expected ", lambda: getattr(jp, name)(x))


@pytest.mark.parametrize("name", REDUCTIONS)
def test_bad_shapes_and_axes(name):
    f = getattr(jp, name)
    raises_clean(
        ValueError, "x: expected a 1-D or 2-D array, got 3-D", lambda: f(np.zeros((2, 2, 2)))
    )
    raises_clean(ValueError, "axis: expected None, 0, 1 or -1", lambda: f(np.zeros((2, 2)), axis=2))
    raises_clean(ValueError, "axis: expected None, 0 or -1", lambda: f(np.zeros(3), axis=1))
    raises_clean(TypeError, "axis: ", lambda: f(np.zeros(3), axis=0.5))
    raises_clean(ValueError, "variant: expected one of", lambda: f(np.zeros(3), variant="fast"))
    raises_clean(TypeError, "x: expected", lambda: f("abc"))


def test_lists_are_accepted_like_numpy():
    assert jp.sum([1, 2, 3]) == 6.0
    assert jp.max([[1.5, 2.5]], axis=1)[0] == 2.5
