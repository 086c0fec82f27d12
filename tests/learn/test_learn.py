"""Learned forecasters: splits, classifiers, scores, store, sequence model and neural point process."""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from quakelab.learn import (
    ModelStoreError,
    binary_scores,
    bootstrap_scores,
    fit_classifier,
    gain_interval,
    grid_to_frame,
    grid_to_sequences,
    information_gain_per_bin,
    information_gain_per_positive_bin,
    leaderboard,
    leakage_check,
    load_model,
    reliability_table,
    rolling_origin_splits,
    save_model,
)


def synthetic_grid(n_time=300, ny=4, nx=5, seed=0):
    """Cells whose event probability follows a latent (stationary) rate that a count feature reveals."""
    rng = np.random.default_rng(seed)
    rate = np.exp(rng.normal(-3.0, 1.0, (ny, nx)))[None] * np.exp(rng.normal(0.0, 0.8, (n_time, ny, nx)))
    p = 1 - np.exp(-rate)
    y = rng.random(p.shape) < p
    noise = rng.normal(size=p.shape)
    count = rng.poisson(rate * 50)  # an informative, causal-looking feature
    t = pd.date_range("2000-01-01", periods=n_time, freq="7D")
    dims = ("time", "latitude", "longitude")
    return xr.Dataset(
        {
            "count": (dims, count.astype(float)),
            "noise": (dims, noise),
            "occurs_next": (dims, y),
            "n_next": (dims, y.astype(float)),
        },
        coords={"time": t, "latitude": np.arange(ny) + 0.5, "longitude": np.arange(nx) + 0.5},
    ), p


def test_rolling_origin_splits_respect_the_gap():
    t = pd.date_range("2000-01-01", periods=100, freq="D").repeat(3)
    folds = rolling_origin_splits(t, n_splits=4, gap_days=7)
    assert len(folds) == 4
    prev_end = None
    for tr, va in folds:
        assert t[tr].max() + pd.Timedelta(days=7) < t[va].min()  # gap of more than the horizon
        assert prev_end is None or t[va].min() > prev_end  # validation windows move forward
        prev_end = t[va].max()
    assert sum(len(va) for _, va in folds) == 3 * (100 - 40)  # the last 60 % of steps validated once


def test_grid_to_frame_and_sequences_agree():
    ds, _ = synthetic_grid(n_time=10)
    X, y = grid_to_frame(ds, ["count", "noise"])
    assert X.shape == (10 * 20, 2) and y.sum() == int(ds["occurs_next"].sum())
    row = X.loc[(ds.time.values[3], 1.5, 2.5)]
    assert row["count"] == float(ds["count"][3, 1, 2])
    S, Y, cells = grid_to_sequences(ds, ["count", "noise"])
    assert S.shape == (20, 10, 2) and cells.shape == (20, 2)
    k = int(np.flatnonzero((cells[:, 0] == 1) & (cells[:, 1] == 2))[0])
    assert S[k, 3, 0] == row["count"] and Y[k, 3] == float(ds["occurs_next"][3, 1, 2])


def test_scores_known_values():
    y = np.array([1, 0, 0, 1])
    s = binary_scores(y, np.array([0.9, 0.1, 0.2, 0.8]), {"flat": np.full(4, 0.5)})
    assert s["roc_auc"] == 1.0 and s["brier"] == pytest.approx((0.01 + 0.01 + 0.04 + 0.04) / 4)
    assert s["brier_skill"] == pytest.approx(1 - 0.025 / 0.25)
    ll = np.log(0.9) + np.log(0.9) + np.log(0.8) + np.log(0.8)
    assert s["ig_per_positive_bin_vs_flat"] == pytest.approx((ll - 4 * np.log(0.5)) / 2)
    assert s["ig_per_bin_vs_flat"] == pytest.approx((ll - 4 * np.log(0.5)) / 4)
    assert information_gain_per_positive_bin([1, 0], [0.5, 0.5], [0.5, 0.5]) == 0.0
    # two target events in one bin are one positive bin: the gain is per positive bin, not per event
    assert information_gain_per_positive_bin([2, 0], [0.5, 0.5], [0.25, 0.25]) == pytest.approx(
        information_gain_per_bin([2, 0], [0.5, 0.5], [0.25, 0.25]) * 2
    )
    rel = reliability_table(
        np.r_[np.zeros(50), np.ones(50)], np.r_[np.full(50, 0.1), np.full(50, 0.9)], n_bins=2
    )
    assert rel["observed_frequency"].tolist() == [0.0, 1.0] and rel["n"].tolist() == [50, 50]


@pytest.mark.slow
def test_classifiers_learn_signal_calibrate_and_pass_leakage_check():
    ds, p_true = synthetic_grid(ny=6, nx=8)
    times = pd.DatetimeIndex(ds.time.values)
    train, cal, test = times < times[180], (times >= times[180]) & (times < times[240]), times >= times[240]
    feats = ["count", "noise"]
    Xtr, ytr = grid_to_frame(ds, feats, time_mask=train)
    Xc, yc = grid_to_frame(ds, feats, time_mask=cal)
    Xte, yte = grid_to_frame(ds, feats, time_mask=test)
    groups = Xte.index.get_level_values(0)
    fitted = fit_classifier(
        "logistic_regression", Xtr, ytr, X_cal=Xc, y_cal=yc, horizon_days=7, calibration="sigmoid"
    )
    p = fitted.predict_proba(Xte)
    truth = p_true[test].ravel()
    base = np.full(truth.size, ytr.mean())
    board = leaderboard(
        yte.to_numpy(),
        {"model": p, "truth": truth, "climatology": base},
        groups,
        references=("climatology",),
        n_boot=50,
    )
    assert board.loc["model", "roc_auc"] > 0.72  # the count feature carries the latent rate
    assert board.loc["model", "ig_per_positive_bin_vs_climatology_lo"] > 0.2
    assert abs(board.loc["climatology", "molchan_ass"] - 0.5) < 1e-9  # ties switched on together
    # calibrated: predicted and observed frequencies agree within noise
    assert abs(p.mean() - yte.mean()) < 0.015
    # the true probabilities cannot be beaten by much (a sanity check of the scoring itself)
    assert board.loc["truth", "log_likelihood_per_bin"] >= board.loc["model", "log_likelihood_per_bin"] - 0.01
    assert fitted.cv_results["mean_log_loss"].is_monotonic_increasing
    leak = leakage_check(
        lambda yy: fit_classifier(
            "logistic_regression", Xtr, pd.Series(yy, index=ytr.index), horizon_days=7
        ).predict_proba(Xte, calibrated=False),
        ytr.to_numpy(),
        yte.to_numpy(),
        groups,
        n_boot=50,
    )
    assert leak["passed"] and leak["ig_per_positive_bin_vs_constant"] < 0.05
    # a pipeline that leaks (here: the test labels among the features) fails the check
    Xleak_tr, Xleak_te = Xtr.assign(leak=ytr.to_numpy()), Xte.assign(leak=yte.to_numpy())
    leaky = leakage_check(
        lambda yy: fit_classifier(
            "logistic_regression", Xleak_tr.assign(leak=yy), pd.Series(yy, index=ytr.index), horizon_days=7
        ).predict_proba(Xleak_te, calibrated=False),
        ytr.to_numpy(),
        yte.to_numpy(),
        groups,
        n_boot=50,
    )
    assert not leaky["passed"] and leaky["ig_per_positive_bin_vs_constant"] > 1.0
    with pytest.raises(ValueError, match="feature columns differ"):
        fitted.predict_proba(Xte[["noise", "count"]])


def test_bootstrap_interval_covers_known_auc():
    rng = np.random.default_rng(0)
    y = rng.random(4000) < 0.3
    p = np.where(
        y, rng.normal(1, 1, y.size), rng.normal(0, 1, y.size)
    )  # binormal: AUC = Phi(1/sqrt 2) = 0.760
    b = bootstrap_scores(y, p, np.arange(y.size) // 10, n_boot=100)
    assert b.loc["roc_auc", "ci_low"] < 0.7602 < b.loc["roc_auc", "ci_high"]


def test_model_store_round_trip_and_refusals(tmp_path):
    ds, _ = synthetic_grid(n_time=60)
    X, y = grid_to_frame(ds, ["count", "noise"])
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(X.to_numpy(), y.to_numpy())
    d = save_model(
        model, "logit", features=X.columns, root=tmp_path, metadata={"training_window": ["2000", "2001"]}
    )
    meta = json.loads((d / "metadata.json").read_text())
    assert (
        meta["features"] == ["count", "noise"]
        and len(meta["sha256"]) == 64
        and meta["training_window"][0] == "2000"
    )
    loaded, _ = load_model("logit", root=tmp_path, features=["count", "noise"])
    np.testing.assert_array_equal(loaded.predict_proba(X.to_numpy()), model.predict_proba(X.to_numpy()))
    with pytest.raises(ModelStoreError, match=r"missing \['noise'\]"):
        load_model("logit", root=tmp_path, features=["count"])
    with open(d / "model.joblib", "ab") as f:
        f.write(b"x")
    with pytest.raises(ModelStoreError, match="checksum mismatch"):
        load_model("logit", root=tmp_path)
    with pytest.raises(ModelStoreError, match="no stored model"):
        load_model("nothing", root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logit"]  # no temporary directories left


def test_gain_interval_matches_bootstrap_scores_and_subsets():
    rng = np.random.default_rng(3)
    y = (rng.random(3000) < 0.05).astype(int)
    p = np.clip(0.05 + 0.1 * y * rng.random(y.size), 1e-3, 0.9)
    q = np.full(y.size, 0.05)
    groups = np.arange(y.size) // 30
    b = bootstrap_scores(y, p, groups, {"ref": q}, n_boot=60, seed=7)
    g = gain_interval(y, p, q, groups, n_boot=60, seed=7)
    # same statistic and the same resamples as the leaderboard's bootstrap
    for col, key in (("value", "gain"), ("ci_low", "ci_low"), ("ci_high", "ci_high")):
        assert g[key] == pytest.approx(b.loc["ig_per_positive_bin_vs_ref", col], rel=1e-12)
    assert g["n_positive"] == y.sum() and g["n_bins"] == y.size
    # a subset is the full computation on the kept bins
    keep = groups % 4 != 1
    sub = gain_interval(y, p, q, groups, keep=keep, n_boot=60, seed=7)
    full_on_kept = gain_interval(y[keep], p[keep], q[keep], groups[keep], n_boot=60, seed=7)
    pd.testing.assert_series_equal(sub, full_on_kept)
    # hand count: the gain is the summed log-likelihood difference over the kept positive bins
    ll = lambda a: np.where(y > 0, np.log(a), np.log1p(-a))  # noqa: E731
    assert sub["gain"] == pytest.approx((ll(p) - ll(q))[keep].sum() / y[keep].sum(), rel=1e-12)
    assert sub["n_positive"] == y[keep].sum()
