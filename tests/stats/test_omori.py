import numpy as np
import pandas as pd
import pytest

from quakelab.stats import interevent_statistics, interevent_times, omori_fit, simulate_omori


def test_recovers_p_and_c_within_uncertainty():
    t = simulate_omori(K=200, c=0.05, p=1.15, t_end_days=200, seed=7)
    fit = omori_fit(t, t_end=200)
    assert abs(fit.p - 1.15) <= 2 * fit.p_std
    assert abs(fit.c - 0.05) <= 2 * fit.c_std
    assert abs(fit.K - 200) <= 2 * fit.K_std
    assert fit.n == t.size
    assert fit.expected_count(0, 200) == pytest.approx(t.size, rel=1e-3)


def test_p_uncertainty_roughly_calibrated():
    hits = []
    for s in range(150):
        t = simulate_omori(K=50, c=0.05, p=1.1, t_end_days=100, seed=s)
        f = omori_fit(t, t_end=100)
        hits.append(abs(f.p - 1.1) <= f.p_std)
    assert 0.55 <= np.mean(hits) <= 0.85


def test_p_equal_one_and_window_start():
    t = simulate_omori(K=100, c=0.02, p=1.0, t_end_days=50, seed=11)
    fit = omori_fit(t, t_start=0.01, t_end=50)
    assert abs(fit.p - 1.0) <= 2 * fit.p_std
    assert fit.t_start == 0.01 and fit.n == int(((t >= 0.01) & (t <= 50)).sum())


def test_too_few_events():
    with pytest.raises(ValueError, match="at least 10 events"):
        omori_fit([0.1, 0.2, 0.3])


def test_interevent_hand_computed():
    cat = pd.DataFrame(
        {"time": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-04", "2020-01-08"], utc=True)}
    )
    assert interevent_times(cat).tolist() == [1.0, 2.0, 4.0]
    s = interevent_statistics(cat)
    assert s["mean_days"] == pytest.approx(7 / 3)
    assert s["cv"] == pytest.approx(np.std([1, 2, 4], ddof=1) / (7 / 3))


def test_ridgecrest_omori(shared_data):
    from quakelab.datasets import load
    from quakelab.stats import days_since

    cat = load("ridgecrest-2019")
    ms = cat.loc[cat["magnitude"].idxmax()]
    after = cat[(cat["time"] > ms["time"]) & (cat["magnitude"] >= 1.8)]
    fit = omori_fit(days_since(after, ms["time"]), t_start=0.05)
    assert fit.p == pytest.approx(1.104, abs=0.005)
