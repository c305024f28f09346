"""Inspect what LLVM made of a kernel: loop-vectorizer remarks for now.

The full inspector (IR and asm dumps, instruction mix, allocation and boxing
detection) builds on this package.
"""

from .remarks import Remark, loop_remarks, vectorized_loops

__all__ = ["Remark", "loop_remarks", "vectorized_loops"]
