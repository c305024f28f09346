"""jitperf: Numba kernels with explicit SIMD, in strict, simd and parallel variants.

Every kernel takes ``variant=`` ("auto", "strict", "simd" or "parallel") and,
for transforms, a preallocated ``out=`` that it fills without allocating.
"""

from .alloc import count_allocations
from .kernels.reductions import (
    argmax,
    argmin,
    dot,
    max,
    mean,
    min,
    nancount,
    nanmax,
    nanmean,
    nanmin,
    nanstd,
    nansum,
    nanvar,
    std,
    sum,
    var,
)
from .kernels.stats import Stats, stats
from .pool import BufferPool

__version__ = "0.1.0"

__all__ = [
    "BufferPool",
    "argmax",
    "argmin",
    "count_allocations",
    "dot",
    "max",
    "mean",
    "min",
    "nancount",
    "nanmax",
    "nanmean",
    "nanmin",
    "nanstd",
    "nansum",
    "nanvar",
    "Stats",
    "stats",
    "std",
    "sum",
    "var",
]
