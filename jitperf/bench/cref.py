"""The C reference: the same loops in C, built with the system compiler.

A few loops (a read-reduce, an affine map and squared distances) are
compiled at bench time with ``cc -O3 -march=native -ffast-math -fopenmp``
(and linked without -ffast-math, which would set flush-to-zero process-wide)
into the user cache dir (keyed by the source and flags) and called through
ctypes, on all threads. They are the practical limit the jitperf rows are
set against in the same run; without a compiler their rows are skipped.
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
#define REDUCE(name, T) \
double name(const T *x, size_t n) { \
    double acc = 0.0; \
    _Pragma("omp parallel for simd reduction(+:acc)") \
    for (size_t i = 0; i < n; i++) acc += x[i]; \
    return acc; }
REDUCE(sum_f32, float)
REDUCE(sum_f64, double)
#define AFFINE(name, T) \
void name(const T *x, T *out, size_t n, T s, T o) { \
    _Pragma("omp parallel for simd") \
    for (size_t i = 0; i < n; i++) out[i] = s * x[i] + o; }
AFFINE(affine_f32, float)
AFFINE(affine_f64, double)
#define SQEUCLIDEAN(name, T) \
void name(const T *a, const T *b, T *out, size_t n, size_t m, size_t d) { \
    _Pragma("omp parallel for") \
    for (size_t i = 0; i < n; i++) \
        for (size_t j = 0; j < m; j++) { \
            T acc = 0; \
            _Pragma("omp simd reduction(+:acc)") \
            for (size_t k = 0; k < d; k++) { T t = a[i*d+k] - b[j*d+k]; acc += t * t; } \
            out[i*m+j] = acc; } }
SQEUCLIDEAN(sqeuclidean_f32, float)
SQEUCLIDEAN(sqeuclidean_f64, double)
"""
FLAGS = ["-O3", "-march=native", "-ffast-math", "-fopenmp", "-fPIC"]
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
    return "f32" if dt == np.float32 else "f64"


def calls(lib: ctypes.CDLL) -> dict:
    """kernel name -> (data) -> call(), for the kernels the C reference has."""

    def reduce_(d):
        x = np.ascontiguousarray(d["x"])
        fn = getattr(lib, f"sum_{_suffix(x.dtype)}")
        fn.restype = ctypes.c_double
        fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        return lambda: fn(_ptr(x), x.size)

    def affine(d):
        x, out = d["x"], d["out"]
        scalar = ctypes.c_float if x.dtype == np.float32 else ctypes.c_double
        fn = getattr(lib, f"affine_{_suffix(x.dtype)}")
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, scalar, scalar]
        return lambda: fn(_ptr(x), _ptr(out), x.size, 2.5, -0.75)

    def sqeuclidean(d):
        a, b, out = d["a"], d["b"], d["out"]
        fn = getattr(lib, f"sqeuclidean_{_suffix(a.dtype)}")
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_size_t] * 3
        return lambda: fn(_ptr(a), _ptr(b), _ptr(out), a.shape[0], b.shape[0], a.shape[1])

    return {"sum": reduce_, "affine": affine, "sqeuclidean": sqeuclidean}
