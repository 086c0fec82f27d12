import numpy as np
import obspy
import pytest
from fdsn_waveform_server import WaveformServer

from quakelab.waveforms import WaveformError
from quakelab.waveforms.features import ppsd, window_features
from quakelab.waveforms.fetch import fetch_waveforms

T0 = "2009-08-24T00:20:03"


def test_fetch_chunks_cache_and_retries(tmp_path):
    sleeps = []
    # time-out well above a loaded machine's reply time (else a slow normal reply adds a retry)
    with WaveformServer(hold_s=4.0) as srv:
        srv.faults.extend(["500", "timeout"])
        st, inv = fetch_waveforms(
            "BW",
            "RJOB",
            "",
            "EHZ",
            T0,
            "2009-08-24T00:20:33",
            provider=srv.url,
            chunk_hours=10 / 3600,
            cache_dir=tmp_path,
            timeout_s=2.0,
            backoff_s=0.1,
            sleep=sleeps.append,
            progress=False,
        )
        n_first = len(srv.requests)
        again, inv2 = fetch_waveforms(
            "BW",
            "RJOB",
            "",
            "EHZ",
            T0,
            "2009-08-24T00:20:33",
            provider=srv.url,
            chunk_hours=10 / 3600,
            cache_dir=tmp_path,
            progress=False,
        )
        assert len(srv.requests) == n_first  # all from the cache
    assert sleeps == [0.1, 0.2]
    assert {tr.stats.channel for tr in st} == {"EHZ"}
    st.merge(method=1)  # chunk edges share one sample: the overlap is resolved, not duplicated
    ref = obspy.read().select(channel="EHZ")[0]
    assert len(st) == 1 and st[0].stats.npts == ref.stats.npts
    assert st[0].stats.starttime == ref.stats.starttime
    np.testing.assert_allclose(st[0].data[:2000], ref.data[:2000].astype("float32"), rtol=1e-6)
    assert inv is not None and inv.get_contents()["stations"][0].startswith("BW.RJOB")
    assert len(again) == 3 and inv2 is not None


def test_no_data_is_cached_and_persistent_errors_raise(tmp_path):
    with WaveformServer() as srv:
        st, _ = fetch_waveforms(
            "BW",
            "RJOB",
            "",
            "EHZ",
            "2010-01-01T00:00:00",
            "2010-01-01T00:00:10",
            provider=srv.url,
            chunk_hours=1,
            cache_dir=tmp_path,
            with_response=False,
            progress=False,
        )
        assert len(st) == 0 and list(tmp_path.rglob("*.nodata"))
        srv.faults.extend(["500"] * 5)
        with pytest.raises(WaveformError, match="failed after 2 retries"):
            fetch_waveforms(
                "BW",
                "RJOB",
                "",
                "EHN",
                T0,
                "2009-08-24T00:20:13",
                provider=srv.url,
                chunk_hours=1,
                cache_dir=tmp_path,
                max_retries=2,
                backoff_s=0,
                sleep=lambda s: None,
                progress=False,
            )


def test_window_features_known_frequency():
    fs = 100.0
    t = np.arange(0, 60, 1 / fs)
    tr = obspy.Trace(data=np.sin(2 * np.pi * 5.0 * t), header={"sampling_rate": fs, "station": "SIN"})
    f = window_features(obspy.Stream([tr]), window_s=20.0)
    assert f.dims == ("station", "window", "feature") and f.sizes["window"] == 3
    assert np.allclose(f.sel(feature="dominant_frequency_hz"), 5.0, atol=0.05)
    assert np.allclose(f.sel(feature="energy_2_8hz"), 1.0, atol=1e-3)  # all energy in the 2-8 Hz band
    assert np.allclose(f.sel(feature="kurtosis"), -1.5, atol=0.01)  # kurtosis of a sine


def test_ppsd_between_noise_models():
    st = obspy.read()
    _, table = ppsd(st.select(component="Z")[0], obspy.read_inventory(), ppsd_length_s=10, overlap=0.5)
    band = table.dropna()
    assert len(band) > 10
    assert (band["p50_db"] > band["nlnm_db"]).all() and (band["p50_db"] < band["nhnm_db"]).all()
    with pytest.raises(WaveformError, match="PPSD failed|no segment"):
        ppsd(st.select(component="Z")[0], obspy.Inventory(), ppsd_length_s=10)
