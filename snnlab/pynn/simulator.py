"""The state of a PyNN session on snnlab: the populations and projections
described so far, and the Simulation built from them at the first run.

PyNN builds cell by cell and connection by connection as a script goes;
snnlab compiles a network whole.  So the description is collected, and the
first ``run()`` builds it (one ``snnlab.Network``, one ``Simulation``);
later runs go on.  Parameters and initial values may change between runs;
the structure may not (populations or projections created after the first
run are refused by name).
"""

from __future__ import annotations

import numpy as np
from pyNN import common

name = "snnlab"


class ID(int, common.IDMixin):
    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    def __init__(self):
        common.control.BaseState.__init__(self)
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.min_delay = 0.1
        self.max_delay = 10.0
        self.options = {}
        self.clear()

    # -- the description --------------------------------------------------------
    def clear(self):
        self.populations = []
        self.projections = []
        self.recorders = set()
        self.sources = []  # current sources (electrodes.py)
        self.id_counter = 0
        self.segment_counter = -1
        self.sim = None
        self.net = None
        self.t_origin = 0  # snnlab's step at PyNN's time 0 (moved by reset())
        self.reset()

    def reset(self):
        """PyNN's reset: time back to 0, the cells' state to its initial
        values, recordings in a new segment.  snnlab's own clock goes on:
        PyNN's time 0 is then its step ``t_origin``, and what is timed
        (spike source arrays, Poisson windows, current sources) moves with
        it.  Connectivity, weights and parameters are kept, as on NEST."""
        self.running = False
        self.t_start = 0.0
        self.segment_counter += 1
        sim = self.sim
        if sim is None:
            return
        sim.reset_state()  # state to the models' initial values, input in flight dropped
        sim.clear_recordings()  # (PyNN has cached the segment before)
        self.t_origin = sim.current_step
        for pop in self.populations:
            pop._rewound(sim)

    def step_of(self, t):
        """PyNN's time(s) [ms] as step(s) of snnlab's clock (PyNN's time 0
        is its step ``t_origin``)."""
        return np.rint(np.asarray(t, np.float64) / self.dt).astype(np.int64) + self.t_origin

    def check_unbuilt(self, what: str):
        if self.sim is not None:
            raise NotImplementedError(f"snnlab.pynn: {what} after the first run is not "
                                      "supported (snnlab builds the network at the first run)")

    @property
    def t(self) -> float:
        """PyNN's time [ms]: snnlab's since the last reset."""
        return 0.0 if self.sim is None else (self.sim.current_step - self.t_origin) * self.dt

    # -- running ----------------------------------------------------------------
    def build(self):
        import snnlab as sl

        net = sl.Network(dt=self.dt)
        for pop in self.populations:
            pop._add_to(net)
        for prj in self.projections:
            prj._add_to(net)
        recorded = [p.sl_name for p in self.populations
                    if any(v.name == "spikes" for v in p.recorder.recorded)]
        self.net = net
        if getattr(self, "auto_min_delay", False):  # setup(min_delay="auto")
            delays = [prj._lists()[3] for prj in self.projections]
            delays = np.concatenate(delays) if delays else np.empty(0)
            self.min_delay = float(delays.min()) if delays.size else self.dt
        self.sim = sl.Simulation(net, record_spikes=recorded, **self.options)
        for pop in self.populations:
            pop._built(self.sim)

    def run(self, simtime: float):
        from . import electrodes

        if self.sim is None:
            self.build()
        self.running = True
        for recorder in self.recorders:
            recorder._start()
        sim = self.sim
        end = sim.current_step + sim.steps_for(simtime)
        while sim.current_step < end:  # from one change of a current source to the next
            stimulated = any(p._stimulus for p in self.populations)
            nxt = electrodes.apply(sim, sim.current_step) if stimulated else end
            sim.step(min(nxt, end) - sim.current_step)

    def run_until(self, tstop: float):
        if tstop > self.t + 1e-9:
            self.run(tstop - self.t)


state = State()


def check_homogeneous(what: str, name: str, values, among: str = "neurons") -> float:
    """One value for all: a SpikeSourcePoisson's window (``among``
    neurons), a plastic synapse type's parameters (synapses) are shared."""
    v = np.asarray(values, np.float64).ravel()
    if v.size and np.any(v != v[0]):
        whose = "populations" if among == "neurons" else "projections"
        raise NotImplementedError(f"snnlab.pynn: {what}: parameter {name!r} differs between "
                                  f"{among}; snnlab's {whose} share it (split by value)")
    return float(v[0]) if v.size else 0.0
