"""A static spike raster as a standalone Bokeh HTML file."""

from __future__ import annotations

import numpy as np


def _bokeh():
    try:
        import bokeh  # noqa: F401
    except ImportError:
        raise ImportError("the raster needs Bokeh: pip install 'snnlab[viz]'") from None


def raster_figure(sim, max_points: int = 50_000, title: str | None = None):
    """A Bokeh figure of the recorded spikes of every population.

    At most ``max_points`` spikes are drawn: the lowest neuron ids of each
    population, in proportion to its size, so the page stays responsive."""
    _bokeh()
    from bokeh.models import ColumnDataSource
    from bokeh.palettes import Category10_10
    from bokeh.plotting import figure

    pops = [sim.network.populations[name] for name in sim.recorded]
    total = sum(len(sim.spike_steps(p.name)[0]) for p in pops)
    frac = min(1.0, max_points / max(total, 1))
    fig = figure(title=title or f"spike raster, t = {sim.t:g} ms", height=420,
                 sizing_mode="stretch_width", x_axis_label="time [ms]",
                 y_axis_label="neuron", output_backend="webgl")
    offset = 0
    for k, pop in enumerate(pops):
        times, ids = sim.spikes(pop.name)
        keep = ids < max(1, int(np.ceil(pop.n * frac)))
        src = ColumnDataSource({"t": times[keep], "i": ids[keep] + offset},
                               name=f"spikes_{pop.name}")
        fig.scatter("t", "i", source=src, size=1.5, color=Category10_10[k % 10],
                    legend_label=f"{pop.name} ({keep.sum()} of {len(ids)} spikes)")
        offset += int(np.ceil(pop.n * frac))
    fig.legend.location = "top_right"
    return fig


def save_raster(sim, path, **kwargs) -> str:
    """Write the raster to a standalone HTML file (BokehJS inlined: no CDN).
    On several ranks every rank gathers the spikes (collective), rank 0 writes."""
    _bokeh()
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    fig = raster_figure(sim, **kwargs)
    if getattr(getattr(sim, "ranks", None), "rank", 0) != 0:
        return str(path)
    html = file_html(fig, INLINE, "snnlab raster")
    with open(path, "w", encoding="utf-8") as f:
        f.write(html)
    return str(path)
