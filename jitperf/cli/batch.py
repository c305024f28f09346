"""``jitperf run`` and ``jitperf gen``: batch runs over files, and sample files."""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import glob
import json
import math
import os
import sys

from .. import batch
from ..batch.kernels import KERNELS
from ..batch.params import split
from ..batch.report import PHASES
from ..batch.runner import output_for
from ..errors import InputError
from ..io import AtomicFile, generate
from ..io.gen import check


def _axis(text: str):
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int or 'none', got {text!r}") from None


def join_negative_shape(argv: list[str]) -> list[str]:
    """``--shape -1,C`` as ``--shape=-1,C``: argparse would read -1,C as an option."""
    out = list(argv)
    for i in range(len(out) - 1):
        if out[i] == "--shape" and out[i + 1].startswith("-"):
            out[i : i + 2] = [f"--shape={out[i + 1]}"]
            break
    return out


def _kernels_help() -> str:
    width = max(map(len, KERNELS))
    lines = [f"  {name:<{width}}  {spec.summary}" for name, spec in KERNELS.items()]
    return "kernels:\n" + "\n".join(lines)


def add_commands(sub) -> None:
    r = sub.add_parser(
        "run",
        help="run a kernel over .npy or raw files, chunk by chunk",
        description="Run KERNEL over each INPUT (memory-mapped, in chunks along axis 0). "
        "Reductions print their result; transforms write a .npy to -o.",
        epilog=_kernels_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("kernel", metavar="KERNEL", help="a kernel name (listed below)")
    r.add_argument("inputs", metavar="INPUT", nargs="+", help=".npy or raw files, or globs")
    r.add_argument(
        "-p",
        dest="params",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a kernel parameter (repeatable)",
    )
    r.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        help="output .npy of a transform (a folder for several inputs)",
    )
    r.add_argument(
        "--axis",
        type=_axis,
        default=None,
        metavar="A",
        help="axis of a reduction, window or scan (default: none; windows -1)",
    )
    r.add_argument(
        "--chunk-mb",
        type=float,
        default=64.0,
        metavar="MB",
        help="chunk size in MiB (default 64; fractions allowed)",
    )
    r.add_argument("--variant", default="auto", choices=["auto", "strict", "simd", "parallel"])
    r.add_argument("--threads", type=int, metavar="N", help="threads for the parallel variant")
    r.add_argument(
        "--format",
        default="text",
        choices=["text", "json"],
        help="json: one object per input, one per line",
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    r.add_argument("--force", action="store_true", help="overwrite existing outputs")
    r.add_argument(
        "--profile", metavar="FILE", help="write a cProfile (pstats) file and print the time split"
    )
    r.add_argument(
        "--touch-ahead",
        action="store_true",
        help="fault the next chunk in on a worker thread (slower on cached files)",
    )
    dk = r.add_argument_group("engine (where the chunks run)")
    dk.add_argument(
        "--engine",
        default="local",
        choices=["local", "dask"],
        help="local: this process (default); dask: tasks on a dask cluster (jitperf[dask])",
    )
    dk.add_argument("--scheduler", metavar="ADDRESS", help="dask: a running distributed scheduler")
    dk.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="dask: start a LocalCluster of N worker processes for the run (default: one per core)",
    )
    raw = r.add_argument_group("raw inputs (files without a .npy header)")
    raw.add_argument("--dtype", help="element type, e.g. float32 (required for raw files)")
    raw.add_argument("--shape", help="N or N,C (one may be -1; default: 1-D from the size)")
    raw.add_argument(
        "--offset", type=int, default=0, metavar="BYTES", help="bytes to skip before the data"
    )
    r.set_defaults(func=cmd_run)

    g = sub.add_parser(
        "gen",
        help="write a sample .npy or raw file, in chunks",
        description="Write a sample array to PATH: .npy with a header, any other name raw.",
    )
    g.add_argument("path", metavar="PATH")
    g.add_argument("--dtype", required=True, help="element type, e.g. float32")
    g.add_argument("--shape", required=True, help="N or N,C")
    g.add_argument(
        "--nan-fraction",
        type=float,
        default=0.0,
        metavar="F",
        help="fraction of NaN values (floats only)",
    )
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--dist", default="normal", choices=["normal", "uniform"])
    g.add_argument("--fortran", action="store_true", help="Fortran-ordered .npy")
    g.add_argument("--force", action="store_true", help="overwrite an existing file")
    g.add_argument("--no-progress", action="store_true")
    g.set_defaults(func=cmd_gen)


def _expand(patterns) -> list[str]:
    """Inputs with globs expanded (a pattern matching nothing is an error)."""
    paths = []
    for p in patterns:
        if os.path.exists(p) or not any(c in p for c in "*?["):
            paths.append(p)
            continue
        found = sorted(glob.glob(p))
        if not found:
            raise InputError(f"{p}: no file matches")
        paths.extend(found)
    return paths


@contextlib.contextmanager
def _progress(total: int, disable: bool, desc: str):
    """A byte-counting update(n) for a tqdm bar on stderr, shown only past one
    second and only on a terminal; None when there is no bar."""
    if disable or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc=desc,
        file=sys.stderr,
        delay=1.0,
        leave=False,
        dynamic_ncols=True,
    )
    try:
        yield bar.update
    finally:
        bar.close()


def _input_bytes(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _mib(n) -> str:
    return "?" if n is None else f"{n / 2**20:.1f} MiB"


def format_text(rep) -> str:
    d = rep.to_dict()
    head = (
        f"{d['kernel']}  {d['input']}  {d['dtype']} {tuple(d['shape'])}  axis={d['axis']}  "
        f"{d['variant']} x{d['threads']}  {d['chunks']} chunks of {_mib(d['chunk_bytes'])}"
    )
    res = d["result"]
    if isinstance(res, dict):
        width = max(map(len, res))
        body = "\n".join(f"  {k:<{width}}  {v}" for k, v in res.items())
    else:
        body = f"  result  {res}"
    tail = (
        f"  {d['elapsed_s']:.3f} s  {d['gbps']:.2f} GB/s  "
        f"peak RssAnon {_mib(d['rss_anon_peak_bytes'])}"
    )
    return "\n".join([head, body, tail])


def _print_split(phases: dict, path: str) -> None:
    total = sum(phases.values()) or 1.0
    parts = ", ".join(f"{k} {phases[k]:.3f} s ({100 * phases[k] / total:.0f}%)" for k in PHASES)
    print(f"profile: {parts}; pstats in {path}", file=sys.stderr)


def _check_engine(args) -> None:
    if args.engine != "dask":
        for opt, value in (("--scheduler", args.scheduler), ("--workers", args.workers)):
            if value is not None:
                raise InputError(f"{opt}: is for --engine dask")
        return
    if args.scheduler is not None and args.workers is not None:
        raise InputError("--workers: starts a cluster of its own; --scheduler names one, give one")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers: expected an int >= 1, got {args.workers}")
    if args.touch_ahead:
        raise InputError(
            "--touch-ahead: is for --engine local (dask workers read their own chunks)"
        )


def _dask_engine():
    try:
        from ..dask import engine
    except ImportError as e:
        raise InputError(
            f"--engine dask: needs dask and distributed ({e}); pip install jitperf[dask]"
        ) from None
    return engine


def _runner(args, paths, params, several, stack):
    """run(i, progress) -> the Report of paths[i], on the engine asked for.
    The dask engine checks every input before it starts (or reaches) any worker."""
    kw = [
        dict(
            params=params,
            axis=args.axis,
            output=output_for(path, args.kernel, args.output, several),
            chunk_bytes=max(1, int(args.chunk_mb * 2**20)),
            variant=args.variant,
            threads=args.threads,
            force=args.force,
            dtype=args.dtype,
            shape=args.shape,
            offset=args.offset,
        )
        for path in paths
    ]
    if args.engine == "local":

        def run(i, up):
            return batch.run(
                args.kernel, paths[i], progress=up, touch_ahead=args.touch_ahead, **kw[i]
            )

        return run
    engine = _dask_engine()
    plans = [engine.plan(args.kernel, path, **k) for path, k in zip(paths, kw, strict=True)]
    client = stack.enter_context(engine.connect(args.scheduler, args.workers, args.threads))
    link = engine.dashboard(client)
    if link and not args.no_progress and sys.stderr.isatty():
        print(f"dask dashboard: {link}", file=sys.stderr)
    return lambda i, up: engine.execute(plans[i], client, progress=up)


def cmd_run(args) -> int:
    if not (math.isfinite(args.chunk_mb) and args.chunk_mb > 0):
        raise InputError(f"--chunk-mb: expected a size in MiB > 0, got {args.chunk_mb}")
    _check_engine(args)
    paths = _expand(args.inputs)
    several = len(paths) > 1
    if several and args.output is not None and not os.path.isdir(args.output):
        raise InputError(f"-o {args.output}: expected a folder for {len(paths)} inputs")
    params = split(args.params)
    with contextlib.ExitStack() as stack:  # the dask engine's client, if any
        run = _runner(args, paths, params, several, stack)
        _run_all(args, paths, run)
    return 0


def _run_all(args, paths, run) -> None:
    profile_out = AtomicFile(args.profile, force=args.force) if args.profile else None
    prof = cProfile.Profile() if profile_out else None
    phases = dict.fromkeys(PHASES, 0.0)
    with profile_out if profile_out else contextlib.nullcontext():
        for i, path in enumerate(paths):
            with _progress(_input_bytes(path), args.no_progress, os.path.basename(path)) as up:
                if prof:
                    prof.enable()
                try:
                    rep = run(i, up)
                finally:
                    if prof:
                        prof.disable()
            for k in PHASES:
                phases[k] += rep.phases_s.get(k, 0.0)
            if args.format == "json":
                print(json.dumps(rep.to_dict()), flush=True)
            else:
                print(format_text(rep), flush=True)
        if prof:
            prof.dump_stats(profile_out.path)
            profile_out.commit()
            _print_split(phases, args.profile)


def cmd_gen(args) -> int:
    dt, shape = check(args.dtype, args.shape, args.nan_fraction, args.dist)
    total = dt.itemsize * math.prod(shape)
    with _progress(total, args.no_progress, os.path.basename(args.path)) as up:
        path = generate(
            args.path,
            dt,
            shape,
            nan_fraction=args.nan_fraction,
            seed=args.seed,
            dist=args.dist,
            fortran=args.fortran,
            force=args.force,
            progress=up,
        )
    print(f"wrote {path}: {dt} {shape}, {total / 2**20:.1f} MiB", file=sys.stderr)
    return 0
