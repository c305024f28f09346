"""``jitperf machine``: this machine's memory bandwidth and FMA peak, measured once and cached.

Parsing and formatting only: jitperf.bench.machine measures and caches.
"""

from __future__ import annotations

import json
import sys

from ..bench import machine as bench_machine


def add_commands(sub) -> None:
    p = sub.add_parser(
        "machine",
        help="measure this machine's memory bandwidth and FMA peak (cached)",
        description="Show this machine's limits: memory bandwidth (read, copy, triad) and "
        "peak FMA GFLOP/s (float32, float64), with 1 thread and all of numba's threads, as "
        "numba kernels reach them. The first run measures (up to a minute; --quick about "
        "ten seconds) and caches the result per CPU and thread count in "
        "$JITPERF_CACHE_DIR, $XDG_CACHE_HOME/jitperf or ~/.cache/jitperf.",
    )
    p.add_argument("--refresh", action="store_true", help="measure again, ignoring the cache")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smaller, shorter measurement (kept apart from a full one, which it never "
        "replaces; a cached full one is shown instead when there is one)",
    )
    p.add_argument(
        "--format", default="text", choices=["text", "json"], help="text (default) or json"
    )
    p.set_defaults(func=cmd_machine)


def _progress(msg: str) -> None:
    print(f"jitperf: measuring {msg}", file=sys.stderr, flush=True)


def _size(nbytes: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift and nbytes % (1 << (shift - 4)) == 0:
            v = nbytes / (1 << shift)
            return f"{v:g} {unit}"
    return f"{nbytes} B"


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Left-aligned first column, right-aligned figures."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        figures = [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        cells = [r[0].ljust(widths[0]), *figures]
        out.append(indent + "   ".join(cells).rstrip())
    return out


def _gbps(v) -> str:
    return "-" if v is None else f"{v:.1f} GB/s"


def _gflops(v, bits) -> str:
    if v is None:
        return "-"
    return f"{v:.1f} GFLOP/s" + (f" ({bits}-bit)" if bits else "")


def to_text(m: bench_machine.Machine, path=None) -> str:
    bw, pk, vb = m.bandwidth_gbps, m.peak_gflops, m.vector_bits
    all_label = f"{m.threads} threads" if m.threads != 1 else "all (1 thread)"
    kind = "quick" if m.quick else "full"
    lines = [
        f"machine: {m.cpu}, {m.threads} numba threads ({m.threading_layer} layer, pool of "
        f"{m.pool_threads}), measured {m.measured_at} in {m.elapsed_s:.1f} s ({kind})",
    ]
    if m.caches:
        caches = ", ".join(f"L{c['level']} {c['type']} {_size(c['size_bytes'])}" for c in m.caches)
        lines.append(f"caches: {caches}")
    if m.cpu_mhz:
        lines.append(f"clock: {m.cpu_mhz:.0f} MHz as /proc/cpuinfo reports it (boost may differ)")
    lines.append(
        f"numba {m.numba_version}, llvmlite {m.llvmlite_version}, jitperf {m.jitperf_version}"
    )
    lines.append("")
    ws = _size(m.working_set_bytes) if m.working_set_bytes else "?"
    rows = [[f"memory bandwidth (float64, {ws} a test)", "1 thread", all_label]]
    for name, what in (
        ("read", "s += a[i], 1 array"),
        ("copy", "b[:] = a, 2 arrays"),
        ("triad", "a = b + s*c, 3 arrays"),
    ):
        rows.append([f"{name} ({what})", _gbps(bw.get(f"{name}_1t")), _gbps(bw.get(f"{name}_all"))])
    lines += _table(rows, indent="")
    lines.append("")
    rows = [["FMA peak (2 flops per FMA per lane)", "1 thread", all_label]]
    for tag, name in (("f32", "float32"), ("f64", "float64")):
        for suffix, what in (("", ""), ("_512", ", 512-bit build")):
            one, every = f"{tag}_1t{suffix}", f"{tag}_all{suffix}"
            if one not in pk and every not in pk:
                continue
            rows.append(
                [
                    name + what,
                    _gflops(pk.get(one), vb.get(one)),
                    _gflops(pk.get(every), vb.get(every)),
                ]
            )
    lines += _table(rows, indent="")
    if m.notes:
        lines.append("")
        lines.append("notes:")
        lines += [f"  {n}" for n in m.notes]
    if path is not None:
        lines.append("")
        lines.append(f"cache: {path}")
    return "\n".join(lines)


def cmd_machine(args) -> int:
    progress = _progress if sys.stderr.isatty() else None
    m = bench_machine.load_machine(refresh=args.refresh, quick=args.quick, progress=progress)
    if args.format == "json":
        print(json.dumps(m.to_dict(), indent=2))
    else:
        print(to_text(m, bench_machine.cache_path()))
    return 0
