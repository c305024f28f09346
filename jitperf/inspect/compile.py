"""Compile a fresh copy of a kernel and capture what LLVM made of it.

The copy is uncached and compiled with debug info (for source lines) from
the function's Python source, so the user's dispatcher and the on-disk cache
stay untouched. Every numba dispatcher the function calls is copied too, so
LLVM compiles the whole call tree now and reports on every loop in it. For
another CPU, numba's own pipeline runs with a target machine for that CPU in
place of the host's, for the length of the compile: nothing is executed.
"""

from __future__ import annotations

import threading
import types
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import llvmlite.binding as ll
import numba
from numba.core import codegen as _codegen
from numba.core import registry, sigutils
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher

from .. import _compile
from . import remarks

_LOCK = threading.Lock()


@dataclass
class Compiled:
    """What one fresh compile produced."""

    name: str  # the Python function's qualified name
    signature: str
    ir: str  # the linked module before module-level optimisation
    optimized_ir: str
    asm: str  # the whole module's assembly, wrappers included
    symbol: str  # the kernel's mangled name
    loops: list  # remarks.Remark
    cpu: str
    features: str


def _copy(fn: types.FunctionType, glb: dict) -> types.FunctionType:
    g = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    g.__qualname__ = fn.__qualname__
    g.__module__ = fn.__module__
    g.__doc__ = fn.__doc__
    return g


def fresh_dispatcher(disp: Dispatcher, overrides: dict, seen: dict | None = None) -> Dispatcher:
    """An uncached copy of a numba dispatcher and of the dispatchers it calls."""
    seen = {} if seen is None else seen
    if disp in seen:
        return seen[disp]
    fn = disp.py_func
    glb = dict(fn.__globals__)
    opts = {k: v for k, v in disp.targetoptions.items() if k != "nopython"}  # njit's anyway
    new = numba.njit(cache=False, **{**opts, **overrides})(_copy(fn, glb))
    seen[disp] = new
    for key in fn.__code__.co_names:
        value = glb.get(key)
        if isinstance(value, Dispatcher):
            glb[key] = fresh_dispatcher(value, overrides, seen)
    return new


def resolve(target, variant: str | None, overrides: dict) -> tuple[Dispatcher, str]:
    """(a fresh dispatcher, a display name) for a jitperf Kernel (in
    ``variant``), a numba dispatcher, or a plain Python function."""
    if isinstance(target, _compile.Kernel):
        v = variant or "simd"
        return target.dispatcher(v, cache=False, overrides=overrides), f"{target.name} ({v})"
    if isinstance(target, Dispatcher):
        origin = _compile.origin(target)
        if origin is not None:  # one of jitperf's own variant dispatchers
            k, v = origin
            return k.dispatcher(variant or v, cache=False, overrides=overrides), k.name
        return fresh_dispatcher(target, overrides), target.py_func.__qualname__
    if isinstance(target, types.FunctionType):
        return numba.njit(cache=False, **overrides)(target), target.__qualname__
    raise TypeError(
        f"target: expected a numba dispatcher, a jitperf Kernel or a function, "
        f"got {type(target).__name__}"
    )


def signature_of(signature, args):
    """A numba signature from a signature string or tuple, or example args."""
    if signature is not None:
        sig = sigutils.normalize_signature(signature)
        return sig[0]  # the argument types
    if args is None:
        raise TypeError("signature: give a signature (e.g. 'float64(float32[::1])') or args=")
    return tuple(numba.typeof(a) for a in args)


def host_cpu() -> tuple[str, str]:
    cg = registry.cpu_target.target_context.codegen()
    return cg._get_host_cpu_name(), cg._tm_features


def target_machine(cpu: str, features: str):
    """An LLVM target machine; ValueError if LLVM knows no such CPU or feature."""

    def make():
        return ll.Target.from_default_triple().create_target_machine(
            cpu=cpu, features=features, opt=3, reloc="static", codemodel="jitdefault"
        )

    tm, err = remarks.capture_stderr(make)
    if "is not a recognized processor" in err:
        raise ValueError(f"cpu: LLVM does not know the CPU {cpu!r}")
    if "is not a recognized feature" in err:
        bad = err.split("'")[1] if "'" in err else features
        raise ValueError(f"features: LLVM does not know the feature {bad!r}")
    return tm


@contextmanager
def _target(cpu: str | None, features: str | None):
    """numba's codegen with a target machine for ``cpu`` and ``features``.

    ``features`` adds to the CPU's own (for the host: to its detected ones),
    e.g. "-prefer-256-bit". Without either, the host's machine is used.
    """
    name, host_features = host_cpu()
    if cpu is None and features is None:
        yield name, host_features
        return
    feats = features or ""
    if cpu is None:
        feats = ",".join(f for f in (host_features, feats) if f)
    cpu = cpu or name
    tm = target_machine(cpu, feats)
    cg = registry.cpu_target.target_context.codegen()
    with global_compiler_lock:
        saved = cg._tm
        cg._tm = tm
        try:
            yield cpu, feats
        finally:
            cg._tm = saved


@contextmanager
def _capture_unoptimized(store: dict):
    """Record each library's linked module just before module optimisation."""
    cls = _codegen.CPUCodeLibrary
    original = cls._optimize_final_module

    def spy(self):
        store[self.name] = str(self._final_module)
        return original(self)

    with global_compiler_lock:
        cls._optimize_final_module = spy
        try:
            yield
        finally:
            cls._optimize_final_module = original


def compile_fresh(disp: Dispatcher, name: str, sig, cpu=None, features=None) -> Compiled:
    """Compile ``disp`` (a fresh copy) for ``sig`` and collect IR, asm, remarks."""
    out = {}
    unoptimized: dict = {}

    def run():
        with _target(cpu, features) as (cpu_name, feats), _capture_unoptimized(unoptimized):
            disp.compile(sig)
            cres = disp.overloads[tuple(sig)]
            lib = cres.library
            out.update(
                optimized_ir=lib.get_llvm_str(),
                asm=lib.get_asm_str(),  # while the target machine is in place
                symbol=cres.fndesc.mangled_name,
                lib=lib.name,
                cpu=cpu_name,
                features=feats,
            )

    with _LOCK, warnings.catch_warnings():
        # debug info for a function without a source file warns; the report
        # then has no source lines, which it says by line 0
        warnings.simplefilter("ignore", numba.NumbaDebugInfoWarning)
        loops = remarks.loop_remarks(run)
    if "lib" not in out:
        raise RuntimeError("the compile produced nothing to inspect")
    return Compiled(
        name=name,
        signature=", ".join(str(t) for t in sig),
        ir=unoptimized.get(out["lib"], ""),
        optimized_ir=out["optimized_ir"],
        asm=out["asm"],
        symbol=out["symbol"],
        loops=loops,
        cpu=out["cpu"],
        features=out["features"],
    )
