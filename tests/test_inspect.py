"""jitperf.inspect.report on small kernels whose outcome is known."""

from __future__ import annotations

import inspect as pyinspect

import numba
import numpy as np
import pytest

from jitperf.inspect import report

SIG = "float64(float32[::1])"


@numba.njit(fastmath={"reassoc"})
def fast_sum(x):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i]
    return acc


@numba.njit
def strict_sum(x):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i]
    return acc


@numba.njit
def allocating(x):
    acc = 0.0
    for i in range(x.shape[0]):
        tmp = np.empty(2)  # ALLOC
        tmp[0] = x[i]
        acc += tmp[0]
    return acc


@numba.njit
def allocating_once(x):
    out = np.empty_like(x)  # ONCE
    for i in range(x.shape[0]):
        out[i] = x[i] * 2.0
    return out[0]


@numba.njit
def raising(x):
    if x[0] < 0:
        raise ValueError("negative")
    return x[0]


@numba.njit(fastmath={"contract", "reassoc"})
def fused(x, y):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    return acc


def _line(fn, marker: str) -> int:
    lines, start = pyinspect.getsourcelines(fn.py_func)
    return start + next(i for i, ln in enumerate(lines) if marker in ln)


def test_fastmath_sum_vectorizes():
    r = report(fast_sum, SIG)
    loop_line = _line(fast_sum, "acc += x[i]")
    assert any(
        lp.vectorized and lp.width >= 2 and lp.line in (loop_line, loop_line - 1) for lp in r.loops
    ), r.loops
    assert r.vectorized(256)
    assert r.asm_stats["hot"].packed_fp > 0 and r.asm_stats["hot"].vector_bits >= 256
    assert "float32 input accumulated in float64: half the lanes" in r.advice
    assert r.allocations == [] and r.python_api == []


def test_strict_sum_does_not_vectorize_and_says_why():
    r = report(strict_sum, SIG)
    reasons = [lp.reason for lp in r.loops if not lp.vectorized]
    assert any(
        "cannot prove it is safe to reorder floating-point operations" in x for x in reasons
    ), r.loops
    assert not r.vectorized(128)
    assert r.asm_stats["hot"].scalar_fp > 0 and r.asm_stats["hot"].packed_fp == 0
    assert any("add fastmath={'reassoc'}" in a for a in r.advice), r.advice
    # the same source with the flag given to report() does vectorize
    assert report(strict_sum, SIG, fastmath={"reassoc"}).vectorized(256)


def test_allocation_inside_a_loop_is_found_with_its_line():
    r = report(allocating, SIG)
    line = _line(allocating, "# ALLOC")
    assert r.allocations, r.optimized_ir[:2000]
    assert any(
        a.symbol.startswith("NRT_MemInfo_alloc") and a.source_line == line and a.in_loop
        for a in r.allocations
    ), r.allocations
    assert f"allocates inside the loop at line {line} ({r.allocations[0].symbol})" in r.advice


def test_allocation_before_the_loop_is_not_in_it():
    r = report(allocating_once, "float32(float32[::1])")
    line = _line(allocating_once, "# ONCE")
    assert [(a.source_line, a.in_loop) for a in r.allocations] == [(line, False)]
    assert any(f"allocates at line {line}" in a and "out=" in a for a in r.advice), r.advice


def test_raising_kernel_goes_through_the_python_api():
    r = report(raising, "float64(float64[::1])")
    assert [p.symbol for p in r.python_api] == ["raise"]
    assert any("CPython API" in a for a in r.advice)
    assert report(fast_sum, SIG).python_api == []


def test_fma_is_counted():
    r = report(fused, "float64(float64[::1], float64[::1])")
    assert r.asm_stats["hot"].fma > 0
    assert (
        report(fused, "float64(float64[::1], float64[::1])", fastmath=False).asm_stats["hot"].fma
        == 0
    )


@pytest.mark.parametrize("cpu, features, bits", [
    ("skylake-avx512", "-prefer-256-bit", 512),
    ("skylake-avx512", None, 256),
    ("x86-64-v2", None, 128),
])  # fmt: skip
def test_other_cpus(cpu, features, bits):
    r = report(fast_sum, SIG, cpu=cpu, features=features)
    assert r.cpu == cpu
    assert r.asm_stats["hot"].vector_bits == bits
    if bits == 512:
        assert "zmm" in r.hot_asm
    if bits == 128:
        assert "ymm" not in r.asm and "zmm" not in r.asm


def test_unknown_cpu_is_a_value_error():
    with pytest.raises(ValueError, match="cpu: LLVM does not know the CPU 'pentium-9000'"):
        report(fast_sum, SIG, cpu="pentium-9000")


def test_ir_asm_and_signature_forms():
    r = report(fast_sum, args=(np.ones(8, np.float32),))
    assert r.signature == "array(float32, 1d, C)"
    assert "fast_sum" in r.ir and "fast_sum" in r.optimized_ir and r.ir != r.optimized_ir
    assert "cpython" not in r.asm and "cfunc." not in r.asm  # the kernel's own code only
    assert ".loc" not in r.asm and ".cfi" not in r.asm  # directives dropped
    d = r.to_dict()
    for key in ("loops", "asm_stats", "allocations", "python_api", "advice", "hot_loops"):
        assert key in d
    assert set(d["asm_stats"]["hot"]) >= {
        "vector_bits",
        "packed_fp",
        "scalar_fp",
        "fma",
        "gathers",
        "calls",
    }


def test_the_users_dispatcher_and_stderr_are_untouched(capfd):
    @numba.njit(fastmath={"reassoc"})
    def mine(x):
        acc = 0.0
        for i in range(x.shape[0]):
            acc += x[i]
        return acc

    report(mine, SIG)
    assert mine.signatures == []  # nothing compiled into the user's dispatcher
    mine(np.ones(4, np.float32))  # a normal compile afterwards: no remarks leak
    out, err = capfd.readouterr()
    assert "remark" not in err and "remark" not in out


def test_a_plain_function_and_a_jitperf_kernel():
    def plain(x):
        acc = 0.0
        for i in range(x.shape[0]):
            acc += x[i]
        return acc

    assert not report(plain, SIG).vectorized()
    from jitperf.kernels.reductions import _SUM

    x = np.ones((1, 4096), np.float32)
    args = (x, 1, np.empty((1, 1, 1)), ())
    assert report(_SUM, args=args, variant="simd").vectorized(256)
    assert not report(_SUM, args=args, variant="strict").vectorized(128)
