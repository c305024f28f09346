"""Inspect what LLVM made of a kernel: IR, assembly, vectorization, allocations.

``report(target, signature or args=...)`` compiles a fresh copy of a numba
dispatcher or jitperf Kernel (optionally for another CPU) and returns a
Report: the IR before and after optimisation, the kernel's own assembly,
the loop vectorizer's verdicts, the instruction mix of the hot loops, NRT
allocations, CPython API calls and advice.
"""

from .remarks import Remark, loop_remarks, vectorized_loops
from .render import diff, to_json, to_markdown, to_text
from .report import Report, report

__all__ = [
    "Remark",
    "Report",
    "diff",
    "loop_remarks",
    "report",
    "to_json",
    "to_markdown",
    "to_text",
    "vectorized_loops",
]
