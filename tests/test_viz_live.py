"""Live views and dashboards: the views' data logic against references
computed here from the recorded spikes, states and connectivity; the
dashboard's chunking, controls and thread; the observer hook and live
parameter changes of the simulation."""

import threading
import time

import numpy as np
import pytest

import snnlab as sl
from snnlab.simulation import RecordedChunk
from snnlab.zoo import brunel
from snnlab.zoo import topographic_map as tm

pytest.importorskip("panel")
from snnlab.viz import (  # noqa: E402
    Connectivity,
    Control,
    Dashboard,
    Membrane,
    Raster,
    Rates,
    TopographicMap,
    input_rate,
    parameter,
    plasticity,
    weight,
)


def brunel_sim(n=400, seed=3, **kw):
    return sl.Simulation(brunel.network(n=n), backend="cpu", seed=seed, threads=1, **kw)


def chunk_of(first, last, spikes, samples=None):
    return RecordedChunk(first, last, 0.1, spikes, samples or {})


def wait_until(condition, what, seen=lambda: None, timeout=60.0):
    """Poll ``condition()`` until it holds; the timeout bounds a hang only
    (no test asserts how fast the machine is), and the failure says what
    was awaited and ``seen()``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; saw {seen()}")
        time.sleep(0.01)


# ------------------------------------------------------------ observers
def test_observers_see_every_spike_once_and_keep_spikes_false_keeps_none():
    ref = brunel_sim()
    ref.run(95.0)
    sim = brunel_sim(chunk_steps=70)
    sim.keep_spikes = False
    got = []
    sim.add_observer(got.append)
    for n in (130, 1, 300, 519):  # 950 steps in uneven calls, drains inside them too
        sim.step(n)
    assert [c.first_step for c in got[1:]] == [c.last_step for c in got[:-1]]
    assert got[0].first_step == 0 and got[-1].last_step == 950
    for pop in ("exc", "inh"):
        steps = np.concatenate([c.spikes[pop][0] for c in got])
        ids = np.concatenate([c.spikes[pop][1] for c in got])
        rs, ri = ref.spike_steps(pop)
        np.testing.assert_array_equal(steps, rs)
        np.testing.assert_array_equal(ids, ri)
        assert len(sim.spike_steps(pop)[0]) == 0  # nothing kept
    sim.remove_observer(got.append)
    sim.step(10)
    assert got[-1].last_step == 950
    with pytest.raises(TypeError, match="fn must be callable"):
        sim.add_observer(3)


def test_recorder_samples_reach_observers_and_removed_recorder_stops():
    sim = brunel_sim()
    keep = sim.record("exc", "V_m", neurons=[1, 5], every=3)
    live = sim.record("exc", "V_m", neurons=[1, 5], every=3)
    live.keep = False
    got = []
    sim.add_observer(lambda c: got.append(c.samples.get(id(live))))
    sim.run(30.0)
    steps = np.concatenate([g[0] for g in got if g is not None])
    values = np.concatenate([g[1] for g in got if g is not None])
    np.testing.assert_array_equal((steps + 1) * sim.dt, keep.times)
    np.testing.assert_array_equal(values, keep.values.reshape(len(steps), -1))
    assert len(live.times) == 0
    sim.remove_recorder(keep)
    sim.run(10.0)
    assert len(keep.times) == 100 and keep.buf is None  # 300 steps / 3, no more
    with pytest.raises(ValueError, match="not a recorder"):
        sim.remove_recorder(keep)


# ------------------------------------------------------------- raster
def _raster_reference(steps, gids, last_step, col_steps, cols, row_size, rows):
    first_col = (last_step - 1) // col_steps - cols + 1
    col = steps // col_steps - first_col
    keep = col >= 0
    ref = np.zeros((rows, cols))
    np.add.at(ref, (gids[keep] // row_size, col[keep]), 1)
    return ref, first_col


def test_raster_image_bins_the_last_window_exactly():
    sim = brunel_sim(n=1000)
    view = Raster(window=50.0, mode="image", shape=(7, 9))
    view.bind(sim)
    assert (view.col_steps, view.cols) == (56, 9)  # 500 steps in 9 columns of 56
    assert (view.row_size, view.rows) == (143, 7)
    rng = np.random.default_rng(0)
    all_s, all_g, step = [], [], 0
    for length in (30, 200, 1, 77, 900, 13, 400):  # chunks of any length
        s = np.sort(rng.integers(step, step + length, size=40 * length))
        g = rng.integers(0, 1000, size=s.size)
        exc, inh = g < 800, g >= 800
        view.observe(chunk_of(step, step + length,
                              {"exc": (s[exc], g[exc].astype(np.int32)),
                               "inh": (s[inh], (g[inh] - 800).astype(np.int32))}))
        step += length
        all_s.append(s)
        all_g.append(g)
        img, x0, width = view.image()
        ref, first_col = _raster_reference(np.concatenate(all_s), np.concatenate(all_g), step,
                                           56, 9, 143, 7)
        np.testing.assert_array_equal(img, ref)
        assert x0 == pytest.approx(first_col * 56 * 0.1) and width == pytest.approx(50.4)
    assert view.spikes_seen == sum(len(s) for s in all_s)


def test_raster_points_keep_the_newest_spikes_with_population_offsets():
    sim = brunel_sim(n=100)
    view = Raster(mode="auto", max_points=50)
    view.bind(sim)
    assert view.mode == "points" and view.offsets == {"exc": 0, "inh": 80}
    view.observe(chunk_of(0, 10, {"exc": (np.arange(10), np.arange(10, dtype=np.int32)),
                                       "inh": (np.array([3, 4]), np.array([1, 2], np.int32))}))
    view.observe(chunk_of(10, 20, {"exc": (np.arange(10, 60), np.zeros(50, np.int32)),
                                        "inh": (np.empty(0, int), np.empty(0, np.int32))}))
    u = view.take()
    assert len(u["x"]) == 50 and u["seen"] == 62
    np.testing.assert_array_equal(u["x"], (np.arange(10, 60) + 1) * 0.1)
    assert view.take() is None
    view.observe(chunk_of(20, 30, {"exc": (np.empty(0, int), np.empty(0, np.int32)),
                                        "inh": (np.array([25]), np.array([7], np.int32))}))
    assert view.take()["y"].tolist() == [87]


# -------------------------------------------------------------- rates
def test_rates_match_binned_spike_counts_for_any_chunking():
    ref = brunel_sim()
    ref.run(200.0)
    sim = brunel_sim()
    sim.run(1.3)  # bound mid-bin: the first, partial bin is not shown
    view = Rates(bin=2.0, window=1000.0)
    view.bind(sim)
    sim.add_observer(view.observe)
    ts, rs = [], []
    for n in (7, 113, 20, 1, 600, 1246):
        sim.step(n)
        u = view.take()
        if u is not None:
            ts.append(u["t"])
            rs.append(u["rates"])
    t, r = np.concatenate(ts), np.concatenate(rs, axis=1)
    np.testing.assert_allclose(t, np.arange(1, 100) * 2.0)  # bins [2, 4) ... [198, 200)
    for j, (pop, n) in enumerate((("exc", 320), ("inh", 80))):
        steps = ref.spike_steps(pop)[0]
        counts = np.bincount(steps // 20, minlength=100)[1:100]
        np.testing.assert_allclose(r[j], counts / (n * 2e-3))


def test_views_nobody_reads_stay_bounded():
    sim = brunel_sim()
    rates, raster = Rates(bin=1.0, window=20.0), Raster(mode="points", max_points=300)
    membrane = Membrane("exc", neurons=[3], window=5.0, every=1)
    for v in (rates, raster, membrane):
        v.bind(sim)
        sim.add_observer(v.observe)
    sim.run(2.0)
    ref = brunel_sim()
    ref_v = ref.record("exc", "V_m", neurons=[3])
    for _ in range(40):  # 40 drains, nothing taken
        sim.run(5.0)
    ref.run(202.0)
    assert sum(len(t) for t in rates._out_t) <= 40
    assert sum(p.shape[1] for p in raster._new) <= 600
    assert sum(len(t) for t in membrane._t) <= 100
    u = rates.take()
    steps = ref.spike_steps("exc")[0]
    np.testing.assert_array_equal(u["t"], np.arange(182, 202) * 1.0)
    np.testing.assert_allclose(u["rates"][0], np.bincount(steps // 10)[182:202] / (320 * 1e-3))
    p = raster.take()
    all_steps = np.sort(np.concatenate([ref.spike_steps("exc")[0], ref.spike_steps("inh")[0]]))
    np.testing.assert_array_equal(np.sort(p["x"]), (all_steps[-300:] + 1) * 0.1)
    m = membrane.take()
    np.testing.assert_array_equal(m["v"][:, 0], ref_v["V_m"][-50:, 0])


def test_membrane_view_streams_the_recorded_variable():
    sim = brunel_sim()
    view = Membrane("exc", neurons=[0, 7], window=20.0, max_points=50)
    view.bind(sim)
    assert view.every == 4 and view.rollover == 50  # 200 steps in at most 50 samples
    ref = sim.record("exc", "V_m", neurons=[0, 7], every=4)
    sim.add_observer(view.observe)
    sim.run(30.0)
    u = view.take()
    np.testing.assert_array_equal(u["t"], ref.times[-50:])
    np.testing.assert_array_equal(u["v"], ref["V_m"][-50:])
    view.unbind()
    assert len(sim.recorders) == 1
    with pytest.raises(ValueError, match="population must be one of"):
        Membrane("nope").bind(sim)


# ---------------------------------------------------------- sampled views
def map_sim(**kw):
    return sl.Simulation(tm.network(scale=1, seed=2), backend="cpu", seed=2, threads=1, **kw)


def test_connectivity_view_against_the_live_connectivity():
    sim = map_sim()
    view = Connectivity("feedforward", interval=50.0, budget=100.0, bins=10)
    view.bind(sim)
    view.sample(sim)  # t = 0
    first = view.take()
    sim.run(120.0)
    view.sample(sim)
    u = view.take()
    c = sim.connectivity("feedforward")
    assert u["series"]["synapses"].tolist() == [len(c["pre"])]
    counts = sim.rewiring_counts("feedforward")
    assert u["series"]["formed"][0] == counts["formed"].sum() > 0
    assert u["series"]["removed"][0] == counts["removed"].sum()
    h, edges = u["in_degree"]
    deg = np.bincount(c["post"], minlength=256)
    np.testing.assert_array_equal(h, np.histogram(deg, edges)[0])
    assert h.sum() == 256 and u["weight"][0].sum() == len(c["pre"])
    m = np.zeros((256, 256))
    np.add.at(m, (c["post"], c["pre"]), c["weight"])
    np.testing.assert_allclose(u["matrix"], m, rtol=1e-6)
    assert first["series"]["formed"][0] == 0
    view.sample(sim)  # not due: same time
    assert view.take() is None


def test_sampled_views_merge_unshown_updates_and_keep_to_their_budget():
    sim = map_sim()
    view = Connectivity("lateral", interval=10.0, budget=100.0)
    view.bind(sim)
    for _ in range(3):
        view.sample(sim)
        sim.run(10.0)
    u = view.take()
    assert u["series"]["t"].tolist() == [0.0, 10.0, 20.0]  # three samples, one update
    starved = Connectivity("lateral", interval=10.0, budget=1e-9)
    starved.bind(sim)
    starved.sample(sim)  # the first sample is free: nothing spent yet
    for _ in range(3):
        sim.run(10.0)
        starved.sample(sim)
    assert starved.take()["series"]["t"].tolist() == [30.0]


def test_topographic_map_view_matches_the_model_metrics():
    sim = map_sim()
    sim.run(200.0)
    view = TopographicMap(interval=100.0, budget=100.0, seed=5)
    view.bind(sim)
    view.sample(sim)
    u = view.take()
    m = tm.metrics(sim, seed=5)
    assert u["metrics"]["ad_conn"] == m["conn"]["ad"]
    assert u["metrics"]["sigma_aff_weight"] == m["weight"]["sigma_aff"]
    assert u["metrics"]["ad_shuffled"] == m["shuffled_weight"]["ad"]
    c = sim.connectivity("feedforward")
    centre, _ = tm.field_centres(c["pre"].astype(int), c["post"].astype(int),
                                 c["weight"].astype(float), 16, 256)
    np.testing.assert_allclose(np.mod(u["x1"], 16), centre[:, 0], atol=1e-9)
    np.testing.assert_allclose(np.mod(u["y1"], 16), centre[:, 1], atol=1e-9)
    assert np.all(np.hypot(u["x1"] - u["x0"], u["y1"] - u["y0"]) <= 8 * np.sqrt(2) + 1e-9)
    with pytest.raises(ValueError, match="projection must be one of"):
        TopographicMap("nope").bind(sim)


# ------------------------------------------------------------ dashboard
def test_dashboard_advances_whole_chunks_and_updates_its_figures():
    sim = brunel_sim(n=1000)
    dash = Dashboard(sim, [Raster(window=100.0, mode="image"), Rates(bin=1.0)], chunk=2.5)
    dash.panel()
    dash.advance(4)
    assert sim.t == 10.0 and dash.chunks == 4 and dash.updates == 1
    raster, rates = dash.views
    img = raster.source.data["image"][0]
    assert img.sum() == raster.spikes_seen > 0
    assert len(rates.source.data["t"]) == 10
    dash.advance(0)
    assert sim.t == 10.0
    dash.close()


def test_views_keep_to_their_own_rate():
    sim = brunel_sim()
    fast, slow = Rates(bin=1.0), Rates(bin=1.0, fps=2.0)
    dash = Dashboard(sim, [fast, slow], chunk=1.0, fps=10.0)
    dash.panel()
    dash.advance(1)  # advance shows every view
    assert len(fast.source.data["t"]) == len(slow.source.data["t"]) == 1
    sim.run(10.0)
    # shown just now (not when advance returned: the run takes the machine's
    # time, and from 0.45 s on the slow view would be due)
    slow.shown_at = time.perf_counter()
    dash.refresh()  # the page clock: the slow view is not due yet
    assert len(fast.source.data["t"]) == 11 and len(slow.source.data["t"]) == 1
    slow.shown_at -= 0.45  # half a second, less half a page period, later
    dash.refresh()
    assert len(slow.source.data["t"]) == 11  # nothing was lost meanwhile
    # due from 1/fps less half a page period on (off the boundary: perf_counter
    # values are large, and their sums round)
    assert slow.due(slow.shown_at + 0.449, 10.0) is False
    assert slow.due(slow.shown_at + 0.451, 10.0) and fast.due(fast.shown_at, 10.0)


def test_automatic_ranges_are_not_sent_back_to_the_server():
    # a browser-computed range would come back as a document patch at every
    # update; every automatic range is kept in the browser, the others
    # (set from the server) stay synchronised
    from bokeh.models import ColumnDataSource, DataRange1d, Range1d

    sim = map_sim()
    views = [Raster(), Rates(), Membrane("target", neurons=(0,)), Connectivity("feedforward"),
             TopographicMap()]
    for v in views:
        v.bind(sim)
    automatic = []
    for v in views:
        fig = v.figure()
        figs = [pane.object for pane in fig.objects] if hasattr(fig, "objects") else [fig]
        for fig in figs:
            automatic += fig.select({"type": DataRange1d})
            assert all(not r.syncable for r in fig.select({"type": DataRange1d})), v
            assert all(r.syncable for r in fig.select({"type": Range1d}))
            # nor the data: a page that sent its copy back overwrote newer rows
            sources = fig.select({"type": ColumnDataSource})
            assert sources and all(not s.syncable for s in sources), v
    assert len(automatic) >= 4


def test_notebook_pages_get_whole_sources_equal_to_the_streams():
    # streamed in a served page, sent whole to a notebook page: the same rows
    sim, twin = brunel_sim(), brunel_sim()
    streamed = [Rates(bin=1.0, window=20.0), Membrane("exc", neurons=(0, 3), window=15.0)]
    whole = [Rates(bin=1.0, window=20.0), Membrane("exc", neurons=(0, 3), window=15.0)]
    for views, s in ((streamed, sim), (whole, twin)):
        dash = Dashboard(s, views, chunk=3.0)
        dash.panel()
        for v in views:
            v.whole = views is whole
        for _ in range(12):  # past the rollover
            dash.advance(1)
        dash.close()
    for a, b in zip(streamed, whole):
        assert set(a.source.data) == set(b.source.data)
        for k in a.source.data:
            np.testing.assert_array_equal(np.asarray(a.source.data[k]), b.source.data[k])
        assert len(a.source.data["t"]) == a.rollover


def test_page_updates_keep_to_a_fixed_clock():
    # the event loop calls back every 25 ms plus up to 6 ms of delay (its
    # timer sleeps after each call, so it drifts); the page must still get
    # one update per 100 ms grid point, never two within one period
    dash = Dashboard(brunel_sim(), [Rates()], fps=10.0)
    rng = np.random.default_rng(3)
    polls = np.cumsum(0.025 + rng.uniform(0.0, 0.006, size=400))
    shown = polls[[dash._tick(t) for t in polls]]
    period, start = 0.1, polls[0]
    assert shown[0] == start
    assert len(shown) == 1 + int((polls[-1] - start) // period)  # every grid point
    assert np.all(np.diff(shown) > period - 0.031) and np.all(np.diff(shown) < period + 0.031)
    # a 350 ms stall of the loop drops the updates it covers, then the
    # clock restarts at the late call
    late = polls[-1] + 0.35
    assert dash._tick(late) and not dash._tick(late + 0.09) and dash._tick(late + 0.1)
    dash.close()


def test_a_notebook_page_gets_the_status_again_each_second():
    """Jupyter comms now and then lose a message: a notebook page is sent
    the status again once a second even when it did not change (a lost
    "paused" would otherwise stay on the page); a served page only on
    changes."""
    dash = Dashboard(brunel_sim(), [Rates()], chunk=1.0)
    dash.panel()
    dash.advance(1)
    t0 = time.perf_counter() + 10.0  # (the clock the dashboard reads on its own)
    dash._show_status(now=t0)
    beat = dash._status_source.data["beat"][0]
    dash._show_status(now=t0 + 0.5)  # unchanged, within the second
    assert dash._status_source.data["beat"][0] == beat
    dash._show_status(now=t0 + 1.0)  # unchanged, a second later: sent again
    assert dash._status_source.data["beat"][0] == beat + 1
    assert dash._status_source.data["running"] == [0]
    assert dash._status_source.data["t"] == [dash.sim.t]
    dash._served = True
    dash._show_status(now=t0 + 5.0)
    assert dash._status_source.data["beat"][0] == beat + 1
    dash.close()


def test_updates_wait_for_a_served_page_that_lags():
    # a served page acknowledges the updates it applied; with two or more
    # unapplied, the clock holds back (a notebook page is never waited for)
    dash = Dashboard(brunel_sim(), [Rates(bin=1.0)], chunk=1.0, fps=10.0)
    dash.panel()
    dash.advance(1)
    dash.advance(1)  # two updates shown, none acknowledged
    assert dash.updates == 2
    assert dash._tick(100.0)  # not served: no wait
    dash._served = True
    dash.sim.run(1.0)
    assert not dash._tick(200.0) and dash.updates == 3 - 1
    dash._ack.data = {"updates": [dash.updates - 1]}  # the page is one behind
    assert dash._tick(200.0) and dash.updates == 3
    assert not dash._tick(200.2)  # due, but two unapplied again
    dash.close()


def test_dashboard_duration_and_controls():
    sim = brunel_sim()
    ctl = input_rate(["poisson->exc", "poisson->inh"], 0.0)
    dash = Dashboard(sim, [Rates(bin=10.0)], [ctl], chunk=10.0, duration=35.0)
    rate = sim.input_values["poisson->exc"][0]
    assert dash.values[ctl.label] == rate and ctl.end == 2 * rate
    dash.advance(2)
    dash.set_control(ctl.label, 1e9)  # clipped to the slider's range; no thread: at once
    assert sim.input_values["poisson->exc"][0] == 2 * rate
    dash.advance(10)
    assert sim.t == 35.0  # stopped at the duration, mid-chunk
    assert sim.input_values["poisson->exc"] == (2 * rate, 0.1)
    assert sim.input_values["poisson->inh"][0] == 2 * rate
    with pytest.raises(KeyError, match="no control"):
        dash.set_control("nope", 1.0)


def test_dashboard_thread_play_pause_step():
    sim = brunel_sim()
    dash = Dashboard(sim, [Rates()], chunk=5.0)
    dash.start()
    dash.play()
    wait_until(lambda: dash.chunks >= 3, "3 chunks", lambda: f"{dash.chunks} chunks")
    dash.pause()
    t = sim.t
    assert t > 0 and t % 5.0 == 0 and not dash.running
    time.sleep(0.2)
    assert sim.t == t  # paused means paused
    done = threading.Event()
    sim.add_observer(lambda c: done.set())
    dash.step()
    assert done.wait(30)
    dash.pause()  # waits for the chunk in flight
    assert sim.t == t + 5.0
    dash.apply(lambda s: s.set_input("poisson->exc", rate=0.0))
    wait_until(lambda: sim.input_values["poisson->exc"][0] == 0.0, "the applied input rate",
               lambda: sim.input_values["poisson->exc"])
    assert sim.t == t + 5.0
    dash.close()
    assert dash._thread is not None and not dash._thread.is_alive()
    assert dash._observe not in sim._observation.observers


def test_dashboard_speed_limit_paces_the_simulation():
    # at most one chunk ahead of the pace, however fast the machine; and it
    # does run: on until 100 ms (10 chunks), however slow
    sim = brunel_sim(n=100)
    dash = Dashboard(sim, [Rates()], chunk=10.0, speed=0.5)
    dash.start()
    t0 = time.perf_counter()
    dash.play()
    wait_until(lambda: sim.t >= 100.0, "t >= 100 ms", lambda: f"t = {sim.t} ms")
    dash.pause()
    wall = time.perf_counter() - t0
    assert sim.t <= 0.5 * wall * 1000 + 10.0 + 1e-9  # at most one chunk ahead of pace
    dash.close()


def test_controls_change_the_running_simulation():
    sim = brunel_sim()
    g = weight(["inh->exc", "inh->inh"], 0.0, 8.0, scale=-0.1)
    v_th = parameter("exc", "V_th", 10.0, 30.0)
    dash = Dashboard(sim, [Rates()], [g, v_th])
    assert dash.values == {g.label: pytest.approx(5.0), "exc.V_th": 20.0}
    dash.set_control(g.label, 2.0)
    dash.set_control("exc.V_th", 25.0)
    assert sim.connectivity("inh->exc")["weight"][0] == pytest.approx(-0.2)
    assert sim.connectivity("inh->inh")["weight"][0] == pytest.approx(-0.2)
    assert sim.param("exc", "V_th") == 25.0
    msim = map_sim()
    a = plasticity(["feedforward", "lateral"], "a_plus", 0.0, 0.1, also=lambda v: {
        "a_minus": 2 * v})
    mdash = Dashboard(msim, [Rates()], [a])
    mdash.set_control(a.label, 0.05)
    assert msim.plasticity("lateral").a_plus == 0.05
    assert msim.plasticity("lateral").a_minus == 0.1


def test_dashboard_refuses_bad_arguments():
    sim = brunel_sim()
    with pytest.raises(TypeError, match="sim must be"):
        Dashboard("sim")
    with pytest.raises(TypeError, match="views must be"):
        Dashboard(sim, ["raster"])
    with pytest.raises(ValueError, match="fps must be in"):
        Dashboard(sim, fps=100)
    with pytest.raises(ValueError, match="multiple of dt"):
        Dashboard(sim, chunk=0.05)
    with pytest.raises(ValueError, match="labels must differ"):
        Dashboard(sim, controls=[parameter("exc", "V_th", 0, 1)] * 2)
    with pytest.raises(ValueError, match="start < end"):
        Control("x", 1.0, 0.0, lambda s, v: None)
    with pytest.raises(ValueError, match="mode must be"):
        Raster(mode="dots")
    with pytest.raises(ValueError, match="multiple of dt"):
        Rates(bin=0.25).bind(sim)
    with pytest.raises(ValueError, match="populations must be recorded"):
        Rates(populations=["nope"]).bind(sim)
    used = Rates()
    used.bind(sim)
    with pytest.raises(ValueError, match="already watches another"):
        used.bind(brunel_sim())


def test_dashboard_shows_errors_and_stays_usable():
    sim = brunel_sim()
    dash = Dashboard(sim, [Rates()])
    dash.apply(lambda s: s.set_input("poisson->exc", rate=-1.0))
    assert "rate must be finite and >= 0" in repr(dash.error)
    dash.error = None
    dash.advance(1)
    assert sim.t == 10.0


# --------------------------------------------------- live plasticity changes
def test_set_plasticity_equals_building_with_the_new_rule():
    def net(a_plus):
        n = sl.Network(dt=0.1)
        src = n.population("src", sl.models.LIF(I_e=500.0), 50)
        dst = n.population("dst", sl.models.LIF(I_e=300.0), 50)
        n.connect(src, dst, sl.connect.FixedIndegree(10), weight=1.0, delay=1.0, name="p",
                  plasticity=sl.plasticity.STDP(a_plus=a_plus, a_minus=0.01, w_max=2.0))
        return n

    a = sl.Simulation(net(0.01), backend="cpu", seed=4, threads=1)
    a.set_plasticity("p", a_plus=0.03)
    b = sl.Simulation(net(0.03), backend="cpu", seed=4, threads=1)
    a.run(200.0)
    b.run(200.0)
    np.testing.assert_array_equal(a.connectivity("p")["weight"], b.connectivity("p")["weight"])
    assert a.spikes_sha256() == b.spikes_sha256()
    assert a.plasticity("p") == b.plasticity("p")
    with pytest.raises(ValueError, match="cannot change while running"):
        a.set_plasticity("p", tau_plus=10.0)
    with pytest.raises(ValueError, match="a_plus must be >= 0"):
        a.set_plasticity("p", a_plus=-1.0)
    with pytest.raises(ValueError, match="has no plasticity"):
        sl.Simulation(brunel.network(n=50), backend="cpu").set_plasticity("exc->exc",
                                                                          a_plus=1.0)


def test_changed_plasticity_survives_a_checkpoint(tmp_path):
    sim = map_sim()
    sim.run(20.0)
    sim.set_plasticity("feedforward", a_plus=0.05)
    sim.checkpoint(tmp_path / "c.npz")
    sim.run(30.0)
    back = sl.Simulation.restore(tmp_path / "c.npz", backend="cpu", threads=1,
                                 network=tm.network(scale=1, seed=2))
    assert back.plasticity("feedforward").a_plus == 0.05
    back.run(30.0)
    np.testing.assert_array_equal(back.connectivity("feedforward")["weight"],
                                  sim.connectivity("feedforward")["weight"])


def test_serve_refuses_options_of_the_other_model(capsys):
    from snnlab.cli import main

    assert main(["serve", "brunel", "--scale", "2"]) == 2
    assert "--scale does not apply to brunel" in capsys.readouterr().err
    assert main(["serve", "topographic_map", "--n", "100"]) == 2
    assert main(["serve", "brunel", "--port", "70000"]) == 2
    assert "--port must be in [0, 65536)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "microcircuit"])
