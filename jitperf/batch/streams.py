"""How each kind of kernel consumes an input chunk by chunk.

A stream checks its parameters against the whole input when it is made
(InputError names what does not fit), then takes the chunks in order:
``step(a, b, out)`` handles rows a:b of axis 0, writing into ``out``, the
output's rows ``out_span(a, b)``, where the kernel has an output; and
``finish(sink)`` ends the run and returns the value to report.
Reductions keep each chunk's merged state and combine them;
scans and windows carry their state across chunk borders.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..errors import InputError
from ..io import open_input
from ..kernels import histogram as H
from ..kernels import scan, windows
from ..kernels.distance import sqeuclidean
from ..pool import BufferPool

# Chunk states kept before they are combined into one, for axis=None/0.
FOLD = 64


def _checked(call, what: str):
    """Run a library check; its TypeError/ValueError becomes an InputError."""
    try:
        return call()
    except (TypeError, ValueError) as e:
        raise InputError(f"{what}: {e}") from None


class Stream:
    """The common part: the input, its parameters, axis and variant."""

    #: whether the kernel writes an output array (a transform)
    writes = False
    #: False where the kernel's own "auto" knows better than one resolved
    #: for the chunk size (cumsum keeps a single row on one thread)
    resolves_auto = True

    def __init__(self, spec, x: np.ndarray, params: dict, axis, variant: str, name: str):
        self.spec = spec
        self.x = x
        self.params = params
        # The runner resolves "auto" for a whole chunk, so that every chunk
        # (and the probe call that checks the parameters, and compiles) runs
        # the same variant.
        self.variant = variant
        self.name = name  # the input, for messages
        self.axis = _checked(lambda: _checks.axis(self._axis(axis), x.ndim), name)

    def _axis(self, axis):
        return axis

    def output(self):
        """(shape, dtype, fortran) of the output array, or None."""
        return None

    def out_span(self, a: int, b: int):
        """The output rows that input rows a:b fill (None: no output per chunk)."""
        return (a, b) if self.writes else None

    def step(self, a: int, b: int, out) -> None:
        raise NotImplementedError

    def finish(self, sink):
        return None


class Reduce(Stream):
    """Any Reduction: chunk states, combined in order, finished once."""

    def __init__(self, *args):
        super().__init__(*args)
        self.red = self.spec.target
        self.finish_kw = {k: self.params[k] for k in self.spec.finish_params}
        # with axis=1 every chunk's rows are outputs of their own
        self.per_row = self.x.ndim == 2 and self.axis == 1
        _checked(
            lambda: self.red.finish(
                *self.red.chunk(self.x[:1], self.axis, self.variant, **self.chunk_kw(0, 1)),
                self.x.dtype,
                **self.finish_kw,
            ),
            "-p",
        )
        self.states = []
        self.shape = None

    def chunk_kw(self, a: int, b: int) -> dict:
        if self.red.name in ("argmin", "argmax") and not self.per_row:
            row = self.x.shape[1] if self.x.ndim == 2 and self.axis is None else 1
            return {"start": a * row}
        return {}

    def step(self, a, b, out):
        st, self.shape = self.red.chunk(self.x[a:b], self.axis, self.variant, **self.chunk_kw(a, b))
        self.states.append(st)
        if not self.per_row and len(self.states) >= FOLD:
            self.states = [self.red.combine(self.states)]

    def finish(self, sink):
        if self.per_row:
            st, shape = np.concatenate(self.states, axis=0), (self.x.shape[0],)
        else:
            st, shape = self.red.combine(self.states), self.shape
        value = self.red.finish(st, shape, self.x.dtype, **self.finish_kw)
        return self.spec.present(value, self.params)


class Dot(Reduce):
    """dot(x, y) with y a second input of x's length, chunked alongside."""

    def __init__(self, spec, x, params, axis, variant, name):
        self.y = open_input(params["y"]).array
        if x.ndim != 1 or self.y.shape != x.shape:
            raise InputError(
                f"-p y: expected a 1-D input of shape {x.shape} like {name}, got {self.y.shape}"
            )
        super().__init__(spec, x, params, None, variant, name)

    def _axis(self, axis):
        return None

    def chunk_kw(self, a, b):
        return {"y": self.y[a:b]}


class Map(Stream):
    """Elementwise transforms: every chunk maps into the same rows of out."""

    writes = True

    def __init__(self, *args):
        super().__init__(*args)
        probe = _checked(lambda: self.call(self.x[:1], None, self.variant), "-p")
        self.dtype = probe.dtype

    def call(self, x, out, variant):
        return self.spec.target(x, out, variant, self.params)

    def output(self):
        return self.x.shape, self.dtype, self.x.ndim == 2 and not self.x.flags.c_contiguous

    def step(self, a, b, out):
        self.call(self.x[a:b], out, self.variant)


class Cumsum(Stream):
    """cumsum carrying its accumulators from one chunk to the next."""

    writes = True
    resolves_auto = False

    def __init__(self, *args):
        super().__init__(*args)
        self.carry = None
        self.per_row = self.x.ndim == 2 and self.axis == 1

    def output(self):
        shape = (self.x.size,) if self.axis is None else self.x.shape
        fortran = self.axis is not None and self.x.ndim == 2 and not self.x.flags.c_contiguous
        return shape, scan._result_dtype(self.x.dtype), fortran

    def out_span(self, a, b):
        if self.axis is None and self.x.ndim == 2:  # the flat output, in C order
            return a * self.x.shape[1], b * self.x.shape[1]
        return a, b

    def step(self, a, b, out):
        carry = None if self.per_row else self.carry
        _, self.carry = scan.cumsum_carry(
            self.x[a:b], self.axis, carry, out=out, variant=self.variant
        )


class Window(Stream):
    """moving_*: each chunk reads the window-1 inputs before it again."""

    writes = True

    def _axis(self, axis):
        return -1 if axis is None else axis

    def __init__(self, *args):
        super().__init__(*args)
        x, ax = self.x, self.axis
        self.along = x.ndim == 1 or ax == 0  # the window runs across chunks
        self.window = self.params["window"]
        self.ddof = self.params.get("ddof", 0)
        self.carry = None
        probe = x[:1] if self.along else x[:1, :]
        _checked(
            lambda: windows.moving_carry(
                self.spec.target,
                probe,
                self.window,
                ax,
                ddof=self.ddof,
                length=x.shape[ax],
                variant=self.variant,
            ),
            "-p",
        )

    def output(self):
        dt = self.x.dtype if self.x.dtype == np.float32 else np.dtype(np.float64)
        return self.x.shape, dt, self.x.ndim == 2 and not self.x.flags.c_contiguous

    def step(self, a, b, out):
        if not self.along:
            windows.moving(
                self.spec.target,
                self.x[a:b],
                self.window,
                self.axis,
                ddof=self.ddof,
                out=out,
                variant=self.variant,
            )
            return
        lead = min(a, self.window)
        _, self.carry = windows.moving_carry(
            self.spec.target,
            self.x[a - lead : b],
            self.window,
            self.axis,
            self.carry,
            ddof=self.ddof,
            out=out,
            lead=lead,
            length=self.x.shape[self.axis],
            variant=self.variant,
        )


class Histogram(Stream):
    """Counts per chunk, summed; written once at the end."""

    writes = True

    def __init__(self, *args):
        super().__init__(*args)
        self.bins, self.range = self.params["bins"], self.params["range"]
        _checked(lambda: H.histogram(self.x[:1], self.bins, self.range, variant=self.variant), "-p")
        self.pool = BufferPool(max_per_key=1)
        self.counts = np.zeros(self.bins, dtype=np.int64)

    def _axis(self, axis):
        return None

    def output(self):
        return (self.bins,), np.dtype(np.int64), False

    def step(self, a, b, out):
        with self.pool.borrow(self.bins, np.int64) as part:
            H.histogram(self.x[a:b], self.bins, self.range, out=part, variant=self.variant)
            self.counts += part

    def out_span(self, a, b):
        return None  # the counts are written once, at the end

    def finish(self, sink):
        out = sink.region(0, self.bins)
        out[...] = self.counts
        sink.done(0, self.bins, out)


class Distance(Stream):
    """sqeuclidean(x, y): each chunk's rows against all of y (a second input)."""

    writes = True

    def _axis(self, axis):
        return None

    def __init__(self, spec, x, params, axis, variant, name):
        super().__init__(spec, x, params, axis, variant, name)
        self.y = open_input(params["y"]).array
        _checked(lambda: sqeuclidean(x[:1], self.y, variant=variant), "-p y")

    def output(self):
        dt = np.float32 if self.x.dtype == self.y.dtype == np.float32 else np.float64
        return (self.x.shape[0], self.y.shape[0]), np.dtype(dt), False

    def step(self, a, b, out):
        sqeuclidean(self.x[a:b], self.y, out=out, variant=self.variant)
