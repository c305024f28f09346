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


@kernel(REDUCE)
def _rows4(a, bt, out, i, j0, j1):
    """out[i:i+4, j0:j1]: four rows of a against the tile, two features a pass.

    Each b load serves four rows, and each pass over the tile loads and
    stores every out row once for two features. On 4096 x 4096 x 64 float32,
    one core: 119 GFLOP/s against 92 for one row and four features a pass;
    four rows and four features a pass ran out of registers (the 16 a values
    spilled to the stack, 94 GFLOP/s).
    """
    d = a.shape[1]
    w = j1 - j0
    o0 = out[i, j0:j1]
    o1 = out[i + 1, j0:j1]
    o2 = out[i + 2, j0:j1]
    o3 = out[i + 3, j0:j1]
    for o in (o0, o1, o2, o3):
        for j in range(w):  # one row a loop: four in one stayed scalar
            o[j] = 0
    k = 0
    while k + 2 <= d:
        b0 = bt[k, j0:j1]
        b1 = bt[k + 1, j0:j1]
        a00, a01 = a[i, k], a[i, k + 1]
        a10, a11 = a[i + 1, k], a[i + 1, k + 1]
        a20, a21 = a[i + 2, k], a[i + 2, k + 1]
        a30, a31 = a[i + 3, k], a[i + 3, k + 1]
        for j in range(w):
            u = b0[j]
            v = b1[j]
            e0, f0 = a00 - u, a01 - v
            e1, f1 = a10 - u, a11 - v
            e2, f2 = a20 - u, a21 - v
            e3, f3 = a30 - u, a31 - v
            # one statement: the loop's vector body and its scalar remainder
            # then share a source line, which is how the inspector tells them
            o0[j], o1[j], o2[j], o3[j] = (
                o0[j] + (e0 * e0 + f0 * f0),
                o1[j] + (e1 * e1 + f1 * f1),
                o2[j] + (e2 * e2 + f2 * f2),
                o3[j] + (e3 * e3 + f3 * f3),
            )
        k += 2
    if k < d:
        b0 = bt[k, j0:j1]
        a00, a10, a20, a30 = a[i, k], a[i + 1, k], a[i + 2, k], a[i + 3, k]
        for j in range(w):
            u = b0[j]
            e0, e1, e2, e3 = a00 - u, a10 - u, a20 - u, a30 - u
            o0[j], o1[j], o2[j], o3[j] = (
                o0[j] + e0 * e0,
                o1[j] + e1 * e1,
                o2[j] + e2 * e2,
                o3[j] + e3 * e3,
            )


@kernel(REDUCE)
def _row1(a, bt, out, i, j0, j1):
    """out[i, j0:j1]: one row of a against the tile, four features a pass."""
    d = a.shape[1]
    o = out[i, j0:j1]
    ai = a[i]
    w = o.shape[0]
    for j in range(w):
        o[j] = 0
    k = 0
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


@kernel(REDUCE, parallel=True)
def _sqeuclidean(a, bt, out):
    n = a.shape[0]
    m = bt.shape[1]
    nti = (n + IB - 1) // IB
    ntj = (m + JT - 1) // JT
    for task in prange(nti * ntj):
        ti = task // ntj
        tj = task - ti * ntj
        j0 = tj * JT
        j1 = min(j0 + JT, m)
        i = ti * IB
        i1 = min(i + IB, n)
        while i + 4 <= i1:
            _rows4(a, bt, out, i, j0, j1)
            i += 4
        while i < i1:
            _row1(a, bt, out, i, j0, j1)
            i += 1


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
