"""Count the Numba runtime (NRT) allocations that compiled kernels make.

numba allocates a small NRT record to unbox every array argument, so a raw
before/after difference of ``rtsys.get_allocation_stats()`` is never zero.
The counter here subtracts that cost, measured on a no-op with the same
arguments, and reports what the kernels themselves allocated.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numba
from numba.core.runtime import _nrt_python, rtsys

from . import _compile


@numba.njit(cache=False)
def _unbox_only(args):
    return None


@dataclass
class Allocations:
    """What the kernels called inside a ``count_allocations()`` block allocated."""

    calls: int = 0  # compiled kernel calls observed
    allocs: int = 0  # NRT allocations made by those kernels
    frees: int = 0
    unbox_allocs: int = 0  # allocations spent unboxing their arguments, left out above


def _stats():
    s = rtsys.get_allocation_stats()
    return s.alloc, s.free


def measure(fn, args: tuple, kwargs: dict | None = None):
    """(fn(*args, **kwargs), the NRT allocations and frees the call made, the
    allocations numba spent unboxing the arguments, left out of the first two).

    fn must be compiled for these argument types already.
    """
    kwargs = kwargs or {}
    boxed = tuple(args) + tuple(kwargs.values())
    _unbox_only(boxed)  # compiled for these argument types outside the window
    a0, f0 = _stats()
    value = fn(*args, **kwargs)
    a1, f1 = _stats()
    _unbox_only(boxed)
    a2, f2 = _stats()
    unbox = a2 - a1
    return value, (a1 - a0) - unbox, (f1 - f0) - (f2 - f1), unbox


@contextmanager
def count_allocations():
    """Count NRT allocations of the jitperf kernels called inside the block.

    It switches NRT statistics on (``memsys_enable_stats``) and observes every
    compiled call made through jitperf on this thread. Compile the kernel
    before the block: compilation is not part of a call's cost.
    """
    _nrt_python.memsys_enable_stats()
    result = Allocations()
    previous = getattr(_compile._observer, "fn", None)

    def observe(dispatcher, args):
        value, allocs, frees, unbox = measure(dispatcher, args)
        result.calls += 1
        result.unbox_allocs += unbox
        result.allocs += allocs
        result.frees += frees
        return value

    _compile._observer.fn = observe
    try:
        yield result
    finally:
        _compile._observer.fn = previous
