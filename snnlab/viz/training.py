"""A live view of a classifier's training (:mod:`snnlab.learning`): the loss
and the accuracies epoch by epoch, and the recurrent and input
connectivity as matrices (weights by colour, absent synapses blank), so that
DEEP R's rewiring shows as it happens.  Bokeh figures in a Panel layout.

Two ways to train under it:

- :meth:`TrainingView.fit` trains in the calling thread (the notebook's cell
  runs until it is done) and updates the figures after every ``every``
  batches and every epoch;
- :meth:`TrainingView.start` trains in a thread of its own: the cell returns
  at once, the page's pause, resume and stop buttons (or :meth:`pause`,
  :meth:`play`, :meth:`stop`) act between two batches, and :meth:`wait`
  returns the epochs' records.  The training thread only takes snapshots;
  the page's own thread moves them into the figures ``fps`` times a second,
  as :class:`~snnlab.viz.Dashboard` does with a running simulation.

Both give the same weights, bit for bit, as :meth:`EProp.fit` alone.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["TrainingView"]

FIT_ARGS = ("test", "lr", "window", "seed")  # what start() passes on to EProp.fit


class _Stop(Exception):
    """Ends the training thread after the batch in progress (stop())."""


class TrainingView:
    """Watch (and steer) an :class:`~snnlab.learning.EProp` train.

    >>> from snnlab.learning import Classifier, EProp
    >>> view = TrainingView(EProp(Classifier(4, 6, 2)))
    >>> sorted(view.matrices)
    ['in', 'rec']
    """

    def __init__(self, net, every: int = 10, width: int = 320, fps: float = 4.0):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer (batches), got {every!r}")
        if not (isinstance(fps, (int, float)) and 0.2 <= fps <= 30):
            raise ValueError(f"fps must be in [0.2, 30] page updates per second, got {fps!r}")
        from bokeh.models import ColumnDataSource, LinearColorMapper
        from bokeh.plotting import figure

        self.net, self.every, self.fps = net, every, float(fps)
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
        self.history: list[dict] = []  # the epochs' records of the present or last start()
        self.error: BaseException | None = None
        self._layout = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._paused = self._stopping = self._waiting = False
        self._pending: dict = {"epochs": [], "matrices": None}  # for the page (start())
        self._callback = None
        self._buttons = None

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
        self._stream([record])
        self.refresh()

    def _stream(self, records: list[dict]) -> None:
        self.curves.stream({"epoch": [r["epoch"] for r in records],
                            "loss": [r["loss"] for r in records],
                            "train": [r["train_accuracy"] for r in records],
                            "test": [r.get("test_accuracy", np.nan) for r in records]})

    def fit(self, train, **kwargs) -> list[dict]:
        """:meth:`EProp.fit` in the calling thread with this view updated
        as it goes."""
        self._check_idle()
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

    # -- training in a thread of its own ----------------------------------------
    def _check_idle(self) -> None:
        if self.running:
            raise RuntimeError("the view is training already (in its thread): stop() or "
                               "wait() first")

    @property
    def running(self) -> bool:
        """Whether a :meth:`start`'s training is under way (paused or not)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, train, epochs: int = 1, **kwargs) -> None:
        """Train ``epochs`` epochs in a thread of its own and return at
        once: :meth:`EProp.fit`'s arguments (``test``, ``lr``, ``window``,
        ``seed``), checked here first.  The page shows the progress; pause,
        resume and stop act after the batch in progress; :meth:`wait`
        gives the records (also in :attr:`history` as they come).  While
        it trains, leave the network to it (read or change it after
        :meth:`pause` has taken hold, ``status()["paused"]``, or the end):
        calls from another thread would race with its kernels."""
        self._check_idle()
        unknown = sorted(set(kwargs) - set(FIT_ARGS))
        if unknown:
            raise TypeError(f"start() takes EProp.fit's arguments epochs, "
                            f"{', '.join(FIT_ARGS)}; got {unknown}")
        self.net.check_fit(train, epochs, kwargs.get("test"), kwargs.get("lr", 1e-3),
                           kwargs.get("window"))
        self.history, self.error = [], None
        with self._cond:
            self._paused = self._stopping = self._waiting = False
        self._thread = threading.Thread(target=self._train, args=(train, epochs, kwargs),
                                        name="snnlab-training", daemon=True)
        self._thread.start()

    def _train(self, train, epochs: int, kwargs: dict) -> None:
        try:
            self.net.fit(train, epochs=epochs, callback=self._epoch_done,
                         on_batch=self._batch_done, **kwargs)
        except _Stop:
            pass
        except BaseException as e:  # shown by status() and raised by wait()
            self.error = e
        finally:
            with self._cond:
                self._waiting = False
                self._cond.notify_all()

    def _snapshot(self) -> dict:
        return {name: self._matrix(name) for name in self.matrices}

    def _batch_done(self) -> None:
        """After each optimiser step, in the training thread: a snapshot
        every ``every`` batches, then wait while paused."""
        self.batches += 1
        snap = self._snapshot() if self.batches % self.every == 0 else None
        with self._cond:
            if snap is not None:
                self._pending["matrices"] = snap
            while self._paused and not self._stopping:
                self._waiting = True
                self._cond.notify_all()
                self._cond.wait()
            self._waiting = False
            if self._stopping:
                raise _Stop

    def _epoch_done(self, record: dict) -> None:
        snap = self._snapshot()
        with self._cond:
            self.history.append(record)
            self._pending["epochs"].append(record)
            self._pending["matrices"] = snap

    def pause(self) -> None:
        """Hold the training after the batch in progress (:meth:`play` goes on)."""
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def play(self) -> None:
        """Go on after :meth:`pause`."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        """End the training after the batch in progress and wait for its
        thread: the weights keep every batch done; the epoch that was under
        way gets no record."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def wait(self, timeout: float | None = None) -> list[dict]:
        """Wait for :meth:`start`'s training to end (at most ``timeout``
        seconds: TimeoutError after it); its records, or the error that
        ended it."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"training still under way after {timeout} s")
        if self.error is not None:
            raise self.error
        return self.history

    def status(self) -> dict:
        """Epochs done, batches, and whether it runs, is held by a pause
        (``paused``: waiting between two batches), or failed."""
        with self._cond:
            return {"epochs": len(self.history), "batches": self.batches,
                    "running": self.running, "paused": self._waiting,
                    "error": None if self.error is None else repr(self.error)}

    def _tick(self) -> None:
        """The page's periodic callback: what the training thread gathered
        since the last call into the figures, and the status line."""
        with self._cond:
            epochs, self._pending["epochs"] = self._pending["epochs"], []
            snap, self._pending["matrices"] = self._pending["matrices"], None
        if epochs:
            self._stream(epochs)
        for name, image in (snap or {}).items():
            self.matrices[name].data = {"image": [image]}
        if self._buttons is not None:
            self._buttons["status"].object = self._status_line()

    def _status_line(self) -> str:
        s = self.status()
        state = ("failed: " + s["error"] if s["error"] else "paused" if s["paused"]
                 else "training" if s["running"] else "idle")
        return f"{state} · epochs {s['epochs']} · batches {s['batches']}"

    # -- the page ---------------------------------------------------------------
    def panel(self):
        """The Panel layout (made once): buttons, a status line, the curves
        and the matrices."""
        if self._layout is None:
            import panel as pn

            from .live import _colour, _named

            pause = pn.widgets.Button(**_named("Pause"), **_colour("warning"), width=80)
            play = pn.widgets.Button(**_named("Resume"), **_colour("success"), width=80)
            stop = pn.widgets.Button(**_named("Stop"), **_colour("danger"), width=80)
            pause.on_click(lambda event: self.pause())
            play.on_click(lambda event: self.play())
            stop.on_click(lambda event: threading.Thread(target=self.stop, daemon=True).start())
            status = pn.pane.Str(self._status_line())
            self._buttons = {"pause": pause, "resume": play, "stop": stop, "status": status}
            self._layout = pn.Column(pn.Row(pause, play, stop, status),
                                     pn.Row(self.loss, self.accuracy),
                                     pn.Row(self.figures["in"], self.figures["rec"]))
        return self._layout

    def _go_live(self) -> None:
        import panel as pn

        if self._callback is None:
            self._callback = cb = pn.state.add_periodic_callback(
                self._tick, period=max(33, int(1000 / self.fps)), start=False)
            cb._background = True  # (no busy indicator at every call: see live.Dashboard)
            cb.start()

    def servable(self):
        """The layout for a served session (``pn.serve({"training":
        view.servable})``): it goes live once the page has loaded."""
        import panel as pn

        layout = self.panel()
        pn.state.onload(self._go_live)
        return layout

    def _repr_mimebundle_(self, include=None, exclude=None):
        import panel as pn
        from panel.config import panel_extension

        if not panel_extension._loaded:
            pn.extension(inline=True)  # (no network needed)
        layout = self.panel()
        self._go_live()
        return layout._repr_mimebundle_(include, exclude)
