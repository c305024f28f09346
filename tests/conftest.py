"""Hypothesis profiles: 40 examples a test by default; under CI the same
examples every run, so that CI does not turn red on a draw no one has seen
(a failure found locally goes in as an @example); "stress" for a long search:
pytest --hypothesis-profile=stress.
"""

import os

from hypothesis import settings

settings.register_profile("default", max_examples=40, deadline=None)
settings.register_profile("ci", settings.get_profile("default"), derandomize=True)
settings.register_profile("stress", max_examples=500, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")
