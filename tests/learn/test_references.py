"""Reference forecasts of the learned comparison: all-generation ETAS, its recalibration, one magnitude rule."""

import math

import numpy as np
import pandas as pd
import pytest

from quakelab.features import build_feature_grid
from quakelab.features.grid import etas_expected_counts
from quakelab.learn import (
    calibrate_probabilities,
    counts_towards,
    etas_cell_expectation,
    etas_target_probability,
    poisson_cell_probability,
)
from quakelab.models import ETAS
from quakelab.models._kernels import time_integral

START = pd.Timestamp("2020-01-01", tz="UTC")
EDGES = np.arange(-10.0, 10.0 + 0.5, 1.0)  # 20 x 20 one-degree cells around one source


@pytest.fixture(scope="module")
def one_source():
    """An ETAS model without background (branching ratio 0.5) and one M4 source one second before START."""
    model = ETAS(min_magnitude=2.0, magnitude_resolution=0.0, region=(-10.0, 10.0, -10.0, 10.0))
    theta = {
        "log10_mu": -14.0,
        "log10_k0": 0.0,
        "a": 1.5,
        "log10_c": -2.0,
        "omega": 0.2,
        "log10_tau": 1.0,
        "log10_d": 0.0,
        "gamma": 0.5,
        "rho": 0.6,
    }
    beta = math.log(10)
    n_unit = model.set_params(theta, beta).branching_ratio_
    model.set_params({**theta, "log10_k0": math.log10(0.5 / n_unit)}, beta)
    assert model.branching_ratio_ == pytest.approx(0.5)
    catalog = pd.DataFrame(
        {
            "time": [START - pd.Timedelta(seconds=1)],
            "latitude": [0.3],
            "longitude": [0.2],
            "magnitude": [4.0],
        }
    )
    return model, catalog


def _direct(model, lag0, lag1):
    """Expected direct aftershocks of the M4 source between two lags (days), over the plane."""
    n = model.expected_direct_aftershocks(
        4.0, start_lag_days=lag0, end_lag_days=lag1, region_integral="plane"
    )
    return float(np.ravel(n)[0])


def _renewal_total(model, horizon, n_nodes=1500):
    """Expected events of all generations in [0, horizon) by iterating generations on a time grid."""
    p = model.params_.natural
    eps = 1 / 86400
    t = np.r_[0.0, np.geomspace(1e-6, horizon, n_nodes)]
    full = time_integral(p["c"], p["omega"], p["tau"], 0.0, 1e9)
    G = np.array([time_integral(p["c"], p["omega"], p["tau"], 0.0, x) for x in np.diff(t).cumsum()]) / full
    cum_g = np.r_[0.0, G]  # normalised Omori CDF at t[i] - t[0]
    gen = np.array([_direct(model, eps, eps + x) for x in t])  # first generation, cumulative
    total = gen[-1]
    mid = (t[:-1] + t[1:]) / 2
    lag_cdf = np.interp(t[:, None] - mid[None, :], t, cum_g) * (t[:, None] > mid[None, :])
    for _ in range(60):
        gen = model.branching_ratio_ * lag_cdf @ np.diff(gen)  # offspring of the last generation by t
        total += gen[-1]
        if gen[-1] < 1e-9:
            break
    return total


def test_all_generations_total_is_direct_over_one_minus_n(one_source):
    model, catalog = one_source
    horizon = 2000.0  # 200 taper times: the whole cascade
    times = pd.DatetimeIndex([START])
    first, _ = etas_expected_counts(model, catalog, times, EDGES, EDGES, horizon)
    expected, se = etas_cell_expectation(model, catalog, times, EDGES, EDGES, horizon, n_simulations=3000)
    direct = _direct(model, 1 / 86400, horizon)
    n = model.branching_ratio_
    assert first.sum() == pytest.approx(direct, rel=2e-3)  # the exact part: background ~0 + generation 1
    # descendants of Poisson(direct) children, each with mean n/(1-n) and variance n/(1-n)^3 + (n/(1-n))^2
    sd = math.sqrt(direct * (n / (1 - n) ** 3 + (n / (1 - n)) ** 2) / 3000)
    assert abs(expected.sum() - direct / (1 - n)) < 4 * sd
    assert expected.sum() > 1.8 * first.sum()  # the first generation alone misses half the events
    assert np.all(se >= 0) and se.max() > 0


def test_finite_window_matches_the_renewal_expectation(one_source):
    model, catalog = one_source
    horizon = 3.0
    times = pd.DatetimeIndex([START, START + pd.Timedelta(days=horizon)])
    expected, se = etas_cell_expectation(model, catalog, times, EDGES, EDGES, horizon, n_simulations=3000)
    exact = _renewal_total(model, horizon)
    direct = _direct(model, 1 / 86400, horizon + 1 / 86400)
    assert exact > 1.3 * direct  # later generations matter within three days
    # Monte Carlo error of the total: at most the sum of the cells' standard errors
    assert abs(expected[0].sum() - exact) < 4 * se[0].sum()
    assert abs(expected[0].sum() - exact) / exact < 0.03
    # the simulations of a window depend only on the seed and the window's start
    again, _ = etas_cell_expectation(model, catalog, times[1:], EDGES, EDGES, horizon, n_simulations=3000)
    np.testing.assert_array_equal(again[0], expected[1])


def test_one_magnitude_rule_for_labels_poisson_and_etas():
    """Events at the threshold of a catalog reported in hundredths (QTM): the labels counted by hand."""
    t0 = pd.Timestamp("2020-01-01", tz="UTC")
    mags = [2.49, 2.4999999999, 2.5, 2.51, 2.494, 1.2]  # 2.4999999999 is 2.50 with float noise
    days = [0.5, 1.5, 8.5, 9.5, 15.5, 16.5]  # weekly steps from t0: 0, 0, 1, 1, 2, 2
    catalog = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(6)],
            "time": [t0 + pd.Timedelta(days=d) for d in days],
            "latitude": [0.5] * 6,
            "longitude": [0.5] * 6,
            "depth_km": 5.0,
            "magnitude": mags,
            "mag_type": "ml",
        }
    )
    grid = build_feature_grid(
        catalog,
        region=(0.0, 1.0, 0.0, 1.0),
        cell_deg=1.0,
        start=t0,
        end=t0 + pd.Timedelta(days=21),
        step_days=7.0,
        lookbacks_days=[7.0],
        horizon_days=7.0,
        target_magnitude=2.5,
        pa_events=None,
    )
    by_hand = [True, True, False]  # week 0: the 2.50 with noise; week 1: 2.50 and 2.51; week 2: none
    assert grid["occurs_next"][:, 0, 0].values.tolist() == by_hand
    assert counts_towards(mags, 2.5, 0.01).tolist() == [False, True, True, True, False, False]
    # the Poisson reference counts the same three target events over the three weeks
    p = poisson_cell_probability(
        catalog,
        grid,
        t0,
        t0 + pd.Timedelta(days=21),
        min_magnitude=2.5,
        horizon_days=7.0,
        floor_weight=0.0,
        magnitude_resolution=0.01,
    )
    assert float(p[0, 0]) == pytest.approx(-math.expm1(-3 / 21 * 7))
    # ETAS's share of target events: continuous magnitudes above 2.5 - 0.01/2 (what bins to >= 2.50)
    model = ETAS(min_magnitude=1.0, magnitude_resolution=0.1, region=(0.0, 1.0, 0.0, 1.0))
    model.set_params(
        {
            "log10_mu": -3.0,
            "log10_k0": -2.0,
            "a": 1.5,
            "log10_c": -2.0,
            "omega": 0.2,
            "log10_tau": 2.0,
            "log10_d": 0.0,
            "gamma": 0.5,
            "rho": 0.6,
        },
        beta=2.0,
    )
    share = -math.log1p(-float(etas_target_probability(1e-6, model, 2.5, 0.01))) / 1e-6
    assert share == pytest.approx(math.exp(-2.0 * (2.495 - 0.95)), rel=1e-5)


def test_recalibration_is_the_learned_models_isotonic_map():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.2, 4000)
    y = rng.random(4000) < 2 * p  # a forecast too low by half
    q = calibrate_probabilities(p[:2000], y[:2000], p[2000:])
    assert abs(q.mean() - y[2000:].mean()) < 0.01 < abs(p[2000:].mean() - y[2000:].mean())
    assert np.all(np.diff(q[np.argsort(p[2000:])]) >= -1e-12)  # monotone: the ranking is kept
