"""Sample inputs for demos, tests and benchmarks, written in chunks.

The data is generated block by block (BLOCK elements, block k seeded by
(seed, k)), so a file never passes through memory whole and its contents
depend only on the arguments, not on the chunk size. A ``.npy`` path gets a
header; any other path gets raw bytes.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from ..errors import InputError
from .output import AtomicFile, npy_header
from .source import parse_dtype, parse_shape

BLOCK = 1 << 20
DISTS = ("normal", "uniform")


def _block(dt: np.dtype, n: int, dist: str, nan_fraction: float, rng) -> np.ndarray:
    """n values: normal N(0, 1) or uniform [0, 1) for floats, drawn in the
    dtype itself (a float64 draw rounded to float32 can reach 1.0); for
    integers N(0, 1) * 100 rounded, or uniform over [0, 100), clipped to dt."""
    if dt.kind == "f":
        if dist == "normal":
            v = rng.standard_normal(n, dtype=dt)
        else:
            v = rng.random(n, dtype=dt)
        if nan_fraction:
            v[rng.random(n) < nan_fraction] = np.nan
        return v
    if dist == "normal":
        v = np.rint(rng.standard_normal(n) * 100)
    else:
        v = rng.integers(0, 100, n)
    info = np.iinfo(dt)
    return np.clip(v, info.min, info.max).astype(dt)


def check(dtype, shape, nan_fraction: float, dist: str):
    """The checked (dtype, shape): InputError names the argument at fault."""
    dt = parse_dtype(dtype)
    shp = parse_shape(shape)
    if any(s < 1 for s in shp):
        raise InputError(f"--shape: expected sizes >= 1, got {','.join(map(str, shp))}")
    if math.prod(shp) * dt.itemsize > sys.maxsize:
        raise InputError(f"--shape: {','.join(map(str, shp))} is more than a file can hold")
    if dist not in DISTS:
        raise InputError(f"--dist: expected one of {', '.join(DISTS)}, got {dist!r}")
    if not 0.0 <= nan_fraction <= 1.0:
        raise InputError(f"--nan-fraction: expected a fraction in [0, 1], got {nan_fraction}")
    if nan_fraction and dt.kind != "f":
        raise InputError(f"--nan-fraction: NaN needs a float dtype, got {dt}")
    return dt, shp


def generate(
    path,
    dtype,
    shape,
    *,
    nan_fraction: float = 0.0,
    seed: int = 0,
    dist: str = "normal",
    fortran: bool = False,
    force: bool = False,
    progress=None,
) -> str:
    """Write a sample array to ``path`` (.npy, or raw bytes otherwise).

    ``progress(nbytes)`` is called after each block written. ``fortran``
    writes a Fortran-ordered .npy (the data order; the values are the same
    stream). Returns the path.
    """
    path = os.fspath(path)
    dt, shp = check(dtype, shape, nan_fraction, dist)
    total = math.prod(shp)
    is_npy = path.endswith(".npy")
    if fortran and not is_npy:
        raise InputError(f"{path}: --fortran needs a .npy path (raw files have no order)")
    with AtomicFile(path, force=force) as out:
        header = npy_header(shp, dt, fortran) if is_npy else b""
        out.reserve(len(header) + total * dt.itemsize)
        out.write(header)
        for k, start in enumerate(range(0, total, BLOCK)):
            rng = np.random.default_rng([seed, k])
            data = _block(dt, min(BLOCK, total - start), dist, nan_fraction, rng)
            out.write(data)
            if progress is not None:
                progress(data.nbytes)
        return out.commit()
