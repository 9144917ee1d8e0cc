"""Spike recording: the bit buffers the kernels fill, decoded on the host."""

from __future__ import annotations

import numpy as np

__all__ = ["SpikeRecords", "decode_spike_bits"]


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


class SpikeRecords:
    """The spikes of the recorded populations that reached the host, per
    population as ``(steps, ids)`` chunks.  With ``keep = False`` they go to
    the observers only (a long live run keeps its memory bounded)."""

    def __init__(self, recorded: tuple[str, ...], populations, arena):
        self.recorded = recorded
        self.populations = populations
        self.arena = arena
        self.keep = True
        self.chunks: dict[str, list] = {name: [] for name in recorded}
        # the steps the spikes cover: from `since` (the last clear) to now,
        # less the runs made with record=False ([start, end) pairs)
        self.since = 0
        self.gaps: list[list[int]] = []

    def drain(self, first: int, last: int, decode=None) -> dict[str, tuple]:
        """The spikes of steps ``[first, last)`` from the buffers, which are
        cleared and restart at ``last``.  ``decode``: the target's own
        decoder of spike bits (the CPU module's, in place), or None for
        :func:`decode_spike_bits` on a host copy."""
        used = last - first
        out = {}
        for name in self.recorded:
            ps = self.populations[name]
            size = used * ps.n_words
            if decode is not None:
                got = decode(ps.rec_bits[:size], ps.n_words, first)
            else:
                bits = self.arena.to_host(ps.rec_bits[:size])
                got = (decode_spike_bits(bits, ps.n_words, first) if bits.any()
                       else (np.empty(0, np.int64), np.empty(0, np.int32)))
            if ps.first:  # a rank's block: global ids
                got = (got[0], got[1] + np.int32(ps.first))
            out[name] = got
            if len(got[0]):
                if self.keep:
                    self.chunks[name].append(got)
                ps.rec_bits[:size] = 0
            ps.rec_info[0:1] = last
        return out

    def steps(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Recorded spikes of a population as ``(step, neuron id)``, ordered by step."""
        chunks = self.chunks[name]
        if not chunks:
            return np.empty(0, np.int64), np.empty(0, np.int32)
        if len(chunks) > 1:
            chunks[:] = [(np.concatenate([c[0] for c in chunks]),
                          np.concatenate([c[1] for c in chunks]))]
        return chunks[0]

    def clear(self, step: int = 0) -> None:
        """Forget the spikes; what is recorded from now counts from ``step``."""
        for name in self.chunks:
            self.chunks[name] = []
        self.since, self.gaps = int(step), []

    def skipped(self, first: int, last: int) -> None:
        """Steps ``[first, last)`` ran without recording."""
        if last <= first:
            return
        if self.gaps and self.gaps[-1][1] == first:
            self.gaps[-1][1] = last
        else:
            self.gaps.append([int(first), int(last)])

    def recorded_steps(self, first: int, now: int) -> int:
        """How many of the steps ``[first, now)`` were recorded (rates divide
        by their time: a warm-up run with ``record=False``, or the time
        before :meth:`clear`, has no spikes to count)."""
        first = max(first, self.since)
        out = max(now - first, 0)
        for a, b in self.gaps:
            out -= max(min(b, now) - max(a, first), 0)
        return out

    def save(self, arrays: dict) -> None:
        for name in self.recorded:
            arrays[f"pop/{name}/spike_steps"], arrays[f"pop/{name}/spike_ids"] = self.steps(name)
        arrays["spikes/covered"] = np.array([self.since, *np.ravel(self.gaps)], np.int64)

    def load(self, arrays: dict) -> None:
        for name in self.recorded:
            steps = arrays.get(f"pop/{name}/spike_steps")
            if steps is not None and len(steps):
                self.chunks[name] = [(steps, arrays[f"pop/{name}/spike_ids"])]
        covered = arrays.get("spikes/covered")  # (absent from older files: all recorded)
        if covered is not None:
            self.since = int(covered[0])
            self.gaps = [[int(a), int(b)] for a, b in np.asarray(covered[1:]).reshape(-1, 2)]
