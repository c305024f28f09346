"""This machine's limits: memory bandwidth and FMA peak, measured once and cached.

``measure_machine()`` runs numba kernels (not C) for:

* memory bandwidth of read (``s += a[i]``), copy (``b[:] = a``) and triad
  (``a = b + s*c``) on float64, with one thread and with all of numba's threads:
  ``prange`` kernels (parallel, fastmath, nogil), the 1-thread figure under
  ``numba.set_num_threads(1)``. The working set is at least 1 GiB (quick: 256 MiB)
  and every array at least 4x the last-level cache. Bytes count as moved: read 1
  array, copy 2, triad 3, without write-allocate traffic (STREAM's convention).
  GB/s are 1e9 bytes a second, the median of several repeats after a warm-up.
* peak FMA throughput (GFLOP/s, 2 flops per FMA per lane) for float32 and float64,
  1 thread and all threads: ``acc[j] = acc[j] * x + y`` over a small block whose
  size is a compile-time constant, so that LLVM vectorizes the loop over ``j``,
  unrolls it fully and keeps the block in registers: ``CHAINS`` independent
  vector FMA chains. The vector width each figure ran at is read from the
  assembly (jitperf.inspect.report) and recorded in ``vector_bits``. On a CPU with
  AVX-512 whose default build uses 256-bit vectors, the peak kernels also run in a
  subprocess with ``NUMBA_CPU_FEATURES`` = host features + ",-prefer-256-bit": the
  ``*_512`` figures. If the default build already uses zmm, ``zmm_default`` is
  True and there are no separate ``*_512`` figures.

``load_machine()`` caches the result as JSON in ``cache_path()``:
``$JITPERF_CACHE_DIR/machine.json``, else ``$XDG_CACHE_HOME/jitperf/machine.json``,
else ``~/.cache/jitperf/machine.json``. Entries are keyed by the CPU name, its
features and numba's thread count; a different key measures again. Each key holds
a full and a quick measurement apart, so a quick run never replaces a full one;
``load_machine(quick=True)`` returns the full one when there is one. The file is
written atomically (a temporary file, then ``os.replace``).

Nothing here prints: pass ``progress=`` a callable to hear what runs.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import llvmlite
import numba
import numpy as np
from numba import njit, prange

from ..inspect import report
from ..inspect.compile import host_cpu

# Sizes and repeats; module constants so that tests can make them small.
WORKING_SET_BYTES = 1 << 30  # bandwidth working set, full run
QUICK_WORKING_SET_BYTES = 256 << 20
LLC_FACTOR = 4  # every bandwidth array is at least this many times the last-level cache
FALLBACK_LLC_BYTES = 32 << 20  # when /sys does not say
REPEATS = 5
QUICK_REPEATS = 3
PEAK_SECONDS = 0.2  # one timed run of the peak kernel
QUICK_PEAK_SECONDS = 0.05
CHAINS = 12  # independent vector FMA chains: more than 2 FMA units x 4 cycles latency
MIN_BLOCK = 56  # below about this many elements LLVM unrolls the block before vectorizing
SUBPROCESS_TIMEOUT_S = 300

CACHE_FORMAT = 1
CACHE_FILE = "machine.json"
SYS_CPU = "/sys/devices/system/cpu"

Progress = Callable[[str], None]


# -- kernels -------------------------------------------------------------------------------


@njit(parallel=True, fastmath=True, nogil=True, boundscheck=False)
def _fill(a, value):
    for i in prange(a.shape[0]):
        a[i] = value


@njit(parallel=True, fastmath=True, nogil=True, boundscheck=False)
def _read(a):
    s = 0.0
    for i in prange(a.shape[0]):
        s += a[i]
    return s


@njit(parallel=True, fastmath=True, nogil=True, boundscheck=False)
def _copy(a, b):
    for i in prange(a.shape[0]):
        b[i] = a[i]


@njit(parallel=True, fastmath=True, nogil=True, boundscheck=False)
def _triad(a, b, c, s):
    for i in prange(a.shape[0]):
        a[i] = b[i] + s * c[i]


def _block(bits: int, itemsize: int) -> int:
    """Elements of the peak kernel's register block: CHAINS vectors of ``bits``."""
    lanes = max(1, bits // (8 * itemsize))
    block = max(CHAINS * lanes, MIN_BLOCK)
    return -(-block // lanes) * lanes


@functools.cache
def _peak_kernels(block: int):
    """A serial and a parallel FMA peak kernel for a block of ``block`` elements.

    ``block`` is a closure constant, so the loop over ``j`` has a known trip
    count: LLVM vectorizes it, unrolls the vector loop and keeps ``acc`` in
    registers across the loop over iterations (no loads or stores in it).
    """

    def fma_peak(acc, x, y, n):
        for _ in range(n):
            for j in range(block):
                acc[j] = acc[j] * x + y

    def fma_peak_parallel(acc, x, y, n):
        for t in prange(acc.shape[0]):  # one row a thread
            row = acc[t]
            for _ in range(n):
                for j in range(block):
                    row[j] = row[j] * x + y

    fm = {"contract"}  # fuse, nothing else: the chains stay as written
    serial = njit(nogil=True, fastmath=fm, boundscheck=False)(fma_peak)
    parallel = njit(nogil=True, fastmath=fm, boundscheck=False, parallel=True)(fma_peak_parallel)
    return serial, parallel


def _signature(dtype, parallel: bool) -> tuple:
    sty = numba.from_dtype(np.dtype(dtype))
    return (sty[:, ::1] if parallel else sty[::1], sty, sty, numba.int64)


def _default_bits() -> int:
    features = host_cpu()[1]
    return 512 if "+avx512f" in features else 256 if "+avx" in features else 128


def peak_kernel(dtype, *, parallel: bool = False, bits: int | None = None):
    """The peak FMA kernel sized for ``bits``-wide vectors (default: the widest the
    host has) and its signature, e.g. for ``jitperf.inspect.report(kernel, sig)``."""
    block = _block(bits or _default_bits(), np.dtype(dtype).itemsize)
    serial, par = _peak_kernels(block)
    return (par if parallel else serial), _signature(dtype, parallel)


def _hot(kernel, sig):
    return report(kernel, sig).asm_stats["hot"]


def _time(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def _time_peak(kernel, acc, x, y, seconds: float, repeats: int) -> float:
    """GFLOP/s of ``kernel`` on ``acc``: 2 flops an element an iteration."""
    kernel(acc, x, y, 1)  # compile
    n = 256
    while n < 1 << 40:
        # the faster of two: one run can stall (a thread woken late, a busy host)
        # and a stalled calibration would leave n so small that overhead is timed
        t = min(_time(kernel, acc, x, y, n), _time(kernel, acc, x, y, n))
        if t >= seconds / 8:
            break
        n *= 4
    n = max(1, int(n * seconds / max(t, 1e-9)))
    kernel(acc, x, y, n)  # warm-up at the timed size
    t = statistics.median(_time(kernel, acc, x, y, n) for _ in range(repeats))
    return 2.0 * acc.size * n / t / 1e9


def _measure_peaks(seconds: float, repeats: int, threads: int, say: Progress) -> dict:
    """Peak FMA GFLOP/s for float32 and float64, 1 thread and ``threads``, in this
    process's build (NUMBA_CPU_FEATURES applies), with the vector width of each."""
    out: dict = {"peak_gflops": {}, "vector_bits": {}, "fma": {}, "notes": []}
    guess = _default_bits()
    for dt, tag in ((np.float32, "f32"), (np.float64, "f64")):
        kernel, sig = peak_kernel(dt, bits=guess)
        hot = _hot(kernel, sig)
        if hot.vector_bits and hot.vector_bits != guess:
            # the build picked another width: size the block for that one
            kernel, sig = peak_kernel(dt, bits=hot.vector_bits)
            hot = _hot(kernel, sig)
        pkernel, psig = peak_kernel(dt, parallel=True, bits=hot.vector_bits or guess)
        phot = _hot(pkernel, psig)
        for label, h in ((f"{tag}_1t", hot), (f"{tag}_all", phot)):
            out["vector_bits"][label] = h.vector_bits
            out["fma"][label] = h.fma
            if not h.fma:
                out["notes"].append(f"{label}: the peak kernel's hot loop has no FMA")
        x, y = dt(0.999), dt(0.001)  # a fixed point at 1: no overflow, no subnormals
        block = _block(hot.vector_bits or guess, np.dtype(dt).itemsize)
        say(f"FMA peak, {tag}, 1 thread ({hot.vector_bits}-bit)")
        out["peak_gflops"][f"{tag}_1t"] = _time_peak(
            kernel, np.ones(block, dt), x, y, seconds, repeats
        )
        say(f"FMA peak, {tag}, {threads} threads ({phot.vector_bits}-bit)")
        out["peak_gflops"][f"{tag}_all"] = _time_peak(
            pkernel, np.ones((threads, block), dt), x, y, seconds, repeats
        )
    return out


def _peak_child(argv: list[str]) -> None:
    """The subprocess that measures the peak under another NUMBA_CPU_FEATURES."""
    opts = json.loads(argv[0])
    res = _measure_peaks(opts["seconds"], opts["repeats"], numba.get_num_threads(), _quiet)
    res["features"] = host_cpu()[1]
    sys.stdout.write("\n" + json.dumps(res) + "\n")


def measure_peaks_with_features(
    extra: str, *, seconds: float, repeats: int, threads: int | None = None
) -> dict:
    """Run the peak measurement in a subprocess whose NUMBA_CPU_FEATURES is the host's
    features plus ``extra`` (e.g. ",-prefer-256-bit"). Returns its result dict."""
    env = dict(os.environ)
    name, features = host_cpu()
    env["NUMBA_CPU_NAME"] = name
    env["NUMBA_CPU_FEATURES"] = features + extra
    env["NUMBA_NUM_THREADS"] = str(threads or numba.get_num_threads())
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    code = "import sys; from jitperf.bench.machine import _peak_child; _peak_child(sys.argv[1:])"
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps({"seconds": seconds, "repeats": repeats})],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the peak subprocess failed (exit {proc.returncode}): {tail}")
    return json.loads(lines[-1])


# -- memory bandwidth ------------------------------------------------------------------------


def _bandwidth(nbytes: int, repeats: int, threads: int, say: Progress) -> dict:
    n = max(nbytes // 8, 6)
    buf = np.empty(n, np.float64)
    _fill(buf, 1.0)  # first touch from the threads that read it
    half, third = n // 2, n // 3
    tests = {
        "read": (_read, (buf,), 8 * n),
        "copy": (_copy, (buf[:half], buf[half : 2 * half]), 2 * 8 * half),
        "triad": (_triad, (buf[:third], buf[third : 2 * third], buf[2 * third : 3 * third], 3.0),
                  3 * 8 * third),
    }  # fmt: skip
    out = {}
    before = numba.get_num_threads()
    try:
        for label, nt in (("1t", 1), ("all", threads)):
            numba.set_num_threads(nt)
            for name, (fn, args, moved) in tests.items():
                say(f"memory bandwidth, {name}, {nt} thread{'s' if nt > 1 else ''}")
                fn(*args)  # compile, warm-up
                t = statistics.median(_time(fn, *args) for _ in range(repeats))
                out[f"{name}_{label}"] = moved / t / 1e9
    finally:
        numba.set_num_threads(before)
    return out


# -- what the system says ----------------------------------------------------------------------


def _parse_size(text: str) -> int | None:
    m = re.fullmatch(r"\s*(\d+)\s*([KMG]?)i?B?\s*", text, re.IGNORECASE)
    if not m:
        return None
    return int(m[1]) << {"": 0, "K": 10, "M": 20, "G": 30}[m[2].upper()]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cache_dirs(cpu: Path) -> list[dict]:
    out = []
    for d in sorted(cpu.glob("cache/index*")):
        level, kind, size = (_read_text(d / f) for f in ("level", "type", "size"))
        nbytes = _parse_size(size) if size else None
        if level is None or not level.isdigit() or nbytes is None:
            continue
        out.append(
            {
                "level": int(level),
                "type": kind or "Unknown",
                "size_bytes": nbytes,
                "_id": _read_text(d / "id") or _read_text(d / "shared_cpu_list") or d.name,
            }
        )
    return out


def read_caches(root: str = SYS_CPU) -> list[dict]:
    """cpu0's caches as {level, type, size_bytes}, from /sys; [] if it cannot be read."""
    caches = _cache_dirs(Path(root) / "cpu0")
    caches.sort(key=lambda c: (c["level"], c["type"]))
    return [{k: v for k, v in c.items() if k != "_id"} for c in caches]


def llc_bytes(root: str = SYS_CPU) -> int | None:
    """The last-level cache of the whole machine: every distinct instance of the
    highest-level data or unified cache, summed over the CPUs (None if unknown)."""
    seen: dict = {}
    for cpu in Path(root).glob("cpu[0-9]*"):
        for c in _cache_dirs(cpu):
            if c["type"] != "Instruction":
                seen[(c["level"], c["_id"])] = c["size_bytes"]
    if not seen:
        return None
    top = max(level for level, _ in seen)
    return sum(size for (level, _), size in seen.items() if level == top)


def _meminfo(field_name: str) -> int | None:
    text = _read_text(Path("/proc/meminfo")) or ""
    m = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(m[1]) << 10 if m else None


def _cpu_mhz() -> float | None:
    text = _read_text(Path("/proc/cpuinfo")) or ""
    m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.MULTILINE)
    return float(m[1]) if m else None


def _versions() -> tuple[str, str, str]:
    try:
        from .. import __version__ as jv
    except ImportError:  # pragma: no cover
        jv = "unknown"
    return jv, numba.__version__, llvmlite.__version__


def _quiet(msg: str) -> None:
    pass


# -- the result --------------------------------------------------------------------------------


@dataclass
class Machine:
    """This machine's measured limits; see the module docstring for the method."""

    bandwidth_gbps: dict  # read_1t, read_all, copy_1t, copy_all, triad_1t, triad_all
    peak_gflops: dict  # f32_1t, f32_all, f64_1t, f64_all (+ *_512 where measured apart)
    vector_bits: dict  # the vector width each peak figure ran at
    cpu: str
    features: str
    caches: list  # {level, type, size_bytes}
    threads: int  # numba.get_num_threads(): the "all" figures
    threading_layer: str
    measured_at: str  # ISO 8601, UTC
    jitperf_version: str
    numba_version: str
    quick: bool
    pool_threads: int = 0  # numba.config.NUMBA_NUM_THREADS
    llvmlite_version: str = ""
    cpu_mhz: float | None = None  # as /proc/cpuinfo reports it
    llc_bytes: int = 0  # the last-level cache the arrays were sized against
    working_set_bytes: int = 0  # per bandwidth test
    repeats: int = 0
    zmm_default: bool | None = None  # AVX-512 only: the default build already uses zmm
    elapsed_s: float = 0.0
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Machine:
        """The inverse of to_dict; unknown keys are ignored, missing ones raise ValueError."""
        if not isinstance(d, dict):
            raise ValueError("a Machine is a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        required = {
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        missing = sorted(required - d.keys())
        if missing:
            raise ValueError(f"a Machine needs {', '.join(missing)}")
        for name in ("bandwidth_gbps", "peak_gflops", "vector_bits"):
            if not isinstance(d[name], dict):
                raise ValueError(f"{name}: expected an object")
        return cls(**{k: v for k, v in d.items() if k in names})


def _scaling_notes(peak: dict, threads: int) -> list[str]:
    """A note for each all-thread peak under 1.5x its 1-thread figure: the threads
    then shared a core (SMT siblings, or a busy host) for part of the run."""
    if threads < 2:
        return []
    out = []
    for tag in ("f32", "f64"):
        one, every = peak.get(f"{tag}_1t"), peak.get(f"{tag}_all")
        if one and every and every < 1.5 * one:
            out.append(
                f"{tag}_all is only {every / one:.2f}x {tag}_1t on {threads} threads: "
                "they shared a core for part of the run (SMT siblings or a busy host)"
            )
    return out


def measure_machine(*, quick: bool = False, progress: Progress | None = None) -> Machine:
    """Measure this machine's memory bandwidth and FMA peak (see the module docstring).

    About 10 s on 2 cores (more where the last-level cache is larger, as the arrays
    grow with it, and with the 512-bit subprocess); ``quick`` uses a 256 MiB working
    set, fewer repeats and shorter peak runs (about 4 s here).
    """
    say = progress or _quiet
    t0 = time.perf_counter()
    cpu, features = host_cpu()
    threads = numba.get_num_threads()
    notes: list[str] = []

    llc = llc_bytes()
    if llc is None:
        llc = FALLBACK_LLC_BYTES
        notes.append(f"cache sizes unknown: arrays sized for a {llc >> 20} MiB last-level cache")
    target = QUICK_WORKING_SET_BYTES if quick else WORKING_SET_BYTES
    nbytes = max(target, 3 * LLC_FACTOR * llc)  # triad's three arrays each >= 4x LLC
    available = _meminfo("MemAvailable")
    if available and nbytes > available // 2:
        nbytes = available // 2
        notes.append(f"working set cut to {nbytes >> 20} MiB: half the available memory")
    repeats = QUICK_REPEATS if quick else REPEATS

    bandwidth = _bandwidth(nbytes, repeats, threads, say)
    try:
        layer = numba.threading_layer()
    except ValueError:  # pragma: no cover - a parallel kernel ran above
        layer = "unknown"

    seconds = QUICK_PEAK_SECONDS if quick else PEAK_SECONDS
    peaks = _measure_peaks(seconds, repeats, threads, say)
    notes += peaks["notes"]
    peak, bits = peaks["peak_gflops"], peaks["vector_bits"]
    notes += _scaling_notes(peak, threads)
    zmm_default = None
    if "+avx512f" in features:
        zmm_default = all(b == 512 for b in bits.values())
        if zmm_default:
            notes.append("the default build already uses 512-bit vectors (zmm)")
        else:
            say("FMA peak, 512-bit (a subprocess with -prefer-256-bit)")
            try:
                wide = measure_peaks_with_features(
                    ",-prefer-256-bit", seconds=seconds, repeats=repeats, threads=threads
                )
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
                notes.append(f"no 512-bit figures: {e}")
            else:
                for k, v in wide["peak_gflops"].items():
                    peak[f"{k}_512"] = v
                    bits[f"{k}_512"] = wide["vector_bits"][k]
                notes += [f"512-bit build: {n}" for n in wide.get("notes", [])]

    jv, nv, lv = _versions()
    return Machine(
        bandwidth_gbps=bandwidth,
        peak_gflops=peak,
        vector_bits=bits,
        cpu=cpu,
        features=features,
        caches=read_caches(),
        threads=threads,
        threading_layer=layer,
        measured_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        jitperf_version=jv,
        numba_version=nv,
        quick=quick,
        pool_threads=int(numba.config.NUMBA_NUM_THREADS),
        llvmlite_version=lv,
        cpu_mhz=_cpu_mhz(),
        llc_bytes=llc,
        working_set_bytes=nbytes,
        repeats=repeats,
        zmm_default=zmm_default,
        elapsed_s=round(time.perf_counter() - t0, 2),
        notes=notes,
    )


# -- the cache ---------------------------------------------------------------------------------


def cache_dir() -> Path:
    """$JITPERF_CACHE_DIR, else $XDG_CACHE_HOME/jitperf, else ~/.cache/jitperf."""
    own = os.environ.get("JITPERF_CACHE_DIR")
    if own:
        return Path(own)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "jitperf"


def cache_path() -> Path:
    return cache_dir() / CACHE_FILE


def machine_key() -> str:
    """This process's cache key: CPU name, features and numba's thread count."""
    cpu, features = host_cpu()
    digest = hashlib.sha256(features.encode()).hexdigest()[:16]
    return f"{cpu}/{numba.get_num_threads()}t/{digest}"


def _read_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"format": CACHE_FORMAT, "entries": {}}
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return {"format": CACHE_FORMAT, "entries": {}}
    if not isinstance(data.get("entries"), dict):
        data["entries"] = {}
    return data


def _write_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _cached(entry, slot: str) -> Machine | None:
    if not isinstance(entry, dict) or slot not in entry:
        return None
    try:
        return Machine.from_dict(entry[slot])
    except (TypeError, ValueError):
        return None


def load_machine(
    *, refresh: bool = False, quick: bool = False, progress: Progress | None = None
) -> Machine:
    """This machine's limits from the cache, measured (and cached) when missing.

    ``refresh`` measures again. ``quick`` measures quickly when nothing is
    cached, and returns a cached full measurement when there is one. A quick
    measurement is kept apart from the full one and never replaces it. A cache
    that cannot be read is measured over; one that cannot be written is skipped.
    """
    say = progress or _quiet
    path = cache_path()
    key = machine_key()
    slot = "quick" if quick else "full"
    data = _read_cache(path)
    entry = data["entries"].get(key)
    if not refresh:
        for s in ("full", "quick") if quick else ("full",):
            m = _cached(entry, s)
            if m is not None:
                return m
    m = measure_machine(quick=quick, progress=progress)
    data = _read_cache(path)  # again: another process may have written meanwhile
    entry = data["entries"].get(key)
    if not isinstance(entry, dict):
        entry = {}
    entry[slot] = m.to_dict()
    data["entries"][key] = entry
    try:
        _write_atomic(path, data)
    except OSError as e:
        say(f"cannot write the cache {path}: {e.strerror or e}")
    return m
