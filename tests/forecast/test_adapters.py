"""Known answers of the adapters: Poisson rate by hand, probability -> count conversion, file templates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from quakelab.forecast import (
    FileForecaster,
    Forecast,
    ForecastError,
    GridSpec,
    PoissonForecaster,
    counts_from_probabilities,
    write_ascii,
)


def _catalog(times, lons, lats, mags):
    return pd.DataFrame(
        {
            "event_id": [str(i) for i in range(len(times))],
            "time": pd.to_datetime(times, utc=True),
            "latitude": lats,
            "longitude": lons,
            "depth_km": 5.0,
            "magnitude": mags,
            "mag_type": "ml",
        }
    )


def test_poisson_rate_and_magnitude_split_by_hand():
    grid = GridSpec((-117, -116, 33, 34), 0.5, 2.0, 2.1, magnitude_resolution=0.01)
    # 4 events >= 2.00 in 10 days (a 1.99 and an event outside the region do not count); magnitudes 2.00, 2.10
    # 2.00, 2.10 -> mean excess 0.05 at resolution 0.01 -> beta = ln(1 + 0.01 / 0.05) / 0.01
    cat = _catalog(
        ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "2020-01-05", "2020-01-06"],
        [-116.5, -116.4, -116.3, -116.2, -116.1, -115.0],
        [33.5] * 6,
        [2.0, 2.1, 2.0, 2.1, 1.99, 3.0],
    )
    model = PoissonForecaster((-117, -116, 33, 34), 2.0, magnitude_resolution=0.01).fit(
        cat, "2020-01-01", "2020-01-11"
    )
    assert model.n_events_ == 4
    assert model.beta_ == pytest.approx(math.log(1.2) / 0.01)
    ds = model.forecast(None, "2020-02-01", "2020-02-06", grid)  # 5 days: half the learning period
    assert float(ds.quake.total()) == pytest.approx(
        2.0 * grid.cell_areas_km2().sum() / grid.region.area_km2(), rel=1e-9
    )
    # GR share of bin 2.0 = 1 - exp(-beta * 0.1); the last bin (open) takes the rest
    share0 = 1 - math.exp(-model.beta_ * 0.1)
    marg = ds.quake.magnitude_marginal().values
    assert marg[0] / marg.sum() == pytest.approx(share0, rel=1e-12)


def test_probabilities_become_expected_counts():
    grid = GridSpec((-117, -116, 33, 34), 0.5, 2.0, 2.1, start="2020-01-01", end="2020-01-15")
    p = np.full((2, 2), 1 - math.exp(-1.0))  # N = 1 per 7 days under a Poisson reading
    ds = counts_from_probabilities(p, grid, magnitude=2.0, beta=math.log(10), horizon_days=7.0)
    assert ds.quake.spatial_marginal().values.ravel().tolist() == pytest.approx([2.0] * 4)
    with pytest.raises(ForecastError, match=r"in \[0, 1\]"):
        counts_from_probabilities(np.full((2, 2), 1.5), grid, magnitude=2.0, beta=1.0, horizon_days=7.0)


def test_file_forecaster_one_file_per_window(tmp_path):
    grid = GridSpec((-117, -116, 33, 34), 0.5, 2.0, 2.1)
    for k, day in enumerate(["2020-01-01", "2020-01-08"]):
        g = grid.with_window(day, pd.Timestamp(day) + pd.Timedelta(days=7))
        write_ascii(Forecast(np.full(g.shape, k + 1.0), g), tmp_path / f"fc_{pd.Timestamp(day):%Y%m%d}.dat")
    model = FileForecaster(str(tmp_path / "fc_{start:%Y%m%d}.dat")).fit(None, None, None)
    assert float(model.forecast(None, "2020-01-08", "2020-01-15", grid).quake.total()) == 16.0
    assert float(model.forecast(None, "2020-01-01", "2020-01-08", grid).quake.total()) == 8.0
    with pytest.raises(ForecastError, match="no such file"):
        model.forecast(None, "2020-01-15", "2020-01-22", grid)
    with pytest.raises(ForecastError, match="unknown template fields"):
        FileForecaster(str(tmp_path / "{window}.dat"))
    # a grid the file does not cover is refused
    other = GridSpec((-118, -116, 33, 34), 0.5, 2.0, 2.1)
    with pytest.raises(ForecastError, match="do not cover the grid"):
        model.forecast(None, "2020-01-01", "2020-01-08", other)
