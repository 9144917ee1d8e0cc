"""Labelled spike data: the generated sets against their definitions, the
readers on small files written here, bad input refused by name."""

import numpy as np
import pytest

import snnlab as sl
from snnlab.data import SpikeDataset, digits, read_events, read_shd, temporal_patterns


def _tiny():
    return SpikeDataset(times=([3.0, 1.0], [], [2.5]), units=([1, 0], [], [2]),
                        labels=np.array([0, 1, 1]), n_inputs=3, duration=5.0, n_classes=2)


def test_a_dataset_holds_its_samples_sorted_by_time():
    ds = _tiny()
    assert len(ds) == 3
    t, u, label = ds[0]
    assert t.tolist() == [1.0, 3.0] and u.tolist() == [0, 1] and label == 0
    assert [x.tolist() for x in ds.trains(0, offset=10.0)] == [[11.0], [13.0], []]
    assert ds.subset(np.array([False, True, True])).labels.tolist() == [1, 1]


@pytest.mark.parametrize("change, match", [
    ({"labels": np.array([0, 2, 1])}, r"labels must be integers in \[0, 2\)"),
    ({"labels": np.array([0, 1])}, "one entry per sample"),
    ({"units": ([1, 3], [], [2])}, r"sample 0: units must be integers in \[0, 3\)"),
    ({"units": ([1], [], [2])}, "sample 0: 2 times but 1 units"),
    ({"times": ([3.0, 5.0], [], [2.5])}, r"sample 0: times must be in \[0, 5\) ms"),
    ({"times": ([3.0, np.nan], [], [2.5])}, "sample 0: times must be"),
    ({"n_inputs": 0}, "n_inputs must be a positive integer"),
    ({"duration": -1.0}, "duration must be a positive number"),
])
def test_bad_datasets_are_refused_by_name(change, match):
    args = dict(times=([3.0, 1.0], [], [2.5]), units=([1, 0], [], [2]),
                labels=np.array([0, 1, 1]), n_inputs=3, duration=5.0, n_classes=2)
    args.update(change)
    with pytest.raises(ValueError, match=match):
        SpikeDataset(**args)


def test_split_keeps_the_class_proportions_and_batches_cover_every_sample():
    ds = temporal_patterns(n_classes=4, n_inputs=5, n_samples=100, seed=2)
    train, test = ds.split(0.2, seed=1)
    assert len(train) == 80 and len(test) == 20
    assert np.bincount(test.labels).tolist() == [5, 5, 5, 5]
    batches = ds.batches(32, seed=3)
    assert [b.size for b in batches] == [32, 32, 32, 4]
    assert sorted(np.concatenate(batches).tolist()) == list(range(100))
    assert np.concatenate(ds.batches(32, shuffle=False)).tolist() == list(range(100))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        ds.batches(0)
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\)"):
        ds.split(1.0)


def test_temporal_patterns_are_their_class_templates_and_get_harder_with_noise():
    clean = temporal_patterns(n_classes=3, n_inputs=8, n_samples=9, jitter=0.0,
                              noise_rate=0.0, seed=5)
    for k in range(3, 9):  # without jitter, drops or noise: every sample is its template
        a, b = clean[k], clean[k - 3]
        assert a[2] == b[2]
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(clean[0][0], clean[1][0])  # the classes differ
    # the classes differ in timing only: the same mean count per input
    big = temporal_patterns(n_classes=2, n_inputs=200, n_samples=2, jitter=0.0,
                            noise_rate=0.0, spikes_per_input=3.0, seed=1)
    counts = [np.bincount(big[k][1], minlength=200).mean() for k in range(2)]
    assert all(abs(c - 3.0) < 4 * np.sqrt(3.0 / 200) for c in counts)
    noisy = temporal_patterns(n_classes=3, n_inputs=8, n_samples=9, jitter=0.0,
                              noise_rate=50.0, seed=5)
    assert sum(len(noisy[k][0]) for k in range(9)) > sum(len(clean[k][0]) for k in range(9))
    with pytest.raises(ValueError, match=r"p_drop must be in \[0, 1\)"):
        temporal_patterns(p_drop=1.0)
    with pytest.raises(ValueError, match="n_classes must be a positive integer"):
        temporal_patterns(n_classes=0)


def test_digits_in_latency_and_rate_codes():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    x = load_digits().data
    lat = digits("latency", duration=50.0)
    assert len(lat) == 1797 and lat.n_inputs == 64 and sorted(set(lat.labels)) == list(range(10))
    t, u, _ = lat[0]
    lit = np.flatnonzero(x[0] > 0)
    assert sorted(u.tolist()) == lit.tolist()  # one spike per lit pixel, none for dark
    np.testing.assert_allclose(t[np.argsort(u)], (1 - x[0][lit] / 16) * 45.0)
    rate = digits("rate", duration=100.0, max_rate=200.0, seed=3)
    # Poisson counts: pixels of value 16 fire 20 spikes in 100 ms on average
    counts = np.array([np.bincount(rate[k][1], minlength=64) for k in range(300)])
    full = counts[x[:300] == 16]
    assert abs(full.mean() - 20.0) < 4 * np.sqrt(20.0 / full.size)
    assert np.all(counts[x[:300] == 0] == 0)
    again = digits("rate", duration=100.0, max_rate=200.0, seed=3)
    np.testing.assert_array_equal(again[7][0], rate[7][0])
    assert not np.array_equal(digits("rate", seed=4)[7][0], digits("rate", seed=3)[7][0])
    with pytest.raises(ValueError, match="coding must be 'latency' or 'rate'"):
        digits("phase")


def test_read_shd_reads_the_published_layout(tmp_path):
    h5py = pytest.importorskip("h5py")
    times = [np.array([0.010, 0.0025]), np.array([], np.float64), np.array([0.5])]
    units = [np.array([3, 699], np.uint16), np.array([], np.uint16), np.array([7], np.uint16)]
    path = tmp_path / "shd_tiny.h5"
    with h5py.File(path, "w") as f:
        vf, vu = h5py.vlen_dtype(np.float64), h5py.vlen_dtype(np.uint16)
        f.create_dataset("spikes/times", (3,), dtype=vf)[:] = times
        f.create_dataset("spikes/units", (3,), dtype=vu)[:] = units
        f.create_dataset("labels", data=np.array([4, 0, 19], np.uint16))
    ds = read_shd(path)
    assert len(ds) == 3 and ds.n_inputs == 700 and ds.n_classes == 20
    t, u, label = ds[0]
    np.testing.assert_allclose(t, [2.5, 10.0])
    assert u.tolist() == [699, 3] and label == 4
    assert ds[1][0].size == 0 and ds.duration > 500.0
    with h5py.File(tmp_path / "wrong.h5", "w") as f:
        f.create_dataset("labels", data=np.array([1]))
    with pytest.raises(ValueError, match="has no 'spikes/times'"):
        read_shd(tmp_path / "wrong.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        read_shd(tmp_path / "text.h5")
    with pytest.raises(ValueError, match=r"units must be integers in \[0, 5\)"):
        read_shd(path, n_inputs=5)


def test_read_events_groups_events_by_sample(tmp_path):
    path = tmp_path / "events.npz"
    np.savez(path, times=np.array([4.0, 1.0, 2.0, 3.0]), units=np.array([1, 0, 2, 2]),
             sample=np.array([2, 0, 0, 2]), labels=np.array([1, 0, 1]))
    ds = read_events(path)
    assert len(ds) == 3 and ds.n_inputs == 3 and ds.n_classes == 2
    assert ds[0][0].tolist() == [1.0, 2.0] and ds[0][1].tolist() == [0, 2]
    assert ds[1][0].size == 0 and ds[2][0].tolist() == [3.0, 4.0]
    np.savez(tmp_path / "bad.npz", times=np.array([1.0]), units=np.array([0]),
             sample=np.array([5]), labels=np.array([0]))
    with pytest.raises(ValueError, match=r"sample must be integers in \[0, 1\)"):
        read_events(tmp_path / "bad.npz")
    np.savez(tmp_path / "short.npz", times=np.array([1.0]), units=np.array([0]))
    with pytest.raises(ValueError, match=r"lacks \['sample', 'labels'\]"):
        read_events(tmp_path / "short.npz")
    np.savez(tmp_path / "ragged.npz", times=np.array([1.0, 2.0]), units=np.array([0]),
             sample=np.array([0, 0]), labels=np.array([0]))
    with pytest.raises(ValueError, match="of one length"):
        read_events(tmp_path / "ragged.npz")


def test_a_sample_drives_spike_sources_as_given():
    ds = temporal_patterns(n_classes=2, n_inputs=6, n_samples=2, duration=30.0, seed=9)
    net = sl.Network(dt=0.1)
    net.population("in", sl.models.SpikeSourceArray(ds.trains(1, offset=1.0)), ds.n_inputs)
    sim = sl.Simulation(net, backend="cpu", seed=1, threads=1)
    sim.run(32.0)
    steps, ids = sim.spike_steps("in")
    t, u, _ = ds[1]
    want = sorted(zip(np.round((t + 1.0) / 0.1).astype(int) - 1, u))
    assert sorted(zip(steps.tolist(), ids.tolist())) == [(int(a), int(b)) for a, b in want]
