"""report(): what the machine will run for a kernel, as figures and advice.

A report compiles a fresh copy of the kernel (see compile.py) and reads the
result: the loop vectorizer's remarks, the instruction mix of the hot loops
and of the whole kernel, the NRT allocations and the CPython API calls left
in it, and advice derived from those. It renders as text, Markdown or JSON
(see render.py); the JSON field names are the attribute names below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import asm as A
from .compile import compile_fresh, resolve, signature_of

# wrappers numba adds around a kernel: not the kernel's own code
_WRAPPERS = ("_ZN7cpython", "cfunc.", "NRT_", "nrt_", "_ZN08NumbaEnv")
_ALLOC = re.compile(r"@\"?(NRT_(?:MemInfo_(?:alloc|new|varsize_alloc|alloc_safe)\w*|Allocate\w*))")
_PYAPI = re.compile(r"@\"?((?:_?Py|numba_gil_|numba_unpickle|numba_do_raise|numba_runtime_)\w*)")
_DEFINE = re.compile(r'^define [^@]*@"?([^"(\s]+)"?\(', re.M)
_DBG = re.compile(r"!dbg !(\d+)")
_DILOC = re.compile(r"^!(\d+) = !DILocation\(line: (\d+)", re.M)


@dataclass
class Call:
    """A call found in the kernel's optimized IR."""

    symbol: str
    ir_line: int  # 1-based line in optimized_ir
    source_line: int  # from the debug info (0 if unknown)
    in_loop: bool  # the call sits inside a loop of the assembly

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Report:
    name: str
    signature: str
    cpu: str
    features: str
    fastmath: object
    ir: str
    optimized_ir: str
    asm: str  # the kernel's own functions, without wrappers or directives
    hot_asm: str  # the innermost loops
    loops: list  # remarks.Remark
    hot_loops: list  # asm.HotLoop: the innermost loops, with their source line and mix
    asm_stats: dict  # {"hot": AsmStats, "kernel": AsmStats}
    allocations: list  # Call
    python_api: list  # Call (symbol "raise" for an exception set by the kernel)
    advice: list = field(default_factory=list)

    def vector_lines(self, min_bits: int = 128) -> dict[int, bool]:
        """source line -> whether a hot loop from that line runs packed
        instructions at least ``min_bits`` wide (a vector body; its scalar
        remainder loop from the same line does not count against it)."""
        out: dict[int, bool] = {}
        for h in _data_loops(self.hot_loops):
            ok = h.stats.packed > 0 and h.stats.vector_bits >= min_bits
            out[h.line] = out.get(h.line, False) or ok
        return out

    def vectorized(self, min_bits: int = 128, loops: str = "all") -> bool:
        """Whether the hot loops are vector code: all of them, or any."""
        lines = self.vector_lines(min_bits)
        if not lines:
            return False
        return all(lines.values()) if loops == "all" else any(lines.values())

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "signature": self.signature,
            "cpu": self.cpu,
            "features": self.features,
            "fastmath": sorted(self.fastmath)
            if isinstance(self.fastmath, (set, frozenset))
            else self.fastmath,
            "loops": [dict(r.__dict__) for r in self.loops],
            "hot_loops": [h.to_dict() for h in self.hot_loops],
            "asm_stats": {k: v.to_dict() for k, v in self.asm_stats.items()},
            "allocations": [c.to_dict() for c in self.allocations],
            "python_api": [c.to_dict() for c in self.python_api],
            "advice": list(self.advice),
            "hot_asm": self.hot_asm,
        }


def _functions_ir(ir: str) -> dict[str, tuple[int, int]]:
    """name -> (first, last) 0-based line of each defined function."""
    lines = ir.splitlines()
    spans = {}
    starts = [(m.start(), m[1]) for m in _DEFINE.finditer(ir)]
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln) + 1)
    import bisect

    for pos, name in starts:
        first = bisect.bisect_right(offsets, pos) - 1
        last = first
        while last < len(lines) and lines[last] != "}":
            last += 1
        spans[name] = (first, last)
    return spans


def _own(name: str) -> bool:
    return not name.startswith(_WRAPPERS)


def _calls_in_loops(funcs) -> set[tuple[str, int]]:
    """(symbol, source line) of every call instruction inside an asm loop."""
    out = set()
    for f in funcs:
        spans = f.loops()
        for i, sym in A.call_sites(f.lines):
            if any(a <= i <= b for a, b in spans):
                out.add((sym, f.lines[i].source))
    return out


def _data_loops(loops: list) -> list:
    """The hot loops that do arithmetic on data and come from a source line:
    not the runtime's bookkeeping loops (reference counts, scheduling)."""
    return [h for h in loops if h.line and not h.outer and (h.stats.packed or h.stats.scalar_fp)]


def _calls(ir: str, spans, pattern, in_loops: set[tuple[str, int]]) -> list[Call]:
    lines = ir.splitlines()
    locs = {int(k): int(v) for k, v in _DILOC.findall(ir)}
    found = []
    for name, (a, b) in spans.items():
        if not _own(name):
            continue
        for i in range(a + 1, b):
            text = lines[i]
            if "call" not in text and "invoke" not in text:
                continue
            m = pattern.search(text)
            if not m:
                continue
            d = _DBG.search(text)
            src = locs.get(int(d[1]), 0) if d else 0
            if src:
                in_loop = (m[1], src) in in_loops
            else:
                in_loop = any(sym == m[1] for sym, _ in in_loops)
            found.append(Call(m[1], i + 1, src, in_loop))
    return found


def _raises(ir: str, spans) -> list[Call]:
    """Exceptions the kernel sets for its wrapper to raise through the CPython API."""
    lines = ir.splitlines()
    out = []
    for name, (a, b) in spans.items():
        if _own(name):
            for i in range(a + 1, b):
                if "!numba_exception_output" in lines[i]:
                    out.append(Call("raise", i + 1, 0, False))
    return out


def analyse(c, fastmath=None) -> Report:
    """A Report from one fresh compile (compile.Compiled)."""
    funcs = [f for f in A.parse(c.asm) if _own(f.name)]
    innermost = [h for f in funcs for h in A.hot_loops(f)]
    names = {f.name for f in funcs}
    for h in innermost:
        h.outer = any(sym in names for sym in h.stats.calls)
    hot_loops = _data_loops(innermost) or innermost
    hot = [ln for h in hot_loops for ln in h.lines]
    every = [ln for f in funcs for ln in f.lines]
    stats = {"hot": A.stats(hot), "kernel": A.stats(every)}
    in_loops = _calls_in_loops(funcs)
    spans = _functions_ir(c.optimized_ir)
    allocations = _calls(c.optimized_ir, spans, _ALLOC, in_loops)
    python_api = _calls(c.optimized_ir, spans, _PYAPI, in_loops)
    python_api += _raises(c.optimized_ir, spans)
    rep = Report(
        name=c.name,
        signature=c.signature,
        cpu=c.cpu,
        features=c.features,
        fastmath=fastmath,
        ir=c.ir,
        optimized_ir=c.optimized_ir,
        asm="\n\n".join(f"{f.name}:\n{A.listing(f.lines)}" for f in funcs),
        hot_asm="\n".join(A.listing(h.lines) for h in hot_loops),
        loops=c.loops,
        hot_loops=innermost,
        asm_stats=stats,
        allocations=allocations,
        python_api=python_api,
    )
    rep.advice = advise(rep)
    return rep


def advise(rep: Report) -> list[str]:
    """Plain-sentence hints from a report's figures."""
    out = []
    # Verdicts on the loops that do the work; the drivers' outer loops (which
    # call the block, or hold a switch) are not for vectorizing.
    data = {h.line for h in _data_loops(rep.hot_loops)}
    for r in rep.loops:
        if r.vectorized or not r.reason:
            continue
        reorder = "reorder floating-point" in r.reason
        if data and r.line not in data and not reorder:
            continue
        where = f"loop at line {r.line}" if r.line else "a loop"
        if reorder:
            out.append(
                f"{where} not vectorized: floating-point reduction cannot be reordered "
                "— add fastmath={'reassoc'}"
            )
        else:
            out.append(f"{where} not vectorized: {r.reason}")
    hot = rep.asm_stats["hot"]
    if "vcvtps2pd" in rep.hot_asm:
        out.append("float32 input accumulated in float64: half the lanes")
    feats = rep.features or ""
    if "+avx512f" in feats and hot.packed and hot.vector_bits == 256:
        out.append(
            "AVX-512 available but 256-bit preferred: pass features='-prefer-256-bit' for zmm"
        )
    if hot.instructions and not hot.packed and hot.scalar_fp:
        out.append("the hot loop is scalar floating point")
    if hot.gathers:
        out.append(f"{hot.gathers} gathers/scatters in the hot loop: indexed or strided access")
    for a in rep.allocations:
        at = f" at line {a.source_line}" if a.source_line else ""
        if a.in_loop:
            out.append(f"allocates inside the loop{at} ({a.symbol})")
        else:
            out.append(f"allocates{at} ({a.symbol}): pass out= or hoist it")
    for p in rep.python_api:
        if p.symbol == "raise":
            out.append("raises an exception: the wrapper builds it through the CPython API")
        else:
            out.append(f"calls the CPython API ({p.symbol}): boxing or object mode")
    return out


def report(
    target,
    signature=None,
    *,
    args=None,
    cpu=None,
    features=None,
    fastmath=None,
    variant=None,
) -> Report:
    """Compile a fresh copy of ``target`` and report on it.

    ``target``: a numba dispatcher, a plain function (compiled with njit), or
    a jitperf Kernel (``variant`` picks strict/simd/parallel; simd by
    default). The types come from ``signature`` (e.g. "float64(float32[::1])")
    or from example ``args``. ``cpu`` (e.g. "skylake-avx512", "x86-64-v2")
    and ``features`` (e.g. "-prefer-256-bit", added to the CPU's own) compile
    for another machine without running anything; ``fastmath`` overrides the
    kernel's flags (False, True or a set).
    """
    overrides = {"debug": True, "boundscheck": False}
    if fastmath is not None:
        overrides["fastmath"] = fastmath
    disp, name = resolve(target, variant, overrides)
    sig = signature_of(signature, args)
    c = compile_fresh(disp, name, sig, cpu, features)
    fm = fastmath if fastmath is not None else disp.targetoptions.get("fastmath", False)
    return analyse(c, fm)
