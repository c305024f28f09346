"""Run a block reduction over an axis, then merge the per-block states.

A reduction is a block kernel that writes a small state vector for its slice
(a sum, a count, moments, an extreme). reduce() runs it through the row
driver; the merges below combine the blocks' states (numpy ufuncs, or a
compiled Chan merge for moments), and the public functions turn the merged
state into numpy-shaped results.
"""

from __future__ import annotations

import numpy as np

from .. import _checks, _plan
from .._compile import REDUCE, Kernel, kernel
from . import _drivers


def driver(block: Kernel, two_inputs: bool = False) -> Kernel:
    """The row driver bound to ``block``; bind once, at import."""
    base = _drivers.reduce2_rows if two_inputs else _drivers.reduce_rows
    return base.bind(block=block)


class Partials:
    """The per-block states of one reduction call, before merging.

    ``state`` has shape (rows, nblocks, k); ``view`` is the 2-D rows view that
    was reduced and ``shape`` the shape of the final result.
    """

    __slots__ = ("state", "view", "shape", "nblocks", "x")

    def __init__(self, state, view, shape, nblocks, x):
        self.state = state
        self.view = view
        self.shape = shape
        self.nblocks = nblocks
        self.x = x

    def flat(self) -> np.ndarray:
        """The states as (outputs, blocks, k): rows fold into one for axis=None."""
        if self.shape == () and self.state.shape[0] != 1:
            return self.state.reshape(1, -1, self.state.shape[2])
        return self.state

    def count(self) -> int:
        """Elements reduced into each output."""
        n = self.x.size
        outputs = int(np.prod(self.shape)) if self.shape else 1
        return n // outputs if outputs else 0


def reduce(
    drv: Kernel,
    x,
    axis,
    variant: str,
    k: int,
    state_dtype=np.float64,
    *,
    y=None,
    nonempty: str | None = None,
    params=(),
) -> Partials:
    """Check the arguments, run ``drv`` and return the unmerged block states.

    ``nonempty`` names the reduction that has no identity (min, argmax, ...):
    an empty input then raises ValueError as numpy does.
    """
    x = _checks.array(x)
    ax = _checks.axis(axis, x.ndim)
    view, shape = _plan.rows(x, ax)
    if nonempty and (x.size == 0 if ax is None else view.shape[1] == 0):
        raise ValueError(f"x: {nonempty} of an empty array has no value (numpy raises too)")
    v = _plan.variant(variant, x.nbytes)
    nb = _plan.nblocks(v, view.shape[0], view.shape[1])
    state = np.empty((view.shape[0], nb, k), dtype=state_dtype)
    if y is None:
        drv(v, view, nb, state, params)
    else:
        drv(v, view, y.reshape(1, -1), nb, state, params)
    return Partials(state, view, shape, nb, x)


def result(values: np.ndarray, shape):
    """Per-output values shaped as numpy shapes the result (a scalar for ())."""
    if shape == ():
        return values.reshape(())[()]
    return values.reshape(shape)


# Merges over the blocks axis (axis 1) of (rows, blocks, k) states.


def merge_add(state: np.ndarray) -> np.ndarray:
    return state.sum(axis=1)


def merge_with(ufunc):
    """A merge over blocks by a numpy ufunc's reduce (minimum, fmin, ...)."""

    def merge(state: np.ndarray) -> np.ndarray:
        return ufunc.reduce(state, axis=1)

    return merge


@kernel(REDUCE)
def chan(na, ma, m2a, nb, mb, m2b):
    """Chan et al.: merge (count, mean, M2) of two disjoint parts; na+nb > 0."""
    n = na + nb
    delta = mb - ma
    return n, ma + delta * nb / n, m2a + m2b + delta * delta * na * nb / n


@kernel(REDUCE)
def _merge_moments(state, cols, out):
    c, m, m2 = cols
    for i in range(state.shape[0]):
        n, mean, ss = 0.0, 0.0, 0.0
        for b in range(state.shape[1]):
            k = state[i, b, c]
            if k > 0:  # an empty part adds nothing, whatever its mean says
                n, mean, ss = chan(n, mean, ss, k, state[i, b, m], state[i, b, m2])
        out[i, c] = n
        out[i, m] = mean
        out[i, m2] = ss


def merge_moments(state: np.ndarray, c: int = 0, m: int = 1, m2: int = 2) -> np.ndarray:
    """(rows, k): the other columns of block 0, with (count, mean, M2) merged.

    Compiled, because a numpy merge cost more than the kernel itself for
    parallel calls on a few MiB (about 80 us of Python per call).
    """
    out = state[:, 0, :].copy()
    _merge_moments("simd", np.ascontiguousarray(state, dtype=np.float64), (c, m, m2), out)
    return out


class Reduction:
    """One reduction, split as chunked and distributed runs need it.

    ``partial(x, ax, variant, **kw)`` runs the kernel and returns the
    unmerged states ``(outputs, parts, ...)`` and the result shape; ``merge``
    folds the parts axis (axis 1) away; ``finish(state, shape, dtype, **kw)``
    turns merged states into the public result. A part's merged state is
    small, and the states of consecutive parts stack (``combine``) and merge
    again, so a chunked run merges what an in-memory call would, in two
    levels instead of one. The in-memory function is
    ``finish(*chunk(x, axis))``.
    """

    def __init__(self, name: str, partial, merge, finish):
        self.name = name
        self.partial = partial
        self.merge = merge
        self._finish = finish

    def chunk(self, x, axis=None, variant: str = "auto", **kw):
        """(merged state, result shape) of one part; kw as ``partial`` takes it."""
        x = _checks.array(x)
        ax = _checks.axis(axis, x.ndim)
        state, shape = self.partial(x, ax, variant, **kw)
        return self.merge(state), shape

    def combine(self, states):
        """The merged state of consecutive parts, given in order."""
        return self.merge(np.stack(states, axis=1))

    def finish(self, state, shape, dtype, **kw):
        return self._finish(state, shape, np.dtype(dtype), **kw)

    def __call__(self, x, axis=None, variant: str = "auto", **kw):
        x = _checks.array(x)
        state, shape = self.chunk(x, axis, variant)
        return self.finish(state, shape, x.dtype, **kw)

    def __repr__(self):
        return f"Reduction({self.name!r})"
