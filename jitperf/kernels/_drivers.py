"""Generic drivers: lift a 1-D block kernel to rows, blocks and threads.

A driver walks a 2-D view (rows x n) as rows*nblocks tasks in a ``prange``.
In the strict and simd variants prange is a plain range, and the Python side
passes nblocks=1, so each row is one sequential call of the block kernel.
Bind the block kernel with ``driver.bind(block=...)``.
"""

from numba import prange

from .._compile import kernel

block = None  # bound per use, see Kernel.bind


@kernel()
def span(t, nblocks, n):
    """Task t's row, block and [lo, hi) in a row of n split in nblocks parts.

    The parts differ in size by at most one, so none is empty while n >= nblocks.
    """
    i = t // nblocks
    b = t - i * nblocks
    return i, b, b * n // nblocks, (b + 1) * n // nblocks


@kernel(parallel=True)
def reduce_rows(x, nblocks, state, params):
    """state[i, b] = block(x[i, part b]) for every row i and block b."""
    n = x.shape[1]
    for t in prange(x.shape[0] * nblocks):
        i, b, lo, hi = span(t, nblocks, n)
        block(x[i, lo:hi], state[i, b], params)


@kernel(parallel=True)
def reduce2_rows(x, y, nblocks, state, params):
    """As reduce_rows, over two arrays of the same shape (dot)."""
    n = x.shape[1]
    for t in prange(x.shape[0] * nblocks):
        i, b, lo, hi = span(t, nblocks, n)
        block(x[i, lo:hi], y[i, lo:hi], state[i, b], params)


@kernel(parallel=True)
def map_rows(x, out, nblocks, params):
    """out[i, part b] = block(x[i, part b]): elementwise transforms."""
    n = x.shape[1]
    for t in prange(x.shape[0] * nblocks):
        i, b, lo, hi = span(t, nblocks, n)
        block(x[i, lo:hi], out[i, lo:hi], params)


@kernel(parallel=True)
def window_rows(x, out, nblocks, halo, state, params):
    """As map_rows, but each block also sees the inputs before it.

    x may start ``lead = x.shape[1] - out.shape[1]`` inputs before out's first
    (the tail of a previous chunk); out[i, j] belongs to x[i, lead + j].
    Block b > 0 gets the ``halo`` inputs before it, to warm up its window;
    block 0 gets all ``lead`` ones. ``state[i, b]`` is the block's running
    state: the block resumes from it where it is marked as set (block 0 of
    a chunk that continues another) and leaves its final state there.
    """
    n = out.shape[1]
    lead = x.shape[1] - n
    for t in prange(x.shape[0] * nblocks):
        i, b, lo, hi = span(t, nblocks, n)
        start = -lead if b == 0 else max(lo - halo, -lead)
        block(x[i, lead + start : lead + hi], out[i, lo:hi], state[i, b], params)


@kernel(parallel=True)
def scan_rows(x, out, nblocks, carry, params):
    """As map_rows, but block b of row i also gets carry[i, b:b+1].

    A prefix scan runs in two passes: block totals first (reduce_rows), then
    each block scans its part starting from the exclusive prefix of the totals
    before it, which the caller puts in ``carry``. The block leaves its final
    accumulator there, which is where a next chunk's scan starts.
    """
    n = x.shape[1]
    for t in prange(x.shape[0] * nblocks):
        i, b, lo, hi = span(t, nblocks, n)
        block(x[i, lo:hi], out[i, lo:hi], carry[i, b : b + 1], params)
