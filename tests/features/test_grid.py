import numpy as np
import pandas as pd
import pytest

from quakelab.features import build_feature_grid, etas_expected_counts

LABELS = ("n_next", "occurs_next")


def tiny():
    return pd.DataFrame(
        {
            "time": pd.to_datetime(
                [
                    "2020-01-01 12:00",
                    "2020-01-03 06:00",
                    "2020-01-05 00:00",
                    "2020-01-09 00:00",
                    "2020-01-02 00:00",
                ],
                utc=True,
            ),
            "latitude": [0.05, 0.05, 0.05, 0.05, 0.15],
            "longitude": [0.05, 0.05, 0.05, 0.05, 0.05],
            "magnitude": [2.0, 3.0, 4.5, 2.5, 5.0],
        }
    )


def test_hand_counted_values():
    ds = build_feature_grid(
        tiny(),
        region=(0, 0.2, 0, 0.2),
        cell_deg=0.1,
        start="2020-01-06",
        end="2020-01-12",
        lookbacks_days=(7,),
        horizon_days=3,
        target_magnitude=4.0,
    )
    cell = dict(latitude=0.05, longitude=0.05)
    at = ds.sel(time="2020-01-06", **cell)
    assert int(at["count_7d"]) == 3  # Jan 1, 3, 5 are in [Dec 30, Jan 6)
    assert float(at["max_mag_7d"]) == 4.5 and float(at["mean_mag_7d"]) == pytest.approx(9.5 / 3)
    assert float(at["days_since_m_target"]) == pytest.approx(1.0)  # the M4.5 on Jan 5
    assert int(at["n_next"]) == 0 and not bool(at["occurs_next"])  # nothing in [Jan 6, Jan 9)
    later = ds.sel(time="2020-01-07", **cell)
    assert int(later["n_next"]) == 1 and not bool(later["occurs_next"])  # the M2.5 on Jan 9
    assert int(at["neighbour_count_7d"]) == 4  # plus the M5 one cell north
    assert float(at["benioff_7d"]) == pytest.approx(
        sum(np.sqrt(10 ** (1.5 * m + 4.8)) for m in (2.0, 3.0, 4.5))
    )


def test_features_are_causal():
    """Changing or adding any event at or after a feature time leaves that time's features unchanged."""
    rng = np.random.default_rng(0)
    n = 400
    base = pd.DataFrame(
        {
            "time": pd.Timestamp("2020-01-01", tz="UTC")
            + pd.to_timedelta(np.sort(rng.uniform(0, 120, n)), unit="D"),
            "latitude": rng.uniform(0, 1, n),
            "longitude": rng.uniform(0, 1, n),
            "magnitude": 2 + rng.exponential(0.5, n),
        }
    )
    cut = pd.Timestamp("2020-03-15", tz="UTC")
    changed = base.copy()
    after = changed["time"] >= cut
    changed.loc[after, "magnitude"] += 1.0
    changed.loc[after, "latitude"] = 1 - changed.loc[after, "latitude"]
    extra = pd.DataFrame(
        {
            "time": [cut, cut + pd.Timedelta(days=3)],
            "latitude": [0.5, 0.2],
            "longitude": [0.5, 0.7],
            "magnitude": [6.0, 5.0],
        }
    )
    changed = pd.concat([changed, extra], ignore_index=True)
    kw = dict(
        region=(0, 1, 0, 1),
        cell_deg=0.25,
        start="2020-02-01",
        end="2020-05-01",
        lookbacks_days=(7, 30),
        horizon_days=7,
        target_magnitude=3.0,
    )
    a, b = build_feature_grid(base, **kw), build_feature_grid(changed, **kw)
    before = a["time"] <= np.datetime64(cut.tz_convert(None))
    features = [v for v in a.data_vars if v not in LABELS]
    for v in features:
        np.testing.assert_array_equal(a[v].where(before, drop=True), b[v].where(before, drop=True), err_msg=v)
    assert not a["count_7d"].equals(b["count_7d"])  # later windows do see the change
    assert (
        not a["n_next"].where(before, drop=True).equals(b["n_next"].where(before, drop=True))
    )  # labels look ahead


def test_dask_chunks():
    ds = build_feature_grid(
        tiny(),
        region=(0, 0.2, 0, 0.2),
        cell_deg=0.1,
        start="2020-01-06",
        end="2020-01-12",
        lookbacks_days=(7,),
        horizon_days=3,
        chunks={"time": 2},
    )
    assert ds["count_7d"].chunks[0] == (2, 2, 2)
    assert int(ds["count_7d"].sum().compute()) > 0


def _etas_model():
    from quakelab.models import ETAS

    model = ETAS(min_magnitude=2.0, region=(0, 1, 0, 1))
    return model.set_params(
        {
            "log10_mu": -3.0,
            "log10_k0": -2.5,
            "a": 1.5,
            "log10_c": -2.5,
            "omega": -0.1,
            "log10_tau": 3.0,
            "log10_d": -1.0,
            "gamma": 1.0,
            "rho": 0.6,
        },
        beta=np.log(10),
    )


def test_panakkat_adeli_hand_computed():
    times = pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta([0, 1, 3, 6, 10, 15], unit="D")
    cat = pd.DataFrame(
        {"time": times, "latitude": 0.5, "longitude": 0.5, "magnitude": [2.0, 3.0, 2.0, 4.0, 2.5, 3.5]}
    )
    ds = build_feature_grid(
        cat,
        region=(0, 1, 0, 1),
        cell_deg=1.0,
        start="2020-01-12",
        end="2020-01-14",
        lookbacks_days=(7,),
        horizon_days=1,
        target_magnitude=3.0,
        min_magnitude=2.0,
        pa_events=4,
    )
    at = ds.isel(time=0, latitude=0, longitude=0)  # last 4 events before Jan 12: days 1, 3, 6, 10
    m = np.array([3.0, 2.0, 4.0, 2.5])
    assert float(at["pa_T"]) == pytest.approx(9.0)
    assert float(at["pa_mean_mag"]) == pytest.approx(m.mean())
    assert float(at["pa_dE_half"]) == pytest.approx(np.sqrt(10 ** (1.5 * m + 4.8)).sum() / 9.0)
    # least squares of log10 N(>=M) on M: N = 2, 4, 1, 3 for M = 3, 2, 4, 2.5
    x, y = m, np.log10([2, 4, 1, 3])
    slope, intercept = np.polyfit(x, y, 1)
    assert float(at["pa_b"]) == pytest.approx(-slope)
    assert float(at["pa_eta"]) == pytest.approx(((y - (intercept + slope * x)) ** 2).sum() / 3)
    assert float(at["pa_delta_m"]) == pytest.approx(4.0 - intercept / -slope)
    assert float(at["pa_mu"]) == pytest.approx(5.0)  # M>=3 at days 1 and 6
    assert np.isnan(float(at["pa_c"]))  # one interval: no coefficient of variation
    later = ds.isel(time=1, latitude=0, longitude=0)  # same four events (day 15 is later)
    assert float(later["pa_T"]) == pytest.approx(9.0)


def test_b_value_recovered_from_simulated_catalog():
    rng = np.random.default_rng(3)
    n = 4000
    cat = pd.DataFrame(
        {
            "time": pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 300, n), unit="D"),
            "latitude": 0.5,
            "longitude": 0.5,
            "magnitude": np.round(1.95 + rng.exponential(1 / np.log(10), n), 1),
        }
    )
    ds = build_feature_grid(
        cat,
        region=(0, 1, 0, 1),
        cell_deg=1.0,
        start="2020-10-01",
        end="2020-10-02",
        lookbacks_days=(100,),
        min_magnitude=2.0,
        pa_events=None,
    )
    b, s = float(ds["b_value_100d"][0, 0, 0]), float(ds["b_sigma_100d"][0, 0, 0])
    assert 0.02 < s < 0.05 and abs(b - 1.0) < 2.5 * s


def test_etas_feature_matches_direct_integration():
    """One source: background + productivity x Omori integral x kernel share, checked by quadrature."""
    from scipy import integrate

    model = _etas_model()
    p = model.params_.natural
    src = pd.DataFrame(
        {
            "time": [pd.Timestamp("2020-01-01", tz="UTC")],
            "latitude": [0.55],
            "longitude": [0.55],
            "magnitude": [4.0],
        }
    )
    lat_edges = lon_edges = np.linspace(0, 1, 11)
    t = pd.DatetimeIndex([pd.Timestamp("2020-01-03", tz="UTC")])
    e, prob = etas_expected_counts(
        model, src, t, lat_edges, lon_edges, 5.0, target_magnitude=3.0, n_points=4096
    )
    mp = 4.0 - model.m_ref
    big_d = p["d"] * np.exp(p["gamma"] * mp)
    omori = integrate.quad(lambda s: np.exp(-s / p["tau"]) / (s + p["c"]) ** (1 + p["omega"]), 2, 7)[0]
    # the source's own 0.1-degree cell: kernel integral over the square around it (about 11 km wide)
    half_lat = 0.05 * np.pi * 6378.1 / 180
    half_lon = half_lat * np.cos(np.radians(0.55))
    inner = integrate.dblquad(
        lambda y, x: (x * x + y * y + big_d) ** -(1 + p["rho"]),
        -half_lon,
        half_lon,
        -half_lat,
        half_lat,
        epsabs=1e-12,
    )[0]
    area = (2 * half_lat) * (2 * half_lon)
    expected_own = p["k0"] * np.exp(p["a"] * mp) * omori * inner + p["mu"] * area * 5.0
    assert e[0, 5, 5] == pytest.approx(expected_own, rel=0.02)
    total_trig = p["k0"] * np.exp(p["a"] * mp) * omori * np.pi / (p["rho"] * big_d ** p["rho"])
    background = p["mu"] * model.area_km2 * 5.0
    # (D / (R^2 + D))^rho of the kernel lies beyond R = 50 km: under 1 % here, so nearly all of it is on the grid
    assert e[0].sum() - background == pytest.approx(total_trig, rel=0.02)
    assert prob[0, 5, 5] == pytest.approx(
        1 - np.exp(-expected_own * np.exp(-np.log(10) * (3.0 - 0.05 - model.m_ref))), rel=0.02
    )


def test_all_features_causal_with_etas():
    rng = np.random.default_rng(1)
    n = 300
    base = pd.DataFrame(
        {
            "time": pd.Timestamp("2020-01-01", tz="UTC")
            + pd.to_timedelta(np.sort(rng.uniform(0, 120, n)), unit="D"),
            "latitude": rng.uniform(0, 1, n),
            "longitude": rng.uniform(0, 1, n),
            "magnitude": np.round(2 + rng.exponential(0.45, n), 1),
        }
    )
    cut = pd.Timestamp("2020-03-15", tz="UTC")
    changed = base.copy()
    after = changed["time"] >= cut
    changed.loc[after, "magnitude"] += 1.0
    changed = pd.concat(
        [changed, pd.DataFrame({"time": [cut], "latitude": [0.4], "longitude": [0.6], "magnitude": [6.0]})],
        ignore_index=True,
    )
    kw = dict(
        region=(0, 1, 0, 1),
        cell_deg=0.5,
        start="2020-02-01",
        end="2020-05-01",
        lookbacks_days=(7, 30),
        horizon_days=7,
        target_magnitude=3.0,
        min_magnitude=2.0,
        pa_events=10,
        b_min_events=3,
        etas=_etas_model(),
    )
    a, b = build_feature_grid(base, **kw), build_feature_grid(changed, **kw)
    assert {"pa_b", "pa_mu", "etas_expected_count", "b_value_30d"} <= set(a.data_vars)
    before = a["time"] <= np.datetime64(cut.tz_convert(None))
    for v in [v for v in a.data_vars if v not in LABELS]:
        np.testing.assert_array_equal(a[v].where(before, drop=True), b[v].where(before, drop=True), err_msg=v)
        assert not a[v].equals(b[v]) or v.startswith(("pa_c", "pa_mu", "days_since")), (
            v
        )  # later times do change


def test_zarr_round_trip_is_atomic(tmp_path):
    from quakelab.features import open_feature_grid, save_feature_grid

    ds = build_feature_grid(
        tiny(),
        region=(0, 0.2, 0, 0.2),
        cell_deg=0.1,
        start="2020-01-06",
        end="2020-01-12",
        lookbacks_days=(7,),
        horizon_days=3,
    )
    p = save_feature_grid(ds, tmp_path / "f.zarr", chunks={"time": 2})
    back = open_feature_grid(p)
    assert back["count_7d"].chunks[0] == (2, 2, 2)
    np.testing.assert_array_equal(back["count_7d"].values, ds["count_7d"].values)
    save_feature_grid(ds.isel(time=slice(0, 3)), p)  # replaced whole
    assert open_feature_grid(p).sizes["time"] == 3
    assert sorted(x.name for x in tmp_path.iterdir()) == ["f.zarr"]


@pytest.mark.parametrize("step_days, lookback", [(7.0, 10.0), (30.0, 730.0), (1.0, 3.0)])
def test_causal_when_history_is_not_a_whole_number_of_steps(step_days, lookback):
    """Cut the catalog at a feature time: features up to that time must not change."""
    rng = np.random.default_rng(2)
    n = 3000
    cat = pd.DataFrame(
        {
            "time": pd.Timestamp("2000-01-01", tz="UTC")
            + pd.to_timedelta(np.sort(rng.uniform(0, 4000, n)), unit="D"),
            "latitude": rng.uniform(0, 1, n),
            "longitude": rng.uniform(0, 1, n),
            "magnitude": np.round(2 + rng.exponential(0.45, n), 1),
        }
    )
    kw = dict(
        region=(0, 1, 0, 1),
        cell_deg=0.5,
        start="2004-01-01",
        end="2010-01-01",
        step_days=step_days,
        lookbacks_days=(lookback,),
        horizon_days=step_days,
        target_magnitude=3.0,
        min_magnitude=2.0,
        pa_events=5,
    )
    full = build_feature_grid(cat, **kw)
    for cut in full["time"].values[[1, len(full["time"]) // 2]]:
        part = build_feature_grid(cat[cat["time"] < pd.Timestamp(cut).tz_localize("UTC")], **kw)
        upto = {"time": slice(None, cut)}
        for v in [v for v in full.data_vars if v not in LABELS]:
            assert full[v].sel(upto).equals(part[v].sel(upto)), (v, cut)
