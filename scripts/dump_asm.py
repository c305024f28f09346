"""Dump what LLVM made of every jitperf kernel: IR, assembly and reports.

For each kernel of jitperf.batch.KERNELS in each variant (strict, simd,
parallel) and dtype (float32, float64) it writes KERNEL.VARIANT.DTYPE.ll
(IR before module optimisation), .opt.ll, .s (the kernel's own assembly),
.md and .json (the report) into DIR (default asm-dump/), overwriting what a
previous run left, and an index DIR/README.md. Each report compiles a fresh
copy, about a second each:

    .venv/bin/python scripts/dump_asm.py /tmp/asm-dump [--kernels sum,affine]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from jitperf.batch.kernels import KERNELS
from jitperf.cli.inspect import dump
from jitperf.inspect import report
from jitperf.inspect.targets import resolve
from jitperf.io import AtomicFile

VARIANTS = ("strict", "simd", "parallel")
DTYPES = ("float32", "float64")
HEAD = [
    "kernel",
    "variant",
    "dtype",
    "vectorized loops",
    "vector bits (hot)",
    "FMA (hot)",
    "allocations",
    "report",
]


def row(kernel: str, variant: str, dtype: str, rep, name: str) -> list[str]:
    lines = rep.vector_lines(256)  # source line -> runs >= 256-bit packed code
    hot = rep.asm_stats["hot"]
    return [
        kernel,
        variant,
        dtype,
        f"{sum(lines.values())}/{len(lines)}",
        str(hot.vector_bits),
        str(hot.fma),
        str(len(rep.allocations)),
        f"[md]({name}.md)",
    ]


def index(rows: list[list[str]], seconds: float, cpu: str) -> str:
    out = [
        "# jitperf kernels: what LLVM made of them",
        "",
        f"CPU: {cpu} (the host's own features).",
        "",
        "vectorized loops: the hot loops' source lines that run packed instructions "
        "at least 256 bits wide / all the hot loops' source lines with arithmetic "
        "(Report.vector_lines(256)). vector bits and FMA: the widest packed register "
        "and the fused multiply-adds in the innermost loops. allocations: NRT "
        "allocation calls left in the kernel's optimized IR.",
        "",
        "| " + " | ".join(HEAD) + " |",
        "|" + "|".join("---" for _ in HEAD) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    out += ["", f"{len(rows)} reports in {seconds:.0f} s."]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir", nargs="?", default="asm-dump", metavar="DIR")
    p.add_argument("--kernels", metavar="A,B", help="only these kernels (comma-separated)")
    args = p.parse_args(argv)
    kernels = list(KERNELS)
    if args.kernels:
        kernels = [k.strip() for k in args.kernels.split(",") if k.strip()]
        unknown = [k for k in kernels if k not in KERNELS]
        if unknown:
            p.error(
                f"--kernels: unknown kernel {unknown[0]!r} (expected some of {', '.join(KERNELS)})"
            )
    os.makedirs(args.dir, exist_ok=True)
    rows, failed, cpu = [], 0, "?"
    total = len(kernels) * len(VARIANTS) * len(DTYPES)
    start = time.perf_counter()
    for kernel in kernels:
        for variant in VARIANTS:
            for dtype in DTYPES:
                name = f"{kernel}.{variant}.{dtype}"
                t = time.perf_counter()
                try:
                    target, args_ = resolve(kernel, dtype, variant)
                    rep = report(target, args=args_, variant=variant)
                    dump(rep, args.dir, name, force=True)
                except Exception as e:  # keep going: one failure is one row
                    failed += 1
                    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                    rows.append([kernel, variant, dtype, "error", "", "", "", msg])
                    print(f"[{len(rows)}/{total}] {name}: FAILED {msg}", flush=True)
                    continue
                cpu = rep.cpu
                rows.append(row(kernel, variant, dtype, rep, name))
                print(
                    f"[{len(rows)}/{total}] {name}: {rows[-1][3]} vector lines, "
                    f"{rows[-1][4]} bits, {time.perf_counter() - t:.1f} s",
                    flush=True,
                )
    seconds = time.perf_counter() - start
    path = os.path.join(args.dir, "README.md")
    with AtomicFile(path, force=True) as f:
        f.write(index(rows, seconds, cpu).encode())
        f.commit()
    print(f"wrote {path}: {len(rows)} reports in {seconds:.1f} s ({failed} failed)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
