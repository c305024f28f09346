"""The dask engine equals the local one on the same files, and jitperf.dask works lazily.

One LocalCluster (2 worker processes, 1 thread each) serves the module: every kind of
reduction, transforms (output files byte for byte), cumsum and windows across chunk
borders, a killed worker, failed and interrupted runs, and the CLI's --engine options.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import cloudpickle
import dask
import dask.array as da
import numpy as np
import pytest
from _cli import TIMEOUT, no_tmp
from dask.delayed import Delayed
from distributed import Client, WorkerPlugin

import jitperf
import jitperf.dask as jd
from jitperf.batch import KERNELS, run
from jitperf.batch import streams as S
from jitperf.cli import main
from jitperf.dask import engine
from jitperf.errors import InputError, OutputExists
from jitperf.io import generate

# the worker plugin below travels by value: workers cannot import this module
cloudpickle.register_pickle_by_value(sys.modules[__name__])

KB = 1 << 10
# about 6 chunks of each file for the reductions; split_every=2 below makes
# their trees three levels deep
CHUNK = {"1d": 128 * KB, "2d": 64 * KB, "2d-F": 16 * KB, "int": 32 * KB}
REDUCTIONS = [name for name, spec in KERNELS.items() if spec.stream is S.Reduce]
EXACT = {"min", "max", "nanmin", "nanmax", "argmin", "argmax", "nancount"}
DDOF = {"var", "std", "nanvar", "nanstd", "stats"}


@pytest.fixture(scope="module")
def client():
    cluster = engine.local_cluster(2, dashboard_address=None, death_timeout="20s")
    with cluster, Client(cluster) as c:
        c.wait_for_workers(2)
        yield c


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("dask")
    f = {
        "1d": generate(d / "a1.npy", "float32", "200000", nan_fraction=0.01, seed=1),
        "2d": generate(d / "a2.npy", "float32", "20000,5", nan_fraction=0.01, seed=2),
        "2d-F": generate(
            d / "f2.npy", "float64", "3001,3", nan_fraction=0.01, seed=3, fortran=True
        ),
        "int": generate(d / "i2.npy", "int16", "30001,3", seed=4),
        "y": generate(d / "y1.npy", "float32", "200000", seed=5),
        "short": generate(d / "s1.npy", "float32", "10000", nan_fraction=0.01, seed=6),
    }
    raw = d / "r.f64"
    x = np.random.default_rng(7).standard_normal((4000, 4))
    raw.write_bytes(b"HEAD" * 4 + x.tobytes())
    f["raw"] = str(raw)
    return f


def both(client, kernel, path, **kw):
    """(local Report, dask Report) of one run with the same arguments."""
    want = run(kernel, path, **kw)
    got = engine.execute(engine.plan(kernel, path, **kw), client, split_every=2)
    assert got.engine == "dask" and want.engine == "local"
    assert (got.chunks, got.chunk_bytes, got.bytes) == (want.chunks, want.chunk_bytes, want.bytes)
    assert got.axis == want.axis and got.params == want.params
    return want, got


def same(got, want, exact: bool):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def same_result(name, got, want):
    if isinstance(want, dict):  # stats: its fields by name
        assert got.keys() == want.keys()
        for k in want:
            same(got[k], want[k], k in ("count", "nan_count", "min", "max"))
    else:
        same(got, want, name in EXACT)


# --------------------------------------------------------------------------
# the engine against the local one


@pytest.mark.parametrize(
    "layout, axes",
    [("1d", [None, 0]), ("2d", [None, 0, 1]), ("2d-F", [None, 0, 1]), ("int", [None, 0, 1])],
)
def test_every_reduction_equals_local(client, files, layout, axes):
    for name in REDUCTIONS:
        params = {"ddof": 1} if name in DDOF else {}
        for axis in axes:
            want, got = both(
                client, name, files[layout], axis=axis, params=params, chunk_bytes=CHUNK[layout]
            )
            assert got.chunks > 3
            same_result(name, got.result, want.result)


def test_dot_and_raw_input(client, files):
    want, got = both(client, "dot", files["1d"], params={"y": files["y"]}, chunk_bytes=128 * KB)
    same(got.result, want.result, False)
    raw = dict(dtype="float64", shape="-1,4", offset=16, chunk_bytes=32 * KB)
    for name, axis in (("nanmean", 0), ("argmax", None), ("stats", 1)):
        want, got = both(client, name, files["raw"], axis=axis, **raw)
        same_result(name, got.result, want.result)


def test_graph_carries_descriptions_not_arrays(files):
    """Each chunk task is (function, Job, a, b): the graph pickles to a few KiB
    for a file of 800 KB, and no task argument is an array."""
    p = engine.plan("sum", files["1d"], chunk_bytes=16 * KB)
    graph = dict(engine._states(p, p.job, engine._state_task).dask)
    assert len(graph) == len(p.parts) > 10
    for task in graph.values():
        assert not any(isinstance(a, np.ndarray) for a in getattr(task, "args", task))
    assert len(cloudpickle.dumps(graph)) < np.load(files["1d"], mmap_mode="r").nbytes / 20


def test_progress_counts_every_chunk(client, files):
    seen = []
    p = engine.plan("nansum", files["2d"], chunk_bytes=32 * KB)
    engine.execute(p, client, progress=seen.append, split_every=2)
    assert len(seen) == len(p.parts) > 5
    assert sum(seen) == np.load(files["2d"], mmap_mode="r").nbytes


@pytest.mark.parametrize(
    "name, params",
    [
        ("affine", {"scale": 2.5, "offset": -1.0}),
        ("polyval", {"coeffs": "1,0,-2"}),
        ("clip", {"lo": -0.5, "hi": 0.5}),
    ],
)
@pytest.mark.parametrize("layout", ["1d", "2d", "2d-F"])
def test_transforms_write_the_same_file(client, files, tmp_path, name, params, layout):
    a, b = tmp_path / "local.npy", tmp_path / "dask.npy"
    kw = dict(params=params, chunk_bytes=CHUNK[layout])
    run(name, files[layout], output=a, **kw)
    rep = engine.execute(engine.plan(name, files[layout], output=b, **kw), client)
    assert rep.result == {"output": str(b)} and rep.chunks > 3
    assert b.read_bytes() == a.read_bytes()
    no_tmp(tmp_path)


@pytest.mark.parametrize(
    "layout, axis",
    [("1d", None), ("2d", None), ("2d", 0), ("2d", 1), ("2d-F", None), ("2d-F", 0), ("int", 0)],
)
def test_cumsum_carries_across_chunks(client, files, tmp_path, layout, axis):
    a, b = tmp_path / "local.npy", tmp_path / "dask.npy"
    kw = dict(axis=axis, chunk_bytes=CHUNK[layout])
    run("cumsum", files[layout], output=a, variant="simd", **kw)
    engine.execute(engine.plan("cumsum", files[layout], output=b, **kw), client)
    want, got = np.load(a), np.load(b)
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype.kind == "f":
        # each chunk starts from the sum of the totals before it, not from a
        # sequential accumulator: equal to rounding, relative to the running sum
        scale = np.nanmax(np.abs(want), axis=0, keepdims=axis is not None)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * float(np.max(scale)))
        assert np.array_equal(np.isnan(got), np.isnan(want))
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "name, layout, axis, params, rows",
    [
        ("moving_mean", "short", 0, {"window": 64}, 100),  # window-1 rows of the chunk before
        ("moving_sum", "short", 0, {"window": 150}, 100),  # ... of the two chunks before
        ("moving_std", "2d", 0, {"window": 64, "ddof": 1}, 1000),
        ("moving_sum", "2d", 1, {"window": 3}, 1000),  # along rows: no overlap needed
        ("moving_mean", "2d-F", 0, {"window": 64}, 100),
    ],
)
def test_windows_across_chunk_borders(client, files, tmp_path, name, layout, axis, params, rows):
    x = np.load(files[layout], mmap_mode="r")
    row = x.nbytes // x.shape[0]
    a, b = tmp_path / "local.npy", tmp_path / "dask.npy"
    kw = dict(axis=axis, params=params, chunk_bytes=rows * row, variant="simd")
    run(name, files[layout], output=a, **kw)
    rep = engine.execute(engine.plan(name, files[layout], output=b, **kw), client)
    assert rep.chunks == -(-x.shape[0] // rows)
    want, got = np.load(a), np.load(b)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.array_equal(np.isnan(got), np.isnan(want))


def test_histogram_and_sqeuclidean(client, files, tmp_path):
    for name, params in (
        ("histogram", {"bins": 17, "range": "-2,2"}),
        ("sqeuclidean", {"y": files["2d"]}),
    ):
        path = files["2d"] if name == "sqeuclidean" else files["1d"]
        if name == "sqeuclidean":
            small = tmp_path / "small.npy"
            np.save(small, np.load(path)[:700])
            params, path = {"y": str(small)}, str(small)
        a, b = tmp_path / f"{name}-local.npy", tmp_path / f"{name}-dask.npy"
        kw = dict(params=params, chunk_bytes=16 * KB)
        run(name, path, output=a, **kw)
        engine.execute(engine.plan(name, path, output=b, **kw), client)
        np.testing.assert_array_equal(np.load(b), np.load(a))


# --------------------------------------------------------------------------
# failures: nothing left behind, and a dead worker survived


class Sabotage(WorkerPlugin):
    """From the ``after``-th task of ``kernel`` in a worker on, the first one
    to claim ``marker`` either kills its worker process or raises."""

    name = "jitperf-test-sabotage"

    def __init__(self, kernel: str, marker: str, after: int, kill: bool):
        self.kernel, self.marker, self.after, self.kill = kernel, marker, after, kill

    def setup(self, worker):
        from jitperf.dask import engine as eng

        self.original = original = eng._stream
        calls = [0]

        def stream(job):
            calls[0] += job.kernel == self.kernel
            if calls[0] > self.after:
                try:
                    open(self.marker, "x").close()
                except FileExistsError:
                    return original(job)
                if self.kill:
                    os._exit(1)
                raise RuntimeError("sabotaged task")
            return original(job)

        eng._stream = stream

    def teardown(self, worker):
        from jitperf.dask import engine as eng

        eng._stream = self.original


def sabotaged(client, **kw):
    client.register_plugin(Sabotage(**kw))
    return Sabotage.name


def test_killed_worker_is_survived(client, files, tmp_path):
    marker = tmp_path / "killed"
    before = set(client.run(os.getpid).values())
    name = sabotaged(client, kernel="affine", marker=str(marker), after=3, kill=True)
    try:
        a, b = tmp_path / "local.npy", tmp_path / "dask.npy"
        kw = dict(params={"scale": 3.0, "offset": 0.5}, chunk_bytes=16 * KB)
        run("affine", files["1d"], output=a, **kw)
        rep = engine.execute(engine.plan("affine", files["1d"], output=b, **kw), client)
    finally:
        client.unregister_worker_plugin(name)
    assert marker.exists()  # a task did kill its worker
    assert rep.chunks > 20
    assert b.read_bytes() == a.read_bytes()
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != before  # the nanny started a new one
    no_tmp(tmp_path)


def test_failed_task_leaves_nothing(client, files, tmp_path):
    target = tmp_path / "out.npy"
    name = sabotaged(client, kernel="clip", marker=str(tmp_path / "m"), after=2, kill=False)
    try:
        p = engine.plan("clip", files["1d"], params={"lo": 0}, output=target, chunk_bytes=16 * KB)
        with pytest.raises(RuntimeError, match="sabotaged"):
            engine.execute(p, client)
    finally:
        client.unregister_worker_plugin(name)
    assert not target.exists()
    no_tmp(tmp_path)


def test_interrupted_run_leaves_nothing(client, files, tmp_path):
    def interrupt(nbytes):
        raise KeyboardInterrupt

    target = tmp_path / "out.npy"
    p = engine.plan("cumsum", files["1d"], output=target, chunk_bytes=64 * KB)
    with pytest.raises(KeyboardInterrupt):
        engine.execute(p, client, progress=interrupt)
    assert not target.exists()
    no_tmp(tmp_path)


def test_existing_output_needs_force(client, files, tmp_path):
    target = tmp_path / "out.npy"
    target.write_bytes(b"keep")
    kw = dict(params={"scale": 2.0}, output=target, chunk_bytes=64 * KB)
    with pytest.raises(OutputExists):
        engine.plan("affine", files["1d"], **kw)
    assert target.read_bytes() == b"keep"
    engine.execute(engine.plan("affine", files["1d"], force=True, **kw), client)
    np.testing.assert_array_equal(np.load(target), jitperf.affine(np.load(files["1d"]), 2.0, 0.0))
    with pytest.raises(InputError, match="--threads"):
        engine.execute(engine.plan("sum", files["1d"], threads=999), client)


# --------------------------------------------------------------------------
# the command line


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_cli_scheduler_and_workers(client, files, tmp_path, capsys):
    base = ["run", "stats", files["2d"], "--axis", "0", "--format", "json", "--chunk-mb", "0.03"]
    address = client.scheduler.address
    assert main(base) == 0
    assert main([*base, "--engine", "dask", "--scheduler", address]) == 0
    assert main([*base, "--engine", "dask", "--workers", "2", "--no-progress"]) == 0
    local, remote, own = json_lines(capsys.readouterr().out)
    assert (local["engine"], remote["engine"], own["engine"]) == ("local", "dask", "dask")
    for r in (remote, own):
        assert r["chunks"] == local["chunks"] > 5
        same_result("stats", r["result"], local["result"])
    out = tmp_path / "o.npy"
    args = ["run", "affine", files["1d"], "-p", "scale=2", "-o", str(out), "--chunk-mb", "0.1"]
    assert main([*args, "--engine", "dask", "--scheduler", address]) == 0
    np.testing.assert_array_equal(np.load(out), jitperf.affine(np.load(files["1d"]), 2.0, 0.0))
    capsys.readouterr()
    assert main([*args, "--engine", "dask", "--scheduler", address]) == 2  # no clobber
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists (use --force" in err


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--workers", "2"], "--workers: is for --engine dask"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler: is for --engine dask"),
        (["--engine", "dask", "--workers", "0"], "--workers: expected an int >= 1"),
        (["--engine", "dask", "--workers", "1", "--scheduler", "tcp://x:1"], "--workers"),
        (["--engine", "dask", "--touch-ahead"], "--touch-ahead"),
        (["--engine", "dask", "--workers", "1", "-p", "ddof=1"], "-p ddof"),
    ],
)
def test_cli_engine_errors(files, capsys, extra, needle):
    assert main(["run", "sum", files["1d"], *extra]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    lines = cap.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("jitperf: error: ") and needle in lines[0]


def test_cli_checks_every_input_before_starting_workers(files, tmp_path, capsys):
    missing = tmp_path / "missing.npy"
    args = ["run", "sum", files["1d"], str(missing), "--engine", "dask", "--workers", "2"]
    assert main(args) == 2
    cap = capsys.readouterr()
    assert cap.out == ""  # the first input did not run either
    assert cap.err.splitlines() == [f"jitperf: error: {missing}: no such file"]


def test_without_dask_installed(files):
    """The local engine never imports dask; --engine dask then names the extra."""
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["dask"] = sys.modules["distributed"] = None  # not installed
        from jitperf.cli import main
        assert main(["run", "sum", {files["1d"]!r}]) == 0
        sys.exit(main(["run", "sum", {files["1d"]!r}, "--engine", "dask", "--workers", "2"]))
        """
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert p.returncode == 2, p.stderr
    assert "result" in p.stdout
    (line,) = p.stderr.splitlines()
    assert line.startswith("jitperf: error: --engine dask:") and "pip install jitperf[dask]" in line


# --------------------------------------------------------------------------
# jitperf.dask on dask arrays


@pytest.fixture(scope="module")
def xs():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((300, 70)).astype(np.float32)
    x[rng.random(x.shape) < 0.01] = np.nan
    return x, da.from_array(x, chunks=(64, 30))


def test_lazy_reductions_equal_in_memory(xs):
    x, d = xs
    with dask.config.set(scheduler="synchronous"):
        for name in REDUCTIONS:
            if name == "stats":
                continue
            kw = {"ddof": 1} if name in DDOF else {}
            for axis in (None, 0, 1):
                got = getattr(jd, name)(d, axis, **kw)
                assert isinstance(got, da.Array)
                same(got.compute(), getattr(jitperf, name)(x, axis, **kw), name in EXACT)
        for axis in (None, 0, 1):
            st = jd.stats(d, axis)
            assert isinstance(st, Delayed)
            same_result("stats", st.compute().to_dict(1), jitperf.stats(x, axis).to_dict(1))
        y = np.linspace(-1, 1, 1000)
        x1 = np.random.default_rng(3).standard_normal(1000)
        got = jd.dot(da.from_array(x1, chunks=97), da.from_array(y, chunks=50)).compute()
        same(got, jitperf.dot(x1, y), False)


def test_lazy_api_on_da_random_with_threads():
    d = da.random.default_rng(5).standard_normal((4000, 6), chunks=(300, 4))
    x = d.compute()
    with dask.config.set(scheduler="threads"):
        same(jd.var(d, 0, ddof=1).compute(), jitperf.var(x, 0, ddof=1), False)
        same(jd.argmax(d).compute(), jitperf.argmax(x), True)
        same(jd.reduce("nanmean", d, 1).compute(), jitperf.nanmean(x, 1), False)


def test_lazy_transforms_equal_in_memory(xs):
    x, d = xs
    xi = np.random.default_rng(2).integers(-100, 100, (300, 7)).astype(np.int16)
    di = da.from_array(xi, chunks=(50, 3))
    with dask.config.set(scheduler="synchronous"):
        got = jd.apply("affine", d, scale=2.0, offset=1.0)
        assert isinstance(got, da.Array) and got.dtype == np.float32
        np.testing.assert_array_equal(got.compute(), jitperf.affine(x, 2.0, 1.0))
        np.testing.assert_array_equal(
            jd.apply("clip", d, lo=-1, hi=1).compute(), jitperf.clip(x, -1, 1)
        )
        for axis in (None, 0, 1):
            np.testing.assert_array_equal(jd.cumsum(di, axis).compute(), jitperf.cumsum(xi, axis))
            got, want = jd.apply("cumsum", d, axis=axis).compute(), jitperf.cumsum(x, axis)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
        # 64-row blocks hold window-1 = 63 rows; 30-column ones not 49 (dask
        # rechunks first); a window of 1 needs no overlap
        for axis, window in ((0, 64), (1, 50), (0, 1)):
            got = jd.moving_std(d, window, axis, ddof=1).compute()
            np.testing.assert_allclose(got, jitperf.moving_std(x, window, axis, ddof=1), rtol=1e-5)
        got = jd.apply("moving_mean", d, window=100, axis=0).compute()
        np.testing.assert_allclose(got, jitperf.moving_mean(x, 100, 0), rtol=1e-5, atol=1e-6)


def test_lazy_means_nothing_runs_until_compute():
    def boom(block):
        raise RuntimeError("computed")

    bad = da.ones((100, 4), chunks=(10, 4), dtype=np.float32).map_blocks(boom, dtype=np.float32)
    graphs = [
        jd.sum(bad),
        jd.stats(bad, 0),
        jd.argmin(bad, 1),
        jd.cumsum(bad, 0),
        jd.moving_mean(bad, 20, 0),
        jd.apply("affine", bad, scale=2.0),
    ]
    for g in graphs:
        with pytest.raises(RuntimeError, match="computed"):
            g.compute(scheduler="synchronous")


def test_lazy_api_errors(xs):
    x, d = xs
    with pytest.raises(TypeError, match="x: expected a dask array"):
        jd.sum(x)
    with pytest.raises(InputError, match="unknown kernel"):
        jd.reduce("median", d)
    with pytest.raises(ValueError, match="not a reduction"):
        jd.reduce("affine", d)
    with pytest.raises(ValueError, match="jitperf.dask runs the transforms"):
        jd.apply("histogram", d, bins=3, range="0,1")
    with pytest.raises(ValueError, match="axis"):
        jd.cumsum(d, 2)
    with pytest.raises(ValueError, match="window"):
        jd.moving_sum(d, 1000, 0)


def test_lazy_api_without_distributed():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["distributed"] = None  # not installed
        import dask, dask.array as da, numpy as np
        import jitperf, jitperf.dask as jd
        x = np.random.default_rng(1).standard_normal((1000, 3))
        d = da.from_array(x, chunks=(128, 3))
        with dask.config.set(scheduler="threads"):
            s = jd.stats(d, 0).compute()
            c = jd.cumsum(d, 0).compute()
        want = jitperf.stats(x, 0)
        for f in ("count", "sum", "mean", "m2", "min", "max"):
            np.testing.assert_allclose(getattr(s, f), getattr(want, f), rtol=1e-12)
        np.testing.assert_allclose(c, jitperf.cumsum(x, 0), rtol=1e-12, atol=1e-12)
        print("ok")
        """
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok"
