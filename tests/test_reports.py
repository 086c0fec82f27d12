"""Caveats and labels of quakelab.reports on inputs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quakelab import reports
from quakelab.stats import b_value, simulate_gutenberg_richter


def test_mc_disagreement_threshold_and_quoted_b_values():
    assert reports.mc_caveats({"maxc": 2.0, "gft": 2.2, "mbs": 2.25}) == []  # spread 0.25: not reported
    assert reports.mc_caveats({"maxc": 2.0}) == []
    assert reports.mc_caveats({"maxc": 2.0, "mbs": float("nan")}) == []
    mags = np.concatenate([simulate_gutenberg_richter(3000, b=1.0, min_magnitude=2.0, seed=2)])
    (text,) = reports.mc_caveats({"maxc": 2.0, "gft": 2.1, "mbs": 2.6}, magnitudes=mags)
    assert text.startswith(
        "Mc depends on the method: maximum curvature (+0.2) gives 2.0, b-value stability gives 2.6."
    )
    lo, hi = b_value(mags, 2.0), b_value(mags, 2.6)
    assert f"Above Mc 2.0: b = {lo.b:.2f} ± {lo.b_std:.2f} ({lo.n:,} events)" in text
    assert f"above Mc 2.6: b = {hi.b:.2f} ± {hi.b_std:.2f} ({hi.n:,} events)" in text


def test_gr_fit_caveat_on_pure_and_broken_distributions():
    pure = simulate_gutenberg_richter(20000, b=1.0, min_magnitude=1.0, seed=5)
    assert reports.gr_fit_caveats(pure, 1.0) == []
    # b = 0.6 below M3, b = 1.4 above: one line over M>=1 must miss the large events
    rng = np.random.default_rng(0)
    small = simulate_gutenberg_richter(20000, b=0.6, min_magnitude=1.0, seed=rng)
    broken = np.concatenate(
        [small[small < 3.0], 3.0 + simulate_gutenberg_richter(4000, b=1.4, min_magnitude=0.0, seed=rng)]
    )
    (text,) = reports.gr_fit_caveats(broken, 1.0)
    assert text.startswith("The Gutenberg–Richter line fitted above Mc 1.0")
    assert "(fewer)" in text


def test_ridgecrest_sample_headline_gets_a_caveat(sample_catalog):
    from quakelab import stats

    m = sample_catalog["magnitude"]
    mc = {k: stats.magnitude_of_completeness(m, k) for k in ("maxc", "gft", "mbs")}
    notes = reports.caveats(mc=mc, magnitudes=m, mc_used=mc["maxc"])
    assert mc == {"maxc": 2.9, "gft": 3.1, "mbs": 3.3}
    assert len(notes) == 2
    assert notes[0].startswith(
        "Mc depends on the method: maximum curvature (+0.2) gives 2.9, b-value stability gives 3.3"
    )
    assert (
        "misses the data from M3.7: it predicts 132 events of M3.7 or larger, the catalog has 102" in notes[1]
    )


def test_parameters_at_bounds_from_a_real_parameter_table():
    from quakelab.models import ETAS

    m = ETAS(min_magnitude=3.0, region=(-118, -117, 35, 36)).set_params(
        dict(
            log10_mu=-5.0,
            log10_k0=-2.0,
            a=1.0,
            log10_c=-2.0,
            omega=1.0,
            log10_tau=3.0,
            log10_d=-0.5,
            gamma=0.01,
            rho=0.8,
        ),
        beta=2.3,
    )
    (text,) = reports.bound_caveats(m.parameter_table())
    assert text.startswith(
        "ETAS parameters omega = 1 (-0.99 .. 1) and gamma = 0.01 (0.01 .. 5) sit on the edge"
    )
    m.set_params({**m.params_.to_dict(), "omega": 0.2, "gamma": 1.0}, beta=2.3)
    assert reports.bound_caveats(m.parameter_table()) == []


def test_branching_ratio():
    assert reports.branching_caveats(0.999) == []
    assert reports.branching_caveats(1.0)[0].startswith(
        "The fitted branching ratio is 1.00 (1 or more: a supercritical"
    )
    assert "not usable" in reports.branching_caveats(float("nan"))[0]


def _csep(rows):
    return pd.DataFrame(rows, columns=["model", "test", "quantile", "quantile_2"])


def test_csep_tests_failed_by_every_model():
    t = _csep(
        [
            ("ETAS", "N-test", 0.30, 0.75),
            ("Poisson", "N-test", 0.001, 0.99),  # one model passes N
            ("ETAS", "S-test", 0.0, np.nan),
            ("Poisson", "S-test", 0.049, np.nan),  # both fail S
            ("ETAS", "M-test", 0.0, np.nan),
            ("Poisson", "M-test", 0.0, np.nan),  # both fail M
            ("ETAS", "L-test", 0.05, np.nan),
            ("Poisson", "L-test", 0.0, np.nan),  # 0.05 passes at alpha 0.05
        ]
    )
    (text,) = reports.csep_caveats(t)
    assert text.startswith(
        "Every model fails the M-test (the magnitude distribution) and S-test (the spatial "
        "distribution) at the 5% level"
    )
    assert reports.csep_caveats(t[t["test"].isin(["N-test", "L-test"])]) == []
    # the N-test is two-sided: delta2 below alpha/2 fails too
    assert "N-test" in reports.csep_caveats(_csep([("A", "N-test", 0.9, 0.01)]))[0]
    assert reports.csep_caveats(_csep([("A", "N-test", 0.9, 0.03)])) == []


def test_t_statistic_is_not_labelled_a_quantile():
    t = pd.DataFrame(
        [
            {"model": "ETAS", "test": "N-test", "quantile": 0.3, "quantile_2": 0.7},
            {"model": "ETAS", "test": "S-test", "quantile": 0.01, "quantile_2": np.nan},
            {
                "model": "ETAS",
                "test": "T-test",
                "quantile": -5.2,
                "quantile_2": 1.97,
                "ig_low": -0.9,
                "ig_high": -0.4,
            },
            {"model": "ETAS", "test": "W-test", "quantile": 0.2, "quantile_2": np.nan},
        ]
    )
    out = reports.label_csep_table(t).set_index("test")
    assert (
        out.loc["T-test", "statistic"] == "t statistic" and "quantile" not in out.loc["T-test", "statistic"]
    )
    assert out.loc["T-test", "statistic_2"] == "critical t" and out.loc["T-test", "value"] == -5.2
    assert out.loc["T-test", "result"] == "worse than the reference"
    assert (
        out.loc["W-test", "statistic"] == "p-value"
        and out.loc["W-test", "result"] == "no significant difference"
    )
    assert out.loc["N-test", "statistic"].startswith("quantile δ1") and out.loc["N-test", "result"] == "pass"
    assert out.loc["S-test", "result"] == "fail"


def test_caveats_markdown():
    assert reports.caveats_markdown([], none="No caveats.") == "No caveats."
    assert reports.caveats_markdown(["a"]) == "**Caveat.** a"


@pytest.mark.parametrize("kw", [{}, {"branching_ratio": 0.4}, {"mc": {"maxc": 2.0, "gft": 2.1}}])
def test_no_caveat_without_contradicting_diagnostics(kw):
    assert reports.caveats(**kw) == []
