"""Kernel parameters as the CLI gives them: ``NAME=VALUE`` strings, typed.

Each parameter of a kernel has a parser below; a missing, unknown or
malformed parameter is an InputError that names it and says what it takes.
"""

from __future__ import annotations

from ..errors import InputError


def real(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"-p {name}: expected a number, got {text!r}") from None


def integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(f"-p {name}: expected an integer, got {text!r}") from None


def reals(name: str, text: str) -> list[float]:
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise InputError(f"-p {name}: expected numbers separated by commas, got {text!r}")
    return [real(name, p) for p in parts]


def pair(name: str, text: str) -> tuple[float, float]:
    values = reals(name, text)
    if len(values) != 2:
        raise InputError(f"-p {name}: expected two numbers LO,HI, got {text!r}")
    return values[0], values[1]


def path(name: str, text: str) -> str:
    if not text:
        raise InputError(f"-p {name}: expected a file path, got nothing")
    return text


def dtype(name: str, text: str) -> str:
    if text not in ("float32", "float64"):
        raise InputError(f"-p {name}: expected float32 or float64, got {text!r}")
    return text


def split(items) -> dict[str, str]:
    """``["a=1", "b=2"]`` as a dict; a repeated or malformed item is refused."""
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"-p: expected NAME=VALUE, got {item!r}")
        if name in out:
            raise InputError(f"-p {name}: given twice")
        out[name] = value.strip()
    return out
