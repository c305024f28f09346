"""Helpers shared by the CLI tests: running jitperf in a child process,
running it without root's permission bypass, and checking for temporaries."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
from pathlib import Path

TIMEOUT = 120  # seconds for one subprocess (its start-up imports numba)

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def drop_dac_caps():
    """preexec_fn: root loses the capabilities that bypass file permissions
    (from the bounding set, so they stay gone after exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def sigint_default():
    # A child whose SIGINT is ignored (a background job) would never see
    # KeyboardInterrupt: Python installs its handler only over SIG_DFL.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(args, cwd, *, preexec_fn=None, exe=None):
    """(exit code, stdout, stderr) of ``jitperf ARGS`` in a child process."""

    def pre():
        sigint_default()
        if preexec_fn is not None:
            preexec_fn()

    cmd = [exe] if exe else [sys.executable, "-m", "jitperf"]
    r = subprocess.run(
        cmd + [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=pre,
    )
    return r.returncode, r.stdout, r.stderr


def no_tmp(folder: Path) -> None:
    left = [str(p) for p in Path(folder).rglob("*.tmp")]
    assert not left, f"temporary files left behind: {left}"
