"""The ``jitperf`` command: argument parsing and output formatting only.

Each subcommand parses its arguments and calls the library. A JitperfError
becomes one line on stderr and its exit code (2 for bad input); Ctrl-C exits
130 and SIGTERM 143, after the library has removed any partial output.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from ..errors import JitperfError
from . import batch, bench
from . import compare as compare_cmd
from . import inspect as inspect_cmd
from . import machine as machine_cmd


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jitperf",
        description="Numba kernels over memory-mapped files, and what LLVM makes of them.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    batch.add_commands(sub)
    inspect_cmd.add_commands(sub)
    machine_cmd.add_commands(sub)
    bench.add_commands(sub)
    compare_cmd.add_commands(sub)
    return p


def _terminate(signum, frame):
    # SystemExit unwinds like an exception, so outputs in progress are removed
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    argv = batch.join_negative_shape(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    handlers = {signal.SIGTERM: _terminate}
    if hasattr(signal, "SIGXFSZ"):
        # past a file size limit a write then fails with EFBIG, which the
        # output reports, instead of the signal killing the process
        handlers[signal.SIGXFSZ] = signal.SIG_IGN
    before = {s: signal.signal(s, h) for s, h in handlers.items()}
    try:
        return args.func(args)
    except JitperfError as e:
        print(f"jitperf: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("jitperf: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (jitperf ... | head): stop quietly, as cat does;
        # stdout is pointed at /dev/null so the flush at exit cannot fail too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        for s, h in before.items():
            signal.signal(s, h)
