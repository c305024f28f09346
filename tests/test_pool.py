"""BufferPool: reuse, keys, counters, thread safety."""

import threading

import numpy as np

from jitperf import BufferPool


def test_reuse_and_counters():
    pool = BufferPool()
    with pool.borrow((4, 3), np.float32) as a:
        assert a.shape == (4, 3) and a.dtype == np.float32 and a.flags.c_contiguous
    with pool.borrow((4, 3), "float32") as b:
        assert b is a
    with pool.borrow((4, 3), np.float64) as c:
        assert c is not a
    with pool.borrow(12, np.float32) as d:
        assert d.shape == (12,)
    assert (pool.hits, pool.misses) == (1, 3)
    assert pool.idle == 3


def test_nested_borrows_get_distinct_buffers():
    pool = BufferPool()
    with pool.borrow(8, np.int64) as a, pool.borrow(8, np.int64) as b:
        assert a is not b
    assert pool.idle == 2


def test_buffer_returns_on_error():
    pool = BufferPool()
    try:
        with pool.borrow(5, np.float64):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert pool.idle == 1


def test_idle_buffers_are_bounded():
    pool = BufferPool(max_per_key=2)
    bufs = [pool.get(3, np.float64) for _ in range(5)]
    for b in bufs:
        pool.put(b)
    assert pool.idle == 2
    pool.clear()
    assert pool.idle == 0


def test_threads_never_share_a_buffer():
    pool = BufferPool()
    errors = []

    def work(k):
        for _ in range(200):
            with pool.borrow(64, np.int64) as buf:
                buf[:] = k
                if not (buf == k).all():
                    errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert pool.hits + pool.misses == 1600
    assert pool.misses <= 8
