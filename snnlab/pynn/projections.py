"""Projections: PyNN's connectors draw the connections (with PyNN's own random
numbers, as on every backend); they are kept as lists and become one
snnlab ``FromList`` projection with a weight and a delay per synapse at
the first run."""

from __future__ import annotations

import numpy as np
from pyNN import common
from pyNN.space import Space

from . import simulator
from .simulator import check_homogeneous
from .standardmodels import StaticSynapse, STDPMechanism, TsodyksMarkramSynapse, transform


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse
    # STDP weights read with the potentiation owed since each source's last
    # spike applied (True), or as NEST stores them, without it (False)
    settle_weights = True

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=None,
                 label=None):
        simulator.state.check_unbuilt("creating a projection")
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type,
                                   Space() if space is None else space, label)
        if not isinstance(self.synapse_type,
                          (StaticSynapse, STDPMechanism, TsodyksMarkramSynapse)):
            raise NotImplementedError(f"snnlab.pynn: synapse type "
                                      f"{type(self.synapse_type).__name__} is not supported yet "
                                      "(StaticSynapse, STDPMechanism and TsodyksMarkramSynapse "
                                      "are)")
        kinds = {type(_base(p).celltype) for p in _parts_of(self.post)}
        if len(kinds) > 1:
            raise NotImplementedError(f"snnlab.pynn: a postsynaptic Assembly of several cell "
                                      f"types ({sorted(k.__name__ for k in kinds)})")
        self._pre, self._post, self._weight, self._delay = [], [], [], []
        self._other = {}  # the synapse type's other parameters, per connection (native)
        self.sl_name = f"prj{len(simulator.state.projections)}"
        self._parts = []  # (snnlab projection, pre base, post base), made at the first run
        connector.connect(self)
        simulator.state.projections.append(self)

    def __len__(self):
        return sum(len(p) for p in self._pre)

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        if location_selector is not None:
            raise NotImplementedError("snnlab.pynn: multicompartment models are not supported")
        pre = np.asarray(presynaptic_indices, np.int64).ravel()
        n = pre.size
        self._pre.append(pre)
        self._post.append(np.full(n, int(postsynaptic_index), np.int64))
        for key, out in (("weight", self._weight), ("delay", self._delay)):
            out.append(np.broadcast_to(np.asarray(connection_parameters[key], np.float64),
                                       (n,)).copy())
        for key, v in connection_parameters.items():
            if key not in ("weight", "delay"):
                self._other.setdefault(key, []).append(np.asarray(v, np.float64).ravel())

    def _lists(self):
        def cat(a, t):
            return np.concatenate(a) if a else np.empty(0, t)
        return (cat(self._pre, np.int64), cat(self._post, np.int64),
                cat(self._weight, np.float64), cat(self._delay, np.float64))

    def _add_to(self, net):
        """One snnlab FromList projection for each pair of populations the
        ends' cells belong to (one, unless an end is an Assembly)."""
        import snnlab as sl

        pre, post, w, d = self._lists()
        self._ends = _cells(self.pre), _cells(self.post)  # (fixed once built)
        (pre_b, pre_k, pre_i), (post_b, post_k, post_i) = self._ends
        ct = self._post_celltype
        if self.receptor_type not in ("excitatory", "inhibitory"):
            raise NotImplementedError(f"snnlab.pynn: receptor type {self.receptor_type!r}; "
                                      "snnlab's standard cells have 'excitatory' and "
                                      "'inhibitory'")
        inh = self.receptor_type == "inhibitory"
        receptor = None if ct.synapse == "delta" else ("inh" if inh else "exc")  # (delta: sign)
        pairs = sorted(set(zip(pre_k[pre].tolist(), post_k[post].tolist()))) or [(0, 0)]
        short_term = self._short_term()  # (one rule, shared by the parts)
        for a, b in pairs:
            sel = (pre_k[pre] == a) & (post_k[post] == b)
            name = self.sl_name if len(pairs) == 1 else f"{self.sl_name}_{a}_{b}"
            net.connect(pre_b[a].sl_name, post_b[b].sl_name,
                        sl.connect.FromList(pre_i[pre[sel]], post_i[post[sel]]),
                        weight=sl.Values(self._native_to_snnlab(w[sel])),
                        delay=sl.Values(d[sel]), receptor=receptor, name=name,
                        plasticity=self._plasticity(d), short_term=short_term)
            self._parts.append((name, a, b))

    @property
    def _post_celltype(self):
        return _base(_parts_of(self.post)[0]).celltype

    def _plasticity(self, delays):
        """STDPMechanism as snnlab's STDP with NEST's conventions, as pyNN.nest
        runs it (stdp_synapse): the whole delay dendritic, no pair within a
        step; A_plus and A_minus scale w_max (additive) or the distance to
        the bound (multiplicative)."""
        st = self.synapse_type
        if not isinstance(st, STDPMechanism):
            return None
        from snnlab.plasticity import STDP

        if self._post_celltype.conductance_based and self.receptor_type == "inhibitory":
            raise NotImplementedError("snnlab.pynn: STDP on inhibitory conductances is not "
                                      "supported yet")
        ps = st.native_parameters
        ps.shape = (1,)
        ps.evaluate(simplify=False)
        p = {k: check_homogeneous(self.label, k, v, among="synapses") for k, v in ps.items()
             if k not in ("weight", "delay")}
        delay = check_homogeneous(self.label, "delay", delays, among="synapses")
        scale = self._scale() / 1000.0  # (w_min, w_max translated x 1000)
        w_min, w_max = p["w_min"] * scale, p["w_max"] * scale
        rule = st.weight_dependence.rule
        a_plus, a_minus = p["A_plus"], p["A_minus"]
        if rule == "additive":
            a_plus, a_minus = a_plus * w_max, a_minus * w_max
        return STDP(a_plus=a_plus, a_minus=a_minus, tau_plus=p["tau_plus"],
                    tau_minus=p["tau_minus"], w_min=w_min, w_max=w_max, rule=rule,
                    pairing="all_to_all", dendritic_delay=delay, same_step="drop")

    def _short_term(self):
        """TsodyksMarkramSynapse as snnlab's TsodyksMarkram, as pyNN.nest runs
        it (tsodyks_synapse, tau_psc the target's synaptic time constant on
        the receptor); its U, tau_rec and tau_facil shared by the projection's
        synapses."""
        if not isinstance(self.synapse_type, TsodyksMarkramSynapse):
            return None
        from snnlab.plasticity import TsodyksMarkram

        p = {k: check_homogeneous(self.label, k, np.concatenate(self._other[k])
                                  if self._other.get(k) else [d], among="synapses")
             for k, d in (("U", 0.5), ("tau_rec", 100.0), ("tau_fac", 0.0))}
        return TsodyksMarkram(**p)

    # -- reading back -------------------------------------------------------------
    def _connection_lists(self):
        """(pre, post, weight, delay) in PyNN's units, from the running
        simulation where there is one."""
        sim = simulator.state.sim
        if sim is None:
            pre, post, w, d = self._lists()
            w = w / 1000.0 * self._scale()  # (translated: x 1000)
        else:
            parts = [self._part(k, settle=self.settle_weights) for k in range(len(self._parts))]
            pre, post, w, d = (np.concatenate([p[c] for p in parts]) for c in range(4))
            if self._post_celltype.conductance_based and self.receptor_type == "inhibitory":
                w = -w
        return pre, post, w / self._scale(), d

    def _part(self, k, settle=True):
        """(pre, post, weight, delay) of the k-th snnlab projection, the
        indices those of the projection's ends, the weights snnlab's."""
        name, a, b = self._parts[k]
        c = simulator.state.sim.connectivity(name, settle=settle)
        return (_in_end(self._ends[0], a, c["pre"]), _in_end(self._ends[1], b, c["post"]),
                c["weight"].astype(np.float64), c["delay"])

    def _scale(self) -> float:
        """snnlab's weight per PyNN weight: pA per nA, nS per uS; delta
        synapses take mV in both."""
        return 1.0 if self._post_celltype.synapse == "delta" else 1000.0


    def _columns(self, names) -> dict:
        """Per connection: indices, weight and delay, and the synapse
        type's other parameters (one value for all: STDP's A_plus, tau_plus,
        w_max...), in PyNN's units, by native name."""
        pre, post, w, d = self._connection_lists()
        cols = {"presynaptic_index": pre, "postsynaptic_index": post, "weight": w,
                "weights": w, "delay": d, "delays": d}
        others = [n for n in names if n not in cols]
        if not others:
            return cols
        for n in others:  # as each connection was made (its order before the first run)
            v = np.concatenate(self._other[n]) if self._other.get(n) else np.empty(0)
            tr = next(((k, t) for k, t in self.synapse_type.translations.items()
                       if t["translated_name"] == n), None)
            if tr is not None and v.size:  # (native: in PyNN's units)
                v = np.asarray(transform(tr[1], tr[0], v, reverse=True), np.float64)
            if simulator.state.sim is None and v.size == pre.size:
                cols[n] = v
            elif v.size and np.all(v == v[0]):  # (shared: differing ones refuse to build)
                cols[n] = np.full(pre.size, v[0])
        others = [n for n in others if n not in cols]
        if others:
            ps = self.synapse_type.native_parameters  # (a new one: evaluated here)
            ps.shape = (1,)
            ps.evaluate(simplify=True)
            for n in others:
                if n not in ps.keys() or np.ndim(ps[n]) > 0:
                    raise NotImplementedError(f"snnlab.pynn: attribute {n!r}; available: "
                                              f"{sorted({*cols, *ps.keys()})}")
                cols[n] = np.full(pre.size, float(ps[n]))
        return cols

    def _get_attributes_as_list(self, names):
        cols = self._columns(names)
        return list(zip(*(cols[n].tolist() for n in names)))

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        if multiple_synapses not in ("sum", "min", "max", "first", "last"):
            raise ValueError(f"multiple_synapses must be one of 'sum', 'min', 'max', 'first', "
                             f"'last', got {multiple_synapses!r}")
        cols = self._columns(names)
        shape = (self.pre.size, self.post.size)
        cell = (np.asarray(cols["presynaptic_index"], np.int64) * shape[1]
                + np.asarray(cols["postsynaptic_index"], np.int64))  # (pre, post) as one index
        out = []
        for name in names:
            values = np.asarray(cols[name], np.float64)
            a = np.full(shape[0] * shape[1], np.nan)
            if multiple_synapses in ("first", "last"):  # the first (last) synapse of each pair
                order = slice(None) if multiple_synapses == "first" else slice(None, None, -1)
                _, at = np.unique(cell[order], return_index=True)
                a[cell[order][at]] = values[order][at]
            else:
                ufunc = {"sum": np.add, "min": np.minimum, "max": np.maximum}[multiple_synapses]
                acc = np.full_like(a, {"sum": 0.0, "min": np.inf, "max": -np.inf}[
                    multiple_synapses])
                ufunc.at(acc, cell, values)
                a[cell] = acc[cell]
            out.append(a.reshape(shape))
        return out

    def _set_attributes(self, parameter_space):
        """Projection.set: weights; delays and the synapse type's other
        parameters (U, tau_rec...) before the first run (native units, a
        value per (pre, post) pair of the projection's ends)."""
        parameter_space.evaluate(simplify=False)
        values = dict(parameter_space.items())
        # (STDP's parameters are the rule's, read from the synapse type at the build)
        settable = sorted(self._other) if isinstance(self.synapse_type,
                                                     TsodyksMarkramSynapse) else []
        for name in values:
            if name not in ("weight", "delay", *settable):
                can = ", ".join(["weight", "delay", *settable])
                raise NotImplementedError(f"snnlab.pynn: setting {name!r} of a projection "
                                          f"(can be set: {can})")
        sim = simulator.state.sim
        if sim is not None and set(values) - {"weight"}:
            raise NotImplementedError(f"snnlab.pynn: setting {sorted(set(values) - {'weight'})} "
                                      "of a projection after the first run (weights can be)")
        if sim is None:
            pre, post = np.concatenate(self._pre), np.concatenate(self._post)
            lists = {"weight": self._weight, "delay": self._delay, **self._other}
            for out in lists.values():  # (every list flattened alike, as pre and post)
                if len(out) > 1:
                    out[:] = [np.concatenate(out)]
            for name, new in values.items():
                lists[name][:] = [np.broadcast_to(np.asarray(new, np.float64),
                                                  (self.pre.size, self.post.size))[pre, post]]
            self._pre[:], self._post[:] = [pre], [post]
            return
        for k, (name, _, _) in enumerate(self._parts):
            i, j, _, _ = self._part(k, settle=False)
            sim.set_weight(name, self._native_to_snnlab(
                np.asarray(values["weight"], np.float64)[i, j]))

    def _native_to_snnlab(self, w):
        """PyNN's native weights (x 1000) as snnlab's (pA, nS, mV; an
        inhibitory conductance negative, as NEST keeps it)."""
        w = w / 1000.0 * self._scale()
        if self._post_celltype.conductance_based and self.receptor_type == "inhibitory":
            w = -w
        return w

    @property
    def connections(self):
        """The connections one by one (weight and delay read and set), in
        the order of ``get(..., format="list")``; the lists are read once
        for all of them, and kept up to date by their own edits."""
        cache = {}
        return (_Connection(self, k, cache) for k in range(len(self)))


class _Connection(common.Connection):
    """One connection of a projection: its weight and delay in PyNN's units."""

    def __init__(self, projection, k, cache=None):
        self.projection, self.k = projection, k
        self._cache = {} if cache is None else cache  # shared by one `connections`

    def _column(self, col):
        if "lists" not in self._cache:
            self._cache["lists"] = self.projection._connection_lists()
        return float(self._cache["lists"][col][self.k])

    @property
    def presynaptic_index(self):
        return int(self._column(0))

    @property
    def postsynaptic_index(self):
        return int(self._column(1))

    @property
    def weight(self):
        return self._column(2)

    @weight.setter
    def weight(self, value):
        self._set("weight", value)

    @property
    def delay(self):
        return self._column(3)

    @delay.setter
    def delay(self, value):
        self._set("delay", value)

    def _set(self, name, value):
        self._cache.pop("lists", None)
        prj, sim = self.projection, simulator.state.sim
        if sim is None:
            lists = prj._weight if name == "weight" else prj._delay
            flat = np.concatenate(lists)
            flat[self.k] = value * (1000.0 if name == "weight" else 1.0)  # (native: x 1000)
            lists[:] = [flat]
            prj._pre[:], prj._post[:] = [np.concatenate(prj._pre)], [np.concatenate(prj._post)]
            return
        if name == "delay":
            raise NotImplementedError("snnlab.pynn: setting delays after the first run")
        k = self.k
        for part, (part_name, _, _) in enumerate(prj._parts):  # (the part that holds it)
            w = prj._part(part, settle=True)[2]  # (set_weight settles the rest first)
            if k < w.size:
                w[k] = prj._native_to_snnlab(np.float64(value) * 1000.0)
                sim.set_weight(part_name, w)
                return
            k -= w.size


def _parts_of(end):
    """The populations and views an end is made of (an Assembly's members)."""
    return list(end.populations) if isinstance(end, common.Assembly) else [end]


def _cells(end):
    """Where each cell of an end lives: (the populations, each cell's
    population among them, its index there)."""
    bases, which, idx = [], [], []
    for part in _parts_of(end):
        base = _base(part)
        k = next((i for i, b in enumerate(bases) if b is base), len(bases))
        if k == len(bases):
            bases.append(base)
        which.append(np.full(part.size, k, np.int64))
        idx.append(np.asarray(_in_base(part, np.arange(part.size)), np.int64))
    return bases, np.concatenate(which), np.concatenate(idx)


def _in_end(cells, k, idx):
    """Indices in the k-th population of an end (its ``_cells``) as indices
    in the end (a cell there more than once: its first place)."""
    bases, which, where = cells
    lookup = np.full(bases[k].size, -1, np.int64)
    mine = np.flatnonzero(which == k)[::-1]  # (reversed: the first place written last)
    lookup[where[mine]] = mine
    return lookup[np.asarray(idx, np.int64)]


def _base(pop):
    """The population a view belongs to (a population is its own)."""
    return pop.grandparent if isinstance(pop, common.PopulationView) else pop


def _in_base(pop, idx):
    """Indices in a view as indices in its population."""
    if not isinstance(pop, common.PopulationView):
        return idx
    return np.asarray(pop.index_in_grandparent(idx), np.int64)
