"""Run a block reduction over an axis, then merge the per-block states.

A reduction is a block kernel that writes a small state vector for its slice
(a sum, a count, moments, an extreme). reduce() runs it through the row
driver and merges the blocks' states with numpy; the public functions turn
the merged state into numpy-shaped results.
"""

from __future__ import annotations

import numpy as np

from .. import _checks, _plan
from .._compile import Kernel
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


# Merges over the blocks axis (axis 1). The tree keeps both the work and the
# rounding at log2(blocks) steps, however many rows axis=None folded in.


def merge_add(state: np.ndarray) -> np.ndarray:
    return state.sum(axis=1)


def tree(state: np.ndarray, pair) -> np.ndarray:
    """Merge (rows, blocks, k) states over blocks with ``pair``, pairwise."""
    while state.shape[1] > 1:
        if state.shape[1] % 2:
            last = state[:, -1:]
            state = np.concatenate([pair(state[:, :-1:2], state[:, 1::2]), last], axis=1)
        else:
            state = pair(state[:, 0::2], state[:, 1::2])
    return state[:, 0]


def chan(a: np.ndarray, b: np.ndarray, c=0, m=1, m2=2) -> np.ndarray:
    """Chan et al.'s pairwise update of (count, mean, M2) columns of a and b."""
    out = a.copy()
    na, nb = a[..., c], b[..., c]
    n = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n > 0, nb / np.where(n > 0, n, 1), 0.0)
        delta = b[..., m] - a[..., m]
        # An empty side contributes nothing, even where its mean is NaN.
        delta = np.where((na > 0) & (nb > 0), delta, 0.0)
        out[..., m] = np.where(na > 0, a[..., m] + delta * frac, b[..., m])
        out[..., m2] = a[..., m2] + b[..., m2] + delta * delta * na * frac
    out[..., c] = n
    return out


def merge_moments(state: np.ndarray) -> np.ndarray:
    return tree(state, chan)


def merge_with(ufunc):
    """A merge over blocks by a numpy ufunc's reduce (minimum, fmin, ...)."""

    def merge(state: np.ndarray) -> np.ndarray:
        return ufunc.reduce(state, axis=1)

    return merge
