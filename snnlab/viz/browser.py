"""Driving a served dashboard from a real browser (tests and benchmarks).

Uses Playwright with a system chromium (``/usr/bin/chromium`` on Debian;
Playwright's own browser download is never used)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time

__all__ = ["find_chromium", "CHROMIUM_ARGS", "free_port", "listening", "served", "open_page",
           "STATUS_JS"]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

# the dashboard's status and how much the raster holds, read in the page (a
# notebook page holds several Bokeh documents)
STATUS_JS = """() => {
  const doc = window.Bokeh && Bokeh.documents.find(d => d.get_model_by_name('dashboard_status'));
  const s = doc && doc.get_model_by_name('dashboard_status');
  if (!s) return null;
  const r = doc.get_model_by_name('raster_image') || doc.get_model_by_name('raster_points');
  let raster = 0;
  if (r && r.data.image) {
    const im = r.data.image[0], a = im.array || im;
    for (let k = 0; k < a.length; k++) raster += a[k];
  } else if (r) {
    raster = r.data.x.length;
  }
  return {t: s.data.t[0], updates: s.data.updates[0], chunks: s.data.chunks[0],
          running: s.data.running[0], raster: raster};
}"""


def find_chromium() -> str | None:
    """A chromium executable: ``$CHROMIUM``, else one on the PATH."""
    path = os.environ.get("CHROMIUM")
    if path:
        return path if os.access(path, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def listening(command: list, port: int, timeout: float = 60.0, **popen):
    """Run ``command`` in a child process (``popen``: more arguments of
    ``subprocess.Popen``); yields the process once something accepts
    connections on 127.0.0.1:``port``, and stops it afterwards."""
    proc = subprocess.Popen(command, **popen)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                raise RuntimeError(f"{' '.join(map(str, command[:4]))} exited with "
                                   f"{proc.returncode}: {out}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nothing listened on {port} after {timeout:g} s") \
                        from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def served(model: str, *options: str, port: int | None = None, timeout: float = 60.0):
    """``snnlab serve model *options`` in a child process; yields its URL
    once the server accepts connections, and stops it afterwards."""
    port = port or free_port()
    with listening([sys.executable, "-m", "snnlab.cli", "serve", model, "--port", str(port),
                    *options], port, timeout, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, text=True):
        yield f"http://127.0.0.1:{port}/{model}"


@contextlib.contextmanager
def open_page(url: str, chromium: str, timeout: float = 60.0):
    """A headless chromium page at ``url`` once the dashboard is in it;
    yields ``(page, errors)``, errors collecting page errors and console
    errors."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("console", lambda m: errors.append(f"console: {m.text}")
                    if m.type == "error" else None)
            page.goto(url, timeout=timeout * 1000)
            page.wait_for_function(f"() => ({STATUS_JS})() !== null", timeout=timeout * 1000)
            yield page, errors
        finally:
            browser.close()
