"""Statistics of recorded spikes: rates, CV of the inter-spike intervals, digests."""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["firing_rates", "cv_isi", "spikes_digest"]


def firing_rates(ids: np.ndarray, n: int, duration_ms: float) -> np.ndarray:
    """Per-neuron rate [spikes/s] over ``duration_ms``."""
    return np.bincount(ids, minlength=n)[:n] / (duration_ms * 1e-3)


def cv_isi(steps: np.ndarray, ids: np.ndarray, min_spikes: int = 3) -> float:
    """Mean over neurons with at least ``min_spikes`` spikes of the coefficient
    of variation of their inter-spike intervals (NaN if there are none)."""
    if len(ids) == 0:
        return float("nan")
    order = np.lexsort((steps, ids))
    s, i = steps[order].astype(np.float64), ids[order]
    same = i[1:] == i[:-1]
    isi = np.diff(s)[same]
    owner = i[1:][same]
    counts = np.bincount(owner)
    keep = counts >= min_spikes - 1
    if not keep.any():
        return float("nan")
    mean = np.bincount(owner, isi) / np.maximum(counts, 1)
    sq = np.bincount(owner, isi * isi) / np.maximum(counts, 1)
    sd = np.sqrt(np.maximum(sq - mean**2, 0.0))
    return float(np.mean(sd[keep] / mean[keep]))


def spikes_digest(steps: np.ndarray, global_ids: np.ndarray) -> str:
    """SHA-256 of the sorted (step, global neuron id) list as little-endian
    int64 pairs: two runs agree exactly when their digests do."""
    order = np.lexsort((global_ids, steps))
    pairs = np.stack([steps[order].astype("<i8"), global_ids[order].astype("<i8")], axis=1)
    return hashlib.sha256(np.ascontiguousarray(pairs).tobytes()).hexdigest()
