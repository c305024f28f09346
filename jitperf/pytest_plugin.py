"""pytest plugin: the jitperf.testing assertions as fixtures.

Installed as the ``jitperf`` entry point of ``pytest11``, so any test may ask
for ``assert_vectorized``, ``assert_not_vectorized`` or ``assert_no_alloc``.
jitperf (and numba) are imported when a test first asks for one, not when
pytest starts.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def assert_vectorized():
    """jitperf.testing.assert_vectorized: fail unless the hot loops are vector code."""
    from jitperf.testing import assert_vectorized

    return assert_vectorized


@pytest.fixture
def assert_not_vectorized():
    """jitperf.testing.assert_not_vectorized: fail if the hot loops are vector code."""
    from jitperf.testing import assert_not_vectorized

    return assert_not_vectorized


@pytest.fixture
def assert_no_alloc():
    """jitperf.testing.assert_no_alloc: call a function, fail on NRT allocations."""
    from jitperf.testing import assert_no_alloc

    return assert_no_alloc
