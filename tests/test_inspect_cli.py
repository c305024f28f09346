"""jitperf inspect: the renderers, target resolution, the CLI and scripts/dump_asm.py.

Each report compiles a fresh copy (about a second), so the tests share a few:
the strict and simd reports of ``sum`` serve every renderer test.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _cli import no_tmp
from numba.core.dispatcher import Dispatcher

from jitperf import _compile
from jitperf.cli import main
from jitperf.errors import InputError
from jitperf.inspect import diff, report, targets, to_json, to_markdown, to_text
from jitperf.inspect.render import listing

ROOT = Path(__file__).resolve().parents[1]

USER_SOURCE = textwrap.dedent(
    """
    import numba
    import numpy as np

    @numba.njit(fastmath={"reassoc"})
    def total(x):
        acc = 0.0
        for i in range(x.shape[0]):
            acc += x[i]
        return acc

    @numba.njit
    def scaled(x, s):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = x[i] * s
        return out

    answer = 42
    """
)


@pytest.fixture(scope="module")
def sum_reports():
    out = {}
    for v in ("strict", "simd"):
        kernel, args = targets.resolve("sum", "float32", v)
        out[v] = report(kernel, args=args, variant=v)
    return out


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module of numba functions on sys.path: its name."""
    name = f"jitperf_inspect_user_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(USER_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def error_line(capsys) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("jitperf: error: "), err
    return lines[0]


# --------------------------------------------------------------------------
# renderers


def test_text_has_header_loop_table_and_hot_asm(sum_reports):
    r = sum_reports["simd"]
    text = to_text(r)
    assert r.name in text and r.cpu in text
    assert "fastmath   arcp,contract,nsz,reassoc" in text
    head = text.index("loops (LLVM loop vectorizer)")
    assert "where" in text[head:] and "interleave  reason" in text[head:]
    assert any(x.vectorized for x in r.loops)
    assert f"{r.loops[0].file}:{r.loops[0].line}" in text
    assert "figures" in text and "hot  kernel" in text
    asm = text[text.index("hot loop asm") :]
    first = next(ln for ln in listing(r.hot_asm).splitlines() if not ln.endswith(":"))
    assert first in asm
    assert "addp" in asm  # the vector body of the sum: (v)addps/(v)addpd
    assert not any(ln.strip().startswith((".loc", ".p2align", ".cfi")) for ln in asm.splitlines())


def test_markdown_has_tables_and_asm_block(sum_reports):
    md = to_markdown(sum_reports["simd"])
    assert md.startswith("# ")
    assert "| where | vectorized | width | interleave | reason |" in md
    assert "| figure | hot | kernel |" in md
    assert "|---|" in md
    assert "```asm\n" in md and md.rstrip().endswith("```")


def test_json_is_strict_and_has_the_fields(sum_reports):
    def no_constants(name):
        raise AssertionError(f"not strict JSON: {name}")

    d = json.loads(to_json(sum_reports["simd"]), parse_constant=no_constants)
    for key in (
        "name",
        "signature",
        "cpu",
        "features",
        "fastmath",
        "loops",
        "hot_loops",
        "asm_stats",
        "allocations",
        "python_api",
        "advice",
        "hot_asm",
    ):
        assert key in d, key
    assert set(d["asm_stats"]) == {"hot", "kernel"}
    hot = d["asm_stats"]["hot"]
    for key in ("instructions", "vector_bits", "packed_fp", "scalar_fp", "fma", "gathers"):
        assert isinstance(hot[key], int), key
    assert {"file", "line", "vectorized", "width", "interleave", "reason"} <= set(d["loops"][0])
    assert d["fastmath"] == ["arcp", "contract", "nsz", "reassoc"]


def test_diff_strict_simd_shows_the_change(sum_reports):
    a, b = sum_reports["strict"], sum_reports["simd"]
    text = diff(a, b)
    assert "--- " in text and "+++ " in text
    assert "(strict)" in text and "(simd)" in text and "fastmath=none" in text
    rows = {}
    for ln in text.splitlines():
        parts = ln.split()
        if len(parts) >= 4 and parts[0] in ("hot", "kernel"):
            rows[f"{parts[0]} {parts[1]}"] = parts[2:]
    assert rows["hot vector_bits"][0] != rows["hot vector_bits"][1]
    assert int(rows["hot vector_bits"][1]) > int(rows["hot vector_bits"][0])
    assert "loops vectorized" in text and "python_api" in text


# --------------------------------------------------------------------------
# targets


@pytest.mark.parametrize(
    "name, variant, block",
    [
        ("nanmean", "simd", "reduce_rows[block=reductions._nansum]"),
        ("affine", "simd", "map_rows[block=elementwise._affine]"),
        ("moving_mean", "strict", "window_rows[block=windows._move_sum]"),
        # parallel stats also calls a merge helper: the kernel over the data wins
        ("stats", "parallel", "reduce_rows[block=stats._stats]"),
    ],
)
def test_resolve_kernel_names(name, variant, block):
    kernel, args = targets.resolve(name, "float64", variant)
    assert isinstance(kernel, _compile.Kernel)
    assert kernel.name == block
    x = args[0]
    assert isinstance(x, np.ndarray) and x.dtype == np.float64 and x.size == targets.EXAMPLE_SIZE


def test_resolve_unknown_name():
    with pytest.raises(InputError, match=r"^nosuch: unknown target"):
        targets.resolve("nosuch")


def test_resolve_module_function(user_module):
    disp, args = targets.resolve(f"{user_module}:total", "float64")
    assert isinstance(disp, Dispatcher) and disp.py_func.__name__ == "total"
    assert args[0].ndim == 1 and args[0].dtype == np.float64
    with pytest.raises(InputError, match=r"takes 2 arguments.*--signature"):
        targets.resolve(f"{user_module}:scaled")
    disp, args = targets.resolve(f"{user_module}:scaled", signature="(float32[::1], float32)")
    assert args is None
    with pytest.raises(InputError, match=rf"^{user_module}:nope: .*no function 'nope'"):
        targets.resolve(f"{user_module}:nope")
    with pytest.raises(InputError, match=r"expected a numba dispatcher"):
        targets.resolve(f"{user_module}:answer")
    with pytest.raises(InputError, match=r"^no_such_module_x:f: cannot import"):
        targets.resolve("no_such_module_x:f")


def test_resolve_file_function_and_report(tmp_path):
    path = tmp_path / "kern.py"
    path.write_text(USER_SOURCE)
    disp, args = targets.resolve(f"{path}:total", "float32")
    assert isinstance(disp, Dispatcher)
    r = report(disp, args=args)
    assert r.signature == "array(float32, 1d, C)"
    assert any(x.vectorized and x.file == "kern.py" for x in r.loops)
    with pytest.raises(InputError, match=r"no such file"):
        targets.resolve(f"{tmp_path / 'missing.py'}:total")


# --------------------------------------------------------------------------
# the CLI


def test_cli_text(capsys):
    assert main(["inspect", "sum"]) == 0
    out, err = capsys.readouterr()
    assert "loops (LLVM loop vectorizer)" in out and "hot loop asm" in out
    assert "reduce_rows[block=reductions._sum] (simd)" in out
    assert err == ""


def test_cli_cpu_json(capsys):
    assert main(["inspect", "sum", "--cpu", "x86-64-v2", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["cpu"] == "x86-64-v2"
    assert 0 < d["asm_stats"]["hot"]["vector_bits"] <= 128


def test_cli_dump_md_and_no_clobber(tmp_path, capsys):
    folder = tmp_path / "dump"
    argv = ["inspect", "affine", "--variant", "strict", "--format", "md", "--dump", str(folder)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("# ") and "```asm" in out and "| where |" in out
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"affine.{s}" for s in ("json", "ll", "md", "opt.ll", "s")]
    assert (folder / "affine.ll").read_text().lstrip().startswith(("; ModuleID", "target"))
    assert "define " in (folder / "affine.opt.ll").read_text()
    assert json.loads((folder / "affine.json").read_text())["name"].startswith("map_rows")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    assert main(argv) == 2  # refused before compiling
    assert "exists (use --force" in error_line(capsys)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert main(argv + ["--force"]) == 0
    capsys.readouterr()
    no_tmp(folder)


def test_cli_diff_options(user_module, capsys):
    argv = ["inspect", f"{user_module}:total", "--diff", "--diff-fastmath", "none"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "fastmath=reassoc" in out and "fastmath=none" in out
    assert re.search(r"loops vectorized\s+1/1\s+0/\d+\s+\*", out), out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["inspect", "nosuch"], "nosuch: unknown target"),
        (["inspect", "sum", "--signature", "float64(floot32[::1])"], "--signature: cannot read"),
        (["inspect", "sum", "--signature", "float64(float32[::1]"], "--signature: cannot read"),
        (["inspect", "sum", "--cpu", "no-such-cpu"], "--cpu: LLVM does not know the CPU"),
        (["inspect", "sum", "--fastmath", "quick"], "--fastmath: unknown flag 'quick'"),
        (["inspect", "sum", "--dtype", "float7"], "dtype: unknown dtype"),
    ],
)
def test_cli_bad_input(argv, needle, capsys):
    assert main(argv) == 2
    assert needle in error_line(capsys)


def test_cli_bad_signature_for_the_function(user_module, capsys):
    argv = ["inspect", f"{user_module}:total", "--signature", "float64(int64)"]
    assert main(argv) == 2
    assert error_line(capsys).startswith(f"jitperf: error: {user_module}:total: ")


# --------------------------------------------------------------------------
# scripts/dump_asm.py


def test_dump_asm_script(tmp_path):
    folder = tmp_path / "asm"
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "dump_asm.py"),
            str(folder),
            "--kernels",
            "sum,affine",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    index = (folder / "README.md").read_text()
    assert "| kernel | variant | dtype | vectorized loops |" in index
    for kernel in ("sum", "affine"):
        for variant in ("strict", "simd", "parallel"):
            for dtype in ("float32", "float64"):
                assert f"| {kernel} | {variant} | {dtype} |" in index
                for suffix in (".ll", ".opt.ll", ".s", ".md", ".json"):
                    assert (folder / f"{kernel}.{variant}.{dtype}{suffix}").is_file()
    assert "[12/12]" in r.stdout
    no_tmp(folder)
