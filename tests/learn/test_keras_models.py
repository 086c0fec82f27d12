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
