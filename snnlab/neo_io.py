"""A simulation's recordings as a Neo ``Block`` (the ``neo`` extra), so that
Elephant and the rest of the Neo world read snnlab's output as they read
PyNN's, NEST's or a recording's.

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
trains and signals.
"""

from __future__ import annotations

import numpy as np

__all__ = ["to_neo"]


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
    first = {}  # each population's first neuron id across the network
    n = 0
    for name, p in pops.items():
        first[name] = n
        n += p.n
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
