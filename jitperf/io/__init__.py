"""Files in and out of batch runs: memory-mapped inputs, atomic outputs, samples.

``open_input`` maps a .npy or raw file read-only; ``AtomicFile`` writes an
output beside its target and renames it into place only when complete;
``generate`` writes sample inputs in chunks.
"""

from .gen import generate
from .output import AtomicFile, NpyOutput
from .source import Source, open_input, parse_dtype, parse_shape

__all__ = [
    "AtomicFile",
    "Source",
    "generate",
    "NpyOutput",
    "open_input",
    "parse_dtype",
    "parse_shape",
]
