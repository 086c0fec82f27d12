"""ETAS: known answers from simulated catalogs, exact likelihood, conservation, bad input."""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import ETAS_REGION as REGION
from conftest import ETAS_TRUTH as TRUTH

from quakelab.evaluate import direct_log_likelihood
from quakelab.models import ETAS, ETASConvergenceError, ETASError, branching_ratio
from quakelab.models.etas import ETASParameters, time_integral_python
from quakelab.region import Region, RegionError


@pytest.fixture(scope="module")
def simulated(etas_simulated):
    return etas_simulated


def test_simulated_count_and_branching_ratio(simulated):
    model, cat = simulated
    assert model.branching_ratio_ == pytest.approx(0.6824, abs=1e-4)
    assert len(cat) == 23102 and cat["magnitude"].min() == pytest.approx(1.0)
    assert (cat["generation"] == 0).sum() == 7470  # Poisson(mu A T = 7,474)


def test_parameter_recovery(simulated):
    """>= 20k simulated events: every parameter within 2 standard errors of the truth."""
    _, cat = simulated
    fit = ETAS(mc=1.0, region=REGION, coppersmith_multiplier=300)
    fit.fit(cat, auxiliary_start="2007-01-01", start="2008-01-01", end="2017-01-01")
    table = fit.parameter_table()
    z = (table["value"] - pd.Series(TRUTH)) / table["std_error"]
    assert fit.fit_info_["n_targets"] >= 20000
    assert (z.abs() < 2.0).all(), z.to_dict()
    assert fit.beta_ == pytest.approx(2.3, abs=0.05)
    bg = fit.background_probability_
    assert bg.between(0, 1).all() and bg.sum() == pytest.approx(fit.fit_info_["n_background_expected"])
    # the expected number of background targets is close to the simulated truth
    truth_bg = ((cat["generation"] == 0) & (cat["time"] >= pd.Timestamp("2008-01-01", tz="UTC"))).sum()
    assert bg.sum() == pytest.approx(truth_bg, rel=0.05)


@pytest.mark.parametrize("region_integral", ["plane", "exact"])
def test_fast_loglik_equals_direct_double_sum(region_integral):
    model = ETAS(mc=1.0, region=REGION, coppersmith_multiplier=None,
                 region_integral=region_integral).set_params(TRUTH, beta=2.3)
    cat = model.simulate("2010-01-01", "2010-03-01", seed=5)
    assert 100 < len(cat) < 1500
    prep = model._prepare(cat, "2010-01-01", "2010-01-15", "2010-03-01")
    fast = model._loglik(model.params_.to_array(), prep)
    slow = direct_log_likelihood(model, cat, auxiliary_start="2010-01-01", start="2010-01-15", end="2010-03-01")
    assert fast == pytest.approx(slow, rel=1e-8)
    if region_integral == "plane":
        return
    temporal = ETAS(mc=1.0, spatial=False).set_params({**TRUTH, "log10_mu": 0.0}, beta=2.3)
    prep = temporal._prepare(cat, "2010-01-01", "2010-01-15", "2010-03-01")
    fast = temporal._loglik(temporal.params_.to_array(), prep)
    slow = direct_log_likelihood(temporal, cat, auxiliary_start="2010-01-01", start="2010-01-15", end="2010-03-01")
    assert fast == pytest.approx(slow, rel=1e-8)


def test_time_integral_matches_quadrature():
    from scipy.integrate import quad

    for c, omega, tau in [(0.003, -0.18, 1000.0), (0.01, 0.1, 100.0), (1e-4, 0.0, 50.0), (0.05, 0.6, 10.0)]:
        for x0, x1 in [(0.0, 1.0), (0.5, 300.0), (10.0, 10.5)]:
            ref, _ = quad(lambda s, c=c, omega=omega, tau=tau: math.exp(-s / tau) / (s + c) ** (1 + omega), x0, x1,
                          limit=500, epsabs=0,
                          epsrel=1e-12, points=[x0 + 1e-3] if x0 + 1e-3 < x1 else None)
            assert time_integral_python(c, omega, tau, x0, x1) == pytest.approx(ref, rel=1e-9)


def test_counts_conserved_temporal():
    """Mean count over simulations equals mu T / (1 - eta) (long window: edge effects < 0.5 %)."""
    params = dict(log10_mu=0.0, log10_k0=-1.4, a=1.0, log10_c=-2.0, omega=0.2, log10_tau=1.0, log10_d=0.0,
                  gamma=0.0, rho=1.0)
    model = ETAS(mc=2.0, spatial=False).set_params(params, beta=2.3)
    eta = model.branching_ratio_
    assert 0.4 < eta < 0.8
    days = 20000.0
    counts = [len(model.simulate("2000-01-01", pd.Timestamp("2000-01-01") + pd.Timedelta(days=days), seed=s))
              for s in range(6)]
    expected = 1.0 * days / (1 - eta)
    assert np.mean(counts) == pytest.approx(expected, rel=0.02)


def test_branching_ratio_closed_form_against_integration():
    p = ETASParameters(**TRUTH)
    beta = 2.3
    # average over GR magnitudes of k0 e^{a m'} * spatial integral * time integral (numerically)
    m = np.linspace(0, 20, 20001)
    pdf = beta * np.exp(-beta * m)
    nat = p.natural
    spatial = math.pi / (nat["rho"] * (nat["d"] * np.exp(nat["gamma"] * m)) ** nat["rho"])
    tint = time_integral_python(nat["c"], nat["omega"], nat["tau"], 0.0, 1e7)
    eta = np.trapezoid(pdf * nat["k0"] * np.exp(nat["a"] * m) * spatial * tint, m)
    assert branching_ratio(p, beta) == pytest.approx(eta, rel=1e-4)


def test_bad_input_is_rejected_before_work(simulated):
    _, cat = simulated
    with pytest.raises(RegionError, match="invalid region polygon"):
        ETAS(mc=1.0, region=[(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(ETASError, match="needs a region"):
        ETAS(mc=1.0)
    model = ETAS(mc=1.0, region=REGION)
    with pytest.raises(ETASError, match="no events with M >= 1.0 in the target window"):
        model.fit(cat, auxiliary_start="2020-01-01", start="2021-01-01", end="2022-01-01")
    with pytest.raises(ETASError, match="only .* events .* at least 50"):
        ETAS(mc=4.5, region=REGION).fit(cat, auxiliary_start="2007-01-01", start="2008-01-01", end="2017-01-01")
    far = ETAS(mc=1.0, region=(10, 11, 10, 11))
    with pytest.raises(ETASError, match="lie outside it"):
        far.fit(cat, auxiliary_start="2007-01-01", start="2008-01-01", end="2017-01-01")
    with pytest.raises(ETASError, match="auxiliary_start <= start < end"):
        model.fit(cat, auxiliary_start="2009-01-01", start="2008-01-01", end="2017-01-01")
    with pytest.raises(ETASError, match="not fitted"):
        model.parameter_table()


def test_non_convergence_is_reported(simulated):
    _, cat = simulated
    model = ETAS(mc=2.0, region=REGION, max_iter=1)
    with pytest.raises(ETASConvergenceError, match="did not converge in 1 iterations") as err:
        model.fit(cat, auxiliary_start="2007-01-01", start="2008-01-01", end="2017-01-01")
    assert set(err.value.state["params"]) == set(TRUTH) and err.value.state["last_change"] > 1e-3


def test_fixed_parameters_stay_fixed(simulated):
    _, cat = simulated
    small = cat[cat["magnitude"] >= 2.0]
    model = ETAS(mc=2.0, region=REGION, coppersmith_multiplier=300, fixed={"log10_tau": 2.0, "omega": 0.1})
    model.fit(small, auxiliary_start="2007-01-01", start="2008-01-01", end="2017-01-01")
    table = model.parameter_table()
    assert table.loc["log10_tau", "value"] == 2.0 and table.loc["omega", "value"] == 0.1
    assert table.loc["log10_tau", "fixed"] and np.isnan(table.loc["log10_tau", "std_error"])
    assert np.isfinite(table.loc["log10_c", "std_error"])
    with pytest.raises(ETASError, match="cannot fix"):
        ETAS(mc=2.0, region=REGION, fixed={"log10_mu": -5})


def test_save_load_roundtrip(tmp_path):
    model = ETAS(mc=1.0, region=REGION).set_params(TRUTH, beta=2.3)
    path = model.save(tmp_path / "etas.json")
    back = ETAS.load(path)
    assert back.params_ == model.params_ and back.beta_ == 2.3
    assert back.region == Region.from_bbox(*REGION)
    assert back.area_km2 == pytest.approx(model.area_km2)


def test_forecast_grid(simulated):
    model, cat = simulated
    history = cat[cat["time"] < pd.Timestamp("2012-01-01", tz="UTC")]
    ds = model.forecast(history, "2012-01-01", "2012-01-31", n_simulations=40, cell_deg=0.5, seed=3)
    assert ds["expected_count"].dims == ("magnitude", "latitude", "longitude")
    assert ds.sizes["latitude"] == 8 and ds.sizes["longitude"] == 8
    total = float(ds["expected_count"].sum())
    # Monte Carlo mean of the triggered part + exact background: close to the simulated mean count
    assert total == pytest.approx(ds["n_events"].mean().item(), rel=0.1)
    background = 10**TRUTH["log10_mu"] * model.area_km2 * 30
    assert total > background
    assert float(ds["expected_count"].sum("magnitude").min()) > 0  # every cell of the box has a rate
    # background split over magnitude bins follows GR: the first 0.1 bin holds 1 - exp(-0.23) of it
    first_bin = float(ds["expected_count"].isel(magnitude=0).sum())
    assert first_bin > (1 - np.exp(-0.23)) * background
    assert ds.attrs["n_events_q025"] <= ds.attrs["n_events_median"] <= ds.attrs["n_events_q975"]


def test_temporal_variant_recovers_parameters():
    params = dict(log10_mu=0.0, log10_k0=-1.4, a=1.0, log10_c=-2.0, omega=0.2, log10_tau=1.0, log10_d=0.0,
                  gamma=0.0, rho=1.0)
    truth = ETAS(mc=2.0, spatial=False).set_params(params, beta=2.3)
    cat = truth.simulate("2000-01-01", "2006-06-01", seed=11)
    assert len(cat) > 4000
    fit = ETAS(mc=2.0, spatial=False, max_lag_days=200.0, theta0={"log10_k0": -1.0, "log10_c": -2.5})
    fit.fit(cat, auxiliary_start="2000-01-01", start="2000-03-01", end="2006-06-01")
    table = fit.parameter_table()
    for name in ("log10_mu", "log10_k0", "a", "log10_c", "omega", "log10_tau"):
        z = (table.loc[name, "value"] - params[name]) / table.loc[name, "std_error"]
        assert abs(z) < 2.5, (name, z)
    assert fit.branching_ratio_ == pytest.approx(truth.branching_ratio_, abs=0.1)
