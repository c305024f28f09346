"""``jitperf bench``: kernels against their baselines, with the machine's limits."""

from __future__ import annotations

import json
import os
import re
import sys

from ..bench.compare import format_time
from ..errors import InputError
from ..io import AtomicFile

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def size_arg(text: str) -> tuple[str, int]:
    """("bytes", B) for 64M / 64MiB / 1GB-style sizes, ("n", N) for a plain count."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgKMG]?)(i?[bB])?\s*", text)
    if not m:
        raise InputError(f"--size: expected BYTES (e.g. 64M, 1GiB) or a count N, got {text!r}")
    value, unit, b = float(m[1]), m[2].lower(), m[3]
    if not unit and not b:
        return "n", int(value)
    return "bytes", int(value * _UNITS[unit])


def _list(text: str, allowed, what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in allowed]
    if bad:
        raise InputError(f"{what}: unknown {bad[0]!r} (expected some of {', '.join(allowed)})")
    return items


def add_commands(sub) -> None:
    from ..bench.harness import BASELINES, VARIANTS
    from ..bench.suites import GROUPS, SPECS

    b = sub.add_parser(
        "bench",
        help="time kernels against numpy and peers, with the machine's limits",
        description="Time each KERNEL (default: the default group) in the jitperf "
        "variants and against the baselines that are installed, round-robin, "
        "with allocations per op and the fraction of the machine limit reached.",
    )
    b.add_argument("kernels", nargs="*", metavar="KERNEL", help=", ".join(SPECS))
    b.add_argument("--dtype", default="float32,float64")
    b.add_argument("--size", help="main input size: BYTES (64M, 1GiB) or an element count N")
    b.add_argument("--variants", default=",".join(VARIANTS))
    b.add_argument("--baselines", default=",".join(BASELINES))
    b.add_argument("--repeat", type=int, default=11)
    b.add_argument("--json", metavar="FILE", help="write the results (schema in the README)")
    b.add_argument("--compare", metavar="OLD.json", help="compare with an earlier --json")
    b.add_argument("--plot", metavar="FILE.png", help="roofline and speedup plots (matplotlib)")
    b.add_argument(
        "--group",
        choices=[*GROUPS, "alloc", "targets"],
        help="a named set of kernels; alloc: the allocation-pattern pairs; targets: the "
        "performance targets, each ratio with PASS or FAIL",
    )
    b.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    b.add_argument("--profile", metavar="DIR", help="one cProfile file per row")
    b.add_argument("--force", action="store_true", help="overwrite --json / --plot files")
    b.set_defaults(func=cmd_bench)


def _line(row, numpy_median, width: int = 12) -> str:
    lim = f"{100 * row.limit_frac:5.1f}%" if row.limit_frac is not None else "    -"
    speed = f"{numpy_median / row.median_s:6.2f}x" if numpy_median else "      "
    allocs = "-" if row.allocs_per_op is None else f"{row.allocs_per_op:g}"
    return (
        f"{row.kernel:{width}s} {row.impl:14s} {row.dtype:8s} {row.n:>10d} "
        f"{format_time(row.median_s):>10s} ±{format_time(row.iqr_s):>9s} {row.gbps:7.2f} "
        f"{row.gflops:7.2f} {lim} {speed} {allocs:>6s} {row.bytes_per_op:>9.0f}"
    )


def header(width: int = 12) -> str:
    return (
        f"{'kernel':{width}s} {'impl':14s} {'dtype':8s} {'n':>10s} {'median':>10s} "
        f"{'IQR':>10s} {'GB/s':>7s} {'GFLOP/s':>7s} {'limit':>6s} {'vs np':>7s} "
        f"{'allocs':>6s} {'bytes/op':>9s}"
    )


def cmd_bench(args) -> int:
    # An OpenMP pool that spins after its region (libgomp's default) steals
    # the core from whatever the round-robin times next: numpy's dot went
    # from 78 us to 6.9 ms after the C reference's calls. Set before numba or
    # the C reference load libgomp; a policy the user set is kept.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from ..bench import harness
    from ..bench.suites import GROUPS, SPECS

    kernels = list(args.kernels) or GROUPS.get(args.group or "default", [])
    unknown = [k for k in kernels if k not in SPECS]
    if unknown:
        raise InputError(f"kernel: unknown {unknown[0]!r} (expected one of {', '.join(SPECS)})")
    dtypes = _list(args.dtype, ("float32", "float64"), "--dtype")
    variants = _list(args.variants, harness.VARIANTS, "--variants") if args.variants else []
    baselines = _list(args.baselines, harness.BASELINES, "--baselines") if args.baselines else []
    if args.repeat < 3:
        raise InputError(f"--repeat: expected at least 3 runs, got {args.repeat}")
    size = None
    if args.size:
        kind, value = size_arg(args.size)
        size = value if kind == "bytes" else value * 4  # N float32 elements' worth
    outputs = [AtomicFile(p, force=args.force) for p in (args.json, args.plot) if p]
    for out in outputs:
        out.abort()  # only the early no-clobber check; written at the end
    machine = _machine(args.quick)
    numpy_medians = {}
    width = 34 if args.group == "alloc" else 12  # the pattern names are long
    print(header(width), flush=True)

    def progress(row):
        if row.impl == "numpy":
            numpy_medians[(row.kernel, row.dtype)] = row.median_s
        print(_line(row, numpy_medians.get((row.kernel, row.dtype)), width), flush=True)

    repeat = 5 if args.quick else args.repeat
    results = None
    if args.group == "alloc":
        from ..bench.patterns import run_patterns

        run = harness.Run(rows=run_patterns(repeat=repeat, quick=args.quick, progress=progress))
    elif args.group == "targets":
        from ..bench import targets
        from ..bench.suites import QUICK_SIZE, SIZE

        scale = (size or (QUICK_SIZE if args.quick else SIZE)) / SIZE
        tr = targets.run(repeat=repeat, machine=machine, progress=progress, size_scale=scale)
        results = tr.results + targets.start_targets()
        run = harness.Run(rows=tr.rows, notes=tr.notes)
        print()
        print(targets.table(results))
    else:
        run = harness.run(kernels, dtypes=dtypes, size=size, variants=variants,
                          baselines=baselines, repeat=repeat, quick=args.quick,
                          machine=machine, progress=progress, profile_dir=args.profile)  # fmt: skip
    for note in run.notes:
        print(f"note: {note}", file=sys.stderr)
    doc = harness.document(run, machine, ["jitperf", *sys.argv[1:]])
    if results is not None:
        doc["targets"] = [r.to_dict() for r in results]
    if args.json:
        with AtomicFile(args.json, force=args.force) as out:
            out.write(json.dumps(doc, indent=1).encode())
            out.commit()
    if args.compare:
        from ..bench.compare import compare, load_results

        print()
        old = load_results(args.compare)
        print(compare(old, doc, old_name=args.compare, new_name=args.json or "this run").to_text())
    if args.plot:
        from ..bench.plot import plot

        plot(doc, args.plot, force=args.force)
    return 0


def _machine(quick: bool):
    try:
        from ..bench.machine import load_machine
    except ImportError:
        return None
    return load_machine(quick=quick).to_dict()
