"""PyNN on snnlab: ``import snnlab.pynn as sim`` runs PyNN 0.13 scripts
(extra ``pynn``).

What is there: ``setup`` (``timestep``, ``min_delay``, ``max_delay``;
snnlab's own ``threads``, ``seed``, ``backend``, ``precision``), ``run``,
``run_until``, ``end``; ``Population`` with ``IF_curr_exp``,
``IF_curr_alpha``, ``IF_curr_delta``, ``IF_cond_exp``, ``IF_cond_alpha``,
``SpikeSourcePoisson`` and ``SpikeSourceArray`` (parameters shared by a
population's neurons; initial values per neuron); ``Projection`` with
PyNN's connectors (their connections drawn by PyNN, as on every backend)
``StaticSynapse`` and ``STDPMechanism`` (``SpikePairRule``, additive or
multiplicative weight dependence: snnlab's STDP with NEST's conventions, as
pyNN.nest runs it); recording of spikes and state variables, returned as
Neo blocks by PyNN's own machinery; ``get``/``set`` of parameters and
initial values, also between runs.  What is not there yet raises
``NotImplementedError`` naming it: other synapse types, current sources,
``reset()`` after a run, parameters that differ within a population,
assemblies as projection ends, structure created after the first run.

The network is built at the first ``run()``: PyNN describes cell by cell,
snnlab compiles a network whole.
"""

from pyNN import errors, random, space  # noqa: F401
from pyNN.connectors import *  # noqa: F403, F401
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
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .projections import Projection  # noqa: F401
from .standardmodels import *  # noqa: F403, F401


def list_standard_models():
    """The StandardCellType classes this backend has."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType]


def __getattr__(name):
    if name in ("TsodyksMarkramSynapse", "DCSource", "ACSource",
                "StepCurrentSource", "NoisyCurrentSource"):
        raise NotImplementedError(f"snnlab.pynn: {name} is not supported yet")
    raise AttributeError(f"module 'snnlab.pynn' has no attribute {name!r}")
