"""Neuron models: built-ins and user-defined models from C snippets.

A :class:`NeuronModel` is a plain description: parameters, state variables
with their initial values, input ports, and C snippets for the update, the
threshold condition and the reset.  Nothing here knows about a backend; the
snippets are compiled for the CPU and the GPU alike
(``snnlab/backend/codegen.py``).  Constants that need transcendental functions
(propagators such as ``exp(-dt/tau_m)``) are computed once on the host by the
model's ``derived`` function, so every target integrates with identical
numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..checks import balanced, finite, warn_off_grid
from ..distributions import Distribution, Values

__all__ = [
    "NeuronModel",
    "LIF",
    "ALIF",
    "CondLIF",
    "Izhikevich",
    "PoissonSource",
    "SpikeSourceArray",
    "propagator_matrix",
]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"i", "n", "t", "dt", "refractory", "spike", "uniform", "state", "param",
             "input", "refrac", "ctx"}


def _usable(name: str) -> bool:
    """A name the generated code can declare (``snn_`` and ``_`` are ours)."""
    return bool(_IDENT.match(name)) and name not in _RESERVED and not (
        name.startswith("snn_") or name.startswith("_"))


@dataclass(frozen=True)
class NeuronModel:
    """A neuron model described by parameters, state and C snippets.

    Parameters
    ----------
    name : str
        Identifier, used in generated code and messages.
    params : mapping of str to float
        Parameter values (changeable while a simulation runs).
    state : mapping of str to float, str or Distribution
        State variables and their initial values: a number, the name of a
        parameter (``"E_L"``) or a :class:`~snnlab.Normal` / ``Uniform``.
    update : str
        C statements run every step.  They see the state variables (assign to
        change them), parameters and derived constants (read-only), the input
        of each port as ``in_<port>``, ``dt`` and ``t`` [ms], ``i`` (the
        neuron), ``refractory`` (bool) and ``uniform()``, a uniform number in
        (0, 1) from the counter-based generator.
    threshold : str
        C condition; a spike is emitted when it holds and the neuron is not
        refractory.  Empty: never spikes.
    reset : str
        C statements run after a spike.
    ports : tuple of str
        Names of the synaptic input ports (projections choose one).
    refractory : str or None
        Name of the parameter holding the refractory period [ms].
    derived : callable ``(params, dt) -> dict`` or None
        Constants computed on the host from the parameters.
    validate : callable ``(params) -> None`` or None
        Raises ValueError for parameter values out of range; also run when a
        parameter changes while simulating.
    units : mapping of str to str, optional
        Units of state variables (``{"V_m": "mV"}``, as the ``quantities``
        package spells them), for exports that carry units
        (:meth:`snnlab.Simulation.to_neo`); a variable without is
        dimensionless there.
    synapses : {"current", "conductance"} or None
        What a weight on the ``exc``/``inh`` ports means, for the checks of
        :meth:`snnlab.Network.connect`: ``current``, its sign makes the
        current (a receptor named against it is warned); ``conductance``,
        its magnitude is the conductance and its sign the receptor (named
        against it, or both signs in one projection: refused).  None: the
        model says nothing.

    >>> m = NeuronModel("leaky", params={"tau": 10.0}, state={"v": 0.0},
    ...                 derived=lambda p, dt: {"decay": math.exp(-dt / p["tau"])},
    ...                 update="v = v * decay + in_syn;", threshold="v >= 1.0",
    ...                 reset="v = 0.0;", ports=("syn",))
    >>> m.with_params(tau=20.0).params["tau"]
    20.0
    """

    name: str
    params: Mapping[str, float]
    state: Mapping[str, Any]
    update: str = ""
    threshold: str = ""
    reset: str = ""
    ports: tuple[str, ...] = ()
    refractory: str | None = None
    derived: Callable[[dict, float], dict] | None = None
    kind: str = "neuron"
    extra: Mapping[str, Any] = field(default_factory=dict)
    validate: Callable[[dict], None] | None = None
    units: Mapping[str, str] | None = None
    synapses: str | None = None

    def __post_init__(self):
        if not _IDENT.match(self.name):
            raise ValueError(f"model name must be a C identifier, got {self.name!r}")
        names = list(self.params) + list(self.state) + [f"in_{p}" for p in self.ports]
        for n in names:
            if not _usable(n):
                raise ValueError(
                    f"model {self.name!r}: {n!r} is not a usable name (a C identifier, "
                    f"not one of {sorted(_RESERVED)}, not starting with 'snn_' or '_')")
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"model {self.name!r}: names used twice: {sorted(dup)}")
        for part in ("update", "threshold", "reset"):
            code = getattr(self, part)
            if not isinstance(code, str):
                raise TypeError(f"model {self.name!r}: {part} must be C code (a str), "
                                f"got {type(code).__name__}")
            balanced(f"model {self.name!r}: {part}", code)
        params = {k: finite(f"{self.name}.{k}", v) for k, v in self.params.items()}
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "ports", tuple(self.ports))
        if self.refractory is not None and self.refractory not in params:
            raise ValueError(f"model {self.name!r}: refractory parameter "
                             f"{self.refractory!r} is not among {sorted(params)}")
        for var, init in self.state.items():
            if isinstance(init, str):
                if init not in params:
                    raise ValueError(f"model {self.name!r}: initial value of {var!r} names "
                                     f"{init!r}, not a parameter ({sorted(params)})")
            elif not isinstance(init, Distribution):
                finite(f"{self.name}.{var} (initial value)", init)
        if self.synapses not in (None, "current", "conductance"):
            raise ValueError(f"model {self.name!r}: synapses must be None, 'current' or "
                             f"'conductance', got {self.synapses!r}")
        if self.units is not None:
            bad = sorted(k for k, u in self.units.items()
                         if k not in self.state or not isinstance(u, str))
            if bad:
                raise ValueError(f"model {self.name!r}: units must map state variables "
                                 f"({sorted(self.state)}) to unit names, got {bad}")
            object.__setattr__(self, "units", dict(self.units))

    def with_params(self, **values) -> NeuronModel:
        """A copy with some parameters changed; unknown names are an error."""
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise ValueError(f"{self.name}: unknown parameter(s) {unknown}; "
                             f"allowed: {sorted(self.params)}")
        p = dict(self.params)
        p.update({k: finite(f"{self.name}.{k}", v) for k, v in values.items()})
        return _replace(self, params=p)

    def with_state(self, **initial) -> NeuronModel:
        """A copy with some initial values changed (number, parameter name or
        distribution)."""
        unknown = sorted(set(initial) - set(self.state))
        if unknown:
            raise ValueError(f"{self.name}: unknown state variable(s) {unknown}; "
                             f"allowed: {sorted(self.state)}")
        s = dict(self.state)
        s.update(initial)
        return _replace(self, state=s)

    def per_neuron(self, dt: float, **values) -> NeuronModel:
        """A variant whose parameters ``values`` (name -> one value per
        neuron) differ between the neurons of a population, for a
        simulation with time step ``dt`` [ms].

        Each parameter, and each derived constant, that then differs between
        neurons becomes a state variable the snippets read under the same
        name (initial values: :class:`~snnlab.Values`, the neuron's own, also
        after a reset), with the same type as a constant: the same arithmetic,
        bit for bit, as a population of one neuron with that neuron's
        parameters.  A refractory period that differs counts each neuron's
        own steps (state variable ``<refractory>_steps``).  The rest stay
        constants, shared.  ``Simulation.set_param`` still changes a shared
        parameter, unless that would change a per-neuron constant or make a
        shared one differ (a ValueError says which).  ``Simulation.state``
        reads the per-neuron values; ``set_state`` sets the derived ones
        (until a reset), not the parameters they were derived from (refused:
        make the model again).

        >>> m = LIF(tau_m=10.0).per_neuron(0.1, tau_m=[10.0, 20.0], V_th=[-50.0, -50.0])
        >>> [k for k in m.state if k not in LIF().state]
        ['tau_m', 'P33', 'P30']
        >>> m.state["tau_m"].values.tolist(), m.params["V_th"]
        ([10.0, 20.0], -50.0)
        """
        return _per_neuron(self, finite("per_neuron: dt", dt), values)

    def constants(self, params: Mapping[str, float], dt: float) -> dict[str, float]:
        """Parameters, derived constants and ``dt`` as passed to the kernel."""
        if self.validate is not None:
            self.validate(dict(params))
        out = dict(params)
        if self.derived is not None:
            try:
                derived = self.derived(dict(params), dt)
            except (ArithmeticError, ValueError) as e:
                if isinstance(self.derived, _PerNeuronDerived):
                    raise  # (its own message, the rows' own errors within)
                raise ValueError(f"{self.name}: derived constants cannot be computed for "
                                 f"parameters {dict(params)} and dt={dt}: {e}") from None
            for k, v in derived.items():
                if not _usable(k) or k in out or k in self.state:
                    raise ValueError(f"{self.name}: derived constant {k!r} is not a usable "
                                     "name or clashes with a parameter or state variable")
                out[k] = float(v)
        if self.refractory is not None:
            out["_ref_steps"] = float(warn_off_grid(
                f"{self.name}: refractory period {self.refractory}", params[self.refractory],
                dt))
        out["dt"] = dt
        bad = [k for k, v in out.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"{self.name}: derived constants {bad} are not finite "
                             f"for parameters {dict(params)} and dt={dt}")
        return out


@dataclass(frozen=True, eq=False)
class _PerNeuronDerived:
    """The derived constants of a :meth:`NeuronModel.per_neuron` variant
    that stay shared (picklable, for checkpoints and ranks).  With the
    shared parameters it was made with, those it found; with others (a
    ``set_param``), computed again for every distinct set of per-neuron
    values (``rows``, over ``names``): they must still agree, and the
    per-neuron constants (``moved``, now state) must stay as they were."""

    base: NeuronModel
    dt: float
    names: tuple[str, ...]  # the parameters per neuron
    rows: np.ndarray  # [distinct sets, len(names)]
    moved: tuple[str, ...]  # the constants per neuron, derived ones included
    moved_values: np.ndarray  # [distinct sets, len(moved)]
    made_with: dict  # the shared parameters it was made with
    shared: dict  # and the shared derived constants they give

    def __call__(self, p: dict, dt: float) -> dict:
        if dt != self.dt:
            raise ValueError(f"{self.base.name}: its per-neuron constants were computed for "
                             f"dt = {self.dt:g} ms, not {dt:g} ms (per_neuron(dt=...))")
        if p == self.made_with:
            return dict(self.shared)
        table = _row_constants(self.base, p, self.names, self.rows, dt)
        changed = [k for j, k in enumerate(self.moved)
                   if any(c[k] != v for c, v in zip(table, self.moved_values[:, j]))]
        if changed:
            raise ValueError(f"{self.base.name}: this change would alter the per-neuron "
                             f"constants {changed}; set them per neuron (Simulation.set_state) "
                             "or make the model with per_neuron again")
        shared = _shared_derived(table, p, self.moved)
        varying = sorted(k for k in shared if any(c[k] != shared[k] for c in table[1:]))
        if varying:
            raise ValueError(f"{self.base.name}: this change would make the derived constants "
                             f"{varying} differ between neurons; make the model with "
                             "per_neuron again")
        return shared


def _row_constants(base: NeuronModel, shared: dict, names, rows, dt: float) -> list[dict]:
    """``base.constants`` for each row of per-neuron values, beside the
    shared parameters ``shared``."""
    out = []
    for row in rows:
        p = {k: v for k, v in shared.items() if k in base.params}
        p.update(zip(names, (float(x) for x in row)))
        out.append(base.constants(p, dt))
    return out


def _shared_derived(table: list[dict], params: dict, moved) -> dict:
    """The derived constants of the first row that are neither parameters
    nor per neuron (nor the ones ``NeuronModel.constants`` adds itself)."""
    return {k: v for k, v in table[0].items()
            if k not in params and k not in moved and k not in ("dt", "_ref_steps")}


def _per_neuron(model: NeuronModel, dt: float, values: dict) -> NeuronModel:
    if model.kind != "neuron":
        raise ValueError(f"{model.name}: per_neuron is for neuron models, not {model.kind!r}")
    if isinstance(model.derived, _PerNeuronDerived):
        raise ValueError(f"{model.name}: already per neuron; call per_neuron on the model "
                         "it was made from")
    unknown = sorted(set(values) - set(model.params))
    if not values or unknown:
        raise ValueError(f"{model.name}: per_neuron takes parameters of the model "
                         f"({sorted(model.params)}), got {unknown or 'none'}")
    arrays = {}
    for k, v in values.items():
        a = np.asarray(v, np.float64)
        if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
            raise ValueError(f"{model.name}.{k}: per_neuron takes a 1-d array of finite "
                             f"values, one per neuron, got shape {a.shape}")
        arrays[k] = a
    sizes = {k: a.size for k, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"{model.name}: per_neuron arrays must have one length (one value "
                         f"per neuron), got {sizes}")
    # a parameter the same in every neuron is shared after all
    model = model.with_params(**{k: float(a[0]) for k, a in arrays.items() if np.all(a == a[0])})
    names = tuple(k for k, a in arrays.items() if np.any(a != a[0]))
    if not names:
        return model
    rows, which = np.unique(np.stack([arrays[k] for k in names], axis=1), axis=0,
                            return_inverse=True)
    which = which.reshape(-1)
    table = _row_constants(model, model.params, names, rows, dt)
    per_row = {k: np.array([c[k] for c in table]) for k in table[0] if k != "dt"}
    moved = [k for k, v in per_row.items() if np.any(v != v[0]) and k != "_ref_steps"]
    params = {k: v for k, v in model.params.items() if k not in moved}
    state = {var: (Values(per_row[init][which]) if isinstance(init, str) and init in moved
                   else init) for var, init in model.state.items()}
    state.update({k: Values(per_row[k][which]) for k in moved})
    reset, refractory = model.reset, model.refractory
    ref_steps = per_row.get("_ref_steps")
    if ref_steps is not None and (refractory in moved or np.any(ref_steps != ref_steps[0])):
        steps = f"{refractory}_steps"  # each neuron's refractory steps
        while steps in model.params or steps in state:
            steps += "_"
        state[steps] = Values(ref_steps[which])
        reset, refractory = f"{reset}\nrefrac = (int32_t){steps};", None
    derived = _PerNeuronDerived(
        model, dt, names, rows, tuple(moved),
        np.stack([per_row[k] for k in moved], axis=1), dict(params),
        _shared_derived(table, params, moved))
    # (the model's validate sees every parameter: it runs on each row, in _row_constants)
    return _replace(model, params=params, state=state, reset=reset, refractory=refractory,
                    derived=derived, validate=None)


def _replace(model: NeuronModel, **changes) -> NeuronModel:
    from dataclasses import replace

    return replace(model, **changes)


_POSITIVE = ("C_m", "tau_m", "tau_syn_ex", "tau_syn_in", "tau_a", "g_L")
_NON_NEGATIVE = ("t_ref", "rate", "start")
NEVER = 1e30  # [ms] a stop time that never comes (finite, as parameters must be)


@dataclass(frozen=True)
class _RangeCheck:
    """Range checks of the built-in models' parameters (picklable)."""

    name: str

    def __call__(self, p: dict) -> None:
        for k in _POSITIVE:
            if k in p and not p[k] > 0:
                raise ValueError(f"{self.name}: {k} must be > 0, got {p[k]}")
        for k in _NON_NEGATIVE:
            if k in p and not p[k] >= 0:
                raise ValueError(f"{self.name}: {k} must be >= 0, got {p[k]}")


def _checked(name: str, defaults: dict, given: dict) -> dict:
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"{name}: unknown parameter(s) {unknown}; allowed: {sorted(defaults)}")
    p = dict(defaults)
    p.update({k: finite(f"{name}.{k}", v) for k, v in given.items()})
    _RangeCheck(name)(p)
    return p


def propagator_matrix(a: np.ndarray, h: float) -> np.ndarray:
    """``expm(a * h)`` for a small matrix, by scaling and squaring of the
    Taylor series (exact integration of linear subthreshold dynamics,
    Rotter & Diesmann 1999)."""
    m = np.asarray(a, dtype=np.float64) * h
    norm = np.abs(m).sum(axis=1).max()
    s = max(0, int(math.ceil(math.log2(norm))) + 1) if norm > 0 else 0
    m = m / 2.0**s
    out = np.eye(len(m))
    term = np.eye(len(m))
    for k in range(1, 30):
        term = term @ m / k
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


_LIF_DEFAULTS = dict(C_m=250.0, tau_m=10.0, t_ref=2.0, E_L=-70.0, V_th=-55.0,
                     V_reset=-70.0, I_e=0.0)
_SYN_DEFAULTS = dict(tau_syn_ex=2.0, tau_syn_in=2.0)


@dataclass(frozen=True)
class _LIFDerived:
    """Propagators of the LIF variants (picklable, for checkpoints)."""

    synapse: str
    adaptive: bool = False

    def __call__(self, p: dict, dt: float) -> dict:
        synapse = self.synapse
        tau_m, c_m = p["tau_m"], p["C_m"]
        out = {"P33": math.exp(-dt / tau_m), "P30": tau_m / c_m * -math.expm1(-dt / tau_m)}
        for ch in ("ex", "in"):
            tau_s = p.get(f"tau_syn_{ch}")
            if synapse == "exp":
                a = [[-1.0 / tau_s, 0.0], [1.0 / c_m, -1.0 / tau_m]]
                m = propagator_matrix(a, dt)
                out[f"P11{ch}"] = m[0, 0]
                out[f"P21{ch}"] = m[1, 0]
            elif synapse == "alpha":
                a = [[-1.0 / tau_s, 0.0, 0.0], [1.0, -1.0 / tau_s, 0.0],
                     [0.0, 1.0 / c_m, -1.0 / tau_m]]
                m = propagator_matrix(a, dt)
                out[f"P11{ch}"] = m[0, 0]
                out[f"P21{ch}"] = m[1, 0]
                out[f"P22{ch}"] = m[1, 1]
                out[f"P31{ch}"] = m[2, 0]
                out[f"P32{ch}"] = m[2, 1]
                out[f"psc0{ch}"] = math.e / tau_s
        if self.adaptive:
            out["Pa"] = math.exp(-dt / p["tau_a"])
        return out


def _poisson_derived(p: dict, dt: float) -> dict:
    return {"p_spike": p["rate"] * dt * 1e-3}


# Delta synapses of either sign add to V alike: one input buffer ("syn") halves
# the ring-buffer traffic of the neuron update (Brunel, N = 12 500).  Current
# synapses keep excitatory and inhibitory inputs apart (own time constants).
_LIF_PORTS = {"delta": ("syn",), "exp": ("exc", "inh"), "alpha": ("exc", "inh")}

_LIF_CODE = {
    "delta": (
        "if (!refractory) V_m = E_L + (V_m - E_L) * P33 + P30 * I_e + in_syn;"),
    "exp": (
        "if (!refractory)\n"
        "    V_m = E_L + (V_m - E_L) * P33 + P30 * I_e + P21ex * I_syn_ex + P21in * I_syn_in;\n"
        "I_syn_ex = P11ex * I_syn_ex + in_exc;\n"
        "I_syn_in = P11in * I_syn_in + in_inh;"),
    "alpha": (
        "if (!refractory)\n"
        "    V_m = E_L + (V_m - E_L) * P33 + P30 * I_e + P31ex * dI_syn_ex + P32ex * I_syn_ex\n"
        "          + P31in * dI_syn_in + P32in * I_syn_in;\n"
        "I_syn_ex = P21ex * dI_syn_ex + P22ex * I_syn_ex;\n"
        "I_syn_in = P21in * dI_syn_in + P22in * I_syn_in;\n"
        "dI_syn_ex = P11ex * dI_syn_ex + psc0ex * in_exc;\n"
        "dI_syn_in = P11in * dI_syn_in + psc0in * in_inh;"),
}


def LIF(synapse: str = "delta", **params) -> NeuronModel:
    r"""Leaky integrate-and-fire neuron with current synapses, integrated exactly.

    .. math:: \tau_m \dot V = -(V - E_L) + \frac{\tau_m}{C_m} (I_{syn} + I_e)

    Parameters (NEST ``iaf_psc_*`` names and defaults): ``C_m`` [pF],
    ``tau_m`` [ms], ``t_ref`` [ms], ``E_L``, ``V_th``, ``V_reset`` [mV],
    ``I_e`` [pA], and for ``exp``/``alpha`` synapses ``tau_syn_ex``,
    ``tau_syn_in`` [ms].

    synapse : {"delta", "exp", "alpha"}
        ``delta``: a spike of weight w [mV] makes V jump by w
        (``iaf_psc_delta``); ``exp``: the current jumps by w [pA] and decays
        with tau_syn (``iaf_psc_exp``); ``alpha``: the current is an alpha
        function peaking at w [pA] after tau_syn (``iaf_psc_alpha``).

    Ports: ``syn`` for delta synapses (both signs), ``exc`` and ``inh`` for
    ``exp`` and ``alpha`` (chosen by the sign of the weight unless a
    projection names one).  While refractory V is clamped at ``V_reset`` and
    delta input is discarded.  Propagators after Rotter & Diesmann (1999).

    >>> LIF(tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0).params["tau_m"]
    20.0
    """
    if synapse not in _LIF_CODE:
        raise ValueError(f"LIF: synapse must be one of {sorted(_LIF_CODE)}, got {synapse!r}")
    defaults = dict(_LIF_DEFAULTS)
    if synapse != "delta":
        defaults.update(_SYN_DEFAULTS)
    p = _checked(f"LIF({synapse})", defaults, params)
    state: dict[str, Any] = {"V_m": "E_L"}
    if synapse == "exp":
        state.update(I_syn_ex=0.0, I_syn_in=0.0)
    elif synapse == "alpha":
        state.update(I_syn_ex=0.0, I_syn_in=0.0, dI_syn_ex=0.0, dI_syn_in=0.0)
    units = {"V_m": "mV", "I_syn_ex": "pA", "I_syn_in": "pA", "dI_syn_ex": "pA/ms",
             "dI_syn_in": "pA/ms"}
    return NeuronModel(
        name=f"lif_{synapse}", params=p, state=state, update=_LIF_CODE[synapse],
        threshold="V_m >= V_th", reset="V_m = V_reset;", ports=_LIF_PORTS[synapse],
        refractory="t_ref", derived=_LIFDerived(synapse), validate=_RangeCheck("LIF"),
        units={k: u for k, u in units.items() if k in state},
        synapses=None if synapse == "delta" else "current")


def ALIF(**params) -> NeuronModel:
    r"""Adaptive LIF neuron (delta synapses) with a spike-triggered threshold.

    .. math:: V \ge V_{th} + \beta a, \quad \tau_a \dot a = -a, \quad a \to a + 1
              \text{ at a spike}

    after Bellec et al. (2018, 2020), the recurrent unit of e-prop.  Parameters
    as :func:`LIF` plus ``tau_a`` [ms] and ``beta`` [mV].

    >>> ALIF(beta=1.8).params["beta"]
    1.8
    """
    defaults = dict(_LIF_DEFAULTS, tau_a=200.0, beta=1.0)
    p = _checked("ALIF", defaults, params)

    return NeuronModel(
        name="alif", params=p, state={"V_m": "E_L", "a": 0.0},
        update=_LIF_CODE["delta"] + "\na = a * Pa;",
        threshold="V_m >= V_th + beta * a", reset="V_m = V_reset;\na = a + 1.0;",
        ports=_LIF_PORTS["delta"], refractory="t_ref",
        derived=_LIFDerived("delta", adaptive=True), validate=_RangeCheck("ALIF"),
        units={"V_m": "mV", "a": "dimensionless"})


# NEST's izhikevich, both of its integrations, in its order of operations:
# forward Euler from the step's start ("consistent"), or the published one
# (two half steps of V, then U from the new V); the step's delta input
# added to V after the Euler increment (inside it, published); V bounded
# below by V_min.
_IZHIKEVICH_CODE = {
    True: ("const scalar v_old = V_m, u_old = U_m;\n"
           "V_m = V_m + dt * (0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u_old + I_e) + in_syn;\n"
           "U_m = U_m + dt * a * (b * v_old - u_old);\n"
           "V_m = V_m < V_min ? V_min : V_m;"),
    False: ("V_m = V_m + dt * 0.5 * (0.04 * V_m * V_m + 5.0 * V_m + 140.0 - U_m + I_e + in_syn);\n"
            "V_m = V_m + dt * 0.5 * (0.04 * V_m * V_m + 5.0 * V_m + 140.0 - U_m + I_e + in_syn);\n"
            "U_m = U_m + dt * a * (b * V_m - U_m);\n"
            "V_m = V_m < V_min ? V_min : V_m;"),
}
_IZHIKEVICH_DEFAULTS = dict(a=0.02, b=0.2, c=-65.0, d=8.0, I_e=0.0, V_th=30.0, V_min=-1e30)


def Izhikevich(consistent_integration: bool = True, **params) -> NeuronModel:
    r"""Izhikevich's (2003) simple model, as NEST's ``izhikevich`` (names,
    defaults, numerics).

    .. math:: \dot V = 0.04 V^2 + 5 V + 140 - U + I_e, \quad
              \dot U = a (b V - U); \quad V \ge V_{th}: V \to c, U \to U + d

    Parameters: ``a``, ``b`` [1/ms], ``c`` [mV], ``d`` [mV/ms], ``I_e``
    (in the equation as it is, mV/ms; NEST calls it pA), ``V_th`` [mV],
    ``V_min`` [mV] (V's lower bound; default none, -1e30).  State ``V_m``
    (initially -65 mV) and ``U_m`` (-13 mV/ms, NEST 3.10's: b V_m at the
    defaults).  Delta synapses on port ``syn``: a
    spike of weight w [mV] makes V jump by w.  No refractory period.
    ``consistent_integration`` (NEST's default): forward Euler; False: the
    published scheme (two half steps of V, then U from the new V), meant
    for dt = 1 ms.

    >>> Izhikevich(d=2.0).params["d"]
    2.0
    """
    if not isinstance(consistent_integration, bool):
        raise TypeError(f"Izhikevich: consistent_integration must be True or False, got "
                        f"{consistent_integration!r}")
    p = _checked("Izhikevich", _IZHIKEVICH_DEFAULTS, params)
    return NeuronModel(
        name="izhikevich" if consistent_integration else "izhikevich_published", params=p,
        state={"V_m": -65.0, "U_m": -13.0}, update=_IZHIKEVICH_CODE[consistent_integration],
        threshold="V_m >= V_th", reset="V_m = c;\nU_m = U_m + d;", ports=("syn",),
        validate=_RangeCheck("Izhikevich"), units={"V_m": "mV", "U_m": "mV/ms"})


_COND_DEFAULTS = dict(V_th=-55.0, V_reset=-60.0, t_ref=2.0, g_L=16.6667, C_m=250.0,
                      E_ex=0.0, E_in=-85.0, E_L=-70.0, tau_syn_ex=0.2, tau_syn_in=2.0, I_e=0.0)
# RK4 substeps of V: each at most this fraction of the shortest time constant.
# At dt = 0.1 ms and NEST's defaults (tau_syn_ex = 0.2 ms: 2 substeps), V stays
# within 2.4e-6 mV of a tight reference through spikes (tests/test_models.py);
# 1/20 (10 substeps) gives 4e-9, one substep 4e-5.  NEST's own adaptive RKF45
# works to an absolute tolerance of 1e-3.
_COND_SUBSTEP = 0.25


@dataclass(frozen=True)
class _CondDerived:
    """The conductance LIF's constants (picklable, for checkpoints)."""

    synapse: str = "exp"

    def __call__(self, p: dict, dt: float) -> dict:
        tau = min(p["tau_syn_ex"], p["tau_syn_in"], p["C_m"] / p["g_L"])
        n = max(1, int(math.ceil(dt / (_COND_SUBSTEP * tau) - 1e-9)))
        h = dt / n
        out = {"n_sub": float(n), "h_sub": h}
        for ch in ("ex", "in"):
            tau_s = p[f"tau_syn_{ch}"]
            out.update({f"P{ch}": math.exp(-h / tau_s), f"P{ch}2": math.exp(-0.5 * h / tau_s),
                        f"D{ch}": math.exp(-dt / tau_s)})
            if self.synapse == "alpha":  # a spike's jump of dg: g peaks at w after tau
                out[f"psc0{ch}"] = math.e / tau_s
        return out


# V by RK4 in n_sub substeps, the conductances exact at the substeps' ends and
# midpoints; exp: g(s) = g e^(-s/tau); alpha: g(s) = (g + dg s) e^(-s/tau),
# dg(s) = dg e^(-s/tau).  Then the conductances over the whole step, and the
# step's input added at its end (as NEST does).
_COND_DV = "(-g_L * ({v} - E_L) - {ge} * ({v} - E_ex) - {gi} * ({v} - E_in) + I_e) / C_m"
_COND_STEP = {
    "exp": ("scalar v = V_m, ge = g_ex, gi = g_in;",
            "const scalar ge2 = ge * Pex2, gi2 = gi * Pin2, ge1 = ge * Pex, gi1 = gi * Pin;",
            "ge = ge1;\n        gi = gi1;",
            "g_ex = g_ex * Dex + in_exc;\ng_in = g_in * Din - in_inh;"),
    "alpha": ("scalar v = V_m, ge = g_ex, gi = g_in, dge = dg_ex, dgi = dg_in;",
              "const scalar ge2 = (ge + dge * 0.5 * h_sub) * Pex2, "
              "gi2 = (gi + dgi * 0.5 * h_sub) * Pin2;\n"
              "        const scalar ge1 = (ge + dge * h_sub) * Pex, "
              "gi1 = (gi + dgi * h_sub) * Pin;",
              "ge = ge1;\n        gi = gi1;\n        dge = dge * Pex;\n        dgi = dgi * Pin;",
              "g_ex = (g_ex + dg_ex * dt) * Dex;\ng_in = (g_in + dg_in * dt) * Din;\n"
              "dg_ex = dg_ex * Dex + psc0ex * in_exc;\ndg_in = dg_in * Din - psc0in * in_inh;"),
}


def _cond_code(synapse: str) -> str:
    start, mids, advance, after = _COND_STEP[synapse]
    f = _COND_DV.format
    return "\n".join([
        "if (!refractory) {",
        f"    {start}",
        "    for (int k = 0; k < (int)n_sub; ++k) {",
        f"        {mids}",
        f"        const scalar k1 = {f(v='v', ge='ge', gi='gi')};",
        "        const scalar v2 = v + 0.5 * h_sub * k1;",
        f"        const scalar k2 = {f(v='v2', ge='ge2', gi='gi2')};",
        "        const scalar v3 = v + 0.5 * h_sub * k2;",
        f"        const scalar k3 = {f(v='v3', ge='ge2', gi='gi2')};",
        "        const scalar v4 = v + h_sub * k3;",
        f"        const scalar k4 = {f(v='v4', ge='ge1', gi='gi1')};",
        "        v = v + h_sub / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);",
        f"        {advance}",
        "    }",
        "    V_m = v;",
        "}",
        after])


def CondLIF(synapse: str = "exp", **params) -> NeuronModel:
    r"""Leaky integrate-and-fire neuron with conductance synapses, NEST's
    ``iaf_cond_exp`` and ``iaf_cond_alpha``.

    .. math:: C_m \dot V = -g_L (V - E_L) - g_{ex} (V - E_{ex}) - g_{in} (V - E_{in}) + I_e

    synapse : {"exp", "alpha"}
        ``exp``: a spike of weight w makes g jump by |w| and decay with
        tau_syn (``iaf_cond_exp``); ``alpha``: g is an alpha function
        peaking at |w| after tau_syn (``iaf_cond_alpha``; state ``dg_ex``,
        ``dg_in`` besides).

    Parameters (NEST's names and defaults): ``V_th``, ``V_reset``, ``E_L``,
    ``E_ex``, ``E_in`` [mV], ``t_ref``, ``tau_syn_ex``, ``tau_syn_in``
    [ms], ``g_L`` [nS], ``C_m`` [pF], ``I_e`` [pA].  Weights are
    conductances [nS] with NEST's sign: positive onto ``exc``, negative onto
    ``inh``, the port chosen by the sign unless named.  Within a step the
    conductances follow their exact solution and V is integrated by RK4 in
    substeps of at most 1/4 of the shortest time constant (NEST integrates
    with adaptive RKF45 to 1e-3); a spike arriving in a step acts at its
    end, as in NEST.  While refractory V is held at ``V_reset`` and the
    conductances go on.

    >>> CondLIF(E_in=-80.0).params["E_in"]
    -80.0
    """
    if synapse not in _COND_STEP:
        raise ValueError(f"CondLIF: synapse must be one of {sorted(_COND_STEP)}, "
                         f"got {synapse!r}")
    p = _checked(f"CondLIF({synapse})", _COND_DEFAULTS, params)
    state = {"V_m": "E_L", "g_ex": 0.0, "g_in": 0.0}
    units = {"V_m": "mV", "g_ex": "nS", "g_in": "nS"}
    if synapse == "alpha":
        state.update(dg_ex=0.0, dg_in=0.0)
        units.update(dg_ex="nS/ms", dg_in="nS/ms")
    return NeuronModel(
        name=f"lif_cond_{synapse}", params=p, state=state, update=_cond_code(synapse),
        threshold="V_m >= V_th", reset="V_m = V_reset;", ports=("exc", "inh"),
        refractory="t_ref", derived=_CondDerived(synapse),
        validate=_RangeCheck("CondLIF"), units=units, synapses="conductance")


def PoissonSource(rate: float = 10.0, start: float = 0.0, stop: float | None = None
                  ) -> NeuronModel:
    """Neurons that spike as independent Poisson processes at ``rate`` [spikes/s],
    in the steps that begin in ``[start, stop)`` [ms] (``stop=None``: for ever).

    >>> PoissonSource(rate=8.0).params["rate"]
    8.0
    """
    given = {"rate": rate, "start": start, "stop": NEVER if stop is None else stop}
    p = _checked("PoissonSource", {"rate": 10.0, "start": 0.0, "stop": NEVER}, given)
    if not p["stop"] >= p["start"]:
        raise ValueError(f"PoissonSource: stop must be >= start, got start={p['start']}, "
                         f"stop={p['stop']}")
    return NeuronModel(
        name="poisson_source", params=p, state={},
        threshold="t >= start && t < stop && uniform() < p_spike",
        derived=_poisson_derived, validate=_RangeCheck("PoissonSource"))


def SpikeSourceArray(spike_times) -> NeuronModel:
    """Neurons that spike at given times [ms].

    spike_times : sequence of sequences of float
        One sequence of times per neuron (the population size must match).
        A time t is emitted in the step ``round(t / dt) - 1`` (the spike is
        stamped at the end of its step, like NEST).

    >>> SpikeSourceArray([[1.0, 2.5], []]).extra["n"]
    2
    """
    if isinstance(spike_times, (str, bytes)) or not hasattr(spike_times, "__iter__"):
        raise TypeError(f"SpikeSourceArray: spike_times must be a sequence of sequences of "
                        f"times [ms], one per neuron, got {spike_times!r}")
    times = []
    for k, t in enumerate(spike_times):
        try:
            times.append(np.asarray(t, dtype=np.float64).ravel())
        except (TypeError, ValueError):
            raise TypeError(f"SpikeSourceArray: the times of neuron {k} must be numbers "
                            f"[ms], got {t!r}") from None
    for k, t in enumerate(times):
        if t.size and not np.all(np.isfinite(t)):
            raise ValueError(f"SpikeSourceArray: times of neuron {k} are not all finite")
        if t.size and t.min() <= 0:
            raise ValueError(f"SpikeSourceArray: times must be > 0 ms (neuron {k})")
    return NeuronModel(name="spike_source_array", params={}, state={},
                       kind="spike_source_array", extra={"times": times, "n": len(times)})
