"""A live dashboard: a simulation that runs while its views update.

>>> dash = Dashboard(sim, views=[Raster(), Rates()],            # doctest: +SKIP
...                  controls=[input_rate("poisson->exc", 0, 20000)])
>>> dash                                                        # doctest: +SKIP

The simulation advances in chunks of ``chunk`` ms in a thread of its own;
between chunks it applies the changes made with the controls and lets the
views read what they need.  The page is updated from the interface thread
at most ``fps`` times per second with what the views gathered since the
last update, so neither the browser nor the simulation waits on the other.
The same object displays inline in JupyterLab and serves as an app
(:func:`snnlab.viz.serve`).

While the dashboard's thread runs, change the simulation through
:meth:`Dashboard.apply` (or pause first): calls from other threads would
race with the running kernels.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .views import Raster, Rates, View, _source

__all__ = ["Dashboard", "Control", "input_rate", "weight", "parameter", "plasticity",
           "SPEEDS"]

TICKS_PER_UPDATE = 4  # polls of the page clock per update (see Dashboard._tick)
IN_FLIGHT = 1  # page updates sent but not yet applied by the page, at most

# speed choices: model time per wall time (None: as fast as it goes)
SPEEDS = {"max": None, "10x real time": 10.0, "2x real time": 2.0, "real time": 1.0,
          "0.5x real time": 0.5, "0.1x real time": 0.1}


@dataclass
class Control:
    """A slider that changes the running simulation: ``apply(sim, value)``
    runs in the simulation's thread between two chunks; ``read(sim)`` gives
    the present value (when ``value`` is not given).  ``end=None``: twice
    the present value."""

    label: str
    start: float
    end: float | None
    apply: Callable
    value: float | None = None
    step: float | None = None
    read: Callable | None = None

    def __post_init__(self):
        end = self.start + 1.0 if self.end is None else self.end
        if not (math.isfinite(self.start) and math.isfinite(end) and self.start < end):
            raise ValueError(f"Control {self.label!r}: start and end must be finite with "
                             f"start < end, got {self.start!r}, {self.end!r}")
        if not callable(self.apply):
            raise TypeError(f"Control {self.label!r}: apply must be callable(sim, value)")
        if self.end is None and self.read is None and self.value is None:
            raise ValueError(f"Control {self.label!r}: end=None needs a value or read")

    def initial(self, sim) -> float:
        """The present value, within the range (fixes ``end`` if None)."""
        value = float(self.value if self.value is not None else (
            self.read(sim) if self.read is not None else self.start))
        if self.end is None:
            self.end = max(2.0 * value, self.start + 1.0)
        return min(max(value, self.start), self.end)


def input_rate(names, start: float = 0.0, end: float | None = None,
               label: str = "input rate [spikes/s]") -> Control:
    """The rate of one or more Poisson inputs (``Simulation.set_input``);
    ``end`` defaults to twice the present rate."""
    names = [names] if isinstance(names, str) else list(names)

    def apply(sim, value):
        for n in names:
            sim.set_input(n, rate=value)

    def read(sim):
        return sim.input_values[names[0]][0]

    return Control(label, start, end, apply, read=read)


def weight(projections, start: float, end: float, scale: float = 1.0,
           label: str | None = None) -> Control:
    """One weight for all synapses of some projections, ``scale * value``
    (e.g. Brunel's g with ``scale=-J`` on the inhibitory projections)."""
    projections = [projections] if isinstance(projections, str) else list(projections)

    def apply(sim, value):
        for p in projections:
            sim.set_weight(p, scale * value)

    def read(sim):
        w = sim.connectivity(projections[0])["weight"]
        return float(w[0]) / scale if len(w) else start

    return Control(label or f"weight of {', '.join(projections)}", start, end, apply,
                   read=read)


def parameter(population: str, name: str, start: float, end: float,
              label: str | None = None) -> Control:
    """A neuron parameter (``Simulation.set_param``)."""
    return Control(label or f"{population}.{name}", start, end,
                   lambda sim, v: sim.set_param(population, name, v),
                   read=lambda sim: sim.param(population, name))


def plasticity(projections, name: str, start: float, end: float,
               label: str | None = None, also: Callable | None = None) -> Control:
    """A parameter of the plasticity rule of some projections
    (``Simulation.set_plasticity``); ``also(value)`` may return further
    changes made together, e.g. ``a_minus`` tied to ``a_plus``."""
    projections = [projections] if isinstance(projections, str) else list(projections)

    def apply(sim, value):
        changes = {name: value, **(also(value) if also else {})}
        for p in projections:
            sim.set_plasticity(p, **changes)

    return Control(label or f"{name} of {', '.join(projections)}", start, end, apply,
                   read=lambda sim: getattr(sim.plasticity(projections[0]), name))


class Dashboard:
    """Views and controls of a running simulation (module docstring).

    sim : Simulation or SimulationLike
        A local simulation, or anything with the members of
        :class:`snnlab.protocol.SimulationLike` (a run elsewhere).
    views : list of View
        Default: a raster and the population rates of the recorded populations.
    controls : list of Control
        Sliders shown beside run, pause, step and speed.
    chunk : float
        Model time [ms] advanced between two looks of the views; ``step``
        advances exactly one chunk.
    fps : float
        Page updates per second, at most (1 to 30), kept to on a fixed clock.
    speed : float or None
        Model time per wall time to keep to (None: as fast as it goes).
    duration : float or None
        Stop when the simulation reaches this time [ms] (shown as progress).
    play : bool
        Start running as soon as the dashboard is shown.
    """

    def __init__(self, sim, views=None, controls=(), chunk: float = 10.0, fps: float = 10.0,
                 speed: float | None = None, duration: float | None = None,
                 title: str = "snnlab", play: bool = False):
        from ..protocol import SimulationLike

        if not isinstance(sim, SimulationLike):
            raise TypeError(f"sim must be a snnlab.Simulation (or SimulationLike), "
                            f"got {type(sim).__name__}")
        views = [Raster(), Rates()] if views is None else list(views)
        bad = [v for v in views if not isinstance(v, View)]
        if bad:
            raise TypeError(f"views must be snnlab.viz views (Raster, Rates, Membrane, "
                            f"Connectivity, TopographicMap), got {bad}")
        controls = list(controls)
        bad = [c for c in controls if not isinstance(c, Control)]
        if bad:
            raise TypeError(f"controls must be snnlab.viz.Control objects, got {bad}")
        if len({c.label for c in controls}) != len(controls):
            raise ValueError("controls: labels must differ")
        try:
            fps = float(fps)
        except (TypeError, ValueError):
            raise TypeError(f"fps must be a number, got {fps!r}") from None
        if not 1.0 <= fps <= 30.0:
            raise ValueError(f"fps must be in [1, 30] updates per second, got {fps}")
        if speed is not None and not (isinstance(speed, (int, float)) and speed > 0):
            raise ValueError(f"speed must be None or a model/wall time ratio > 0, got {speed!r}")
        if duration is not None:
            sim.steps_for(duration)  # a multiple of dt, >= 0
        self.sim = sim
        self.chunk = float(chunk)
        self.chunk_steps = sim.steps_for(chunk)
        if self.chunk_steps < 1:
            raise ValueError(f"chunk must be at least one step ({sim.dt} ms), got {chunk!r}")
        self.views, self.controls = views, controls
        self.fps, self.speed, self.duration, self.title = fps, speed, duration, title
        self.autoplay = bool(play)
        for v in views:
            v.bind(sim)
        self.values = {c.label: c.initial(sim) for c in controls}
        self.chunks = 0  # chunks simulated under the dashboard
        self.updates = 0  # page updates that carried new data
        self.error: BaseException | None = None
        self._running = False
        self._requested = 0
        self._tasks: dict = {}
        self._closed = False
        self._cond = threading.Condition()
        self._sim_lock = threading.Lock()
        self._thread = None
        self._callback = None
        self._layout = None
        self._status_shown = 0.0
        self._status_sent = -math.inf  # when the status source was last sent
        self._status_beat = 0  # sends of it (a notebook page: again each second)
        self._next_update = -math.inf  # when the page's next update is due (perf_counter)
        self._served = False  # shown in a served session (not a notebook)
        self._pace = (time.perf_counter(), sim.t)  # wall and model time the speed counts from
        self._speed_log = deque(maxlen=64)  # (wall, model time) after chunks
        sim.add_observer(self._observe)

    # ------------------------------------------------------------ the loop
    def _observe(self, chunk) -> None:
        for v in self.views:
            v.observe(chunk)

    def _advance(self) -> bool:
        """One chunk and the views' samples; False when there is nothing to do."""
        sim = self.sim
        n = self.chunk_steps
        if self.duration is not None:
            n = min(n, sim.steps_for(self.duration) - sim.current_step)
            if n <= 0:
                self._running = False
                return False
        try:
            sim.step(n)
            for v in self.views:
                v.sample(sim)
        except Exception as e:  # shown in the status line; the simulation stays usable
            self.error = e
            self._running = False
            return False
        now = time.perf_counter()
        self._speed_log.append((now, sim.t))
        self.chunks += 1
        return True

    def _run_tasks(self, tasks) -> None:
        for fn in tasks.values():
            try:
                fn(self.sim)
            except Exception as e:
                self.error = e

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not (self._closed or self._tasks or self._running or self._requested):
                    self._cond.wait()
                if self._closed:
                    return
                tasks, self._tasks = self._tasks, {}
                go = self._running or self._requested > 0
                if go and not self._running:
                    self._requested -= 1
            with self._sim_lock:
                self._run_tasks(tasks)
                if go:
                    self._advance()
            if go and self._running and self.speed is not None:
                wall0, t0 = self._pace
                wait = wall0 + (self.sim.t - t0) * 1e-3 / self.speed - time.perf_counter()
                if wait > 0:
                    with self._cond:
                        self._cond.wait(wait)

    def start(self) -> None:
        """Start the simulation thread (done when the dashboard is shown)."""
        if self._closed:
            raise RuntimeError("the dashboard is closed")
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="snnlab-dashboard",
                                            daemon=True)
            self._thread.start()
            if self.autoplay:
                self.play()

    # ------------------------------------------------------------ controls
    @property
    def running(self) -> bool:
        return self._running

    def play(self) -> None:
        """Run until paused (or until ``duration``)."""
        with self._cond:
            self._running = True
            self.error = None
            self._pace = (time.perf_counter(), self.sim.t)
            self._cond.notify_all()

    def pause(self) -> None:
        """Stop after the chunk in progress; returns once it is done, so the
        simulation does not move after this call returns."""
        with self._cond:
            self._running = False
            self._requested = 0
            self._cond.notify_all()
        with self._sim_lock:  # the chunk in progress, if any, has ended
            pass

    def step(self) -> None:
        """Advance exactly one chunk (while paused)."""
        with self._cond:
            if not self._running:
                self._requested += 1
                self._cond.notify_all()

    def set_speed(self, speed: float | None) -> None:
        """Model time per wall time to keep to (None: as fast as it goes)."""
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be None or > 0, got {speed!r}")
        with self._cond:
            self.speed = speed
            self._pace = (time.perf_counter(), self.sim.t)
            self._cond.notify_all()

    def apply(self, fn: Callable, key=None) -> None:
        """Run ``fn(sim)`` in the simulation's thread before the next chunk
        (at once when the thread is not running).  A later call with the
        same ``key`` replaces a pending one (slider moves coalesce)."""
        if self._thread is None:
            with self._sim_lock:
                self._run_tasks({0: fn})
            return
        with self._cond:
            self._tasks[key if key is not None else object()] = fn
            self._cond.notify_all()

    def set_control(self, label: str, value: float) -> None:
        """Move a control's slider to ``value`` (clipped to its range)."""
        c = next((c for c in self.controls if c.label == label), None)
        if c is None:
            raise KeyError(f"no control {label!r}; have {[c.label for c in self.controls]}")
        value = min(max(float(value), c.start), c.end)
        self.values[label] = value
        self.apply(lambda sim: c.apply(sim, value), key=("control", label))

    def advance(self, chunks: int = 1) -> None:
        """Simulate ``chunks`` chunks in the calling thread, then update the
        views: the synchronous way for scripts, tests and notebooks."""
        if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 0:
            raise ValueError(f"chunks must be a non-negative integer, got {chunks!r}")
        with self._cond:
            tasks, self._tasks = self._tasks, {}
        with self._sim_lock:
            self._run_tasks(tasks)
            for _ in range(chunks):
                if not self._advance():
                    break
        if self.error is not None:
            raise self.error
        self.refresh(force=True)

    def close(self) -> None:
        """Stop the thread and the page updates; release the views."""
        with self._cond:
            self._closed = True
            self._running = False
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.sim.remove_observer(self._observe)
        for v in self.views:
            v.unbind()

    # ------------------------------------------------------------- status
    def speed_now(self) -> float:
        """Model time per wall time over the last chunks (NaN when idle)."""
        log = list(self._speed_log)
        if len(log) < 2 or time.perf_counter() - log[-1][0] > 1.0:
            return math.nan
        (w0, t0), (w1, t1) = log[0], log[-1]
        return (t1 - t0) * 1e-3 / (w1 - w0) if w1 > w0 else math.nan

    def status(self) -> dict:
        """What the status line shows."""
        return {"t": self.sim.t, "chunks": self.chunks, "updates": self.updates,
                "running": self._running, "speed": self.speed_now(),
                "error": None if self.error is None else repr(self.error)}

    # ---------------------------------------------------------------- page
    def _tick(self, now: float | None = None) -> bool:
        """The periodic callback: it polls ``TICKS_PER_UPDATE`` times per
        page period and updates the page on a fixed clock of ``1 / fps`` s.
        A timer that sleeps a period after each call (as event loops do)
        drifts by the call's own time and loop delays, and so falls short of
        ``fps``; an update that is late by more than a period is dropped.
        True when the page was updated."""
        now = time.perf_counter() if now is None else now
        if now < self._next_update or self._page_behind():
            return False
        period = 1.0 / self.fps
        self._next_update += period
        if self._next_update <= now:  # late by a period or more (or the first update)
            self._next_update = now + period
        self.refresh()
        return True

    def _page_behind(self) -> bool:
        """Whether the page has yet to apply more than one update: then it
        draws slower than ``fps`` (a slow machine, many plots), and sending
        more would pile messages up in front of its clicks.  Updates then
        follow the page's own pace.  Served pages only: a notebook page's
        reply would come through comms that drop messages (see
        views._append)."""
        if self._layout is None or not self._served:
            return False
        return self.updates - int(self._ack.data["updates"][0]) > IN_FLIGHT

    def refresh(self, force: bool = False) -> None:
        """Apply what the views gathered to their figures (interface thread;
        called ``fps`` times per second once shown); ``force``: every view,
        whatever its own ``fps``."""
        if self._layout is None:
            return
        now = time.perf_counter()
        new = [(v, u) for v in self.views
               if (force or v.due(now, self.fps)) and (u := v.take()) is not None]
        import panel as pn

        with pn.io.hold():
            for v, u in new:
                v.show(u)
                v.shown_at = now
            if new:
                self.updates += 1
            self._show_status()

    def _show_status(self, now: float | None = None) -> None:
        s = self.status()
        data = self._status_source.data
        now = time.perf_counter() if now is None else now
        # chunks too: a refresh between a chunk's step and its count would
        # otherwise leave the page one chunk behind for good; and to a
        # notebook page once a second even unchanged, since a message
        # through its comms now and then never arrives (views._append):
        # a lost "paused" would otherwise stay lost
        if (data["t"][0], data["updates"][0], data["chunks"][0], data["running"][0]) != \
                (s["t"], s["updates"], s["chunks"], int(s["running"])) or \
                (not self._served and now - self._status_sent >= 1.0):
            self._status_beat += 1
            self._status_sent = now
            self._status_source.data = {"t": [s["t"]], "updates": [s["updates"]],
                                        "chunks": [s["chunks"]], "running": [int(s["running"])],
                                        "beat": [self._status_beat]}
        if s["running"] and now - self._status_shown < 0.5 and not s["error"]:
            return  # the text at 2 per second is plenty
        self._status_shown = now
        speed = s["speed"]
        text = f"t = {s['t']:,.1f} ms"
        if math.isfinite(speed):
            text += f" &middot; {speed:.2f}x real time"
        text += " &middot; running" if s["running"] else " &middot; paused"
        if s["error"]:
            text += f" &middot; <span style='color:#b00'>error: {s['error']}</span>"
        if self._status.object != text:
            self._status.object = text
        if self._progress is not None:
            self._progress.value = int(round(100 * min(s["t"] / self.duration, 1.0)))

    def panel(self):
        """The dashboard's Panel layout (made once)."""
        if self._layout is not None:
            return self._layout
        import panel as pn

        self._status_source = _source({"t": [self.sim.t], "updates": [0],
                                      "chunks": [0], "running": [0], "beat": [0]},
                                      name="dashboard_status")
        from bokeh.models import ColumnDataSource

        # the one source the page writes: the updates it has applied
        self._ack = ColumnDataSource({"updates": [0]}, name="dashboard_ack")
        run = pn.widgets.Button(**_named("Run"), **_colour("success"), width=80)
        pause = pn.widgets.Button(**_named("Pause"), **_colour("warning"), width=80)
        step = pn.widgets.Button(**_named("Step"), **_colour("primary"), width=80)
        run.on_click(lambda event: self.play())
        pause.on_click(lambda event: self.pause())
        step.on_click(lambda event: self.step())
        current = next((k for k, v in SPEEDS.items() if v == self.speed), None)
        speeds = dict(SPEEDS)
        if current is None:
            current = f"{self.speed:g}x real time"
            speeds[current] = self.speed
        speed = pn.widgets.Select(**_named("speed"), options=list(speeds), value=current, width=160)
        speed.param.watch(lambda event: self.set_speed(speeds[event.new]), "value")
        sliders = []
        for c in self.controls:
            s = pn.widgets.FloatSlider(**_named(c.label), start=c.start, end=c.end,
                                       value=self.values[c.label],
                                       step=c.step or (c.end - c.start) / 100.0, width=240)
            s.param.watch(lambda event, label=c.label: self.set_control(label, event.new),
                          "value")
            sliders.append(s)
        self._status = pn.pane.HTML("", styles={"font-family": "monospace"})
        self._progress = (pn.indicators.Progress(value=0, max=100, width=200)
                          if self.duration else None)
        bokeh_status = pn.pane.Bokeh(_status_figure(self._status_source, self._ack),
                                     width=0, height=0, margin=0)
        header = pn.Row(run, pause, step, speed, self._status,
                        *([self._progress] if self._progress else []), bokeh_status)
        parts = [pn.pane.Markdown(f"### {self.title}", margin=(0, 10)), header]
        if sliders:
            parts.append(pn.Row(*sliders))
        for v in self.views:
            fig = v.figure()
            parts.append(fig if isinstance(fig, pn.viewable.Viewable) else
                         pn.pane.Bokeh(fig, sizing_mode="stretch_width"))
        self._layout = pn.Column(*parts, sizing_mode="stretch_width")
        self._show_status()
        return self._layout

    def show(self):
        """The layout, live: starts the thread and the periodic page update
        (in a notebook)."""
        layout = self.panel()
        self._go_live()
        return layout

    def _go_live(self) -> None:
        import panel as pn

        doc = pn.state.curdoc
        self._served = doc is not None and doc.session_context is not None
        for v in self.views:
            v.whole = not self._served  # a notebook page (see views._append)
        self.start()
        if self._callback is None and not self._closed:
            self._callback = cb = pn.state.add_periodic_callback(
                self._tick, period=max(10, int(1000 / (TICKS_PER_UPDATE * self.fps))),
                start=False)
            # not marking the session busy at every call: Panel's busy events
            # cost about 1.5 ms a call, and would flash a busy indicator
            cb._background = True
            cb.start()

    def servable(self):
        """The layout for a served session: it goes live once the page has
        loaded (nothing streams into a page that is not there yet) and
        closes when the session ends."""
        import panel as pn

        layout = self.panel()
        pn.state.onload(self._go_live)
        pn.state.on_session_destroyed(lambda context: self.close())
        return layout

    def _repr_mimebundle_(self, include=None, exclude=None):
        import panel as pn
        from panel.config import panel_extension

        if not panel_extension._loaded:
            # BokehJS and Panel's JavaScript from the kernel, not a CDN:
            # the page needs no network
            pn.extension(inline=True)
        return self.show()._repr_mimebundle_(include, exclude)

    def __repr__(self) -> str:
        s = self.status()
        return (f"<Dashboard t={s['t']:g} ms, {'running' if s['running'] else 'paused'}, "
                f"{len(self.views)} views, {len(self.controls)} controls>")


def _named(text: str) -> dict:
    """A widget's label: ``label`` in Panel >= 1.9, ``name`` before."""
    import panel as pn

    return {"label" if "label" in pn.widgets.Button.param else "name": text}


def _colour(kind: str) -> dict:
    import panel as pn

    return {"color" if "color" in pn.widgets.Button.param else "button_type": kind}


def _status_figure(source, ack):
    """A hidden plot that carries the status source to the page, where
    scripts and tests read it by name, and returns through ``ack`` the
    update count the page has applied."""
    from bokeh.models import CustomJS
    from bokeh.plotting import figure

    fig = figure(width=1, height=1, toolbar_location=None, visible=False)
    fig.scatter("t", "updates", source=source)
    source.js_on_change("data", CustomJS(args={"ack": ack}, code=(
        "if (ack.data.updates[0] !== cb_obj.data.updates[0])"
        " ack.data = {updates: [cb_obj.data.updates[0]]};")))
    return fig
