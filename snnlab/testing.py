"""Helpers for tests: tolerances relative to the float type."""

from __future__ import annotations

import numpy as np

__all__ = ["rtol_for", "assert_close"]


def rtol_for(dtype, ulps: float = 64.0) -> float:
    """A relative tolerance of ``ulps`` machine epsilons of ``dtype``."""
    return float(ulps * np.finfo(np.dtype(dtype)).eps)


def assert_close(actual, desired, dtype, ulps: float = 64.0, atol: float = 0.0) -> None:
    """``numpy.testing.assert_allclose`` with rtol = ulps * eps(dtype)."""
    np.testing.assert_allclose(actual, desired, rtol=rtol_for(dtype, ulps), atol=atol)
