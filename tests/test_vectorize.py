"""Which kernels run vector code: every public kernel's compiled driver, as the
public function calls it, checked in the assembly of its hot loops (packed
arithmetic 256 bits wide or wider) with jitperf.testing.assert_vectorized.

simd and parallel vectorize; the strict floating-point reductions stay scalar
(LLVM may not reorder their additions). Some kernels stay scalar by design,
in every variant: a prefix scan and the moving windows carry a running value
from each element to the next (moving_sum vectorizes only a finiteness test
of the stretch ahead, moving_std the square roots of a stretch); a histogram
vectorizes its bin formula, not the increments of the bins it computes.
A floating-point min/max recurrence does not vectorize in numba (LLVM asks
for function-level no-NaNs): min/max reduce integer order keys, which do, and
argmin/argmax run scalar compare chains beside a vectorized NaN test.
"""

import numpy as np
import pytest

import jitperf as jp
from jitperf import _compile
from jitperf.inspect import loop_remarks, vectorized_loops
from jitperf.inspect.remarks import parse
from jitperf.kernels import reductions as r
from jitperf.testing import assert_not_vectorized, assert_vectorized

N = 1 << 17  # large enough for the parallel variant to split rows into blocks
# AVX2 width, asked of every machine. On AVX-512 znver5 the vector bodies use
# 512-bit registers, their vectorized remainders 256-bit ones.
BITS = 256


def _data(dtype):
    return np.random.default_rng(0).random(N).astype(dtype)


def _calls(fn, *args, **kw):
    """The (dispatcher, args) of every compiled call ``fn(*args, **kw)`` makes."""
    calls = []
    previous = getattr(_compile._observer, "fn", None)

    def record(dispatcher, a):
        calls.append((dispatcher, a))
        return dispatcher(*a)

    _compile._observer.fn = record
    try:
        fn(*args, **kw)
    finally:
        _compile._observer.fn = previous
    assert calls, f"{fn.__name__} made no compiled call"
    return calls


def _size(call):
    sizes = [a.size for a in call[1] if isinstance(a, np.ndarray)]
    return (max(sizes, default=0), sum(sizes))


def _driver(fn, *args, **kw):
    """The call of ``fn`` with the largest array argument (ties: the most
    array elements in all): the pass over the data, not a merge of states."""
    return max(_calls(fn, *args, **kw), key=_size)


def _kernel(call) -> str:
    return _compile.origin(call[0])[0].name


# name: (call(x, variant), loops); loops is "all" (every hot loop is vector
# code), "any" (the data pass is; see the note) or None (scalar by design).
CASES = {
    "sum": (lambda x, v: jp.sum(x, variant=v), "all"),
    "nansum": (lambda x, v: jp.nansum(x, variant=v), "all"),
    "dot": (lambda x, v: jp.dot(x, x[::-1].copy(), variant=v), "all"),
    "min": (lambda x, v: jp.min(x, variant=v), "all"),
    "affine": (lambda x, v: jp.affine(x, 2, 1, variant=v), "all"),
    "clip": (lambda x, v: jp.clip(x, 0.2, 0.8, variant=v), "all"),
    "polyval": (lambda x, v: jp.polyval([3, 2, 1], x, variant=v), "all"),
    "sqeuclidean": (
        lambda x, v: jp.sqeuclidean(x.reshape(-1, 16)[:64], x[:512].reshape(32, 16), variant=v),
        "all",
    ),
    # var, nanvar: the loop over 4096-element sub-blocks calls the vectorized
    # shifted-sums kernel, so the report counts it as an outer loop
    "var": (lambda x, v: jp.var(x, variant=v), "all"),
    "nanvar": (lambda x, v: jp.nanvar(x, variant=v), "all"),
    # stats: the moments and the extremes' integer keys, in one fused loop
    "stats": (lambda x, v: jp.stats(x, variant=v), "any"),
    # argmin/argmax: the NaN test vectorizes, the eight compare chains do not
    "argmin": (lambda x, v: jp.argmin(x, variant=v), "any"),
    "argmax": (lambda x, v: jp.argmax(x, variant=v), "any"),
    # long polynomials: one vectorized pass per coefficient; the in-place
    # path (out is x: plain Horner per element) is compiled too and is scalar
    "polyval_long": (lambda x, v: jp.polyval(np.arange(20.0), x, variant=v), "any"),
    # each output depends on the previous one
    "cumsum": (lambda x, v: jp.cumsum(x, variant=v), None),
    # the windows' running state does not; moving_sum's finiteness test of a
    # stretch and moving_std's square roots of one do
    "moving_sum": (lambda x, v: jp.moving_sum(x, 16, variant=v), "any"),
    "moving_std": (lambda x, v: jp.moving_std(x, 16, variant=v), "any"),
    # the bin formula vectorizes; hist[j] += 1 at computed j does not
    "histogram": (lambda x, v: jp.histogram(x, 10, (0, 1), variant=v), "any"),
}
# public functions that run the driver of another with the same argument types
ALIASES = {
    "mean": "sum",
    "nanmean": "nansum",
    "nancount": "nansum",
    "std": "var",
    "nanstd": "nanvar",
    "max": "min",
    "nanmin": "min",
    "nanmax": "min",
    "moving_mean": "moving_sum",
}
# strict floating-point reductions: scalar, for want of fastmath's reassoc
STRICT = ["sum", "nansum", "dot", "var", "nanvar", "stats"]
DTYPES = [np.float32, np.float64]


def _alias_call(name):
    if name.startswith("moving"):
        return lambda x, v: getattr(jp, name)(x, 16, variant=v)
    return lambda x, v: getattr(jp, name)(x, variant=v)


@pytest.mark.parametrize("variant", ["simd", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_kernels_vectorize(name, dtype, variant):
    call, loops = CASES[name]
    drv, args = _driver(call, _data(dtype), variant)
    assert _compile.origin(drv)[1] == variant
    if loops is None:
        assert_not_vectorized(drv, args, min_bits=BITS)
    else:
        assert_vectorized(drv, args, min_bits=BITS, loops=loops)


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_aliases_run_a_tested_driver(alias):
    # cheap: no report, only which driver and argument types a call uses
    x = _data(np.float64)
    for variant in ("strict", "simd", "parallel"):
        mine = _driver(_alias_call(alias), x, variant)
        theirs = _driver(CASES[ALIASES[alias]][0], x, variant)
        assert mine[0] is theirs[0]
        assert [type(a) for a in mine[1]] == [type(a) for a in theirs[1]]


def test_every_public_kernel_is_covered():
    from jitperf.kernels.stats import Stats

    public = {n for n in jp.__all__ if callable(getattr(jp, n))}
    public -= {"BufferPool", "Stats", "count_allocations"}
    assert Stats is jp.Stats
    assert public <= set(CASES) | set(ALIASES), public - set(CASES) - set(ALIASES)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_parallel_cumsum_totals_vectorize(dtype):
    # the first pass of a parallel scan (block totals) is a plain sum
    calls = _calls(jp.cumsum, _data(dtype), variant="parallel")
    totals = [c for c in calls if "_scan_total" in _kernel(c)]
    assert totals and any("_scan_block" in _kernel(c) for c in calls)
    assert_vectorized(*totals[0], min_bits=BITS)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", STRICT)
def test_strict_reductions_stay_scalar(name, dtype):
    drv, args = _driver(CASES[name][0], _data(dtype), "strict")
    rep = assert_not_vectorized(drv, args, min_bits=BITS)
    assert any("reorder floating-point" in m.reason for m in rep.loops)
    if name in ("sum", "nansum", "dot"):  # one loop: its remark and hot loop share a line
        assert any("fastmath={'reassoc'}" in a for a in rep.advice)


@pytest.mark.parametrize("variant", ["strict", "simd"])
@pytest.mark.parametrize("name", ["argmin", "argmax"])
def test_extremes_vectorize_only_their_nan_test(name, variant):
    # The NaN test is an integer OR and vectorizes in any variant; the
    # compare-select chains of _best8 stay scalar (see its docstring).
    drv, args = _driver(CASES[name][0], _data(np.float32), variant)
    rep = assert_vectorized(drv, args, min_bits=BITS, loops="any")
    assert_not_vectorized(drv, args, min_bits=BITS, loops="all")
    assert any(m.vectorized and m.width >= 8 for m in rep.loops)
    assert any("could not be identified as reduction" in m.reason for m in rep.loops)


@pytest.mark.parametrize("variant", ["strict", "simd"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64])
def test_min_max_keys_vectorize(dtype, variant):
    # integer min/max reductions need no fast-math flags: strict vectorizes too
    x = (np.random.default_rng(0).random(N) * 100).astype(dtype)
    drv, args = _driver(jp.max, x, variant=variant)
    assert "_keyrange" in _kernel((drv, args))
    rep = assert_vectorized(drv, args, min_bits=BITS)
    assert any(m.vectorized and m.width >= 4 for m in rep.loops)


def test_integer_sum_is_a_float_reduction():
    # int16 added into a float64 accumulator is still a floating-point
    # reduction: strict keeps it in order, simd vectorizes it.
    x = (np.random.default_rng(0).random(N) * 100).astype(np.int16)
    assert_not_vectorized(*_driver(jp.sum, x, variant="strict"), min_bits=BITS)
    assert_vectorized(*_driver(jp.sum, x, variant="simd"), min_bits=BITS)


def test_capture_leaves_stderr_and_options_clean(capfd):
    x = np.zeros((1, 64), np.float32)
    assert vectorized_loops(r._SUM, "simd", x, 1, np.zeros((1, 1, 1)), ())
    _, err = capfd.readouterr()
    assert "remark" not in err
    # the remark options are off again: a later compile prints nothing
    disp = r._NANSUM.dispatcher("simd", cache=False)
    disp(x, 1, np.zeros((1, 1, 2)), ())
    _, err = capfd.readouterr()
    assert "remark" not in err
    assert loop_remarks(lambda: None) == []


def test_parse_remarks():
    text = (
        "remark: k.py:12:3: loop not vectorized: cannot prove it is safe to reorder "
        "floating-point operations\n"
        "remark: k.py:12:3: loop not vectorized\n"
        "remark: k.py:20:5: vectorized loop (vectorization width: 8, interleaved count: 4)\n"
    )
    a, b = parse(text)
    assert (a.line, a.vectorized) == (12, False) and "reorder" in a.reason
    assert (b.line, b.vectorized, b.width, b.interleave) == (20, True, 8, 4)
