"""Ready-made dashboards of the reference models, and the server behind
``snnlab serve``."""

from __future__ import annotations

import os
import sys

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
    from ..backend import usable_cores
    from ..plan import default_threads

    cores = usable_cores()
    return max(1, min(default_threads(net, cores), cores - 1))


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


def _check_port_free(address: str, port: int) -> None:
    """A clear error where the port is taken (otherwise the server's own
    traceback says it deep inside Tornado)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as s:
        try:
            s.bind((address, port))
        except OSError as e:
            raise OSError(f"serve: port {port} on {address} is not free ({e.strerror}): another "
                          f"snnlab serve, JupyterLab or Bokeh server may hold it; pass another "
                          f"--port, or stop that server") from None


def serve(model: str, port: int = 5006, address: str = "127.0.0.1", show: bool = False,
          play: bool = True, max_sessions: int = 4, **options):
    """Serve a model's dashboard at ``http://address:port/model``, one
    simulation per browser session (built when the page opens); blocks
    until interrupted.  Binds to 127.0.0.1 unless told otherwise.

    A page is built only for requests addressed to this server (``Host``
    and, where the browser sends them, ``Origin`` naming it, and no
    ``Sec-Fetch-Site: cross-site``: a web page elsewhere cannot make it
    build simulations), and only while fewer than ``max_sessions`` are
    open; otherwise the answer is a short page saying why."""
    if model not in APPS:
        raise ValueError(f"serve: model must be one of {sorted(APPS)}, got {model!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        raise ValueError(f"serve: port must be an integer in [0, 65536), got {port!r}")
    if isinstance(max_sessions, bool) or not isinstance(max_sessions, int) or max_sessions < 1:
        raise ValueError(f"serve: max_sessions must be a positive integer, got {max_sessions!r}")
    _check_port_free(address, port)
    import panel as pn

    factory = APPS[model]
    hosts = {f"{address}:{port}"} | ({f"localhost:{port}", f"127.0.0.1:{port}"}
                                     if address in ("127.0.0.1", "localhost") else set())
    open_sessions = set()

    def app():
        doc = pn.state.curdoc
        refused = _refused(doc.session_context.request.headers, hosts)
        if refused is None and len(open_sessions) >= max_sessions:
            refused = (f"{max_sessions} sessions are open, the most this server runs at "
                       "once (each runs a simulation): close one, or start the server with "
                       "a larger --max-sessions")
        if refused is not None:
            print(f"snnlab: refused a page request: {refused}", file=sys.stderr, flush=True)
            return pn.pane.Markdown(f"**snnlab** did not start a simulation: {refused}.")
        key = doc.session_context.id
        open_sessions.add(key)
        pn.state.on_session_destroyed(lambda context: open_sessions.discard(key))
        return factory(play=play, **options).servable()

    return pn.serve({model: app}, port=port, address=address, show=show,
                    websocket_origin=sorted(hosts), title=f"snnlab: {model}", threaded=False)


def _refused(headers, hosts: set[str]) -> str | None:
    """Why a request is not one for this server (None: it is)."""
    from urllib.parse import urlsplit

    host = headers.get("Host", "")
    if host not in hosts:
        return f"the request names the host {host!r}, this server answers {sorted(hosts)}"
    origin = headers.get("Origin")
    if origin and urlsplit(origin).netloc not in hosts:
        return f"the request comes from the page of {origin!r}"
    if headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        return "the request comes from another site's page"
    return None
