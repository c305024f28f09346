"""Batch runs: a kernel over memory-mapped inputs, chunk by chunk, with a report.

``run(kernel, path, ...)`` walks one input in chunks along axis 0 and returns
a :class:`Report`; KERNELS lists what it can run and the parameters each takes.
"""

from .kernels import KERNELS, parse_params
from .report import Report
from .runner import run

__all__ = ["KERNELS", "Report", "parse_params", "run"]
