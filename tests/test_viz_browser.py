"""The served dashboards in a real browser: headless chromium driven by
Playwright opens ``snnlab serve``, sees the raster receive spikes, and works
the controls.  Skips where no chromium is installed (``.ci/run`` installs
Debian's)."""

import time

import pytest

pytest.importorskip("panel")
pytest.importorskip("playwright")
from snnlab.viz.browser import STATUS_JS, find_chromium, open_page, served  # noqa: E402

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on this machine: apt-get install chromium "
    "(or set $CHROMIUM) to run the browser tests")]


def wait_for(page, condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = page.evaluate(STATUS_JS)
        if condition(s):
            return s
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; status {page.evaluate(STATUS_JS)}")


def rates_tail(page, k=20):
    """Mean excitatory rate over the last ``k`` bins shown."""
    return page.evaluate("""(k) => {
      const s = Bokeh.documents[0].get_model_by_name('rates');
      const r = Array.from(s.data.exc).slice(-k);
      return r.length ? r.reduce((a, b) => a + b, 0) / r.length : null;
    }""", k)


def test_brunel_dashboard_streams_and_obeys_its_controls():
    with served("brunel", "--n", "3000", "--backend", "cpu") as url:
        with open_page(url, CHROMIUM) as (page, errors):
            # the raster fills (3000 neurons: the server-side image)
            first = wait_for(page, lambda s: s["raster"] > 0, what="spikes in the raster")
            later = wait_for(page, lambda s: s["t"] >= first["t"] + 100 and s["raster"] > 0,
                             what="the raster to move on")
            assert later["updates"] > first["updates"]

            # pause stops the stream
            page.get_by_role("button", name="Pause").click()
            paused = wait_for(page, lambda s: s["running"] == 0, what="pause")
            time.sleep(0.3)
            paused = page.evaluate(STATUS_JS)
            time.sleep(1.0)
            still = page.evaluate(STATUS_JS)
            assert still["t"] == paused["t"] and still["updates"] == paused["updates"]

            # step advances exactly one chunk (10 ms)
            page.get_by_role("button", name="Step").click()
            stepped = wait_for(page, lambda s: s["chunks"] == paused["chunks"] + 1,
                               what="one chunk")
            time.sleep(0.5)
            stepped = page.evaluate(STATUS_JS)
            assert stepped["t"] == pytest.approx(paused["t"] + 10.0, abs=1e-9)
            assert stepped["chunks"] == paused["chunks"] + 1

            # the input-rate slider: no input, and the network falls silent
            page.get_by_role("button", name="Run").click()
            t_run = wait_for(page, lambda s: s["t"] >= stepped["t"] + 200,
                             what="running again")["t"]
            before = rates_tail(page)
            assert before > 5.0
            page.evaluate("""() => {
              const doc = Bokeh.documents[0];
              for (const m of doc.all_models) {
                if (m.title === 'input rate [spikes/s]' && 'value' in m) { m.value = 0; return; }
              }
              throw new Error('no input-rate slider');
            }""")
            deadline = time.monotonic() + 60
            while rates_tail(page) >= 0.1 * before and time.monotonic() < deadline:
                time.sleep(0.1)
            assert rates_tail(page) < 0.1 * before
            assert page.evaluate(STATUS_JS)["t"] > t_run  # it kept running meanwhile
            assert errors == []


def test_topographic_map_dashboard_shows_the_map():
    with served("topographic_map", "--backend", "cpu") as url:
        with open_page(url, CHROMIUM) as (page, errors):
            wait_for(page, lambda s: s["t"] >= 600 and s["raster"] > 0, what="the map running")
            shown = page.evaluate("""() => {
              const doc = Bokeh.documents[0];
              const f = doc.get_model_by_name('map_fields');
              const m = doc.get_model_by_name('map_metrics');
              const c = doc.get_model_by_name('conn_series_feedforward');
              return {fields: f.data.x1.length, samples: m.data.t.length,
                      ad: Array.from(m.data.ad_conn), synapses: c.data.synapses.length};
            }""")
            assert shown["fields"] == 256 and shown["samples"] >= 2 and shown["synapses"] >= 2
            assert all(0 < a < 4 for a in shown["ad"])
            assert errors == []
