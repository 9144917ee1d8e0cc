"""PyNN's current sources on snnlab: ``DCSource``, ``StepCurrentSource``,
``ACSource`` and ``NoisyCurrentSource`` injected into cells (a population, a
view, an assembly or a list of cells), as pyNN.nest runs them.

A source's current flows in the steps that begin at or after its start and
before its stop, on the time grid; a step current's amplitude holds from its
time to the next. So DCSource(start=10) leaves ``v`` at 10.0 ms as it was
and changes it by 10.1 ms (PyNN's ticket 226 scenario).

How: a population that receives current gets its model with a per-neuron
current ``I_stim`` [pA] added to ``I_e`` (:func:`with_stimulus`). A
population whose ``i_offset`` differs between cells takes the same way (its
``I_e`` 0, each cell's offset in ``I_stim``). DC and step currents are
piecewise constant: ``run()`` goes from one change to the next and sets
``I_stim`` of the cells at each (:func:`apply`). An AC current changes every
step, so its parameters are per-neuron state and the step computes it (one
AC source per cell). A noisy current is piecewise constant over its own dt,
drawn on the host (``NoisyCurrentSource``). Parameters may change between
runs; sources are injected before the first run.
"""

from __future__ import annotations

import math
import re

import numpy as np
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, electrodes

from . import simulator

__all__ = ["DCSource", "StepCurrentSource", "ACSource", "NoisyCurrentSource"]

_AC_STATE = ("ac_amplitude", "ac_offset", "ac_frequency", "ac_phase", "ac_start", "ac_stop")
_NEVER = 1 << 52  # a stop beyond any run, in steps


class _Source:
    """What the sources share: PyNN's parameters kept as given (nA, ms),
    the cells they reach by population."""

    def __init__(self, **parameters):
        object.__setattr__(self, "_p", {})
        object.__setattr__(self, "_targets", {})  # population -> local indices
        super().__init__(**parameters)
        ps = self.parameter_space
        ps.shape = (1,)  # (one source)
        ps.evaluate(simplify=True)
        self._p.update({k: (v.value if isinstance(v, Sequence) else v) for k, v in ps.items()})
        self._check()
        simulator.state.sources.append(self)

    def set_native_parameters(self, parameters):
        parameters.shape = (1,)
        parameters.evaluate(simplify=True)
        old = dict(self._p)
        self._p.update({k: (v.value if isinstance(v, Sequence) else v)
                        for k, v in parameters.items()})
        try:
            self._check()
        except ValueError:
            self._p.clear()
            self._p.update(old)
            raise

    def __getattr__(self, name):
        p = self.__dict__.get("_p", {})
        if name in p:  # (sequences as arrays, numbers as numbers)
            return p[name]
        return super().__getattr__(name)

    def get_parameters(self):
        ps = self.reverse_translate(self.get_native_parameters())
        ps.shape = (1,)
        ps.evaluate(simplify=True)
        return ps

    def get_native_parameters(self):
        return ParameterSpace({k: (Sequence(v) if isinstance(v, np.ndarray) else v)
                               for k, v in self._p.items()})

    def _check(self):
        pass

    def inject_into(self, cells):
        """Inject into ``cells``: a Population, PopulationView, Assembly or
        a list of cells (IDs)."""
        by_pop: dict = {}
        for cell in cells:
            pop = cell.parent
            if not getattr(pop.celltype, "injectable", False):
                raise TypeError("Can't inject current into a spike source.")
            by_pop.setdefault(pop, []).append(pop.id_to_index(cell))
        for pop, idx in by_pop.items():
            if simulator.state.sim is not None and (
                    not pop._stimulus or (isinstance(self, ACSource) and pop._stimulus != "ac")):
                raise NotImplementedError(
                    f"snnlab.pynn: injecting current into {pop.label!r} after the first run "
                    "(inject before it: the population's model then carries the current)")
            have = self._targets.get(pop, np.empty(0, np.int64))
            self._targets[pop] = np.union1d(have, np.asarray(idx, np.int64))

    def _steps(self, t: float) -> int:
        return int(simulator.state.step_of(t))

    # the current [nA] at step n with parameters p; the steps where a
    # piecewise-constant source changes (none for one the step computes)
    def value(self, n: int, p: dict) -> float:  # (each source has its own)
        raise NotImplementedError

    def changes(self) -> list[int]:
        return []

    def next_change(self, n: int) -> int:
        """The first step after n at which the current changes."""
        return min([_NEVER, *[c for c in self.changes() if c > n]])

    def cell_values(self, n: int, p: dict, pop, idx) -> np.ndarray:
        """The current [nA] at step n into the cells ``idx`` of ``pop``."""
        return np.full(len(idx), self.value(n, p))

    def record(self):
        """Record the current (``get_data()``: nA at every step, from 0 to now)."""
        object.__setattr__(self, "_history", [])

    def _note(self, n: int) -> None:
        """The parameters in force from step n on (for the recorded current)."""
        history = self.__dict__.get("_history")
        if history is not None and (not history or not _same(history[-1][1], self._p)):
            history.append((n, {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                for k, v in self._p.items()}))

    def _get_data(self):
        history = self.__dict__.get("_history")
        if history is None:
            raise ValueError("this current source was not recorded: call record() first")
        state = simulator.state
        origin = state.t_origin  # (since the last reset: PyNN's time 0)
        now = origin if state.sim is None else state.sim.current_step
        current = np.zeros(now + 1 - origin)
        for k, (first, p) in enumerate(history):
            last = history[k + 1][0] if k + 1 < len(history) else now + 1
            for n in range(max(first, origin), last):
                current[n - origin] = self.value(n, p)
        return np.arange(current.size) * state.dt, current


class DCSource(_Source, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"))

    def value(self, n, p):
        on = self._steps(p["start"]) <= n < self._stop(p)
        return float(p["amplitude"]) if on else 0.0

    def _stop(self, p):
        stop = float(p["stop"])
        return _NEVER if stop >= 1e11 else self._steps(stop)

    def changes(self):
        return [self._steps(self._p["start"]), self._stop(self._p)]


class StepCurrentSource(_Source, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("times", "times"), ("amplitudes", "amplitudes"))

    def _check(self):
        """Times checked, then on the time grid, of several on one step the
        last amplitude kept (as pyNN.nest keeps them)."""
        times = np.asarray(self._p.get("times", []), np.float64).ravel()
        amps = np.asarray(self._p.get("amplitudes", []), np.float64).ravel()
        if times.shape != amps.shape:
            raise ValueError(f"StepCurrentSource: times and amplitudes must have the same "
                             f"length, got {times.size} and {amps.size}")
        if times.size and times.min() < 0:
            raise ValueError("Step current cannot accept negative timestamps.")
        if times.size > 1 and np.min(np.diff(times)) <= 0:
            raise ValueError("Step current timestamps should be monotonically increasing.")
        steps = np.rint(times / simulator.state.dt).astype(np.int64)
        last = np.r_[steps[1:] != steps[:-1], True] if steps.size else np.zeros(0, bool)
        self._p["times"] = steps[last] * simulator.state.dt
        self._p["amplitudes"] = amps[last]

    def value(self, n, p):
        steps = [self._steps(t) for t in p["times"]]
        k = int(np.searchsorted(steps, n, side="right")) - 1  # the last change at or before n
        return float(p["amplitudes"][k]) if k >= 0 else 0.0

    def changes(self):
        return [self._steps(t) for t in self._p["times"]]


class ACSource(_Source, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("offset", "offset"),
                                      ("frequency", "frequency"), ("phase", "phase"),
                                      ("start", "start"), ("stop", "stop"))

    def value(self, n, p):
        a = self.ac_state(p)
        if not a["ac_start"] <= n < a["ac_stop"]:
            return 0.0
        dt = simulator.state.dt
        return (p["offset"] + p["amplitude"] * math.sin(
            2 * math.pi * p["frequency"] * 1e-3 * (n - a["ac_start"]) * dt
            + math.pi / 180 * p["phase"]))

    def ac_state(self, p=None) -> dict[str, float]:
        """The cells' AC state: amplitude and offset in pA, the phase in
        degrees at the start, start and stop in steps."""
        p = self._p if p is None else p
        stop = float(p["stop"])
        return {"ac_amplitude": 1000.0 * p["amplitude"], "ac_offset": 1000.0 * p["offset"],
                "ac_frequency": float(p["frequency"]), "ac_phase": float(p["phase"]),
                "ac_start": float(self._steps(p["start"])),
                "ac_stop": float(_NEVER if stop >= 1e11 else self._steps(stop))}


class NoisyCurrentSource(_Source, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__ + """
    On snnlab.pynn the values are drawn on the host, keyed by the
    simulation's seed, the source and the interval (the same for any run
    in pieces), a value per cell; while the source is on, a run goes from
    one of its intervals to the next (at dt = the time step: step by step,
    ~0.1 ms of wall time each).  The recorded current is its first cell's.
    """
    translations = build_translations(("mean", "mean"), ("stdev", "stdev"), ("dt", "dt"),
                                      ("start", "start"), ("stop", "stop"))

    def _check(self):
        dt = float(self._p.get("dt", simulator.state.dt))
        k = dt / simulator.state.dt
        if not (k >= 1 - 1e-9 and abs(k - round(k)) < 1e-9):
            raise ValueError(f"NoisyCurrentSource: dt = {dt} ms must be a multiple of the time "
                             f"step {simulator.state.dt} ms")

    def _window(self, p):
        stop = float(p["stop"])
        return (self._steps(p["start"]), _NEVER if stop >= 1e11 else self._steps(stop),
                max(1, int(round(float(p["dt"]) / simulator.state.dt))))

    def next_change(self, n):
        first, stop, k = self._window(self._p)
        if n < first:
            return first
        if n >= stop:
            return _NEVER
        return min(stop, first + ((n - first) // k + 1) * k)

    def cell_values(self, n, p, pop, idx):
        first, stop, k = self._window(p)
        if not first <= n < stop:
            return np.zeros(len(idx))
        # one draw per cell of every population reached, in a fixed order,
        # keyed by where the interval begins on snnlab's clock (a reset
        # starts new intervals, with new values)
        interval = first + (n - first) // k * k
        order = [(q, i) for q, i in self._targets.items()]
        sizes = [len(i) for _, i in order]
        seed = simulator.state.sim.seed
        z = np.random.default_rng([seed, 0x6E6F697365, simulator.state.sources.index(self),
                                   interval]).standard_normal(sum(sizes))
        at = next(k for k, (q, _) in enumerate(order) if q is pop)
        start = sum(sizes[:at])
        picked = np.searchsorted(order[at][1], idx)
        return p["mean"] + p["stdev"] * z[start + picked]

    def value(self, n, p):  # (the recorded current: the first cell's)
        pop, idx = next(iter(self._targets.items()), (None, None))
        return 0.0 if pop is None else float(self.cell_values(n, p, pop, idx[:1])[0])


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def with_stimulus(model, ac: bool):
    """``model`` with a per-neuron current ``I_stim`` [pA] beside ``I_e``
    (and, with ``ac``, a sine of per-neuron amplitude, offset, frequency
    [Hz] and phase [deg] between start and stop [steps], PyNN's phase
    counted from the start)."""
    import dataclasses

    if "I_e" not in model.params or not re.search(r"\bI_e\b", model.update):
        raise NotImplementedError(f"snnlab.pynn: current sources into {model.name!r}")
    state = {**model.state, "I_stim": 0.0}
    inj = "I_stim"
    if ac:
        state.update({k: 0.0 for k in _AC_STATE})
        inj = ("I_stim + ((t / dt + 0.5 >= ac_start && t / dt + 0.5 < ac_stop) ? "
               "ac_offset + ac_amplitude * sin(6.283185307179586 * ac_frequency * 1e-3 * "
               "(t - ac_start * dt) + 0.017453292519943295 * ac_phase) : 0.0)")
    update = f"const scalar snn_I_inj = {inj};\n" + re.sub(r"\bI_e\b", "(I_e + snn_I_inj)",
                                                          model.update)
    return dataclasses.replace(model, name=f"{model.name}_stim{'_ac' if ac else ''}",
                               state=state, update=update)


def stimulated(pop) -> tuple[bool, bool]:
    """Whether any source reaches ``pop``, and whether an AC source does."""
    hits = [s for s in simulator.state.sources if pop in s._targets]
    return bool(hits), any(isinstance(s, ACSource) for s in hits)


def split_offset(pop, params: dict) -> np.ndarray | None:
    """A population whose ``i_offset`` differs between its cells: the
    population's ``I_e`` set to 0 in ``params`` and each cell's [pA]
    returned, to flow as ``I_stim`` (None where all cells share one)."""
    values = np.broadcast_to(np.asarray(params.get("I_e", 0.0), np.float64), (pop.size,))
    if "I_e" not in params or np.all(values == values[0]):
        return None
    params["I_e"] = 0.0
    return values.copy()


def apply(sim, n: int) -> int:
    """Set ``I_stim`` (and the AC state) of every stimulated population for
    step ``n``; return the next step after ``n`` at which a piecewise-
    constant source changes (or a step beyond any run)."""
    nxt = _NEVER
    by_pop: dict = {}
    for s in simulator.state.sources:
        s._note(n)
        for pop, idx in s._targets.items():
            by_pop.setdefault(pop, []).append((s, idx))
        nxt = min(nxt, s.next_change(n))
    for pop in simulator.state.populations:
        if getattr(pop, "_offset", None) is not None:
            by_pop.setdefault(pop, [])
    for pop, hits in by_pop.items():
        current = np.zeros(pop.size) if pop._offset is None else pop._offset.copy()
        ac = {k: np.zeros(pop.size) for k in _AC_STATE} if pop._stimulus == "ac" else None
        has_ac = np.zeros(pop.size, bool)
        for s, idx in hits:
            if isinstance(s, ACSource):
                if has_ac[idx].any():
                    raise NotImplementedError("snnlab.pynn: two ACSources into one cell")
                has_ac[idx] = True
                for k, v in s.ac_state().items():
                    ac[k][idx] = v
            else:
                current[idx] += 1000.0 * s.cell_values(n, s._p, pop, idx)  # nA -> pA
        if not np.array_equal(current, pop._applied.get("I_stim")):
            sim.set_state(pop.sl_name, "I_stim", current)
            pop._applied["I_stim"] = current
        for k, v in (ac or {}).items():
            if not np.array_equal(v, pop._applied.get(k)):
                sim.set_state(pop.sl_name, k, v)
                pop._applied[k] = v
    return nxt
