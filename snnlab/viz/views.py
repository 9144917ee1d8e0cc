"""Live views of a running simulation.

A view has two halves.  Its *data logic* runs on the host in the thread that
steps the simulation: :meth:`View.observe` receives every
:class:`~snnlab.simulation.RecordedChunk` (spikes, state samples) and
:meth:`View.sample` may read the live state between chunks (connectivity,
weights), within a time budget.  What it computes waits, under the view's
lock, until the interface thread takes it (:meth:`View.take`) and applies it
to the Bokeh models (:meth:`View.show`), at most a few times per second.
The data logic needs numpy only; Bokeh is imported when a figure is made.
Each view takes ``fps``: at most that many updates per second (default: as
often as the page updates); drawing costs the browser more than the data.

All views record into bounded buffers: a long live run does not grow.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

__all__ = ["View", "Raster", "Rates", "Membrane", "Connectivity", "TopographicMap"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


def _positive(name: str, value, view: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{view}: {name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{view}: {name} must be a finite number > 0, got {value!r}")
    return v


def _count(name: str, value, view: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{view}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _steps(name: str, ms: float, dt: float, view: str) -> int:
    """``ms`` as a whole number (>= 1) of steps of ``dt``."""
    n = round(ms / dt)
    if n < 1 or abs(n * dt - ms) > 1e-9 * max(ms, 1.0):
        raise ValueError(f"{view}: {name} = {ms:g} ms must be a positive multiple of "
                         f"dt = {dt:g} ms")
    return n


def _keep_last(parts: list, limit: int, axis: int = 0) -> list:
    """Pending pieces of a stream, cut to their last ``limit`` entries along
    ``axis`` (what nobody has shown yet stays bounded)."""
    if sum(p.shape[axis] for p in parts) <= 2 * limit:
        return parts
    joined = np.concatenate(parts, axis=axis)
    return [joined[(slice(None),) * axis + (slice(-limit, None),)]]


def _append(view, source, new: dict, rollover: int) -> None:
    """Add ``new`` rows to ``source``, keeping its last ``rollover``: streamed
    to a served page; in a notebook (``view.whole``) the source is sent
    whole, since streams sent through Jupyter comms (Panel 1.9, JupyterLab
    4) now and then never reached the page, leaving gaps in the lines,
    while a whole source leaves the page right at the next update."""
    if not view.whole:
        source.stream(new, rollover=rollover)
        return
    old = source.data
    source.data = {k: np.concatenate([np.asarray(old[k]), np.asarray(v)])[-rollover:]
                   for k, v in new.items()}


def _source(data: dict, **options):
    """A Bokeh ColumnDataSource the page never sends back: only the server
    (or kernel) writes it.  Synced back, a notebook page returned its copy
    of the data and overwrote newer rows in the kernel (gaps in the lines).
    """
    from bokeh.models import ColumnDataSource

    return ColumnDataSource(data, syncable=False, **options)


def _figure(**options):
    """A Bokeh figure whose automatic ranges stay in the browser: the ranges
    it computes at every update are not sent back to the server (a message
    and a document patch each, several per update, that nobody reads)."""
    from bokeh.models import DataRange1d
    from bokeh.plotting import figure

    fig = figure(**options)
    for r in (fig.x_range, fig.y_range):
        if isinstance(r, DataRange1d):
            r.syncable = False
    return fig


class View:
    """Base class of live views (module docstring)."""

    title = ""

    def __init__(self, fps: float | None = None):
        self._lock = threading.Lock()
        self.sim = None
        self.fps = None if fps is None else _positive("fps", fps, type(self).__name__)
        self.shown_at = -math.inf  # wall time of the last update shown
        self.whole = False  # send streamed sources whole (set for notebook pages)

    def due(self, now: float, page_fps: float) -> bool:
        """Whether to show an update now, at most ``fps`` per second (the
        page's rate when None)."""
        return self.fps is None or now - self.shown_at >= 1.0 / self.fps - 0.5 / page_fps

    def bind(self, sim) -> None:
        """Attach to a simulation (before it runs under a dashboard)."""
        if self.sim is not None and self.sim is not sim:
            raise ValueError(f"{type(self).__name__}: this view already watches another "
                             "simulation; make a new one")
        self.sim = sim

    def unbind(self) -> None:
        """Release what :meth:`bind` took (recorders)."""

    def observe(self, chunk) -> None:
        """Take the recorded data of a chunk (simulation thread)."""

    def sample(self, sim) -> None:
        """Read live state after a chunk, where due (simulation thread)."""

    def take(self):
        """What is new since the last call, or ``None`` (interface thread)."""
        return None

    def figure(self):
        """The view's Bokeh layout (made once)."""
        raise NotImplementedError

    def show(self, update) -> None:
        """Apply an update from :meth:`take` to the Bokeh models."""

    def _populations(self, sim, populations):
        have = list(sim.recorded)
        if populations is None:
            if not have:
                raise ValueError(f"{type(self).__name__}: the simulation records no spikes "
                                 "(Simulation(record_spikes=...))")
            return have
        pops = [populations] if isinstance(populations, str) else list(populations)
        bad = [p for p in pops if p not in have]
        if bad or not pops:
            raise ValueError(f"{type(self).__name__}: populations must be recorded ones "
                             f"{have}, got {bad or pops}")
        return pops


# ------------------------------------------------------------------ raster
class Raster(View):
    """Spike raster over the last ``window`` ms.

    ``mode="points"`` streams one dot per spike (typed arrays, rolled over
    at ``max_points``); ``mode="image"`` bins the spikes on the server into
    a ``shape = (rows, columns)`` image of neuron groups by time bins, the
    only way that stays fast in a browser for large networks.  ``"auto"``
    draws points up to ``max_neurons`` recorded neurons, an image above."""

    title = "spike raster"

    def __init__(self, populations=None, window: float = 1000.0, mode: str = "auto",
                 max_points: int = 20_000, max_neurons: int = 2000,
                 shape: tuple[int, int] = (200, 250), fps: float | None = None):
        super().__init__(fps)
        self.window = _positive("window", window, "Raster")
        if mode not in ("auto", "points", "image"):
            raise ValueError(f"Raster: mode must be 'auto', 'points' or 'image', got {mode!r}")
        self.mode = mode
        self.max_points = _count("max_points", max_points, "Raster")
        self.max_neurons = _count("max_neurons", max_neurons, "Raster")
        if not (isinstance(shape, (tuple, list)) and len(shape) == 2):
            raise ValueError(f"Raster: shape must be (rows, columns), got {shape!r}")
        self.shape = (_count("shape[0]", shape[0], "Raster"), _count("shape[1]", shape[1],
                                                                     "Raster"))
        self._populations_arg = populations

    def bind(self, sim) -> None:
        super().bind(sim)
        self.populations = self._populations(sim, self._populations_arg)
        sizes = [sim.network.populations[p].n for p in self.populations]
        self.n = sum(sizes)
        self.offsets = dict(zip(self.populations, np.cumsum([0] + sizes[:-1]).tolist()))
        if self.mode == "auto":
            self.mode = "points" if self.n <= self.max_neurons else "image"
        self.window_steps = _steps("window", self.window, sim.dt, "Raster")
        self.spikes_seen = 0
        self._last_step = sim.current_step
        if self.mode == "points":
            self._new = []
        else:
            rows = min(self.shape[0], self.n)
            self.row_size = -(-self.n // rows)  # neurons per row of the image
            self.rows = -(-self.n // self.row_size)
            self.col_steps = -(-self.window_steps // self.shape[1])
            self.cols = -(-self.window_steps // self.col_steps)
            self.counts = np.zeros((self.rows, self.cols), np.float32)
            self._head = sim.current_step // self.col_steps - 1  # last column written
            self._dirty = False

    def observe(self, chunk) -> None:
        steps, gids = [], []
        for p in self.populations:
            s, i = chunk.spikes.get(p, (np.empty(0, np.int64), np.empty(0, np.int32)))
            steps.append(s)
            gids.append(i.astype(np.int64) + self.offsets[p])
        steps, gids = np.concatenate(steps), np.concatenate(gids)
        with self._lock:
            self.spikes_seen += len(steps)
            self._last_step = chunk.last_step
            if self.mode == "points":
                order = np.argsort(steps, kind="stable")  # newest last, across populations
                self._new.append(np.stack([steps[order], gids[order]]))
                self._new = _keep_last(self._new, self.max_points, axis=1)
            else:
                self._bin(steps, gids, chunk.last_step)

    def _bin(self, steps, gids, last_step) -> None:
        last_col = (last_step - 1) // self.col_steps
        fresh = np.arange(self._head + 1, last_col + 1)[-self.cols:]  # columns entered anew
        self.counts[:, fresh % self.cols] = 0
        self._head = max(self._head, last_col)
        cols = steps // self.col_steps
        keep = cols > last_col - self.cols
        if keep.any():  # binned in the few columns the chunk spans, not the whole image
            cols, gids = cols[keep], gids[keep]
            first = int(cols.min())
            span = last_col - first + 1
            block = np.bincount((gids // self.row_size) * span + (cols - first),
                                minlength=self.rows * span).reshape(self.rows, span)
            self.counts[:, np.arange(first, last_col + 1) % self.cols] += block
        self._dirty = True

    def image(self):
        """``(image, x0, width)``: spike counts of neuron groups (rows, from
        neuron 0 up) by time bins (columns, oldest left), and the time span
        [ms] the columns cover."""
        dt = self.sim.dt
        first_col = self._head - self.cols + 1
        img = np.roll(self.counts, -((self._head + 1) % self.cols), axis=1)
        return img, first_col * self.col_steps * dt, self.cols * self.col_steps * dt

    def take(self):
        with self._lock:
            t = self._last_step * self.sim.dt
            if self.mode == "points":
                if not self._new:
                    return None
                steps, gids = np.concatenate(self._new, axis=1)
                self._new = []
                steps, gids = steps[-self.max_points:], gids[-self.max_points:]
                return {"t": t, "x": (steps + 1) * self.sim.dt, "y": gids.astype(np.int32),
                        "seen": self.spikes_seen}
            if not self._dirty:
                return None
            self._dirty = False
            img, x0, width = self.image()
        # one byte per pixel, a quarter of the data to send and parse: counts
        # up to 255 exactly, larger ones scaled (the colours are relative)
        top = float(img.max(initial=0.0))
        img = (img if top <= 255 else img * (255.0 / top)).astype(np.uint8)
        return {"t": t, "image": img, "x0": x0, "width": width, "seen": self.spikes_seen}

    def figure(self):
        from bokeh.models import LinearColorMapper, Range1d

        fig = _figure(title=self.title, height=300, sizing_mode="stretch_width",
                      x_axis_label="time [ms]", y_axis_label="neuron",
                      y_range=Range1d(0, self.n), x_range=Range1d(-self.window, 0),
                      tools="pan,wheel_zoom,box_zoom,reset,save", name="raster_figure")
        if self.mode == "points":
            self.source = _source({"x": np.empty(0), "y": np.empty(0, np.int32)},
                                  name="raster_points")
            fig.scatter("x", "y", source=self.source, size=2, color=PALETTE[0], alpha=0.7)
        else:
            self.source = _source({"image": [np.zeros((1, 1), np.uint8)],
                                  "x": [0.0], "y": [0.0], "dw": [1.0],
                                  "dh": [float(self.n)]}, name="raster_image")
            mapper = LinearColorMapper(palette="Greys256", low=0, high=None)
            mapper.palette = list(reversed(mapper.palette))
            fig.image("image", x="x", y="y", dw="dw", dh="dh", source=self.source,
                      color_mapper=mapper)
        for p in self.populations[1:]:  # boundaries between populations
            fig.line("x", "y", source=_source({"x": [-1e12, 1e12], "y": [self.offsets[p]] * 2}),
                     color="#999999", line_dash="dashed")
        self.fig = fig
        return fig

    def show(self, u) -> None:
        self.fig.x_range.update(start=u["t"] - self.window, end=u["t"])
        if self.mode == "points":
            _append(self, self.source, {"x": u["x"], "y": u["y"]}, self.max_points)
        else:
            self.source.data = {"image": [u["image"]], "x": [u["x0"]], "y": [0.0],
                                "dw": [u["width"]], "dh": [float(self.rows * self.row_size)]}


# ------------------------------------------------------------------- rates
class Rates(View):
    """Population rates [spikes/s] in bins of ``bin`` ms over the last
    ``window`` ms."""

    title = "population rates"

    def __init__(self, populations=None, bin: float = 5.0, window: float = 2000.0,
                 fps: float | None = None):
        super().__init__(fps)
        self.bin = _positive("bin", bin, "Rates")
        self.window = _positive("window", window, "Rates")
        self._populations_arg = populations

    def bind(self, sim) -> None:
        super().bind(sim)
        self.populations = self._populations(sim, self._populations_arg)
        self.bin_steps = _steps("bin", self.bin, sim.dt, "Rates")
        self.sizes = np.array([sim.network.populations[p].n for p in self.populations])
        self._next = sim.current_step // self.bin_steps  # first bin not yet complete
        self._carry = np.zeros(len(self.populations))  # spikes in that bin so far
        self._first_full = sim.current_step % self.bin_steps == 0
        self._out_t, self._out_r = [], []
        self.rollover = max(1, math.ceil(self.window / self.bin))

    def observe(self, chunk) -> None:
        done = chunk.last_step // self.bin_steps  # bins below are complete
        k = max(done - self._next, 0) + 1
        counts = np.zeros((len(self.populations), k))
        for j, p in enumerate(self.populations):
            s = chunk.spikes.get(p, (np.empty(0, np.int64),))[0]
            b = s // self.bin_steps - self._next
            counts[j] = np.bincount(b[(b >= 0) & (b < k)], minlength=k)[:k]
        counts[:, 0] += self._carry
        n_done = done - self._next
        if n_done > 0:
            bins = np.arange(self._next, done)
            rates = counts[:, :n_done] / (self.sizes[:, None] * self.bin * 1e-3)
            if not self._first_full:  # the first bin began before the view did
                rates, bins = rates[:, 1:], bins[1:]
                self._first_full = True
            with self._lock:
                self._out_t = _keep_last(self._out_t + [bins * self.bin], self.rollover)
                self._out_r = _keep_last(self._out_r + [rates], self.rollover, axis=1)
            self._carry = counts[:, n_done]
            self._next = done
        else:
            self._carry = counts[:, 0]

    def take(self):
        with self._lock:
            if not self._out_t:
                return None
            t, r = np.concatenate(self._out_t), np.concatenate(self._out_r, axis=1)
            self._out_t, self._out_r = [], []
        keep = slice(-self.rollover, None)
        return {"t": t[keep], "rates": r[:, keep]}

    def figure(self):
        self.source = _source({"t": np.empty(0), **{p: np.empty(0) for p in self.populations}},
                              name="rates")
        fig = _figure(title=self.title, height=220, sizing_mode="stretch_width",
                      x_axis_label="time [ms]", y_axis_label="spikes/s",
                      tools="pan,wheel_zoom,box_zoom,reset,save")
        for j, p in enumerate(self.populations):
            fig.line("t", p, source=self.source, color=PALETTE[j % 10], legend_label=p)
        fig.legend.location = "top_left"
        return fig

    def show(self, u) -> None:
        _append(self, self.source, {"t": u["t"], **{p: u["rates"][j]
                                                     for j, p in enumerate(self.populations)}},
                self.rollover)


# ---------------------------------------------------------------- membrane
class Membrane(View):
    """Traces of one state variable (default: the model's first) of chosen
    neurons over the last ``window`` ms, sampled every ``every`` steps
    (default: at most ``max_points`` samples in the window, the most a
    browser draws smoothly several times a second)."""

    title = "membrane traces"

    def __init__(self, population: str, neurons=(0, 1, 2), variable: str | None = None,
                 window: float = 500.0, every: int | None = None, max_points: int = 1000,
                 fps: float | None = None):
        super().__init__(fps)
        self.population = population
        self.neurons = np.asarray(neurons).ravel()
        self.variable = variable
        self.window = _positive("window", window, "Membrane")
        self.every = None if every is None else _count("every", every, "Membrane")
        self.max_points = _count("max_points", max_points, "Membrane")

    def bind(self, sim) -> None:
        if self.population not in sim.network.populations:
            raise ValueError(f"Membrane: population must be one of "
                             f"{sorted(sim.network.populations)}, got {self.population!r}")
        super().bind(sim)
        model = sim.network.populations[self.population].model
        if self.variable is None:
            self.variable = next(iter(model.state))
        if self.every is None:
            self.every = max(1, math.ceil(self.window / (sim.dt * self.max_points)))
        self.rec = sim.record(self.population, self.variable, neurons=self.neurons,
                              every=self.every)
        self.rec.keep = False
        self.rollover = max(1, math.ceil(self.window / (self.every * sim.dt)))
        self._t, self._v = [], []

    def unbind(self) -> None:
        if self.sim is not None and getattr(self, "rec", None) is not None:
            self.sim.remove_recorder(self.rec)
            self.rec = None

    def observe(self, chunk) -> None:
        got = chunk.samples.get(id(self.rec))
        if got is None:
            return
        steps, values = got
        with self._lock:
            self._t = _keep_last(self._t + [(steps + 1) * chunk.dt], self.rollover)
            self._v = _keep_last(self._v + [values], self.rollover)

    def take(self):
        with self._lock:
            if not self._t:
                return None
            t, v = np.concatenate(self._t), np.concatenate(self._v)
            self._t, self._v = [], []
        return {"t": t[-self.rollover:], "v": v[-self.rollover:]}

    def figure(self):
        cols = [f"n{i}" for i in self.neurons]
        self.source = _source({"t": np.empty(0), **{c: np.empty(0) for c in cols}},
                              name="membrane")
        fig = _figure(title=f"{self.title}: {self.population}.{self.variable}", height=220,
                      sizing_mode="stretch_width", x_axis_label="time [ms]",
                      y_axis_label=self.variable, tools="pan,wheel_zoom,box_zoom,reset,save")
        for j, c in enumerate(cols):
            fig.line("t", c, source=self.source, color=PALETTE[j % 10],
                     legend_label=f"neuron {self.neurons[j]}")
        fig.legend.location = "top_left"
        return fig

    def show(self, u) -> None:
        _append(self, self.source, {"t": u["t"], **{f"n{i}": u["v"][:, j].astype(np.float64)
                                                     for j, i in enumerate(self.neurons)}},
                self.rollover)


# --------------------------------------------------------- sampled views
class _Sampled(View):
    """A view that reads live state every ``interval`` ms of model time, but
    spends at most ``budget`` of the wall time doing so (reading the
    connectivity of a large projection is not free)."""

    def __init__(self, interval: float, budget: float, history: int, fps: float | None):
        super().__init__(fps)
        self.interval = _positive("interval", interval, type(self).__name__)
        self.budget = _positive("budget", budget, type(self).__name__)
        self.history = _count("history", history, type(self).__name__)
        self._update = None

    def bind(self, sim) -> None:
        super().bind(sim)
        self._last_t = -math.inf
        self._spent = 0.0
        self._since = time.perf_counter()

    def sample(self, sim) -> None:
        if sim.t - self._last_t < self.interval - 1e-9:
            return
        t0 = time.perf_counter()
        if self._spent > self.budget * (t0 - self._since):
            return
        self._last_t = sim.t
        update = self.compute(sim)
        self._spent += time.perf_counter() - t0
        with self._lock:
            if self._update is not None:  # not shown yet: keep its time series points
                update = self.merge(self._update, update)
            self._update = update

    def compute(self, sim) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def merge(self, old: dict, new: dict) -> dict:
        """An update that was not shown, followed by a newer one."""
        series = {k: np.concatenate([old["series"][k], new["series"][k]])
                  for k in new["series"]}
        return {**new, "series": series}

    def take(self):
        with self._lock:
            u, self._update = self._update, None
        return u


def _histogram(values: np.ndarray, bins: int):
    """Integer-valued data: unit bins when few, else ``bins`` equal ones."""
    if len(values) == 0:
        return np.zeros(1), np.array([0.0, 1.0])
    lo, hi = float(values.min()), float(values.max())
    if values.dtype.kind in "iu" and hi - lo + 1 <= bins:
        edges = np.arange(lo, hi + 2) - 0.5
    else:
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    return np.histogram(values, edges)[0], edges


class Connectivity(_Sampled):
    """How a projection evolves: its synapse count over time, formed and
    removed synapses per interval (rewired projections), the in- and
    out-degree and weight distributions now, and, for projections of at most
    ``max_matrix`` pre x post pairs, the weight matrix as an image."""

    def __init__(self, projection: str, interval: float = 200.0, budget: float = 0.05,
                 bins: int = 30, max_matrix: int = 256 * 256, history: int = 500,
                 fps: float | None = None):
        super().__init__(interval, budget, history, fps)
        self.projection = projection
        self.bins = _count("bins", bins, "Connectivity")
        self.max_matrix = _count("max_matrix", max_matrix, "Connectivity", low=0)
        self.title = f"connectivity: {projection}"

    def bind(self, sim) -> None:
        if self.projection not in sim.network.projections:
            raise ValueError(f"Connectivity: projection must be one of "
                             f"{sorted(sim.network.projections)}, got {self.projection!r}")
        super().bind(sim)
        proj = sim.network.projections[self.projection]
        self.n_pre, self.n_post = proj.pre.n, proj.post.n
        self.rewired = proj.rewiring is not None
        self.matrix = self.n_pre * self.n_post <= self.max_matrix
        self._counted = sim.t  # rewiring calls up to here are in an earlier interval

    def compute(self, sim) -> dict:
        c = sim.connectivity(self.projection)
        pre, post = c["pre"].astype(np.int64), c["post"].astype(np.int64)
        w = c["weight"].astype(np.float64)
        formed = removed = 0
        if self.rewired:
            rc = sim.rewiring_counts(self.projection)
            new = rc["t"] > self._counted + 1e-9
            formed, removed = int(rc["formed"][new].sum()), int(rc["removed"][new].sum())
            self._counted = sim.t
        out = {"t": sim.t,
               "series": {"t": np.array([sim.t]), "synapses": np.array([len(pre)]),
                          "formed": np.array([formed]), "removed": np.array([removed])},
               "in_degree": _histogram(np.bincount(post, minlength=self.n_post), self.bins),
               "out_degree": _histogram(np.bincount(pre, minlength=self.n_pre), self.bins),
               "weight": _histogram(w, self.bins)}
        if self.matrix:
            m = np.zeros((self.n_post, self.n_pre), np.float32)
            np.add.at(m, (post, pre), w.astype(np.float32))
            out["matrix"] = m
        return out

    def figure(self):
        import panel as pn
        from bokeh.models import LinearColorMapper

        kw = dict(height=220, sizing_mode="stretch_width",
                  tools="pan,wheel_zoom,box_zoom,reset,save")
        self.series = _source({k: np.empty(0) for k in
                              ("t", "synapses", "formed", "removed")},
                              name=f"conn_series_{self.projection}")
        count = _figure(title=f"{self.projection}: synapses", x_axis_label="time [ms]", **kw)
        count.line("t", "synapses", source=self.series, color=PALETTE[0])
        figs = [count]
        if self.rewired:
            churn = _figure(title=f"{self.projection}: formed and removed per "
                            f"{self.interval:g} ms", x_axis_label="time [ms]", **kw)
            churn.line("t", "formed", source=self.series, color=PALETTE[2],
                       legend_label="formed")
            churn.line("t", "removed", source=self.series, color=PALETTE[1],
                       legend_label="removed")
            churn.legend.location = "top_left"
            figs.append(churn)
        self.hists = {}
        for key, label in (("in_degree", "in-degree"), ("out_degree", "out-degree"),
                           ("weight", "weight")):
            src = _source({"top": np.empty(0), "left": np.empty(0),
                          "right": np.empty(0)},
                          name=f"conn_{key}_{self.projection}")
            f = _figure(title=f"{self.projection}: {label}", x_axis_label=label, **kw)
            f.quad(top="top", bottom=0, left="left", right="right", source=src,
                   color=PALETTE[0], alpha=0.7)
            self.hists[key] = src
            figs.append(f)
        if self.matrix:
            self.image = _source({"image": [np.zeros((1, 1), np.float32)]},
                                 name=f"conn_matrix_{self.projection}")
            f = _figure(title=f"{self.projection}: weights (target x source)",
                        x_range=(0, self.n_pre), y_range=(0, self.n_post),
                        x_axis_label="source", y_axis_label="target", height=300,
                        width=300, tools="pan,wheel_zoom,reset,save")
            f.image("image", x=0, y=0, dw=self.n_pre, dh=self.n_post, source=self.image,
                    color_mapper=LinearColorMapper(palette="Viridis256", low=0, high=None))
            figs.append(f)
        return pn.GridBox(*figs, ncols=3, sizing_mode="stretch_width")

    def show(self, u) -> None:
        _append(self, self.series, u["series"], self.history)
        for key, src in self.hists.items():
            counts, edges = u[key]
            src.data = {"top": counts.astype(np.float64), "left": edges[:-1],
                        "right": edges[1:]}
        if self.matrix:
            self.image.data = {"image": [u["matrix"]]}


class TopographicMap(_Sampled):
    """A topographic map (:mod:`snnlab.zoo.topographic_map`): each target's
    receptive-field centre (from the weights) drawn as a segment from the
    neuron's own place on the grid, and ``sigma_aff`` and ``AD`` from
    connectivity and from weights over time, against the shuffled control."""

    title = "topographic map"
    METRICS = ("sigma_aff_conn", "sigma_aff_weight", "ad_conn", "ad_weight",
               "sigma_aff_shuffled", "ad_shuffled")

    def __init__(self, projection: str = "feedforward", interval: float = 500.0,
                 budget: float = 0.05, history: int = 1000, seed: int = 0,
                 fps: float | None = None):
        super().__init__(interval, budget, history, fps)
        self.projection = projection
        self.seed = seed

    def bind(self, sim) -> None:
        if self.projection not in sim.network.projections:
            raise ValueError(f"TopographicMap: projection must be one of "
                             f"{sorted(sim.network.projections)}, got {self.projection!r}")
        proj = sim.network.projections[self.projection]
        self.width = int(round(math.sqrt(proj.post.n)))
        if self.width ** 2 != proj.post.n or proj.pre.n != proj.post.n:
            raise ValueError(f"TopographicMap: projection {self.projection!r} must join two "
                             f"square layers of equal size, has {proj.pre.n} -> {proj.post.n}")
        super().bind(sim)

    def compute(self, sim) -> dict:
        from ..zoo import topographic_map as tm

        c = sim.connectivity(self.projection)
        m = tm.metrics(sim, self.projection, seed=self.seed, connectivity=c)
        centre, _ = tm.field_centres(c["pre"].astype(np.int64), c["post"].astype(np.int64),
                                     c["weight"].astype(np.float64), self.width,
                                     self.width ** 2)
        own = np.stack([np.arange(self.width ** 2) % self.width,
                        np.arange(self.width ** 2) // self.width], axis=1).astype(float)
        d = (centre - own + self.width / 2) % self.width - self.width / 2  # shortest way
        values = {"sigma_aff_conn": m["conn"]["sigma_aff"],
                  "sigma_aff_weight": m["weight"]["sigma_aff"],
                  "ad_conn": m["conn"]["ad"], "ad_weight": m["weight"]["ad"],
                  "sigma_aff_shuffled": m["shuffled_weight"]["sigma_aff"],
                  "ad_shuffled": m["shuffled_weight"]["ad"]}
        return {"t": sim.t, "metrics": values,
                "series": {"t": np.array([sim.t]),
                           **{k: np.array([v]) for k, v in values.items()}},
                "x0": own[:, 0], "y0": own[:, 1], "x1": own[:, 0] + d[:, 0],
                "y1": own[:, 1] + d[:, 1]}

    def figure(self):
        import panel as pn

        self.fields = _source({k: np.empty(0) for k in ("x0", "y0", "x1", "y1")},
                              name="map_fields")
        w = self.width
        grid = _figure(title="receptive-field centres (weights)", width=380, height=380,
                       x_range=(-1, w), y_range=(-1, w), match_aspect=True,
                       tools="pan,wheel_zoom,reset,save")
        grid.segment("x0", "y0", "x1", "y1", source=self.fields, color=PALETTE[0])
        grid.scatter("x1", "y1", source=self.fields, size=3, color=PALETTE[1])
        self.series = _source({k: np.empty(0) for k in ("t",) + self.METRICS},
                              name="map_metrics")
        quality = _figure(title="map quality [grid units]", height=380,
                          sizing_mode="stretch_width", x_axis_label="time [ms]",
                          tools="pan,wheel_zoom,box_zoom,reset,save")
        for k, (key, label) in enumerate((("sigma_aff_conn", "sigma_aff (connectivity)"),
                                          ("sigma_aff_weight", "sigma_aff (weights)"),
                                          ("ad_conn", "AD (connectivity)"),
                                          ("ad_weight", "AD (weights)"))):
            quality.line("t", key, source=self.series, color=PALETTE[k], legend_label=label)
        for k, (key, label) in enumerate((("sigma_aff_shuffled", "sigma_aff shuffled"),
                                          ("ad_shuffled", "AD shuffled"))):
            quality.line("t", key, source=self.series, color=PALETTE[2 * k],
                         line_dash="dashed", legend_label=label)
        quality.legend.location = "top_left"
        quality.legend.click_policy = "hide"
        return pn.Row(grid, quality, sizing_mode="stretch_width")

    def show(self, u) -> None:
        self.fields.data = {k: u[k] for k in ("x0", "y0", "x1", "y1")}
        _append(self, self.series, u["series"], self.history)
