"""Run the performance targets: ``jitperf bench --group targets`` with any extra arguments.

Prints each target of jitperf/bench/targets.py with its measured ratio and
PASS, FAIL or SKIP; e.g. ``python benchmarks/targets.py --json targets.json``.
"""

import sys

from jitperf.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--group", "targets", *sys.argv[1:]]))
