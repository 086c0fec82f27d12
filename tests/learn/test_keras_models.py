"""TensorFlow models: known answers on simulated data, seeded reruns, the Keras model store."""

import numpy as np
import pandas as pd
import pytest

from quakelab.learn import NeuralTPP, SequenceForecaster, load_model, save_model

pytest.importorskip("tensorflow")


def renewal_events(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    tau = rng.lognormal(mean=-1.0, sigma=1.2, size=n)
    t = pd.Timestamp("2000-01-01", tz="UTC") + pd.to_timedelta(np.cumsum(tau), unit="D")
    return pd.DataFrame({"time": t, "magnitude": 2 + rng.exponential(0.43, n)}), tau


@pytest.mark.slow
def test_neural_tpp_recovers_lognormal_renewal_likelihood_and_is_reproducible():
    from scipy import stats

    ev, tau = renewal_events()
    T = ev["time"]
    kw = dict(units=16, context=32, window=128, epochs=40, patience=4, seed=1)
    a, b, c = T.iloc[3000], T.iloc[4000], T.iloc[-1] + pd.Timedelta(days=1)
    m = NeuralTPP(**kw).fit(ev, min_magnitude=2.0, train_start=T.iloc[0], train_end=a, val_end=b)
    s = m.score(ev, test_start=b, test_end=c)
    test = (T >= b).to_numpy()
    true = stats.lognorm.logpdf(tau[test], s=1.2, scale=np.exp(-1.0))
    # the test starts at an event: its interval began at the previous event, with none in between
    gap0 = (b - T[~test].iloc[-1]) / pd.Timedelta(days=1)
    true[0] -= stats.lognorm.logsf(gap0, s=1.2, scale=np.exp(-1.0))
    assert s.n_test_events == test.sum() == 1000
    assert s.tll == pytest.approx(true.mean(), abs=0.03)  # the true model's TLL per event
    again = NeuralTPP(**kw).fit(ev, min_magnitude=2.0, train_start=T.iloc[0], train_end=a, val_end=b)
    assert again.score(ev, test_start=b, test_end=c).tll == s.tll  # seeded: identical


@pytest.mark.slow
def test_neural_tpp_first_interval_is_conditioned_on_the_quiet_start():
    ev, _ = renewal_events(3000, seed=2)
    T = ev["time"]
    m = NeuralTPP(units=8, context=16, window=64, epochs=5, seed=0).fit(
        ev, min_magnitude=2.0, train_start=T.iloc[0], train_end=T.iloc[2000], val_end=T.iloc[2500]
    )
    start = T.iloc[2600] - (T.iloc[2600] - T.iloc[2599]) / 2  # half-way through an interval
    s = m.score(ev, test_start=start, test_end=T.iloc[2999])
    s_event = m.score(ev, test_start=T.iloc[2600], test_end=T.iloc[2999])
    assert s.n_test_events == s_event.n_test_events
    # the first event's score is log f(tau) - log S(quiet part): log S(tau) - log S(tau / 2) < 0 apart;
    # the others are unchanged
    diff = s.per_event["tll"].to_numpy() - s_event.per_event["tll"].to_numpy()
    assert diff[0] < 0 and np.allclose(diff[1:], 0)


@pytest.mark.slow
def test_sequence_forecaster_learns_lagged_signal_and_store_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    n_cells, n_t = 40, 200
    x = rng.normal(size=(n_cells, n_t, 1)).astype(np.float32)
    y = (x[:, :, 0] > 1.0).astype(np.float32)  # the label follows the current feature
    steps = np.arange(n_t)
    model = SequenceForecaster(
        "gru", units=8, epochs=40, patience=5, batch_size=4, learning_rate=1e-2, seed=0
    ).fit(x, y, steps < 120, (steps >= 120) & (steps < 160))
    p = model.predict_proba(x)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y[:, 160:].ravel(), p[:, 160:].ravel()) > 0.95
    save_model(model.model_, "gru", features=["x"], root=tmp_path)
    loaded, meta = load_model("gru", root=tmp_path, features=["x"])
    assert meta["format"] == "keras"
    np.testing.assert_allclose(
        loaded.predict(model._transform(x), verbose=0)[..., 0], p, rtol=1e-5, atol=1e-6
    )


@pytest.fixture(scope="module")
def small_tpp():
    """A NeuralTPP fitted briefly on a renewal process, and its data (shared by the fast tests)."""
    ev, _ = renewal_events(1500, seed=3)
    T = ev["time"]
    kw = dict(units=8, n_components=3, context=16, window=64, batch_size=4, epochs=4, patience=2, seed=5)
    split = dict(min_magnitude=2.0, train_start=T.iloc[0], train_end=T.iloc[1000], val_end=T.iloc[1300])
    return NeuralTPP(**kw).fit(ev, **split), ev, kw, split


def test_neural_tpp_compiled_loss_and_output_equal_the_keras_model():
    from quakelab.learn.keras_models import _mixture_nll, _tpp_forward, _window_loss, set_seed

    set_seed(0)
    m = NeuralTPP(units=8, n_components=3, context=16, window=64)
    m.model_ = m._build()  # a fixed (initial) model: Keras's evaluation and the training loop's must agree
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, m.window, 2)).astype(np.float32)
    y = rng.normal(size=(5, m.window)).astype(np.float32)
    w = (rng.random((5, m.window)) < 0.7).astype(np.float32)
    keras_out = m.model_.predict(x, verbose=0)
    np.testing.assert_allclose(_tpp_forward(m.model_, x).numpy(), keras_out, atol=1e-6)
    # the training loss: Keras's own evaluation of the compiled loss (sum_over_batch_size reduction)
    keras_loss = m.model_.evaluate(x, y[..., None], sample_weight=w, batch_size=5, verbose=0)
    loss = float(_window_loss(m.model_, _mixture_nll(m.n_components), x, y, w, 5))
    assert loss == pytest.approx(keras_loss, abs=1e-6)
    # padding rows (weight 0) with the real count as divisor leave the loss unchanged
    xp, yp, wp = (np.concatenate([a, np.zeros_like(a[:3])]) for a in (x, y, w))
    padded = float(_window_loss(m.model_, _mixture_nll(m.n_components), xp, yp, wp, 5))
    assert padded == pytest.approx(loss, abs=1e-6)


@pytest.mark.slow
def test_neural_tpp_training_is_seeded_and_keeps_the_best_validation_epoch(small_tpp):
    m, ev, kw, split = small_tpp
    h = m.history_
    assert list(h.columns) == ["loss", "val_loss", "seconds"] and 1 <= len(h) <= kw["epochs"]
    assert m.best_epoch_ == int(h["val_loss"].to_numpy().argmin()) + 1
    # stopped by validation (patience epochs without improvement) or ran to the cap
    if m.stopped_early_:
        assert len(h) - m.best_epoch_ == kw["patience"]
    else:
        assert len(h) == kw["epochs"]
    again = NeuralTPP(**kw).fit(ev, **split)
    np.testing.assert_array_equal(again.history_[["loss", "val_loss"]], h[["loss", "val_loss"]])
    for a, b in zip(again.model_.get_weights(), m.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    other = NeuralTPP(**{**kw, "seed": 6}).fit(ev, **split)
    assert not np.array_equal(other.history_["loss"], h["loss"])


@pytest.mark.slow
def test_neural_tpp_early_stopping_restores_the_best_weights():
    ev, _ = renewal_events(1500, seed=3)
    T = ev["time"]
    # a learning rate far too high: validation stops improving early, the cap is not reached
    settings = dict(
        units=8, n_components=3, context=16, window=64, batch_size=4, patience=2, learning_rate=0.5, seed=0
    )
    m = NeuralTPP(**settings, epochs=30).fit(
        ev, min_magnitude=2.0, train_start=T.iloc[0], train_end=T.iloc[1000], val_end=T.iloc[1300]
    )
    h = m.history_
    assert m.stopped_early_ and len(h) == m.best_epoch_ + 2 < 30, h
    # the kept weights are those after the best epoch: training stopped there gives the same weights
    best = NeuralTPP(
        **settings,
        epochs=m.best_epoch_,
    ).fit(ev, min_magnitude=2.0, train_start=T.iloc[0], train_end=T.iloc[1000], val_end=T.iloc[1300])
    for a, b in zip(best.model_.get_weights(), m.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
