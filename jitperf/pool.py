"""BufferPool: reusable scratch arrays keyed by (shape, dtype).

It is Go's sync.Pool for numpy buffers: borrow a buffer, use it, give it back,
so that steady-state chunk loops allocate nothing.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np


class BufferPool:
    """A thread-safe pool of scratch arrays.

    ``with pool.borrow(shape, dtype) as buf:`` hands out a C-contiguous array
    whose contents are undefined; it returns to the pool when the block ends.
    At most ``max_per_key`` idle buffers are kept for each (shape, dtype).
    """

    def __init__(self, max_per_key: int = 8):
        self.max_per_key = max_per_key
        self.hits = 0
        self.misses = 0
        self._free: dict[tuple, list[np.ndarray]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(shape, dtype) -> tuple:
        if isinstance(shape, int):
            shape = (shape,)
        return tuple(int(s) for s in shape), np.dtype(dtype)

    def get(self, shape, dtype) -> np.ndarray:
        key = self._key(shape, dtype)
        with self._lock:
            stack = self._free.get(key)
            if stack:
                self.hits += 1
                return stack.pop()
            self.misses += 1
        return np.empty(key[0], dtype=key[1])

    def put(self, buf: np.ndarray) -> None:
        key = self._key(buf.shape, buf.dtype)
        with self._lock:
            stack = self._free.setdefault(key, [])
            if len(stack) < self.max_per_key:
                stack.append(buf)

    @contextmanager
    def borrow(self, shape, dtype):
        buf = self.get(shape, dtype)
        try:
            yield buf
        finally:
            self.put(buf)

    def clear(self) -> None:
        with self._lock:
            self._free.clear()

    @property
    def idle(self) -> int:
        """How many buffers sit in the pool now."""
        with self._lock:
            return sum(len(v) for v in self._free.values())

    def __repr__(self):
        return f"BufferPool(hits={self.hits}, misses={self.misses}, idle={self.idle})"
