"""jitperf's kernel library, by family.

reductions and stats reduce an axis; elementwise, scan, windows, histogram and
distance are the transforms. Each public function checks its arguments and
runs one of the generic drivers in ``_drivers`` over 2-D row views.
"""
