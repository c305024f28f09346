"""``jitperf run --engine dask``: tasks that each map their own rows of the file on a worker.
Reductions merge chunk states in a tree; transforms fill a preallocated .npy renamed into place.
Workers started here: 1 task thread, NUMBA_NUM_THREADS = cores // workers, layer "threadsafe".
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import logging
import math
import os
import time
import uuid

import dask.array as da
import numba
import numpy as np
from dask.highlevelgraph import HighLevelGraph
from distributed import Client, LocalCluster, as_completed, futures_of

from .. import _plan
from ..batch import streams as S
from ..batch.chunks import rows_per_chunk, spans
from ..batch.kernels import lookup, parse_params
from ..batch.report import Report
from ..batch.runner import CHUNK_BYTES, check_options
from ..errors import InputError
from ..io import AtomicFile, open_input
from ..io.output import check_target, npy_header
from ..kernels import scan
from ..pool import BufferPool
from . import _parts

# how long a run waits for a first worker to join the scheduler
WAIT_FOR_WORKERS_S = 60

# --------------------------------------------------------------------------
# the cluster


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threadsafe_layer() -> str | None:
    """The NUMBA_THREADING_LAYER for workers: "threadsafe" (tbb, else omp)
    where one of those loads here, else None: numba's workqueue layer, safe
    only with one call at a time, as one task thread per worker has it."""
    for mod in ("numba.np.ufunc.tbbpool", "numba.np.ufunc.omppool"):
        try:
            importlib.import_module(mod)
        except (ImportError, OSError):
            continue
        return "threadsafe"
    return None


def worker_env(workers: int, threads: int | None = None) -> dict:
    """The numba environment of ``workers`` worker processes on this machine:
    ``threads`` numba threads each (default: the cores shared out), so that
    together they do not oversubscribe the cores."""
    # a worker's pool can be no larger than this process's: a spawned worker
    # may size it at import, from the environment it inherits (dask_setup)
    most = numba.config.NUMBA_NUM_THREADS
    if threads is not None and not (isinstance(threads, int) and 1 <= threads <= most):
        raise InputError(f"--threads: expected an int in [1, {most}], got {threads!r}")
    env = {"NUMBA_NUM_THREADS": str(threads or min(most, max(1, _cores() // workers)))}
    layer = threadsafe_layer()
    if layer:
        env["NUMBA_THREADING_LAYER"] = layer
    return env


def dask_setup(worker) -> None:
    """Worker preload hook (``dask worker --preload jitperf.dask.engine``).

    The nanny sets a worker's environment after its process started, and a
    spawned worker has imported numba by then when the client's main module
    does (the jitperf script does): numba keeps the thread count it read at
    import, and a compile after its threads started, seeing another
    NUMBA_NUM_THREADS, raises RuntimeError (seen here). Rereading the
    environment before any task runs makes config and environment agree;
    tasks then set their thread count (_threads) whatever the pool's size.
    """
    numba.core.config.reload_config()


def _threads(job_threads: int | None) -> int:
    """The numba threads of a task: the job's, or the worker's NUMBA_NUM_THREADS."""
    return job_threads or numba.config.NUMBA_NUM_THREADS


def local_cluster(workers: int | None = None, threads: int | None = None, **kw) -> LocalCluster:
    """A LocalCluster of ``workers`` processes (default: one per core), one
    task thread each, with worker_env(); ``kw`` go to LocalCluster."""
    n = workers or _cores()
    opts = dict(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        env=worker_env(n, threads),
        preload=[__name__],
        # any free port: two clusters on one machine must not collide
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    opts.update(kw)
    return LocalCluster(**opts)


@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int | None = None, threads: int | None = None):
    """A Client of the scheduler at ``scheduler``, or of a LocalCluster of
    ``workers`` processes started for the block and closed after it."""
    cluster = None
    try:
        if scheduler is not None:
            try:
                client = Client(scheduler)
            except (OSError, ValueError, TypeError) as e:
                reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                raise InputError(f"--scheduler {scheduler}: cannot connect ({reason})") from None
        else:
            cluster = local_cluster(workers, threads)
            client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def dashboard(client) -> str | None:
    """The scheduler's dashboard link; None without bokeh here, as its pages
    then only say to install it (on a local cluster, at least)."""
    if importlib.util.find_spec("bokeh") is None:
        return None
    try:
        return client.dashboard_link
    except (KeyError, AttributeError):
        return None


# --------------------------------------------------------------------------
# what runs on the workers


@dataclasses.dataclass(frozen=True)
class Job:
    """What a task needs to find its rows and run its kernel (small, picklable):
    the input by path (dtype/shape/offset for raw files), the checked
    parameters, the variant as given (resolved on the worker, for a full
    chunk of ``chunk_nbytes``), and the output once the client made it:
    (temporary path, data offset, shape, dtype, fortran)."""

    kernel: str
    path: str
    dtype: str | None
    shape: tuple | None
    offset: int
    params: dict
    axis: object
    variant: str
    chunk_nbytes: int
    threads: int | None
    out: tuple | None = None


# one scratch buffer of output rows per worker thread, kept between tasks
_POOL = BufferPool(max_per_key=2)


@contextlib.contextmanager
def _stream(job: Job):
    """The kernel's stream over the whole (mapped) input, as the local runner
    makes it, with numba's threads set for the task."""
    before = numba.get_num_threads()
    numba.set_num_threads(_threads(job.threads))
    src = open_input(job.path, dtype=job.dtype, shape=job.shape, offset=job.offset)
    try:
        spec = lookup(job.kernel)
        v = _plan.variant(job.variant, job.chunk_nbytes)
        v = v if spec.stream.resolves_auto else job.variant
        yield spec.stream(spec, src.array, job.params, job.axis, v, src.path)
    finally:
        src.close()
        numba.set_num_threads(before)


def _state_task(job: Job, a: int, b: int):
    with _stream(job) as s:
        return s.red.chunk(s.x[a:b], s.axis, s.variant, **s.chunk_kw(a, b))[0]


def _counts_task(job: Job, a: int, b: int):
    with _stream(job) as s:
        s.step(a, b, None)
        return s.counts


def _total_task(job: Job, a: int, b: int):
    with _stream(job) as s:
        return _parts.total(s.x[a:b], s.axis, s.variant)


def _write_task(job: Job, a: int, b: int, starts=None, i: int = 0):
    """Rows a:b into the output: a C-ordered one by pwrite from a scratch buffer
    (writing through a map of the reserved file ran 3x slower, see
    jitperf.io.output), a Fortran one through a map of it."""
    path, data_offset, shape, dtype, fortran = job.out
    dt = np.dtype(dtype)
    with _stream(job) as s:
        if starts is not None:
            s.carry = np.array(starts[i], dtype=starts.dtype).reshape(
                scan.carry_shape(s.x.shape, s.axis)
            )
        lo, hi = s.out_span(a, b)
        if fortran:
            m = np.memmap(path, dt, "r+", offset=data_offset, shape=tuple(shape), order="F")
            s.step(a, b, m[lo:hi])
            m.flush()
            return b - a
        row = dt.itemsize * math.prod(shape[1:])
        with _POOL.borrow((hi - lo,) + tuple(shape[1:]), dt) as buf:
            s.step(a, b, buf)
            fd = os.open(path, os.O_WRONLY)
            try:
                view, at = memoryview(buf).cast("B"), data_offset + lo * row
                while view:
                    n = os.pwrite(fd, view, at)
                    view, at = view[n:], at + n
            finally:
                os.close(fd)
    return b - a


def _worker_info(job: Job):
    """(numba's thread limit, the threads a task uses, the variant it runs).

    Within the limit, it also makes the job's stream once, whose checks load
    (or compile) the kernels: a run's elapsed time then starts, as a local
    one's does, with the kernels ready.
    """
    before = numba.get_num_threads()
    most = numba.config.NUMBA_NUM_THREADS
    n = _threads(job.threads)
    try:
        if n <= most:
            numba.set_num_threads(n)
            with _stream(job):
                pass
        return most, n, _plan.variant(job.variant, job.chunk_nbytes)
    finally:
        numba.set_num_threads(before)


# --------------------------------------------------------------------------
# the client's side


@dataclasses.dataclass
class Plan:
    """One checked run, ready to go to a cluster (see plan())."""

    job: Job
    input: str  # the path as given
    params: dict
    kind: str  # "reduce", "histogram", "cumsum" or "write"
    parts: list
    shape: tuple
    dtype: np.dtype
    row_bytes: int
    axis: object
    output: str | None
    force: bool
    out_spec: tuple | None  # (shape, dtype, fortran)
    finish_kw: dict
    per_row: bool
    out_dtype: object  # a reduction's result dtype (object: a Stats record)
    setup_s: float


def _kind(stream: type) -> str:
    if issubclass(stream, S.Reduce):
        return "reduce"
    if stream is S.Histogram:
        return "histogram"
    if stream is S.Cumsum:
        return "cumsum"
    return "write"


def plan(
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
) -> Plan:
    """Check a run as jitperf.batch.run would (same arguments, same
    InputErrors), here, before any worker is involved."""
    started = time.perf_counter()
    spec = lookup(kernel)
    p = parse_params(spec, params)
    check_options(chunk_bytes, variant)
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise InputError(f"--threads: expected an int >= 1, got {threads!r}")
    src = open_input(path, dtype=dtype, shape=shape, offset=offset)
    stream = None
    try:
        x = src.array
        rows = rows_per_chunk(x.shape, x.itemsize, int(chunk_bytes))
        row_bytes = x.nbytes // x.shape[0]
        v = _plan.variant(variant, rows * row_bytes)
        stream = spec.stream(
            spec, x, p, axis, v if spec.stream.resolves_auto else variant, src.path
        )
        if stream.writes and output is None:
            raise InputError(f"-o: {spec.name} writes an array; give -o PATH")
        if not stream.writes and output is not None:
            raise InputError(f"-o: {spec.name} reports its result; -o is for transforms")
        if output is not None:
            output = os.fspath(output)
            check_target(output, force)
        raw = src.kind == "raw"
        wp = dict(p)
        if "y" in wp:  # a second input: the workers may run elsewhere
            wp["y"] = os.path.abspath(wp["y"])
        out_dtype = None
        if isinstance(stream, S.Reduce):
            red, kw = stream.red, stream.finish_kw
            st, shp = red.chunk(x[:1], stream.axis, stream.variant, **stream.chunk_kw(0, 1))
            out_dtype = np.asarray(red.finish(st, shp, x.dtype, **kw)).dtype
        job = Job(
            kernel=spec.name,
            path=os.path.abspath(src.path),
            dtype=str(x.dtype) if raw else None,
            shape=tuple(x.shape) if raw else None,
            offset=src.offset if raw else 0,
            params=wp,
            axis=stream.axis,
            variant=variant,
            chunk_nbytes=rows * row_bytes,
            threads=threads,
        )
        return Plan(
            job=job,
            input=src.path,
            params=p,
            kind=_kind(spec.stream),
            parts=spans(x.shape[0], rows),
            shape=tuple(x.shape),
            dtype=x.dtype,
            row_bytes=row_bytes,
            axis=stream.axis,
            output=output,
            force=force,
            out_spec=stream.output() if stream.writes else None,
            finish_kw=getattr(stream, "finish_kw", {}),
            per_row=bool(getattr(stream, "per_row", False)),
            out_dtype=out_dtype,
            setup_s=time.perf_counter() - started,
        )
    finally:
        del stream
        src.close()


class _Tasks:
    """The futures of one run: progress as they finish, cancelled on failure."""

    def __init__(self, client, progress):
        self.client = client
        self.progress = progress
        self.futures = []

    def keep(self, futures):
        self.futures.extend(futures)
        return futures

    def wait(self, futures, nbytes):
        """Wait for every future, raising the first task error; ``nbytes(f)``
        is what each counts for in the progress. The results stay on the
        workers (result() would fetch each one here)."""
        for f in as_completed(futures):
            if f.status != "finished":
                f.result()  # raises the task's error (or CancelledError)
            if self.progress is not None:
                self.progress(nbytes(f))

    def cancel(self):
        if self.futures:
            self.client.cancel(self.futures, force=True)


def _sizes(p: Plan):
    return [(b - a) * p.row_bytes for a, b in p.parts]


def _states(p: Plan, job: Job, task) -> da.Array:
    """A dask array of the chunks' states: one task per chunk, named for this
    run only (a file may change between two runs on one cluster)."""
    name = f"jitperf-{job.kernel}-chunk-{uuid.uuid4().hex}"
    if p.per_row:  # every chunk's rows are outputs of their own
        dsk = {(name, i, 0): (task, job, a, b) for i, (a, b) in enumerate(p.parts)}
        chunks = (tuple(b - a for a, b in p.parts), (1,))
    else:
        dsk = {(name, i): (task, job, a, b) for i, (a, b) in enumerate(p.parts)}
        chunks = ((1,) * len(p.parts),)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    return da.Array(graph, name, chunks, meta=np.empty((0,) * len(chunks), dtype=object))


def _persisted(t: _Tasks, p: Plan, job: Job, task) -> da.Array:
    states = t.client.persist(_states(p, job, task))
    futs = t.keep(futures_of(states))
    sizes = _sizes(p)
    t.wait(futs, lambda f: sizes[f.key[1]])
    return states


def _reduce(t: _Tasks, p: Plan, job: Job, split_every):
    spec = lookup(job.kernel)
    states = _persisted(t, p, job, _state_task)
    axes = (1,) if p.per_row else (0,)
    scalar = not p.per_row and (p.axis is None or len(p.shape) == 1)
    out = _parts.tree(
        states, spec.name, axes, p.out_dtype, p.dtype, p.finish_kw, scalar, split_every
    )
    blocks = t.keep(t.client.compute(list(out.to_delayed().flat)))
    value = _parts.join(t.client.gather(blocks))
    return spec.present(value, p.params)


def _histogram(t: _Tasks, p: Plan, job: Job, out_file: AtomicFile, split_every):
    states = _persisted(t, p, job, _counts_task)
    (total,) = t.keep(t.client.compute([_parts.tree_sum(states, split_every).to_delayed()[()]]))
    out_file.write(np.ascontiguousarray(total.result(), dtype=np.int64))


def _write(t: _Tasks, p: Plan, job: Job):
    client, sizes = t.client, _sizes(p)
    starts = None
    if p.kind == "cumsum" and not p.per_row:
        totals = t.keep([client.submit(_total_task, job, a, b, pure=False) for a, b in p.parts])
        starts = t.keep([client.submit(_stack_carries, totals, pure=False)])[0]
    futs = t.keep(
        [
            client.submit(_write_task, job, a, b, starts, i, pure=False)
            for i, (a, b) in enumerate(p.parts)
        ]
    )
    index = {f.key: i for i, f in enumerate(futs)}
    t.wait(futs, lambda f: sizes[index[f.key]])


def _stack_carries(totals: list) -> np.ndarray:
    return _parts.carries(np.stack([np.asarray(v) for v in totals]))


def _workers(client, job: Job) -> tuple[int, str]:
    """(numba threads per task, resolved variant) as the workers have them."""
    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
    except TimeoutError:
        raise InputError(
            f"--scheduler: no worker joined the scheduler in {WAIT_FOR_WORKERS_S} s"
        ) from None
    # as a task on every worker (not client.run, on its event loop): a first
    # compile can take seconds
    futs = [
        client.submit(_worker_info, job, workers=[w], allow_other_workers=True, pure=False)
        for w in client.scheduler_info()["workers"]
    ]
    info = dict(enumerate(client.gather(futs)))
    most = min(m for m, _, _ in info.values())
    if job.threads is not None and job.threads > most:
        raise InputError(
            f"--threads: expected an int in [1, {most}] (the workers'), got {job.threads}"
        )
    _, threads, variant = next(iter(info.values()))
    return threads, variant


def execute(p: Plan, client, *, progress=None, split_every=None) -> Report:
    """Run a plan() on ``client``'s cluster and report as jitperf.batch.run.

    ``progress(nbytes)`` is called as chunks finish; ``split_every`` is the
    fan-in of the reduction tree (dask's default when None). A failure or an
    interrupt cancels the tasks and leaves nothing at the output.
    """
    setup = time.perf_counter()
    threads, variant = _workers(client, p.job)
    setup = p.setup_s + time.perf_counter() - setup
    t = _Tasks(client, progress)
    timer = {"compute": 0.0, "write": 0.0}
    started = time.perf_counter()
    out_file = None
    try:
        job = p.job
        if p.out_spec is not None:
            out_file = AtomicFile(p.output, force=p.force)
            shape, dt, fortran = p.out_spec
            header = npy_header(shape, dt, fortran)
            out_file.write(header)
            out_file.reserve(len(header) + dt.itemsize * math.prod(shape))
            job = dataclasses.replace(
                job, out=(out_file.path, len(header), tuple(shape), dt.str, fortran)
            )
        if p.kind == "reduce":
            value = _reduce(t, p, job, split_every)
        elif p.kind == "histogram":
            _histogram(t, p, job, out_file, split_every)
        else:
            _write(t, p, job)
        timer["compute"] = time.perf_counter() - started
        if out_file is not None:
            value = {"output": out_file.commit()}
            timer["write"] = time.perf_counter() - started - timer["compute"]
    except BaseException:
        t.cancel()
        if out_file is not None:
            out_file.abort()
        raise
    return Report(
        kernel=p.job.kernel,
        input=p.input,
        dtype=str(p.dtype),
        shape=p.shape,
        axis=p.axis,
        params=p.params,
        variant=variant,
        threads=threads,
        chunk_bytes=p.job.chunk_nbytes,
        chunks=len(p.parts),
        elapsed_s=time.perf_counter() - started,
        bytes=p.row_bytes * p.shape[0],
        result=value,
        phases_s=timer,
        setup_s=setup,
        engine="dask",
    )


def run(
    kernel: str,
    path,
    *,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress=None,
    split_every=None,
    **kw,
) -> Report:
    """jitperf.batch.run on a dask cluster: ``client``'s, the scheduler at
    ``scheduler``, or a LocalCluster of ``workers`` processes started for
    this run (default: one per core). ``kw`` are batch.run's arguments
    (params, axis, output, chunk_bytes, variant, threads, force, dtype,
    shape, offset)."""
    p = plan(kernel, path, **kw)
    if client is not None:
        return execute(p, client, progress=progress, split_every=split_every)
    with connect(scheduler, workers, kw.get("threads")) as c:
        return execute(p, c, progress=progress, split_every=split_every)
