"""How a public call maps onto the drivers: variant, rows view, block count.

Every kernel sees a 2-D view whose rows it walks; this module builds that
view for an axis without copying, and picks the variant and the number of
parallel blocks for the size at hand.
"""

from __future__ import annotations

import numba
import numpy as np

from . import _compile

# "auto" picks the parallel variant from this input size up. Measured with
# benchmarks/auto_threshold.py on this 2-core machine (float32, medians of 25
# batches): parallel was faster at every size from 1-2 MiB for sum, 512 KiB
# for nanmean, 1 MiB for var and 512 KiB-1 MiB for affine; below that the
# thread launch costs more than the second core gains.
PARALLEL_MIN_BYTES = 1 << 20
# A parallel task gets at least this many elements, so tiny blocks never pay
# the launch cost; rows*nblocks aims at a few tasks per thread for balance.
MIN_BLOCK = 1 << 15
TASKS_PER_THREAD = 4


def variant(name: str, nbytes: int) -> str:
    if name == "auto":
        if nbytes >= PARALLEL_MIN_BYTES and numba.get_num_threads() > 1:
            return "parallel"
        return "simd"
    if name not in _compile.VARIANTS:
        raise ValueError(f"variant: expected one of {_compile.CHOICES}, got {name!r}")
    return name


def nblocks(variant: str, rows: int, n: int) -> int:
    """Blocks per row: 1 unless the parallel variant has work to split."""
    if variant != "parallel" or n == 0:
        return 1
    want = -(-TASKS_PER_THREAD * numba.get_num_threads() // max(rows, 1))
    return int(max(1, min(want, n // MIN_BLOCK)))


def rows(x: np.ndarray, axis):
    """A 2-D view of x whose rows are what a reduction over ``axis`` walks.

    With axis=None the view is one row whenever x's memory allows it without a
    copy; a strided 2-D array stays as its rows, to be merged afterwards. The
    second value is the shape of the result (``()`` for a scalar).
    """
    if axis is None:
        if x.ndim == 1 or x.flags.c_contiguous:
            return x.reshape(1, -1), ()
        if x.flags.f_contiguous:
            return x.T.reshape(1, -1), ()
        return x, ()
    (view,) = along(axis, x)
    return view, view.shape[:1] if x.ndim == 2 else ()


def along(axis: int, *arrays):
    """2-D views of same-shaped arrays whose rows run along ``axis``."""
    if arrays[0].ndim == 1:
        return tuple(a.reshape(1, -1) for a in arrays)
    if axis == 1:
        return arrays
    return tuple(a.T for a in arrays)


def empty(x: np.ndarray, shape, dtype) -> np.ndarray:
    """An output for x: F-ordered when x is F- and not C-contiguous, so that
    both walk the same element order."""
    order = "F" if x.flags.f_contiguous and not x.flags.c_contiguous else "C"
    return np.empty(shape, dtype=dtype, order=order)


def elementwise_rows(*arrays):
    """2-D row views of same-shaped arrays, all in one element order.

    The views are flat (one row) when every array is contiguous in the same
    order; otherwise they keep two dimensions, oriented by the first array so
    that its inner loop runs along its shorter stride.
    """
    first = arrays[0]
    if first.ndim == 1:
        return tuple(a.reshape(1, -1) for a in arrays)
    if all(a.flags.c_contiguous for a in arrays):
        return tuple(a.reshape(1, -1) for a in arrays)
    if all(a.flags.f_contiguous for a in arrays):
        return tuple(a.T.reshape(1, -1) for a in arrays)
    if abs(first.strides[0]) < abs(first.strides[1]):
        return tuple(a.T for a in arrays)
    return arrays
