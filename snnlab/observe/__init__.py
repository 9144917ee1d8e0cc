"""observe: what a running simulation shows the host.

Recorded spikes (:mod:`.spikes`) and state samples (:mod:`.recorders`) are
drained from the target every ``chunk_steps`` steps and after every run, and
each drain is handed to the observers (the live views) as one
:class:`RecordedChunk`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .disk import DiskStream, read_recording
from .recorders import Recorders, StateRecorder
from .spikes import SpikeRecords, decode_spike_bits
from .statistics import cv_isi, firing_rates, spikes_digest

__all__ = ["RecordedChunk", "Observation", "DiskStream", "read_recording", "StateRecorder",
           "Recorders", "SpikeRecords", "decode_spike_bits", "cv_isi", "firing_rates",
           "spikes_digest"]


@dataclass(frozen=True)
class RecordedChunk:
    """What one transfer of recorded data brought to the host, as passed to
    the observers of :meth:`Simulation.add_observer`: the steps
    ``[first_step, last_step)``, the spikes of each recorded population as
    ``(steps, ids)``, and each state recorder's ``(steps, values)`` with
    values of shape ``(n_samples, n_vars * n_neurons)``."""

    first_step: int
    last_step: int
    dt: float
    spikes: dict
    samples: dict


class Observation:
    """Spike records, state recorders and observers, drained together.
    ``base`` is the first step not yet drained."""

    def __init__(self, spikes: SpikeRecords, recorders: Recorders, dt: float):
        self.spikes = spikes
        self.recorders = recorders
        self.dt = dt
        self.observers: list = []
        self.base = 0

    def drain(self, step: int, decode=None) -> None:
        """Move the recorded data of steps ``[base, step)`` to the host and
        hand it to the observers."""
        if step - self.base <= 0:
            return
        spikes = self.spikes.drain(self.base, step, decode)
        samples = self.recorders.drain(self.base, step)
        first, self.base = self.base, step
        if self.observers:
            chunk = RecordedChunk(first, step, self.dt, spikes, samples)
            for fn in list(self.observers):
                fn(chunk)

    def set_recording(self, on: bool, populations) -> None:
        """Record during the next run (``False``: a warm-up records nothing)."""
        populations.set_recording(on)
        self.recorders.set_recording(on)
