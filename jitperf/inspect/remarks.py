"""Capture LLVM's loop-vectorize remarks for one compilation.

LLVM prints remarks to the process's file descriptor 2, so the capture
redirects the descriptor itself for the duration of one compile, under a lock,
and turns the remark options off again afterwards: other compilations and the
user's stderr see nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass

import llvmlite.binding as llvm
import numba

_OPTIONS = ("-pass-remarks", "-pass-remarks-missed", "-pass-remarks-analysis")
_LOCK = threading.RLock()
_LINE = re.compile(r"remark: (?P<file>[^:]*):(?P<line>\d+):\d+: (?P<text>.*)")
_WIDTH = re.compile(r"vectorization width: (\d+)(?:, interleaved count: (\d+))?")


@dataclass(frozen=True)
class Remark:
    """One loop the loop vectorizer reported on."""

    file: str
    line: int
    vectorized: bool
    width: int
    interleave: int
    reason: str


# Said of loops the vectorizer already vectorized (their remainders, or a
# second pipeline run): not a verdict on a loop of the source.
_ALREADY = "already been vectorized"


def parse(text: str) -> list[Remark]:
    """Remarks from LLVM's stderr text, one per loop verdict, without repeats."""
    out = []
    for raw in text.splitlines():
        m = _LINE.search(raw)
        if not m:
            continue
        body = m["text"].strip()
        if body.startswith("vectorized loop"):
            w = _WIDTH.search(body)
            width, inter = (int(w[1]), int(w[2] or 1)) if w else (0, 1)
            out.append(Remark(m["file"], int(m["line"]), True, width, inter, ""))
        elif body.startswith("loop not vectorized"):
            reason = body.partition(":")[2].strip()
            if not reason and out and not out[-1].vectorized and out[-1].line == int(m["line"]):
                continue  # the bare verdict after its analysis remark
            if _ALREADY in reason:
                continue
            out.append(Remark(m["file"], int(m["line"]), False, 0, 0, reason))
    unique = []
    for r in out:
        if r not in unique:
            unique.append(r)
    return unique


def _set(value: str) -> None:
    for opt in _OPTIONS:
        llvm.set_option("", f"{opt}={value}")


def capture_stderr(fn):
    """(fn(), what was written to file descriptor 2 meanwhile), under a lock:
    LLVM writes its remarks and warnings there, not to sys.stderr."""
    with _LOCK, tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            value = fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return value, tmp.read().decode(errors="replace")


def loop_remarks(compile_fn) -> list[Remark]:
    """Run ``compile_fn()`` (which must compile, not load from cache) and
    return the loop-vectorize remarks LLVM gave while it ran."""

    def run():
        _set("loop-vectorize")
        try:
            return compile_fn()
        finally:
            # An empty pattern does not switch remarks off (it matched every
            # pass here); one that no pass name matches does.
            _set("^$")

    return parse(capture_stderr(run)[1])


def vectorized_loops(kernel, variant: str, *args) -> list[Remark]:
    """Compile a fresh, uncached copy of a jitperf Kernel's ``variant`` for
    ``args`` and return the remarks of its loops."""
    disp = kernel.dispatcher(variant, cache=False)
    sig = tuple(numba.typeof(a) for a in args)
    return loop_remarks(lambda: disp.compile(sig))
