"""Labelled spike data for training spiking classifiers, with no download:
spiking versions of scikit-learn's bundled 8x8 digits (:func:`digits`), a
synthetic temporal-pattern task of adjustable difficulty
(:func:`temporal_patterns`), and readers for data the user has: the Spiking
Heidelberg Digits' HDF5 layout (:func:`read_shd`) and event arrays
(:func:`read_events`).  Every one gives a :class:`SpikeDataset`.

>>> ds = temporal_patterns(n_classes=3, n_inputs=10, n_samples=30, seed=1)
>>> len(ds), ds.n_inputs, ds.n_classes
(30, 10, 3)
>>> times, units, label = ds[0]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SpikeDataset", "digits", "temporal_patterns", "read_shd", "read_events"]


@dataclass(frozen=True, eq=False)
class SpikeDataset:
    """Samples of spikes with a label each: sample ``k`` is ``times[k]``
    [ms, in ``[0, duration)``, ascending] and ``units[k]`` (input neurons in
    ``[0, n_inputs)``), labelled ``labels[k]`` in ``[0, n_classes)``.
    Checked when made: a bad part is named with what it allows."""

    times: tuple
    units: tuple
    labels: np.ndarray
    n_inputs: int
    duration: float
    n_classes: int

    def __post_init__(self):
        times = tuple(np.asarray(t, np.float64).reshape(-1) for t in self.times)
        units = tuple(np.asarray(u).reshape(-1) for u in self.units)
        labels = np.asarray(self.labels).reshape(-1)
        if not (isinstance(self.n_inputs, (int, np.integer)) and self.n_inputs > 0):
            raise ValueError(f"n_inputs must be a positive integer, got {self.n_inputs!r}")
        if not (isinstance(self.n_classes, (int, np.integer)) and self.n_classes > 0):
            raise ValueError(f"n_classes must be a positive integer, got {self.n_classes!r}")
        if not (np.isfinite(self.duration) and self.duration > 0):
            raise ValueError(f"duration must be a positive number of ms, got {self.duration!r}")
        if not (len(times) == len(units) == labels.size):
            raise ValueError(f"times, units and labels must have one entry per sample, got "
                             f"{len(times)}, {len(units)} and {labels.size}")
        if labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0
                            or labels.max() >= self.n_classes):
            raise ValueError(f"labels must be integers in [0, {self.n_classes}), got "
                             f"{labels.dtype} in [{labels.min()}, {labels.max()}]")
        order = []
        for k, (t, u) in enumerate(zip(times, units)):
            if t.shape != u.shape:
                raise ValueError(f"sample {k}: {t.size} times but {u.size} units")
            if u.size and (u.dtype.kind not in "iu" or u.min() < 0 or u.max() >= self.n_inputs):
                raise ValueError(f"sample {k}: units must be integers in [0, {self.n_inputs}), "
                                 f"got {u.dtype} in [{u.min()}, {u.max()}]")
            if t.size and not (np.all(np.isfinite(t)) and t.min() >= 0
                               and t.max() < self.duration):
                raise ValueError(f"sample {k}: times must be in [0, {self.duration:g}) ms, got "
                                 f"[{t.min():g}, {t.max():g}]")
            order.append(np.argsort(t, kind="stable"))
        object.__setattr__(self, "times", tuple(t[o] for t, o in zip(times, order)))
        object.__setattr__(self, "units", tuple(u[o].astype(np.int32) for u, o in
                                                zip(units, order)))
        object.__setattr__(self, "labels", labels.astype(np.int64))
        object.__setattr__(self, "n_inputs", int(self.n_inputs))
        object.__setattr__(self, "n_classes", int(self.n_classes))
        object.__setattr__(self, "duration", float(self.duration))

    def __len__(self) -> int:
        return self.labels.size

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray, int]:
        """``(times [ms], units, label)`` of sample ``k``."""
        return self.times[k], self.units[k], int(self.labels[k])

    def trains(self, k: int, offset: float = 0.0) -> list[np.ndarray]:
        """Sample ``k`` as one spike train per input (times + ``offset``
        [ms]), as :func:`snnlab.models.SpikeSourceArray` takes them."""
        t, u = self.times[k], self.units[k]
        return [t[u == i] + offset for i in range(self.n_inputs)]

    def subset(self, index) -> SpikeDataset:
        """The samples ``index`` (an index array or a boolean mask)."""
        idx = np.arange(len(self))[index]
        return SpikeDataset(tuple(self.times[k] for k in idx), tuple(self.units[k] for k in idx),
                            self.labels[idx], self.n_inputs, self.duration, self.n_classes)

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple[SpikeDataset,
                                                                         SpikeDataset]:
        """``(train, test)``: each class split in the same proportion, the
        samples chosen at random (``seed``)."""
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        rng = np.random.default_rng(seed)
        test = np.zeros(len(self), bool)
        for c in range(self.n_classes):
            members = rng.permutation(np.flatnonzero(self.labels == c))
            test[members[:int(round(test_fraction * members.size))]] = True
        return self.subset(~test), self.subset(test)

    def batches(self, batch_size: int, shuffle: bool = True, seed: int = 0):
        """Index arrays of ``batch_size`` samples (the last may be shorter),
        in a random order of ``seed`` with ``shuffle``."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        order = (np.random.default_rng(seed).permutation(len(self)) if shuffle
                 else np.arange(len(self)))
        return [order[k:k + batch_size] for k in range(0, len(self), batch_size)]


def _positive(name: str, value, allow_zero: bool = False) -> float:
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if isinstance(value, bool) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def digits(coding: str = "latency", duration: float = 50.0, max_rate: float = 200.0,
           seed: int = 0) -> SpikeDataset:
    """scikit-learn's bundled 8x8 handwritten digits (1797 samples, 10
    classes; no download) as spikes from 64 inputs, one per pixel (values
    0-16).  ``coding="latency"``: one spike per lit pixel, the brighter the
    earlier, at ``(1 - v / 16) * 0.9 * duration`` (a dark pixel stays
    silent); ``"rate"``: Poisson spikes at ``max_rate * v / 16`` [1/s]
    over ``duration``, sample ``k`` drawn from the generator of ``(seed,
    k)`` (the same spikes for any subset or order).  Needs the ``data``
    extra (scikit-learn)."""
    if coding not in ("latency", "rate"):
        raise ValueError(f"coding must be 'latency' or 'rate', got {coding!r}")
    duration = _positive("duration", duration)
    max_rate = _positive("max_rate", max_rate)
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("digits() needs scikit-learn: pip install 'snnlab[data]'") from None
    bunch = load_digits()
    x, y = bunch.data.astype(np.float64), bunch.target.astype(np.int64)
    times, units = [], []
    for k, v in enumerate(x):
        if coding == "latency":
            lit = np.flatnonzero(v > 0)
            times.append((1.0 - v[lit] / 16.0) * 0.9 * duration)
            units.append(lit)
        else:
            rng = np.random.default_rng([seed, k])
            n = rng.poisson(max_rate * v / 16.0 * duration * 1e-3)
            u = np.repeat(np.arange(v.size), n)
            times.append(rng.uniform(0.0, duration, u.size))
            units.append(u)
    return SpikeDataset(tuple(times), tuple(units), y, 64, duration, 10)


def temporal_patterns(n_classes: int = 4, n_inputs: int = 40, n_samples: int = 400,
                      duration: float = 100.0, spikes_per_input: float = 2.0,
                      jitter: float = 2.0, noise_rate: float = 5.0, p_drop: float = 0.0,
                      seed: int = 0) -> SpikeDataset:
    """A synthetic task whose classes differ only in the timing of their
    spikes: each class has a template (every input spikes
    ``spikes_per_input`` times on average, at times drawn once per class,
    so every class has the same rates); a sample is its class's template
    with each spike moved by a normal jitter of ``jitter`` [ms] and kept
    with probability ``1 - p_drop``, plus Poisson noise at ``noise_rate``
    [1/s] per input.  Harder with more jitter, drops and noise.  Classes
    take turns (sample k is of class k mod n_classes)."""
    for name, v in (("n_classes", n_classes), ("n_inputs", n_inputs),
                    ("n_samples", n_samples)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    duration = _positive("duration", duration)
    spikes_per_input = _positive("spikes_per_input", spikes_per_input)
    jitter = _positive("jitter", jitter, allow_zero=True)
    noise_rate = _positive("noise_rate", noise_rate, allow_zero=True)
    if not 0.0 <= p_drop < 1.0:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop!r}")
    rng = np.random.default_rng(seed)
    templates = []
    for _ in range(n_classes):
        n = rng.poisson(spikes_per_input, n_inputs)
        u = np.repeat(np.arange(n_inputs), n)
        templates.append((rng.uniform(0.0, duration, u.size), u))
    times, units, labels = [], [], []
    for k in range(n_samples):
        c = k % n_classes
        t, u = templates[c]
        keep = rng.random(t.size) >= p_drop
        t = t[keep] + rng.normal(0.0, jitter, keep.sum()) if jitter > 0 else t[keep]
        u = u[keep]
        n_noise = rng.poisson(noise_rate * duration * 1e-3 * n_inputs)
        t = np.concatenate([t, rng.uniform(0.0, duration, n_noise)])
        u = np.concatenate([u, rng.integers(0, n_inputs, n_noise)])
        inside = (t >= 0.0) & (t < duration)  # (jitter past either end: dropped)
        times.append(t[inside])
        units.append(u[inside])
        labels.append(c)
    return SpikeDataset(tuple(times), tuple(units), np.array(labels), n_inputs, duration,
                        n_classes)


def read_shd(path, n_inputs: int = 700, duration: float | None = None) -> SpikeDataset:
    """The Spiking Heidelberg Digits (or Spiking Speech Commands) from an
    HDF5 file the user has, in its published layout: ``spikes/times`` (per
    sample, seconds), ``spikes/units`` (per sample), ``labels``.  Times
    become ms; ``duration`` [ms] defaults to just past the latest spike.
    Needs the ``data`` extra (h5py)."""
    try:
        import h5py
    except ImportError:
        raise ImportError("read_shd() needs h5py: pip install 'snnlab[data]'") from None
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"read_shd: {str(path)!r} is not a readable HDF5 file ({e})") from None
    with f:
        for key in ("spikes/times", "spikes/units", "labels"):
            if key not in f:
                raise ValueError(f"read_shd: {str(path)!r} has no {key!r} (the SHD layout: "
                                 "spikes/times, spikes/units, labels)")
        times = tuple(np.asarray(t, np.float64) * 1e3 for t in f["spikes/times"][:])
        units = tuple(np.asarray(u) for u in f["spikes/units"][:])
        labels = np.asarray(f["labels"][:])
    if duration is None:
        latest = max((float(t.max()) for t in times if t.size), default=0.0)
        duration = np.nextafter(latest, np.inf) if latest > 0 else 1.0
    n_classes = int(labels.max()) + 1 if labels.size else 1
    return SpikeDataset(times, units, labels, n_inputs, duration, n_classes)


def read_events(path, n_inputs: int | None = None, duration: float | None = None,
                n_classes: int | None = None) -> SpikeDataset:
    """Event arrays from a ``.npz`` file the user has: ``times`` [ms],
    ``units`` and ``sample`` (the sample of each event), and ``labels``
    (one per sample).  ``n_inputs``, ``duration`` [ms] and ``n_classes``
    default to what the arrays hold."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("times", "units", "sample", "labels") if k not in f.files]
            if missing:
                raise ValueError(f"read_events: {str(path)!r} lacks {missing} (it needs times, "
                                 "units, sample and labels)")
            times, units = np.asarray(f["times"], np.float64), np.asarray(f["units"])
            sample, labels = np.asarray(f["sample"]), np.asarray(f["labels"]).reshape(-1)
    except (OSError, EOFError) as e:
        raise ValueError(f"read_events: cannot read {str(path)!r} ({e})") from None
    if not (times.shape == units.shape == sample.shape and times.ndim == 1):
        raise ValueError(f"read_events: times, units and sample must be 1-d and of one length, "
                         f"got shapes {times.shape}, {units.shape} and {sample.shape}")
    if sample.size and (sample.dtype.kind not in "iu" or sample.min() < 0
                        or sample.max() >= labels.size):
        raise ValueError(f"read_events: sample must be integers in [0, {labels.size}) (one "
                         "label per sample)")
    order = np.argsort(sample, kind="stable")
    bounds = np.searchsorted(sample[order], np.arange(labels.size + 1))
    parts = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    if n_inputs is None:
        n_inputs = int(units.max()) + 1 if units.size else 1
    if duration is None:
        duration = float(np.nextafter(times.max(), np.inf)) if times.size and times.max() > 0 \
            else 1.0
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size and labels.dtype.kind in "iu" else 1
    return SpikeDataset(tuple(times[p] for p in parts), tuple(units[p] for p in parts), labels,
                        n_inputs, duration, n_classes)
