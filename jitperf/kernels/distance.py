"""Pairwise squared Euclidean distances, as scipy's cdist(a, b, "sqeuclidean").

The kernel takes b transposed, (d, m), and vectorizes across the outputs of a
row: for four features at a time it adds (a[i, k] - b[j, k])**2 to a tile of
out[i, :] for every column j of the tile. No horizontal sums, and the direct
(a - b)**2 form keeps full accuracy for near points (the ||a||^2 + ||b||^2 -
2ab form cancels). Tasks are tiles of (rows of a) x (columns of out), so the
tile of b stays in cache while the rows of a pass over it.

fastmath: REDUCE. The j loop vectorizes without reassoc (its iterations are
independent); contract makes the squares and adds FMAs.

dtype: float32 when a and b are both float32, float64 otherwise (scipy computes
in float64 always).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from .. import _checks, _plan
from .._compile import REDUCE, kernel

# Rows of a and columns of out per task. A tile of b^T is d x JT: for d = 64
# float32, 256 KiB, held in L2 while the IB rows pass over it. Measured on
# 4096 x 4096 x 64 float32 (simd, one core): JT = 128 gave 24 GFLOP/s (two
# vector iterations per inner loop), JT = 1024 about 80; IB = 16 beat 4, 32, 64.
IB = 16
JT = 1024
# "auto" goes parallel from this many multiply-adds (n*m*d) up: about 1 ms of
# one core, well above the cost of waking the threads.
PARALLEL_MIN_WORK = 1 << 24


@kernel(REDUCE, parallel=True)
def _sqeuclidean(a, bt, out):
    n, d = a.shape
    m = bt.shape[1]
    nti = (n + IB - 1) // IB
    ntj = (m + JT - 1) // JT
    for task in prange(nti * ntj):
        ti = task // ntj
        tj = task - ti * ntj
        j0 = tj * JT
        j1 = min(j0 + JT, m)
        for i in range(ti * IB, min(ti * IB + IB, n)):
            o = out[i, j0:j1]
            ai = a[i]
            w = o.shape[0]
            for j in range(w):
                o[j] = 0
            k = 0
            # Four features per pass over the tile: each pass loads and
            # stores o once for four FMAs per element.
            while k + 4 <= d:
                a0 = ai[k]
                a1 = ai[k + 1]
                a2 = ai[k + 2]
                a3 = ai[k + 3]
                b0 = bt[k, j0:j1]
                b1 = bt[k + 1, j0:j1]
                b2 = bt[k + 2, j0:j1]
                b3 = bt[k + 3, j0:j1]
                for j in range(w):
                    e0 = a0 - b0[j]
                    e1 = a1 - b1[j]
                    e2 = a2 - b2[j]
                    e3 = a3 - b3[j]
                    o[j] += e0 * e0 + e1 * e1 + e2 * e2 + e3 * e3
                k += 4
            while k < d:
                a0 = ai[k]
                b0 = bt[k, j0:j1]
                for j in range(w):
                    e0 = a0 - b0[j]
                    o[j] += e0 * e0
                k += 1


def _work_variant(variant: str, work: int) -> str:
    if variant == "auto":
        if work >= PARALLEL_MIN_WORK and numba.get_num_threads() > 1:
            return "parallel"
        return "simd"
    return _plan.variant(variant, 0)


def sqeuclidean(a, b, *, out=None, variant="auto"):
    """Squared Euclidean distances between the rows of a (n, d) and b (m, d).

    Returns out (n, m) with out[i, j] = sum_k (a[i, k] - b[j, k])**2, in
    float32 when a and b are both float32 and in float64 otherwise. Inputs of
    another dtype or layout are converted once, an O((n + m) d) copy next to
    the O(n m d) work; so is b, transposed.
    """
    a = _checks.array(a, "a", ndims=(2,))
    b = _checks.array(b, "b", ndims=(2,))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"b: expected {a.shape[1]} columns to match a, got {b.shape[1]}")
    dt = np.dtype(np.float32 if a.dtype == b.dtype == np.float32 else np.float64)
    n, m, d = a.shape[0], b.shape[0], a.shape[1]
    if out is None:
        out = np.empty((n, m), dtype=dt)
    else:
        out = _checks.out(out, (n, m), dt)
        for name, x in (("a", a), ("b", b)):
            if _checks.overlaps(out, x):
                raise ValueError(
                    f"out: expected memory apart from {name}, got one that overlaps it"
                )
    v = _work_variant(variant, n * m * d)
    if n == 0 or m == 0:
        return out
    if not out.flags.c_contiguous and out.flags.f_contiguous:
        # out.T is C-ordered and holds the distances from b's rows to a's
        a, b, target = b, a, out.T
    else:
        target = out
    ac = np.ascontiguousarray(a, dtype=dt)
    bt = np.ascontiguousarray(b.T, dtype=dt)
    if target.flags.c_contiguous:
        _sqeuclidean(v, ac, bt, target)
    else:
        tmp = np.empty(target.shape, dtype=dt)
        _sqeuclidean(v, ac, bt, tmp)
        target[...] = tmp
    return out
