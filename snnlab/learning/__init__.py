"""Training spiking classifiers: e-prop (Bellec et al. 2020) on recurrent
networks of LIF or ALIF neurons with a leaky readout, batched, on the
kernels of ``kernels/eprop.cu``.

Work in progress: the network, its forward pass, e-prop's gradients, Adam,
DEEP R and training over :mod:`snnlab.data` sets are here; the command line,
checkpoints and the benchmarks are not yet.
"""

from .eprop import Classifier, DeepR, EProp, RateRegularizer

__all__ = ["Classifier", "EProp", "DeepR", "RateRegularizer"]
