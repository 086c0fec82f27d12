"""pycsep bridge: round trips and CSEP tests against hand-computable answers."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quakelab.evaluate import (
    csep_tests,
    from_pycsep_forecast,
    information_gain,
    molchan,
    poisson_grid,
    to_pycsep_forecast,
)
from quakelab.region import Region, cell_area_km2


@pytest.fixture(scope="module")
def helmstetter():
    import csep
    import csep.utils.datasets as d
    from csep.utils.time_utils import strptime_to_utc_datetime

    return csep.load_gridded_forecast(
        d.helmstetter_mainshock_fname,
        start_date=strptime_to_utc_datetime("2006-11-12 00:00:00.0"),
        end_date=strptime_to_utc_datetime("2011-11-12 00:00:00.0"),
    )


def test_round_trip_with_pycsep(helmstetter):
    ds = from_pycsep_forecast(helmstetter)
    assert ds["expected_count"].dims == ("magnitude", "latitude", "longitude")
    assert float(ds["expected_count"].sum()) == pytest.approx(helmstetter.sum(), rel=1e-12)
    back = to_pycsep_forecast(ds)
    assert back.region.num_nodes == helmstetter.region.num_nodes == 7682
    idx = back.region.get_index_of(*helmstetter.region.midpoints().T)
    np.testing.assert_allclose(back.data[idx], helmstetter.data, rtol=1e-12)


def test_n_test_equals_poisson_cdf(helmstetter, sample_catalog):
    """The bridge passes pycsep's number test through: delta1 = P(N >= n_obs), delta2 = P(N <= n_obs)."""
    ds = from_pycsep_forecast(helmstetter)
    ds.attrs.update(start="2019-07-06", end="2019-07-14")
    res = csep_tests(ds, sample_catalog, num_simulations=200).set_index("test")
    # count by hand: events M >= 4.95 whose 0.1-degree cell belongs to the forecast region
    big = sample_catalog[sample_catalog["magnitude"] >= 4.95 - 1e-9]
    cell = (
        ds["expected_count"]
        .isel(magnitude=0)
        .sel(latitude=big["latitude"].to_numpy(), longitude=big["longitude"].to_numpy(), method="nearest")
    )
    n_obs = int(np.isfinite(np.diag(cell.to_numpy())).sum())
    assert n_obs == 3  # awk -F, 'NR>1 && $3>=4.95' sample_comcat_catalog.csv | wc -l
    lam = helmstetter.sum()
    assert res.loc["N-test", "observed_statistic"] == n_obs
    assert res.loc["N-test", "quantile"] == pytest.approx(stats.poisson.sf(n_obs - 1, lam))
    assert res.loc["N-test", "quantile_2"] == pytest.approx(stats.poisson.cdf(n_obs, lam))
    assert set(res.index) == {"N-test", "M-test", "S-test", "L-test", "CL-test"}


def test_comparison_tests_against_uniform_poisson(helmstetter, sample_catalog):
    ds = from_pycsep_forecast(helmstetter)
    ds.attrs.update(start="2019-07-06", end="2019-07-14")
    total = float(ds["expected_count"].sum())
    ref = poisson_grid(ds, 1.0, b_value=1.0).where(ds["expected_count"].notnull())
    ref["expected_count"] = ref["expected_count"] * total / float(ref["expected_count"].sum())
    res = csep_tests(ds, sample_catalog, reference=ref, num_simulations=100).set_index("test")
    # the smoothed-seismicity forecast concentrates rate on faults: it beats a uniform map on Ridgecrest
    assert res.loc["T-test", "information_gain"] > 0
    assert "W-test" in res.index


def test_poisson_grid_area_weights():
    import xarray as xr

    ds = xr.Dataset(
        {"expected_count": (("magnitude", "latitude", "longitude"), np.zeros((2, 2, 2)))},
        coords={"magnitude": [2.0, 3.0], "latitude": [0.5, 60.5], "longitude": [0.5, 1.5]},
        attrs={"start": "2020-01-01", "end": "2020-01-11", "cell_deg": 1.0},
    )
    out = poisson_grid(ds, 1e-3, b_value=1.0)["expected_count"]
    # the true (WGS84) cell area: about cos(latitude) (1.0 % more at 60.5°N, the ellipsoid's flattening);
    # 90 % of events above 2.0 fall in [2, 3), 10 % above 3
    ratio = float(out.sel(latitude=60.5)[0, 0] / out.sel(latitude=0.5)[0, 0])
    assert ratio == pytest.approx(float(cell_area_km2(60.5, 1.0) / cell_area_km2(0.5, 1.0)), rel=1e-12)
    assert ratio == pytest.approx(np.cos(np.radians(60.5)) * 1.01026, rel=1e-5)
    assert float(out.sel(magnitude=3.0).sum() / out.sum()) == pytest.approx(0.1)
    region = Region.from_bbox(0, 1, 0, 1)
    assert float(poisson_grid(ds, 1e-3, region=region)["expected_count"].sel(longitude=1.5).sum()) == 0


def test_molchan_hand_example_and_random_baseline():
    m = molchan(np.array([4.0, 3.0, 2.0, 1.0]), np.array([0, 0, 3]))
    assert m["tau"].tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert m.attrs["area_skill_score"] == pytest.approx(0.625)
    rng = np.random.default_rng(0)
    scores = [
        molchan(rng.uniform(size=400), rng.integers(0, 400, 200)).attrs["area_skill_score"] for _ in range(50)
    ]
    assert np.mean(scores) == pytest.approx(0.5, abs=0.02)


def test_information_gain_t_interval():
    rng = np.random.default_rng(1)
    a = rng.normal(0.3, 1.0, 500)
    b = np.zeros(500)
    ig = information_gain(a, b)
    assert ig["information_gain"] == pytest.approx(a.mean())
    half = stats.t.ppf(0.975, 499) * a.std(ddof=1) / np.sqrt(500)
    assert ig["ci_high"] - ig["ci_low"] == pytest.approx(2 * half)
    assert ig["p_value"] < 1e-6
    assert isinstance(ig, pd.Series)


def test_catalog_forecast_csv_round_trip_through_pycsep(tmp_path):
    from quakelab.evaluate import read_catalog_forecast_csv, write_catalog_forecast_csv
    from quakelab.models import ETAS

    truth = dict(
        log10_mu=-4.9,
        log10_k0=-3.03,
        a=1.5,
        log10_c=-2.5,
        omega=0.1,
        log10_tau=2.0,
        log10_d=-1.0,
        gamma=1.0,
        rho=1.5,
    )
    model = ETAS(min_magnitude=1.0, region=(-120, -116, 33, 37)).set_params(truth, beta=2.3)
    # six hours: about 0.9 events per catalog, so some catalogs are empty (~40 %)
    sims = model.catalog_forecast(None, "2020-01-01", "2020-01-01T06:00", n_simulations=20, seed=1)
    path = write_catalog_forecast_csv(sims, tmp_path / "forecast.csv")
    forecast = read_catalog_forecast_csv(path, start="2020-01-01", end="2020-01-01T06:00")
    counts = [c.event_count for c in forecast]
    assert counts == np.bincount(sims["catalog_id"], minlength=20).tolist()
    assert 0 in counts  # empty catalogs are kept
    first = next(iter(read_catalog_forecast_csv(path)))
    assert np.allclose(
        np.sort(first.get_magnitudes()), np.sort(sims.loc[sims["catalog_id"] == 0, "magnitude"])
    )


def test_mismatched_grid_or_window_is_a_clear_error(helmstetter, sample_catalog):
    ds = from_pycsep_forecast(helmstetter)
    ds.attrs.update(start="2019-07-06", end="2019-07-14")
    far = sample_catalog.assign(longitude=10.0, latitude=10.0)
    with pytest.raises(ValueError, match="does not match the test catalog"):
        csep_tests(ds, far)
    ds.attrs.update(start="2020-01-01", end="2020-02-01")
    with pytest.raises(ValueError, match="outside the forecast window"):
        csep_tests(ds, sample_catalog)
