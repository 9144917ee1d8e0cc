"""Ready-made dashboards of the reference models, and the server behind
``snnlab serve``."""

from __future__ import annotations

import os

from .live import Dashboard, input_rate, parameter, plasticity, weight
from .views import Connectivity, Membrane, Raster, Rates, TopographicMap

__all__ = ["brunel_dashboard", "topographic_map_dashboard", "APPS", "serve"]


def _threads(net, threads):
    """The app's simulation threads: as asked, else the usual number but
    one core fewer than the machine has, so the browser and the interface
    thread are not in the way of the simulation's barriers (measured on 2
    cores: 1 thread runs the live Brunel network 1.5x faster than 2)."""
    if threads is not None or os.environ.get("SNNLAB_THREADS"):
        return threads
    from ..plan import default_threads

    return max(1, min(default_threads(net), (os.cpu_count() or 1) - 1))


def brunel_dashboard(n: int = 10_000, seed: int = 1, backend: str = "auto",
                     threads: int | None = None, play: bool = False, **options) -> Dashboard:
    """The Brunel network (:mod:`snnlab.zoo.brunel`) with a raster, the
    rates and three membrane traces; sliders for the input rate and for g,
    the relative strength of inhibition."""
    from ..simulation import Simulation
    from ..zoo import brunel

    net = brunel.network(n=n)
    sim = Simulation(net, backend=backend, seed=seed, threads=_threads(net, threads))
    sim.keep_spikes = False  # the views keep what they show; memory stays flat
    J = brunel.DEFAULTS["J"]
    rate = net.inputs["poisson->exc"].rate
    controls = [input_rate(["poisson->exc", "poisson->inh"], 0.0, round(2 * rate, -2)),
                weight(["inh->exc", "inh->inh"], 0.0, 8.0, scale=-J,
                       label="g (inhibition / excitation)")]
    views = [Raster(window=1000.0), Rates(bin=5.0, window=2000.0, fps=5.0),
             Membrane("exc", neurons=(0, 1, 2), window=500.0, fps=5.0)]
    return Dashboard(sim, views, controls, title=f"Brunel network, {n} neurons",
                     play=play, **options)


def topographic_map_dashboard(scale: int = 1, seed: int = 1, backend: str = "auto",
                              threads: int | None = None, play: bool = False,
                              **options) -> Dashboard:
    """Topographic map formation (:mod:`snnlab.zoo.topographic_map`): the
    receptive fields and the map quality as they refine, the rewiring of
    both projections, a raster and the rates; sliders for the STDP
    amplitude (A- follows A+ as in the model) and the spot's peak rate."""
    from ..simulation import Simulation
    from ..zoo import topographic_map as tm

    net = tm.network(scale=scale, seed=seed)
    sim = Simulation(net, backend=backend, seed=seed, threads=_threads(net, threads))
    sim.keep_spikes = False
    projections = list(net.projections)
    rule = net.projections["feedforward"].plasticity
    ratio = rule.a_minus / rule.a_plus
    controls = [plasticity(projections, "a_plus", 0.0, 4 * rule.a_plus, label="STDP A+ [uS]",
                           also=lambda a: {"a_minus": ratio * a}),
                _spot_peak(net)]
    views = [TopographicMap(interval=250.0), Raster(window=1000.0), Rates(bin=10.0),
             Connectivity("feedforward", interval=250.0), Connectivity("lateral",
                                                                       interval=250.0)]
    options.setdefault("chunk", 20.0)
    return Dashboard(sim, views, controls,
                     title=f"Topographic map formation, scale {scale}", play=play, **options)


def _spot_peak(net):
    """The input spot's peak rate (a parameter of the source population)."""
    peak = net.populations["source"].model.params["peak"]
    return parameter("source", "peak", 0.0, 2 * peak, label="spot peak rate [spikes/s]")


APPS = {"brunel": brunel_dashboard, "topographic_map": topographic_map_dashboard}


def serve(model: str, port: int = 5006, address: str = "127.0.0.1", show: bool = False,
          play: bool = True, **options):
    """Serve a model's dashboard at ``http://address:port/model``, one
    simulation per browser session (built when the page opens); blocks
    until interrupted.  Binds to 127.0.0.1 unless told otherwise."""
    if model not in APPS:
        raise ValueError(f"serve: model must be one of {sorted(APPS)}, got {model!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        raise ValueError(f"serve: port must be an integer in [0, 65536), got {port!r}")
    import panel as pn

    factory = APPS[model]

    def app():
        return factory(play=play, **options).servable()

    origins = [f"{address}:{port}"] + ([f"localhost:{port}"] if address == "127.0.0.1"
                                        else [])
    return pn.serve({model: app}, port=port, address=address, show=show,
                    websocket_origin=origins, title=f"snnlab: {model}", threaded=False)
