"""What the lazy API and the file engine share: a Reduction's tree over per-block
states (da.reduction with concatenate=False), the carries of a chunked cumsum,
and the join of a reduction's output blocks into one result.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import dask.array as da
import numpy as np

from ..batch.kernels import lookup
from ..kernels import scan
from ..kernels.reductions import SUM
from ..kernels.stats import Stats


def reduction(name: str):
    """The Reduction behind kernel ``name``, looked up where it runs: tasks
    carry the name, as a Reduction's closures over compiled kernels do not
    pickle."""
    return lookup(name).target


def _flat(parts) -> list:
    # concatenate=False hands over nested lists (one level per reduced axis),
    # or a bare state when only one block is left
    if not isinstance(parts, list):
        return [parts]
    out = []
    for p in parts:
        out.extend(_flat(p))
    return out


def _same(state, axis=None, keepdims=None):
    return state


def _combine(name: str, parts, axis=None, keepdims=None):
    states = _flat(parts)
    return states[0] if len(states) == 1 else reduction(name).combine(states)


def _aggregate(name: str, src_dtype, kw: dict, scalar: bool, parts, axis=None, keepdims=None):
    st = _combine(name, parts)
    return reduction(name).finish(st, () if scalar else (len(st),), src_dtype, **kw)


def tree(states, name: str, axes: tuple, out_dtype, src_dtype, kw: dict, scalar: bool, split_every):
    """Kernel ``name``'s result from ``states``, a dask array whose blocks hold
    merged chunk states (the reduced ``axes`` one block long each): the states
    of neighbouring blocks merge in a tree by the Reduction's own combine(),
    and each output block is finish()ed. ``scalar``: the result is 0-d."""
    out_dtype = np.dtype(out_dtype)
    kept = states.ndim - len(axes)
    return da.reduction(
        states,
        _same,
        partial(_aggregate, name, np.dtype(src_dtype), kw, scalar),
        combine=partial(_combine, name),
        axis=axes,
        dtype=out_dtype,
        split_every=split_every,
        concatenate=False,
        meta=np.empty((0,) * kept, dtype=out_dtype),
        name=f"jitperf-{name}",
    )


def _add(parts, axis=None, keepdims=None):
    return np.sum(_flat(parts), axis=0)


def tree_sum(states, split_every):
    """The sum of a 1-D dask array of same-shaped arrays (histogram counts),
    added in a tree: a 0-d dask array whose one block is the sum."""
    return da.reduction(
        states,
        _same,
        _add,
        axis=0,
        dtype=object,
        split_every=split_every,
        concatenate=False,
        meta=np.empty((), dtype=object),
        name="jitperf-add",
    )


def join(values: list):
    """One result from a reduction's output blocks, in order: a Stats record's
    fields, or the values, concatenated."""
    if len(values) == 1:
        return values[0]
    if isinstance(values[0], Stats):
        return Stats(
            **{
                f.name: np.concatenate([getattr(v, f.name) for v in values])
                for f in dataclasses.fields(Stats)
            }
        )
    return np.concatenate(values)


def acc_dtype(dtype) -> np.dtype:
    """The dtype of cumsum's carry for inputs of ``dtype`` (as cumsum_carry
    returns it)."""
    return scan.cumsum_carry(np.zeros(1, dtype=dtype), variant="strict")[1].dtype


def total(x: np.ndarray, axis, variant: str) -> np.ndarray:
    """The sum of x along ``axis`` (all of it for None) in cumsum's carry dtype:
    float64 by the sum kernel for floats, exact (wrapping) int64/uint64 for
    integers as the scan's own accumulator."""
    acc = acc_dtype(x.dtype)
    if acc.kind == "f":
        return np.asarray(SUM(x, axis, variant))
    return np.asarray(x.sum(axis=axis, dtype=acc))


def carries(totals: np.ndarray, axis: int = 0) -> np.ndarray:
    """Each part's carry: the sum of the totals before it along ``axis``."""
    t = np.moveaxis(np.asarray(totals), axis, 0)
    out = np.zeros_like(t)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, as in x
        np.cumsum(t[:-1], axis=0, out=out[1:])
    return np.moveaxis(out, 0, axis)
