"""The zero-allocation contract: reductions and out= calls make no NRT allocations."""

import numba
import numpy as np
import pytest

import jitperf as jp
from jitperf._compile import Kernel, kernel

VARIANTS = ["strict", "simd", "parallel"]
REDUCTIONS = [
    "sum", "mean", "var", "std", "min", "max", "argmin", "argmax", "nansum",
    "nanmean", "nanvar", "nanstd", "nanmin", "nanmax", "nancount", "stats",
]  # fmt: skip


@kernel()
def _allocating(x, out):
    tmp = np.empty(x.shape[0])  # one NRT allocation per call
    for i in range(x.shape[0]):
        tmp[i] = x[i] * 2.0
    out[0] = tmp.sum()


def test_counter_sees_a_kernel_that_allocates():
    x, out = np.ones(100), np.zeros(1)
    _allocating("simd", x, out)
    with jp.count_allocations() as c:
        _allocating("simd", x, out)
        _allocating("simd", x, out)
    assert c.calls == 2
    assert c.allocs == 2 and c.frees == 2
    assert c.unbox_allocs >= 4  # two arrays unboxed per call, left out of allocs


def test_counter_is_quiet_outside_its_block():
    assert isinstance(_allocating, Kernel)
    with jp.count_allocations() as c:
        pass
    _allocating("simd", np.ones(3), np.zeros(1))
    assert c.calls == 0


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_allocate_nothing(name, dtype, variant):
    # large enough for the parallel variant to split the row into blocks
    x = (np.random.default_rng(0).random(1 << 17) * 100).astype(dtype)
    f = getattr(jp, name)
    f(x, variant=variant)
    with jp.count_allocations() as c:
        f(x, variant=variant)
    assert c.calls >= 1
    assert c.allocs == 0


@pytest.mark.parametrize("variant", VARIANTS)
def test_dot_allocates_nothing(variant):
    x = np.random.default_rng(0).random(1 << 17).astype(np.float32)
    for a, b in ((x, x[::-1]), (x.astype(np.int16), x.astype(np.int16))):
        jp.dot(a, b, variant=variant)
        with jp.count_allocations() as c:
            jp.dot(a, b, variant=variant)
        assert c.calls == 1 and c.allocs == 0


def test_parallel_variant_uses_threads_without_allocating():
    assert numba.get_num_threads() >= 1
    x = np.random.default_rng(0).random((8, 1 << 16))
    jp.var(x, axis=1, variant="parallel")
    with jp.count_allocations() as c:
        jp.var(x, axis=1, variant="parallel")
    assert c.allocs == 0


@pytest.mark.parametrize("variant", VARIANTS)
def test_chunk_continuations_allocate_nothing(variant):
    # the carried paths of batch runs: a scan and a window resumed from a carry
    from jitperf.kernels.scan import cumsum_carry
    from jitperf.kernels.windows import moving_carry

    x = np.random.default_rng(0).random(1 << 17).astype(np.float32)
    out = np.empty(x.size - 64, np.float32)
    _, carry = cumsum_carry(x[:64], variant=variant)
    _, state = moving_carry("moving_std", x[:64], 16, 0, variant=variant)
    calls = (
        lambda: cumsum_carry(x[64:], None, carry, out=out, variant=variant),
        lambda: moving_carry("moving_std", x[48:], 16, 0, state, out=out, lead=16, variant=variant),
    )
    for call in calls:
        call()
        with jp.count_allocations() as c:
            call()
        assert c.calls >= 1 and c.allocs == 0


@pytest.mark.parametrize("kernel, params", [
    ("stats", {}), ("affine", {"scale": 2}), ("cumsum", {}),
    ("moving_mean", {"window": 64}), ("histogram", {"bins": 10, "range": (0, 1)}),
])  # fmt: skip
def test_batch_runs_allocate_nothing_in_the_kernels(tmp_path, kernel, params):
    from jitperf.batch import run
    from jitperf.io import generate

    path = generate(tmp_path / "x.npy", "float32", "300000", dist="uniform")
    kw = {"output": tmp_path / "o.npy", "force": True} if kernel != "stats" else {}
    run(kernel, path, params=params, axis=0, chunk_bytes=1 << 18, **kw)
    with jp.count_allocations() as c:
        rep = run(kernel, path, params=params, axis=0, chunk_bytes=1 << 18, **kw)
    assert rep.chunks == 5 and c.calls >= rep.chunks
    assert c.allocs == 0


def _out_calls():
    """(name, call) for every transform with a preallocated out=."""
    x = np.random.default_rng(1).random(1 << 16).astype(np.float32)
    out = np.empty_like(x)
    a, b = x[:4096].reshape(256, 16), x[:512].reshape(32, 16)
    d = np.empty((256, 32), np.float32)
    counts = np.empty(10, np.int64)
    return [
        ("affine", lambda v: jp.affine(x, 2.0, 1.0, out=out, variant=v)),
        ("polyval", lambda v: jp.polyval([1.0, 0.0, -2.0], x, out=out, variant=v)),
        ("clip", lambda v: jp.clip(x, 0.2, 0.8, out=out, variant=v)),
        ("cumsum", lambda v: jp.cumsum(x, out=out, variant=v)),
        ("moving_mean", lambda v: jp.moving_mean(x, 16, out=out, variant=v)),
        ("moving_std", lambda v: jp.moving_std(x, 16, out=out, variant=v)),
        ("histogram", lambda v: jp.histogram(x, 10, (0.0, 1.0), out=counts, variant=v)),
        ("sqeuclidean", lambda v: jp.sqeuclidean(a, b, out=d, variant=v)),
    ]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", range(len(_out_calls())), ids=[n for n, _ in _out_calls()])
def test_out_calls_pass_the_no_alloc_guard(assert_no_alloc, case, variant):
    # the plugin's fixture, as a kernel author would use it
    _, call = _out_calls()[case]
    assert_no_alloc(call, variant)
