"""PyNN on snnlab: ``import snnlab.pynn as sim`` runs PyNN 0.13 scripts (extra
``pynn``).

What is there: ``setup`` (``timestep``, ``min_delay`` (also ``"auto"``),
``max_delay``; snnlab's own ``threads``, ``seed``, ``backend``,
``precision``), ``run``, ``run_until``, ``end``; ``Population`` with
``IF_curr_exp``, ``IF_curr_alpha``, ``IF_curr_delta``, ``IF_cond_exp``,
``IF_cond_alpha``, ``Izhikevich``, ``SpikeSourcePoisson`` and ``SpikeSourceArray``
(parameters and initial values may differ between cells: the cells'
through ``NeuronModel.per_neuron``, set before the first run);
``Projection`` between populations, views and assemblies of them, with
PyNN's connectors (their connections drawn by PyNN, as on every backend)
``StaticSynapse``, ``STDPMechanism`` (``SpikePairRule``,
additive or multiplicative weight dependence: snnlab's STDP with NEST's
conventions, as pyNN.nest runs it) and ``TsodyksMarkramSynapse`` (snnlab's
TsodyksMarkram, tau_psc the target's tau_syn, as pyNN.nest sets it),
``Projection.set`` and ``connections`` (weights; delays and U, tau_rec,
tau_facil before the first run); ``DCSource``, ``StepCurrentSource``,
``ACSource`` and ``NoisyCurrentSource`` into any cells, their currents
recordable; recording of spikes and state variables, returned as Neo blocks
by PyNN's own machinery; the low-level ``create``, ``connect``, ``set``,
``record``; ``get``/``set`` of parameters and initial values, also between
runs. What PyNN has and this does not raises ``NotImplementedError`` naming
it: other cell and synapse types, synapse parameters that differ within a
projection, a cell parameter that differs between cells changed after the
first run, structure created after the first run, off-grid spike times.
``reset()`` brings PyNN's time back to 0 while snnlab's clock goes on (what
is timed moves with it); a SpikeSourceArray takes new times between runs.

The network is built at the first ``run()``: PyNN describes cell by cell,
snnlab compiles a network whole. PyNN's own system-test scenarios run
against this backend with ``benchmarks/validation/pynn_scenarios.py``.
"""

from pyNN import errors, random, space  # noqa: F401
from pyNN.common import procedural_api
from pyNN.connectors import *  # noqa: F403, F401
from pyNN.connectors import FixedProbabilityConnector
from pyNN.network import Network  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.recording import *  # noqa: F403, F401
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import StandardCellType

from . import simulator  # noqa: F401
from .control import (  # noqa: F401
    end,
    get_current_time,
    get_max_delay,
    get_min_delay,
    get_time_step,
    initialize,
    num_processes,
    rank,
    reset,
    run,
    run_for,
    run_until,
    setup,
)
from .electrodes import ACSource, DCSource, NoisyCurrentSource, StepCurrentSource  # noqa: F401
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .projections import Projection  # noqa: F401
from .standardmodels import *  # noqa: F403, F401
from .standardmodels import StaticSynapse


def list_standard_models():
    """The StandardCellType classes this backend has."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType]


# the low-level API, as PyNN's backends build it from their classes
create = procedural_api.build_create(Population)
connect = procedural_api.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
set = procedural_api.set  # noqa: A001 (PyNN's name)
record = procedural_api.build_record(simulator)


def record_v(source, filename):
    return record(["v"], source, filename)


def record_gsyn(source, filename):
    return record(["gsyn_exc", "gsyn_inh"], source, filename)


# what PyNN's backends have beyond the standard models
_PYNN_NAMES = ("native_cell_type", "native_synapse_type", "native_electrode_type",
               "NativeCellType", "NativeSynapseType", "NativeElectrodeType", "NativeRNG",
               "MultiCompartmentNeuron", "nestml")


class Unsupported(NotImplementedError, AttributeError):
    """A name of PyNN's API that snnlab.pynn does not have yet (also an
    AttributeError: ``hasattr`` and ``getattr(sim, name, default)`` still
    probe the backend)."""


def __getattr__(name):
    """PyNN's standard cell, synapse, electrode and receptor types and the
    backends' other names that snnlab.pynn lacks: NotImplementedError
    naming them, not a bare AttributeError that reads as a typo."""
    from pyNN.standardmodels import cells, electrodes, receptors, synapses

    if name in _PYNN_NAMES or (not name.startswith("_") and any(
            isinstance(getattr(m, name, None), type)
            for m in (cells, synapses, electrodes, receptors))):
        raise Unsupported(f"snnlab.pynn: {name} is not supported yet")
    raise AttributeError(f"module 'snnlab.pynn' has no attribute {name!r}")
