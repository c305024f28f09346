"""Read x86-64 assembly as LLVM prints it: functions, loops, instruction mix.

The text is split into functions (``.type NAME,@function`` ... ``.Lfunc_end``),
each into instruction lines that keep the source line of the last ``.loc``.
A loop is a backward branch: the lines from its target label to the jump.
The hot loops are the innermost ones, where a kernel spends its time.
Directives are dropped from listings, as Compiler Explorer does.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_TYPE = re.compile(r"^\s*\.type\s+([^,]+),@function")
_LABEL = re.compile(r"^([^\s:#][^:]*):")
_LOC = re.compile(r"^\s*\.loc\s+\d+\s+(\d+)")
_JUMP = re.compile(r"^\s*j[a-z]+\s+(\.?L\w+)")
_REG = re.compile(r"%([xyz])mm\d+")
_CALL = re.compile(r"^\s*call[a-z]*\s+\*?%?([^\s,]+)")
_MOVABS = re.compile(r"^\s*movabsq\s+\$([^,]+),\s*%(\w+)")

# mnemonics that move, shuffle or convert layout rather than compute
_MOVES = ("mov", "vmov", "vbroadcast", "vperm", "vshuf", "shuf", "vunpck", "unpck",
          "vinsert", "vextract", "vpermil", "vblend", "blend", "vmask", "vzeroupper",
          "vpmov", "vpbroadcast", "vpshuf", "vpunpck", "vpinsr", "vpextr", "vpblend",
          "vpalignr", "vpermq", "vpermd", "vpcompress", "vpexpand")  # fmt: skip
_BITS = {"x": 128, "y": 256, "z": 512}


@dataclass
class Line:
    text: str  # the instruction, as printed
    source: int  # the source line of the last .loc (0 if none)


@dataclass
class Function:
    name: str
    lines: list[Line] = field(default_factory=list)  # instructions and labels, in order

    def loops(self) -> list[tuple[int, int]]:
        """(first, last) line indexes of every backward branch's loop."""
        labels = {}
        spans = []
        for i, ln in enumerate(self.lines):
            m = _LABEL.match(ln.text)
            if m:
                labels[m[1]] = i
                continue
            j = _JUMP.match(ln.text)
            if j and j[1] in labels:
                spans.append((labels[j[1]], i))
        return spans

    def hot(self) -> list[tuple[int, int]]:
        """The innermost loops: those that contain no other loop."""
        spans = self.loops()
        return [
            s for s in spans
            if not any(o != s and s[0] <= o[0] and o[1] <= s[1] for o in spans)
        ]  # fmt: skip


def parse(asm: str) -> list[Function]:
    """The functions of an assembly listing, directives dropped."""
    funcs: list[Function] = []
    names: set[str] = set()
    current: Function | None = None
    source = 0
    for raw in asm.splitlines():
        m = _TYPE.match(raw)
        if m:
            names.add(m[1].strip().strip('"'))
            continue
        label = _LABEL.match(raw)
        if label and label[1].strip('"') in names:
            current = Function(label[1].strip('"'))
            funcs.append(current)
            source = 0
            continue
        if current is None:
            continue
        loc = _LOC.match(raw)
        if loc:
            source = int(loc[1])
            continue
        text = raw.split("#", 1)[0].rstrip()
        if not text.strip():
            continue
        if text.lstrip().startswith(".Lfunc_end"):
            current = None
            continue
        if text.lstrip().startswith("."):
            if _LABEL.match(text.strip()):  # a local label (.LBB0_3:) stays
                current.lines.append(Line(text.strip(), source))
            continue
        current.lines.append(Line(text.strip(), source))
    return funcs


def _mnemonic(text: str) -> str:
    return text.split(None, 1)[0] if text and not text.endswith(":") else ""


@dataclass
class AsmStats:
    """The instruction mix of some instructions."""

    instructions: int = 0
    vector_bits: int = 0  # widest register a packed arithmetic instruction uses (0: none)
    packed_fp: int = 0  # packed floating-point arithmetic (…ps, …pd)
    packed_int: int = 0  # packed integer arithmetic, compares and logic (vp…)
    scalar_fp: int = 0  # scalar floating-point arithmetic (…ss, …sd)
    fma: int = 0  # fused multiply-adds (vfmadd…, vfmsub…, vfnm…)
    gathers: int = 0  # gathers and scatters
    calls: dict = field(default_factory=dict)  # symbol -> count

    @property
    def packed(self) -> int:
        return self.packed_fp + self.packed_int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def call_sites(lines: list[Line]) -> list[tuple[int, str]]:
    """(index, symbol) of each call; ``callq *%rax`` is named by the symbol
    last loaded into rax (``movabsq $sym, %rax``), as the JIT calls out."""
    out = []
    loaded: dict[str, str] = {}  # register -> symbol last loaded into it
    for i, ln in enumerate(lines):
        mov = _MOVABS.match(ln.text)
        if mov:
            loaded[mov[2]] = mov[1].strip()
        if _mnemonic(ln.text).startswith("call"):
            m = _CALL.match(ln.text)
            target = m[1].strip() if m else "?"
            out.append((i, loaded.get(target, target)))
    return out


def stats(lines: list[Line]) -> AsmStats:
    s = AsmStats()
    for ln in lines:
        mn = _mnemonic(ln.text)
        if not mn:
            continue
        s.instructions += 1
        if mn.startswith("call"):
            continue
        if "gather" in mn or "scatter" in mn:
            s.gathers += 1
        if mn.startswith(("vfmadd", "vfmsub", "vfnmadd", "vfnmsub")):
            s.fma += 1
        if mn.startswith(_MOVES):
            continue
        packed = False
        if mn.endswith(("ps", "pd")):
            s.packed_fp += 1
            packed = True
        elif mn.startswith("vp"):
            s.packed_int += 1
            packed = True
        elif mn.endswith(("ss", "sd")) and not mn.startswith(("vcmp", "cmp")):
            s.scalar_fp += 1
        if packed:
            for reg in _REG.findall(ln.text):
                s.vector_bits = max(s.vector_bits, _BITS[reg])
    s.calls = dict(Counter(sym for _, sym in call_sites(lines)))
    return s


@dataclass
class HotLoop:
    """An innermost loop of the assembly, and the source line most of it comes from."""

    function: str
    line: int
    stats: AsmStats
    lines: list = field(default_factory=list, repr=False)  # its instructions
    # it calls another of the kernel's functions, whose loops then run
    # inside it: an outer loop, though no loop of its own is nested in it
    outer: bool = False

    def to_dict(self) -> dict:
        return {
            "function": self.function,
            "line": self.line,
            "outer": self.outer,
            **self.stats.to_dict(),
        }


def hot_loops(fn: Function) -> list[HotLoop]:
    out = []
    for a, b in fn.hot():
        body = fn.lines[a : b + 1]
        sources = Counter(ln.source for ln in body if ln.source)
        line = sources.most_common(1)[0][0] if sources else 0
        out.append(HotLoop(fn.name, line, stats(body), body))
    return out


def listing(lines: list[Line]) -> str:
    return "\n".join(ln.text if ln.text.endswith(":") else "    " + ln.text for ln in lines)
