"""Temporal comparisons: block bootstrap, largest sequence, RECAST catalogs, temporal ETAS scores."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from quakelab.evaluate.temporal import (
    autocorrelation_length,
    block_bootstrap_mean,
    compensator_pit,
    daily_totals,
    etas_temporal_scores,
    largest_sequence,
    moving_block_indices,
    paired_gain,
    pit_calibration,
    published_temporal_scores,
    temporal_setting,
)


def _ar1(phi: float, n: int, seed: int) -> np.ndarray:
    """AR(1) series with unit marginal variance."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, math.sqrt(1 - phi * phi), n)
    x = np.empty(n)
    x[0] = rng.normal()
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def test_moving_blocks_are_runs_of_consecutive_indices():
    idx = moving_block_indices(10, 4, 50, np.random.default_rng(0))
    assert idx.shape == (50, 10)
    for row in idx:
        for k in range(0, 8, 4):  # blocks at 0..3 and 4..7 are consecutive modulo 10
            assert np.all(np.diff(row[k : k + 4]) % 10 == 1)


def test_iid_interval_matches_the_textbook_width():
    x = _ar1(0.0, 2000, seed=1)
    r = block_bootstrap_mean(x, block_length=1, n_boot=2000, seed=0)
    textbook = 2 * 1.96 * x.std(ddof=1) / math.sqrt(x.size)
    assert r["mean"] == pytest.approx(x.mean())
    assert r["ci_high"] - r["ci_low"] == pytest.approx(textbook, rel=0.12)


def test_interval_widens_with_positive_autocorrelation():
    # the long-run variance of an AR(1) mean is (1 + phi) / (1 - phi) times the iid one: 3x the width at 0.8
    widths = {}
    for phi in (0.0, 0.8):
        x = _ar1(phi, 3000, seed=2)
        r = block_bootstrap_mean(x, block_length=60, n_boot=1000, seed=0)
        widths[phi] = r["ci_high"] - r["ci_low"]
    assert 2.2 < widths[0.8] / widths[0.0] < 3.6
    # and a block length of 1 misses it (too narrow) on the dependent series
    x = _ar1(0.8, 3000, seed=2)
    narrow = block_bootstrap_mean(x, block_length=1, n_boot=1000, seed=0)
    assert narrow["ci_high"] - narrow["ci_low"] < 0.5 * widths[0.8]
    assert (
        autocorrelation_length(_ar1(0.8, 3000, seed=3)) > 10 > autocorrelation_length(_ar1(0.0, 3000, seed=3))
    )


def test_ratio_statistic_is_the_mean_per_event():
    times = pd.to_datetime(["2020-01-01T01:00Z", "2020-01-01T05:00Z", "2020-01-03T00:00Z"])
    d = daily_totals(times, [1.0, 2.0, 6.0], start="2020-01-01", end="2020-01-05")
    assert d["total"].tolist() == [3.0, 0.0, 6.0, 0.0] and d["n_events"].tolist() == [2, 0, 1, 0]
    r = block_bootstrap_mean(d["total"], weights=d["n_events"], block_length=2, n_boot=200)
    assert r["mean"] == pytest.approx(3.0)  # (1 + 2 + 6) / 3, not the mean of daily means
    assert 1.5 <= r["ci_low"] <= r["ci_high"] <= 6.0


def test_largest_sequence_and_its_exclusion():
    rng = np.random.default_rng(0)
    background = pd.Timestamp("2016-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.uniform(0, 730, 200)), unit="D"
    )
    burst = pd.Timestamp("2016-06-10T12:00", tz="UTC") + pd.to_timedelta(
        np.sort(rng.uniform(0, 5, 100)), unit="D"
    )
    times = background.append(burst).sort_values()
    a, b, n = largest_sequence(times)
    assert burst[0] - pd.Timedelta(days=16) <= a <= burst[0] and b - a == pd.Timedelta(days=21)
    inside = (times >= a) & (times < b)
    assert n == int(inside.sum()) >= 100
    gain = np.where(inside, 1.0, 0.0)  # the model gains only inside the sequence
    kw = {"test_start": "2016-01-01", "test_end": "2018-01-01", "n_boot": 200}
    all_ = paired_gain(times, gain, np.zeros(gain.size), **kw)
    excl = paired_gain(times, gain, np.zeros(gain.size), exclude=(a, b), **kw)
    assert all_["gain"] == pytest.approx(n / times.size) and all_["n_events"] == times.size
    assert excl["gain"] == 0.0 and excl["n_events"] == times.size - n and excl["ci_high"] == 0.0


# ------------------------------------------------------------------------------------------ RECAST data
RECAST_COUNTS = {  # ../shared/data/recast/README.md: rows, then scored test events (test_start, end)
    "recast-white": (134_975, 49_313),
    "recast-qtmsaltonsea": (44_133, 4_026),
    "recast-qtmsanjacinto": (20_790, 4_311),
    "recast-scedc": (125_421, 12_545),
}


@pytest.mark.parametrize("name", sorted(RECAST_COUNTS))
def test_recast_loader_counts(shared_data, name):
    from quakelab import datasets
    from quakelab.catalog.recast import recast_catalog

    d = datasets.get(name)
    cat = d.load()
    c = recast_catalog(name)
    n_rows, n_test = RECAST_COUNTS[name]
    assert len(cat) == n_rows == c.n_events
    assert cat["latitude"].isna().all() and (cat["magnitude"] > c.mc).all()
    assert cat["time"].is_monotonic_increasing and cat["time"].dt.tz is not None
    in_test = (cat["time"] > pd.Timestamp(c.test_start, tz="UTC")) & (
        cat["time"] < pd.Timestamp(c.end, tz="UTC")
    )
    assert int(in_test.sum()) == n_test == c.n_test_events
    # time column and t_days agree (times good to a few tenths of a second, README)
    days = (cat["time"] - pd.Timestamp(c.start, tz="UTC")) / pd.Timedelta(days=1)
    assert np.abs(days - cat["t_days"]).max() * 86400 < 0.01


def test_recast_reader_names_the_bad_line(tmp_path):
    from quakelab.catalog.recast import read_recast_csv

    p = tmp_path / "bad.csv"
    p.write_text(
        "time,magnitude,t_days,inter_time_days\n2008-01-01T00:00:01Z,1.2,0.1,0.1\n2008-01-01T00:00:02Z,x,0.2,0.1\n"
    )
    with pytest.raises(ValueError, match=r"bad.csv, line 3, field 'magnitude'"):
        read_recast_csv(p)


def test_published_numbers_per_event():
    from quakelab.catalog.recast import published_per_event

    t = published_per_event()
    # README's derived values: -nll_test (5-seed mean) x test days / test events
    assert t.loc[("QTMSanJacinto", "ETAS"), "ll_per_event_mean"] == pytest.approx(1.1315, abs=5e-5)
    assert t.loc[("White", "RecurrentTPP"), "ll_per_event_mean"] == pytest.approx(2.6533, abs=5e-5)
    assert t.loc[("SCEDC", "ETAS"), "ll_per_event_mean"] == pytest.approx(2.4893, abs=5e-5)


def test_setting_from_recast_or_given():
    s = temporal_setting("recast-qtmsaltonsea")
    assert (s["name"], s["min_magnitude"], s["region"]) == ("QTMSaltonSea", 1.0, None)
    assert [s[k] for k in ("auxiliary_start", "train_start", "val_start", "test_start", "test_end")] == [
        "2008-01-01",
        "2009-01-01",
        "2014-01-01",
        "2016-01-01",
        "2018-01-01",
    ]
    assert temporal_setting("recast-scedc", test_start="2015-01-01")["test_start"] == "2015-01-01"
    sj = dict(min_magnitude=1.0, auxiliary_start="2008-01-01", train_start="2009-01-01")
    with pytest.raises(ValueError, match="give val_start, test_start, test_end explicitly"):
        temporal_setting("qtm-sanjacinto", **sj)
    s = temporal_setting(
        "qtm-sanjacinto",
        name="SanJac_10",
        region=[-117, -116, 33, 34],
        **sj,
        val_start="2014-01-01",
        test_start="2016-01-01",
        test_end="2018-01-01",
    )
    assert s["recast"] is None and s["name"] == "SanJac_10" and s["region"] == (-117.0, -116.0, 33.0, 34.0)
    with pytest.raises(ValueError, match="val_start < test_start"):
        temporal_setting(
            "qtm-sanjacinto", **sj, val_start="2016-06-01", test_start="2016-01-01", test_end="2018"
        )
    with pytest.raises(ValueError, match="has no locations"):
        temporal_setting("recast-white", region=[-117, -116, 33, 34])


def test_published_temporal_scores_of_both_benchmarks():
    npp = published_temporal_scores("SanJac_10")
    assert npp["ll_per_event_mean"].to_dict() == {
        "ETAS": 1.133,
        "Poisson": 0.794,
        "DeepSTPP": 1.082,
        "AutoSTPP": 1.062,
        "NSTPP": 1.132,
    }
    assert "not a temporal-only fit" in npp.loc["ETAS", "note"] and npp["ll_per_event_sd"].isna().all()
    rc = published_temporal_scores("recast-qtmsanjacinto")
    assert rc.loc["ETAS", "ll_per_event_mean"] == pytest.approx(1.1315, abs=5e-5)
    assert rc.loc["RecurrentTPP", "label"] == "RecurrentTPP (RECAST, published)"
    assert (rc["n_seeds"] == 5).all() and (rc["n_test_events"] == 4311).all()


def test_temporal_fit_survives_a_source_deep_in_the_exponential_tail():
    """A history event 400 days (58 tau) before the fit window: its time integral cancels to 0 in the table
    difference (a Newton trial on SanJac_10 died there with ZeroDivisionError); its expected count is 0, so the
    likelihood and its derivatives equal those without it."""
    from quakelab.models import ETAS

    rng = np.random.default_rng(1)
    t0 = pd.Timestamp("2020-01-01", tz="UTC")
    days = np.concatenate([[0.0, 1.0], np.sort(400 + rng.uniform(0, 200, 300))])
    cat = pd.DataFrame(
        {
            "time": t0 + pd.to_timedelta(days, unit="D"),
            "magnitude": 1.0 + rng.exponential(1 / 2.3, days.size),
            "latitude": np.nan,
            "longitude": np.nan,
        }
    )
    theta = np.array([0.603, -1.8208, 1.7158, -4.0949, -0.1418, 0.8369, -0.85, 1.3, 0.66])  # tau 6.9 days
    kw = dict(start=t0 + pd.Timedelta(days=400), end=t0 + pd.Timedelta(days=600))
    model = ETAS(min_magnitude=1.0, magnitude_resolution=0.0, spatial=False)
    full = model._evaluate(theta, model._prepare(cat, auxiliary_start=t0, **kw), 2)
    late = model._evaluate(
        theta, model._prepare(cat.iloc[2:], auxiliary_start=t0 + pd.Timedelta(days=2), **kw), 2
    )
    assert full[0] == pytest.approx(late[0], rel=1e-12)
    np.testing.assert_allclose(full[1], late[1], rtol=0, atol=1e-9)
    assert np.isfinite(full[2]).all()


@pytest.fixture(scope="module")
def sanjac_slice(shared_data):
    from quakelab import datasets

    cat = datasets.load("recast-qtmsanjacinto")
    return cat[(cat["time"] >= "2015-12-20") & (cat["time"] < "2016-01-08")].reset_index(drop=True)


@pytest.mark.slow
def test_temporal_etas_ll_equals_a_brute_force_sum(sanjac_slice):
    from scipy.integrate import quad

    from quakelab.models import ETAS

    params = {"log10_mu": 0.3, "log10_k0": -1.6, "a": 1.1, "log10_c": -2.5, "omega": 0.05, "log10_tau": 1.5}
    params.update(log10_d=-1.0, gamma=1.0, rho=0.5)  # spatial parameters, unused by the temporal model
    model = ETAS(min_magnitude=1.0, magnitude_resolution=0.0, spatial=False).set_params(params, beta=2.3)
    s = etas_temporal_scores(
        model, sanjac_slice, auxiliary_start="2015-12-20", test_start="2016-01-01", test_end="2016-01-08"
    )
    mu, k0, a, c = 10**0.3, 10**-1.6, 1.1, 10**-2.5
    omega, tau = 0.05, 10**1.5
    t = ((sanjac_slice["time"] - pd.Timestamp("2015-12-20", tz="UTC")) / pd.Timedelta(days=1)).to_numpy()
    m = sanjac_slice["magnitude"].to_numpy() - 1.0
    t0 = 12.0
    test = np.flatnonzero(t >= t0)
    assert s.n_test_events == test.size > 20

    def kernel(dt):
        return math.exp(-dt / tau) / (dt + c) ** (1 + omega)

    total = 0.0
    for i in test:
        total += math.log(
            mu + sum(k0 * math.exp(a * m[j]) * kernel(t[i] - t[j]) for j in range(i) if t[j] < t[i])
        )
    t_last = t[test[-1]]
    total -= mu * (t_last - t0)
    for j in range(test[-1]):  # every source before the last test event
        lo, hi = max(t0 - t[j], 0.0), t_last - t[j]
        pts = [x for x in (c, 10 * c, 1.0) if lo < x < hi]
        total -= (
            k0 * math.exp(a * m[j]) * quad(kernel, lo, hi, points=pts or None, limit=200, epsabs=1e-12)[0]
        )
    assert s.per_event["tll"].sum() == pytest.approx(total, rel=1e-7, abs=1e-6)
    pit = s.per_event["pit"].to_numpy()
    assert np.all((pit > 0) & (pit < 1))


# ---------------------------------------------------------------------------------------------- exponential sums
@pytest.mark.parametrize(("c", "omega"), [(10**-4.4, -0.18), (1e-8, -0.99), (1e-2, 1.0), (1e-3, 0.2)])
def test_exponential_sum_kernel_is_accurate_at_every_lag(c, omega):
    from quakelab.models._temporal_expsum import expsum_nodes, max_relative_error

    # lags up to 40 years: the longest RECAST catalog (SCEDC) spans 39
    assert max_relative_error(c, omega, 15000.0) < 3e-10
    assert expsum_nodes(c, omega, 15000.0)["s"].size < 200
    # a coarser tolerance is met too, with fewer nodes
    assert max_relative_error(c, omega, 15000.0, tol=1e-6) < 3e-6


def _clustered_times(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted times (days) in bursts with a few exact ties, and magnitudes above 0."""
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.uniform(0, 400, 12))
    t = np.concatenate([s + rng.exponential(0.5, n // 12) ** 2 for s in starts])
    t = np.sort(np.concatenate([t, t[::97]]))  # exact ties, as in SCEDC
    return t, rng.exponential(1 / 2.3, t.size)


@pytest.mark.slow
def test_exponential_sum_pass_equals_the_pair_pass():
    from quakelab.models._kernels import target_pass
    from quakelab.models._temporal_expsum import temporal_target_pass

    t, m = _clustered_times(600, seed=3)
    first = 100
    theta = dict(mu=0.5, k0=0.05, a=1.1, c=10**-2.7, omega=-0.12, tau=300.0)
    prod = theta["k0"] * np.exp(theta["a"] * m)
    lo = np.zeros(t.size, dtype=np.int64)
    hi = np.searchsorted(t, t, side="left").astype(np.int64)
    out = {}
    for f in (target_pass, temporal_target_pass):
        lam = np.empty(t.size - first)
        r = f(
            first,
            lo,
            np.zeros(1, np.int32),
            np.zeros(1, np.float32),
            lo,
            hi,
            True,
            t,
            m,
            prod,
            prod,
            theta["mu"],
            theta["c"],
            theta["omega"],
            theta["tau"],
            0.5,
            False,
            2,
            lam,
            1,
            np.empty(0),
            1.0,
        )
        out[f.__name__] = (r, lam)
    (ra, la), (rb, lb) = out["target_pass"], out["temporal_target_pass"]
    np.testing.assert_allclose(lb, la, rtol=1e-9)
    assert rb[0] == pytest.approx(ra[0], rel=1e-12)
    np.testing.assert_allclose(rb[1], ra[1], rtol=1e-8, atol=1e-8 * np.abs(ra[1]).max())
    np.testing.assert_allclose(rb[2], ra[2], rtol=1e-7, atol=1e-8 * np.abs(ra[2]).max())


@pytest.mark.slow
def test_uncapped_temporal_fit_and_scores_match_the_pair_sums():
    from quakelab.models import ETAS

    t, m = _clustered_times(600, seed=4)
    t0 = pd.Timestamp("2020-01-01", tz="UTC")
    cat = pd.DataFrame(
        {
            "time": t0 + pd.to_timedelta(t, unit="D"),
            "magnitude": m + 1.0,
            "latitude": np.nan,
            "longitude": np.nan,
        }
    )
    kw = dict(auxiliary_start=t0, start=t0 + pd.Timedelta(days=60), end=t0 + pd.Timedelta(days=300))
    fast = ETAS(min_magnitude=1.0, magnitude_resolution=0.0, spatial=False)
    pairs = ETAS(
        min_magnitude=1.0, magnitude_resolution=0.0, spatial=False, max_lag_days=1e9
    )  # every pair, visited one by one
    theta = np.array([-0.4, -1.3, 1.0, -2.7, -0.1, 2.3, -0.85, 1.3, 0.66])
    ev = {}
    for name, model in (("fast", fast), ("pairs", pairs)):
        prep = model._prepare(cat, **kw)
        ev[name] = model._evaluate(theta, prep, 2)
    assert ev["fast"][0] == pytest.approx(ev["pairs"][0], rel=1e-12)
    np.testing.assert_allclose(ev["fast"][1], ev["pairs"][1], rtol=1e-7, atol=1e-7)
    fast.fit(cat, **kw, standard_errors=False)
    assert fast.fit_info_["method"] == "newton" and fast.fit_info_["gradient_norm"] < 1e-2
    kws = dict(
        auxiliary_start=t0, test_start=t0 + pd.Timedelta(days=300), test_end=t0 + pd.Timedelta(days=420)
    )
    a = etas_temporal_scores(fast, cat, **kws)
    b = etas_temporal_scores(fast, cat, **kws, method="pairs")
    assert a.n_test_events == b.n_test_events > 50
    np.testing.assert_allclose(a.per_event["tll"], b.per_event["tll"], rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------------------------- PIT
def _catalog(days: np.ndarray, magnitudes: np.ndarray) -> pd.DataFrame:
    n = days.size
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "time": pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(days, unit="D"),
            "latitude": 33.5,
            "longitude": -116.5,
            "depth_km": 5.0,
            "magnitude": magnitudes,
            "mag_type": "ml",
        }
    )


def _temporal_etas(log10_mu: float, log10_k0: float):
    from quakelab.models import ETAS

    params = {"log10_mu": log10_mu, "log10_k0": log10_k0, "a": 1.2, "log10_c": -2.0, "omega": 0.2}
    params.update(log10_tau=9.0, log10_d=-1.0, gamma=1.0, rho=0.5)  # tau 1e9 days: no taper in practice
    return ETAS(min_magnitude=2.0, magnitude_resolution=0.0, spatial=False).set_params(params, beta=2.3)


@pytest.mark.parametrize("method", ["expsum"])
def test_etas_compensator_and_pit_by_hand_on_three_events(method):
    days, mags = np.array([0.2, 1.0, 1.5]), np.array([2.0, 3.0, 2.5])
    model = _temporal_etas(math.log10(0.8), math.log10(0.05))
    s = etas_temporal_scores(
        model,
        _catalog(days, mags),
        auxiliary_start="2020-01-01",
        test_start="2020-01-01",
        test_end="2020-01-03",
        method=method,
    )
    mu, k0, a, c, w = 0.8, 0.05, 1.2, 0.01, 0.2

    def omori(x0, x1):  # integral of (s + c)^-(1 + w) over [x0, x1]
        return ((x0 + c) ** -w - (x1 + c) ** -w) / w

    lam = [
        mu * 0.2,  # no earlier event: the background since the test start
        mu * 0.8 + k0 * omori(0.0, 0.8),  # source at 0.2 (m' = 0)
        mu * 0.5 + k0 * omori(0.8, 1.3) + k0 * math.exp(a * 1.0) * omori(0.0, 0.5),
    ]
    np.testing.assert_allclose(s.per_event["compensator"], lam, rtol=1e-7)
    np.testing.assert_allclose(compensator_pit(s), 1 - np.exp(-np.array(lam)), rtol=1e-7)
    np.testing.assert_allclose(s.per_event["pit"], compensator_pit(s.per_event), rtol=1e-12)
    # causal: a fourth, later event changes none of the first three compensators
    s4 = etas_temporal_scores(
        model,
        _catalog(np.append(days, 1.8), np.append(mags, 4.0)),
        auxiliary_start="2020-01-01",
        test_start="2020-01-01",
        test_end="2020-01-03",
        method=method,
    )
    assert s4.n_test_events == 4
    np.testing.assert_allclose(s4.per_event["compensator"][:3], s.per_event["compensator"], rtol=1e-8)
    with pytest.raises(ValueError, match="compensator"):
        compensator_pit(s.per_event.drop(columns="compensator"))
    with pytest.raises(ValueError, match="non-negative"):
        compensator_pit([0.1, -0.2])


def test_poisson_process_scored_with_its_true_rate_gives_uniform_pits():
    rng = np.random.default_rng(11)
    rate = 4.0  # per day
    days = np.cumsum(rng.exponential(1 / rate, 3000))
    cat = _catalog(days, np.full(days.size, 2.5))
    window = dict(auxiliary_start="2020-01-01", test_start="2020-01-01", test_end="2023-01-01")
    pits = {}
    for name, r in (("true rate", rate), ("rate x 1.5", 1.5 * rate)):
        s = etas_temporal_scores(_temporal_etas(math.log10(r), -30.0), cat, **window)
        pits[name] = compensator_pit(s)
    tab = pit_calibration(pits, bins=10)
    assert tab.loc["true rate", "n"] == 3000
    assert tab.loc["true rate", "ks_pvalue"] > 0.05 and tab.loc["true rate", "ks_statistic"] < 0.025
    assert abs(tab.loc["true rate", "mean"] - 0.5) < 0.02 and tab.loc["true rate", "max_bin_error"] < 0.2
    # too high a rate: events predicted sooner than they come, PITs pushed up, far from uniform
    assert tab.loc["rate x 1.5", "ks_pvalue"] < 1e-10 and tab.loc["rate x 1.5", "mean"] > 0.55
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        pit_calibration({"bad": [0.2, 1.5]})
