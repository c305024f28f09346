"""``python -m jitperf`` is the ``jitperf`` command."""

import sys

from .cli import main

sys.exit(main())
