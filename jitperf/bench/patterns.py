"""The ``alloc`` group of ``jitperf bench``: classic allocation lessons, each timed as a
pair or triple of implementations that compute the same thing, with ns/op, allocs/op and
bytes/op side by side, so that what each allocation costs is in plain view.

What allocs/op counts depends on the kind of row (``Call.kind``):

* ``numpy`` rows (numpy code, jitperf's public functions): array-data allocations, i.e.
  each malloc, calloc or realloc of an array buffer, temporaries included. A counting
  numpy memory handler (``PyDataMem_SetHandler``) is installed for the one measured call;
  its allocation functions are numba cfuncs that count and hand over to numpy's default
  ones. ndarray headers (views) are Python objects, not counted. Added to that: the NRT
  allocations of the jitperf kernels the call runs (``count_allocations``, which leaves
  argument unboxing out). If the handler can't be installed, the count is the numpy
  buffers still alive after the call (its results), temporaries left out: see
  ``numpy_allocation_counter()``.
* ``numba`` rows (a dispatcher of this module): the NRT allocations of the call
  (``jitperf.alloc.measure``), without the records numba makes to unbox the arguments,
  except where the row sets ``unboxing`` (reflected-list-vs-array: there, unboxing is the
  cost being shown, so it is counted). A typed List grows its storage with libc realloc,
  which NRT statistics don't see: such a row counts the List's meminfo and the arrays.
* ``python`` rows (text building): Python heap blocks that were allocated during the call
  and are still alive after it (tracemalloc traces after minus before): the result. The
  temporaries it freed show in bytes/op only. tracemalloc can't count allocation events.

bytes/op is the tracemalloc peak over a call of its own, above what was traced when it
started: Python objects, numpy buffers and NRT memory (numba allocates it with
PyMem_RawMalloc); not a typed List's storage (libc), nor the C stack.
"""

from __future__ import annotations

import ctypes
import functools
import io
import tracemalloc
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numba
import numpy as np
from numba.core.errors import NumbaPendingDeprecationWarning
from numba.core.runtime import _nrt_python
from numba.typed import List

import jitperf

from ..alloc import count_allocations, measure
from . import stats as S
from .harness import NUMPY_DOMAIN, Row, timed

# elements of the main array (or items, or lines) of each pattern: (full run, quick)
SIZES = {
    "alloc-vs-out-vs-pool": (100_000, 10_000),
    "append-vs-prealloc-vs-typed-list": (10_000, 1_000),
    "temporaries-vs-fused": (100_000, 10_000),
    "reflected-list-vs-array": (100_000, 10_000),
    "text-concat-vs-join-vs-stringio": (1_000, 1_000),
}


@dataclass
class Call:
    """What a pattern's setup returns: ``fn()`` is the call timed. Rows of compiled
    code carry their ``dispatcher`` and ``args`` (``fn`` calls it with them), so that
    its NRT allocations can be measured; ``unboxing`` counts those made to unbox the
    arguments too. ``nbytes``: the bytes the call must read and write (0 if moot)."""

    fn: Callable[[], object]
    kind: str = "numpy"  # "numpy", "numba" or "python": see the module docstring
    dispatcher: object = None
    args: tuple = ()
    unboxing: bool = False
    nbytes: int = 0


def _numba(dispatcher, *args, unboxing=False, nbytes=0) -> Call:
    return Call(
        lambda: dispatcher(*args), "numba", dispatcher, args, unboxing=unboxing, nbytes=nbytes
    )


def _arrays(n: int, k: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.random(n) for _ in range(k)]


# -- alloc-vs-out-vs-pool: a result allocated per call, an out= buffer, a BufferPool.
# variant="simd" on all three: one thread, so that they differ in allocation only.


def _affine_alloc(n):
    (x,) = _arrays(n, 1)
    return Call(lambda: jitperf.affine(x, 2.0, 1.0, variant="simd"), nbytes=16 * n)


def _affine_out(n):
    (x,) = _arrays(n, 1)
    out = np.empty_like(x)
    return Call(lambda: jitperf.affine(x, 2.0, 1.0, out=out, variant="simd"), nbytes=16 * n)


def _affine_pool(n):
    (x,) = _arrays(n, 1)
    pool = jitperf.BufferPool()

    def call():
        with pool.borrow(x.shape, x.dtype) as buf:
            jitperf.affine(x, 2.0, 1.0, out=buf, variant="simd")

    return Call(call, nbytes=16 * n)


# -- append-vs-prealloc-vs-typed-list: k values i * 0.5 into an array. np.append copies
# the whole array on every item; np.empty is one allocation; a typed List, filled in
# @njit, grows by amortized doubling and is copied into an array once, in the same call.


def _np_append(k):
    def call():
        out = np.empty(0)
        for i in range(k):
            out = np.append(out, i * 0.5)
        return out

    return Call(call)


def _prealloc(k):
    def call():
        out = np.empty(k)
        for i in range(k):
            out[i] = i * 0.5
        return out

    return Call(call)


@numba.njit(cache=True)
def _fill_typed_list(k):
    items = List()
    for i in range(k):
        items.append(i * 0.5)
    out = np.empty(len(items))
    for i in range(len(items)):
        out[i] = items[i]
    return out


def _typed_list(k):
    return _numba(_fill_typed_list, k)


# -- temporaries-vs-fused: a * b + c * d - e. numpy makes a temporary array per
# operation (it elides some for large inputs); the kernel makes one pass into out.


def _numpy_expr(n):
    a, b, c, d, e = _arrays(n, 5)
    return Call(lambda: a * b + c * d - e, nbytes=48 * n)


@numba.njit(cache=True, fastmath={"contract"})
def _fused_kernel(a, b, c, d, e, out):
    for i in range(out.shape[0]):
        out[i] = a[i] * b[i] + c[i] * d[i] - e[i]
    return out


def _fused(n):
    a, b, c, d, e = _arrays(n, 5)
    return _numba(_fused_kernel, a, b, c, d, e, np.empty(n), nbytes=48 * n)


# -- reflected-list-vs-array: the same kernel over a Python list of floats (numba
# unboxes it into a fresh native list on every call, and reflects it back) and over
# an ndarray (unboxed as a view of its buffer).


@numba.njit(cache=True)
def _total(xs):
    s = 0.0
    for i in range(len(xs)):
        s += xs[i]
    return s


def _reflected_list(n):
    (x,) = _arrays(n, 1)
    return _numba(_total, x.tolist(), unboxing=True, nbytes=8 * n)


def _ndarray(n):
    (x,) = _arrays(n, 1)
    return _numba(_total, x, unboxing=True, nbytes=8 * n)


# -- text-concat-vs-join-vs-stringio: a report of k lines. CPython resizes a str that
# nothing else references in place on +=, which is what keeps the first one linear.


def _report_rows(k):
    rng = np.random.default_rng(0)
    names = ("alpha", "beta", "gamma", "delta")
    return [(i, float(v), names[i % 4]) for i, v in enumerate(rng.random(k))]


def _concat(k):
    rows = _report_rows(k)

    def call():
        text = ""
        for i, v, name in rows:
            text += f"{i:6d} {v:14.6f} {name}\n"
        return text

    return Call(call, "python")


def _join(k):
    rows = _report_rows(k)

    def call():
        parts = []
        for i, v, name in rows:
            parts.append(f"{i:6d} {v:14.6f} {name}\n")
        return "".join(parts)

    return Call(call, "python")


def _stringio(k):
    rows = _report_rows(k)

    def call():
        buf = io.StringIO()
        for i, v, name in rows:
            buf.write(f"{i:6d} {v:14.6f} {name}\n")
        return buf.getvalue()

    return Call(call, "python")


PATTERNS: dict[str, list[tuple[str, Callable[[int], Call]]]] = {
    "alloc-vs-out-vs-pool": [
        ("alloc", _affine_alloc), ("out", _affine_out), ("pool", _affine_pool),
    ],
    "append-vs-prealloc-vs-typed-list": [
        ("np.append", _np_append), ("prealloc", _prealloc), ("typed-list", _typed_list),
    ],
    "temporaries-vs-fused": [("numpy-expr", _numpy_expr), ("fused", _fused)],
    "reflected-list-vs-array": [("reflected-list", _reflected_list), ("array", _ndarray)],
    "text-concat-vs-join-vs-stringio": [
        ("concat", _concat), ("join", _join), ("stringio", _stringio),
    ],
}  # fmt: skip


# -- counting numpy's array-data allocations


class _Allocator(ctypes.Structure):  # PyDataMemAllocator
    _fields_ = [(f, ctypes.c_void_p) for f in ("ctx", "malloc", "calloc", "realloc", "free")]


class _Handler(ctypes.Structure):  # PyDataMem_Handler, version 1
    _fields_ = [
        ("name", ctypes.c_char * 127),
        ("version", ctypes.c_uint8),
        ("allocator", _Allocator),
    ]


_SET_HANDLER, _GET_HANDLER = 304, 305  # slots of numpy's C-API table (numpy >= 1.22)


class NumpyAllocationCounter:
    """A numpy memory handler that counts array-data allocations while ``counting()``.

    Its malloc, calloc and realloc are numba cfuncs that add one to a counter and call
    numpy's default functions; free is numpy's default free itself, so that arrays made
    under it can be freed whenever they die. The handler, its name and the counter live
    in memory that is never freed: such arrays keep pointing at them. One thread only.
    """

    def __init__(self):
        try:
            from numpy._core import _multiarray_umath as umath
        except ImportError:  # numpy < 2
            from numpy.core import _multiarray_umath as umath
        # prototypes of their own: setting restype on ctypes.pythonapi's would be global
        api, vp, obj = ctypes.pythonapi, ctypes.c_void_p, ctypes.py_object
        get_pointer = ctypes.PYFUNCTYPE(vp, obj, ctypes.c_char_p)(("PyCapsule_GetPointer", api))
        new_capsule = ctypes.PYFUNCTYPE(obj, vp, vp, vp)(("PyCapsule_New", api))
        raw = ctypes.PYFUNCTYPE(vp, ctypes.c_size_t)(("PyMem_RawMalloc", api))
        table = ctypes.cast(get_pointer(umath._ARRAY_API, None), ctypes.POINTER(ctypes.c_void_p))
        self._set = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.py_object)(table[_SET_HANDLER])
        current = ctypes.PYFUNCTYPE(ctypes.py_object)(table[_GET_HANDLER])()
        default = _Handler.from_address(get_pointer(current, b"mem_handler"))
        if default.name != b"default_allocator" or default.version != 1 or default.allocator.ctx:
            raise RuntimeError(f"numpy memory handler {default.name!r}: not the default one")
        alloc = default.allocator
        self._cfuncs = _counting_cfuncs(alloc.malloc, alloc.calloc, alloc.realloc)
        counter, name, struct = raw(8), raw(16), raw(ctypes.sizeof(_Handler))
        if not (counter and name and struct):
            raise MemoryError("numpy allocation counter")
        ctypes.memmove(name, b"mem_handler\0", 12)
        self._count = (ctypes.c_int64 * 1).from_address(counter)
        self._count[0] = 0
        h = _Handler.from_address(struct)
        h.name, h.version = b"jitperf_counting", 1
        h.allocator.ctx = counter
        h.allocator.malloc, h.allocator.calloc, h.allocator.realloc = (
            c.address for c in self._cfuncs
        )
        h.allocator.free = alloc.free
        self._capsule = new_capsule(struct, name, None)

    @property
    def count(self) -> int:
        return int(self._count[0])

    @contextmanager
    def counting(self):
        """Count numpy's array-data allocations in the block (``self.count``)."""
        self._count[0] = 0
        previous = self._set(self._capsule)
        try:
            yield self
        finally:
            self._set(previous)


def _counting_cfuncs(malloc, calloc, realloc):
    from numba import types

    c_void_p, c_size_t = ctypes.c_void_p, ctypes.c_size_t
    d_malloc = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_size_t)(malloc)
    d_calloc = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_size_t, c_size_t)(calloc)
    d_realloc = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_size_t)(realloc)
    vp, size = types.voidptr, types.uintp

    # numpy's default functions ignore ctx (checked to be NULL), so passing ours is safe
    @numba.cfunc(vp(vp, size))
    def count_malloc(ctx, n):
        numba.carray(ctx, 1, np.int64)[0] += 1
        return d_malloc(ctx, n)

    @numba.cfunc(vp(vp, size, size))
    def count_calloc(ctx, n, itemsize):
        numba.carray(ctx, 1, np.int64)[0] += 1
        return d_calloc(ctx, n, itemsize)

    @numba.cfunc(vp(vp, vp, size))
    def count_realloc(ctx, p, n):
        numba.carray(ctx, 1, np.int64)[0] += 1
        return d_realloc(ctx, p, n)

    return count_malloc, count_calloc, count_realloc


@functools.cache
def numpy_allocation_counter() -> NumpyAllocationCounter | None:
    """The counter (built on first use), or None where numpy's handler can't be set:
    then numpy rows count the buffers alive after the call instead."""
    try:
        return NumpyAllocationCounter()
    except Exception:  # an unknown numpy C-API layout, no ctypes.pythonapi, ...
        return None


# -- measuring one call


@contextmanager
def _tracing():
    """tracemalloc on for the block, unless it traces already (then left on)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        yield
    finally:
        if started:
            tracemalloc.stop()


def _alive_blocks(call: Call, numpy_domain: bool) -> int:
    """Blocks allocated by one call and alive after it: numpy's domain, or the rest."""
    flt = [tracemalloc.DomainFilter(numpy_domain, NUMPY_DOMAIN)]
    with _tracing():
        before = len(tracemalloc.take_snapshot().filter_traces(flt).traces)
        result = call.fn()
        after = len(tracemalloc.take_snapshot().filter_traces(flt).traces)
        del result
    return max(0, after - before)


def _counts(call: Call, counter) -> int:
    """numpy's array-data allocations plus NRT allocations of one call."""
    with counter.counting() if counter else _nothing():
        if call.dispatcher is not None:
            result, nrt, _, unbox = measure(call.dispatcher, call.args)
            nrt += unbox if call.unboxing else 0
        else:
            with count_allocations() as jit:
                result = call.fn()
            nrt = jit.allocs
    del result
    return (counter.count if counter else _alive_blocks(call, numpy_domain=True)) + nrt


def _peak_bytes(call: Call) -> int:
    with _tracing():
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call.fn()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    return max(0, peak)


def _allocations(call: Call) -> tuple[float, float]:
    """(allocs, bytes) per call, as the module docstring defines them, each from a call
    of its own."""
    if call.kind == "python":
        # the least of two: the first tracemalloc session can leave blocks of its own
        allocs = min(_alive_blocks(call, numpy_domain=False) for _ in range(2))
    else:
        counter = numpy_allocation_counter()
        _nrt_python.memsys_enable_stats()
        # once to compile what the counting calls (jitperf.alloc's unboxing probe for
        # these argument types), so that the counted call below allocates only its own
        _counts(call, counter)
        allocs = _counts(call, counter)
    return float(allocs), float(_peak_bytes(call))


@contextmanager
def _nothing():
    yield


def run_patterns(*, repeat: int = 11, quick: bool = False, progress=None) -> list[Row]:
    """Time every pattern's implementations round-robin (``repeat`` rounds, after the
    first call, timed as the compile, and a warm-up), then measure one more call's
    allocations. ``progress(row)`` is called as each row finishes."""
    rows = []
    with warnings.catch_warnings():
        # the reflected list is the point of one pattern: numba's warning about it is not
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        for name, impls in PATTERNS.items():
            n = SIZES[name][1 if quick else 0]
            calls = {impl: setup(n) for impl, setup in impls}
            compile_s, times = timed({k: c.fn for k, c in calls.items()}, repeat)
            for impl, call in calls.items():
                ts = times[impl]
                allocs, bpo = _allocations(call)
                row = Row(
                    kernel=name, impl=impl, dtype="float64", n=n, bytes=call.nbytes, flops=0,
                    compile_s=compile_s[impl], times_s=ts, min_s=min(ts), median_s=S.median(ts),
                    iqr_s=S.iqr(ts), gbps=0.0, gflops=0.0, limit_frac=None,
                    allocs_per_op=allocs, bytes_per_op=bpo, threads="1", bound="memory",
                )  # fmt: skip
                rows.append(row)
                if progress is not None:
                    progress(row)
    return rows
