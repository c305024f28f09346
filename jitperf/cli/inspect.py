"""``jitperf inspect``: what LLVM made of a kernel, as text, Markdown or JSON.

Parsing and formatting only: jitperf.inspect.targets resolves the target,
jitperf.inspect.report compiles and reads it, jitperf.inspect.render prints.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os

from numba.core import sigutils
from numba.core.errors import NumbaError

from ..errors import InputError, OutputError, OutputExists
from ..inspect import render, targets
from ..inspect.report import report
from ..io import AtomicFile

_FASTMATH = ("fast", "nnan", "ninf", "nsz", "arcp", "contract", "afn", "reassoc")
_EPILOG = """targets:
  a jitperf kernel name     sum, nanmean, affine, moving_mean, histogram, sqeuclidean, ...
                            (run once on an example of --dtype to find the kernel and its types)
  module:function           a numba dispatcher (or function) from an importable module
  path/to/file.py:function  the same from a file
  A user function needs --signature unless it takes one 1-D array (of --dtype).

--diff compares with TARGET2 (default: TARGET) under the same options, except those
given as --diff-variant, --diff-cpu, --diff-features or --diff-fastmath.

examples:
  jitperf inspect nanmean --variant strict --diff-variant simd
  jitperf inspect sum --cpu x86-64-v2 --format json
  jitperf inspect mymod:kernel --signature 'float64(float32[::1])' --dump out/"""


def add_commands(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="show the IR, assembly, vectorization and allocations of a kernel",
        description="Compile a fresh copy of TARGET and report what LLVM made of it: loop "
        "vectorizer verdicts, the hot loops' instruction mix and assembly, NRT "
        "allocations, CPython API calls and advice.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target", metavar="TARGET", help="kernel name, module:function or file.py:function"
    )
    types = p.add_mutually_exclusive_group()
    types.add_argument(
        "--signature", metavar="SIG", help="numba signature, e.g. 'float64(float32[::1])'"
    )
    types.add_argument(
        "--dtype", default="float32", metavar="DT", help="dtype of the example (default float32)"
    )
    p.add_argument("--variant", default="simd", choices=["strict", "simd", "parallel"])
    p.add_argument(
        "--cpu", metavar="NAME", help="compile for this CPU (e.g. x86-64-v2, skylake-avx512)"
    )
    p.add_argument("--features", metavar="F", help="CPU features to add, e.g. -prefer-256-bit")
    p.add_argument(
        "--fastmath",
        metavar="none|all|FLAGS",
        help="override the kernel's fastmath: none, all, or flags such as reassoc,contract",
    )
    p.add_argument("--format", default="text", choices=["text", "json", "md"])
    p.add_argument(
        "--dump", metavar="DIR", help="write NAME.ll, NAME.opt.ll, NAME.s, NAME.json, NAME.md"
    )
    p.add_argument(
        "--diff",
        nargs="?",
        const="",
        metavar="TARGET2",
        help="diff with TARGET2 (default TARGET) reported with the same options",
    )
    p.add_argument("--diff-variant", choices=["strict", "simd", "parallel"])
    p.add_argument("--diff-cpu", metavar="NAME")
    p.add_argument("--diff-features", metavar="F")
    p.add_argument("--diff-fastmath", metavar="none|all|FLAGS")
    p.add_argument("--force", action="store_true", help="overwrite existing --dump files")
    p.set_defaults(func=cmd_inspect)


def parse_fastmath(text: str | None, option: str = "--fastmath"):
    """None (the kernel's own), False, True or a set of LLVM fast-math flags."""
    if text is None:
        return None
    if text == "none":
        return False
    if text == "all":
        return True
    flags = {f.strip() for f in text.split(",") if f.strip()}
    bad = sorted(flags - set(_FASTMATH))
    if bad or not flags:
        raise InputError(
            f"{option}: unknown flag {bad[0] if bad else text!r} "
            f"(expected none, all or a comma list of {', '.join(_FASTMATH)})"
        )
    return flags


def parse_signature(text: str | None):
    if text is None:
        return None
    try:
        sigutils.normalize_signature(text)
    except Exception as e:  # NameError, SyntaxError, TypeError: numba evaluates the text
        raise InputError(f"--signature: cannot read {text!r} ({targets.first_line(e)})") from None
    return text


def _report(target: str, sig, dtype: str, variant: str, cpu, features, fastmath):
    obj, example = targets.resolve(target, dtype, variant, signature=sig)
    try:
        return report(
            obj,
            sig,
            args=None if sig else example,
            cpu=cpu,
            features=features,
            fastmath=fastmath,
            variant=variant,
        )
    except (ValueError, TypeError, NumbaError) as e:
        msg = targets.first_line(e)
        for opt in ("cpu", "features", "signature"):
            if msg.startswith(f"{opt}:"):
                raise InputError(f"--{msg}") from None
        raise InputError(f"{target}: {msg}") from None


def _dump_names(args) -> list[str]:
    name = targets.short_name(args.target)
    if not _diffing(args):
        return [name]
    other = targets.short_name(args.diff or args.target)
    return [name, other if other != name else f"{name}.diff"]


_SUFFIXES = (".ll", ".opt.ll", ".s", ".json", ".md")


def _dump_paths(folder: str, name: str) -> list[str]:
    return [os.path.join(folder, name + s) for s in _SUFFIXES]


def _check_dump(args, names) -> None:
    """Refuse before compiling: an existing file without --force."""
    if not args.force:
        for name in names:
            for path in _dump_paths(args.dump, name):
                if os.path.lexists(path):
                    raise OutputExists(f"{path}: exists (use --force to overwrite)")


def dump(rep, folder: str, name: str, force: bool = False) -> list[str]:
    """Write ``rep`` as NAME.ll, .opt.ll, .s, .json and .md in ``folder``, each
    complete or not at all; an existing file is refused unless ``force``."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{folder}: cannot create the folder ({e.strerror})") from None
    texts = [rep.ir, rep.optimized_ir, rep.asm, render.to_json(rep), render.to_markdown(rep)]
    paths = _dump_paths(folder, name)
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(AtomicFile(p, force=force)) for p in paths]
        for f, text in zip(files, texts, strict=True):
            f.write(text.encode() if text.endswith("\n") else (text + "\n").encode())
        for f in files:
            f.commit()
    return paths


def _diffing(args) -> bool:
    return args.diff is not None or any(
        v is not None
        for v in (args.diff_variant, args.diff_cpu, args.diff_features, args.diff_fastmath)
    )


def cmd_inspect(args) -> int:
    sig = parse_signature(args.signature)
    fastmath = parse_fastmath(args.fastmath)
    diff_fastmath = parse_fastmath(args.diff_fastmath, "--diff-fastmath")
    names = _dump_names(args)
    if args.dump:
        _check_dump(args, names)
    options = (args.variant, args.cpu, args.features, fastmath)
    reports = [_report(args.target, sig, args.dtype, *options)]
    if _diffing(args):
        other = (
            args.diff_variant or args.variant,
            args.diff_cpu if args.diff_cpu is not None else args.cpu,
            args.diff_features if args.diff_features is not None else args.features,
            diff_fastmath if diff_fastmath is not None else fastmath,
        )
        target2 = args.diff or args.target
        if target2 == args.target and other == options:
            raise InputError(
                "--diff: the same target with the same options; vary one with "
                "--diff-variant, --diff-cpu, --diff-features or --diff-fastmath"
            )
        reports.append(_report(target2, sig, args.dtype, *other))
    if args.dump:
        for rep, name in zip(reports, names, strict=False):
            dump(rep, args.dump, name, force=args.force)
    if len(reports) == 2:
        a, b = reports
        if args.format == "json":
            text = json.dumps({"a": a.to_dict(), "b": b.to_dict()}, indent=2, allow_nan=False)
        else:
            text = render.diff(a, b)
    elif args.format == "json":
        text = render.to_json(reports[0])
    elif args.format == "md":
        text = render.to_markdown(reports[0])
    else:
        text = render.to_text(reports[0])
    print(text, end="" if text.endswith("\n") else "\n", flush=True)
    return 0
