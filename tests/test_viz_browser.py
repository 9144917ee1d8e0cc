"""The dashboards in a real browser: headless chromium driven by Playwright
opens ``snnlab serve`` and a notebook in JupyterLab, sees the raster receive
spikes, and works the controls.  Skips where no chromium is installed
(``.ci/run`` installs Debian's)."""

import contextlib
import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("panel")
pytest.importorskip("playwright")
from snnlab.viz.browser import (  # noqa: E402
    CHROMIUM_ARGS,
    STATUS_JS,
    find_chromium,
    free_port,
    listening,
    open_page,
    served,
)
from snnlab.viz.live import IN_FLIGHT  # noqa: E402

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on this machine: apt-get install chromium "
    "(or set $CHROMIUM) to run the browser tests")]


# how long a wait may take before the test calls it a hang: it bounds a hang
# only, and says nothing about speed (the machines are shared and noisy)
HANG = 120.0


def screenshot(page, name):
    """With $SNNLAB_SCREENSHOTS (a folder), the page as a PNG there: the
    README's pictures of the dashboards come from these tests
    (``SNNLAB_SCREENSHOTS=docs/images pytest tests/test_viz_browser.py``)."""
    folder = os.environ.get("SNNLAB_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"))


def wait_until(probe, condition, what, timeout=HANG):
    """Poll ``probe()`` until ``condition`` holds for what it returns (None:
    not there yet); returns that value.  Fails after ``timeout`` s, saying
    what it waited for and what it saw last."""
    deadline = time.monotonic() + timeout
    while True:
        seen = probe()
        if seen is not None and condition(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; last seen: {seen}")
        time.sleep(0.05)


def wait_for(page, condition, what, timeout=HANG):
    """The dashboard's status in the page once ``condition(status)`` holds."""
    return wait_until(lambda: page.evaluate(STATUS_JS), condition, what, timeout)


def settled(page, quiet=1.0, what="the page to settle", timeout=HANG):
    """The status once it has not changed for ``quiet`` s: after a pause or a
    step, the views with an ``fps`` of their own still send what they hold
    once they are due, after the status shows the pause."""
    last, since = None, time.monotonic()
    deadline = since + timeout
    while True:
        s = page.evaluate(STATUS_JS)
        now = time.monotonic()
        if s != last:
            last, since = s, now
        elif now - since >= quiet:
            return s
        if now > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what} (no change for "
                                 f"{quiet:g} s); it kept changing, last seen: {s}")
        time.sleep(0.05)


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
            # the raster fills (3000 neurons: the server-side image), and
            # updates keep arriving as the model time moves on
            first = wait_for(page, lambda s: s["raster"] > 0, what="spikes in the raster")
            wait_for(page, lambda s: s["t"] >= first["t"] + 100 and s["raster"] > 0
                     and s["updates"] > first["updates"],
                     what=f"the raster to move on: t >= {first['t'] + 100:g} ms and more "
                          f"than {first['updates']} updates")
            screenshot(page, "brunel_dashboard")

            # pause stops the stream
            page.get_by_role("button", name="Pause").click()
            wait_for(page, lambda s: s["running"] == 0, what="pause")
            paused = settled(page, what="the page to settle after the pause")
            time.sleep(1.0)
            still = page.evaluate(STATUS_JS)
            assert still == paused, "the page changed while paused"

            # step advances exactly one chunk (10 ms)
            page.get_by_role("button", name="Step").click()
            wait_for(page, lambda s: s["t"] > paused["t"],
                     what=f"the step: t > {paused['t']:g} ms")
            stepped = settled(page, what="the page to settle after the step")
            assert stepped["t"] == pytest.approx(paused["t"] + 10.0, abs=1e-9)
            assert stepped["chunks"] == paused["chunks"] + 1 and stepped["running"] == 0

            # the input-rate slider: no input, and the network falls silent
            page.get_by_role("button", name="Run").click()
            t_run = wait_for(page, lambda s: s["t"] >= stepped["t"] + 200,
                             what=f"running again: t >= {stepped['t'] + 200:g} ms")["t"]
            before = rates_tail(page)
            assert before > 5.0  # the network's own rate (model time), not a speed
            page.evaluate("""() => {
              const doc = Bokeh.documents[0];
              for (const m of doc.all_models) {
                if (m.title === 'input rate [spikes/s]' && 'value' in m) { m.value = 0; return; }
              }
              throw new Error('no input-rate slider');
            }""")
            wait_until(lambda: rates_tail(page), lambda r: r < 0.1 * before,
                       what=f"the rate to fall below {0.1 * before:.2f} spikes/s "
                            f"(from {before:.2f}) without input")
            assert page.evaluate(STATUS_JS)["t"] > t_run  # it kept running meanwhile
            assert errors == []


# the topographic-map page: how much each of its sampled views shows
MAP_JS = """() => {
  const doc = Bokeh.documents[0];
  const f = doc.get_model_by_name('map_fields');
  const m = doc.get_model_by_name('map_metrics');
  const c = doc.get_model_by_name('conn_series_feedforward');
  return {fields: f.data.x1.length, samples: m.data.t.length,
          ad: Array.from(m.data.ad_conn), synapses: c.data.synapses.length};
}"""

# records the update count the page has applied when a click reaches it
# (before the click's own handlers run), in window.updates_at_click
AT_CLICK_JS = "() => {const status = " + STATUS_JS + """;
  window.updates_at_click = null;
  window.addEventListener('click', () => { window.updates_at_click = status().updates; },
                          {capture: true, once: true});
}"""


def test_topographic_map_dashboard_shows_the_map():
    with served("topographic_map", "--backend", "cpu") as url:
        with open_page(url, CHROMIUM) as (page, errors):
            wait_for(page, lambda s: s["t"] >= 600 and s["raster"] > 0, what="the map running")
            # the sampled views keep to a share of the wall time: how many
            # samples a model time holds depends on the machine, so wait
            shown = wait_until(lambda: page.evaluate(MAP_JS), lambda m: m["fields"] == 256
                               and m["samples"] >= 2 and m["synapses"] >= 2,
                               what="256 receptive fields, 2 map samples and 2 "
                                    "connectivity samples")
            assert all(0 < a < 4 for a in shown["ad"])
            screenshot(page, "topographic_map_dashboard")
            # the many plots draw slower than the 10 updates per second the
            # server would send: updates follow the page's pace, so a click
            # is not queued behind them.  At the click at most IN_FLIGHT + 1
            # are unapplied, as many again may go out on their
            # acknowledgements before the server handles the click, and one
            # more brings the last chunk; the pause shows after those (a
            # count the design bounds, whatever the machine's speed)
            page.evaluate(AT_CLICK_JS)
            page.get_by_role("button", name="Pause").click()
            paused = wait_for(page, lambda s: s["running"] == 0, what="pause")
            at_click = page.evaluate("() => window.updates_at_click")
            assert at_click is not None, "the click did not reach the page"
            queued = paused["updates"] - at_click
            assert queued <= 2 * (IN_FLIGHT + 1) + 1, \
                f"{queued} updates were applied between the click on Pause and the pause"
            paused = settled(page, what="the page to settle after the pause")
            time.sleep(1.0)
            assert page.evaluate(STATUS_JS)["t"] == paused["t"]
            assert errors == []


@contextlib.contextmanager
def jupyterlab(root, timeout=60.0):
    """JupyterLab serving ``root`` on 127.0.0.1 with a token and its own
    configuration; yields the URL of ``root``/live.ipynb."""
    port, token = free_port(), "snnlab-test"
    env = dict(os.environ, **{f"JUPYTER_{k}_DIR": str(root / f".{k.lower()}")
                              for k in ("CONFIG", "DATA", "RUNTIME")})
    with open(root / "lab.log", "w") as log, listening(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
             "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class="
             "jupyterlab.NeverCheckForUpdate"], port, timeout, env=env, stdout=log,
            stderr=subprocess.STDOUT):
        yield f"http://127.0.0.1:{port}/lab/tree/live.ipynb?token={token}"


KERNEL_IDLE_JS = """() => {
  const w = window.jupyterapp && jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

# the rates shown in the page: bin times, in order and without gaps
RATES_JS = """() => {
  const d = Bokeh.documents.find(d => d.get_model_by_name('rates'));
  return Array.from(d.get_model_by_name('rates').data.t);
}"""


def test_dashboard_inline_in_jupyterlab(tmp_path):
    pytest.importorskip("jupyterlab")
    import nbformat
    from playwright.sync_api import sync_playwright

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(  # no pn.extension(): the dashboard loads it
        "from snnlab.viz.apps import brunel_dashboard\n"
        "dash = brunel_dashboard(n=3000, seed=1, backend='cpu', threads=1)\n"
        "dash")]
    nbformat.write(nb, tmp_path / "live.ipynb")
    with jupyterlab(tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors, scripts = [], []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script"
                    and r.url.startswith(("http:", "https:"))
                    and not r.url.startswith("http://127.0.0.1") else None)
            page.goto(url)
            page.wait_for_function(KERNEL_IDLE_JS, timeout=HANG * 1000)
            page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(f"() => ({STATUS_JS})() !== null", timeout=HANG * 1000)
            start = page.evaluate(STATUS_JS)
            assert start["t"] == 0 and start["running"] == 0

            out = page.locator(".jp-OutputArea")
            out.get_by_role("button", name="Run", exact=True).click()
            # live in the notebook: updates keep arriving, and the rates
            # hold at least 100 bins (how many arrive by a given model time
            # depends on the machine: wait for them)
            wait_for(page, lambda s: s["t"] >= 1500 and s["raster"] > 0 and s["updates"] > 5,
                     what="the dashboard running in the notebook: t >= 1500 ms, spikes in "
                          "the raster and more than 5 updates")
            wait_until(lambda: len(page.evaluate(RATES_JS)), lambda n: n >= 100,
                       what="100 bins of rates in the page")
            screenshot(page, "dashboard_in_jupyterlab")

            out.get_by_role("button", name="Pause", exact=True).click()
            wait_for(page, lambda s: s["running"] == 0, what="pause")
            paused = settled(page, what="the page to settle after the pause")
            time.sleep(1.0)
            assert page.evaluate(STATUS_JS)["t"] == paused["t"]

            # every bin of the rates arrived once, in order (5 ms bins); a
            # notebook page gets whole sources, so it holds no fewer than before
            t = page.evaluate(RATES_JS)
            assert len(t) >= 100
            assert all(b - a == 5.0 for a, b in zip(t, t[1:])), "gaps or repeats in the rates"
            assert scripts == [] and errors == []  # nothing from a CDN; no page errors
        finally:
            browser.close()
