"""Recordings streamed to disk, chunk by chunk, readable without snnlab.

A folder holds ``index.json`` and one ``chunk_<k>.npz`` per drain (every
``chunk_steps`` steps and at the end of every run): spikes as
``spikes/<population>/steps`` and ``.../ids`` (int64 steps, int32 neuron
ids; a spike of step s is at (s + 1) dt ms), state samples as
``samples/<recorder>/steps`` and ``.../values`` (shape ``(n_samples,
n_vars * n_neurons)``, variables outer).  ``index.json`` names the format,
``dt``, the populations, the recorders (population, variables, neurons,
every) and the finished chunks with their steps.  A chunk is written and
synced before the index that lists it is renamed into place, so after a
crash everything up to the last finished chunk reads back.

>>> import numpy, json, zipfile                       # doctest: +SKIP
>>> index = json.load(open("run/index.json"))          # doctest: +SKIP
>>> chunk = numpy.load("run/" + index["chunks"][0]["file"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..files import write_atomically

__all__ = ["DiskStream", "read_recording", "FORMAT"]

FORMAT = "snnlab-recording"


class DiskStream:
    """An observer that writes every drained chunk to ``folder`` (made if
    missing; it must hold no recording yet).  ``populations``: name -> size
    of the recorded populations; ``recorders()``: the simulation's state
    recorders now."""

    def __init__(self, folder, dt: float, populations: dict[str, int], recorders):
        folder = Path(folder)
        if (folder / "index.json").exists():
            raise FileExistsError(f"{str(folder)!r} holds a recording already "
                                  "(index.json); give an empty or new folder")
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".snnlab-write-test"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise OSError(f"cannot write recordings to {str(folder)!r}: {e}") from None
        self.folder = folder
        self.recorders = recorders
        self.index = {"format": FORMAT, "version": 1, "dt": dt,
                      "populations": {k: {"n": int(n)} for k, n in populations.items()},
                      "recorders": {}, "chunks": []}
        self.closed = False
        self._write_index()

    def __call__(self, chunk) -> None:
        if self.closed:
            return
        arrays = {}
        for pop, (steps, ids) in chunk.spikes.items():
            arrays[f"spikes/{pop}/steps"] = np.asarray(steps, np.int64)
            arrays[f"spikes/{pop}/ids"] = np.asarray(ids, np.int32)
        by_id = {id(r): r for r in self.recorders()}
        for key, (steps, values) in chunk.samples.items():
            rec = by_id.get(key)
            if rec is None:
                continue
            name = rec._owner.replace("/", "_")  # "rec_3": stable for the recorder's life
            if name not in self.index["recorders"]:
                self.index["recorders"][name] = {
                    "population": rec.population, "variables": list(rec.variables),
                    "neurons": [int(i) for i in rec.neurons], "every": rec.every}
            arrays[f"samples/{name}/steps"] = np.asarray(steps, np.int64)
            arrays[f"samples/{name}/values"] = np.asarray(values)
        file = f"chunk_{len(self.index['chunks']):06d}.npz"
        write_atomically(self.folder / file, lambda f: np.savez(f, **arrays))
        self.index["chunks"].append({"file": file, "first_step": int(chunk.first_step),
                                     "last_step": int(chunk.last_step)})
        self._write_index()

    def _write_index(self) -> None:
        write_atomically(self.folder / "index.json",
                         lambda f: f.write(json.dumps(self.index, indent=1).encode()))


def read_recording(folder) -> dict:
    """Everything a folder's finished chunks hold: ``dt``, ``last_step``,
    ``spikes[population] = (times [ms], ids)``, and per recorder
    ``samples[name] = {"population", "variables", "neurons", "times" [ms],
    "values" (n_samples, n_vars, n_neurons)}``."""
    folder = Path(folder)
    index = json.loads((folder / "index.json").read_text())
    if index.get("format") != FORMAT:
        raise ValueError(f"{str(folder)!r}: not a snnlab recording")
    dt = index["dt"]
    spikes = {p: ([], []) for p in index["populations"]}
    samples = {k: ([], []) for k in index["recorders"]}
    for c in index["chunks"]:
        with np.load(folder / c["file"], allow_pickle=False) as f:
            for p in spikes:
                if f"spikes/{p}/steps" in f.files:
                    spikes[p][0].append(f[f"spikes/{p}/steps"])
                    spikes[p][1].append(f[f"spikes/{p}/ids"])
            for k in samples:
                if f"samples/{k}/steps" in f.files:
                    samples[k][0].append(f[f"samples/{k}/steps"])
                    samples[k][1].append(f[f"samples/{k}/values"])

    def cat(parts, dtype):
        return np.concatenate(parts) if parts else np.empty(0, dtype)
    out = {"dt": dt, "last_step": index["chunks"][-1]["last_step"] if index["chunks"] else 0,
           "spikes": {p: ((cat(s, np.int64) + 1) * dt, cat(i, np.int32))
                      for p, (s, i) in spikes.items()},
           "samples": {}}
    for k, (steps, values) in samples.items():
        meta = index["recorders"][k]
        shape = (len(meta["variables"]), len(meta["neurons"]))
        v = np.concatenate(values) if values else np.empty((0, shape[0] * shape[1]))
        out["samples"][k] = {**meta, "times": (cat(steps, np.int64) + 1) * dt,
                             "values": v.reshape(-1, *shape)}
    return out
