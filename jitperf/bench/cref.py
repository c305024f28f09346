"""The C reference: the same loops in C, built with the system compiler.

The memory-bound reductions, affine, polyval, clip and squared distances
are compiled at bench time with ``cc -O3 -march=native -fopenmp`` and
fast-math without -ffinite-math-only (see FLAGS) into the user cache dir
(keyed by the source and flags), and called through ctypes with a thread
count: the ``c`` rows on all threads, ``c1`` on one. They are the practical
limit the jitperf rows are set against in the same run; without a compiler
their rows are skipped.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile

import numpy as np

SOURCE = r"""
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#define PRAGMA(x) _Pragma(#x)
#define PFOR(clauses) PRAGMA(omp parallel for simd num_threads(nt) clauses)

#define KERNELS(S, T)                                                          \
double sum_##S(const T *x, size_t n, int nt) {                                 \
    double acc = 0.0;                                                          \
    PFOR(reduction(+:acc))                                                     \
    for (size_t i = 0; i < n; i++) acc += x[i];                                \
    return acc; }                                                              \
double nanmean_##S(const T *x, size_t n, int nt) {                              \
    double acc = 0.0; size_t k = 0;                                            \
    PFOR(reduction(+:acc, k))                                                  \
    for (size_t i = 0; i < n; i++) { T v = x[i]; int ok = v == v;              \
        acc += ok ? v : 0; k += ok; }                                          \
    return k ? acc / k : NAN; }                                                \
double nancount_##S(const T *x, size_t n, int nt) {                            \
    size_t k = 0;                                                              \
    PFOR(reduction(+:k))                                                       \
    for (size_t i = 0; i < n; i++) k += x[i] == x[i];                          \
    return (double)k; }                                                        \
double var_##S(const T *x, size_t n, int nt) {                                 \
    double c = n ? x[0] : 0.0, s1 = 0.0, s2 = 0.0;                             \
    PFOR(reduction(+:s1, s2))                                                  \
    for (size_t i = 0; i < n; i++) { double d = x[i] - c; s1 += d; s2 += d * d; } \
    return (s2 - s1 * s1 / n) / n; }                                           \
double nanvar_##S(const T *x, size_t n, int nt) {                              \
    double c = 0.0, s1 = 0.0, s2 = 0.0; size_t k = 0;                          \
    for (size_t i = 0; i < n; i++) if (x[i] == x[i]) { c = x[i]; break; }      \
    PFOR(reduction(+:s1, s2, k))                                               \
    for (size_t i = 0; i < n; i++) { T v = x[i]; int ok = v == v;              \
        double d = ok ? v - c : 0.0; s1 += d; s2 += d * d; k += ok; }          \
    return (s2 - s1 * s1 / k) / k; }                                           \
double min_##S(const T *x, size_t n, int nt) {                                 \
    T m = x[0]; int nan = 0;                                                   \
    PFOR(reduction(min:m) reduction(|:nan))                                    \
    for (size_t i = 0; i < n; i++) { T v = x[i]; m = v < m ? v : m; nan |= v != v; } \
    return nan ? NAN : m; }                                                    \
double max_##S(const T *x, size_t n, int nt) {                                 \
    T m = x[0]; int nan = 0;                                                   \
    PFOR(reduction(max:m) reduction(|:nan))                                    \
    for (size_t i = 0; i < n; i++) { T v = x[i]; m = v > m ? v : m; nan |= v != v; } \
    return nan ? NAN : m; }                                                    \
double nanmin_##S(const T *x, size_t n, int nt) {                              \
    T m = INFINITY;                                                            \
    PFOR(reduction(min:m))                                                     \
    for (size_t i = 0; i < n; i++) { T v = x[i]; m = v < m ? v : m; }          \
    return m; }                                                                \
double nanmax_##S(const T *x, size_t n, int nt) {                              \
    T m = -INFINITY;                                                           \
    PFOR(reduction(max:m))                                                     \
    for (size_t i = 0; i < n; i++) { T v = x[i]; m = v > m ? v : m; }          \
    return m; }                                                                \
double dot_##S(const T *x, const T *y, size_t n, int nt) {                     \
    double acc = 0.0;                                                          \
    PFOR(reduction(+:acc))                                                     \
    for (size_t i = 0; i < n; i++) acc += (double)x[i] * y[i];                 \
    return acc; }                                                              \
double stats_##S(const T *x, size_t n, double *st, int nt) {                   \
    double s1 = 0.0, s2 = 0.0, c = n ? x[0] : 0.0; size_t k = 0;               \
    T lo = INFINITY, hi = -INFINITY;                                           \
    PFOR(reduction(+:s1, s2, k) reduction(min:lo) reduction(max:hi))           \
    for (size_t i = 0; i < n; i++) { T v = x[i]; int ok = v == v;              \
        double d = ok ? v - c : 0.0; s1 += d; s2 += d * d; k += ok;            \
        lo = v < lo ? v : lo; hi = v > hi ? v : hi; }                          \
    st[0] = k; st[1] = s1; st[2] = s2; st[3] = lo; st[4] = hi;                 \
    return s1; }                                                               \
void affine_##S(const T *x, T *out, size_t n, T s, T o, int nt) {              \
    PFOR()                                                                     \
    for (size_t i = 0; i < n; i++) out[i] = s * x[i] + o; }                    \
void polyval4_##S(const T *x, T *out, size_t n, const T *c, int nt) {          \
    T c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4];                   \
    PFOR()                                                                     \
    for (size_t i = 0; i < n; i++) { T v = x[i];                               \
        out[i] = (((c0 * v + c1) * v + c2) * v + c3) * v + c4; } }             \
void clip_##S(const T *x, T *out, size_t n, T lo, T hi, int nt) {              \
    PFOR()                                                                     \
    for (size_t i = 0; i < n; i++) { T v = x[i]; v = v < lo ? lo : v;          \
        out[i] = v > hi ? hi : v; } }                                          \
void sqeuclidean_##S(const T *a, const T *b, T *out, size_t n, size_t m,       \
                     size_t d, int nt) {                                       \
    PRAGMA(omp parallel for num_threads(nt))                                   \
    for (size_t i = 0; i < n; i++)                                             \
        for (size_t j = 0; j < m; j++) {                                       \
            T acc = 0;                                                         \
            PRAGMA(omp simd reduction(+:acc))                                  \
            for (size_t k = 0; k < d; k++) { T t = a[i*d+k] - b[j*d+k]; acc += t * t; } \
            out[i*m+j] = acc; } }

KERNELS(f32, float)
KERNELS(f64, double)

void affine_i16(const int16_t *x, float *out, size_t n, float s, float o, int nt) {
    PFOR()
    for (size_t i = 0; i < n; i++) out[i] = s * x[i] + o; }
"""
# fast-math without -ffinite-math-only: the same freedoms as jitperf's REDUCE
# set (reassociate, contract, no signed zeros, reciprocals), so the NaN tests
# of the nan kernels stay real tests, as in jitperf.
FLAGS = [
    "-O3", "-march=native", "-fopenmp", "-fPIC", "-fno-math-errno", "-fno-trapping-math",
    "-fassociative-math", "-fno-signed-zeros", "-freciprocal-math", "-ffp-contract=fast",
]  # fmt: skip
# Linked without -ffast-math: with it, gcc links crtfastmath.o, whose
# constructor sets flush-to-zero for the whole process when the library
# loads, and every later float computation in it (numpy's, hypothesis's)
# would lose its subnormals.
LINK = ["-shared", "-fopenmp"]


def compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def build() -> tuple[ctypes.CDLL | None, str | None]:
    """(the library, None), or (None, why it is not there)."""
    cc = compiler()
    if cc is None:
        return None, "c: no C compiler (cc) found, its rows are skipped"
    from .machine import cache_dir

    key = hashlib.sha256((SOURCE + cc + " ".join(FLAGS + LINK)).encode()).hexdigest()[:12]
    folder = cache_dir()
    path = folder / f"cref-{key}.so"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "cref.c")
            with open(src, "w") as f:
                f.write(SOURCE)
            obj, out = os.path.join(tmp, "cref.o"), os.path.join(tmp, "cref.so")
            try:
                p = subprocess.run(
                    [cc, *FLAGS, "-c", "-o", obj, src], capture_output=True, text=True
                )
                if p.returncode == 0:
                    p = subprocess.run([cc, *LINK, "-o", out, obj], capture_output=True, text=True)
            except OSError as e:
                return None, f"c: {cc} failed ({e.strerror}), its rows are skipped"
            if p.returncode != 0:
                first = (p.stderr.strip().splitlines() or ["?"])[0]
                return None, f"c: {cc} failed ({first}), its rows are skipped"
            os.replace(out, path)
    return ctypes.CDLL(str(path)), None


def _ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.c_void_p)


def _suffix(dt: np.dtype) -> str:
    return {"float32": "f32", "float64": "f64", "int16": "i16"}[np.dtype(dt).name]


# kernel -> the stem of the C reduction that reads as it does, each
# ``double stem_f32(const float *x, size_t n, int threads)`` (and _f64)
_READS = {
    "sum": "sum", "mean": "sum", "var": "var", "std": "var", "nansum": "nanmean",
    "nanmean": "nanmean", "nanvar": "nanvar", "nanstd": "nanvar", "nancount": "nancount",
    "min": "min", "max": "max", "nanmin": "nanmin", "nanmax": "nanmax",
}  # fmt: skip


def _fn(lib, name, restype, argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


def _scalar(dt: np.dtype):
    return ctypes.c_double if dt == np.float64 else ctypes.c_float


def calls(lib: ctypes.CDLL) -> dict:
    """kernel name -> (data, threads) -> call(), for the kernels the C
    reference has; ``threads`` is the OpenMP thread count of the call."""
    vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int

    def read(stem):
        def build(d, nt):
            x = np.ascontiguousarray(d["x"])
            fn = _fn(lib, f"{stem}_{_suffix(x.dtype)}", ctypes.c_double, [vp, sz, i])
            return lambda: fn(_ptr(x), x.size, nt)

        return build

    def dot(d, nt):
        x, y = d["x"], d["y"]
        fn = _fn(lib, f"dot_{_suffix(x.dtype)}", ctypes.c_double, [vp, vp, sz, i])
        return lambda: fn(_ptr(x), _ptr(y), x.size, nt)

    def stats(d, nt):
        x, st = d["x"], np.empty(5)
        fn = _fn(lib, f"stats_{_suffix(x.dtype)}", ctypes.c_double, [vp, sz, vp, i])
        return lambda: fn(_ptr(x), x.size, _ptr(st), nt)

    def mapping(stem, *params):
        def build(d, nt):
            x, out = d["x"], d["out"]
            scalar = _scalar(out.dtype)
            args = [vp, vp, sz, *[scalar] * len(params), i]
            fn = _fn(lib, f"{stem}_{_suffix(x.dtype)}", None, args)
            return lambda: fn(_ptr(x), _ptr(out), x.size, *params, nt)

        return build

    def polyval(d, nt):
        from .suites import COEFFS

        x, out = d["x"], d["out"]
        c = np.asarray(COEFFS, dtype=x.dtype)
        fn = _fn(lib, f"polyval4_{_suffix(x.dtype)}", None, [vp, vp, sz, vp, i])
        return lambda: fn(_ptr(x), _ptr(out), x.size, _ptr(c), nt)

    def sqeuclidean(d, nt):
        a, b, out = d["a"], d["b"], d["out"]
        fn = _fn(lib, f"sqeuclidean_{_suffix(a.dtype)}", None, [vp] * 3 + [sz] * 3 + [i])
        return lambda: fn(_ptr(a), _ptr(b), _ptr(out), a.shape[0], b.shape[0], a.shape[1], nt)

    from .suites import CLIP

    out = {name: read(stem) for name, stem in _READS.items()}
    out.update(dot=dot, stats=stats, affine=mapping("affine", 2.5, -0.75),
               affine_i16=mapping("affine", 2.5, -0.75), polyval=polyval,
               clip=mapping("clip", *CLIP), sqeuclidean=sqeuclidean)  # fmt: skip
    return out
