"""Resolve what a user names into something report() takes.

``resolve(target)`` accepts three forms:

- a jitperf kernel name (any name in ``jitperf.batch.KERNELS``: "nanmean",
  "affine", ...). The public function runs once on a small example of
  ``dtype`` in ``variant`` with an observer on jitperf's compiled calls; the
  call whose arguments hold the most array bytes (the kernel over the data,
  not a merge helper) gives the Kernel and its real arguments.
- ``module:function``: the module is imported and the attribute taken (a
  numba dispatcher, a jitperf Kernel or a plain function, which report()
  compiles with njit).
- ``path/to/file.py:function``: the same, from a file loaded by path.

For the last two the example is a 1-D array of ``dtype`` when the function
takes exactly one argument; otherwise no example can be guessed and a
signature is required (``signature=``, the CLI's ``--signature``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys

import numpy as np
from numba.core.dispatcher import Dispatcher

from .. import _compile
from ..errors import InputError

EXAMPLE_SIZE = 1 << 16  # elements of a kernel's example input
_ROWS, _COLS, _OTHER = 4096, 16, 64  # sqeuclidean: a (4096, 16), b (64, 16)
_USER_SIZE = 1024  # elements of the 1-D example for a user function (only its type matters)

# how each kernel is called on the example x (rng for a second operand);
# any kernel not listed takes f(x, variant=variant)
_CALLS = {
    "dot": lambda f, x, rng, v: f(x, _like(x, rng), variant=v),
    "affine": lambda f, x, rng, v: f(x, 2.0, 1.0, variant=v),
    "polyval": lambda f, x, rng, v: f([1.0, 0.0, -2.0], x, variant=v),
    "clip": lambda f, x, rng, v: f(x, -0.5, 0.5, variant=v),
    "moving_sum": lambda f, x, rng, v: f(x, 8, variant=v),
    "moving_mean": lambda f, x, rng, v: f(x, 8, variant=v),
    "moving_std": lambda f, x, rng, v: f(x, 8, variant=v),
    "histogram": lambda f, x, rng, v: f(x, 10, (0.0, 1.0), variant=v),
    "sqeuclidean": lambda f, x, rng, v: f(
        x.reshape(_ROWS, _COLS), _like(x[: _OTHER * _COLS], rng).reshape(_OTHER, _COLS), variant=v
    ),
}


def _like(x: np.ndarray, rng) -> np.ndarray:
    return rng.random(x.shape).astype(x.dtype)


def _dtype(dtype) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError:
        raise InputError(f"dtype: unknown dtype {dtype!r}") from None


def first_line(e: BaseException) -> str:
    """One line of an exception's message (of numba's, the line with the cause)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    if lines[0].startswith("Failed in") and len(lines) > 1:  # numba: the cause is next
        return lines[1]
    return lines[0]


def kernel_names() -> list[str]:
    from ..batch.kernels import KERNELS

    return list(KERNELS)


def short_name(target: str) -> str:
    """A file-safe name for ``target``: the kernel or function name."""
    name = target.rpartition(":")[2] if ":" in target else target
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name) or "target"


def _array_bytes(args) -> int:
    total = 0
    for a in args:
        if isinstance(a, np.ndarray):
            total += a.nbytes
        elif isinstance(a, tuple):
            total += _array_bytes(a)
    return total


def _kernel(name: str, dtype: np.dtype, variant: str):
    """(Kernel, args) of the call of jitperf's ``name`` over its example."""
    import jitperf

    fn = getattr(jitperf, name)
    rng = np.random.default_rng(0)
    x = rng.random(EXAMPLE_SIZE).astype(dtype)  # in [0, 1): valid for every kernel
    seen = []

    def observe(dispatcher, args):
        seen.append((dispatcher, args))
        return dispatcher(*args)

    previous = getattr(_compile._observer, "fn", None)
    _compile._observer.fn = observe
    try:
        call = _CALLS.get(name, lambda f, x, rng, v: f(x, variant=v))
        call(fn, x, rng, variant)
    except (ValueError, TypeError) as e:  # InputError included; numba's typing errors too
        raise InputError(f"{name}: cannot run on {dtype} ({first_line(e)})") from None
    finally:
        _compile._observer.fn = previous
    found = [(d, a) for d, a in seen if _compile.origin(d) is not None]
    if not found:
        raise InputError(f"{name}: made no compiled call on its example")
    disp, args = max(found, key=lambda da: _array_bytes(da[1]))  # first of the largest
    return _compile.origin(disp)[0], tuple(args)


def _load(target: str, where: str, attr: str):
    """The attribute ``attr`` of a module named or a file given by path."""
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise InputError(f"{target}: no such file {where}")
        stem = os.path.splitext(os.path.basename(path))[0]
        modname = f"_jitperf_inspect_{''.join(c if c.isalnum() else '_' for c in stem)}"
        spec = importlib.util.spec_from_file_location(modname, path)
        if spec is None or spec.loader is None:
            raise InputError(f"{target}: cannot load {where} as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module  # numba and pickling look modules up by name
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            sys.modules.pop(modname, None)
            raise InputError(f"{target}: cannot load {where} ({first_line(e)})") from None
    else:
        # as `python -m` would: the current folder first, for the import only
        added = "" not in sys.path and os.getcwd() not in sys.path
        if added:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(where)
        except Exception as e:
            raise InputError(f"{target}: cannot import {where} ({first_line(e)})") from None
        finally:
            if added:
                sys.path.remove(os.getcwd())
    try:
        return getattr(module, attr)
    except AttributeError:
        raise InputError(f"{target}: {where} has no function {attr!r}") from None


def _py_func(obj):
    if isinstance(obj, Dispatcher):
        return obj.py_func
    if isinstance(obj, _compile.Kernel):
        return obj.py_func
    return obj


def _user(target: str, dtype: np.dtype, signature):
    where, _, attr = target.rpartition(":")
    if not where or not attr:
        raise InputError(f"{target}: expected module:function or path/file.py:function")
    obj = _load(target, where, attr)
    if not isinstance(obj, (Dispatcher, _compile.Kernel)) and not inspect.isfunction(obj):
        raise InputError(
            f"{target}: expected a numba dispatcher or a function, got {type(obj).__name__}"
        )
    if signature is not None:
        return obj, None
    params = inspect.signature(_py_func(obj)).parameters.values()
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) != 1 or len(positional) != len(params):
        raise InputError(
            f"{target}: takes {len(positional)} arguments, not one array: give --signature"
        )
    return obj, (np.zeros(_USER_SIZE, dtype=dtype),)


def resolve(target: str, dtype="float32", variant: str = "simd", *, signature=None):
    """(a dispatcher, Kernel or function, its example args) for ``target``.

    A jitperf kernel name gives the Kernel the public function ran on an
    example of ``dtype`` in ``variant`` and the arguments it ran with; pass
    both (and ``variant``) to report(). A ``module:function`` or
    ``file.py:function`` gives the function and a 1-D example of ``dtype`` if
    it takes one argument, or None for args when ``signature`` is given.
    Raises InputError, naming the target, for anything it cannot resolve.
    """
    dt = _dtype(dtype)
    if ":" in target:
        return _user(target, dt, signature)
    names = kernel_names()
    if target not in names:
        raise InputError(
            f"{target}: unknown target (expected a kernel name such as "
            f"{', '.join(names[:4])}..., module:function or path/file.py:function)"
        )
    if variant not in _compile.VARIANTS:
        raise InputError(
            f"variant: expected one of {', '.join(_compile.VARIANTS)}, got {variant!r}"
        )
    return _kernel(target, dt, variant)
