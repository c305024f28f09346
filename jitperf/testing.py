"""Test helpers: assert that a kernel's hot loops are (or are not) vector code,
and that a call makes no NRT allocations. The pytest plugin
(jitperf.pytest_plugin) offers them as fixtures of the same names.
"""

from __future__ import annotations

import os
import re

from numba.core import types as nbtypes
from numba.core.dispatcher import Dispatcher
from numba.core.runtime import _nrt_python, rtsys
from numba.core.typing.templates import Signature

from . import _compile
from .alloc import count_allocations, measure
from .inspect.report import report as _report

__all__ = ["assert_no_alloc", "assert_not_vectorized", "assert_vectorized"]

_LOOPS = ("all", "any")
_SUFFIX = re.compile(r"__(?:strict|simd|parallel)__[0-9a-f]{10}$")


def _report_for(target, args_or_signature, variant, cpu, features):
    if isinstance(args_or_signature, (str, Signature)):
        return _report(target, args_or_signature, variant=variant, cpu=cpu, features=features)
    if isinstance(args_or_signature, (tuple, list)):
        items = tuple(args_or_signature)
        if items and all(isinstance(t, nbtypes.Type) for t in items):  # numba types
            return _report(target, items, variant=variant, cpu=cpu, features=features)
        return _report(target, args=items, variant=variant, cpu=cpu, features=features)
    raise TypeError(
        "args_or_signature: expected a tuple or list of example arguments or a "
        f"signature string, got {type(args_or_signature).__name__}"
    )


def _display_name(target, rep, variant) -> str:
    name = rep.name
    if isinstance(target, Dispatcher) and "(" not in name:
        origin = _compile.origin(target)
        if origin is not None:
            name = f"{name} ({variant or origin[1]})"
    return name


def _function(mangled: str) -> str:
    """A readable name for a mangled numba symbol: "_ZN7jitperf7kernels10reductions
    26_moments__simd__0123456789B2v3..." -> "reductions._moments"."""
    parts: list[str] = []
    rest = mangled[3:] if mangled.startswith("_ZN") else ""
    while rest[:1].isdigit():
        digits = re.match(r"\d+", rest)[0]
        n = int(digits)
        parts.append(rest[len(digits) : len(digits) + n])
        rest = rest[len(digits) + n :]
    if not parts:
        return mangled[:60]
    return _SUFFIX.sub("", ".".join(parts[-2:]))


def _explain(rep, min_bits: int, loops: str) -> str:
    """The remark verdicts, the hot loops' vector widths and the advice of a report."""
    out = ["loop vectorizer remarks:"]
    if not rep.loops:
        out.append("  (none)")
    for r in rep.loops:
        where = f"{os.path.basename(r.file) or '?'}:{r.line}"
        if r.vectorized:
            verdict = f"vectorized, width {r.width}, interleave {r.interleave}"
        else:
            verdict = "not vectorized" + (f": {r.reason}" if r.reason else "")
        out.append(f"  {where}: {verdict}")
    lines = rep.vector_lines(min_bits)
    out.append(f"hot loops (vector code means packed arithmetic >= {min_bits} bits):")
    shown = 0
    for h in rep.hot_loops:
        s = h.stats
        if not h.line or not (s.packed or s.scalar_fp):
            continue  # bookkeeping loops: vector_lines() leaves them out too
        shown += 1
        bits = f"{s.vector_bits}-bit" if s.packed else "no"
        out.append(
            f"  line {h.line} in {_function(h.function)}: {bits} packed arithmetic "
            f"({s.packed} packed, {s.scalar_fp} scalar fp, {s.instructions} instructions)"
        )
    if not shown:
        out.append("  (no hot loop with arithmetic on data)")
    verdicts = ", ".join(f"{n}: {'vector' if ok else 'scalar'}" for n, ok in sorted(lines.items()))
    out.append(f"per source line (loops={loops!r}): {verdicts or '(none)'}")
    out.append("advice:")
    out.extend(f"  - {a}" for a in rep.advice or ["(none)"])
    return "\n".join(out)


def _check_loops(loops: str) -> None:
    if loops not in _LOOPS:
        raise ValueError(f"loops: expected one of {_LOOPS}, got {loops!r}")


def assert_vectorized(
    target,
    args_or_signature,
    *,
    min_bits: int = 256,
    loops: str = "all",
    variant=None,
    cpu=None,
    features=None,
):
    """Assert that the hot loops of ``target`` compiled for these types are vector code.

    ``target``: a numba dispatcher, a jitperf Kernel (``variant`` picks the
    variant, simd by default) or a plain function. ``args_or_signature``: a
    tuple or list of example arguments, or a signature string such as
    "float64(float32[::1])". The check is ``Report.vectorized(min_bits,
    loops)``: every hot loop (``loops="all"``) or at least one (``"any"``) runs
    packed arithmetic ``min_bits`` wide or wider. ``cpu`` and ``features``
    compile for another machine (see ``jitperf.inspect.report``).

    Raises AssertionError naming the kernel and signature, with the loop
    vectorizer's verdicts and reasons, the hot loops' vector widths and the
    report's advice. Returns the Report.
    """
    __tracebackhide__ = True
    _check_loops(loops)
    rep = _report_for(target, args_or_signature, variant, cpu, features)
    if not rep.vectorized(min_bits, loops):
        raise AssertionError(
            f"{_display_name(target, rep, variant)} for ({rep.signature}) is not vectorized: "
            f"{'not every' if loops == 'all' else 'no'} hot loop runs packed arithmetic "
            f">= {min_bits} bits on {rep.cpu}\n{_explain(rep, min_bits, loops)}"
        )
    return rep


def assert_not_vectorized(
    target,
    args_or_signature,
    *,
    min_bits: int = 256,
    loops: str = "any",
    variant=None,
    cpu=None,
    features=None,
):
    """Assert that ``target``'s hot loops are not vector code: the opposite of
    :func:`assert_vectorized`, with the same arguments.

    It fails when ``Report.vectorized(min_bits, loops)`` holds. With the
    default ``loops="any"`` that is when any hot loop runs packed arithmetic
    ``min_bits`` wide (the kernel stays scalar throughout); with
    ``loops="all"`` only when every one does (some loop stays scalar).
    Returns the Report.
    """
    __tracebackhide__ = True
    _check_loops(loops)
    rep = _report_for(target, args_or_signature, variant, cpu, features)
    if rep.vectorized(min_bits, loops):
        raise AssertionError(
            f"{_display_name(target, rep, variant)} for ({rep.signature}) is vectorized: "
            f"{'every' if loops == 'all' else 'a'} hot loop runs packed arithmetic "
            f">= {min_bits} bits on {rep.cpu}\n{_explain(rep, min_bits, loops)}"
        )
    return rep


def _allocated() -> int:
    return rtsys.get_allocation_stats().alloc


def _name(fn) -> str:
    if isinstance(fn, Dispatcher):
        origin = _compile.origin(fn)
        if origin is not None:
            return f"{origin[0].name} ({origin[1]})"
        return fn.py_func.__qualname__
    return getattr(fn, "__qualname__", None) or repr(fn)


def assert_no_alloc(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)`` and assert that it makes no NRT allocations.

    The first call compiles and warms up; the second is measured. A numba
    dispatcher is measured with the NRT statistics directly, less the records
    numba allocates to unbox the arguments (measured on a no-op with the same
    arguments). Anything else, e.g. a Python function calling jitperf
    kernels, is measured with :func:`jitperf.count_allocations`, which sees
    the jitperf kernels it calls. Arrays numpy allocates are not NRT
    allocations and do not count. Returns the measured call's result.
    """
    __tracebackhide__ = True
    _nrt_python.memsys_enable_stats()
    fn(*args, **kwargs)  # compile and warm up
    if isinstance(fn, Dispatcher):
        value, allocs, _, unbox = measure(fn, args, kwargs)
        if allocs > 0:
            raise AssertionError(
                f"{_name(fn)} made {allocs} NRT allocation(s) in one call "
                f"(not counting the {unbox} numba makes to unbox its arguments)"
            )
        return value
    a0 = _allocated()
    with count_allocations() as c:
        value = fn(*args, **kwargs)
    raw = _allocated() - a0
    if c.allocs > 0:
        raise AssertionError(
            f"{_name(fn)} made {c.allocs} NRT allocation(s) in one call, in the "
            f"{c.calls} jitperf kernel call(s) it made"
        )
    if c.calls == 0 and raw > 0:
        # compiled code that does not go through jitperf's call(): numba
        # functions called directly, which count_allocations() cannot see
        raise AssertionError(
            f"{_name(fn)} made {raw} NRT allocation(s) in one call, in compiled code "
            "other than jitperf kernels (the count includes the records numba makes "
            "to unbox array arguments): pass the numba function itself to "
            "assert_no_alloc to leave those out"
        )
    return value
