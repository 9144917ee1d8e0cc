"""The served app builds simulations only for its own pages, and only a
few at once."""

import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("panel")
from snnlab.viz.apps import _refused  # noqa: E402
from snnlab.viz.browser import free_port, listening  # noqa: E402

HOSTS = {"127.0.0.1:5006", "localhost:5006"}


@pytest.mark.parametrize("headers, why", [
    ({"Host": "127.0.0.1:5006"}, None),
    ({"Host": "localhost:5006", "Origin": "http://localhost:5006",
      "Sec-Fetch-Site": "same-origin"}, None),
    ({"Host": "evil.example"}, "names the host"),  # DNS rebinding
    ({"Host": "127.0.0.1:5006", "Origin": "http://evil.example"}, "comes from the page"),
    ({"Host": "127.0.0.1:5006", "Sec-Fetch-Site": "cross-site"}, "another site"),
])
def test_requests_for_other_pages_are_refused(headers, why):
    got = _refused(headers, HOSTS)
    assert (got is None) if why is None else (why in got)


def _get(url, **headers):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as r:
        assert r.status == 200
        return r.read()


def test_the_server_refuses_foreign_requests_and_caps_its_sessions(tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "w") as out, listening(
            [sys.executable, "-m", "snnlab.cli", "serve", "brunel", "--n", "500", "--backend",
             "cpu", "--port", str(port), "--max-sessions", "1"], port, stdout=out,
            stderr=subprocess.STDOUT, text=True):
        url = f"http://127.0.0.1:{port}/brunel"
        _get(url)  # a session, and its simulation
        _get(url)  # the second one, while the first is open: refused
        _get(url, Host="evil.example")
        _get(url, Origin="http://evil.example")
        _get(url, **{"Sec-Fetch-Site": "cross-site"})
        deadline = time.monotonic() + 60
        while log.read_text().count("refused a page request") < 4:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    text = log.read_text()
    assert text.count("refused a page request") == 4
    for why in ("1 sessions are open", "names the host 'evil.example'",
                "comes from the page of 'http://evil.example'", "another site"):
        assert why in text, text


def test_bad_options_and_a_busy_port_end_without_a_traceback():
    out = subprocess.run([sys.executable, "-m", "snnlab.cli", "serve", "brunel", "--n", "-5"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "n must be an integer >= 5" in out.stderr  # before serving
    assert "Traceback" not in out.stderr


def test_binding_beyond_this_machine_warns():
    """(The port is taken, so nothing is served beyond this machine.)"""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "snnlab.cli", "serve", "brunel", "--n",
                              "500", "--address", "0.0.0.0", "--port", str(port)],
                             capture_output=True, text=True, timeout=120)
    assert "warning: serving on 0.0.0.0, beyond this machine" in out.stderr
    assert out.returncode == 2 and f"cannot serve on 0.0.0.0:{port}" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_busy_port_is_named_before_serving():
    import socket

    from snnlab.viz.apps import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"port {port} on 127.0.0.1 is not free"):
            serve("brunel", port=port, n=500)
