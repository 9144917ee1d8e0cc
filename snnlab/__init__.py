"""snnlab: an interactive laboratory for sparse spiking neural networks.

>>> import snnlab as sl
>>> net = sl.Network(dt=0.1)
>>> exc = net.population("exc", sl.models.LIF(), 100)
>>> sim = sl.Simulation(net, backend="cpu", seed=1)
"""

from . import connectivity as connect
from . import models
from .backend import available_backends
from .distributions import Normal, Uniform, Values
from .network import Network, PoissonInput, Population, Projection
from .simulation import CapacityError, RecordedChunk, Simulation, StateRecorder

try:
    from importlib.metadata import version as _version

    __version__ = _version("snnlab")
except Exception:  # running from a checkout without installation
    __version__ = "0.1.0.dev0"

__all__ = [
    "Network",
    "Population",
    "Projection",
    "PoissonInput",
    "Simulation",
    "StateRecorder",
    "RecordedChunk",
    "CapacityError",
    "Normal",
    "Uniform",
    "Values",
    "connect",
    "models",
    "available_backends",
    "__version__",
]
