"""Training spiking classifiers: e-prop (Bellec et al. 2020) on recurrent
networks of LIF or ALIF neurons with a leaky readout, batched, on the
kernels of ``kernels/eprop.cu``.

Work in progress: the network, its forward pass, e-prop's gradients and
Adam are here and tested against a float64 reference; DEEP R, the training
loop over data sets and the command line are not yet.
"""

from .eprop import Classifier, EProp

__all__ = ["Classifier", "EProp"]
