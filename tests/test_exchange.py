"""Simulation.to_neo and to_nwb: the recordings as a Neo Block and as an NWB
file, checked against the simulation's own accessors (spikes, recorders,
rates); read back by Elephant and by pynwb."""

import numpy as np
import pytest

import snnlab as sl
from snnlab.zoo import brunel

neo = pytest.importorskip("neo")
pq = pytest.importorskip("quantities")


def _sim(**kwargs):
    return sl.Simulation(brunel.network(n=400), backend="cpu", seed=2, threads=1, **kwargs)


def test_spike_trains_are_the_simulations_spikes():
    sim = _sim()
    sim.run(100.0)
    block = sim.to_neo()
    seg = block.segments[0]
    pops = sim.network.populations
    assert len(seg.spiketrains) == sum(p.n for p in pops.values())
    first = 0
    for name, pop in pops.items():
        times, ids = sim.spikes(name)
        trains = [st for st in seg.spiketrains if st.annotations["source_population"] == name]
        assert [st.annotations["source_index"] for st in trains] == list(range(pop.n))
        assert [st.annotations["source_id"] for st in trains] == list(range(first, first + pop.n))
        for i, st in enumerate(trains):
            assert st.units == pq.ms and st.t_start == 0 * pq.ms and st.t_stop == 100.0 * pq.ms
            np.testing.assert_array_equal(st.magnitude, times[ids == i])
        group = next(g for g in block.groups if g.name == name)
        assert len(group.spiketrains) == pop.n
        first += pop.n
    assert sum(st.size for st in seg.spiketrains) == sum(sim.spikes(p)[0].size for p in pops)


def test_state_samples_are_signals_with_the_models_units():
    net = sl.Network(dt=0.1)
    src = net.population("src", sl.models.PoissonSource(rate=800.0), 20)
    lif = net.population("lif", sl.models.LIF(synapse="exp"), 10)
    net.connect(src, lif, sl.connect.AllToAll(), weight=60.0)
    sim = sl.Simulation(net, backend="cpu", seed=1, threads=1, record_spikes=["lif"])
    rec = sim.record("lif", ["V_m", "I_syn_ex"], neurons=[1, 4, 6], every=2)
    sim.run(20.0)
    seg = sim.to_neo().segments[0]
    by_name = {s.name: s for s in seg.analogsignals}
    assert set(by_name) == {"V_m", "I_syn_ex"}
    for var, unit in (("V_m", pq.mV), ("I_syn_ex", pq.pA)):
        sig = by_name[var]
        assert sig.units == unit
        np.testing.assert_array_equal(sig.magnitude, rec[var])
        assert sig.sampling_period == 0.2 * pq.ms
        assert sig.t_start == rec.times[0] * pq.ms
        np.testing.assert_array_equal(sig.array_annotations["channel_ids"], [1, 4, 6])
        np.testing.assert_allclose(sig.times.magnitude, rec.times)
    assert [st.annotations["source_population"] for st in seg.spiketrains] == ["lif"] * 10


def test_samples_with_a_gap_are_an_irregularly_sampled_signal():
    sim = _sim()
    rec = sim.record("exc", "V_m", neurons=[0, 5])
    sim.run(5.0)
    sim.run(5.0, record=False)
    sim.run(5.0)
    seg = sim.to_neo(populations="exc").segments[0]
    assert not seg.analogsignals
    (sig,) = seg.irregularlysampledsignals
    np.testing.assert_allclose(sig.times.magnitude, rec.times)
    np.testing.assert_array_equal(sig.magnitude, rec["V_m"])
    assert sig.units == pq.mV


def test_elephant_reads_the_rates_snnlab_reports():
    statistics = pytest.importorskip("elephant.statistics")
    sim = _sim()
    sim.run(200.0)
    seg = sim.to_neo().segments[0]
    for name, rate in sim.rates().items():
        mean = np.mean([statistics.mean_firing_rate(st).rescale("Hz").magnitude
                        for st in seg.spiketrains
                        if st.annotations["source_population"] == name])
        assert mean == pytest.approx(rate, rel=1e-12)


def test_bad_arguments_are_named():
    sim = _sim(record_spikes=["exc"])
    sim.run(1.0)
    with pytest.raises(ValueError, match=r"populations must be among those recorded \(\['exc'\]\)"):
        sim.to_neo(populations=["inh"])
    with pytest.raises(ValueError, match="units must map state variables"):
        sl.models.LIF().__class__(name="m", params={}, state={"v": 0.0}, units={"w": "mV"})


def test_an_nwb_file_holds_the_same_as_the_block(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    sim = _sim()
    rec = sim.record("exc", "V_m", neurons=[2, 9], every=3)
    sim.run(30.0)
    path = sim.to_nwb(tmp_path / "run.nwb", session_description="Brunel, 400 neurons")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        assert nwb.session_description == "Brunel, 400 neurons"
        units = nwb.units.to_dataframe()
        pops = sim.network.populations
        assert len(units) == sum(p.n for p in pops.values())
        for name in pops:
            times, ids = sim.spikes(name)
            mine = units[units["population"] == name]
            for _, row in mine.iterrows():
                np.testing.assert_allclose(np.asarray(row["spike_times"]) * 1e3,
                                           times[ids == row["source_index"]], rtol=1e-12)
        assert list(units["source_id"]) == list(range(len(units)))
        ts = nwb.acquisition["exc_V_m"]
        assert ts.unit == "volts" and ts.conversion == pytest.approx(1e-3)
        np.testing.assert_array_equal(ts.data[:], rec["V_m"])
        assert ts.rate == pytest.approx(1e3 / (3 * sim.dt))
        assert ts.starting_time == pytest.approx(rec.times[0] * 1e-3)
        assert "[2, 9]" in ts.description


def test_an_nwb_file_keeps_a_gap_in_its_timestamps(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    sim = _sim(record_spikes=False)
    rec = sim.record("inh", "V_m", neurons=[1])
    sim.run(2.0)
    sim.run(2.0, record=False)
    sim.run(2.0)
    with pynwb.NWBHDF5IO(str(sim.to_nwb(tmp_path / "gap.nwb")), "r") as io:
        nwb = io.read()
        assert nwb.units is None
        ts = nwb.acquisition["inh_V_m"]
        np.testing.assert_allclose(ts.timestamps[:] * 1e3, rec.times)
        np.testing.assert_array_equal(ts.data[:], rec["V_m"])


def test_nwb_refuses_a_folder_that_is_not_there(tmp_path):
    pytest.importorskip("pynwb")
    sim = _sim()
    sim.run(1.0)
    with pytest.raises(ValueError, match="path: the folder .* does not exist"):
        sim.to_nwb(tmp_path / "no" / "run.nwb")
