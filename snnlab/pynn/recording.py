"""Recording: PyNN's Recorder (which makes the Neo blocks) on snnlab's spike
records and state recorders."""

from __future__ import annotations

import numpy as np
from pyNN import recording

from . import simulator
from .standardmodels import transform


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population=None, file=None):
        recording.Recorder.__init__(self, population, file)
        self._state_recorders = {}

    def _record(self, variable, new_ids, sampling_interval=None):
        if simulator.state.sim is not None:
            raise NotImplementedError("snnlab.pynn: recording set up after the first run is "
                                      "not supported yet; call record() before run()")
        self.sampling_interval = sampling_interval or simulator.state.dt
        every = self.sampling_interval / simulator.state.dt
        if abs(every - round(every)) > 1e-9:
            raise ValueError(f"sampling_interval {self.sampling_interval} must be a multiple "
                             f"of the time step {simulator.state.dt}")

    def _start(self):
        """At a run: state recorders for the variables recorded (spikes are
        recorded by the Simulation itself)."""
        sim = simulator.state.sim
        pop = self.population
        for variable, ids in self.recorded.items():
            if variable.name == "spikes" or variable.name in self._state_recorders:
                continue
            native = pop.celltype.state_variable_translations[variable.name]["translated_name"]
            idx = np.sort(np.fromiter((pop.id_to_index(i) for i in ids), int))
            every = int(round(self.sampling_interval / simulator.state.dt))
            self._state_recorders[variable.name] = (
                sim.record(pop.sl_name, native, neurons=idx, every=every), idx, native)

    def _get_spiketimes(self, ids, clear=False):
        sim = simulator.state.sim
        if sim is None:
            return np.empty(0, int), np.empty(0)
        steps, idx = sim.spike_steps(self.population.sl_name)
        gids = np.asarray(idx, np.int64) + self.population.first_id
        keep = np.isin(gids, np.asarray(ids, np.int64))
        # stamped at the end of their step, on PyNN's clock (time 0 at the last reset)
        times = (np.asarray(steps)[keep] + 1 - simulator.state.t_origin) * sim.dt
        return gids[keep], times

    def _get_all_signals(self, variable, ids, clear=False):
        pop = self.population
        entry = self._state_recorders.get(variable.name)
        if entry is None:
            return np.empty((0, len(ids))), None
        rec, idx, native = entry
        cols = np.searchsorted(idx, [pop.id_to_index(i) for i in ids])
        values = rec[native][:, cols]
        tr = pop.celltype.state_variable_translations[variable.name]
        values = transform(tr, variable.name, values, reverse=True)
        # the first sample is the initial value (PyNN's signals start at t = 0)
        first = np.asarray(pop._initial(variable.name))[[pop.id_to_index(i) for i in ids]]
        return np.vstack([first[None, :], values]), None

    def _local_count(self, variable, filter_ids=None):
        ids = self.filter_recorded(variable, filter_ids)
        got, _ = self._get_spiketimes(list(ids))
        counts = dict.fromkeys((int(i) for i in ids), 0)
        for i in got:
            counts[int(i)] += 1
        return counts

    def _clear_simulator(self):
        if simulator.state.sim is not None:
            simulator.state.sim.clear_recordings()

    def _reset(self):
        self._state_recorders = {}
