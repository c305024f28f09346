"""The kernels a batch run can name, their kind, and the parameters they take.

KERNELS maps a name to a Spec: the stream that runs it chunk by chunk, its
parameters (parser and default; REQUIRED has none) and a one-line summary
for the CLI's help.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError
from ..kernels import elementwise as E
from ..kernels import reductions as R
from ..kernels.stats import STATS
from . import params as P
from . import streams as S

REQUIRED = object()


@dataclass(frozen=True)
class Spec:
    name: str
    stream: type
    target: object  # what the stream calls: a Reduction, a function, a name
    summary: str
    params: dict = field(default_factory=dict)  # name -> (parser, default)
    finish_params: tuple = ()  # the params a Reduction's finish() takes

    def present(self, value, params):
        """The reported form of a reduction's value (stats: its fields)."""
        if self.name == "stats":
            return value.to_dict(ddof=params.get("ddof", 0))
        return value


_DDOF = {"ddof": (P.integer, 0)}


def _reduction(red, summary, params=None):
    return Spec(red.name, S.Reduce, red, summary, params or {}, tuple(params or ()))


def _affine(x, out, variant, p):
    return E.affine(x, p["scale"], p["offset"], p["dtype"], out=out, variant=variant)


def _polyval(x, out, variant, p):
    return E.polyval(p["coeffs"], x, dtype=p["dtype"], out=out, variant=variant)


def _clip(x, out, variant, p):
    return E.clip(x, p["lo"], p["hi"], out=out, variant=variant)


_SPECS = [
    _reduction(R.SUM, "sum (float64)"),
    _reduction(R.MEAN, "mean (float64)"),
    _reduction(R.VAR, "variance, -p ddof=0", _DDOF),
    _reduction(R.STD, "standard deviation, -p ddof=0", _DDOF),
    _reduction(R.MIN, "smallest value (NaN if any)"),
    _reduction(R.MAX, "largest value (NaN if any)"),
    _reduction(R.ARGMIN, "index of the first smallest value"),
    _reduction(R.ARGMAX, "index of the first largest value"),
    _reduction(R.NANSUM, "sum of the non-NaN values"),
    _reduction(R.NANMEAN, "mean of the non-NaN values"),
    _reduction(R.NANVAR, "variance of the non-NaN values, -p ddof=0", _DDOF),
    _reduction(R.NANSTD, "standard deviation of the non-NaN values, -p ddof=0", _DDOF),
    _reduction(R.NANMIN, "smallest non-NaN value"),
    _reduction(R.NANMAX, "largest non-NaN value"),
    _reduction(R.NANCOUNT, "number of non-NaN values"),
    Spec("dot", S.Dot, R.DOT, "inner product with -p y=FILE", {"y": (P.path, REQUIRED)}),
    Spec("stats", S.Reduce, STATS, "count, nan_count, sum, mean, var, std, min, max", _DDOF),
    Spec(
        "affine",
        S.Map,
        _affine,
        "scale * x + offset: -p scale=S [-p offset=0] [-p dtype=float32]",
        {"scale": (P.real, REQUIRED), "offset": (P.real, 0.0), "dtype": (P.dtype, None)},
    ),
    Spec(
        "polyval",
        S.Map,
        _polyval,
        "polynomial, highest power first: -p coeffs=1,0,-2",
        {"coeffs": (P.reals, REQUIRED), "dtype": (P.dtype, None)},
    ),
    Spec(
        "clip",
        S.Map,
        _clip,
        "x limited to [lo, hi]: -p lo=A -p hi=B",
        {"lo": (P.real, None), "hi": (P.real, None)},
    ),
    Spec("cumsum", S.Cumsum, None, "cumulative sum (axis None: flattened)"),
    Spec(
        "moving_sum",
        S.Window,
        "moving_sum",
        "window sums: -p window=W",
        {"window": (P.integer, REQUIRED)},
    ),
    Spec(
        "moving_mean",
        S.Window,
        "moving_mean",
        "window means: -p window=W",
        {"window": (P.integer, REQUIRED)},
    ),
    Spec(
        "moving_std",
        S.Window,
        "moving_std",
        "window std: -p window=W [-p ddof=0]",
        {"window": (P.integer, REQUIRED), "ddof": (P.integer, 0)},
    ),
    Spec(
        "histogram",
        S.Histogram,
        None,
        "counts: -p bins=N -p range=LO,HI",
        {"bins": (P.integer, REQUIRED), "range": (P.pair, REQUIRED)},
    ),
    Spec(
        "sqeuclidean",
        S.Distance,
        None,
        "squared distances of rows to -p y=FILE rows",
        {"y": (P.path, REQUIRED)},
    ),
]

KERNELS = {s.name: s for s in _SPECS}


def lookup(name: str) -> Spec:
    try:
        return KERNELS[name]
    except KeyError:
        raise InputError(
            f"kernel: unknown kernel {name!r} (expected one of {', '.join(KERNELS)})"
        ) from None


def parse_params(spec: Spec, given: dict | None) -> dict:
    """The kernel's parameters, typed and defaulted. String values go through
    their parser (as the CLI gives them); other values are taken as they are."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(spec.params))
    if unknown:
        takes = ", ".join(spec.params) if spec.params else "no parameters"
        raise InputError(f"-p {unknown[0]}: {spec.name} takes {takes}")
    out = {}
    for name, (parse, default) in spec.params.items():
        if name in given:
            v = given[name]
            out[name] = parse(name, v) if isinstance(v, str) else v
        elif default is REQUIRED:
            raise InputError(f"-p {name}: {spec.name} needs -p {name}=VALUE")
        else:
            out[name] = default
    return out
