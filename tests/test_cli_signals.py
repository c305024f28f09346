"""Interrupted and failed writes leave nothing behind.

``jitperf run`` and ``jitperf gen`` write into a temporary file beside the
target (``.NAME.*.tmp``) and rename it into place only when complete. A
Ctrl-C (exit 130), a SIGTERM (exit 143), a file size limit or a read-only
folder must leave neither the target nor the temporary file, and must not
print a traceback.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _cli import TIMEOUT, drop_dac_caps, no_tmp, run_cli, sigint_default

from jitperf import batch
from jitperf.io import generate

# 32 MiB of float32 through moving_std in chunks of 512 bytes: ~65000 chunks,
# about 5 s on this 2-core machine (0.3 s with --chunk-mb 0.05, too short to
# interrupt reliably). The tests signal ~0.25 s after the temporary file
# appears, so the long run costs them nothing.
BIG_N = 8 * 2**20
SLOW_CHUNK_MB = "0.0005"
# jitperf gen of int8 at ~80 MB/s: 400 MB lasts ~5 s.
GEN_N = 400_000_000


def start(args, cwd) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jitperf", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )


def temporaries(folder: Path, prefix: str = ".") -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".tmp"))


def wait_for_tmp(proc: subprocess.Popen, folder: Path, target: str, deadline: float = 60.0):
    """Poll until ``.target.*.tmp`` exists in folder; fail if the process ends first."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = temporaries(folder, f".{target}.")
        if found:
            return found
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"exited {proc.returncode} before writing {target}:\n{err}")
        time.sleep(0.005)
    proc.kill()
    proc.communicate()
    pytest.fail(f"no temporary file for {target} within {deadline} s")


def signal_mid_write(proc, folder: Path, target: str, signum: int):
    """Send ``signum`` once the output is being written; (rc, stdout, stderr)."""
    try:
        wait_for_tmp(proc, folder, target)
        time.sleep(0.25)  # into the chunk loop, well before the end (~5 s)
        assert proc.poll() is None, "finished before the signal: make the run longer"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err


def check_quiet(err: str, lines: int = 1) -> list[str]:
    assert "Traceback" not in err, err
    got = err.strip("\n").splitlines()
    assert len(got) <= lines, err
    return got


def check_one_error(rc, err: str, *needles: str) -> str:
    assert "Traceback" not in err, err
    assert rc != 0, f"exit 0; stderr:\n{err}"
    got = err.strip("\n").splitlines()
    assert len(got) == 1, f"expected one line on stderr, got {len(got)}:\n{err}"
    line = got[0]
    assert line.startswith("jitperf: error: "), line
    for n in needles:
        assert n.lower() in line.lower(), f"{n!r} not in {line!r}"
    return line


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_WRITE_PROBE = """
import os, sys
p = os.path.join(sys.argv[1], ".probe")
try:
    open(p, "x").close()
except PermissionError:
    sys.exit(0)
os.unlink(p)
sys.exit(1)
"""


def unwritable_for_children(folder: Path):
    """A preexec_fn under which a child cannot create files in ``folder``
    (None if it cannot anyway), or skip: as root the mode bits do not stop
    writes unless the child drops CAP_DAC_OVERRIDE."""
    cmd = [sys.executable, "-c", _WRITE_PROBE, str(folder)]
    if subprocess.run(cmd, timeout=60).returncode == 0:
        return None
    try:
        r = subprocess.run(cmd, preexec_fn=drop_dac_caps, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"running as root, which writes into a 0o555 folder ({e})")
    if r.returncode != 0:
        pytest.skip("running as root, which writes into a 0o555 folder even without CAP_DAC")
    return drop_dac_caps


# --------------------------------------------------------------------------
# Ctrl-C and SIGTERM


@pytest.fixture
def big_input(tmp_path) -> Path:
    return Path(generate(tmp_path / "in.npy", "float32", str(BIG_N)))


@pytest.mark.parametrize(
    "signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_run_interrupted(tmp_path, big_input, signum, code):
    digest = sha256(big_input)
    args = "run moving_std in.npy -p window=16 --axis 0 -o out.npy --no-progress --chunk-mb"
    proc = start([*args.split(), SLOW_CHUNK_MB], tmp_path)
    rc, out, err = signal_mid_write(proc, tmp_path, "out.npy", signum)
    assert rc == code, f"exit {rc}, expected {code}; stderr:\n{err}"
    check_quiet(err)
    assert out == ""
    assert not (tmp_path / "out.npy").exists()
    no_tmp(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]
    assert sha256(big_input) == digest


def test_gen_terminated(tmp_path):
    proc = start(["gen", "big.npy", "--dtype", "int8", "--shape", GEN_N, "--no-progress"], tmp_path)
    rc, out, err = signal_mid_write(proc, tmp_path, "big.npy", signal.SIGTERM)
    assert rc == 143, f"exit {rc}; stderr:\n{err}"
    check_quiet(err)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------
# a file size limit

LIMIT = 1 << 20  # 1 MiB, below the 8 MiB outputs
N_8MIB = 2 * 2**20  # float32


def _limit_fsize():
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def test_run_past_file_size_limit(tmp_path):
    src = Path(generate(tmp_path / "in.npy", "float32", str(N_8MIB)))  # before the limit
    digest = sha256(src)
    # compile (or load) the kernel here, so that the limited child writes no cache
    small = generate(tmp_path / "small.npy", "float32", "64")
    batch.run("affine", small, params={"scale": "2"}, output=tmp_path / "small.out.npy")
    for p in ("small.npy", "small.out.npy"):
        (tmp_path / p).unlink()

    rc, out, err = run_cli(
        ["run", "affine", "in.npy", "-p", "scale=2", "-o", "out.npy", "--no-progress"],
        tmp_path,
        preexec_fn=_limit_fsize,
    )
    check_one_error(rc, err, "out.npy", "file size limit")
    assert out == ""
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]
    assert sha256(src) == digest


def test_gen_past_file_size_limit(tmp_path):
    rc, out, err = run_cli(
        ["gen", "big.npy", "--dtype", "float32", "--shape", N_8MIB, "--no-progress"],
        tmp_path,
        preexec_fn=_limit_fsize,
    )
    check_one_error(rc, err, "big.npy", "file size limit")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------
# a read-only output folder


@pytest.mark.parametrize("command", ["run", "gen"])
def test_read_only_output_folder(tmp_path, command):
    generate(tmp_path / "in.npy", "float32", "1000,3")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        preexec = unwritable_for_children(ro)
        args = {
            "run": ["run", "affine", "in.npy", "-p", "scale=2", "-o", "ro/out.npy"],
            "gen": ["gen", "ro/out.npy", "--dtype", "float32", "--shape", "1000"],
        }[command]
        rc, out, err = run_cli(args, tmp_path, preexec_fn=preexec)
        check_one_error(rc, err, "ro/out.npy")
        assert os.listdir(ro) == []
        assert sorted(os.listdir(tmp_path)) == ["in.npy", "ro"]
        no_tmp(tmp_path)
    finally:
        ro.chmod(0o755)
