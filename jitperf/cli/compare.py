"""``jitperf compare``: two ``jitperf bench --json`` results side by side, as benchstat.

Parsing and formatting only: jitperf.bench.compare loads, matches and tests the rows.
"""

from __future__ import annotations

import argparse
import json
import math

from ..errors import InputError

_EPILOG = """Rows are matched by kernel/impl/dtype/n. A change is shown when the two-sided
Mann-Whitney U test on the raw times gives p < --alpha, and as ~ otherwise; fewer than
4 runs a side is never significant. The geomean is over the rows in both files.

examples:
  jitperf bench --json old.json      (then change something)
  jitperf bench --json new.json
  jitperf compare old.json new.json
  jitperf compare old.json new.json --alpha 0.01 --format json"""


def add_commands(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two jitperf bench --json results (medians, change, p-value)",
        description="Compare the medians of two jitperf bench --json results row by row, "
        "with a Mann-Whitney U test on the raw times, as benchstat does.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("old", metavar="OLD.json", help="the baseline result")
    p.add_argument("new", metavar="NEW.json", help="the result to compare with it")
    p.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        metavar="A",
        help="significance level of the U test (default 0.05)",
    )
    p.add_argument("--format", default="text", choices=["text", "json"])
    p.set_defaults(func=cmd_compare)


def cmd_compare(args) -> int:
    from ..bench.compare import compare, load_results

    alpha = args.alpha
    if not (math.isfinite(alpha) and 0 < alpha < 1):
        raise InputError(f"--alpha: expected a level between 0 and 1, got {alpha:g}")
    old, new = load_results(args.old), load_results(args.new)
    result = compare(old, new, alpha=alpha, old_name=args.old, new_name=args.new)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(result.to_text())
    return 0
