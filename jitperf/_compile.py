"""One kernel source, compiled as the strict, simd and parallel variants.

A :class:`Kernel` wraps a plain Python function. Each variant is the same
function compiled with its own options, and each variant of a kernel calls the
same variant of the kernels it uses: globals that name a Kernel are rebound to
that kernel's variant dispatcher before numba sees the function. Generic
drivers take their per-element work as a bound global (``Kernel.bind``).
"""

from __future__ import annotations

import hashlib
import threading
import types
import weakref
from pathlib import Path

import numba

VARIANTS = ("strict", "simd", "parallel")
CHOICES = VARIANTS + ("auto",)

# fastmath flag sets. Reductions need "reassoc" to vectorize; "contract" allows
# FMA. NaN-aware kernels never get "nnan"/"ninf": they would make `v != v`
# and isnan checks fold to constants.
REDUCE = frozenset({"reassoc", "contract", "nsz", "arcp"})
NAN_SAFE = REDUCE
ELEMENTWISE = frozenset({"contract", "nsz", "arcp"})


def _source_digest() -> str:
    # numba's on-disk cache keys on the function's own file and name only, not
    # on the kernels it calls or on compile flags. Putting a digest of every
    # kernel source into each variant's name keeps a stale cache from ever
    # serving code built from other sources or other options. Only the files
    # kernels are compiled from count: an edit to the CLI or the batch runner
    # does not throw every cached kernel away.
    root = Path(__file__).parent
    h = hashlib.sha256()
    for path in [Path(__file__), *sorted((root / "kernels").glob("*.py"))]:
        h.update(path.read_bytes())
    return h.hexdigest()[:10]


_DIGEST = _source_digest()


class Kernel:
    """A Python function and its lazily compiled variants.

    ``fastmath`` is the flag set of the simd and parallel variants (strict has
    none). ``parallel`` marks a driver whose ``prange`` loops run threaded in
    the parallel variant; helpers called from inside a prange leave it False
    so that they never launch nested parallel regions.
    """

    def __init__(self, py_func, *, fastmath=REDUCE, parallel=False, bindings=None, name=None):
        self.py_func = py_func
        self.fastmath = frozenset(fastmath)
        self.parallel = parallel
        self.bindings = dict(bindings or {})
        self.name = name or py_func.__name__
        self._dispatchers = {}
        self._lock = threading.Lock()

    def __repr__(self):
        return f"<jitperf Kernel {self.name}>"

    def bind(self, **bindings) -> Kernel:
        """A copy of this driver with some of its globals set to other kernels."""
        merged = {**self.bindings, **bindings}
        # Module-qualified: the cache entry is named after this tag, and two
        # modules may both have a block called _sum.
        tag = ",".join(f"{k}={_qualified(v)}" for k, v in sorted(merged.items()))
        return Kernel(
            self.py_func,
            fastmath=self.fastmath,
            parallel=self.parallel,
            bindings=merged,
            name=f"{self.py_func.__name__}[{tag}]",
        )

    def options(self, variant: str) -> dict:
        """The numba.njit options this kernel compiles with in ``variant``."""
        if variant not in VARIANTS:
            raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")
        return {
            "fastmath": set(self.fastmath) if variant != "strict" else False,
            "parallel": self.parallel and variant == "parallel",
            "nogil": True,
            "error_model": "numpy",
        }

    def function(self, variant: str, *, cache: bool = True, overrides=None) -> types.FunctionType:
        """A fresh copy of the Python function, wired to ``variant``'s callees.

        The copy has its own qualified name, so numba's cache gives each
        variant (and each binding) a file of its own. With ``cache=False`` the
        callees are fresh uncached copies too, so that compiling it runs LLVM
        over the whole call tree (as the remarks capture needs); ``overrides``
        are numba options for all of them (the inspector's debug info).
        """
        f = self.py_func
        glb = dict(f.__globals__)
        for key in f.__code__.co_names:  # only the globals this function reads
            value = glb.get(key)
            if isinstance(value, Kernel):
                glb[key] = value.dispatcher(variant, cache=cache, overrides=overrides)
        for key, value in self.bindings.items():
            glb[key] = value.dispatcher(variant, cache=cache, overrides=overrides)
        g = types.FunctionType(f.__code__, glb, f.__name__, f.__defaults__, f.__closure__)
        ident = "".join(c if c.isalnum() else "_" for c in self.name)
        g.__qualname__ = f"{ident}__{variant}__{_DIGEST}"
        g.__module__ = f.__module__
        g.__doc__ = f.__doc__
        return g

    def dispatcher(self, variant: str, *, cache: bool = True, overrides=None):
        """The numba dispatcher of ``variant``, built on first use; with
        ``cache=False`` a fresh one, whose callees are fresh too, compiled
        with ``overrides`` added to the variant's options."""
        if variant == "parallel" and not self.parallel:
            variant = "simd"  # a helper compiles the same either way
        if not cache:
            fresh = self.function(variant, cache=False, overrides=overrides)
            opts = {**self.options(variant), **(overrides or {})}
            d = numba.njit(cache=False, **opts)(fresh)
            _ORIGINS[d] = (self, variant)
            return d
        d = self._dispatchers.get(variant)
        if d is None:
            with self._lock:
                d = self._dispatchers.get(variant)
                if d is None:
                    d = numba.njit(cache=True, **self.options(variant))(self.function(variant))
                    self._dispatchers[variant] = d
                    _ORIGINS[d] = (self, variant)
        return d

    def __call__(self, variant, *args):
        return call(self.dispatcher(variant), args)


# dispatcher -> (Kernel, variant), so that the inspector can compile a fresh
# copy of any dispatcher jitperf made
_ORIGINS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def origin(dispatcher):
    """(Kernel, variant) of a dispatcher jitperf made, or None."""
    try:
        return _ORIGINS.get(dispatcher)
    except TypeError:
        return None


def _qualified(k: Kernel) -> str:
    return f"{k.py_func.__module__.rpartition('.')[2]}.{k.name}"


def kernel(fastmath=REDUCE, parallel=False):
    """Decorator: make a :class:`Kernel` from a plain Python function."""

    def wrap(f):
        return Kernel(f, fastmath=fastmath, parallel=parallel)

    return wrap


# Every compiled call goes through call(), so that an allocation counter can
# tell the kernel's own NRT allocations from those numba makes to unbox its
# array arguments (see jitperf.alloc).
_observer = threading.local()


def call(dispatcher, args):
    obs = getattr(_observer, "fn", None)
    if obs is None:
        return dispatcher(*args)
    return obs(dispatcher, args)
