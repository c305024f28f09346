"""A Report as terminal text, Markdown or JSON, and two reports compared.

Text and Markdown hold the same sections: header, loops, figures, hot loops,
allocations, CPython API calls, advice and the hot loops' assembly.
"""

from __future__ import annotations

import difflib
import json
import re

FIGURES = ("vector_bits", "packed_fp", "packed_int", "scalar_fp", "fma", "gathers", "instructions")
# CPU features worth naming in a header (the full list is in the JSON)
_VECTOR_FEATURES = ("sse4.2", "avx", "avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq")
_VARIANT_TAG = re.compile(r"__(?:strict|simd|parallel)__[0-9a-f]{10}$")
_SYMBOL = re.compile(r"_ZN\w+")
_DEBUG_LABEL = re.compile(r"^\.Ltmp\d+:$")


def _fastmath(fm) -> str:
    if fm is None or fm is False:
        return "none"
    if fm is True:
        return "all"
    if isinstance(fm, (set, frozenset, list, tuple)):
        return ",".join(sorted(fm)) or "none"
    return str(fm)


def _features(feats: str) -> str:
    """The features, or for a long host list the vector ones and a count."""
    if len(feats) <= 80:
        return feats or "(the CPU's own)"
    flags = feats.split(",")
    on = [f[1:] for f in flags if f.startswith("+") and f[1:] in _VECTOR_FEATURES]
    extra = [f for f in flags if f.startswith("-prefer") or f.startswith("+prefer")]
    return " ".join(["+" + ",+".join(on)] + extra + [f"({len(flags)} flags)"])


def function_name(symbol: str) -> str:
    """A short name for a numba-mangled symbol: module.function."""
    if not symbol.startswith("_ZN"):
        return symbol
    parts, i = [], 3
    while i < len(symbol) and symbol[i].isdigit():
        j = i
        while j < len(symbol) and symbol[j].isdigit():
            j += 1
        n = int(symbol[i:j])
        parts.append(symbol[j : j + n])
        i = j + n
    if not parts:
        return symbol
    parts[-1] = _VARIANT_TAG.sub("", parts[-1])
    return ".".join(parts[-2:])


def listing(asm: str) -> str:
    """Assembly for reading: numba's mangled names shortened (module.function)
    and the debug-info labels (.Ltmp) dropped, as Compiler Explorer shows it."""
    lines = [ln for ln in asm.splitlines() if not _DEBUG_LABEL.match(ln)]
    return "\n".join(_SYMBOL.sub(lambda m: function_name(m[0]), ln) for ln in lines)


def _header(r) -> list[tuple[str, str]]:
    return [
        ("kernel", r.name),
        ("signature", r.signature),
        ("cpu", r.cpu),
        ("features", _features(r.features)),
        ("fastmath", _fastmath(r.fastmath)),
    ]


def _loop_rows(r) -> list[list[str]]:
    return [
        [
            f"{x.file}:{x.line}",
            "yes" if x.vectorized else "no",
            str(x.width) if x.vectorized else "",
            str(x.interleave) if x.vectorized else "",
            x.reason,
        ]
        for x in r.loops
    ]


def _figure_rows(r) -> list[list[str]]:
    hot, ker = r.asm_stats["hot"], r.asm_stats["kernel"]
    rows = [[f, str(getattr(hot, f)), str(getattr(ker, f))] for f in FIGURES]
    rows.append(["calls", str(sum(hot.calls.values())), str(sum(ker.calls.values()))])
    return rows


def _hot_rows(r) -> list[list[str]]:
    return [
        [
            function_name(h.function),
            str(h.line),
            str(h.stats.instructions),
            str(h.stats.vector_bits),
            str(h.stats.packed_fp),
            str(h.stats.packed_int),
            str(h.stats.scalar_fp),
            str(h.stats.fma),
        ]
        for h in r.hot_loops
    ]


def _call_rows(calls) -> list[list[str]]:
    return [
        [c.symbol, str(c.source_line or ""), str(c.ir_line), "yes" if c.in_loop else "no"]
        for c in calls
    ]


LOOPS = ["where", "vectorized", "width", "interleave", "reason"]
FIGS = ["figure", "hot", "kernel"]
HOT = ["function", "line", "instructions", "bits", "packed fp", "packed int", "scalar fp", "fma"]
CALLS = ["symbol", "source line", "ir line", "in loop"]


def _table(head: list[str], rows: list[list[str]], indent: str = "  ") -> str:
    widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]

    def line(cells):
        return (indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(head)] + [line(r) for r in rows])


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    def cell(c: str) -> str:
        return c.replace("|", "\\|").replace("\n", " ") or " "

    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def to_text(report) -> str:
    """The report for a terminal: header, tables, advice and the hot assembly."""
    r = report
    width = max(len(k) for k, _ in _header(r))
    out = [f"{k:<{width}}  {v}" for k, v in _header(r)]

    def section(title, body):
        out.extend(["", title, body])

    section("loops (LLVM loop vectorizer)", _table(LOOPS, _loop_rows(r)) if r.loops else "  none")
    section("figures", _table(FIGS, _figure_rows(r)))
    if r.hot_loops:
        section("hot loops", _table(HOT, _hot_rows(r)))
    for title, calls in (("allocations", r.allocations), ("python api", r.python_api)):
        section(title, _table(CALLS, _call_rows(calls)) if calls else "  none")
    section("advice", "\n".join(f"  - {a}" for a in r.advice) if r.advice else "  none")
    section("hot loop asm", listing(r.hot_asm) or "  (no loop)")
    return "\n".join(out) + "\n"


def to_markdown(report) -> str:
    """The report as Markdown: tables and an ```asm block."""
    r = report
    out = [f"# {r.name}", "", _md_table(["", ""], [[f"**{k}**", f"`{v}`"] for k, v in _header(r)])]

    def section(title, body):
        out.extend(["", f"## {title}", "", body])

    section("Loops", _md_table(LOOPS, _loop_rows(r)) if r.loops else "None reported.")
    section("Figures", _md_table(FIGS, _figure_rows(r)))
    if r.hot_loops:
        section("Hot loops", _md_table(HOT, _hot_rows(r)))
    section(
        "Allocations", _md_table(CALLS, _call_rows(r.allocations)) if r.allocations else "None."
    )
    section("Python API", _md_table(CALLS, _call_rows(r.python_api)) if r.python_api else "None.")
    section("Advice", "\n".join(f"- {a}" for a in r.advice) if r.advice else "None.")
    section("Hot loop asm", f"```asm\n{listing(r.hot_asm)}\n```")
    return "\n".join(out) + "\n"


def _jsonable(value):
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def to_json(report) -> str:
    """json.dumps of report.to_dict(), indented; strict JSON (no NaN)."""
    return json.dumps(report.to_dict(), indent=2, allow_nan=False, default=_jsonable)


def _label(r) -> str:
    return f"{r.name}  cpu={r.cpu}  fastmath={_fastmath(r.fastmath)}"


def _counts(r) -> list[tuple[str, object]]:
    hot, ker = r.asm_stats["hot"], r.asm_stats["kernel"]
    rows: list[tuple[str, object]] = [(f"hot {f}", getattr(hot, f)) for f in FIGURES]
    rows += [(f"kernel {f}", getattr(ker, f)) for f in FIGURES]
    done = sum(1 for x in r.loops if x.vectorized)
    rows.append(("loops vectorized", f"{done}/{len(r.loops)}"))
    rows.append(("allocations", len(r.allocations)))
    rows.append(("python_api", len(r.python_api)))
    return rows


def diff(a, b) -> str:
    """A unified diff of two reports' hot assembly (as listing() shows it),
    then their figures side by side with the change from a to b."""
    la, lb = _label(a), _label(b)
    if la == lb:  # the same kernel on the same CPU: the features tell them apart
        la, lb = (
            f"{la}  features={_features(a.features)}",
            f"{lb}  features={_features(b.features)}",
        )
    if la == lb:
        la, lb = la + "  (a)", lb + "  (b)"
    lines = list(
        difflib.unified_diff(
            listing(a.hot_asm).splitlines(),
            listing(b.hot_asm).splitlines(),
            la,
            lb,
            lineterm="",
        )
    )
    body = "\n".join(lines) if lines else "(hot loop asm identical)"
    rows = []
    for (name, va), (_, vb) in zip(_counts(a), _counts(b), strict=True):
        change = ""
        if va != vb:
            change = f"{vb - va:+d}" if isinstance(va, int) and isinstance(vb, int) else "*"
        rows.append([name, str(va), str(vb), change])
    table = _table(["figure", "a", "b", "change"], rows)
    return f"{body}\n\na: {la}\nb: {lb}\n{table}\n"
