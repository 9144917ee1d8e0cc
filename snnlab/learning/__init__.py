"""Training spiking classifiers: e-prop (Bellec et al. 2020) on recurrent
networks of LIF or ALIF neurons with a leaky readout, batched, on the
kernels of ``kernels/eprop.cu``.

:class:`Classifier` describes the network, :class:`EProp` holds it on a
backend and trains it (``fit`` over :mod:`snnlab.data` sets, ``evaluate``,
``save`` and ``restore``), :class:`DeepR` rewires it while it learns and
:class:`RateRegularizer` keeps its rates near a target.  ``snnlab train
eprop`` is the command line, ``benchmarks/eprop.py`` the figures and
:class:`snnlab.viz.TrainingView` the live view.
"""

from .eprop import Classifier, DeepR, EProp, RateRegularizer

__all__ = ["Classifier", "EProp", "DeepR", "RateRegularizer"]
