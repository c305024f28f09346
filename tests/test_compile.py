"""The variant mechanism: one source, three option sets, separate cache entries."""

import os
import subprocess
import sys
import textwrap

import pytest

from jitperf import _compile, _plan
from jitperf.kernels import _drivers
from jitperf.kernels import reductions as r


def test_options_per_variant():
    assert r._sum.options("strict")["fastmath"] is False
    assert r._sum.options("simd")["fastmath"] == set(_compile.REDUCE)
    assert not r._sum.options("parallel")["parallel"]  # a helper never threads
    assert _drivers.reduce_rows.options("parallel")["parallel"]
    assert not _drivers.reduce_rows.options("simd")["parallel"]
    for flags in (_compile.REDUCE, _compile.NAN_SAFE, _compile.ELEMENTWISE):
        assert not {"nnan", "ninf", "fast"} & flags
    with pytest.raises(ValueError, match="^variant: "):
        r._sum.options("fast")


def test_each_variant_has_its_own_identity():
    names = {r._SUM.function(v).__qualname__ for v in _compile.VARIANTS}
    assert len(names) == 3
    assert all("reduce_rows" in n and "_sum" in n for n in names)
    assert r._SUM.function("simd").__qualname__ != r._NANSUM.function("simd").__qualname__


def test_callees_follow_the_variant():
    g = r._SUM.function("strict")
    assert g.__globals__["block"] is r._sum.dispatcher("strict")
    g = r._SUM.function("parallel")
    assert g.__globals__["block"] is r._sum.dispatcher("simd")  # helpers: no threads


def test_auto_picks_by_size(monkeypatch):
    monkeypatch.setattr(_plan.numba, "get_num_threads", lambda: 2)
    assert _plan.variant("auto", 1024) == "simd"
    assert _plan.variant("auto", _plan.PARALLEL_MIN_BYTES) == "parallel"
    monkeypatch.setattr(_plan.numba, "get_num_threads", lambda: 1)
    assert _plan.variant("auto", 1 << 30) == "simd"
    assert _plan.variant("strict", 1 << 30) == "strict"


def test_nblocks():
    assert _plan.nblocks("simd", 1, 1 << 30) == 1
    assert _plan.nblocks("parallel", 1, 10) == 1
    assert _plan.nblocks("parallel", 1, 1 << 24) > 1
    assert _plan.nblocks("parallel", 10_000, 1 << 16) == 1


SCRIPT = textwrap.dedent(
    """
    import numpy as np, jitperf as jp
    from jitperf.kernels import reductions as r
    x = np.arange(1000, dtype=np.float32)
    for v in ("strict", "simd"):
        jp.sum(x, variant=v)
    print(sum(r._SUM.dispatcher(v).stats.cache_hits.get(k, 0)
              for v in ("strict", "simd") for k in r._SUM.dispatcher(v).stats.cache_hits))
    """
)


def test_on_disk_cache_keeps_variants_apart(tmp_path):
    # numba's cache ignores compile flags: without a name of their own, the
    # strict and simd variants would share one entry.
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "0"
    index = [p.name for p in tmp_path.rglob("*.nbi") if "reduce_rows" in p.name]
    assert len([n for n in index if "__strict__" in n]) == 1
    assert len([n for n in index if "__simd__" in n]) == 1
    second = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "2"  # both variants loaded from their own entries
