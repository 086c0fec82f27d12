import numpy as np
import pandas as pd
import pytest

from quakelab.features import build_feature_grid

LABELS = ("n_next", "occurs_next")


def tiny():
    return pd.DataFrame({
        "time": pd.to_datetime(["2020-01-01 12:00", "2020-01-03 06:00", "2020-01-05 00:00", "2020-01-09 00:00",
                                "2020-01-02 00:00"], utc=True),
        "latitude": [0.05, 0.05, 0.05, 0.05, 0.15], "longitude": [0.05, 0.05, 0.05, 0.05, 0.05],
        "magnitude": [2.0, 3.0, 4.5, 2.5, 5.0],
    })


def test_hand_counted_values():
    ds = build_feature_grid(tiny(), bbox=(0, 0.2, 0, 0.2), cell_deg=0.1, start="2020-01-06", end="2020-01-12",
                            lookbacks_days=(7,), horizon_days=3, target_magnitude=4.0)
    cell = dict(latitude=0.05, longitude=0.05)
    at = ds.sel(time="2020-01-06", **cell)
    assert int(at["count_7d"]) == 3  # Jan 1, 3, 5 are in [Dec 30, Jan 6)
    assert float(at["max_mag_7d"]) == 4.5 and float(at["mean_mag_7d"]) == pytest.approx(9.5 / 3)
    assert float(at["days_since_m_target"]) == pytest.approx(1.0)  # the M4.5 on Jan 5
    assert int(at["n_next"]) == 0 and not bool(at["occurs_next"])  # nothing in [Jan 6, Jan 9)
    later = ds.sel(time="2020-01-07", **cell)
    assert int(later["n_next"]) == 1 and not bool(later["occurs_next"])  # the M2.5 on Jan 9
    assert int(at["neighbour_count_7d"]) == 4  # plus the M5 one cell north
    assert float(at["benioff_7d"]) == pytest.approx(sum(np.sqrt(10 ** (1.5 * m + 4.8)) for m in (2.0, 3.0, 4.5)))


def test_features_are_causal():
    """Changing or adding any event at or after a feature time leaves that time's features unchanged."""
    rng = np.random.default_rng(0)
    n = 400
    base = pd.DataFrame({
        "time": pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(np.sort(rng.uniform(0, 120, n)), unit="D"),
        "latitude": rng.uniform(0, 1, n), "longitude": rng.uniform(0, 1, n), "magnitude": 2 + rng.exponential(0.5, n),
    })
    cut = pd.Timestamp("2020-03-15", tz="UTC")
    changed = base.copy()
    after = changed["time"] >= cut
    changed.loc[after, "magnitude"] += 1.0
    changed.loc[after, "latitude"] = 1 - changed.loc[after, "latitude"]
    extra = pd.DataFrame({"time": [cut, cut + pd.Timedelta(days=3)], "latitude": [0.5, 0.2],
                          "longitude": [0.5, 0.7], "magnitude": [6.0, 5.0]})
    changed = pd.concat([changed, extra], ignore_index=True)
    kw = dict(bbox=(0, 1, 0, 1), cell_deg=0.25, start="2020-02-01", end="2020-05-01", lookbacks_days=(7, 30),
              horizon_days=7, target_magnitude=3.0)
    a, b = build_feature_grid(base, **kw), build_feature_grid(changed, **kw)
    before = a["time"] <= np.datetime64(cut.tz_convert(None))
    features = [v for v in a.data_vars if v not in LABELS]
    for v in features:
        np.testing.assert_array_equal(a[v].where(before, drop=True), b[v].where(before, drop=True), err_msg=v)
    assert not a["count_7d"].equals(b["count_7d"])  # later windows do see the change
    assert not a["n_next"].where(before, drop=True).equals(b["n_next"].where(before, drop=True))  # labels look ahead


def test_dask_chunks():
    ds = build_feature_grid(tiny(), bbox=(0, 0.2, 0, 0.2), cell_deg=0.1, start="2020-01-06", end="2020-01-12",
                            lookbacks_days=(7,), horizon_days=3, chunks={"time": 2})
    assert ds["count_7d"].chunks[0] == (2, 2, 2)
    assert int(ds["count_7d"].sum().compute()) > 0
