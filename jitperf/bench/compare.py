"""Compare two ``jitperf bench --json`` results, as benchstat does for Go benchmarks.

Rows are matched by (kernel, impl, dtype, n). For each match the old and new medians
of the raw ``times_s``, the change in per cent and the two-sided Mann-Whitney U
p-value: a change is significant when p < alpha, and shown as ``~`` otherwise, or
when either side has too few samples for the test to show anything. Rows only in
one file are listed as removed or added; a geometric mean of the new/old median
ratios over the matched rows ends the table.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from ..errors import InputError
from . import stats as S

__all__ = ["MIN_SAMPLES", "Comparison", "RowComparison", "compare", "format_time", "load_results"]

# benchstat's floor: with fewer runs a side the U test cannot reach p < 0.05
# whatever the times (3 + 3 runs give p >= 0.1)
MIN_SAMPLES = 4

_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


@dataclass
class RowComparison:
    """One row of the comparison; ``status`` is "matched", "added" or "removed"."""

    kernel: str
    impl: str
    dtype: str
    n: object
    status: str
    old_median_s: float | None = None
    new_median_s: float | None = None
    old_iqr_s: float | None = None
    new_iqr_s: float | None = None
    old_samples: int = 0
    new_samples: int = 0
    delta_pct: float | None = None
    p: float | None = None
    significant: bool = False
    note: str | None = None

    @property
    def name(self) -> str:
        n = "x".join(map(str, self.n)) if isinstance(self.n, tuple) else str(self.n)
        return f"{self.kernel}/{self.impl}/{self.dtype}/{n}"

    def to_dict(self) -> dict:
        d = {"name": self.name, **asdict(self)}
        if isinstance(self.n, tuple):
            d["n"] = list(self.n)
        return {k: _json_number(v) for k, v in d.items()}


@dataclass
class Comparison:
    """The rows (matched, then removed, then added), the geomean of the new/old
    median ratios as a change in per cent (None without matched rows) and the
    notes: each row's note as "name: note", then those on the whole comparison."""

    rows: list[RowComparison]
    geomean_pct: float | None
    notes: list[str] = field(default_factory=list)
    alpha: float = 0.05
    old_name: str = "old"
    new_name: str = "new"
    geomean_old_s: float | None = None
    geomean_new_s: float | None = None

    @property
    def matched(self) -> list[RowComparison]:
        return [r for r in self.rows if r.status == "matched"]

    def to_dict(self) -> dict:
        return {
            "old": self.old_name,
            "new": self.new_name,
            "alpha": self.alpha,
            "rows": [r.to_dict() for r in self.rows],
            "geomean_pct": _json_number(self.geomean_pct),
            "geomean_old_s": _json_number(self.geomean_old_s),
            "geomean_new_s": _json_number(self.geomean_new_s),
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        """An aligned table like benchstat's under the two names: name, old and new
        median (± IQR as a per cent of the median), the change (``~`` when not
        significant) with p and the sample sizes, the geomean, then the notes."""
        table = [["name", "old median", "new median", "delta"]]
        for r in self.rows:
            old, new = _pair(r.old_median_s, r.new_median_s)
            old = _with_spread(old, r.old_median_s, r.old_iqr_s)
            new = _with_spread(new, r.new_median_s, r.new_iqr_s)
            if r.status == "matched":
                delta = _delta(r)
                ptext = "" if r.p is None else f"(p={r.p:.3f} n={r.old_samples}+{r.new_samples})"
            else:
                delta, ptext = r.status, ""
            if r.note and self._note_mark(r):
                ptext = f"{ptext} [{self._note_mark(r)}]".lstrip()
            table.append([r.name, old, new, delta, ptext])
        if self.geomean_pct is not None:
            old, new = _pair(self.geomean_old_s, self.geomean_new_s)
            table.append(["geomean", old, new, f"{self.geomean_pct:+.2f}%", ""])
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        lines = [f"old: {self.old_name}", f"new: {self.new_name}  (alpha = {self.alpha:g})", ""]
        for row in table:
            cells = [row[0].ljust(widths[0])]
            cells += [row[i].rjust(widths[i]) for i in (1, 2)]
            cells.append(row[3].ljust(widths[3]))
            if len(row) > 4 and row[4]:
                cells.append(row[4])
            lines.append("  ".join(cells).rstrip())
        if not self.rows:
            lines.append("(no rows in either file)")
        if self.notes:
            lines.append("")
            lines += [f"[{i}] {note}" for i, note in enumerate(self.notes, 1)]
        return "\n".join(lines)

    def _note_mark(self, row: RowComparison) -> int:
        text = f"{row.name}: {row.note}"
        return self.notes.index(text) + 1 if text in self.notes else 0


def _json_number(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _unit(v: float) -> tuple[float, str]:
    for scale, name in _UNITS:
        if v >= scale * (1 - 5e-5):
            return scale, name
    return _UNITS[-1]


def _digits(x: float) -> int:
    """Decimals for four significant digits (at most three, at least none)."""
    if x <= 0:
        return 0
    return max(0, min(3, 3 - math.floor(math.log10(x * (1 + 5e-5)))))


def format_time(seconds: float | None, unit: tuple[float, str] | None = None) -> str:
    """``seconds`` with four significant digits in ns, µs, ms or s (or ``unit``)."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    scale, name = unit or _unit(seconds)
    x = seconds / scale
    return f"{x:.{_digits(x)}f} {name}"


def _pair(old: float | None, new: float | None) -> tuple[str, str]:
    """Both times in one unit, the one that suits the smaller (non-zero) of them."""
    vals = [v for v in (old, new) if v is not None and math.isfinite(v) and v > 0]
    unit = _unit(min(vals)) if vals else (1e-9, "ns")
    return format_time(old, unit), format_time(new, unit)


def _with_spread(text: str, med: float | None, iqr: float | None) -> str:
    if med is None or iqr is None or not med > 0 or not math.isfinite(iqr):
        return text
    return f"{text} ± {100 * iqr / med:.0f}%"


def _delta(r: RowComparison) -> str:
    if r.delta_pct is None:
        return "?"
    return f"{r.delta_pct:+.2f}%" if r.significant else "~"


def _number(v, what: str):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"{what}: expected a number, got {json.dumps(v)[:40]}")
    return float(v)


def _collect(doc, label: str) -> dict:
    """identity -> {"row": first row, "times": pooled times_s, "median": median_s,
    "count": rows pooled}, in the order of the file; raises InputError naming ``label``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise InputError(f'{label}: not a jitperf bench result (no "results" list)')
    out: dict = {}
    for i, row in enumerate(doc["results"]):
        where = f"{label}: results[{i}]"
        if not isinstance(row, dict):
            raise InputError(f"{where}: expected an object")
        for k in ("kernel", "impl", "dtype"):
            if not isinstance(row.get(k), str):
                raise InputError(f"{where}: expected a string {k!r}")
        n = row.get("n")
        if isinstance(n, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in n):
            n = tuple(n)
        elif isinstance(n, bool) or not isinstance(n, int):
            raise InputError(f"{where}: expected an integer 'n'")
        times = row.get("times_s", [])
        if not isinstance(times, list):
            raise InputError(f"{where}.times_s: expected a list of seconds")
        times = [_number(t, f"{where}.times_s") for t in times]
        if any(not (math.isfinite(t) and t >= 0) for t in times):
            raise InputError(f"{where}.times_s: expected finite times >= 0")
        med = row.get("median_s")
        med = None if med is None else _number(med, f"{where}.median_s")
        key = (row["kernel"], row["impl"], row["dtype"], n)
        if key in out:
            out[key]["times"] += times
            out[key]["count"] += 1
        else:
            out[key] = {"row": row, "times": times, "median": med, "count": 1}
    return out


def _summary(entry: dict | None) -> tuple[float | None, float | None, int]:
    """(median, iqr, samples) of one side: from the raw times, else the row's median_s."""
    if entry is None:
        return None, None, 0
    ts = entry["times"]
    if ts:
        return S.median(ts), S.iqr(ts), len(ts)
    med = entry["median"]
    return (med if med is not None and math.isfinite(med) else None), None, 0


def _positive(v: float | None) -> bool:
    return v is not None and math.isfinite(v) and v > 0


def _test(r: RowComparison, old: list[float], new: list[float], alpha: float) -> None:
    """Fill in the change, p and significance of the matched row ``r``."""
    notes = []
    if _positive(r.old_median_s) and r.new_median_s is not None:
        r.delta_pct = (r.new_median_s - r.old_median_s) / r.old_median_s * 100
    elif r.old_median_s is None or r.new_median_s is None:
        notes.append("no median on one side")
    else:
        notes.append("the old median is 0: no change in per cent")
    n1, n2 = len(old), len(new)
    if n1 and n2:
        r.p = S.mann_whitney_u(old, new)[1]
    if min(n1, n2) < MIN_SAMPLES:
        notes.append(
            f"too few samples ({n1} old, {n2} new): need at least {MIN_SAMPLES} a side "
            "to tell a change from noise"
        )
    elif S.min_p_value(n1, n2) >= alpha:
        notes.append(
            f"{n1} + {n2} samples cannot reach p < {alpha:g} whatever the times: run more repeats"
        )
    else:
        r.significant = r.p is not None and r.p < alpha and r.delta_pct is not None
    r.note = "; ".join(notes) or None


def compare(
    old: dict,
    new: dict,
    *,
    alpha: float = 0.05,
    old_name: str = "old",
    new_name: str = "new",
) -> Comparison:
    """Compare the bench results ``old`` and ``new`` (the --json objects).

    ``old_name`` and ``new_name`` label the columns and any error (the file names)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise InputError(f"alpha: expected a level between 0 and 1, got {alpha!r}")
    a, b = _collect(old, old_name), _collect(new, new_name)
    rows: list[RowComparison] = []
    notes: list[str] = []
    for label, side in ((old_name, a), (new_name, b)):
        pooled = [k for k, e in side.items() if e["count"] > 1]
        if pooled:
            notes.append(
                f"{label}: {len(pooled)} identities appear in several rows; their samples "
                f"are pooled (first: {RowComparison(*pooled[0], 'matched').name})"
            )
    matched = [key for key in a if key in b]
    removed = [key for key in a if key not in b]
    added = [key for key in b if key not in a]
    for status, keys in (("matched", matched), ("removed", removed), ("added", added)):
        for key in keys:
            om, oi, on = _summary(a.get(key))
            nm, ni, nn = _summary(b.get(key))
            r = RowComparison(*key, status, om, nm, oi, ni, on, nn)
            if status == "matched":
                _test(r, a[key]["times"], b[key]["times"], alpha)
            rows.append(r)
    notes += [f"{r.name}: {r.note}" for r in rows if r.note]
    both = [r for r in rows if r.status == "matched" and _positive(r.old_median_s)
            and _positive(r.new_median_s)]  # fmt: skip
    ratios = [r.new_median_s / r.old_median_s for r in both]
    n_matched = sum(r.status == "matched" for r in rows)
    geo = geo_old = geo_new = None
    if ratios:
        geo = (S.geomean(ratios) - 1) * 100
        geo_old = S.geomean(r.old_median_s for r in both)
        geo_new = S.geomean(r.new_median_s for r in both)
        if len(ratios) < n_matched:
            notes.append(
                f"the geomean is over {len(ratios)} of {n_matched} matched rows "
                "(rows without a positive median on both sides are left out)"
            )
    if added or removed:
        notes.append(
            f"{_rows(len(removed))} only in {old_name}, {_rows(len(added))} only in {new_name}: "
            "the geomean is over the rows in both"
        )
    return Comparison(rows=rows, geomean_pct=geo, notes=notes, alpha=float(alpha),
                      old_name=old_name, new_name=new_name,
                      geomean_old_s=geo_old, geomean_new_s=geo_new)  # fmt: skip


def load_results(path) -> dict:
    """The ``jitperf bench --json`` object in ``path``, checked row by row; a missing
    or unreadable file, invalid JSON or an object without ``results`` is an InputError."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a bench result") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not valid JSON (not UTF-8 text)") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{path}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    except RecursionError:
        raise InputError(f"{path}: not valid JSON (nested too deep)") from None
    _collect(doc, path)
    return doc


def _rows(k: int) -> str:
    return f"{k} row" if k == 1 else f"{k} rows"
