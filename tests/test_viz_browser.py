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
            # the many plots draw slower than 10 per second here: updates
            # follow the page's pace, so a click is not queued behind them
            clicked = time.monotonic()
            page.get_by_role("button", name="Pause").click()
            wait_for(page, lambda s: s["running"] == 0, timeout=15.0, what="pause")
            assert time.monotonic() - clicked < 15.0
            time.sleep(0.5)
            paused = page.evaluate(STATUS_JS)
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
            page.wait_for_function(KERNEL_IDLE_JS, timeout=60_000)
            page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(f"() => ({STATUS_JS})() !== null", timeout=60_000)
            start = page.evaluate(STATUS_JS)
            assert start["t"] == 0 and start["running"] == 0

            out = page.locator(".jp-OutputArea")
            out.get_by_role("button", name="Run", exact=True).click()
            running = wait_for(page, lambda s: s["t"] >= 1500 and s["raster"] > 0,
                               what="the dashboard running in the notebook")
            assert running["updates"] > 5

            out.get_by_role("button", name="Pause", exact=True).click()
            wait_for(page, lambda s: s["running"] == 0, what="pause")
            time.sleep(0.5)
            paused = page.evaluate(STATUS_JS)
            time.sleep(1.0)
            assert page.evaluate(STATUS_JS)["t"] == paused["t"]

            # every bin of the rates arrived once, in order (5 ms bins)
            t = page.evaluate(RATES_JS)
            assert len(t) >= 100
            assert all(b - a == 5.0 for a, b in zip(t, t[1:])), "gaps or repeats in the rates"
            assert scripts == [] and errors == []  # nothing from a CDN; no page errors
        finally:
            browser.close()
