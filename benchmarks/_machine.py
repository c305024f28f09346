"""What the benchmark scripts report about the machine while they run."""

from __future__ import annotations

import time


def other_cpu_busy(interval: float = 0.5) -> float:
    """Fraction of all CPUs busy over ``interval`` s while this process sleeps
    (NaN where /proc/stat cannot be read): other work skews any timing."""

    def snap():
        with open("/proc/stat") as fh:
            v = [int(t) for t in fh.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait

    try:
        t0, i0 = snap()
        time.sleep(interval)
        t1, i1 = snap()
    except OSError:
        return float("nan")
    return 1.0 - (i1 - i0) / max(t1 - t0, 1)
