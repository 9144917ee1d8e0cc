"""Checkpoints: the whole simulation in one file, saved and restored by
asking each part of the state.

The file is a NumPy ``.npz`` archive: one array per key (``step``,
``pop/<name>/state``, ``proj/<name>/ind``, ``rec/<k>/values``, ...) and
``meta``, a pickle of the run's options, live parameters and the network
description.  A checkpoint restores on any backend and continues bit for
bit; input queued for later steps is folded into the rings.
"""

from __future__ import annotations

import pickle

import numpy as np

__all__ = ["CHECKPOINT_VERSION", "save", "read", "load_into"]

CHECKPOINT_VERSION = 1


def save(path, network, options, state, observation) -> None:
    """Write ``state`` and what ``observation`` recorded to ``path``."""
    arrays: dict[str, np.ndarray] = {}
    meta = {"version": CHECKPOINT_VERSION, "seed": options.seed,
            "precision": options.precision, "chunk_steps": options.chunk_steps,
            "recorded": list(options.recorded)}
    state.clock.save(arrays)
    rings = {name: state.queues.ring_with_queues(name) for name in state.populations.by_name}
    state.populations.save(arrays, meta, rings)
    observation.spikes.save(arrays)
    state.projections.save(arrays)
    state.rewiring.save(arrays)
    state.stdp.save(arrays, meta)
    observation.recorders.save(arrays, meta)
    state.inputs.save(arrays, meta)
    try:
        meta["network"] = network
        blob = pickle.dumps(meta)
    except (pickle.PicklingError, AttributeError, TypeError):
        meta["network"] = None  # e.g. a model with a lambda: pass it to restore()
        blob = pickle.dumps(meta)
    arrays["meta"] = np.frombuffer(blob, dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def read(path) -> tuple[dict, dict]:
    """``(arrays, meta)`` of a checkpoint file.

    The metadata is a pickle: restore only checkpoints you trust, as with
    any pickle."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = pickle.loads(arrays.pop("meta").tobytes())
    if meta.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: unsupported checkpoint version {meta.get('version')}")
    return arrays, meta


def load_into(arrays: dict, meta: dict, state, observation) -> None:
    """Set the created state to a checkpoint's (the step first: the rows and
    the rewiring counts are read in :meth:`snnlab.state.State.build`)."""
    state.populations.load(arrays, meta)
    state.inputs.load(arrays, meta)
    state.stdp.load_rules(meta)
    observation.spikes.load(arrays)
    observation.base = state.clock.step
