"""jitperf: Numba kernels with explicit SIMD, in strict, simd and parallel variants.

Every kernel takes ``variant=`` ("auto", "strict", "simd" or "parallel") and,
for transforms, a preallocated ``out=`` that it fills without allocating.
"""

from .alloc import count_allocations
from .kernels.distance import sqeuclidean
from .kernels.elementwise import affine, clip, polyval
from .kernels.histogram import histogram
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
from .kernels.scan import cumsum
from .kernels.stats import Stats, stats
from .kernels.windows import moving_mean, moving_std, moving_sum
from .pool import BufferPool

__version__ = "0.1.0"

__all__ = [
    "BufferPool",
    "affine",
    "clip",
    "cumsum",
    "histogram",
    "moving_mean",
    "moving_std",
    "moving_sum",
    "polyval",
    "sqeuclidean",
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
