"""Accuracy against float64 and math.fsum references, at the sizes the contract names."""

import math

import numpy as np
import pytest

import jitperf as jp

VARIANTS = ["strict", "simd", "parallel"]


@pytest.fixture(scope="module")
def uniform32():
    x = np.random.default_rng(10).random(1 << 26, dtype=np.float32)
    return x, math.fsum(x.astype(np.float64))


@pytest.fixture(scope="module")
def uniform64():
    x = np.random.default_rng(11).random(1 << 26)
    return x, math.fsum(x)


@pytest.fixture(scope="module")
def offset64():
    # 1e9 + N(0, 1): a naive sum of squares loses every digit of the variance
    x = 1e9 + np.random.default_rng(12).standard_normal(1 << 24)
    m = math.fsum(x) / x.size
    d = x - m
    return x, math.fsum(d * d) / x.size


def rel(a, b):
    return abs(float(a) - float(b)) / abs(float(b))


@pytest.mark.parametrize("variant", VARIANTS)
def test_float32_sum_and_mean(uniform32, variant):
    x, exact = uniform32
    assert rel(jp.sum(x, variant=variant), exact) <= 1e-6
    assert rel(jp.mean(x, variant=variant), exact / x.size) <= 1e-6
    assert rel(jp.nansum(x, variant=variant), exact) <= 1e-6


@pytest.mark.parametrize("variant", VARIANTS)
def test_float64_sum(uniform64, variant):
    x, exact = uniform64
    assert rel(jp.sum(x, variant=variant), exact) <= 1e-12


@pytest.mark.parametrize("variant", VARIANTS)
def test_variance_far_from_zero(offset64, variant):
    x, exact = offset64
    assert rel(jp.var(x, variant=variant), exact) <= 1e-6
    assert rel(jp.std(x, variant=variant), math.sqrt(exact)) <= 1e-6
    assert rel(jp.nanvar(x, variant=variant), exact) <= 1e-6
    assert rel(jp.stats(x, variant=variant).var(), exact) <= 1e-6


def test_naive_sum_of_squares_fails_the_same_bound(offset64):
    # the bound above is one that a one-pass sum of squares cannot meet
    x, exact = offset64
    naive = (np.sum(x * x) - np.sum(x) ** 2 / x.size) / x.size
    assert rel(naive, exact) > 1e-6


def test_chunked_stats_merge_equals_one_pass(offset64):
    x, exact = offset64
    whole = jp.stats(x, variant="simd")
    parts = [jp.stats(c, variant="simd") for c in np.array_split(x, 7)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    assert merged.count == whole.count == x.size
    assert rel(merged.var(), exact) <= 1e-6
    assert rel(merged.mean, whole.mean) <= 1e-15
    assert merged.min == whole.min and merged.max == whole.max
