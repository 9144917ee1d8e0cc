"""Spike bit decoding and statistics against brute-force references."""

import re
from pathlib import Path

import numpy as np
import pytest

from snnlab.observe import cv_isi, decode_spike_bits, spikes_digest


def test_decode_spike_bits_matches_brute_force():
    rng = np.random.default_rng(0)
    n, rows = 77, 50
    spikes = rng.random((rows, n)) < 0.05
    n_words = (n + 31) // 32
    bits = np.zeros((rows, n_words), np.uint32)
    for r, i in zip(*np.nonzero(spikes)):
        bits[r, i // 32] |= np.uint32(1 << (i % 32))
    steps, ids = decode_spike_bits(bits.ravel(), n_words, first_step=100)
    want = sorted((r + 100, i) for r, i in zip(*np.nonzero(spikes)))
    assert sorted(zip(steps.tolist(), ids.tolist())) == want


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_cpu_decoder_gives_the_same_arrays(threads):
    """The C decoder against NumPy's, on buffers small and large enough
    for its threads to share the rows (3001 rows: shares of unequal size)."""
    from snnlab.backend import get_backend, kernel_module

    rng = np.random.default_rng(3)
    mod = kernel_module(get_backend("cpu", threads=threads))
    for rows, n_words, p in ((50, 3, 0.05), (7, 1, 0.9), (20, 4, 0.0), (1, 2, 1.0),
                             (3001, 25, 0.002)):
        bits = np.where(rng.random((rows, n_words, 32)) < p, 1, 0).astype(np.uint64)
        bits = (bits << np.arange(32, dtype=np.uint64)).sum(axis=2).astype(np.uint32)
        want = decode_spike_bits(bits, n_words, first_step=11)
        got = mod.decode_spike_bits(bits, n_words, 11)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


def test_cv_isi_against_direct_computation():
    rng = np.random.default_rng(1)
    steps, ids = [], []
    expected = []
    for i in range(20):
        s = np.sort(rng.choice(10_000, size=rng.integers(0, 30), replace=False))
        steps.append(s)
        ids.append(np.full(len(s), i))
        if len(s) >= 3:
            isi = np.diff(s)
            expected.append(isi.std() / isi.mean())
    cv = cv_isi(np.concatenate(steps), np.concatenate(ids))
    assert np.isclose(cv, np.mean(expected))


def test_digest_is_order_independent_and_sensitive():
    s, i = np.array([3, 1, 2]), np.array([5, 6, 7])
    assert spikes_digest(s, i) == spikes_digest(s[::-1], i[::-1])
    assert spikes_digest(s, i) != spikes_digest(s, i + 1)


def test_readme_tour_runs(tmp_path, monkeypatch):
    """The README's tour is real code."""
    text = (Path(__file__).parent.parent / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code.replace('backend="auto"', 'backend="cpu"'), "README", "exec"), namespace)
    assert namespace["sim2"].t == 1000.0
    assert len(namespace["times"]) > 0


def test_rates_count_the_recorded_time_only(tmp_path):
    """A warm-up run with record=False, a gap in the middle and the time
    before clear_recordings() hold no recorded spikes: rates() divides the
    spikes it counts by the time they cover (it divided by the whole time,
    so a port that warmed up 100 ms before 1 s read its rates 9 % low).
    The covered time survives a checkpoint."""
    import pytest

    import snnlab as sl
    from snnlab.zoo import brunel

    def rates_by_hand(sim, ms):
        return {p: sim.spike_steps(p)[0].size / sim.network.populations[p].n / (ms * 1e-3)
                for p in sim.recorded}

    sim = sl.Simulation(brunel.network(n=400), backend="cpu", seed=2, threads=1)
    sim.run(30.0, record=False)
    sim.run(40.0)
    sim.run(20.0, record=False)
    sim.run(10.0)
    assert sim.rates() == pytest.approx(rates_by_hand(sim, 50.0), rel=1e-12)
    steps, _ = sim.spike_steps("exc")
    late = (steps >= 900).sum() / 320 / 10e-3  # since=90 ms: the last 10 ms only
    assert sim.rates("exc", since=90.0) == pytest.approx(late, rel=1e-12)
    assert sim.rates("exc", since=30.0) == pytest.approx(sim.rates("exc"), rel=1e-12)

    path = tmp_path / "run.snn"
    sim.checkpoint(path)
    again = sl.Simulation.restore(path, network=brunel.network(n=400))
    assert again.rates() == pytest.approx(sim.rates(), rel=1e-12)

    sim.clear_recordings()
    sim.run(25.0)
    assert sim.rates() == pytest.approx(rates_by_hand(sim, 25.0), rel=1e-12)
