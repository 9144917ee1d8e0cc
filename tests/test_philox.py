"""Philox4x32-10 against the Random123 known-answer vectors, and the
transcendental-free helpers built on it."""

import math

import numpy as np

import snnlab as sl
from snnlab.backend import Launch, get_backend, kernel_module
from snnlab.random import philox4x32

# Random123 kat_vectors: philox4x32 10 rounds (counter, key, expected)
KAT = [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]


def test_known_answer_vectors(backend):
    ctr = np.array([c for c, _, _ in KAT], dtype=np.uint32)
    key = np.array([k for _, k, _ in KAT], dtype=np.uint32)
    out = philox4x32(ctr, key, backend=backend)
    np.testing.assert_array_equal(out, np.array([e for _, _, e in KAT], dtype=np.uint32))


def test_nearby_counters_look_independent():
    # numpy's Philox (4x64) is a different variant; check instead that the
    # outputs of nearby counters look independent: bits balanced, no repeats
    ctr = np.zeros((20000, 4), np.uint32)
    ctr[:, 0] = np.arange(20000)
    out = philox4x32(ctr, [1, 2])
    bits = np.unpackbits(out.view(np.uint8))
    assert abs(bits.mean() - 0.5) < 5 * 0.5 / math.sqrt(bits.size)
    assert len(np.unique(out[:, 0])) > 19990


def _math_check(n, seed=5):
    be = get_backend("cpu")
    mod = kernel_module(be)
    x = np.geomspace(1e-300, 1e300, n)
    log_x, normal = np.zeros(n), np.zeros(n)
    mod.launch(Launch("math_check", (n, x, log_x, np.uint64(seed), normal), ("flat", n)))
    return x, log_x, normal


def test_portable_log_is_accurate():
    x, log_x, _ = _math_check(100_000)
    np.testing.assert_allclose(log_x, np.log(x), rtol=4 * np.finfo(float).eps)


def test_portable_exp_and_pow_are_accurate():
    be = get_backend("cpu")
    mod = kernel_module(be)
    x = np.concatenate([np.linspace(-707.0, 709.0, 100_001), [-1e-300, 0.0, 1e-300]])
    ex, pw = np.zeros_like(x), np.zeros_like(x)
    mod.launch(Launch("exp_check", (len(x), x, 0.4, ex, pw), ("flat", len(x))))
    np.testing.assert_allclose(ex, np.exp(x), rtol=4 * np.finfo(float).eps)
    pos = x > 0
    np.testing.assert_allclose(pw[pos], np.power(x[pos], 0.4), rtol=1e-13)
    assert np.all(pw[~pos] == 0.0)
    # the edges: underflow to 0, overflow to inf, NaN kept
    out = np.zeros(3)
    mod.launch(Launch("exp_check", (3, np.array([-800.0, 800.0, np.nan]), 1.0, out,
                                    np.zeros(3)), ("flat", 3)))
    assert out[0] == 0.0 and out[1] == np.inf and np.isnan(out[2])


def test_normal_deviates_are_standard_normal():
    _, _, z = _math_check(200_000)
    assert abs(z.mean()) < 5 / math.sqrt(z.size)
    assert abs(z.std() - 1.0) < 5 * math.sqrt(0.5 / z.size)
    # Kolmogorov-Smirnov distance to the normal CDF
    z = np.sort(z)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
    ks = np.max(np.abs(cdf - np.arange(1, z.size + 1) / z.size))
    assert ks < 1.63 / math.sqrt(z.size)  # 1 % critical value


def test_initial_state_from_distribution_has_its_moments():
    net = sl.Network()
    pop = net.population("p", sl.models.LIF().with_state(V_m=sl.Normal(-60.0, 5.0)), 50_000)
    sim = sl.Simulation(net, backend="cpu", seed=3)
    v = sim.state(pop, "V_m")
    assert abs(v.mean() + 60.0) < 5 * 5.0 / math.sqrt(v.size)
    assert abs(v.std() - 5.0) < 0.1


def test_normal_tails_have_the_right_mass():
    """The ziggurat's wedges and tail: the mass beyond 2, 3 and 3.44 (its
    tail start) sd within binomial bounds of the normal's."""
    _, _, z = _math_check(1_000_000, seed=11)
    for c in (2.0, 3.0, 3.442619855899):
        p = math.erfc(c / math.sqrt(2))  # two-sided
        n = z.size
        assert abs(np.mean(np.abs(z) > c) - p) < 5 * math.sqrt(p * (1 - p) / n), c
    assert abs(np.mean(z > 0) - 0.5) < 5 * 0.5 / math.sqrt(z.size)
