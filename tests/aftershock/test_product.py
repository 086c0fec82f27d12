"""Known-answer tests of the aftershock forecast product."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from quakelab.aftershock import (
    COMPLETENESS,
    GENERIC_RJ,
    Mainshock,
    PoissonMixture,
    SequenceData,
    aftershock_forecast,
    compare_with_observed,
    fit_sequence,
    regime_for,
)

RIDGECREST = Mainshock("2019-07-06 03:19:53.04", 35.770, -117.599, 7.1, 8.0, "ci38457511")


def test_generic_rj1989_probability_by_hand():
    ms = Mainshock("2020-01-01", 34.0, -118.0, 6.0)
    fc = aftershock_forecast(
        ms,
        None,
        "2020-01-02",
        models=["rj_generic"],
        regime="RJ1989-CALIFORNIA",
        windows=[("1 Week", 7.0)],
        magnitudes=[5.0],
    )
    row = fc.table().query("magnitude == 5.0").iloc[0]
    # N = 10^(a + b (Mm - M)) * integral_1^8 (t + c)^-p dt, a = -1.67, b = 0.91, p = 1.08, c = 0.05
    n = 10 ** (-1.67 + 0.91) * ((8.05**-0.08 - 1.05**-0.08) / -0.08)
    assert row["expected"] == pytest.approx(n, rel=1e-12)
    assert row["probability"] == pytest.approx(1 - math.exp(-n), rel=1e-12)
    assert round(row["probability"], 3) == 0.278
    assert (row["median"], row["q025"], row["q975"]) == (
        0,
        0,
        2,
    )  # Poisson(0.325): P(N<=0)=0.72, P(N<=1)=0.96, P(N<=2)=0.996


def test_generic_page2016_mixture_against_quadrature():
    g = GENERIC_RJ["ANSR-SHALCON"]
    ms = Mainshock("2020-01-01", 38.0, 142.0, 7.0)  # outside California: default regime, said so
    fc = aftershock_forecast(
        ms, None, "2020-01-08", models=["rj_generic"], windows=[("1 Month", 30.0)], magnitudes=[5.0]
    )
    assert fc.regime.regime == "ANSR-SHALCON" and "default" in fc.regime.method
    row = fc.table().query("magnitude == 5.0").iloc[0]
    sigma = math.sqrt(0.49**2 + 570.0**2 / 10**7.0)
    integral = ((37.018 ** (1 - 0.98)) - (7.018 ** (1 - 0.98))) / (1 - 0.98)

    def lam(a):
        return 10 ** (a + 1.0 * (7.0 - 5.0)) * integral

    p_any = integrate.quad(
        lambda a: stats.norm.pdf(a, g.a_mean, sigma) * -math.expm1(-lam(a)),
        g.a_mean - 8 * sigma,
        g.a_mean + 8 * sigma,
    )[0]
    mean = integrate.quad(
        lambda a: stats.norm.pdf(a, g.a_mean, sigma) * lam(a), g.a_mean - 8 * sigma, g.a_mean + 8 * sigma
    )[0]
    assert row["probability"] == pytest.approx(p_any, abs=2e-3)
    assert row["expected"] == pytest.approx(mean, rel=1e-2)


def test_mixture_quantiles_against_brute_force_pmf():
    means, w = np.array([0.5, 4.0, 30.0]), np.array([0.2, 0.5, 0.3])
    mix = PoissonMixture(means, w)
    n = np.arange(200)
    cdf = np.cumsum((w[:, None] * stats.poisson.pmf(n[None, :], means[:, None])).sum(0))
    for q in (0.025, 0.5, 0.975):
        assert mix.quantile(q) == int(np.argmax(cdf >= q))
    assert mix.probability_any() == pytest.approx(1 - np.dot(w, np.exp(-means)))


def test_completeness_and_regime_lookup():
    cal = COMPLETENESS["CALIFORNIA"]
    assert float(cal.mc(0.1, 7.1)) == pytest.approx(7.1 - 4.5 + 0.75)  # the Page et al. form, F = 1
    assert float(cal.mc(0.01, 7.1)) == pytest.approx(7.1 - 4.5 + 1.5)
    assert float(cal.mc(1.0, 7.1)) == 3.0  # the catalogue floor Mcat
    assert cal.time_complete(7.1) == pytest.approx(10 ** ((7.1 - 4.5 - 3.0) / 0.75))
    assert regime_for(35.3, -118.0).regime == "CAL-SCSN"
    assert regime_for(38.0, -122.3).regime == "CAL-NCSS"
    assert regime_for(-33.0, -72.0, regime="SZ-GENERIC").params.p == 0.88
    with pytest.raises(ValueError, match="unknown regime"):
        regime_for(0, 0, regime="MARS")


def _simulated_sequence(seed: int = 2):
    from quakelab.stats.omori import simulate_omori

    rng = np.random.default_rng(seed)
    a, b, p, c, mm = -1.8, 1.0, 1.05, 0.02, 7.0
    k = 10 ** (a + b * (mm - 3.0))
    t = simulate_omori(k, c, p, 30.0, seed=seed)
    mag = 3.0 + rng.exponential(1 / (b * math.log(10)), t.size)
    return t, mag, (a, p, c)


def test_sequence_fit_with_time_dependent_completeness_recovers_parameters():
    t, mag, (a, p, c) = _simulated_sequence()
    comp = COMPLETENESS["CALIFORNIA"]
    data = SequenceData.select(t, mag, 7.0, comp, 0.0, 30.0)
    assert data.n < t.size  # early events below Mc(t) were removed
    fit = fit_sequence(data, 1.0).parameters
    assert abs(fit["p"] - p) < 3 * fit["pSigma"] + 0.02
    assert abs(fit["a"] - a) < 0.1
    # ignoring the incompleteness (the same thinned events read as complete above 3.0) biases p
    naive = fit_sequence(
        SequenceData(
            data.t,
            data.magnitude,
            0.0,
            30.0,
            7.0,
            comp.with_mcat(3.0).__class__(3.0, 0.0, 0.0, 0.0, "complete"),
        ),
        1.0,
    ).parameters
    assert naive["method"] == "omori_fit" and abs(naive["p"] - p) > abs(fit["p"] - p) + 0.05


@pytest.mark.slow
def test_etas_numbers_match_a_brute_force_simulation():
    from quakelab.models import ETAS

    theta = dict(
        log10_mu=-6.0,
        log10_k0=-1.9,
        a=1.6,
        log10_c=-2.0,
        omega=0.2,
        log10_tau=6.0,
        log10_d=-1.0,
        gamma=1.0,
        rho=1.5,
    )
    beta, mc, mm = 2.3, 2.5, 6.0
    model = ETAS(min_magnitude=mc, spatial=False).set_params(theta, beta=beta)
    ms = Mainshock("2020-01-01", 10.0, 10.0, mm)
    cat = pd.DataFrame(
        {
            "event_id": ["m"],
            "time": [ms.time],
            "latitude": [10.0],
            "longitude": [10.0],
            "depth_km": [5.0],
            "magnitude": [mm],
            "mag_type": ["mw"],
        }
    )
    fc = aftershock_forecast(
        ms,
        cat,
        "2020-01-02",
        models=["etas"],
        etas_model=model,
        etas_fit=False,
        windows=[("1 Week", 7.0)],
        magnitudes=[2.5, 3.5],
        n_simulations=300,
        seed=3,
    )
    tab = fc.models[0].table.set_index("magnitude")

    # brute force, written independently: generations of Poisson offspring, Omori times by inversion
    rng = np.random.default_rng(11)
    k0, a, c, om = 10**-1.9, 1.6, 0.01, 0.2
    mref = mc - 0.05
    m_max = 8.5

    def kernel_integral(x0, x1):
        return ((x0 + c) ** -om - (x1 + c) ** -om) / om

    def draw_times(n, x0, x1):
        u = rng.uniform(size=n)
        lo, hi = (x0 + c) ** -om, (x1 + c) ** -om
        return (lo - u * (lo - hi)) ** (-1 / om) - c

    def draw_mags(n):
        norm = 1 - math.exp(-beta * (m_max - mref))
        return mref - np.log(1 - norm * rng.uniform(size=n)) / beta

    counts = {2.5: [], 3.5: []}
    t0, t1 = 1.0, 8.0
    for _ in range(2000):
        n0 = rng.poisson(k0 * math.exp(a * (mm - mref)) * kernel_integral(t0, t1))
        times, mags = draw_times(n0, t0, t1), draw_mags(n0)
        all_m = [mags]
        while times.size:
            prod = k0 * np.exp(a * (mags - mref)) * kernel_integral(0.0, 1e9)
            nk = rng.poisson(prod)
            parent_t = np.repeat(times, nk)
            ct = parent_t + draw_times(int(nk.sum()), 0.0, 1e9)
            keep = ct < t1
            times, mags = ct[keep], draw_mags(int(keep.sum()))
            all_m.append(mags)
        m = np.round(np.floor(np.concatenate(all_m) / 0.1 + 0.5 + 1e-9) * 0.1, 10)
        for thr in counts:
            counts[thr].append(int(np.sum(m >= thr - 1e-9)))
    for thr, cs in counts.items():
        cs = np.array(cs)
        se = math.sqrt(cs.var() / cs.size + cs.var() / 300)
        assert abs(tab.loc[thr, "expected"] - cs.mean()) < 4 * se, (thr, tab.loc[thr, "expected"], cs.mean())
        assert abs(tab.loc[thr, "probability"] - (cs > 0).mean()) < 0.08


def test_product_document_table_and_figure(sample_catalog, tmp_path):
    fc = aftershock_forecast(
        RIDGECREST, sample_catalog, "2019-07-07 03:19:53", models=["rj_generic", "rj_sequence", "rj_bayesian"]
    )
    doc = json.loads(fc.to_json(tmp_path / "p.json"))
    assert json.loads((tmp_path / "p.json").read_text()) == doc
    assert doc["schema"] == "quakelab.aftershock-forecast" and doc["schemaVersion"] == "1.0.0"
    assert doc["completeness"]["form"].startswith("Mc(t)") and doc["completeness"]["Mcat"] == 3.0
    assert [f["label"] for f in doc["models"][0]["forecast"]] == ["1 Day", "1 Week", "1 Month", "1 Year"]
    first = doc["models"][0]["forecast"][0]
    assert {"magnitude", "probability", "median", "p95minimum", "p95maximum"} <= set(first["bins"][0])
    assert first["aboveMainshockMag"]["magnitude"] == 7.1
    obs3 = next(o for o in doc["observations"] if o["magnitude"] == 3.0)["count"]
    t = sample_catalog["time"]
    assert obs3 == int(
        ((t < pd.Timestamp("2019-07-07 03:19:53", tz="UTC")) & (sample_catalog["magnitude"] >= 3)).sum()
    )
    text = fc.to_text()
    assert "M>=3.0" in text and "Reasenberg-Jones Bayesian" in text and "chance" in fc.commentary()
    ax = fc.plot(observed=sample_catalog)
    assert len(ax.lines) >= 5 and "days after the mainshock" in ax.get_xlabel()


def test_ridgecrest_sample_forecasts_compared_with_what_happened(sample_catalog):
    """The bundled ComCat sample (M>=2.5, to 2019-07-13): 1-day forecasts issued 1 .. 5 days after the M7.1."""
    rows = []
    for day in (1, 2, 3, 4, 5):
        fc = aftershock_forecast(
            RIDGECREST,
            sample_catalog[sample_catalog["time"] < RIDGECREST.time + pd.Timedelta(days=day)],
            RIDGECREST.time + pd.Timedelta(days=day),
            models=["rj_sequence", "rj_bayesian"],
            windows=[("1 Day", 1.0)],
            magnitudes=[3.0, 4.0, 5.0],
        )
        rows.append(compare_with_observed(fc, sample_catalog))
    cmp = pd.concat(rows)
    cmp = cmp[cmp["complete_window"]]
    inside = cmp["inside"].astype(bool)
    assert len(cmp) == 5 * 2 * 4  # 3, 4, 5 and the mainshock's 7.1
    # what happened next falls in the 95 % ranges most of the time (a calibrated model: ~95 %)
    assert inside.mean() >= 0.8, cmp[~inside]
