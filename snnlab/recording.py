"""Spike and state recording, and the statistics computed from spikes."""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["decode_spike_bits", "firing_rates", "cv_isi", "spikes_digest"]


def decode_spike_bits(bits: np.ndarray, n_words: int, first_step: int):
    """(steps, ids) of the set bits of a ``(rows, n_words)`` uint32 buffer.

    Only the nonzero words are expanded: spikes are sparse.  The searches
    run on boolean arrays: NumPy's nonzero is several times faster there
    than on integers (and on 2-D arrays), which made this the largest host
    cost of small simulations."""
    flat = bits.reshape(-1)
    nz = np.flatnonzero(flat != 0)
    if nz.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int32)
    as_bytes = flat[nz].astype("<u4", copy=False).view(np.uint8)
    hit = np.flatnonzero(np.unpackbits(as_bytes, bitorder="little").view(bool))  # 32 per word
    rows, word = np.divmod(nz[hit >> 5], n_words)
    return rows.astype(np.int64) + first_step, (word * 32 + (hit & 31)).astype(np.int32)


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
