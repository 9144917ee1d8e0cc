"""The declarative description of a network: populations, projections, inputs.

A :class:`Network` holds no arrays and knows nothing about targets; a
:class:`~snnlab.Simulation` builds it.  Every argument is checked here, when it
is given, so a mistake is reported before anything is allocated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .checks import finite, warn_off_grid
from .connectivity import Connector, FromList
from .distributions import Distribution, Normal, Uniform, Values, as_dist
from .models import NeuronModel
from .plasticity import Plasticity, Rewiring, TsodyksMarkram

__all__ = ["Network", "Population", "Projection", "PoissonInput"]

MAX_NEURONS = 2**31 - 1


@dataclass(frozen=True)
class Population:
    name: str
    model: NeuronModel
    n: int
    index: int

    def __len__(self) -> int:
        return self.n


@dataclass(frozen=True)
class Projection:
    name: str
    pre: Population
    post: Population
    connector: Connector
    weight: Distribution
    delay: Distribution
    port: int
    index: int
    plasticity: Plasticity | None = None
    rewiring: Rewiring | None = None
    short_term: TsodyksMarkram | None = None

    @property
    def receptor(self) -> str:
        return self.post.model.ports[self.port]


@dataclass(frozen=True)
class PoissonInput:
    """Independent Poisson spike trains into each neuron of ``target``.

    ``rate`` [spikes/s] per neuron; each spike adds ``weight`` to the chosen
    port.  The description is fixed; a running simulation changes its copy
    (``Simulation.set_input``, ``Simulation.input_values``)."""

    name: str
    target: Population
    rate: float
    weight: float
    port: int
    index: int


@dataclass
class Network:
    """A network description.

    Parameters
    ----------
    dt : float
        Time step [ms].

    >>> import snnlab as sl
    >>> net = sl.Network(dt=0.1)
    >>> exc = net.population("exc", sl.models.LIF(), 100)
    >>> net.connect(exc, exc, sl.connect.FixedIndegree(10), weight=0.1, delay=1.5).receptor
    'syn'
    """

    dt: float = 0.1
    populations: dict[str, Population] = field(default_factory=dict)
    projections: dict[str, Projection] = field(default_factory=dict)
    inputs: dict[str, PoissonInput] = field(default_factory=dict)
    dc: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        self.dt = finite("dt", self.dt)
        if self.dt <= 0:
            raise ValueError(f"dt must be > 0 ms, got {self.dt}")

    # -- populations -----------------------------------------------------
    def population(self, name: str, model: NeuronModel, n: int) -> Population:
        """Add ``n`` neurons of ``model`` called ``name``."""
        _check_name("population name", name, self.populations)
        if not isinstance(model, NeuronModel):
            raise TypeError(f"population {name!r}: model must be a NeuronModel (e.g. "
                            f"snnlab.models.LIF()), got {type(model).__name__}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"population {name!r}: n must be an integer, got {n!r}")
        n = int(n)
        if not 0 < n <= MAX_NEURONS:
            raise ValueError(f"population {name!r}: n must be in [1, {MAX_NEURONS}], got {n}")
        if model.kind == "spike_source_array" and model.extra["n"] != n:
            raise ValueError(f"population {name!r}: SpikeSourceArray has times for "
                             f"{model.extra['n']} neurons, not n={n}")
        for var, init in model.state.items():
            if isinstance(init, Values) and init.values.size != n:
                what = "values" if var in getattr(model.derived, "names", ()) else \
                    "initial values"
                raise ValueError(f"population {name!r}: the {what} of {var!r} are "
                                 f"given for {init.values.size} neurons, not n={n}")
        pop = Population(name, model, n, len(self.populations))
        self.populations[name] = pop
        return pop

    def _pop(self, what: str, pop) -> Population:
        if isinstance(pop, str):
            if pop not in self.populations:
                raise KeyError(f"{what}: no population {pop!r}; have {sorted(self.populations)}")
            return self.populations[pop]
        if not isinstance(pop, Population) or self.populations.get(pop.name) is not pop:
            raise ValueError(f"{what} must be a population of this network")
        return pop

    # -- projections -----------------------------------------------------
    def connect(self, pre, post, connector: Connector, weight, delay=1.0,
                receptor: str | None = None, name: str | None = None,
                plasticity: Plasticity | None = None,
                rewiring: Rewiring | None = None,
                short_term: TsodyksMarkram | None = None) -> Projection:
        """Connect ``pre`` to ``post``.

        weight : float or Distribution
            Per synapse, in the unit of the target port (mV for delta
            synapses, pA for current synapses).
        delay : float or Distribution
            [ms], at least ``dt``; distributions must have ``low >= dt``.
        receptor : str, optional
            Port of the target model; by default ``exc`` for a positive mean
            weight and ``inh`` for a negative one (or the model's only port).
        plasticity : Plasticity, optional
            A rule that changes the weights while the network runs (e.g.
            :class:`snnlab.plasticity.PowerLawSTDP`); the projection then keeps
            a weight per synapse.
        rewiring : Rewiring, optional
            Structural plasticity: a rule that removes and creates synapses
            every ``period`` ms (:mod:`snnlab.plasticity.rewiring`).
        short_term : TsodyksMarkram, optional
            Short-term plasticity: each synapse depresses and facilitates
            (:mod:`snnlab.plasticity.short_term`); not with ``plasticity``
            or ``rewiring``.
        """
        pre = self._pop("pre", pre)
        post = self._pop("post", post)
        name = name or f"{pre.name}->{post.name}"
        _check_name("projection name", name, self.projections)
        if not isinstance(connector, Connector):
            raise TypeError(f"projection {name!r}: connector must be a snnlab.connect rule "
                            f"(e.g. FixedIndegree(100)), got {connector!r}")
        connector.check(pre.n, post.n)
        w = as_dist(f"projection {name!r}: weight", weight)
        d = as_dist(f"projection {name!r}: delay", delay)
        for what, v in (("weight", w), ("delay", d)):
            if not isinstance(v, Values):
                continue
            if not isinstance(connector, FromList):
                raise ValueError(f"projection {name!r}: a {what} per synapse (Values) needs a "
                                 f"FromList connector, got {connector!r}")
            if v.values.size != connector.pre.size:
                raise ValueError(f"projection {name!r}: {what} has {v.values.size} values for "
                                 f"{connector.pre.size} synapses")
        lo, _hi = d.bounds()
        if lo < self.dt * (1 - 1e-9):
            if isinstance(d, (Normal, Uniform)):
                raise ValueError(f"projection {name!r}: the delay distribution must be bounded "
                                 f"below by dt={self.dt} ms (low >= dt), got low={lo}")
            raise ValueError(f"projection {name!r}: delay must be >= dt={self.dt} ms, "
                             f"got {lo}")
        if isinstance(d, Values):  # the first value off the grid, if any
            off = np.abs(d.values / self.dt - np.round(d.values / self.dt)) > 1e-6
            if off.any():
                warn_off_grid(f"projection {name!r}: delay", float(d.values[off][0]), self.dt)
        elif not isinstance(d, (Normal, Uniform)):  # (drawn delays round synapse by synapse)
            warn_off_grid(f"projection {name!r}: delay", lo, self.dt)
        if self.delay_steps(d) > 65535:
            raise ValueError(f"projection {name!r}: delay of {self.delay_steps(d)} steps "
                             "exceeds the maximum of 65535")
        port = _port(f"projection {name!r}", post.model, receptor, w.mean)
        _check_sign(f"projection {name!r}", post.model, receptor, w)
        if plasticity is not None:
            if not isinstance(plasticity, Plasticity):
                raise TypeError(f"projection {name!r}: plasticity must be a snnlab.plasticity "
                                f"rule (e.g. PowerLawSTDP()), got {plasticity!r}")
            plasticity.check(name, w.bounds())
            plasticity.dendritic_steps(self.dt, name)
        if rewiring is not None:
            self._check_rewiring(name, post, rewiring)
        if short_term is not None:
            if not isinstance(short_term, TsodyksMarkram):
                raise TypeError(f"projection {name!r}: short_term must be a "
                                f"snnlab.plasticity.TsodyksMarkram, got {short_term!r}")
            if plasticity is not None or rewiring is not None:
                raise NotImplementedError(f"projection {name!r}: short-term plasticity with "
                                          "STDP or rewiring on one projection")
            short_term.tau_psc_of(f"projection {name!r}", post.model, post.model.ports[port],
                                  post.n)
        proj = Projection(name, pre, post, connector, w, d, port, len(self.projections),
                          plasticity, rewiring, short_term)
        self.projections[name] = proj
        return proj

    def _check_rewiring(self, name: str, post: Population, rewiring) -> None:
        if not isinstance(rewiring, Rewiring):
            raise TypeError(f"projection {name!r}: rewiring must be a "
                            f"snnlab.plasticity.Rewiring, got {rewiring!r}")
        rewiring.period_steps(self.dt, f"projection {name!r}: rewiring")
        if rewiring.max_in_degree is None:
            return
        for other in self.projections.values():
            r = other.rewiring
            if other.post is post and r is not None and r.max_in_degree is not None and (
                    r.max_in_degree != rewiring.max_in_degree or r.period != rewiring.period):
                raise ValueError(
                    f"projection {name!r}: rewired projections onto {post.name!r} share one "
                    f"maximum in-degree and period; {other.name!r} has max_in_degree="
                    f"{r.max_in_degree}, period={r.period}, this one "
                    f"{rewiring.max_in_degree}, {rewiring.period}")

    def first_ids(self) -> dict[str, int]:
        """Each population's first neuron id across the network (populations
        in the order they were added): the global ids of digests and exports."""
        out, n = {}, 0
        for name, pop in self.populations.items():
            out[name], n = n, n + pop.n
        return out

    def delay_steps(self, d: Distribution) -> int:
        """Largest delay in steps a distribution can produce."""
        hi = d.bounds()[1]
        if isinstance(d, Normal) and not math.isfinite(hi):
            hi = d.mean + 8.0 * d.sd
        return max(1, int(round(hi / self.dt)))

    # -- inputs ----------------------------------------------------------
    def poisson_input(self, target, rate: float, weight: float, receptor: str | None = None,
                      name: str | None = None) -> PoissonInput:
        """Drive every neuron of ``target`` with its own Poisson spike train.

        rate : float
            [spikes/s] per neuron (e.g. ``eta * nu_th * C_E`` in Brunel 2000).
        weight : float
            Added per spike to the port (mV for delta synapses, pA otherwise).
        """
        target = self._pop("target", target)
        name = name or f"poisson->{target.name}"
        _check_name("input name", name, self.inputs)
        rate = finite(f"input {name!r}: rate", rate)
        if rate < 0:
            raise ValueError(f"input {name!r}: rate must be >= 0 spikes/s, got {rate}")
        weight = finite(f"input {name!r}: weight", weight)
        port = _port(f"input {name!r}", target.model, receptor, weight)
        _check_sign(f"input {name!r}", target.model, receptor, as_dist("weight", weight))
        inp = PoissonInput(name, target, rate, weight, port, len(self.inputs))
        self.inputs[name] = inp
        return inp

    def dc_input(self, target, amplitude: float) -> None:
        """A constant current [pA] into every neuron of ``target``; it adds to
        the model's ``I_e`` parameter, changeable while running
        (``Simulation.set_param(pop, "I_e", ...)``)."""
        target = self._pop("target", target)
        amplitude = finite("amplitude", amplitude)
        if isinstance(target.model.state.get("I_e"), Values):
            raise ValueError(f"dc_input: I_e of {target.name!r} differs between its neurons "
                             "(per_neuron): give each neuron's in the model")
        if "I_e" not in target.model.params:
            raise ValueError(f"dc_input: model {target.model.name!r} has no I_e parameter")
        self.dc[target.name] = self.dc.get(target.name, 0.0) + amplitude

    def params(self, pop: Population) -> dict[str, float]:
        """The parameters a population is built with (model values plus DC)."""
        p = dict(pop.model.params)
        if pop.name in self.dc:
            p["I_e"] += self.dc[pop.name]
        return p

    @property
    def n_neurons(self) -> int:
        return sum(p.n for p in self.populations.values())


def _check_name(what: str, name, existing) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty string, got {name!r}")
    if name in existing:
        raise ValueError(f"{what} {name!r} is already used")


def _check_sign(what: str, model: NeuronModel, receptor, w: Distribution) -> None:
    """The weights' sign against the model's meaning of it
    (:attr:`NeuronModel.synapses`).  On current synapses the sign makes the
    current (NEST's convention): a receptor named against it is warned, since
    a positive weight on ``inh`` excites (a habit from Brian2, where an
    inhibitory synapse subtracts a positive weight: the network then fires
    many times too fast).  On conductance synapses the magnitude is the
    conductance and the sign the receptor: named against it, or both signs
    in one projection, is refused."""
    import warnings

    mean, (lo, hi) = w.mean, w.bounds()
    if model.synapses == "conductance" and lo < 0 < hi:
        raise ValueError(f"{what}: weights onto {model.name!r} are conductances of one sign "
                         f"per projection (positive: 'exc', negative: 'inh'), got bounds "
                         f"{(lo, hi)}: bound the distribution away from 0")
    against = (receptor == "inh" and mean > 0) or (receptor == "exc" and mean < 0)
    if not against:
        return
    if model.synapses == "conductance":
        raise ValueError(f"{what}: receptor {receptor!r} with a mean weight of {mean:g}: on "
                         f"{model.name!r} a weight's magnitude is the conductance [nS] and its "
                         f"sign the receptor, as in NEST: weights onto 'exc' are positive, "
                         f"onto 'inh' negative")
    if model.synapses == "current":
        warnings.warn(f"{what}: receptor {receptor!r} with a mean weight of {mean:g}: on "
                      f"{model.name!r} the weight's sign makes the current (as in NEST), so "
                      f"these synapses {'excite' if mean > 0 else 'inhibit'}; give the weight "
                      f"the sign of its effect", stacklevel=3)


def _port(what: str, model: NeuronModel, receptor, mean_weight: float) -> int:
    if not model.ports:
        raise ValueError(f"{what}: model {model.name!r} takes no synaptic input")
    if receptor is None:
        if "exc" in model.ports and "inh" in model.ports:
            receptor = "exc" if mean_weight >= 0 else "inh"
        else:
            receptor = model.ports[0]
    if receptor not in model.ports:
        raise ValueError(f"{what}: receptor must be one of {list(model.ports)}, got {receptor!r}")
    return model.ports.index(receptor)
