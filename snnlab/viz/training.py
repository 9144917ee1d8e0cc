"""A live view of a classifier's training (:mod:`snnlab.learning`): the loss
and the accuracies epoch by epoch, and the recurrent and input
connectivity as matrices (weights by colour, absent synapses blank), so that
DEEP R's rewiring shows as it happens.  Bokeh figures in a Panel layout;
updated after every ``every`` batches and every epoch of :meth:`TrainingView.fit`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TrainingView"]


class TrainingView:
    """Watch an :class:`~snnlab.learning.EProp` train.

    >>> from snnlab.learning import Classifier, EProp
    >>> view = TrainingView(EProp(Classifier(4, 6, 2)))
    >>> sorted(view.matrices)
    ['in', 'rec']
    """

    def __init__(self, net, every: int = 10, width: int = 320):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer (batches), got {every!r}")
        from bokeh.models import ColumnDataSource, LinearColorMapper
        from bokeh.plotting import figure

        self.net, self.every = net, every
        self.curves = ColumnDataSource({"epoch": [], "loss": [], "train": [], "test": []})
        self.loss = figure(title="loss (per step of the window)", width=width, height=240,
                           x_axis_label="epoch")
        self.loss.line("epoch", "loss", source=self.curves)
        self.loss.scatter("epoch", "loss", source=self.curves)
        self.accuracy = figure(title="accuracy", width=width, height=240, y_range=(0, 1),
                               x_axis_label="epoch")
        for key, colour in (("train", "#1f77b4"), ("test", "#d62728")):
            self.accuracy.line("epoch", key, source=self.curves, color=colour, legend_label=key)
            self.accuracy.scatter("epoch", key, source=self.curves, color=colour)
        self.accuracy.legend.location = "bottom_right"
        c = net.c
        self.matrices, self.images, self.figures = {}, {}, {}
        for name, n_pre in (("in", c.n_in), ("rec", c.n_hidden)):
            self.matrices[name] = ColumnDataSource({"image": [self._matrix(name)]})
            lim = max(float(np.nanmax(np.abs(self.matrices[name].data["image"][0]),
                                      initial=0.0)), 1e-6)
            mapper = LinearColorMapper(palette="RdBu11", low=lim, high=-lim, nan_color="white")
            f = figure(title=f"{name} synapses (target x source)", width=width, height=width,
                       x_range=(0, n_pre), y_range=(0, c.n_hidden), x_axis_label="source",
                       y_axis_label="target")
            f.image("image", x=0, y=0, dw=n_pre, dh=c.n_hidden, source=self.matrices[name],
                    color_mapper=mapper)
            self.figures[name] = f
        self.batches = 0
        self._layout = None

    def _matrix(self, name: str) -> np.ndarray:
        """Weights as (targets, sources), NaN where no synapse is stored."""
        con = self.net.connectivity(name)
        n_pre = self.net.c.n_in if name == "in" else self.net.c.n_hidden
        out = np.full((self.net.c.n_hidden, n_pre), np.nan)
        out[con["post"], con["pre"]] = con["weight"]
        return out

    def refresh(self) -> None:
        """The matrices as the network holds them now."""
        for name, source in self.matrices.items():
            source.data = {"image": [self._matrix(name)]}

    def add_epoch(self, record: dict) -> None:
        """One epoch's record (:meth:`EProp.fit`'s) onto the curves."""
        self.curves.stream({"epoch": [record["epoch"]], "loss": [record["loss"]],
                            "train": [record["train_accuracy"]],
                            "test": [record.get("test_accuracy", np.nan)]})
        self.refresh()

    def fit(self, train, **kwargs) -> list[dict]:
        """:meth:`EProp.fit` with this view updated as it goes."""
        user = kwargs.pop("callback", None)

        def batch():  # the matrices every `every` batches
            self.batches += 1
            if self.batches % self.every == 0:
                self.refresh()

        def epoch(record):
            self.add_epoch(record)
            if user is not None:
                user(record)
        return self.net.fit(train, callback=epoch, on_batch=batch, **kwargs)

    def panel(self):
        """The Panel layout (made once)."""
        if self._layout is None:
            import panel as pn

            self._layout = pn.Column(pn.Row(self.loss, self.accuracy),
                                     pn.Row(self.figures["in"], self.figures["rec"]))
        return self._layout

    def _repr_mimebundle_(self, include=None, exclude=None):
        import panel as pn
        from panel.config import panel_extension

        if not panel_extension._loaded:
            pn.extension(inline=True)  # (no network needed)
        return self.panel()._repr_mimebundle_(include, exclude)
