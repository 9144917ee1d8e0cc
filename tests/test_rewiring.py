"""The rewiring framework against a small Python reference of the same
operations (same counter-based draws), and its invariants."""

import numpy as np
import pytest

import snnlab as sl
from snnlab.backend import Launch, get_backend, kernel_module
from snnlab.plasticity import STDP, Rewiring, RewiringRule
from snnlab.random import STREAM_ATTEMPT, STREAM_REWIRE, philox4x32

SEED = 11
RULE_CODE = """
for (int64_t k = 0; k < row_length; ++k)
    if (weight[k] < w_low || uniform() < p_rm) remove_synapse(k);
for (int a = 0; a < 3; ++a) {
    const int64_t j = random_int(n_post);
    if (in_degree(j) < max_in_degree) add_synapse(j);
}
"""


def _rule(**kw):
    return RewiringRule("churn", params={"w_low": 0.9, "p_rm": 0.15}, code=RULE_CODE,
                        init={"weight": "0.5 + 0.05 * id_post", "delay": "1 + id_pre % 3"},
                        max_add=2, **kw)


def _network(max_in=6, period=0.5, grow=True, plastic=False):
    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.PoissonSource(rate=40.0), 30)
    b = net.population("b", sl.models.LIF(), 25)
    net.connect(a, b, sl.connect.FixedProbability(0.15),
                weight=sl.Normal(1.0, 0.1, low=0.5, high=1.5),
                delay=sl.Normal(0.3, 0.1, low=0.1, high=0.5),
                plasticity=STDP(w_max=5.0) if plastic else None,
                rewiring=Rewiring(_rule(), period=period, max_in_degree=max_in, grow=grow))
    return net


class _Draws:
    """snn_rewire_uniform of kernels/rewiring.cu, from the Philox blocks."""

    def __init__(self, seed, stream):
        self.seed, self.stream, self.cache = seed, stream, {}

    def uniform(self, row, call, k):
        counter = (call << 20) | (k >> 1)
        key = (row, counter)
        if key not in self.cache:
            ctr = [[counter & 0xFFFFFFFF, counter >> 32, row, self.stream]]
            self.cache[key] = philox4x32(ctr, [self.seed & 0xFFFFFFFF, self.seed >> 32])[0]
        x, y, z, w = (int(v) for v in self.cache[key])
        a, b = (z, w) if k & 1 else (x, y)
        return ((((a >> 5) << 26) | (b >> 6)) + 0.5) / 2.0**53

    def row(self, row, call):
        """uniform() of one row in one call: draws 0, 1, 2, ..."""
        k = iter(range(2**21))
        return lambda: self.uniform(row, call, next(k))

    def poisson_uniform(self, row, call, k):
        """Uniform k of poisson()'s own sequence: word row % 4 of the block of
        row // 4 at counter 2^63 | call 2^20 | k, 32 bits."""
        counter = (1 << 63) | (call << 20) | k
        ctr = [[counter & 0xFFFFFFFF, counter >> 32, row // 4, self.stream]]
        block = philox4x32(ctr, [self.seed & 0xFFFFFFFF, self.seed >> 32])[0]
        return (int(block[row % 4]) + 0.5) / 2.0**32

    def poisson_row(self, row, call, exp_neg):
        """poisson(lam) of one row in one call: chunks of mean <= 16, each
        inverted from the next uniform of the sequence; exp_neg[m] =
        snn_exp(-m) of the kernels."""
        k = iter(range(2**20))

        def draw(lam):
            total = 0
            while lam > 0.0:
                m = min(lam, 16.0)
                lam -= m
                u = self.poisson_uniform(row, call, next(k))
                n, p = 0, exp_neg[m]
                f = p
                while u > f and n < 1000:  # snn_poisson_small, operation for operation
                    n += 1
                    p = p * m / n
                    f = f + p
                total += n
            return total
        return draw


def _reference(coo, n_pre, n_post, calls, max_in, max_add=2, w_low=0.9, p_rm=0.15):
    """The framework's semantics written out: per call, every row's rule
    (removals at once, proposals kept), then the commits with the
    all-or-nothing in-degree check, then the in-degrees."""
    draws = _Draws(SEED, STREAM_REWIRE + 0)
    rows = [[] for _ in range(n_pre)]
    for p, q, w, d in zip(coo["pre"], coo["post"], coo["weight"], coo["delay"]):
        rows[p].append([int(q), np.float32(w), int(d)])
    in_deg = np.bincount(coo["post"], minlength=n_post)
    counts = []
    for call in calls:
        claims, removed_to = np.zeros(n_post, int), np.zeros(n_post, int)
        pend, formed, removed, failed = {}, 0, 0, 0
        for r in range(n_pre):
            u = draws.row(r, call)
            keep = []
            for syn in rows[r]:
                if float(syn[1]) < w_low or u() < p_rm:  # C compares in double
                    removed_to[syn[0]] += 1
                    removed += 1
                else:
                    keep.append(syn)
            live = {s[0] for s in keep}
            mine = []
            for _ in range(3):
                j = min(int(u() * n_post), n_post - 1)
                if in_deg[j] < max_in:
                    if len(mine) >= max_add or j in live or j in mine:
                        failed += 1
                    else:
                        mine.append(j)
                        claims[j] += 1
            rows[r] = keep
            pend[r] = mine
        for r in range(n_pre):
            for j in sorted(pend[r]):
                if in_deg[j] - removed_to[j] + claims[j] > max_in:
                    failed += 1
                    continue
                pos = sum(1 for s in rows[r] if s[0] <= j)
                rows[r].insert(pos, [j, np.float32(0.5 + 0.05 * j), 1 + r % 3])
                formed += 1
        base = in_deg - removed_to
        in_deg = base + np.where(base + claims <= max_in, claims, 0)
        counts.append((formed, removed, failed))
    out = {"pre": [], "post": [], "weight": [], "delay": []}
    for r, row in enumerate(rows):
        for q, w, d in row:
            out["pre"].append(r)
            out["post"].append(q)
            out["weight"].append(w)
            out["delay"].append(d)
    return {k: np.array(v) for k, v in out.items()}, np.array(counts)


@pytest.mark.parametrize("threads", [1, 2])
def test_rewiring_matches_the_reference(threads):
    sim = sl.Simulation(_network(), backend="cpu", seed=SEED, threads=threads)
    start = sim.matrix("a->b").to_coo(sim.backend.to_host)
    sim.run(12.1)  # 24 calls (call c at the start of step 5 c)
    got = sim.matrix("a->b").to_coo(sim.backend.to_host)
    want, want_counts = _reference(start, 30, 25, range(1, 25), max_in=6)
    for k in ("pre", "post", "weight", "delay"):
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    c = sim.rewiring_counts("a->b")
    np.testing.assert_allclose(c["t"], np.arange(1, 25) * 0.5)
    np.testing.assert_array_equal(np.stack([c["formed"], c["removed"], c["failed"]], 1),
                                  want_counts)
    # the cases the rule is meant to exercise all happened
    assert want_counts[:, 0].sum() > 20 and want_counts[:, 1].sum() > 20
    assert want_counts[:, 2].sum() > 5
    # invariants: ordered rows, no duplicates, the maximum in-degree
    key = got["pre"].astype(np.int64) * 25 + got["post"]
    assert np.all(np.diff(key) > 0)
    assert np.bincount(got["post"], minlength=25).max() <= 6
    assert sim.n_synapses == len(got["pre"])


POISSON_CODE = """
const int64_t n = poisson(lam);  // its own sequence: uniform() starts at draw 0
for (int64_t a = 0; a < n; ++a) add_synapse(-1);  // each fails: counted
if (uniform() < 0.5) add_synapse(-1);
const int64_t m = poisson(big);  // chunks of 16 and the rest
for (int64_t a = 0; a < m; ++a) add_synapse(-1);
"""


@pytest.mark.parametrize("threads", [1, 2])
def test_poisson_matches_the_reference(threads):
    lam, big = 0.7, 20.5
    rule = RewiringRule("counts", params={"lam": lam, "big": big}, code=POISSON_CODE)
    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.PoissonSource(rate=40.0), 30)
    b = net.population("b", sl.models.LIF(), 25)
    net.connect(a, b, sl.connect.FixedProbability(0.15), weight=1.0,
                rewiring=Rewiring(rule, period=0.5))
    sim = sl.Simulation(net, backend="cpu", seed=SEED, threads=threads)
    sim.run(12.1)  # 24 calls
    means = np.array([lam, 16.0, big - 16.0])
    exp_neg = np.zeros(3)
    kernel_module(get_backend("cpu")).launch(
        Launch("exp_check", (3, -means, 1.0, exp_neg, np.zeros(3)), ("flat", 3)))
    exp_neg = dict(zip(means.tolist(), exp_neg.tolist()))
    draws = _Draws(SEED, STREAM_REWIRE + 0)
    want = []
    for call in range(1, 25):
        failed = 0
        for r in range(30):
            pois, u = draws.poisson_row(r, call, exp_neg), draws.row(r, call)
            failed += pois(lam)
            failed += u() < 0.5
            failed += pois(big)
        want.append(failed)
    c = sim.rewiring_counts("a->b")
    np.testing.assert_array_equal(c["failed"], want)
    assert c["formed"].sum() == 0 and c["removed"].sum() == 0
    # the counts have their means: 30 rows, 24 calls
    assert np.mean(want) == pytest.approx(30 * (lam + 0.5 + big), rel=0.05)


def _snn_log(x):
    """snn_log of the kernels, by the kernel (math_check)."""
    x = np.atleast_1d(np.asarray(x, np.float64))
    out, normal = np.zeros_like(x), np.zeros_like(x)
    kernel_module(get_backend("cpu")).launch(
        Launch("math_check", (len(x), x, out, np.uint64(1), normal), ("flat", len(x))))
    return out


def _snn_exp(x):
    x = np.atleast_1d(np.asarray(x, np.float64))
    out = np.zeros_like(x)
    kernel_module(get_backend("cpu")).launch(
        Launch("exp_check", (len(x), x, 1.0, out, np.zeros_like(x)), ("flat", len(x))))
    return out


CHUNK = 256  # SNN_REWIRE_CHUNK


def _walk(draws, call, n_pre, lam):
    """Rows with attempts and their counts in one call (kernels/rewiring.cu,
    snn_rewire_propose with `attempts`), written out: per chunk of 256 rows,
    geometric gaps from uniform k of (chunk, 2^62 | call 2^20 | k), a
    zero-truncated Poisson count by inversion (chunks of 16 beyond 16)."""
    e, e16 = _snn_exp([-lam, -16.0]) if lam <= 16 else (0.0, _snn_exp([-16.0])[0])

    def uniform(q, k):
        counter = (1 << 62) | (call << 20) | k
        ctr = [[counter & 0xFFFFFFFF, counter >> 32, q, draws.stream]]
        x, y = (int(v) for v in philox4x32(ctr, [SEED & 0xFFFFFFFF, SEED >> 32])[0][:2])
        return ((((x >> 5) << 26) | (y >> 6)) + 0.5) / 2.0**53

    def small(u, m, em):  # snn_poisson_small
        n, p = 0, em
        f = p
        while u > f and n < 1000:
            n += 1
            p = p * m / n
            f = f + p
        return n

    out = {}
    for q in range((n_pre + CHUNK - 1) // CHUNK):
        end, row, k = min((q + 1) * CHUNK, n_pre), q * CHUNK - 1, 0
        while True:
            gap = np.floor(-_snn_log(uniform(q, k))[0] / lam)
            k += 1
            if gap >= end - row - 1:
                break
            row += 1 + int(gap)
            if lam <= 16:
                n = max(small(e + uniform(q, k) * (1.0 - e), lam, e), 1)
                k += 1
            else:
                n = 0
                while n == 0:
                    rest = lam
                    while rest > 0:
                        m = min(rest, 16.0)
                        rest -= m
                        n += small(uniform(q, k), m, e16 if m == 16.0 else _snn_exp([-m])[0])
                        k += 1
            out[row] = n
    return out


def _attempt_uniform(row, call, attempt, k):
    """Uniform k of an attempt (kernels/rewiring.cu, snn_attempt_uniform):
    half of the block (seed, STREAM_ATTEMPT + projection, entity row,
    counter call 2^32 | attempt 2^12 | k / 2)."""
    counter = (call << 32) | (attempt << 12) | (k >> 1)
    ctr = [[counter & 0xFFFFFFFF, counter >> 32, row, STREAM_ATTEMPT]]
    block = [int(v) for v in philox4x32(ctr, [SEED & 0xFFFFFFFF, SEED >> 32])[0]]
    a, b = block[2:] if k & 1 else block[:2]
    return ((((a >> 5) << 26) | (b >> 6)) + 0.5) / 2.0**53


@pytest.mark.parametrize("lam", [0.05, 1.5, 21.0])
@pytest.mark.parametrize("threads", [1, 2])
def test_attempts_walk_matches_the_reference(lam, threads):
    """With attempts=, the rule runs for the rows the reference walk picks,
    with their counts, and each attempt on the target its first draw picks:
    the last attempt of every such row adds a synapse onto its target when
    its next draw is below 0.7."""
    n_pre, n_post = 600, 64  # two whole chunks and a part
    rule = RewiringRule("walk", params={"lam": lam}, attempts="lam", multapses=True,
                        max_add=64,
                        code="if (attempt == n_attempts - 1 && uniform() < 0.7) add_synapse();")
    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.PoissonSource(rate=0.0), n_pre)
    b = net.population("b", sl.models.LIF(), n_post)
    net.connect(a, b, sl.connect.FromList([0], [0]), weight=0.0,
                rewiring=Rewiring(rule, period=0.5))
    sim = sl.Simulation(net, backend="cpu", seed=SEED, threads=threads)
    draws = _Draws(SEED, STREAM_REWIRE + 0)
    seen = {(0, 0): 1}
    for call in (1, 2, 3):
        sim.run(0.6 if call == 1 else 0.5)  # through step 5 call
        c = sim.connectivity("a->b")
        now = {}
        for p, q in zip(c["pre"].tolist(), c["post"].tolist()):
            now[(p, q)] = now.get((p, q), 0) + 1
        new = {k: v - seen.get(k, 0) for k, v in now.items() if v > seen.get(k, 0)}
        seen = now
        want = set()
        for row, n in _walk(draws, call, n_pre, lam).items():
            if _attempt_uniform(row, call, n - 1, 1) < 0.7:
                want.add((row, min(int(_attempt_uniform(row, call, n - 1, 0) * n_post),
                                   n_post - 1)))
        assert len(want) > 5 and set(new) == want and all(v == 1 for v in new.values()), call


@pytest.mark.parametrize("lam", [0.02, 0.7, 21.0])
def test_attempts_are_poisson(lam):
    """What the kernel draws has the Poisson law: per call, the rows with
    attempts are Binomial(n, 1 - exp(-lam)) and the attempts in all are
    Poisson(n lam); 120 calls of 600 rows, means and variances within 4
    standard errors.  Every attempt proposes; with max_add = 1 only a row's
    first attempt may (formed: one per row with attempts), the others fail."""
    rule = RewiringRule("count", params={"lam": lam}, attempts="lam", multapses=True,
                        max_add=1, code="add_synapse();")
    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.PoissonSource(rate=0.0), 600)
    b = net.population("b", sl.models.LIF(), 50)
    net.connect(a, b, sl.connect.FromList([0], [0]), weight=0.0,
                rewiring=Rewiring(rule, period=0.1))
    sim = sl.Simulation(net, backend="cpu", seed=SEED, threads=2)
    sim.run(12.1)  # steps 0 .. 120: calls at steps 1 .. 120
    c = sim.rewiring_counts("a->b")
    rows, calls = c["formed"], len(c["formed"])
    attempts = c["formed"] + c["failed"]
    assert calls == 120
    p = 1.0 - np.exp(-lam)
    assert abs(rows.mean() - 600 * p) < 4 * np.sqrt(600 * p * (1 - p) / calls)
    assert abs(attempts.mean() - 600 * lam) < 4 * np.sqrt(600 * lam / calls)
    # the sample variance's standard error: sigma^2 sqrt(2 / (calls - 1)) (near normal)
    assert attempts.var(ddof=1) == pytest.approx(600 * lam, rel=4 * np.sqrt(2 / (calls - 1)))
    if 600 * p * (1 - p) > 1:  # (at lam = 21 every row has attempts, every call)
        assert rows.var(ddof=1) == pytest.approx(600 * p * (1 - p),
                                                 rel=4 * np.sqrt(2 / (calls - 1)))
    else:
        assert rows.min() == 600


def test_in_degrees_follow_the_rows():
    sim = sl.Simulation(_network(max_in=4), backend="cpu", seed=SEED, threads=2)
    sim.run(5.0)
    g = sim._state.rewiring.groups["b"]
    deg = np.bincount(sim.connectivity("a->b")["post"], minlength=25)
    np.testing.assert_array_equal(sim.backend.to_host(g.in_degree), deg)
    for k in ("claims", "removed"):
        assert not sim.backend.to_host(getattr(g, k)).any()


def test_rows_grow_and_growth_can_be_refused():
    sim = sl.Simulation(_network(), backend="cpu", seed=SEED, threads=1)
    cap0 = sim.matrix("a->b").capacity
    sim.run(20.0)
    assert sim.matrix("a->b").capacity > cap0
    same = sl.Simulation(_network(), backend="cpu", seed=SEED, threads=1, chunk_steps=7)
    same.run(20.0)  # other run lengths and growth points: the same synapses
    for k in ("pre", "post", "weight"):
        np.testing.assert_array_equal(same.connectivity("a->b")[k], sim.connectivity("a->b")[k])

    fixed = sl.Simulation(_network(grow=False), backend="cpu", seed=SEED)
    lengths = fixed.backend.to_host(fixed.matrix("a->b").row_length)
    before = fixed.connectivity("a->b")
    with pytest.raises(sl.CapacityError, match="growth is disabled"):
        fixed.run(1.0)
    assert fixed.t == 0.0
    np.testing.assert_array_equal(fixed.backend.to_host(fixed.matrix("a->b").row_length),
                                  lengths)
    np.testing.assert_array_equal(fixed.connectivity("a->b")["post"], before["post"])


STRONG_OUT = """
for (int64_t k = 0; k < row_length; ++k)
    if (weight[k] > w_high) remove_synapse(k);
for (int a = 0; a < 2; ++a) {
    const int64_t j = random_int(n_post);
    if (uniform() < 0.5) add_synapse(j);
}
"""


def _strong_out(**conventions):
    """Plastic rows whose rule removes the synapses that STDP potentiated
    past w_high and adds new ones: targets driven to fire often."""
    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.PoissonSource(rate=150.0), 30)
    b = net.population("b", sl.models.LIF(I_e=400.0), 25)
    rule = RewiringRule("strong_out", params={"w_high": 1.15}, code=STRONG_OUT,
                        init={"weight": "1.0"}, max_add=2)
    net.connect(a, b, sl.connect.FixedProbability(0.3), weight=1.0, delay=0.5,
                plasticity=STDP(a_plus=0.05, a_minus=0.02, w_max=3.0, **conventions),
                rewiring=Rewiring(rule, period=0.5))
    return net


CONVENTIONS = [{}, {"dendritic_delay": 0.3}, {"same_step": "drop"},
               {"dendritic_delay": 0.3, "same_step": "drop"}]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("conventions", CONVENTIONS)
def test_rewiring_that_changes_nothing_changes_no_weight(conventions, threads):
    """A plastic projection rewired by a rule that does nothing learns
    exactly as without rewiring: bringing a row up to date before the rule
    applies each pair once, at the right step, whatever the conventions."""
    def net(rewire):
        n = sl.Network(dt=0.1)
        a = n.population("a", sl.models.PoissonSource(rate=150.0), 30)
        b = n.population("b", sl.models.LIF(I_e=400.0), 25)
        rw = Rewiring(RewiringRule("noop", params={}, code=";"), period=0.5) if rewire else None
        n.connect(a, b, sl.connect.FixedProbability(0.3), weight=1.0, delay=0.5,
                  plasticity=STDP(a_plus=0.05, a_minus=0.02, w_max=3.0, **conventions),
                  rewiring=rw)
        return n
    plain = sl.Simulation(net(False), backend="cpu", seed=3, threads=threads)
    rewired = sl.Simulation(net(True), backend="cpu", seed=3, threads=threads)
    plain.run(30.0)
    rewired.run(30.0)
    w = plain.connectivity("a->b")["weight"]
    assert np.abs(w - 1.0).max() > 0.1  # it learnt
    np.testing.assert_array_equal(w, rewired.connectivity("a->b")["weight"])
    assert plain.spikes_sha256() == rewired.spikes_sha256()


@pytest.mark.parametrize("conventions", CONVENTIONS[::3])
def test_plastic_rows_are_up_to_date_when_the_rule_runs(conventions):
    """A rule reads weights as they are, potentiation owed included, and a
    synapse it adds owes nothing for spikes before it existed: the run
    equals one whose rows the host brings up to date before every call
    (it reads the weights between pieces that end there)."""
    whole = sl.Simulation(_strong_out(**conventions), backend="cpu", seed=SEED, threads=2)
    whole.run(30.0)
    pieces = sl.Simulation(_strong_out(**conventions), backend="cpu", seed=SEED, threads=1)
    for _ in range(60):
        pieces.run(0.5)  # the next step is a call
        pieces.connectivity("a->b")
    counts = whole.rewiring_counts("a->b")
    assert counts["removed"].sum() > 100 and counts["formed"].sum() > 100  # the rule acted
    a, b = whole.connectivity("a->b"), pieces.connectivity("a->b")
    assert a["weight"].max() > 1.15  # potentiated since the last call
    for k in ("pre", "post", "weight", "delay"):
        np.testing.assert_array_equal(a[k], b[k])
    assert whole.spikes_sha256() == pieces.spikes_sha256()
    for k, v in counts.items():
        np.testing.assert_array_equal(v, pieces.rewiring_counts("a->b")[k])


def test_checkpoint_continues_rewiring_bit_for_bit(tmp_path):
    a = sl.Simulation(_network(plastic=True), backend="cpu", seed=SEED, threads=2)
    a.run(6.0)
    a.checkpoint(tmp_path / "rw.snn")
    a.run(6.0)
    b = sl.Simulation.restore(tmp_path / "rw.snn", backend="cpu", threads=1,
                               network=_network(plastic=True))
    b.run(6.0)
    for k in ("pre", "post", "weight", "delay"):
        np.testing.assert_array_equal(a.connectivity("a->b")[k], b.connectivity("a->b")[k])
    for k, v in a.rewiring_counts("a->b").items():
        np.testing.assert_array_equal(v, b.rewiring_counts("a->b")[k])
    assert a.spikes_sha256() == b.spikes_sha256()


def test_host_edits_keep_the_in_degrees():
    sim = sl.Simulation(_network(max_in=5), backend="cpu", seed=SEED, threads=1)
    sim.run(2.0)
    coo = sim.connectivity("a->b")
    sim.remove_synapses("a->b", coo["pre"][:3], coo["post"][:3])
    deg = np.bincount(sim.connectivity("a->b")["post"], minlength=25)
    in_degree = sim._state.rewiring.groups["b"].in_degree
    np.testing.assert_array_equal(sim.backend.to_host(in_degree), deg)
    sim.run(2.0)
    assert np.bincount(sim.connectivity("a->b")["post"], minlength=25).max() <= 5


def test_bad_rules_are_refused_before_building():
    with pytest.raises(ValueError, match="max_add"):
        RewiringRule("r", params={}, code="(void)0;", max_add=0)
    with pytest.raises(ValueError, match="not a usable name"):
        RewiringRule("r", params={"weight": 1.0}, code="(void)0;")
    with pytest.raises(ValueError, match="period"):
        Rewiring(_rule(), period=0.0)
    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.LIF(), 3)
    with pytest.raises(ValueError, match="multiple of dt"):
        net.connect(a, a, sl.connect.OneToOne(), weight=1.0,
                    rewiring=Rewiring(_rule(), period=0.25))
    net.connect(a, a, sl.connect.OneToOne(), weight=1.0, name="x",
                rewiring=Rewiring(_rule(), period=0.5, max_in_degree=3))
    with pytest.raises(ValueError, match="share one maximum in-degree"):
        net.connect(a, a, sl.connect.OneToOne(), weight=1.0, name="y",
                    rewiring=Rewiring(_rule(), period=0.5, max_in_degree=4))
    bad = RewiringRule("r", params={}, code="(void)0;", init={"gain": "1.0"})
    net2 = sl.Network(dt=0.1)
    b = net2.population("b", sl.models.LIF(), 3)
    net2.connect(b, b, sl.connect.OneToOne(), weight=1.0, rewiring=Rewiring(bad))
    with pytest.raises(ValueError, match="gain"):
        sl.Simulation(net2, backend="cpu")
    net3 = sl.Network(dt=0.1)
    c = net3.population("c", sl.models.LIF(), 3)
    reads = RewiringRule("r", params={}, code="if (in_degree(0) > 2) remove_synapse(0);")
    net3.connect(c, c, sl.connect.OneToOne(), weight=1.0, rewiring=Rewiring(reads))
    with pytest.raises(ValueError, match="max_in_degree"):
        sl.Simulation(net3, backend="cpu")


def test_bad_attempts_are_refused_before_building():
    with pytest.raises(ValueError, match="attempts must be None or the name"):
        RewiringRule("r", params={"lam": 1.0}, code="(void)0;", attempts="1.0")
    for code in ("if (n_attempts) remove_synapse(0);", "if (id_post) remove_synapse(0);",
                 "add_synapse();", "if (in_degree() < 3) add_synapse(1);"):
        with pytest.raises(ValueError, match="only a rule with attempts= has"):
            RewiringRule("r", params={}, code=code)
    # an attempt acts on its own pair: what reads the whole row, or another target, is refused
    for code, what in (("if (row_length > 2) add_synapse();", "row_length"),
                       ("if (target(0) == id_post) remove_synapse(0);", r"target\(k\)"),
                       ("remove_synapse(find_synapse(id_post));", r"find_synapse\(j\)"),
                       ("add_synapse(id_post + 1);", r"add_synapse\(j\)"),
                       ("if (in_degree(id_post) < 3) add_synapse();", r"in_degree\(j\)")):
        with pytest.raises(ValueError, match=f"runs per attempt and cannot use {what}"):
            RewiringRule("r", params={"lam": 1.0}, code=code, attempts="lam")
    for params, match in (({"mu": 1.0}, "neither a parameter nor a derived constant"),
                          ({"lam": -0.5}, r"must be in \[0, 65000\]"),
                          ({"lam": 1e5}, r"must be in \[0, 65000\]")):
        rule = RewiringRule("r", params=params, code="(void)0;", attempts="lam")
        net = sl.Network(dt=0.1)
        a = net.population("a", sl.models.LIF(), 3)
        net.connect(a, a, sl.connect.OneToOne(), weight=1.0, rewiring=Rewiring(rule))
        with pytest.raises(ValueError, match=match):
            sl.Simulation(net, backend="cpu")
