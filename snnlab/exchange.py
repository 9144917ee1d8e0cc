"""A simulation's recordings for the field's tools: a Neo ``Block`` (the
``neo`` extra), so that Elephant and the rest of the Neo world read
snnlab's output as they read PyNN's, NEST's or a recording's; and an NWB
file (the ``nwb`` extra) for sharing.

One ``Segment`` from 0 to the simulation's time holds:

- a ``SpikeTrain`` per neuron of each recorded population [ms], annotated as
  PyNN annotates its own (``source_population``, ``source_index``: the
  neuron within its population, ``source_id``: the neuron across the
  network, populations in order);
- an ``AnalogSignal`` per variable of each state recorder (samples x
  neurons), in the model's units (:attr:`NeuronModel.units`; dimensionless
  where the model gives none), sampled every ``every`` steps and stamped
  at the end of the sampled step, as snnlab stamps spikes; the neurons as
  ``channel_ids``.

The block's ``groups`` hold one ``Group`` per population with its spike
trains and signals.  The NWB file (:func:`to_nwb`) holds the same: the
spike trains as the ``units`` table (columns ``population``,
``source_index``, ``source_id``; times in s, as NWB has them), each signal
as an acquired ``TimeSeries`` ``<population>_<variable>`` in SI units with
its conversion factor.
"""

from __future__ import annotations

import numpy as np

__all__ = ["to_neo", "to_nwb"]


def to_neo(sim, populations=None):
    """``sim``'s recorded spikes and state samples as a Neo ``Block``
    (module docstring).  ``populations``: the names to export (default:
    every population with recorded spikes or a state recorder)."""
    try:
        import neo
        import quantities as pq
    except ImportError as e:
        raise ImportError("to_neo needs the neo package: pip install 'snnlab[neo]'") from e
    pops = sim.network.populations
    recorders = [r for r in sim.recorders if r.keep]
    have = [p for p in pops if p in sim.recorded or any(r.population == p for r in recorders)]
    if populations is None:
        populations = have
    else:
        populations = [populations] if isinstance(populations, str) else list(populations)
        bad = [p for p in populations if p not in have]
        if bad:
            raise ValueError(f"populations must be among those recorded ({have}), got {bad}")
    first = sim.network.first_ids()
    t_stop = sim.t * pq.ms
    block = neo.Block(name="snnlab", description="recorded by snnlab",
                      dt=sim.dt, seed=sim.seed)
    seg = neo.Segment(name="run", t_start=0 * pq.ms, t_stop=t_stop)
    block.segments.append(seg)
    for name in populations:
        group = neo.Group(name=name)
        if name in sim.recorded:
            times, ids = sim.spikes(name)
            order = np.argsort(ids, kind="stable")  # (times stay ascending in each neuron)
            ends = np.searchsorted(ids[order], np.arange(pops[name].n + 1))
            for i in range(pops[name].n):
                st = neo.SpikeTrain(times[order[ends[i]:ends[i + 1]]], units="ms",
                                    t_start=0 * pq.ms, t_stop=t_stop)
                st.annotate(source_population=name, source_index=i,
                            source_id=first[name] + i)
                seg.spiketrains.append(st)
                group.add(st)
        units = pops[name].model.units or {}
        for rec in (r for r in recorders if r.population == name):
            times, values = rec.times, rec.values
            if not len(times):
                continue
            period = rec.every * sim.dt
            regular = np.allclose(np.diff(times), period)
            for k, var in enumerate(rec.variables):
                unit = units.get(var, "dimensionless")
                common = dict(units=unit, name=var, source_population=name,
                              array_annotations={"channel_ids": np.asarray(rec.neurons)})
                if regular:
                    sig = neo.AnalogSignal(values[:, k, :], t_start=times[0] * pq.ms,
                                           sampling_period=period * pq.ms, **common)
                else:  # (samples cleared or taken at uneven steps)
                    sig = neo.IrregularlySampledSignal(times * pq.ms, values[:, k, :],
                                                       time_units="ms", **common)
                (seg.analogsignals if regular else seg.irregularlysampledsignals).append(sig)
                group.add(sig)
        block.groups.append(group)
    return block


def to_nwb(sim, path, populations=None, session_description: str = "a snnlab simulation",
           identifier: str | None = None, session_start_time=None):
    """Write ``sim``'s recordings (:func:`to_neo`'s, same layout) to the NWB
    file ``path`` with pynwb; returns the path.  ``identifier``: default a
    new UUID; ``session_start_time``: default now (UTC)."""
    import datetime
    import uuid
    from pathlib import Path

    try:
        import pynwb
    except ImportError as e:
        raise ImportError("to_nwb needs pynwb: pip install 'snnlab[nwb]'") from e
    import quantities as pq

    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"path: the folder {str(path.parent)!r} does not exist")
    block = to_neo(sim, populations)  # (checks populations)
    seg = block.segments[0]
    start = session_start_time or datetime.datetime.now(datetime.timezone.utc)
    nwb = pynwb.NWBFile(session_description=session_description,
                        identifier=identifier or str(uuid.uuid4()), session_start_time=start,
                        notes=f"written by snnlab: dt = {sim.dt} ms, seed = {sim.seed}")
    if seg.spiketrains:
        nwb.add_unit_column("population", "the neuron's population")
        nwb.add_unit_column("source_index", "the neuron within its population")
        nwb.add_unit_column("source_id", "the neuron across the network")
        end = float(sim.t) * 1e-3
        for st in seg.spiketrains:
            a = st.annotations
            nwb.add_unit(spike_times=st.rescale("s").magnitude, obs_intervals=[[0.0, end]],
                         population=a["source_population"], source_index=a["source_index"],
                         source_id=a["source_id"])
    for sig in [*seg.analogsignals, *seg.irregularlysampledsignals]:
        unit, conversion = _si(pq, sig.units)
        pop = sig.annotations["source_population"]
        timing = ({"starting_time": float(sig.t_start.rescale("s")),
                   "rate": float(sig.sampling_rate.rescale("Hz"))}
                  if hasattr(sig, "sampling_rate") else
                  {"timestamps": sig.times.rescale("s").magnitude})
        nwb.add_acquisition(pynwb.TimeSeries(
            name=f"{pop}_{sig.name}", data=sig.magnitude, unit=unit, conversion=conversion,
            description=f"{sig.name} of {pop} neurons "
                        f"{sig.array_annotations['channel_ids'].tolist()} (columns), stamped "
                        f"at the end of each sampled step", **timing))
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


# NWB's names of the SI units a recorded variable may have
_SI = (("V", "volts"), ("A", "amperes"), ("S", "siemens"), ("A/s", "amperes/second"),
       ("s", "seconds"), ("Hz", "hertz"), ("dimensionless", "dimensionless"))


def _si(pq, units) -> tuple[str, float]:
    """(NWB unit name, factor to it) of ``units``: volts for mV (0.001),
    amperes for pA; else the SI base units the quantities package gives."""
    one = pq.Quantity(1.0, units)
    for symbol, name in _SI:
        try:
            return name, float(one.rescale(symbol).magnitude)
        except ValueError:
            continue
    si = one.simplified
    return si.dimensionality.string, float(si.magnitude)
