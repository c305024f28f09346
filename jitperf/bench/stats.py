"""The statistics of ``jitperf bench`` and ``compare``, in plain Python (no scipy): the
two-sided Mann-Whitney U test (exact for small samples without ties, else the normal
approximation) and the median, interquartile range and geometric mean."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["EXACT_MAX_N", "geomean", "iqr", "mann_whitney_u", "median", "min_p_value", "quantile"]

# The exact U distribution is used without ties when len(a) + len(b) is at most
# this: its table has len(a) * len(b) + 1 entries, a few thousand at most.
EXACT_MAX_N = 50


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) of ``values`` and the sizes of their groups of ties."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i + 1
        while j < len(order) and values[order[j]] == values[order[i]]:
            j += 1
        rank = (i + 1 + j) / 2  # the mean of ranks i+1 .. j
        for k in range(i, j):
            ranks[order[k]] = rank
        ties.append(j - i)
        i = j
    return ranks, ties


def _u_counts(m: int, n: int) -> list[int]:
    """How many of the C(m+n, m) orderings of two samples of sizes m and n give
    each U = 0 .. m*n: the coefficients of the Gaussian binomial [m+n choose m]_q,
    built as prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i) in exact integers."""
    if m > n:
        m, n = n, m
    size = m * n + 1
    c = [0] * size
    c[0] = 1
    for i in range(1, m + 1):
        # multiply by (1 - q^(n+i)): from the top down, so c[k - n - i] is still old
        for k in range(size - 1, n + i - 1, -1):
            c[k] -= c[k - n - i]
        # divide by (1 - q^i), as a power series from the bottom up: the division
        # is exact, so the terms above the quotient's degree come out zero
        for k in range(i, size):
            c[k] += c[k - i]
    return c


def _exact_sf(u: int, m: int, n: int) -> float:
    """P(U >= u) under the null hypothesis for samples of sizes m and n, no ties."""
    counts = _u_counts(m, n)
    if u <= 0:
        return 1.0
    if u > m * n:
        return 0.0
    # sum the smaller tail: the distribution is symmetric about m*n/2
    upper = sum(counts[u:])
    return upper / math.comb(m + n, m)


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_u(a: Iterable[float], b: Iterable[float], *, method: str = "auto"):
    """The two-sided Mann-Whitney U test of samples ``a`` and ``b``: ``(u, p)``.

    ``u`` is U for ``a`` (its rank sum less len(a)*(len(a)+1)/2, ties counted as a
    half), as scipy.stats.mannwhitneyu returns it. ``method`` is ``"exact"`` (the
    null distribution of U counted exactly; valid without ties), ``"asymptotic"``
    (the normal approximation with tie and continuity corrections) or ``"auto"``:
    exact when there are no ties and len(a) + len(b) <= EXACT_MAX_N. An empty sample
    or samples whose values are all equal give p = 1.
    """
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"method: expected auto, exact or asymptotic, got {method!r}")
    a = [float(x) for x in a]
    b = [float(x) for x in b]
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    if any(math.isnan(x) for x in a + b):
        raise ValueError("mann_whitney_u: the samples hold NaN")
    ranks, ties = _ranks(a + b)
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)  # the two-sided p-value is twice the upper tail at u
    n = n1 + n2
    if len(ties) == 1:  # every value equal: no evidence of any difference
        return u1, 1.0
    has_ties = any(t > 1 for t in ties)
    if method == "auto":
        method = "exact" if not has_ties and n <= EXACT_MAX_N else "asymptotic"
    if method == "exact":
        # with ties U can be a half-integer: like scipy, its integer part is used
        p = 2.0 * _exact_sf(int(u), n1, n2)
    else:
        tie_term = sum(t**3 - t for t in ties)
        s = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / s  # the continuity correction
        p = 2.0 * _normal_sf(z)
    return u1, min(max(p, 0.0), 1.0)


def min_p_value(n1: int, n2: int) -> float:
    """The smallest two-sided p-value the U test can give samples of sizes n1 and
    n2 (complete separation, no ties): below alpha or no difference can show."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def _finite_sorted(xs: Iterable[float], what: str) -> list[float]:
    v = sorted(float(x) for x in xs)
    if not v:
        raise ValueError(f"{what} of an empty sample")
    return v


def quantile(xs: Iterable[float], q: float) -> float:
    """The ``q`` quantile (0 <= q <= 1) with numpy's default linear interpolation."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile: expected q in [0, 1], got {q}")
    v = _finite_sorted(xs, "quantile")
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    frac = pos - lo
    if frac == 0.0:
        return v[lo]
    return v[lo] + (v[hi] - v[lo]) * frac


def median(xs: Iterable[float]) -> float:
    """The median, as numpy.median gives it (the mean of the middle two for even sizes)."""
    v = _finite_sorted(xs, "median")
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def iqr(xs: Iterable[float]) -> float:
    """The interquartile range: numpy.percentile(xs, 75) - numpy.percentile(xs, 25)."""
    v = _finite_sorted(xs, "iqr")
    return quantile(v, 0.75) - quantile(v, 0.25)


def geomean(xs: Iterable[float]) -> float:
    """The geometric mean of positive values."""
    v = [float(x) for x in xs]
    if not v:
        raise ValueError("geomean of an empty sample")
    if any(not x > 0 for x in v):
        raise ValueError("geomean: expected positive values")
    return math.exp(math.fsum(math.log(x) for x in v) / len(v))
