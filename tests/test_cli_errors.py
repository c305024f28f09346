"""The CLI's bad-input contract: exit code 2 and one line on stderr.

Every bad input to ``jitperf run`` / ``jitperf gen`` gets one line of our own,
``jitperf: error: <file or argument>: <problem>``, no traceback, nothing on
stdout, and leaves the folder as it was (no output, no ``.tmp``). Most cases
call ``main(argv)`` in-process (fast); a few representative ones run
``python -m jitperf`` (and the console script) in a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest
from _cli import drop_dac_caps, no_tmp, run_cli

from jitperf.cli import main
from jitperf.io import generate

# --------------------------------------------------------------------------
# helpers


def listing(folder: Path) -> dict[str, int]:
    """Every entry under ``folder`` (relative name -> size; -1 for folders)."""
    out = {}
    for p in folder.rglob("*"):
        out[str(p.relative_to(folder))] = -1 if p.is_dir() else p.stat().st_size
    return out


def check_error(rc, out: str, err: str, *needles: str, code: int = 2) -> str:
    """One line of our own on stderr, naming every needle; returns it."""
    assert "Traceback" not in err, err
    assert rc == code, f"exit {rc}, expected {code}; stderr:\n{err}"
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    line = lines[0]
    assert line.startswith("jitperf: error: "), line
    for n in needles:
        assert n.lower() in line.lower(), f"{n!r} not in {line!r}"
    assert out == "", f"unexpected stdout: {out!r}"
    return line


def unprivileged(probe: str, path: Path):
    """A preexec_fn under which a child cannot ``probe`` ("read" or "write")
    ``path`` -- None when this user cannot anyway -- or skip the test."""
    mode = {"read": os.R_OK, "write": os.W_OK}[probe]
    if not os.access(path, mode):
        return None
    assert os.geteuid() == 0  # only root ignores the permission bits
    code = f"import os, sys; sys.exit(1 if os.access({str(path)!r}, {mode}) else 0)"
    try:
        r = subprocess.run([sys.executable, "-c", code], preexec_fn=drop_dac_caps, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"running as root and cannot drop CAP_DAC_OVERRIDE ({e}): permissions moot")
    if r.returncode != 0:
        pytest.skip("running as root: even without CAP_DAC_OVERRIDE it can " + probe)
    return drop_dac_caps


@pytest.fixture
def cli(monkeypatch, tmp_path, capsys):
    """call(*argv) -> (exit code, stdout, stderr) of main(argv), run in tmp_path.
    main() installs SIGTERM/SIGXFSZ handlers; they are restored afterwards."""
    monkeypatch.chdir(tmp_path)
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGXFSZ)}

    def call(*argv):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as e:  # argparse errors
            rc = e.code
        except Exception:  # what a user would see: a traceback, exit 1
            out, err = capsys.readouterr()
            return 1, out, err + traceback.format_exc()
        out, err = capsys.readouterr()
        return rc, out, err

    yield call
    for s, h in saved.items():
        signal.signal(s, h)


def _npy_with_header(text: str, data: bytes = b"\0" * 64) -> bytes:
    """A version 1.0 .npy whose header dict is ``text`` (padded as numpy does)."""
    h = text.encode("latin1")
    h += b" " * (64 - (10 + len(h) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h + data


def _header(shape: str) -> bytes:
    return _npy_with_header(f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}")


@pytest.fixture
def samples(tmp_path):
    """Small inputs, good and bad, in tmp_path."""
    generate(tmp_path / "a.npy", "float32", "1000,3")  # 2-D, 12128 bytes
    generate(tmp_path / "v.npy", "float32", "1000")  # 1-D
    generate(tmp_path / "r.bin", "float32", "1000,3")  # raw, 12000 bytes
    good = (tmp_path / "a.npy").read_bytes()
    files = {
        "empty.npy": b"",
        "empty.bin": b"",
        "odd.bin": b"\0" * 4001,  # not a multiple of 4
        "rows.bin": b"\0" * (4 * 3 * 10 + 4),  # 10 rows of 3 float32 and a bit
        "short_magic.npy": good[:5],  # truncated inside the magic string
        "short_header.npy": good[:20],  # truncated inside the header dict
        "bad_magic.npy": b"XXNUMPY" + good[7:],
        "garbage.npy": good[:10] + b"{garbage!!" + good[20:],
        "not_dict.npy": _npy_with_header("[1, 2]"),
        "short_data.npy": good[:-100],
        "neg_shape.npy": _header("(-1,)"),
        "neg_shape2.npy": _header("(-2, -3)"),
        "bool_shape.npy": _header("(True,)"),
        "huge_shape.npy": _header(f"(3, {2**62 + 1})"),  # 3 * (2**62 + 1) overflows int64
        "wrapped_shape.npy": _header(f"({2**62}, 4)"),  # 2**64 elements, wraps to 0
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    np.save(tmp_path / "obj.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    (tmp_path / "adir").mkdir()
    return tmp_path


# --------------------------------------------------------------------------
# bad inputs to `jitperf run`: (argv, words the error must contain)

T = ["-o", "out.npy"]  # a transform's output (never written: every case fails)

RUN_CASES = {
    # files
    "missing": (["sum", "nope.npy"], ["nope.npy", "no such file"]),
    "directory": (["sum", "adir"], ["adir", "directory"]),
    "empty-npy": (["sum", "empty.npy"], ["empty.npy", "empty"]),
    "empty-raw": (["sum", "empty.bin", "--dtype", "float32"], ["empty.bin", "empty"]),
    # raw sizes
    "raw-not-multiple-of-dtype": (
        ["sum", "odd.bin", "--dtype", "float32"],
        ["odd.bin", "4001", "multiple"],
    ),
    "raw-not-multiple-of-row": (
        ["sum", "rows.bin", "--dtype", "float32", "--shape=-1,3"],
        ["rows.bin", "multiple"],
    ),
    # the form the help suggests ("one may be -1"), as two words
    "raw-not-multiple-of-row-two-words": (
        ["sum", "rows.bin", "--dtype", "float32", "--shape", "-1,3"],
        ["rows.bin", "multiple"],
    ),
    "raw-shape-mismatch": (
        ["sum", "r.bin", "--dtype", "float32", "--shape", "10,3"],
        ["r.bin", "--shape 10,3", "12000"],
    ),
    "raw-shape-overflow": (  # (2**62 + 750) * 4 elements wraps to exactly 3000
        ["sum", "r.bin", "--dtype", "float32", "--shape", f"{2**62 + 750},4"],
        ["r.bin", "--shape"],
    ),
    "raw-offset-at-end": (
        ["sum", "r.bin", "--dtype", "float32", "--offset", "12000"],
        ["r.bin", "--offset", "past the end"],
    ),
    "raw-offset-past-end": (
        ["sum", "r.bin", "--dtype", "float32", "--offset", "99999"],
        ["r.bin", "--offset", "past the end"],
    ),
    # .npy headers and data
    "npy-truncated-magic": (["sum", "short_magic.npy"], ["short_magic.npy", "header"]),
    "npy-truncated-header": (["sum", "short_header.npy"], ["short_header.npy", "header"]),
    "npy-bad-magic": (["sum", "bad_magic.npy"], ["bad_magic.npy", "header"]),
    "npy-garbage-dict": (["sum", "garbage.npy"], ["garbage.npy", "header"]),
    "npy-not-a-dict": (["sum", "not_dict.npy"], ["not_dict.npy", "header"]),
    "npy-negative-shape": (["sum", "neg_shape.npy"], ["neg_shape.npy"]),
    "npy-negative-shape-2d": (["sum", "neg_shape2.npy"], ["neg_shape2.npy"]),
    "npy-bool-shape": (["sum", "bool_shape.npy"], ["bool_shape.npy"]),
    "npy-overflowing-shape": (["sum", "huge_shape.npy"], ["huge_shape.npy"]),
    "npy-wrapping-shape": (["sum", "wrapped_shape.npy"], ["wrapped_shape.npy", "shape"]),
    "npy-object-dtype": (["sum", "obj.npy"], ["obj.npy", "object"]),
    "npy-truncated-data": (["sum", "short_data.npy"], ["short_data.npy", "truncated"]),
    # dtype and kernel
    "unknown-dtype": (["sum", "r.bin", "--dtype", "float17"], ["--dtype", "float17"]),
    "raw-without-dtype": (["sum", "r.bin"], ["r.bin", "--dtype"]),
    "unknown-kernel": (["bogus", "a.npy"], ["bogus", "kernel"]),
    # parameters: missing, malformed, unknown
    "missing-scale": (["affine", "a.npy", *T], ["scale"]),
    "missing-window": (["moving_sum", "a.npy", "--axis", "0", *T], ["window"]),
    "missing-range": (["histogram", "a.npy", "-p", "bins=10", *T], ["range"]),
    "malformed-window": (["moving_sum", "a.npy", "-p", "window=abc", *T], ["window", "abc"]),
    "malformed-range": (
        ["histogram", "a.npy", "-p", "bins=10", "-p", "range=1", *T],
        ["range", "'1'"],
    ),
    "malformed-no-equals": (["sum", "a.npy", "-p", "foo"], ["-p", "foo"]),
    "unknown-param": (["sum", "a.npy", "-p", "bogus=1"], ["bogus"]),
    # axes and windows
    "axis-2-on-2d": (["sum", "a.npy", "--axis", "2"], ["a.npy", "axis", "2"]),
    "axis-1-on-1d": (["sum", "v.npy", "--axis", "1"], ["v.npy", "axis", "1"]),
    "window-larger-than-axis": (
        ["moving_sum", "a.npy", "-p", "window=2000", "--axis", "0", *T],
        ["window", "2000"],
    ),
    "window-larger-than-axis-1": (
        ["moving_mean", "a.npy", "-p", "window=4", "--axis", "1", *T],
        ["window", "4"],
    ),
    # outputs
    "transform-without-o": (["affine", "a.npy", "-p", "scale=2"], ["-o"]),
    "several-inputs-o-is-a-file": (
        ["affine", "a.npy", "v.npy", "-p", "scale=2", "-o", "r.bin"],
        ["-o", "r.bin", "folder"],
    ),
    "several-inputs-o-missing": (
        ["affine", "a.npy", "v.npy", "-p", "scale=2", "-o", "nowhere"],
        ["-o", "nowhere", "folder"],
    ),
    "glob-several-inputs-o-is-a-file": (
        ["affine", "*.npy", "-p", "scale=2", "-o", "r.bin"],
        ["-o", "r.bin", "folder"],
    ),
    # the chunk size
    "chunk-mb-zero": (["sum", "a.npy", "--chunk-mb", "0"], ["--chunk-mb"]),
    "chunk-mb-negative": (["sum", "a.npy", "--chunk-mb", "-1"], ["--chunk-mb"]),
    "chunk-mb-nan": (["sum", "a.npy", "--chunk-mb", "nan"], ["--chunk-mb"]),
    "chunk-mb-inf": (["sum", "a.npy", "--chunk-mb", "inf"], ["--chunk-mb"]),
}


@pytest.mark.parametrize("case", list(RUN_CASES))
def test_run_bad_input(cli, samples, case):
    argv, needles = RUN_CASES[case]
    before = listing(samples)
    rc, out, err = cli("run", *argv)
    check_error(rc, out, err, *needles)
    assert listing(samples) == before
    no_tmp(samples)


def test_good_inputs_still_run(cli, samples):
    """The samples the bad cases lean on are fine when used right."""
    rc, out, err = cli("run", "sum", "a.npy")
    assert (rc, err) == (0, ""), err
    rc, out, err = cli("run", "sum", "r.bin", "--dtype", "float32", "--shape=-1,3")
    assert (rc, err) == (0, ""), err
    assert "(1000, 3)" in out


def test_unreadable_file(samples):
    """A file without read permission (as root: run without CAP_DAC_OVERRIDE)."""
    p = samples / "a.npy"
    p.chmod(0)
    try:
        preexec = unprivileged("read", p)
        before = listing(samples)
        rc, out, err = run_cli(["run", "sum", "a.npy"], samples, preexec_fn=preexec)
        check_error(rc, out, err, "a.npy", "permission")
        assert listing(samples) == before
    finally:
        p.chmod(0o644)


def test_unreadable_file_in_process(cli, samples, monkeypatch):
    """The same message in-process, whoever runs the tests: os.access says no."""
    real = os.access

    def access(path, mode, **kw):
        return False if str(path) == "a.npy" else real(path, mode, **kw)

    monkeypatch.setattr(os, "access", access)
    rc, out, err = cli("run", "sum", "a.npy")
    check_error(rc, out, err, "a.npy", "permission")


# --------------------------------------------------------------------------
# existing outputs


def test_existing_output_needs_force(cli, samples):
    target = samples / "out.npy"
    target.write_bytes(b"precious, not a .npy at all")
    before = listing(samples)
    rc, out, err = cli("run", "affine", "a.npy", "-p", "scale=2", "-o", "out.npy")
    check_error(rc, out, err, "out.npy", "exists", "--force")
    assert target.read_bytes() == b"precious, not a .npy at all"
    assert listing(samples) == before
    no_tmp(samples)

    rc, out, err = cli("run", "affine", "a.npy", "-p", "scale=2", "-o", "out.npy", "--force")
    assert rc == 0, err
    assert "Traceback" not in err
    got = np.load(target)
    x = np.load(samples / "a.npy")
    assert got.shape == x.shape
    np.testing.assert_allclose(got, 2 * x.astype(np.float64), rtol=1e-6)
    no_tmp(samples)


def test_existing_output_in_output_folder(cli, samples):
    """Several inputs into a folder: an existing per-input output is refused too."""
    (samples / "outs").mkdir()
    existing = samples / "outs" / "v.affine.npy"
    existing.write_bytes(b"keep me")
    rc, out, err = cli("run", "affine", "v.npy", "a.npy", "-p", "scale=2", "-o", "outs")
    check_error(rc, out, err, "v.affine.npy", "exists")
    assert existing.read_bytes() == b"keep me"
    no_tmp(samples)


# --------------------------------------------------------------------------
# bad arguments to `jitperf gen`

GEN_CASES = {
    "unknown-dtype": (["g.npy", "--dtype", "float17", "--shape", "10"], ["--dtype", "float17"]),
    "unsupported-dtype": (["g.npy", "--dtype", "float16", "--shape", "10"], ["--dtype"]),
    "bad-shape": (["g.npy", "--dtype", "float32", "--shape", "ten"], ["--shape", "ten"]),
    "zero-shape": (["g.npy", "--dtype", "float32", "--shape", "0"], ["--shape"]),
    "3d-shape": (["g.npy", "--dtype", "float32", "--shape", "2,2,2"], ["--shape"]),
    "nan-fraction-range": (
        ["g.npy", "--dtype", "float32", "--shape", "10", "--nan-fraction", "2"],
        ["--nan-fraction"],
    ),
    "nan-fraction-int": (
        ["g.npy", "--dtype", "int32", "--shape", "10", "--nan-fraction", "0.5"],
        ["--nan-fraction"],
    ),
    "fortran-raw": (
        ["g.bin", "--dtype", "float32", "--shape", "10,2", "--fortran"],
        ["g.bin", "--fortran"],
    ),
    "existing": (["a.npy", "--dtype", "float32", "--shape", "10"], ["a.npy", "exists"]),
    # 2**62 * 4 elements wrap to 0 in int64: a header promising 2**64 values
    "overflowing-shape": (["g.npy", "--dtype", "float32", "--shape", f"{2**62},4"], ["--shape"]),
}


@pytest.mark.parametrize("case", list(GEN_CASES))
def test_gen_bad_input(cli, samples, case):
    argv, needles = GEN_CASES[case]
    before = listing(samples)
    good = (samples / "a.npy").read_bytes()
    rc, out, err = cli("gen", *argv)
    check_error(rc, out, err, *needles)
    assert listing(samples) == before
    assert (samples / "a.npy").read_bytes() == good
    no_tmp(samples)


# --------------------------------------------------------------------------
# the same contract from a real process: python -m jitperf, and the script

SUBPROCESS_CASES = [
    "missing",
    "npy-garbage-dict",
    "unknown-kernel",
    "window-larger-than-axis",
]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_run_bad_input_subprocess(samples, case):
    argv, needles = RUN_CASES[case]
    before = listing(samples)
    rc, out, err = run_cli(["run", *argv], samples)
    check_error(rc, out, err, *needles)
    assert listing(samples) == before
    no_tmp(samples)


def test_existing_output_subprocess(samples):
    target = samples / "out.npy"
    target.write_bytes(b"precious")
    rc, out, err = run_cli(
        ["run", "moving_sum", "v.npy", "-p", "window=3", "-o", "out.npy"], samples
    )
    check_error(rc, out, err, "out.npy", "exists")
    assert target.read_bytes() == b"precious"
    no_tmp(samples)


def test_console_script(samples):
    """The installed ``jitperf`` script keeps the contract too."""
    exe = Path(sys.executable).with_name("jitperf")
    if not exe.exists():
        pytest.skip(f"no console script beside {sys.executable}")
    rc, out, err = run_cli(["run", "sum", "short_data.npy"], samples, exe=str(exe))
    check_error(rc, out, err, "short_data.npy", "truncated")
    no_tmp(samples)
