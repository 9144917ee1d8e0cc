"""e-prop (snnlab.learning) against an independent float64 reference: the
equations of Bellec et al. (2020) written out step by step with dense
matrices, for the network the kernels hold (its connectivity and weights)."""

import numpy as np
import pytest

from snnlab.learning import Classifier, EProp


def reference(net: EProp, events, labels, steps: int, window: int, R=None) -> dict:
    """Forward pass and e-prop gradients of one trial, in float64, dense;
    ``R``: the rate regulariser's factor per hidden neuron."""
    c, B = net.c, net.batch
    N, M, K = c.n_hidden, c.n_in, c.n_out
    W = {}
    for name, n_pre in (("in", M), ("rec", N)):
        con = net.connectivity(name)
        w = np.zeros((N, n_pre))  # [post][pre]
        w[con["post"], con["pre"]] = con["weight"].astype(np.float64)
        W[name] = w
    mask = {name: W[name] != 0 for name in W}
    ro = net.readout()
    w_out, b_out = ro["w"].astype(np.float64), ro["b"].astype(np.float64)
    fb = w_out.T if c.feedback == "symmetric" else \
        net.backend.to_host(net._fb_random).reshape(N, K).astype(np.float64)
    alpha, kappa, v_th = np.exp(-c.dt / c.tau_mem), np.exp(-c.dt / c.tau_out), c.v_th
    rho, beta = (np.exp(-c.dt / c.tau_adapt), c.beta) if c.neuron == "alif" else (0.0, 0.0)
    n_ref = int(round(c.refractory / c.dt))
    x = np.zeros((steps, B, M))
    for b, (st, ids) in enumerate(events):
        np.add.at(x, (np.asarray(st), b, np.asarray(ids)), 1.0)
    v, a, z = np.zeros((B, N)), np.zeros((B, N)), np.zeros((B, N))
    refrac = np.zeros((B, N), int)
    y, zhat, zbar, xbar = np.zeros((B, K)), np.zeros((B, N)), np.zeros((B, N)), np.zeros((B, M))
    ebar = {"in": np.zeros((B, N, M)), "rec": np.zeros((B, N, N))}
    eps = {"in": np.zeros((B, N, M)), "rec": np.zeros((B, N, N))}
    grad = {"in": np.zeros((N, M)), "rec": np.zeros((N, N)), "out": np.zeros((K, N)),
            "b": np.zeros(K)}
    loss, ysum, spikes = np.zeros(B), np.zeros((B, K)), np.zeros((steps, B, N), bool)
    onehot = np.eye(K)[labels]
    for t in range(steps):
        xbar = alpha * xbar + x[t]
        cur = x[t] @ W["in"].T + z @ W["rec"].T
        v = alpha * v + cur - v_th * z
        a = rho * a + z
        A = v_th + beta * a
        spike = (refrac == 0) & (v >= A)
        psi = np.where(refrac > 0, 0.0, c.gamma / v_th * np.maximum(0.0, 1 - np.abs((v - A)
                                                                              / v_th)))
        refrac = np.where(spike, n_ref, np.maximum(refrac - 1, 0))
        z = spike.astype(float)
        spikes[t] = spike
        zhat = kappa * zhat + z
        y = kappa * y + z @ w_out.T + b_out
        if t >= steps - window:
            p = np.exp(y - y.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            err = p - onehot
            loss += -np.log(p[np.arange(B), labels])
            ysum += y
        else:
            err = np.zeros((B, K))
        L = err @ fb.T  # [b][j]
        for name, pre in (("in", xbar), ("rec", zbar)):
            if beta > 0:
                e = psi[:, :, None] * (pre[:, None, :] - beta * eps[name])
                eps[name] = psi[:, :, None] * pre[:, None, :] + (rho - psi[:, :, None] * beta) \
                    * eps[name]
            else:
                e = psi[:, :, None] * pre[:, None, :]
            ebar[name] = kappa * ebar[name] + e * mask[name]
            grad[name] += (L[:, :, None] * ebar[name]).sum(axis=0)
            if R is not None:
                grad[name] += (R[None, :, None] * e * mask[name]).sum(axis=0)
        grad["out"] += err.T @ zhat
        grad["b"] += err.sum(axis=0)
        zbar = alpha * zbar + z
    return {"grad": grad, "loss": loss, "ysum": ysum, "spikes": spikes, "mask": mask}


def _task(c: Classifier, B: int, steps: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    events = []
    for _ in range(B):
        n = rng.integers(steps, 3 * steps)
        events.append((rng.integers(0, steps, n), rng.integers(0, c.n_in, n)))
    return events, rng.integers(0, c.n_out, B)


@pytest.mark.parametrize("neuron,feedback", [("lif", "symmetric"), ("alif", "random"),
                                             ("alif", "symmetric")])
def test_gradients_equal_the_reference(neuron, feedback):
    c = Classifier(n_in=12, n_hidden=20, n_out=3, neuron=neuron, feedback=feedback,
                   density_in=0.6, density_rec=0.4, w_in=3.0, w_rec=1.5, beta=0.5,
                   tau_adapt=50.0, refractory=2.0)
    steps, window, B = 60, 25, 3
    net = EProp(c, batch=B, seed=7, threads=2)
    events, labels = _task(c, B, steps)
    got = net.trial(events, labels, steps, window)
    want = reference(net, events, labels, steps, window)
    assert want["spikes"].mean() > 0.02  # the hidden layer is active
    np.testing.assert_array_equal(got["spikes"], want["spikes"])
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-9)
    np.testing.assert_allclose(got["ysum"], want["ysum"], rtol=1e-9, atol=1e-9)
    for name in ("in", "rec"):
        con = net.connectivity(name)
        g = want["grad"][name][con["post"], con["pre"]]
        assert np.abs(g).max() > 0
        np.testing.assert_allclose(con["grad"], g, rtol=1e-4, atol=1e-6 * np.abs(g).max())
        # nothing where no synapse is stored
        assert con["pre"].size == int(want["mask"][name].sum())
    ro = net.readout()
    np.testing.assert_allclose(ro["grad_w"], want["grad"]["out"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ro["grad_b"], want["grad"]["b"], rtol=1e-9, atol=1e-12)


def test_the_rate_regulariser_follows_its_equations():
    """The average rate starts at the first trial's and is filtered over
    trials; the next trial's gradient gains c (f - target) 1000 / (steps
    dt) e(t) per step (the reference with that factor)."""
    from snnlab.learning import RateRegularizer

    c = Classifier(n_in=12, n_hidden=20, n_out=3, neuron="alif", density_in=0.6,
                   density_rec=0.4, w_in=3.0, w_rec=1.5, beta=0.5, tau_adapt=50.0)
    reg = RateRegularizer(c=0.05, target=10.0, tau=300.0)
    steps, window, B = 50, 20, 3
    net = EProp(c, batch=B, seed=7, regularizer=reg)
    events, labels = _task(c, B, steps)
    spikes_1 = reference(net, events, labels, steps, window)["spikes"]  # (before it learns)
    first = net.trial(events, labels, steps, window)
    np.testing.assert_array_equal(first["counts"], spikes_1.sum(axis=0))
    f1 = spikes_1.sum(axis=(0, 1)) * 1000.0 / (B * steps * c.dt)
    np.testing.assert_array_equal(net.rates, f1)
    net.step_optimizer(lr=1e-3)  # (gradients zeroed, weights moved)
    events, labels = _task(c, B, steps, seed=9)
    R = reg.c * (net.rates - reg.target) * 1000.0 / (steps * c.dt)
    second = net.trial(events, labels, steps, window)
    want = reference(net, events, labels, steps, window, R=R)
    np.testing.assert_array_equal(second["spikes"], want["spikes"])
    for name in ("in", "rec"):
        con = net.connectivity(name)
        g = want["grad"][name][con["post"], con["pre"]]
        np.testing.assert_allclose(con["grad"], g, rtol=1e-4, atol=1e-6 * np.abs(g).max())
        without = reference(net, events, labels, steps, window)["grad"][name]
        assert not np.allclose(g, without[con["post"], con["pre"]], rtol=1e-3)  # (it acts)
    keep = np.exp(-steps * c.dt / reg.tau)
    f2 = want["spikes"].sum(axis=(0, 1)) * 1000.0 / (B * steps * c.dt)
    np.testing.assert_allclose(net.rates, keep * f1 + (1 - keep) * f2, rtol=1e-12)
    with pytest.raises(ValueError, match="tau must be > 0"):
        RateRegularizer(tau=0.0)


def test_an_instance_of_a_batch_is_that_instance_alone():
    """Batch instance b of a batched trial: the same spikes and outputs, bit
    for bit, as a trial of that instance alone; the batch's gradient is the
    sum of the instances' (to rounding)."""
    c = Classifier(n_in=10, n_hidden=16, n_out=4, density_rec=0.3, w_in=3.0, beta=0.3,
                   tau_adapt=80.0)
    steps, B = 40, 3
    events, labels = _task(c, B, steps, seed=1)
    batched = EProp(c, batch=B, seed=2)
    got = batched.trial(events, labels, steps, 10)
    total = 0.0
    for b in range(B):
        one = EProp(c, batch=1, seed=2)
        alone = one.trial([events[b]], labels[b:b + 1], steps, 10)
        np.testing.assert_array_equal(got["spikes"][:, b], alone["spikes"][:, 0])
        assert got["loss"][b] == alone["loss"][0]
        np.testing.assert_array_equal(got["ysum"][b], alone["ysum"][0])
        total = total + one.connectivity("rec")["grad"].astype(np.float64)
    np.testing.assert_allclose(batched.connectivity("rec")["grad"], total, rtol=1e-5,
                               atol=1e-9 * np.abs(total).max())


def test_results_do_not_depend_on_the_threads():
    c = Classifier(n_in=10, n_hidden=30, n_out=3, density_rec=0.3, w_in=3.0)
    events, labels = _task(c, 4, 30, seed=3)
    out = []
    for threads in (1, 2):
        net = EProp(c, batch=4, seed=5, threads=threads)
        net.trial(events, labels, 30, 10)
        net.step_optimizer(lr=0.01)
        out.append({k: net.connectivity(k)["weight"] for k in ("in", "rec")})
    for k in ("in", "rec"):
        np.testing.assert_array_equal(out[0][k], out[1][k])


def test_adam_follows_its_equations():
    c = Classifier(n_in=6, n_hidden=8, n_out=2, density_rec=0.5, w_in=3.0)
    net = EProp(c, batch=2, seed=4)
    events, labels = _task(c, 2, 30, seed=4)
    w0 = {k: net.connectivity(k)["weight"].astype(np.float64) for k in ("in", "rec")}
    m = {k: np.zeros_like(w0[k]) for k in w0}
    v = {k: np.zeros_like(w0[k]) for k in w0}
    w = dict(w0)
    for step in (1, 2):
        net.trial(events, labels, 30, 10)
        g = {k: net.connectivity(k)["grad"] for k in w0}
        net.step_optimizer(lr=0.01)
        for k in w0:
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
            w[k] = w[k] - 0.01 * (m[k] / (1 - 0.9 ** step)) / (np.sqrt(v[k] / (1 - 0.999 ** step))
                                                              + 1e-8)
            np.testing.assert_allclose(net.connectivity(k)["weight"], w[k], rtol=1e-5,
                                       atol=1e-6)
            assert not net.connectivity(k)["grad"].any()  # zeroed by the step


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="neuron must be one of"):
        Classifier(4, 4, 2, neuron="izhikevich")
    with pytest.raises(ValueError, match=r"density_rec must be in \(0, 1\]"):
        Classifier(4, 4, 2, density_rec=0.0)
    with pytest.raises(ValueError, match="n_out must be at least 2"):
        Classifier(4, 4, 1)
    net = EProp(Classifier(4, 4, 2), batch=2)
    with pytest.raises(ValueError, match=r"events\[0\]: ids must be in \[0, n_in=4\)"):
        net.trial([([0], [4]), ([], [])], [0, 1], 10, 5)
    with pytest.raises(ValueError, match=r"events\[1\]: steps must be in \[0, 10\)"):
        net.trial([([0], [1]), ([3, 10], [0, 1])], [0, 1], 10, 5)
    with pytest.raises(ValueError, match=r"events\[1\]: steps and ids must have the same"):
        net.trial([([0], [1]), ([3, 4], [0])], [0, 1], 10, 5)
    with pytest.raises(ValueError, match="labels must be 2 class indices"):
        net.trial([([0], [1]), ([], [])], [0, 2], 10, 5)
    with pytest.raises(ValueError, match="window must be an integer"):
        net.trial([([0], [1]), ([], [])], [0, 1], 10, 11)
    with pytest.raises(ValueError, match=r"one \(steps, ids\) pair per instance \(1 to 2\)"):
        net.trial([([0], [1])] * 3, [0, 1, 1], 10, 5)


def test_learning_happens_on_the_temporal_patterns():
    """Classes that differ only in spike timing (jitter and noise added):
    from chance, a small recurrent network trained by e-prop classifies
    held-out samples in a few epochs."""
    from snnlab.data import temporal_patterns

    ds = temporal_patterns(n_classes=4, n_inputs=30, n_samples=160, duration=60.0,
                           jitter=3.0, noise_rate=10.0, seed=2)
    train, test = ds.split(0.25, seed=1)
    net = EProp(Classifier(30, 48, 4, density_in=0.5, density_rec=0.2, w_in=3.0), batch=16,
                seed=3)
    before = net.evaluate(test)
    history = net.fit(train, epochs=4, test=test, lr=5e-3)
    assert before["accuracy"] < 0.5
    assert history[-1]["loss"] < 0.3 * history[0]["loss"]
    assert history[-1]["test_accuracy"] >= 0.9
    assert all(h["synapses"] == history[0]["synapses"] for h in history)


def test_fit_refuses_data_of_another_shape():
    from snnlab.data import temporal_patterns

    net = EProp(Classifier(10, 8, 3), batch=4)
    with pytest.raises(ValueError, match="the data set has 12 inputs and 3 classes"):
        net.fit(temporal_patterns(n_classes=3, n_inputs=12, n_samples=6))
    ds = temporal_patterns(n_classes=3, n_inputs=10, n_samples=6, duration=20.0)
    with pytest.raises(ValueError, match="window must be in"):
        net.fit(ds, window=30.0)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        net.fit(ds, epochs=0)


def _adam(w, g, m, v, step, lr, l1=0.0):
    """One Adam step (float64), with DEEP R's L1 term."""
    g = g + l1 * np.sign(w)
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    return w - lr * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)


def test_deep_r_moves_dormant_synapses_and_keeps_every_count():
    """After each optimiser step: exactly the synapses whose weight crossed
    zero (predicted from Adam's equations) leave, each row makes as many at
    absent targets, new ones start at weight 0 with zeroed moments, the
    others keep their weights, no stored weight has the wrong sign, and
    every row keeps its count."""
    from snnlab.learning import DeepR
    from snnlab.learning.eprop import deep_r_signs

    c = Classifier(n_in=10, n_hidden=24, n_out=3, density_in=0.4, density_rec=0.25, w_in=3.0)
    net = EProp(c, batch=4, seed=9, deep_r=DeepR(l1=1e-3))
    events, labels = _task(c, 4, 30, seed=5)
    lr, moved = 0.05, 0
    for step in range(1, 5):
        before = {k: net.connectivity(k) for k in ("in", "rec")}
        net.trial(events, labels, 30, 10, record=False)
        grads = {k: net.connectivity(k)["grad"] for k in ("in", "rec")}
        net.step_optimizer(lr=lr)
        for k in ("in", "rec"):
            b, a = before[k], net.connectivity(k)
            w = _adam(b["weight"].astype(np.float64), grads[k], b["m"].astype(np.float64),
                      b["v"].astype(np.float64), step, lr, l1=1e-3)
            s = deep_r_signs(9, net._deep_r_stream(k), b["pre"], b["post"])
            dormant = w * s < 0
            pairs_b = set(zip(b["pre"].tolist(), b["post"].tolist()))
            dead = set(zip(b["pre"][dormant].tolist(), b["post"][dormant].tolist()))
            # new: at pairs absent before, or made again where one just left
            new = np.array([(p, q) not in pairs_b or (p, q) in dead
                            for p, q in zip(a["pre"].tolist(), a["post"].tolist())])
            assert net.rewired[-1][k] == len(dead)
            moved += len(dead)
            # every row keeps its count; new synapses at absent targets, at zero
            np.testing.assert_array_equal(np.bincount(a["pre"], minlength=24 if k == "rec"
                                                      else 10),
                                          np.bincount(b["pre"], minlength=24 if k == "rec"
                                                      else 10))
            assert new.sum() == len(dead)
            assert not a["weight"][new].any() and not a["m"][new].any() \
                and not a["v"][new].any()
            if k == "rec":
                assert not np.any(a["pre"] == a["post"])
            sa = deep_r_signs(9, net._deep_r_stream(k), a["pre"], a["post"])
            assert np.all(a["weight"] * sa >= 0)  # signs never flip
            # the survivors carry their weights and moments
            keep = ~new
            np.testing.assert_allclose(a["weight"][keep], w[~dormant], rtol=1e-5, atol=1e-7)
    assert moved > 10


def test_deep_r_is_the_same_on_any_thread_count():
    from snnlab.learning import DeepR

    c = Classifier(n_in=10, n_hidden=24, n_out=3, density_in=0.4, density_rec=0.25, w_in=3.0)
    events, labels = _task(c, 4, 30, seed=6)
    out = []
    for threads, temperature in ((1, 0.0), (2, 0.0), (1, 1e-3), (2, 1e-3)):
        net = EProp(c, batch=4, seed=9, threads=threads,
                    deep_r=DeepR(l1=1e-3, temperature=temperature))
        for _ in range(3):
            net.trial(events, labels, 30, 10, record=False)
            net.step_optimizer(lr=0.05)
        out.append({k: net.connectivity(k) for k in ("in", "rec")})
    for k in ("in", "rec"):
        for key in ("pre", "post", "weight"):
            np.testing.assert_array_equal(out[0][k][key], out[1][k][key])
            np.testing.assert_array_equal(out[2][k][key], out[3][k][key])
        assert not np.array_equal(out[0][k]["weight"], out[2][k]["weight"])  # the noise


def test_a_checkpoint_continues_training_bit_for_bit(tmp_path):
    from snnlab.data import temporal_patterns
    from snnlab.learning import DeepR, RateRegularizer

    ds = temporal_patterns(n_classes=3, n_inputs=12, n_samples=48, duration=30.0, seed=4)
    c = Classifier(12, 16, 3, density_in=0.5, density_rec=0.3, w_in=3.0)

    def fresh():
        return EProp(c, batch=8, seed=6, deep_r=DeepR(l1=1e-3, temperature=1e-4),
                     regularizer=RateRegularizer(c=1e-3))
    whole = fresh()
    whole.fit(ds, epochs=3, lr=0.02)
    first = fresh()
    first.fit(ds, epochs=2, lr=0.02)
    path = first.save(tmp_path / "train.npz")
    again = EProp.restore(path, threads=1)
    assert again.epochs_done == 2 and again.steps == first.steps
    again.fit(ds, epochs=1, lr=0.02)
    for k in ("in", "rec"):
        a, b = whole.connectivity(k), again.connectivity(k)
        for key in ("pre", "post", "weight", "m", "v"):
            np.testing.assert_array_equal(a[key], b[key])
    np.testing.assert_array_equal(whole.readout()["w"], again.readout()["w"])
    assert whole.rewired == again.rewired
    np.testing.assert_array_equal(whole.rates, again.rates)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a checkpoint of snnlab.learning"):
        EProp.restore(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", meta=np.frombuffer(b'{"format": "x"}', np.uint8))
    with pytest.raises(ValueError, match="not a checkpoint of snnlab.learning"):
        EProp.restore(tmp_path / "other.npz")


def test_cli_trains_and_prints_one_record_per_epoch(capsys):
    import json

    from snnlab.cli import main

    assert main(["train", "eprop", "--dataset", "patterns", "--hidden", "16", "--density",
                 "0.3", "--deep-r", "--epochs", "2", "--batch", "32", "--backend", "cpu",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [e["epoch"] for e in out["epochs"]] == [1, 2]
    for e in out["epochs"]:
        assert {"loss", "train_accuracy", "test_accuracy", "simulation_s", "learning_s",
                "rewiring_s", "rewired", "synapses"} <= set(e)
        assert e["synapses"] == out["synapses"]  # DEEP R keeps the count
    for argv, message in ((["--density", "0"], "--density must be in (0, 1]"),
                          (["--dataset", "mnist"], "--dataset must be digits"),
                          (["--epochs", "0"], "--epochs must be a positive integer")):
        assert main(["train", "eprop", *argv]) == 2
        assert message in capsys.readouterr().err


def test_the_training_view_follows_the_run():
    """The curves get one point per epoch and the matrices show the stored
    synapses (blank elsewhere) as DEEP R moves them."""
    pytest.importorskip("panel")
    from snnlab.data import temporal_patterns
    from snnlab.learning import DeepR
    from snnlab.viz import TrainingView

    ds = temporal_patterns(n_classes=3, n_inputs=12, n_samples=48, duration=30.0, seed=4)
    net = EProp(Classifier(12, 16, 3, density_in=0.5, density_rec=0.3, w_in=3.0), batch=8,
                seed=6, deep_r=DeepR(l1=1e-3))
    view = TrainingView(net, every=2)
    before = view.matrices["rec"].data["image"][0].copy()
    history = view.fit(ds, epochs=2, test=ds, lr=0.05)
    assert view.curves.data["epoch"] == [1, 2]
    assert view.curves.data["test"] == [h["test_accuracy"] for h in history]
    after = view.matrices["rec"].data["image"][0]
    con = net.connectivity("rec")
    assert np.isfinite(after).sum() == con["pre"].size
    np.testing.assert_array_equal(after[con["post"], con["pre"]], con["weight"])
    assert sum(r["rec"] for r in net.rewired) > 0
    assert not np.array_equal(np.isfinite(before), np.isfinite(after))  # it rewired
    assert view.panel() is view.panel()


def _view_and_task(every=2):
    from snnlab.data import temporal_patterns
    from snnlab.learning import DeepR
    from snnlab.viz import TrainingView

    ds = temporal_patterns(n_classes=3, n_inputs=12, n_samples=48, duration=30.0, seed=4)
    net = EProp(Classifier(12, 16, 3, density_in=0.5, density_rec=0.3, w_in=3.0), batch=8,
                seed=6, deep_r=DeepR(l1=1e-3))
    return TrainingView(net, every=every), ds


def _wait_for(condition, timeout=60.0):
    """Poll until condition() holds (a bound on a hang, not a speed check)."""
    import time

    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.01)


def test_training_in_the_views_thread_equals_fit():
    """start() trains in a thread of its own: the same records (times
    aside) and weights, bit for bit, as EProp.fit in the caller's thread;
    the page's callback moves the epochs and the matrices into the figures."""
    pytest.importorskip("panel")
    view, ds = _view_and_task()
    view.start(ds, epochs=3, test=ds, lr=0.05)
    history = view.wait(timeout=300)
    assert not view.running and len(history) == 3
    ref, _ = _view_and_task()
    expected = ref.net.fit(ds, epochs=3, test=ds, lr=0.05)
    for got, want in zip(history, expected):
        for key in ("epoch", "loss", "train_accuracy", "test_accuracy", "rewired", "synapses"):
            assert got[key] == want[key]
    for name in ("in", "rec"):
        np.testing.assert_array_equal(view.net.connectivity(name)["weight"],
                                      ref.net.connectivity(name)["weight"])
    assert view.curves.data["epoch"] == []  # (nothing moves before the page's callback)
    view.panel()
    view._tick()
    assert view.curves.data["epoch"] == [1, 2, 3]
    image = view.matrices["rec"].data["image"][0]
    con = view.net.connectivity("rec")
    np.testing.assert_array_equal(image[con["post"], con["pre"]], con["weight"])
    assert "epochs 3" in view._buttons["status"].object


def test_the_views_training_pauses_resumes_and_stops():
    """pause() holds the thread between two batches (nothing moves while
    held), play() goes on; stop() ends it after the batch in progress,
    keeping every batch done and the records of the epochs finished."""
    pytest.importorskip("panel")
    import time

    view, ds = _view_and_task(every=1)
    view.start(ds, epochs=50, lr=0.05)
    view.pause()
    _wait_for(lambda: view.status()["paused"])
    held = view.net.steps
    time.sleep(0.2)
    assert view.net.steps == held and view.running
    view.play()
    _wait_for(lambda: view.net.steps >= held + 3)
    view.stop()
    assert not view.running and view.error is None
    assert view.net.steps == view.batches  # (every batch done was applied)
    assert view.net.epochs_done == len(view.history) < 50


def test_the_views_training_refuses_bad_arguments_at_once():
    pytest.importorskip("panel")
    view, ds = _view_and_task()
    with pytest.raises(ValueError, match="lr must be > 0"):
        view.start(ds, epochs=1, lr=-1.0)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        view.start(ds, epochs=0)
    with pytest.raises(TypeError, match="start\\(\\) takes EProp.fit's arguments"):
        view.start(ds, epochs=1, learning_rate=0.1)
    assert not view.running and view.net.steps == 0
    view.start(ds, epochs=1, lr=0.05)
    with pytest.raises(RuntimeError, match="training already"):
        view.start(ds, epochs=1, lr=0.05)
    view.wait(timeout=300)


@pytest.mark.parametrize("neuron", ["lif", "alif"])
def test_a_trial_in_one_call_equals_the_steps_launched_one_by_one(neuron):
    """On the CPU a trial without per-step recording runs in one call
    (eprop_trial); it gives what the kernels launched step by step give, bit
    for bit: losses, readouts, gradients, the regulariser's rates."""
    from snnlab.learning import RateRegularizer

    c = Classifier(n_in=12, n_hidden=20, n_out=3, neuron=neuron, density_in=0.6,
                   density_rec=0.4, w_in=3.0, w_rec=1.5, beta=0.5, tau_adapt=50.0)
    out = []
    for record in (True, False):
        net = EProp(c, batch=3, seed=7, threads=2, regularizer=RateRegularizer(c=0.05))
        got = []
        for k, learn in enumerate((True, True, False)):
            events, labels = _task(c, 3, 40, seed=k)
            r = net.trial(events, labels, 40, 15, learn=learn, record=record)
            got.append((r["loss"], r["ysum"], r["counts"]))
        grads = {name: net.connectivity(name)["grad"] for name in ("in", "rec")}
        out.append((got, grads, net.readout(), net.rates))
    (a, ga, ra, fa), (b, gb, rb, fb) = out
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)
    for name in ("in", "rec"):
        np.testing.assert_array_equal(ga[name], gb[name])
    for key in ("grad_w", "grad_b"):
        np.testing.assert_array_equal(ra[key], rb[key])
    np.testing.assert_array_equal(fa, fb)
