"""Checks of user input shared by the describing and the live layers: each
names the argument and what it allows, and raises before anything changes."""

from __future__ import annotations

import math
import re

import numpy as np

__all__ = ["finite", "indices", "balanced"]


def finite(name: str, value) -> float:
    """``value`` as a finite float, or TypeError/ValueError naming ``name``.

    >>> finite("rate", 3)
    3.0
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def indices(name: str, values, n: int) -> np.ndarray:
    """Integer neuron indices in ``[0, n)`` as a flat int64 array."""
    a = np.atleast_1d(np.asarray(values))
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer neuron indices, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError(f"{name} indices must be in [0, {n}), got {a.min()}..{a.max()}")
    return a.astype(np.int64).ravel()


_PAIRS = {")": "(", "]": "[", "}": "{"}


def balanced(what: str, code: str) -> None:
    """Refuse a C snippet whose brackets do not pair up (comments, strings
    and character literals aside): it would break the generated code around
    it, and the compiler would blame that code instead."""
    text = re.sub(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'",
                  lambda m: re.sub(r"[^\n]", " ", m.group()), code, flags=re.S)
    stack: list[tuple[str, int]] = []
    for line, row in enumerate(text.splitlines(), 1):
        for ch in row:
            if ch in "([{":
                stack.append((ch, line))
            elif ch in _PAIRS:
                if not stack or stack[-1][0] != _PAIRS[ch]:
                    raise ValueError(f"{what}: an unmatched {ch!r} on line {line}")
                stack.pop()
    if stack:
        ch, line = stack[-1]
        raise ValueError(f"{what}: the {ch!r} on line {line} is never closed")


def warn_off_grid(what: str, value: float, dt: float) -> int:
    """``value`` [ms] in steps of ``dt``, rounded to the nearest; a warning
    naming ``what`` where it is not a multiple of dt (the simulation then
    runs with the rounded value: say so rather than round in silence)."""
    import warnings

    steps = int(round(value / dt))
    if abs(value / dt - steps) > 1e-6:
        warnings.warn(f"{what} = {value:g} ms is not a multiple of dt = {dt:g} ms: it rounds "
                      f"to {steps} steps ({steps * dt:g} ms)", stacklevel=3)
    return steps
