"""Plots of a bench run: a roofline, and the speedups over numpy (matplotlib).

The roofline puts every row at (flops per byte, GFLOP/s) under the machine's
bandwidth slope and FMA peak (all threads); the bar chart shows numpy's
median over each implementation's, per kernel and dtype.
"""

from __future__ import annotations

import io
import os

from ..errors import InputError
from ..io import AtomicFile


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot: needs matplotlib (pip install 'jitperf[plot]')") from None
    return plt


def _save(fig, path: str, force: bool) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    with AtomicFile(path, force=force) as out:
        out.write(buf.getvalue())
        return out.commit()


def plot(doc: dict, path: str, *, force: bool = False) -> list[str]:
    """Write PATH (the roofline) and PATH's stem + '.speedup.png'; the paths."""
    plt = _pyplot()
    rows = doc["results"]
    machine = doc.get("machine") or {}
    fig, ax = plt.subplots(figsize=(7, 5))
    for r in rows:
        if r["bytes"] and r["flops"]:
            ax.scatter(r["flops"] / r["bytes"], r["gflops"], s=18)
            ax.annotate(f"{r['kernel']}/{r['impl']}", (r["flops"] / r["bytes"], r["gflops"]),
                        fontsize=6)  # fmt: skip
    bw = (machine.get("bandwidth_gbps") or {}).get("read_all")
    peaks = machine.get("peak_gflops") or {}
    xs = [2.0**k for k in range(-6, 9)]
    if bw:
        for key, style in (("f32_all", "-"), ("f64_all", "--")):
            peak = peaks.get(key)
            if peak:
                ax.plot(xs, [min(bw * x, peak) for x in xs], style, label=f"roof {key}")
    ax.set(xscale="log", yscale="log", xlabel="flops per byte", ylabel="GFLOP/s",
           title=f"roofline: {machine.get('cpu', 'this machine')}")  # fmt: skip
    ax.legend(fontsize=7)
    written = [_save(fig, path, force)]
    plt.close(fig)

    base = {(r["kernel"], r["dtype"]): r["median_s"] for r in rows if r["impl"] == "numpy"}
    bars = [(f"{r['kernel']}/{r['impl']}/{r['dtype']}", base[(r["kernel"], r["dtype"])] /
             r["median_s"]) for r in rows if (r["kernel"], r["dtype"]) in base
            and r["impl"] != "numpy"]  # fmt: skip
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.22 * len(bars))))
    ax.barh([b[0] for b in bars], [b[1] for b in bars])
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set(xscale="log", xlabel="speedup over numpy (median time ratio)")
    ax.tick_params(axis="y", labelsize=6)
    stem, _ = os.path.splitext(path)
    written.append(_save(fig, f"{stem}.speedup.png", force))
    plt.close(fig)
    return written
