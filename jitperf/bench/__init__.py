"""Benchmark runs: the machine's limits, the harness, comparisons.

``load_machine()`` returns this machine's measured limits, cached per CPU and thread count.
"""

from .machine import Machine, load_machine, measure_machine

__all__ = ["Machine", "load_machine", "measure_machine"]
