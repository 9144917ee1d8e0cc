"""PyNN's standard cell and synapse types on snnlab's models: names and units
translated as NEST's backend translates them (snnlab's LIF and CondLIF keep
NEST's names, pF, pA and nS), each type knowing the snnlab model it makes."""

from __future__ import annotations

import numpy as np
from pyNN.standardmodels import build_translations, cells, synapses

import snnlab.models as models

__all__ = ["IF_curr_exp", "IF_curr_alpha", "IF_curr_delta", "IF_cond_exp", "IF_cond_alpha",
           "Izhikevich", "SpikeSourcePoisson", "SpikeSourceArray", "StaticSynapse", "STDPMechanism",
           "TsodyksMarkramSynapse",
           "SpikePairRule", "AdditiveWeightDependence", "MultiplicativeWeightDependence"]

_LIF_COMMON = (
    ("v_rest", "E_L"),
    ("v_reset", "V_reset"),
    ("cm", "C_m", 1000.0),  # nF -> pF
    ("tau_refrac", "t_ref"),
    ("v_thresh", "V_th"),
    ("i_offset", "I_e", 1000.0),  # nA -> pA
)


class _Cell:
    """What snnlab needs of a cell type: its model from native parameters,
    and the state variables' translations."""

    synapse = "exp"
    conductance_based = False
    receptor_types = ("excitatory", "inhibitory")

    def snnlab_model(self, p: dict):  # pragma: no cover - each type has its own
        raise NotImplementedError


class IF_curr_exp(_Cell, cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = build_translations(*_LIF_COMMON, ("tau_m", "tau_m"),
                                      ("tau_syn_E", "tau_syn_ex"), ("tau_syn_I", "tau_syn_in"))
    state_variable_translations = build_translations(
        ("v", "V_m"), ("isyn_exc", "I_syn_ex", 1000.0), ("isyn_inh", "I_syn_in", 1000.0))

    def snnlab_model(self, p):
        return models.LIF(synapse="exp", **p)


class IF_curr_alpha(_Cell, cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    synapse = "alpha"
    translations = IF_curr_exp.translations
    state_variable_translations = IF_curr_exp.state_variable_translations

    def snnlab_model(self, p):
        return models.LIF(synapse="alpha", **p)


class IF_curr_delta(_Cell, cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    synapse = "delta"
    translations = build_translations(*_LIF_COMMON, ("tau_m", "tau_m"))
    state_variable_translations = build_translations(("v", "V_m"))

    def snnlab_model(self, p):
        return models.LIF(synapse="delta", **p)


class IF_cond_exp(_Cell, cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    conductance_based = True
    translations = build_translations(
        *_LIF_COMMON, ("tau_m", "g_L", "cm/tau_m*1000.0", "C_m/g_L"),
        ("tau_syn_E", "tau_syn_ex"), ("tau_syn_I", "tau_syn_in"),
        ("e_rev_E", "E_ex"), ("e_rev_I", "E_in"))
    state_variable_translations = build_translations(
        ("v", "V_m"), ("gsyn_exc", "g_ex", 1000.0), ("gsyn_inh", "g_in", 1000.0))

    def snnlab_model(self, p):
        return models.CondLIF(synapse="exp", **p)


class IF_cond_alpha(_Cell, cells.IF_cond_alpha):
    __doc__ = cells.IF_cond_alpha.__doc__
    synapse = "alpha"
    conductance_based = True
    translations = IF_cond_exp.translations
    state_variable_translations = IF_cond_exp.state_variable_translations

    def snnlab_model(self, p):
        return models.CondLIF(synapse="alpha", **p)


class Izhikevich(_Cell, cells.Izhikevich):
    __doc__ = cells.Izhikevich.__doc__
    synapse = "delta"  # (weights in mV, as pyNN.nest takes them)
    translations = build_translations(("a", "a"), ("b", "b"), ("c", "c"), ("d", "d"),
                                      ("i_offset", "I_e", 1000.0))
    state_variable_translations = build_translations(("v", "V_m"), ("u", "U_m"))

    def snnlab_model(self, p):
        return models.Izhikevich(**p)


class SpikeSourcePoisson(_Cell, cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    receptor_types = ()
    translations = build_translations(("rate", "rate"), ("start", "start"),
                                      ("duration", "stop", "start+duration", "stop-start"))
    state_variable_translations = build_translations()

    def snnlab_model(self, p):
        return models.PoissonSource(rate=p["rate"], start=p["start"],
                                    stop=None if p["stop"] > 1e12 else p["stop"])

    @staticmethod
    def per_cell_model():
        """A rate, start and stop for each cell (state, set per cell): the
        same draws as snnlab's PoissonSource, start and stop in steps."""
        return models.NeuronModel(
            name="pynn_poisson_per_cell", params={},
            state={"rate": 0.0, "first_step": 0.0, "stop_step": 0.0},
            threshold="t / dt + 0.5 >= first_step && t / dt + 0.5 < stop_step && "
                      "uniform() < rate * dt * 1e-3")

    @staticmethod
    def per_cell_state(native: dict, step_of) -> dict:
        """That model's state from the native rate, start and stop
        (``step_of``: PyNN's times as steps of snnlab's clock)."""
        stop = np.asarray(native["stop"], np.float64)
        return {"rate": np.asarray(native["rate"], np.float64),
                "first_step": step_of(native["start"]).astype(np.float64),
                "stop_step": np.where(stop > 1e12, 1e15, step_of(np.minimum(stop, 1e12)))}


class SpikeSourceArray(_Cell, cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    receptor_types = ()
    translations = build_translations(("spike_times", "spike_times"))
    state_variable_translations = build_translations()

    def snnlab_model(self, times):
        return models.SpikeSourceArray(times)


class _MinDelay:
    """A synapse type's minimum delay: the simulator's (PyNN asks the type)."""

    def _get_minimum_delay(self):
        from .simulator import state

        return state.min_delay


class StaticSynapse(_MinDelay, synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    # nA or uS -> pA or nS (the weight's unit is the target's)
    translations = build_translations(("weight", "weight", 1000.0), ("delay", "delay"))


class TsodyksMarkramSynapse(_MinDelay, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    # snnlab.plasticity.TsodyksMarkram: as pyNN.nest's tsodyks_synapse, tau_psc the
    # target's synaptic time constant on the receptor
    translations = build_translations(("weight", "weight", 1000.0), ("delay", "delay"),
                                      ("U", "U"), ("tau_rec", "tau_rec"),
                                      ("tau_facil", "tau_fac"))


def transform(translation: dict, pynn_name: str, values, reverse: bool = False):
    """Values of a state variable through its translation: PyNN's units to
    snnlab's, or back (``reverse``): identity, a scale or an expression."""
    if reverse:
        f, arg = translation["reverse_transform"], translation["translated_name"]
    else:
        f, arg = translation["forward_transform"], pynn_name
    if callable(f):
        return f(**{arg: values})
    return values if f == arg else eval(f, {}, {arg: values})


class STDPMechanism(_MinDelay, synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = build_translations(
        ("weight", "weight", 1000.0), ("delay", "delay"),
        ("dendritic_delay_fraction", "dendritic_delay_fraction"))

    def __init__(self, timing_dependence=None, weight_dependence=None, voltage_dependence=None,
                 dendritic_delay_fraction=1.0, weight=0.0, delay=None):
        if dendritic_delay_fraction != 1:
            raise NotImplementedError("snnlab.pynn: dendritic_delay_fraction must be 1 (the "
                                      "whole delay dendritic, as on pyNN.nest)")
        for what, given, allowed in (
                ("timing_dependence", timing_dependence, (SpikePairRule,)),
                ("weight_dependence", weight_dependence,
                 (AdditiveWeightDependence, MultiplicativeWeightDependence))):
            if not isinstance(given, allowed):
                raise NotImplementedError(f"snnlab.pynn: {what} {type(given).__name__} is not "
                                          f"supported; allowed: "
                                          f"{[a.__name__ for a in allowed]}")
        if voltage_dependence is not None:
            raise NotImplementedError("snnlab.pynn: voltage_dependence is not supported")
        synapses.STDPMechanism.__init__(self, timing_dependence, weight_dependence, None,
                                        dendritic_delay_fraction, weight, delay)


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = build_translations(("tau_plus", "tau_plus"), ("tau_minus", "tau_minus"),
                                      ("A_plus", "A_plus"), ("A_minus", "A_minus"))
    possible_models = {"stdp"}


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = build_translations(("w_max", "w_max", 1000.0), ("w_min", "w_min", 1000.0))
    possible_models = {"stdp"}
    rule = "additive"


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = AdditiveWeightDependence.translations
    possible_models = {"stdp"}
    rule = "multiplicative"
