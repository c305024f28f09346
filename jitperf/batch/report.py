"""The report of one batch run, and its JSON form.

Fields (stable; ``to_dict`` keeps this order):
kernel, input, dtype, shape, axis, params, variant, threads, chunk_bytes,
chunks, elapsed_s, bytes, gbps, result, phases_s, setup_s, rss_anon_start_bytes,
rss_anon_peak_bytes, engine.
elapsed_s runs from the first chunk to the committed output; setup_s is the
time before it (checking the parameters, which loads or compiles the kernels).
``result`` is the reduction's value (a number, or a list per row), the
stats record's fields, or ``{"output": PATH}`` for a transform. Non-finite
floats are written as the strings "nan", "inf" and "-inf", so the JSON
stays strict.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

PHASES = ("io_wait", "compute", "merge", "write")


class Timer:
    """Wall time spent in named phases (perf_counter seconds, summed)."""

    def __init__(self):
        self.seconds = dict.fromkeys(PHASES, 0.0)

    @contextmanager
    def phase(self, name: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t


def plain(value):
    """numpy scalars and arrays as JSON-ready Python values."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if value != value else ("inf" if value > 0 else "-inf")
    return value


@dataclass
class Report:
    kernel: str
    input: str
    dtype: str
    shape: tuple
    axis: int | None
    params: dict
    variant: str
    threads: int
    chunk_bytes: int
    chunks: int
    elapsed_s: float
    bytes: int
    result: object
    phases_s: dict = field(default_factory=dict)
    setup_s: float = 0.0
    rss_anon_peak_bytes: int | None = None
    rss_anon_start_bytes: int | None = None
    engine: str = "local"  # or "dask" (jitperf.dask.engine)

    @property
    def gbps(self) -> float:
        """Input bytes per second of elapsed time, in GB/s (1e9)."""
        return self.bytes / self.elapsed_s / 1e9 if self.elapsed_s > 0 else float("inf")

    def to_dict(self) -> dict:
        d = {
            "kernel": self.kernel,
            "input": self.input,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "axis": self.axis,
            "params": self.params,
            "variant": self.variant,
            "threads": self.threads,
            "chunk_bytes": self.chunk_bytes,
            "chunks": self.chunks,
            "elapsed_s": self.elapsed_s,
            "bytes": self.bytes,
            "gbps": self.gbps,
            "result": self.result,
            "phases_s": self.phases_s,
            "setup_s": self.setup_s,
            "rss_anon_start_bytes": self.rss_anon_start_bytes,
            "rss_anon_peak_bytes": self.rss_anon_peak_bytes,
            "engine": self.engine,
        }
        return plain(d)
