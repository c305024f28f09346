"""Argument checks shared by every public kernel.

Each check raises TypeError or ValueError with a one-line message that names
the argument and says what was expected, before any compiled code runs.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

SUPPORTED = tuple(
    np.dtype(t)
    for t in (
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
    )
)
_SUPPORTED_NAMES = "float32/64 or (u)int8/16/32/64"


def array(x, name: str = "x", *, ndims=(1, 2)) -> np.ndarray:
    """``x`` as a plain ndarray view (np.memmap included) of a supported dtype."""
    if not isinstance(x, np.ndarray):
        if isinstance(x, (list, tuple, numbers.Number)):
            x = np.asarray(x)
        else:
            raise TypeError(f"{name}: expected a numpy array, got {type(x).__name__}")
    x = np.asarray(x)  # drops ndarray subclasses such as np.memmap, without a copy
    dt = x.dtype
    if dt not in SUPPORTED:
        raise TypeError(f"{name}: expected dtype {_SUPPORTED_NAMES}, got {dt}")
    if not dt.isnative:
        raise TypeError(f"{name}: expected native byte order, got {dt.str}")
    if x.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name}: expected a {want} array, got {x.ndim}-D with shape {x.shape}")
    return x


def axis(value, ndim: int):
    """A normalised axis: None or a non-negative int below ``ndim``."""
    if value is None:
        return None
    try:
        ax = operator.index(value)
    except TypeError:
        raise TypeError(f"axis: expected None or an int, got {type(value).__name__}") from None
    if not -ndim <= ax < ndim:
        allowed = "None, 0 or -1" if ndim == 1 else "None, 0, 1 or -1"
        raise ValueError(f"axis: expected {allowed} for a {ndim}-D array, got {value}")
    return ax % ndim


def integer(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}") from None
    if minimum is not None and v < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name}: expected an int <= {maximum}, got {v}")
    return v


def real(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    return float(value)


def out(out, shape, dtype, name: str = "out", *, x=None, inplace: bool = False) -> np.ndarray:
    """Check a caller's output array: type, shape, dtype, writeable, no overlap with x.

    ``inplace`` allows ``out`` to be exactly ``x`` (the same memory, element for
    element), as elementwise transforms do; any other overlap is refused.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(out).__name__}")
    shape = tuple(shape)
    if out.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {out.shape}")
    if out.dtype != np.dtype(dtype):
        raise TypeError(f"{name}: expected dtype {np.dtype(dtype)}, got {out.dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: expected a writeable array, got a read-only one")
    if x is not None and overlaps(out, x):
        same = (
            out.shape == x.shape
            and out.strides == x.strides
            and out.dtype == x.dtype
            and _data(out) == _data(x)
        )
        if not (inplace and same):
            what = "x itself or memory apart from x" if inplace else "memory apart from x"
            raise ValueError(f"{name}: expected {what}, got an array that overlaps x")
    return np.asarray(out)


def _data(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    if not np.may_share_memory(a, b):
        return False
    try:
        return bool(np.shares_memory(a, b, max_work=100_000))
    except np.exceptions.TooHardError:
        return True  # could not prove them apart: refuse rather than risk it
