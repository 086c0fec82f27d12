"""Waveforms: ObsPy-backed reading, gap policies, processing chains, detection, picking and scoring."""

import numpy as np
import obspy
import pandas as pd
import pytest
from scipy import signal

from quakelab.waveforms import (
    ProcessingChain,
    WaveformError,
    apply_gap_policy,
    characteristic_function,
    coincidence,
    detect,
    example_path,
    gaps_report,
    pick_ar,
    pick_baer,
    read_waveforms,
    score_detections,
)

pytestmark = pytest.mark.filterwarnings("ignore:Sample spacing read from SAC file")


def synthetic(onset_s=60.0, fs=100.0, n=12000, station="SYN", seed=0):
    rng = np.random.default_rng(seed)
    data = rng.normal(0, 1, n)
    k = int(onset_s * fs)
    t = np.arange(n - k) / fs
    data[k:] += 30 * np.exp(-t / 2) * np.sin(2 * np.pi * 5 * t)
    return obspy.Trace(
        data=data,
        header={
            "sampling_rate": fs,
            "starttime": obspy.UTCDateTime("2020-01-01"),
            "station": station,
            "channel": "HHZ",
            "network": "XX",
        },
    )


def test_read_real_examples_and_errors(tmp_path):
    st = read_waveforms(example_path("II.TLY.BHZ.SAC"))
    assert st[0].id == "II.TLY.00.BHZ" and st[0].stats.npts == 12684 and st[0].stats.sampling_rate == 20.0
    assert st[0].stats.source.endswith("II.TLY.BHZ.SAC")
    both = read_waveforms([example_path("CRLZ.HHZ.10.NZ.SAC"), example_path("IUANMO.seed")])
    assert sorted(tr.id for tr in both) == ["IU.ANMO.00.LHZ", "NZ.CRLZ.10.HHZ"]
    with pytest.raises(WaveformError, match="not found: .*nope.mseed"):
        read_waveforms(tmp_path / "nope.mseed")
    bad = tmp_path / "garbage.mseed"
    bad.write_bytes(b"not a waveform at all" * 10)
    with pytest.raises(WaveformError, match="garbage.mseed: cannot read waveforms"):
        read_waveforms(bad)


def test_event_detected_within_50_ms():
    st = obspy.Stream([synthetic(onset_s=60.0)])
    for method in ("classic", "recursive"):
        det = detect(st, method=method, sta_s=0.2, lta_s=10.0, on=4.0, off=1.5)
        assert len(det) == 1, method
        lag = (det["time_on"].iloc[0] - pd.Timestamp("2020-01-01T00:01:00", tz="UTC")).total_seconds()
        assert 0 <= lag <= 0.05, (method, lag)
    cft = characteristic_function(st[0], method="recursive", sta_s=0.2, lta_s=10.0)
    assert cft[:1000].max() == 0.0  # warm-up
    with pytest.raises(WaveformError, match="STA < LTA"):
        characteristic_function(st[0], sta_s=10, lta_s=1)


def test_network_coincidence():
    st = obspy.Stream(
        [
            synthetic(60.0, station="A", seed=1),
            synthetic(60.3, station="B", seed=2),
            synthetic(90.0, station="C", seed=3),
        ]
    )
    trig = coincidence(st, sta_s=0.2, lta_s=10.0, on=4.0, off=1.5, min_stations=2)
    assert len(trig) == 1 and trig["stations"].iloc[0] == "A,B"
    assert abs((trig["time"].iloc[0] - pd.Timestamp("2020-01-01T00:01:00", tz="UTC")).total_seconds()) < 0.05


def test_bandpass_matches_scipy():
    impulse = np.zeros(2000)
    impulse[100] = 1.0
    tr = obspy.Trace(data=impulse.copy(), header={"sampling_rate": 100.0})
    out = ProcessingChain(
        [("filter", {"type": "bandpass", "freqmin": 1.0, "freqmax": 10.0, "corners": 4, "zerophase": False})]
    ).apply(tr)
    sos = signal.butter(4, [1.0, 10.0], btype="bandpass", fs=100.0, output="sos")
    np.testing.assert_allclose(out[0].data, signal.sosfilt(sos, impulse), atol=1e-12)
    # the frequency response of that filter: -3 dB at the corners, ~0 dB inside
    w, h = signal.sosfreqz(sos, worN=[1.0, 3.0, 10.0], fs=100.0)
    assert 20 * np.log10(abs(h[0])) == pytest.approx(-3.01, abs=0.05)
    assert abs(h[1]) == pytest.approx(1.0, abs=0.01)


def test_chain_is_recorded_and_input_untouched():
    st = read_waveforms(example_path("II.TLY.BHZ.SAC"))
    before = st[0].data.copy()
    chain = ProcessingChain(
        [
            ("detrend", {"type": "linear"}),
            ("taper", {"max_percentage": 0.05}),
            ("filter", {"type": "highpass", "freq": 0.5}),
            ("decimate", {"factor": 2}),
        ]
    )
    out = chain.apply(st)
    assert np.array_equal(st[0].data, before)
    assert out[0].stats.sampling_rate == 10.0
    assert out[0].stats.quakelab_processing == chain.to_json()
    assert "decimate" in out[0].stats.quakelab_processing
    with pytest.raises(WaveformError, match="not a known processing step"):
        ProcessingChain([("fft_magic", {})])
    with pytest.raises(WaveformError, match="needs station metadata"):
        ProcessingChain([("remove_response", {"output": "VEL"})]).apply(st)
    with pytest.raises(WaveformError, match="II.TLY.00.BHZ: step 'filter' failed"):
        ProcessingChain([("filter", {"type": "bandpass", "freqmin": 1.0})]).apply(st)
    with pytest.raises(WaveformError, match="empty stream"):
        chain.apply(obspy.Stream())


def test_gap_policies_are_explicit():
    tr = synthetic()
    a = tr.slice(tr.stats.starttime, tr.stats.starttime + 30)
    b = tr.slice(tr.stats.starttime + 40, tr.stats.endtime)
    st = obspy.Stream([a, b])
    report = gaps_report(st)
    assert len(report) == 1 and report["kind"].iloc[0] == "gap"
    assert report["duration_s"].iloc[0] == pytest.approx(9.99, abs=0.011)
    merged, rep = apply_gap_policy(st, "merge")
    assert len(merged) == 1 and np.ma.is_masked(merged[0].data) and len(rep) == 1
    filled, _ = apply_gap_policy(st, "fill", fill_value=0.0)
    assert not np.ma.is_masked(filled[0].data) and filled[0].stats.npts == tr.stats.npts
    split, _ = apply_gap_policy(st, "split")
    assert len(split) == 2 and split[0].stats.gap_policy == "split"
    with pytest.raises(WaveformError, match="unknown gap policy"):
        apply_gap_policy(st, "ignore")


def test_pickers_on_real_example():
    st = obspy.read()  # ObsPy's real 3-component example (BW.RJOB, 100 Hz)
    picks = pick_ar(st.select(component="Z")[0], st.select(component="N")[0], st.select(component="E")[0])
    assert picks["phase"].tolist() == ["P", "S"]
    assert picks["time"].iloc[0] < picks["time"].iloc[1]
    p = pick_baer(synthetic())
    assert len(p) == 1
    assert abs((p["time"].iloc[0] - pd.Timestamp("2020-01-01T00:01:00", tz="UTC")).total_seconds()) < 0.1
    z = st.select(component="Z")[0].copy()
    z.stats.sampling_rate = 50.0
    with pytest.raises(WaveformError, match="sampling rates differ"):
        pick_ar(z, st.select(component="N")[0], st.select(component="E")[0])


def test_detection_scores_hand_counted():
    ref = pd.to_datetime(["2020-01-01 00:00:00", "2020-01-01 00:00:05", "2020-01-01 00:01:00"])
    det = pd.to_datetime(
        ["2020-01-01 00:00:00.3", "2020-01-01 00:00:00.4", "2020-01-01 00:00:05.9", "2020-01-01 00:02:00.0"]
    )
    s = score_detections(det, ref, tolerance_s=1.0)
    assert (s["true_positives"], s["false_positives"], s["false_negatives"]) == (2, 2, 1)
    assert s["precision"] == pytest.approx(0.5) and s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_parallel_chain_is_identical():
    st = obspy.Stream([synthetic(60.0, station=f"S{i}", seed=i) for i in range(4)])
    chain = ProcessingChain(
        [("detrend", {"type": "linear"}), ("filter", {"type": "bandpass", "freqmin": 1.0, "freqmax": 10.0})]
    )
    serial, par = chain.apply(st), chain.apply(st, parallel=True)
    assert [tr.id for tr in serial] == [tr.id for tr in par]
    for a, b in zip(serial, par, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_tuning_uses_validation_only_and_finds_a_working_setting():
    from quakelab.waveforms import tune_stalta

    tr = synthetic(60.0)
    grid = tune_stalta(
        obspy.Stream([tr]),
        pd.to_datetime(["2020-01-01T00:01:00"], utc=True),
        sta_s=(0.2, 1.0),
        lta_s=(10.0,),
        on=(4.0, 50.0),
    )
    assert len(grid) == 4 and grid["f1"].iloc[0] == 1.0
    assert grid.loc[grid["on"] == 50.0, "recall"].max() == 0.0  # a threshold too high detects nothing


def test_response_removal_and_rotation_with_real_metadata():
    st, inv = obspy.read(), obspy.read_inventory()  # ObsPy's BW.RJOB recording and its StationXML
    out = ProcessingChain([("remove_response", {"output": "VEL", "pre_filt": [0.1, 0.2, 40, 45]})]).apply(
        st, inventory=inv
    )
    # counts -> m/s: the example's ground velocity is of order 1e-7 m/s
    assert 1e-9 < float(np.std(out.select(component="Z")[0].data)) < 1e-5
    assert "remove_response" in out[0].stats.quakelab_processing
    rot = ProcessingChain([("rotate", {"method": "->ZNE"})]).apply(st, inventory=inv)
    np.testing.assert_allclose(
        rot.select(component="N")[0].data, st.select(component="N")[0].data
    )  # already ZNE
    bad = st.copy()
    for tr in bad:
        tr.stats.station = "NOPE"
    with pytest.raises(WaveformError, match=r"BW\.NOPE\.\.E\w\w: step 'remove_response' failed"):
        ProcessingChain([("remove_response", {"output": "VEL"})]).apply(bad, inventory=inv)


@pytest.mark.network
def test_live_iris_anmo(tmp_path):
    from quakelab.waveforms import fetch_waveforms

    st, inv = fetch_waveforms(
        "IU",
        "ANMO",
        "00",
        "BHZ",
        "2010-02-27T06:45:00",
        "2010-02-27T06:50:00",
        cache_dir=tmp_path,
        progress=False,
    )
    assert len(st) and inv is not None
