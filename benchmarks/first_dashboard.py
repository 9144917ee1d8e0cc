"""The newcomer's path, timed: a fresh clone of this checkout, then only
what the README says (`make demo`), until a browser shows the topographic
map running: the minutes to the first live dashboard, and where they go.

    python benchmarks/first_dashboard.py [--cold-pip] [--keep]

Phases: clone; `make demo` until its server listens (the virtual
environment and the install: pip's own cache on this machine makes this
shorter than a first install anywhere else, and the record says whether it
was warm); the page until the raster shows spikes (the first page compiles
the model's kernels, unless $SNNLAB_CACHE holds them: a fresh cache folder
is used, as a newcomer has).  Headless chromium drives the page
(snnlab.viz.browser).  Writes benchmarks/results/first_dashboard_<machine>_<commit>.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the clone (printed)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="give up after [s]")
    ap.add_argument("--cold-pip", action="store_true",
                    help="pip without its cache (PIP_NO_CACHE_DIR): every package downloaded")
    args = ap.parse_args()
    from snnlab.viz.browser import STATUS_JS, find_chromium, free_port, listening, open_page

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no chromium: apt-get install chromium (or set $CHROMIUM)")
    work = Path(tempfile.mkdtemp(prefix="snnlab-newcomer-"))
    clone, cache = work / "snnlab", work / "cache"
    env = dict(os.environ, SNNLAB_CACHE=str(cache))
    env.pop("VIRTUAL_ENV", None)
    if args.cold_pip:
        env["PIP_NO_CACHE_DIR"] = "1"
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    phases = {}
    t0 = time.monotonic()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    phases["clone"] = time.monotonic() - t0
    port = free_port()
    log = open(work / "demo.log", "w")
    t1 = time.monotonic()
    try:
        with listening(["make", "-C", str(clone), "demo", f"PORT={port}"], port,
                       timeout=args.timeout, env=env, stdout=log, stderr=subprocess.STDOUT):
            phases["install_until_listening"] = time.monotonic() - t1
            t2 = time.monotonic()
            url = f"http://127.0.0.1:{port}/topographic_map"
            with open_page(url, chromium, timeout=args.timeout) as (page, errors):
                while True:
                    s = page.evaluate(STATUS_JS)
                    if s and s["raster"] > 0:
                        break
                    if time.monotonic() - t2 > args.timeout:
                        raise TimeoutError("the map did not start")
                    time.sleep(0.2)
            phases["page_until_spikes"] = time.monotonic() - t2
    finally:
        log.close()
    total = time.monotonic() - t0
    pip_cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"],
                               capture_output=True, text=True).stdout.strip()
    warm = (not args.cold_pip and bool(pip_cache) and Path(pip_cache).exists()
            and any(Path(pip_cache).iterdir()))
    record = {"benchmark": "first_dashboard", "machine": c.machine(), "commit": c.commit(),
              "phases_s": phases, "total_min": total / 60.0,
              "pip_cache_warm": warm,
              "page_errors": errors, "log_tail": (work / "demo.log").read_text()[-2000:]}
    out = c.write_record("first_dashboard" + ("_cold_pip" if args.cold_pip else ""), record)
    print(f"first live dashboard after {total / 60:.1f} min: "
          + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()))
    print(f"written to {out}")
    if args.keep:
        print(f"clone kept in {clone}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
