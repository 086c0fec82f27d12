"""Recalibration with known answers: calibrated input stays put, a constant factor is undone, nothing is 0 or 1."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit

from quakelab.learn import PROBABILITY_FLOOR, fit_recalibration, recalibrate
from quakelab.learn.scores import _bernoulli_ll


@pytest.fixture(scope="module")
def rare_bins():
    """60 000 bins of a rare-event forecast (mean 1.8 %) and outcomes drawn from it: calibrated by construction."""
    rng = np.random.default_rng(7)
    p = expit(rng.normal(-4.5, 1.2, 60_000))
    return p, (rng.random(p.size) < p).astype(int), rng


def test_platt_keeps_a_calibrated_forecast(rare_bins):
    p, y, _ = rare_bins
    cal = fit_recalibration(p, y)
    assert cal.params["a"] == pytest.approx(1.0, abs=0.08)
    assert cal.params["b"] == pytest.approx(0.0, abs=0.35)
    q = cal(p)
    assert np.abs(q / p - 1).max() < 0.25 and q.sum() == pytest.approx(y.sum(), rel=0.02)


def test_platt_undoes_a_constant_odds_factor(rare_bins):
    p, y, _ = rare_bins
    odds = p / (1 - p) * 5.0  # forecast 5 times too confident: odds off by a factor 5
    cal = fit_recalibration(odds / (1 + odds), y)
    assert cal.params["a"] == pytest.approx(1.0, abs=0.08)
    assert cal.params["b"] == pytest.approx(-math.log(5.0), abs=0.35)


def test_rate_undoes_a_constant_count_factor(rare_bins):
    p, y, _ = rare_bins
    lam = -np.log1p(-p)
    cal = fit_recalibration(-np.expm1(-3.0 * lam), y, method="rate")  # expected counts 3 times too high
    assert cal.params["c"] == pytest.approx(1 / 3, rel=0.05)
    cal1 = fit_recalibration(p, y, method="rate")
    assert cal1.params["c"] == pytest.approx(1.0, rel=0.05)


def test_rate_hand_computed():
    # one forecast value 0.05 over 100 bins, 10 positive: 1 - 0.95**c = 0.1, so c = log 0.9 / log 0.95
    cal = fit_recalibration([0.05] * 100, [1] * 10 + [0] * 90, method="rate")
    assert cal.params["c"] == pytest.approx(math.log(0.9) / math.log(0.95), rel=1e-9)
    assert cal([0.05])[0] == pytest.approx(0.1, rel=1e-9)
    assert cal([0.2])[0] == pytest.approx(1 - 0.8 ** cal.params["c"], rel=1e-9)


def test_isotonic_empty_step_costs_a_finite_hand_computed_loss():
    # 900 bins at p = 0.01 with no positive, 100 at p = 0.5 with 10 positives: base rate m = 0.01,
    # prior a = 1, b = (1 - m) / m = 99; the empty step gives (0 + 1) / (900 + 1 + 99) = 0.001
    p_cal = np.r_[np.full(900, 0.01), np.full(100, 0.5)]
    y_cal = np.r_[np.zeros(900), np.ones(10), np.zeros(90)].astype(int)
    cal = fit_recalibration(p_cal, y_cal, method="isotonic")
    assert cal.params["values"].tolist() == pytest.approx([1 / 1000, 11 / 200])  # (10 + 1) / (100 + 1 + 99)
    q = cal([0.0, 0.01, 0.3, 0.5, 1.0])
    assert q.tolist() == pytest.approx([1e-3, 1e-3, 1e-3, 11 / 200, 11 / 200])
    # a test positive in the empty step costs -log(0.001) = 6.91 nats, not the ~20.7 of an isotonic 0
    assert -_bernoulli_ll(np.array([1]), q[1:2])[0] == pytest.approx(math.log(1000), rel=1e-12)
    plain = recalibrate_isotonic_plain(p_cal, y_cal, [0.01])
    assert plain[0] == 0.0 and -_bernoulli_ll(np.array([1]), plain)[0] > 20


def recalibrate_isotonic_plain(p_cal, y_cal, p):
    from quakelab.learn import calibrate_probabilities

    return calibrate_probabilities(p_cal, y_cal, p, method="isotonic")


def test_isotonic_steps_increase_after_smoothing():
    # raw isotonic steps 0 / 5000, 300 / 1000, 1 / 2, 600 / 1000 (increasing); base rate m = 901 / 7002, so
    # b = (1 - m) / m = 6101 / 901; the 2-bin step smooths to 2 / (3 + b) = 0.205 < 301 / (1001 + b) = 0.299:
    # it is merged with the step below into (300 + 1 + 1) / (1002 + 1 + b)
    p_cal = np.r_[np.full(5000, 0.01), np.full(1000, 0.2), np.full(2, 0.3), np.full(1000, 0.4)]
    y_cal = np.r_[np.zeros(5000), np.ones(300), np.zeros(700), 1, 0, np.ones(600), np.zeros(400)].astype(int)
    cal = fit_recalibration(p_cal, y_cal, method="isotonic")
    b = 6101 / 901
    assert cal.params["values"].tolist() == pytest.approx(
        [1 / (5001 + b), 302 / (1003 + b), 601 / (1001 + b)], rel=1e-12
    )
    assert cal.params["edges"].tolist() == [0.0, 0.2, 0.4]
    assert cal([0.25, 0.3])[1] == cal([0.2])[0]


@pytest.mark.parametrize("method", ["platt", "rate", "isotonic"])
def test_no_output_is_zero_or_one(rare_bins, method):
    p, y, rng = rare_bins
    # a separable calibration window, extreme inputs: outputs stay strictly inside (0, 1)
    p_cal = np.r_[np.full(50, 1e-6), np.full(50, 0.9)]
    y_cal = np.r_[np.zeros(50), np.ones(49), 0].astype(int)
    q = recalibrate(p_cal, y_cal, np.array([0.0, 1e-300, 1e-6, 0.5, 1 - 1e-16, 1.0]), method=method)
    assert np.all(q >= PROBABILITY_FLOOR) and np.all(q <= 1 - PROBABILITY_FLOOR)
    assert np.all(np.isfinite(_bernoulli_ll(np.ones(q.size), q)))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="all 0"):
        fit_recalibration([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="unknown recalibration method"):
        fit_recalibration([0.1, 0.2], [0, 1], method="beta")
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        fit_recalibration([0.1, 1.2], [0, 1])
    with pytest.raises(ValueError, match="differ in length"):
        fit_recalibration([0.1, 0.2, 0.3], [0, 1])
