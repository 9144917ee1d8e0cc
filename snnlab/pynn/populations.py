"""Populations: PyNN's cells collected until the first run, then one snnlab
population each (its parameters shared by its neurons, its initial values
per neuron)."""

from __future__ import annotations

import numpy as np
from pyNN import common, errors
from pyNN.parameters import ParameterSpace, simplify

from . import electrodes, simulator
from .recording import Recorder
from .simulator import check_homogeneous
from .standardmodels import transform


class Assembly(common.Assembly):
    _simulator = simulator

    @property
    def local_size(self):
        """(One process holds every cell.  PyNN's connectors ask for it when
        they report progress; PyNN 0.13's own Assembly lacks it.)"""
        return self.size


class PopulationView(common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def _get_parameters(self, *names):
        ps = self.parent._get_parameters(*names)
        ps.evaluate(simplify=False)
        return ParameterSpace({k: simplify(np.asarray(v)[self.mask]) for k, v in ps.items()},
                              shape=(self.size,))

    def _get_native_parameters(self, *names):
        ps = self.parent._get_native_parameters(*names)
        ps.evaluate(simplify=False)
        return ParameterSpace({k: np.asarray(v)[self.mask] for k, v in ps.items()},
                              shape=(self.size,))

    def _set_parameters(self, parameter_space):
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            full = np.array(self.parent._native[name], dtype=object if name == "spike_times"
                            else np.float64)
            full[self.mask] = value
            self.parent._set_native(name, full)

    def _set_initial_value_array(self, variable, initial_values):
        full = np.array(self.parent._initial(variable))
        full[self.mask] = initial_values.evaluate(simplify=False)
        self.parent._set_initial_native(variable, full)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values=None,
                 label=None):
        simulator.state.check_unbuilt("creating a population")  # (before PyNN registers it)
        common.Population.__init__(self, size, cellclass, cellparams, structure,
                                   initial_values or {}, label)

    def _create_cells(self):
        first = simulator.state.id_counter
        self.all_cells = np.array([simulator.ID(i) for i in range(first, first + self.size)],
                                  dtype=simulator.ID)
        self._mask_local = np.ones(self.size, bool)
        for cell in self.all_cells:
            cell.parent = self
        simulator.state.id_counter += self.size
        if not hasattr(self.celltype, "snnlab_model"):
            raise NotImplementedError(f"snnlab.pynn: cell type {type(self.celltype).__name__} "
                                      "is not supported; standard types: IF_curr_exp, "
                                      "IF_curr_alpha, IF_curr_delta, IF_cond_exp, "
                                      "IF_cond_alpha, SpikeSourcePoisson, SpikeSourceArray")
        ps = self.celltype.native_parameters
        ps.shape = (self.size,)
        ps.evaluate(simplify=False)
        self._native = {k: v for k, v in ps.as_dict().items()}
        for times in self._native.get("spike_times", []):  # (as pyNN.nest checks them)
            t = np.asarray(getattr(times, "value", times), np.float64)
            if t.size > 1 and np.any(np.diff(t) < 0):
                raise errors.InvalidParameterValueError(
                    f"spike times must be in increasing order, got {t.tolist()}")
        self._initial_native = {}
        self._offset = None  # i_offset per cell [pA], where it differs (electrodes.py)
        self._per_cell = False  # a SpikeSourcePoisson with rates per cell (state)
        self._varying = []  # the parameters that differ between cells (per_neuron)
        self._stimulus = None  # "dc" or "ac" where current flows in (electrodes.py)
        self.sl_name = f"pop{len(simulator.state.populations)}"
        simulator.state.populations.append(self)

    # -- parameters -------------------------------------------------------------
    def _get_parameters(self, *names):
        ps = ParameterSpace({k: simplify(np.asarray(v)) if k != "spike_times" else v
                             for k, v in self._native.items()}, shape=(self.size,))
        return self.celltype.reverse_translate(ps)

    def _get_native_parameters(self, *names):
        """(PyNN's set() reads them to recompute computed parameters.)"""
        return ParameterSpace({k: v for k, v in self._native.items() if k in names},
                              shape=(self.size,))

    def _set_parameters(self, parameter_space):
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            self._set_native(name, value)

    def _set_native(self, name, value):
        sim = simulator.state.sim
        if sim is None:
            self._native[name] = value
            return
        had, before = name in self._native, self._native.get(name)
        self._native[name] = value  # (read by the per-cell paths below)
        try:
            self._apply_native(sim, name, value)
        except Exception:  # a refused change is not reported as made
            if had:
                self._native[name] = before
            else:
                del self._native[name]
            raise

    def _apply_native(self, sim, name, value):
        if name in ("rate", "start", "stop") and self._per_cell:  # (SpikeSourcePoisson)
            self._set_per_cell(sim)
            return
        if name in ("start", "stop") and type(self.celltype).__name__ == "SpikeSourcePoisson":
            value = check_homogeneous(self.label, name, value)
            sim.set_param(self.sl_name, name, _on_clock(value))
            return
        if name == "spike_times":  # the new times from now on
            sim.set_spike_times(self.sl_name, self._spike_times(offset=self._t0()))
            return
        if name == "I_e" and self._offset is not None:  # per cell (electrodes.split_offset)
            self._offset = np.broadcast_to(np.asarray(value, np.float64), (self.size,)).copy()
            return
        said = next((k for k, tr in self.celltype.translations.items()
                     if tr["translated_name"] == name), name)  # (PyNN's name)
        if name in self._varying or np.ptp(np.asarray(value, np.float64)) > 0:
            raise NotImplementedError(
                f"snnlab.pynn: {self.label}: {said!r} differs between neurons; such a "
                "parameter is set before the first run, not after")
        try:
            sim.set_param(self.sl_name, name, float(np.asarray(value, np.float64).flat[0]))
        except ValueError as e:  # (it would change constants that are per neuron)
            raise NotImplementedError(f"snnlab.pynn: {self.label}: {said!r}: {e}") from None

    def _initial(self, variable):
        """A state variable's initial values, in PyNN's units (NaN: not set)."""
        tr = self.celltype.state_variable_translations[variable]
        if tr["translated_name"] not in self._initial_native:
            return np.full(self.size, np.nan)
        return transform(tr, variable, self._initial_native[tr["translated_name"]], reverse=True)

    def _set_initial_value_array(self, variable, initial_values):
        initial_values.shape = (self.size,)
        self._set_initial_native(variable, initial_values.evaluate(simplify=False))

    def _set_initial_native(self, variable, values):
        tr = self.celltype.state_variable_translations[variable]
        native = transform(tr, variable, np.asarray(values, np.float64))
        self._initial_native[tr["translated_name"]] = np.broadcast_to(native, (self.size,)).copy()
        if simulator.state.sim is not None:
            simulator.state.sim.set_state(self.sl_name, tr["translated_name"],
                                          self._initial_native[tr["translated_name"]])

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    # -- building -----------------------------------------------------------------
    def _add_to(self, net):
        ct = self.celltype
        if type(ct).__name__ == "SpikeSourceArray":
            model = ct.snnlab_model(self._spike_times())
        elif type(ct).__name__ == "SpikeSourcePoisson" and any(
                np.ptp(np.asarray(v, np.float64)) > 0 for v in self._native.values()):
            model = ct.per_cell_model()  # rates, starts or stops that differ between cells
            self._per_cell = True
        else:
            native = dict(self._native)
            self._offset = electrodes.split_offset(self, native)  # i_offset per cell
            values = {k: np.broadcast_to(np.asarray(v, np.float64), (self.size,))
                      for k, v in native.items()}
            model = ct.snnlab_model({k: float(v[0]) for k, v in values.items()})
            self._varying = sorted(k for k, v in values.items() if np.any(v != v[0]))
            if self._varying:  # per neuron (state), the rest shared
                model = model.per_neuron(simulator.state.dt,
                                         **{k: values[k] for k in self._varying})
        hit, ac = electrodes.stimulated(self)
        hit = hit or self._offset is not None
        self._stimulus = ("ac" if ac else "dc") if hit else None
        self._applied = {}  # the current sources' state as last set (electrodes.apply)
        if hit:
            model = electrodes.with_stimulus(model, ac)
        net.population(self.sl_name, model, self.size)

    def _spike_times(self, offset: float = 0.0) -> list[np.ndarray]:
        """A SpikeSourceArray's times [ms] per cell, on snnlab's clock
        (``offset``: PyNN's time 0 there, after a reset)."""
        return [np.asarray(getattr(s, "value", s), np.float64) + offset
                for s in self._native["spike_times"]]

    @staticmethod
    def _t0() -> float:
        return simulator.state.t_origin * simulator.state.dt

    def _built(self, sim):
        for var, values in self._initial_native.items():
            sim.set_state(self.sl_name, var, values)
        if self._per_cell:
            self._set_per_cell(sim)

    def _set_per_cell(self, sim):
        """A per-cell SpikeSourcePoisson's rates and windows, its steps on
        snnlab's clock."""
        state = self.celltype.per_cell_state(self._native, simulator.state.step_of)
        for var, v in state.items():
            sim.set_state(self.sl_name, var, np.broadcast_to(v, (self.size,)))

    def _rewound(self, sim):
        """After PyNN's reset: the initial values PyNN gave, and what is
        timed moved to the new time 0."""
        self._built(sim)
        self._applied = {}  # (current sources: set again at the next run)
        kind = type(self.celltype).__name__
        t0 = self._t0()
        if kind == "SpikeSourceArray":
            sim.set_spike_times(self.sl_name, self._spike_times(offset=t0))
        elif kind == "SpikeSourcePoisson" and not self._per_cell:
            start = check_homogeneous(self.label, "start", self._native["start"])
            stop = check_homogeneous(self.label, "stop", self._native["stop"])
            if stop < 1e12:
                sim.set_param(self.sl_name, "stop", _on_clock(stop))
            sim.set_param(self.sl_name, "start", _on_clock(start))


def _on_clock(t: float) -> float:
    """A time of PyNN's [ms] on snnlab's clock, after resets: the step's own
    time (as the step computes it, no rounding apart); as given before any."""
    state = simulator.state
    if state.t_origin == 0 or t >= 1e12:
        return t
    return int(state.step_of(t)) * state.dt
