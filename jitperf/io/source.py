"""Inputs as read-only memory maps: .npy files by their header, raw files by
dtype, optional shape and offset.

Only the header is read when a file opens; the data stays on disk until a
kernel touches it. Every problem is an InputError naming the file, raised
before any data is mapped: missing, a directory, unreadable, empty, a
truncated or corrupt header, an object (pickled) dtype, or a size that does
not match the dtype, shape and offset asked for.
"""

from __future__ import annotations

import math
import mmap
import operator
import os
import stat
from dataclasses import dataclass, field

import numpy as np

from .._checks import SUPPORTED
from ..errors import InputError

PAGE = mmap.PAGESIZE
_DTYPES = ", ".join(str(d) for d in SUPPORTED)
# Headers above this are refused (numpy's own default guard is 10000 bytes).
MAX_HEADER = 10_000


def parse_dtype(text, what: str = "--dtype") -> np.dtype:
    """A supported dtype from its numpy name (float32, f4, <i8, ...)."""
    if text is None:
        raise InputError(f"{what}: expected a dtype (one of {_DTYPES})")
    try:
        dt = np.dtype(text)
    except TypeError:
        raise InputError(f"{what}: unknown dtype {text!r} (expected one of {_DTYPES})") from None
    if dt.newbyteorder("=") not in SUPPORTED:
        raise InputError(f"{what}: dtype {dt} is not supported (expected one of {_DTYPES})")
    if not dt.isnative:
        raise InputError(f"{what}: byte order {dt.str} is not this machine's (expected native)")
    return dt


def parse_shape(text, what: str = "--shape") -> tuple[int, ...]:
    """``N`` or ``N,C`` as a tuple; one entry may be -1 (sized from the file)."""
    if isinstance(text, (tuple, list)):
        parts = list(text)
    else:
        parts = [p.strip() for p in str(text).split(",")]
    try:
        shape = tuple(int(p) if isinstance(p, str) else operator.index(p) for p in parts)
    except (TypeError, ValueError):
        raise InputError(f"{what}: expected N or N,C with integers, got {text!r}") from None
    if not 1 <= len(shape) <= 2:
        raise InputError(f"{what}: expected 1 or 2 dimensions, got {len(shape)}")
    if any(s < -1 for s in shape) or shape.count(-1) > 1:
        raise InputError(f"{what}: expected sizes >= 0 (one may be -1), got {text!r}")
    return shape


@dataclass
class Source:
    """One mapped input: ``array`` is a read-only view of the file's data,
    which starts at byte ``offset``."""

    path: str
    array: np.ndarray
    offset: int
    kind: str  # "npy" or "raw"
    _map: mmap.mmap | None = field(default=None, repr=False)

    @property
    def fortran(self) -> bool:
        return self.array.ndim == 2 and not self.array.flags.c_contiguous

    def byte_ranges(self, start: int, stop: int) -> list[tuple[int, int]]:
        """(file offset, length) of the bytes holding rows start:stop (axis 0):
        one run for C order, one per column for Fortran order."""
        a = self.array
        isz = a.itemsize
        if a.ndim == 1 or not self.fortran:
            row = isz * (a.shape[1] if a.ndim == 2 else 1)
            return [(self.offset + start * row, (stop - start) * row)]
        column = a.shape[0] * isz
        return [
            (self.offset + j * column + start * isz, (stop - start) * isz)
            for j in range(a.shape[1])
        ]

    def advise(self, option: int, start: int = 0, stop: int | None = None) -> None:
        """madvise ``option`` over the pages holding rows start:stop."""
        if self._map is None:
            return
        stop = self.array.shape[0] if stop is None else stop
        for begin, length in self.byte_ranges(start, stop):
            lo = begin - begin % PAGE
            hi = min(begin + length, len(self._map))
            if hi > lo:
                self._map.madvise(option, lo, hi - lo)

    def pages(self, start: int, stop: int):
        """uint8 views of one byte in every page that rows start:stop touch
        (the first byte of each page, from the one holding the first row)."""
        views = []
        for begin, length in self.byte_ranges(start, stop):
            if length:
                lo = begin - begin % PAGE
                views.append(np.frombuffer(self._map, np.uint8, begin + length - lo, lo)[::PAGE])
        return views

    def close(self) -> None:
        """Unmap, once no view of the array is left (otherwise the GC will)."""
        self.array = None
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:
                pass  # a view still lives; the map closes with it
            self._map = None


def _check_file(path: str) -> int:
    """The file's size, or an InputError saying why it cannot be an input."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot open ({e.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory, expected a file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied (no read access)")
    if st.st_size == 0:
        raise InputError(f"{path}: empty file")
    return st.st_size


def _npy_header(path: str, f) -> tuple[tuple, bool, np.dtype, int]:
    """(shape, fortran_order, dtype, data offset) from a .npy header."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dt = fmt.read_array_header_1_0(f, max_header_size=MAX_HEADER)
        elif version == (2, 0):
            shape, fortran, dt = fmt.read_array_header_2_0(f, max_header_size=MAX_HEADER)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is not supported")
    except (ValueError, SyntaxError, TypeError, EOFError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{path}: not a valid .npy header ({reason})") from None
    if dt.hasobject:
        raise InputError(f"{path}: object arrays need pickle, which jitperf never loads")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise InputError(f"{path}: not a valid .npy header (shape {shape!r})")
    return shape, fortran, dt, f.tell()


def _sized(path: str, shape, itemsize: int, nbytes: int) -> tuple[int, ...]:
    """``shape`` with its -1 (or, for None, a 1-D shape) sized from nbytes."""
    if shape is None:
        shape = (-1,)
    known = itemsize * math.prod([s for s in shape if s != -1])
    if -1 in shape:
        if known == 0 or nbytes % known:
            what = "the dtype size" if len(shape) == 1 else f"a row of shape {shape}"
            raise InputError(
                f"{path}: {nbytes} bytes of data is not a multiple of {what} ({known} bytes)"
            )
        return tuple(nbytes // known if s == -1 else s for s in shape)
    if known != nbytes:
        raise InputError(
            f"{path}: --shape {','.join(map(str, shape))} needs {known} bytes, "
            f"the file has {nbytes} after the offset"
        )
    return tuple(shape)


def open_input(path, *, dtype=None, shape=None, offset: int = 0) -> Source:
    """Map ``path`` read-only. A ``.npy`` file describes itself; any other
    file is raw data and needs ``dtype`` (``shape`` and ``offset`` optional)."""
    path = os.fspath(path)
    size = _check_file(path)
    is_npy = path.endswith(".npy")
    if is_npy and (dtype is not None or shape is not None or offset):
        raise InputError(
            f"{path}: a .npy file has a header; --dtype, --shape and --offset are for raw files"
        )
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below; the map outlives it)
    except OSError as e:
        raise InputError(f"{path}: cannot open ({e.strerror})") from None
    with f:
        if is_npy:
            shp, fortran, dt, start = _npy_header(path, f)
            try:
                dt = parse_dtype(dt, "dtype")
            except InputError as e:
                raise InputError(f"{path}: {e}") from None
            need = start + dt.itemsize * math.prod(shp)
            if size < need:
                raise InputError(
                    f"{path}: truncated: the header promises {need - start} bytes of data, "
                    f"the file has {size - start}"
                )
        else:
            if dtype is None:
                raise InputError(f"{path}: a raw file needs --dtype (it has no header)")
            dt = parse_dtype(dtype)
            if not isinstance(offset, int) or offset < 0:
                raise InputError(f"--offset: expected a byte count >= 0, got {offset!r}")
            if offset >= size:
                raise InputError(f"{path}: --offset {offset} is past the end ({size} bytes)")
            start, fortran = offset, False
            shp = _sized(
                path, parse_shape(shape) if shape is not None else None, dt.itemsize, size - offset
            )
        if len(shp) not in (1, 2):
            raise InputError(f"{path}: expected a 1-D or 2-D array, got shape {shp}")
        if math.prod(shp) == 0:
            raise InputError(f"{path}: the array has no elements (shape {shp})")
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    order = "F" if fortran else "C"
    arr = np.ndarray(shp, dtype=dt, buffer=m, offset=start, order=order)
    return Source(path, arr, start, "npy" if is_npy else "raw", m)
