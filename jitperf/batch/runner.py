"""run(): one kernel over one input file, chunk by chunk, into a Report.

The input is mapped read-only and walked along axis 0 in chunks of about
``chunk_bytes``; each chunk is a view of the map, never a copy. A transform
writes into a .npy map beside its target that is renamed into place only
when complete (see jitperf.io.output). Nothing here prints: progress goes to
the ``progress(nbytes)`` callback and the result into the Report.
"""

from __future__ import annotations

import os
import time

import numba

from .. import _plan
from ..errors import InputError
from ..io import AtomicFile, NpyOutput, open_input
from .chunks import Prefetcher, rows_per_chunk, spans
from .kernels import lookup, parse_params
from .report import Report, Timer

CHUNK_BYTES = 64 << 20


def rss_anon() -> int | None:
    """This process's anonymous resident memory in bytes (RssAnon), or None
    where /proc does not say. Page cache held by the maps is not in it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _threads(threads) -> int:
    if threads is None:
        return numba.get_num_threads()
    most = numba.config.NUMBA_NUM_THREADS
    if not isinstance(threads, int) or not 1 <= threads <= most:
        raise InputError(f"--threads: expected an int in [1, {most}], got {threads!r}")
    return threads


def check_options(chunk_bytes, variant) -> None:
    """InputError unless chunk_bytes is a positive size and variant a variant."""
    if chunk_bytes is None or int(chunk_bytes) < 1:
        raise InputError(f"--chunk-mb: expected a positive size, got {chunk_bytes!r}")
    if variant not in ("auto", "strict", "simd", "parallel"):
        raise InputError(f"--variant: expected auto, strict, simd or parallel, got {variant!r}")


def run(
    kernel: str,
    path,
    *,
    params: dict | None = None,
    axis=None,
    output=None,
    chunk_bytes: int = CHUNK_BYTES,
    variant: str = "auto",
    threads: int | None = None,
    force: bool = False,
    dtype=None,
    shape=None,
    offset: int = 0,
    progress=None,
    touch_ahead: bool = False,
) -> Report:
    """Run ``kernel`` over the file at ``path`` and report.

    ``params`` are the kernel's parameters (strings are parsed as the CLI's
    ``-p`` values); ``dtype``, ``shape`` and ``offset`` describe a raw file.
    ``touch_ahead`` faults the next chunk in on a worker thread (see
    jitperf.batch.chunks for when that pays). Transforms need ``output``, a
    path for the .npy they write; an existing file there is replaced only
    with ``force``. Bad input raises InputError,
    an unwritable output OutputError; both leave nothing behind.
    """
    spec = lookup(kernel)
    p = parse_params(spec, params)
    check_options(chunk_bytes, variant)
    nthreads = _threads(threads)
    src = open_input(path, dtype=dtype, shape=shape, offset=offset)
    before = numba.get_num_threads()
    numba.set_num_threads(nthreads)
    try:
        return _run(
            spec,
            src,
            p,
            axis,
            output,
            int(chunk_bytes),
            variant,
            force,
            progress,
            touch_ahead,
        )
    finally:
        numba.set_num_threads(before)
        src.close()


def _run(spec, src, p, axis, output, chunk_bytes, variant, force, progress, touch_ahead):
    x = src.array
    rows = rows_per_chunk(x.shape, x.itemsize, chunk_bytes)
    row_bytes = x.nbytes // x.shape[0]
    resolved = _plan.variant(variant, rows * row_bytes)
    setup = time.perf_counter()
    stream = spec.stream(
        spec, x, p, axis, resolved if spec.stream.resolves_auto else variant, src.path
    )
    setup = time.perf_counter() - setup
    if stream.writes and output is None:
        raise InputError(f"-o: {spec.name} writes an array; give -o PATH")
    if not stream.writes and output is not None:
        raise InputError(f"-o: {spec.name} reports its result; -o is for transforms")
    parts = spans(x.shape[0], rows)
    timer = Timer()
    started = time.perf_counter()
    peak = start_rss = rss_anon()
    out_file = None
    try:
        if stream.writes:
            out_file = AtomicFile(output, force=force)
        sink = None
        if out_file is not None:
            shape, dt, fortran = stream.output()
            sink = NpyOutput(out_file, shape, dt, fortran)
        with Prefetcher(src, parts, timer, touch=touch_ahead) as chunks:
            for a, b in chunks:
                span = stream.out_span(a, b) if sink else None
                target = sink.region(*span) if span else None
                with timer.phase("compute"):
                    stream.step(a, b, target)
                if span:
                    with timer.phase("write"):
                        sink.done(*span, target)
                if progress is not None:
                    progress((b - a) * row_bytes)
                rss = rss_anon()
                peak = rss if peak is None or (rss or 0) > peak else peak
        with timer.phase("merge"):
            value = stream.finish(sink)
        if out_file is not None:
            with timer.phase("write"):
                sink.close()
                value = {"output": out_file.commit()}
    except BaseException:
        if out_file is not None:
            out_file.abort()
        raise
    return Report(
        kernel=spec.name,
        input=src.path,
        dtype=str(x.dtype),
        shape=x.shape,
        axis=stream.axis,
        params=p,
        variant=resolved,
        threads=numba.get_num_threads(),
        chunk_bytes=rows * row_bytes,
        chunks=len(parts),
        elapsed_s=time.perf_counter() - started,
        bytes=x.nbytes,
        result=value,
        phases_s=dict(timer.seconds),
        setup_s=setup,
        rss_anon_peak_bytes=peak,
        rss_anon_start_bytes=start_rss,
    )


def output_for(path: str, kernel: str, output, several: bool) -> str | None:
    """The output path of ``path``: ``output`` itself, or for several inputs
    (or an existing folder) ``output/<stem>.<kernel>.npy``."""
    if output is None:
        return None
    if several or os.path.isdir(output):
        stem = os.path.splitext(os.path.basename(path))[0]
        return os.path.join(output, f"{stem}.{kernel}.npy")
    return output
