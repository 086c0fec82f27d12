"""The spatio-temporal neural point process: exact normalisation, causality, recovery of a simulated ETAS."""

import math

import numpy as np
import pandas as pd
import pytest

from quakelab.learn.stpp import (
    RegionPlane,
    SpatioTemporalNPP,
    adaptive_bandwidths,
    background_log_densities,
    block_bootstrap_mean,
)
from quakelab.region import band_area_km2

BOX = (-116.5, -116.0, 33.0, 33.5)
TRUTH = dict(  # the shared test ETAS (tests/conftest.py) with a 10x background, in a small box
    log10_mu=-3.9,
    log10_k0=-3.03,
    a=1.5,
    log10_c=-2.5,
    omega=0.1,
    log10_tau=2.0,
    log10_d=-1.0,
    gamma=1.0,
    rho=1.5,
)
SPLIT = dict(train_start="2010-06-01", train_end="2012-06-01", val_end="2013-01-01")
TEST = dict(test_start="2013-01-01", test_end="2014-01-01")
TINY = dict(
    units=8,
    n_components=4,
    n_neighbours=16,
    n_scales=2,
    background_km=(1.0, 4.0),
    context=16,
    window=64,
    batch_size=8,
    jit_compile=False,  # short fits: XLA's compile time would dominate (compared below)
)
TRAINED = dict(epochs=12, patience=12, learning_rate=1e-2, seed=0)


def test_region_plane_area_and_background_normalisation():
    plane = RegionPlane((-117.0, -116.0, 33.0, 34.0))
    assert plane.area_km2 == pytest.approx(10306.22, abs=0.01)  # the ETAS/Poisson (WGS84) area of SanJac_10
    rng = np.random.default_rng(0)
    us, vs = rng.uniform(0, plane.width, 30), rng.uniform(0, plane.height, 30)
    us[:3] = [0.2, plane.width - 0.1, 5.0]  # sources at the edges: most of a kernel's mass falls outside
    vs[:3] = [0.3, 1.0, plane.height - 0.05]
    n = 500  # midpoint rule, 0.2 km cells
    gu = (np.arange(n) + 0.5) * plane.width / n
    gv = (np.arange(n) + 0.5) * plane.height / n
    U, V = np.meshgrid(gu, gv)
    logf = background_log_densities(
        U.ravel(), V.ravel(), us, vs, np.full(U.size, 30), (0.5, 2.0), plane.width, plane.height, chunk=20000
    )
    mass = np.exp(logf).sum(axis=0) * (plane.width / n) * (plane.height / n)
    np.testing.assert_allclose(mass, 1.0, atol=2e-3)
    # the first query with no source falls back on the uniform density
    one = background_log_densities([1.0], [1.0], us, vs, [0], (0.5,), plane.width, plane.height)
    np.testing.assert_allclose(one, -math.log(plane.width * plane.height))


def test_adaptive_background_is_causal_and_integrates_to_one():
    plane = RegionPlane((-117.0, -116.0, 33.0, 34.0))
    rng = np.random.default_rng(2)
    # a tight cluster (short bandwidths) and scattered events (long ones), two sources at the edges
    us = np.concatenate(
        [[0.1, plane.width - 0.2], 40 + rng.normal(0, 0.3, 20), rng.uniform(0, plane.width, 18)]
    )
    vs = np.concatenate(
        [[plane.height - 0.1, 0.2], 50 + rng.normal(0, 0.3, 20), rng.uniform(0, plane.height, 18)]
    )
    bw = adaptive_bandwidths(us, vs, (1, 3), min_km=0.05, max_km=50.0)
    # hand check: the 4th source's nearest earlier source; under 3 earlier sources or over 50 km: max_km
    d = np.hypot(us[3] - us[:3], vs[3] - vs[:3])
    assert bw[3, 0] == pytest.approx(d.min()) and d.min() < 2.0
    assert bw[3, 1] == pytest.approx(min(np.sort(d)[2], 50.0))
    assert bw[2, 1] == 50.0 and bw[0, 0] == 50.0
    # causal: appending later sources leaves the earlier bandwidths unchanged
    np.testing.assert_array_equal(adaptive_bandwidths(us[:25], vs[:25], (1, 3), min_km=0.05), bw[:25])
    assert np.median(bw[5:22, 1]) < 2.0 < np.median(bw[25:, 1])  # adaptive: short in the cluster
    n = 250  # 0.4 km cells, bandwidths >= 0.8 km: the midpoint rule is accurate to well under 1e-3
    gu = (np.arange(n) + 0.5) * plane.width / n
    gv = (np.arange(n) + 0.5) * plane.height / n
    U, V = np.meshgrid(gu, gv)
    logf = background_log_densities(
        U.ravel(),
        V.ravel(),
        us,
        vs,
        np.full(U.size, us.size),
        (2.0,),
        plane.width,
        plane.height,
        source_bandwidths_km=np.clip(bw, 0.8, None),
        chunk=20000,
    )
    assert logf.shape == (U.size, 4)
    mass = np.exp(logf).sum(axis=0) * (plane.width / n) * (plane.height / n)
    np.testing.assert_allclose(mass, 1.0, atol=2e-3)
    with pytest.raises(ValueError, match="source_bandwidths_km"):
        background_log_densities([1.0], [1.0], us, vs, [3], (), 10.0, 10.0, source_bandwidths_km=bw[:5])


def test_block_bootstrap_interval_widens_with_clustering():
    t = pd.date_range("2020-01-01", periods=400, freq="D", tz="UTC")
    rng = np.random.default_rng(1)
    iid = rng.normal(size=400)
    clustered = np.repeat(rng.normal(size=400 // 20), 20)  # 20-day blocks sharing one value
    a = block_bootstrap_mean(iid, t, block_days=20, n_boot=2000)
    b = block_bootstrap_mean(clustered, t, block_days=20, n_boot=2000)
    assert a["n_blocks"] == b["n_blocks"] == 20
    assert a["mean"] == pytest.approx(iid.mean()) and a["ci_low"] < a["mean"] < a["ci_high"]
    # the same marginal spread, but 20 independent values instead of 400: a ~sqrt(20) wider interval
    assert (b["ci_high"] - b["ci_low"]) / (a["ci_high"] - a["ci_low"]) > 2.5


@pytest.fixture(scope="module")
def simulated():
    from quakelab.models import ETAS

    truth = ETAS(min_magnitude=2.0, region=BOX, region_integral="exact").set_params(TRUTH, beta=2.3)
    cat = truth.simulate("2010-01-01", "2014-01-01", seed=3)
    return truth, truth.select_events(cat, "2010-01-01", "2014-01-01")


@pytest.fixture(scope="module")
def tiny_model(simulated):
    pytest.importorskip("tensorflow")
    _, ev = simulated
    return SpatioTemporalNPP(**TRAINED, **TINY).fit(ev, min_magnitude=2.0, region=BOX, **SPLIT)


@pytest.mark.slow
def test_spatial_and_time_densities_integrate_to_one(simulated, tiny_model):
    _, ev = simulated
    at = ev["time"].iloc[200] + pd.Timedelta(minutes=5)  # minutes after an event
    n = 600  # 0.08 km cells
    plane = tiny_model.plane_
    lon = BOX[0] + (np.arange(n) + 0.5) * (BOX[1] - BOX[0]) / n
    lat = BOX[2] + (np.arange(n) + 0.5) * (BOX[3] - BOX[2]) / n
    LON, LAT = np.meshgrid(lon, lat)
    logf = tiny_model.spatial_log_density(ev, at, LON, LAT)  # per true (WGS84) km²
    cell = band_area_km2(LAT - (lat[1] - lat[0]) / 2, LAT + (lat[1] - lat[0]) / 2, lon[1] - lon[0])
    assert float((np.exp(logf) * cell).sum()) == pytest.approx(1.0, abs=3e-3)
    # peaked near the last events, not flat: the check is not passed by a uniform density
    assert np.exp(logf).max() * plane.area_km2 > 20
    # time: integral over log-spaced times, 1e-9 .. 1e5 days
    x = np.linspace(math.log(1e-9), math.log(1e5), 20001)
    f = np.exp(tiny_model.time_log_density_after(ev, at, np.exp(x))) * np.exp(x)
    assert float(np.sum((f[1:] + f[:-1]) / 2) * (x[1] - x[0])) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.slow
def test_scores_use_only_earlier_events(simulated, tiny_model):
    _, ev = simulated
    window = dict(test_start="2013-01-01", test_end="2013-04-01")
    base = tiny_model.score(ev, **window).per_event
    times = ev["time"].to_numpy()
    k = int(np.flatnonzero(times >= base["time"].to_numpy()[len(base) // 2])[0])  # a test event in the middle
    changed = ev.copy()
    changed.loc[changed.index[k], ["longitude", "latitude", "magnitude"]] = [-116.1, 33.1, 4.0]
    after = tiny_model.score(changed, **window).per_event
    j = int(np.flatnonzero(base["time"].to_numpy() == times[k])[0])
    np.testing.assert_array_equal(base[["tll", "sll"]].to_numpy()[:j], after[["tll", "sll"]].to_numpy()[:j])
    assert not np.allclose(base["sll"].to_numpy()[j:], after["sll"].to_numpy()[j:])  # event k and later moved
    # adding an event between test events k and k + 1 leaves every score up to event k as it was
    t_new = ev["time"].iloc[k] + (ev["time"].iloc[k + 1] - ev["time"].iloc[k]) / 2
    extra = pd.DataFrame({"time": [t_new], "longitude": [-116.2], "latitude": [33.2], "magnitude": [3.5]})
    cols = ["time", "longitude", "latitude", "magnitude"]
    added = tiny_model.score(pd.concat([ev[cols], extra], ignore_index=True), **window).per_event
    assert len(added) == len(base) + 1 and added["time"].iloc[j + 1] == t_new
    np.testing.assert_allclose(
        added[["tll", "sll"]].to_numpy()[: j + 1], base[["tll", "sll"]].to_numpy()[: j + 1], rtol=0, atol=1e-6
    )
    assert not np.allclose(added["sll"].to_numpy()[j + 2 :], base["sll"].to_numpy()[j + 1 :])
    # the density of one event from the map function equals its score (same history, same state)
    row = base.iloc[j + 1]
    one = tiny_model.spatial_log_density(
        ev, row["time"], np.array([row["longitude"]]), np.array([row["latitude"]])
    )
    assert one[0] == pytest.approx(row["sll"], abs=1e-4)
    # the map at a time depends on nothing after it: the added later event changes no value
    grid = np.meshgrid(np.linspace(-116.45, -116.05, 5), np.linspace(33.05, 33.45, 5))
    at = ev["time"].iloc[k]  # event k and everything after it are in the future of the map
    later = pd.concat([ev[cols], extra], ignore_index=True)
    np.testing.assert_allclose(
        tiny_model.spatial_log_density(later, at, *grid),
        tiny_model.spatial_log_density(ev, at, *grid),
        atol=1e-6,
    )


@pytest.mark.slow
def test_likelihood_approaches_the_true_etas_as_training_grows(simulated, tiny_model):
    """Known answer: the gap to the true model's log-likelihood shrinks with the training budget."""
    from quakelab.evaluate import etas_test_scores

    truth, ev = simulated
    # the true model's intensity of in-region events: kernels integrated over the region
    true = etas_test_scores(truth, ev, auxiliary_start="2010-01-01", kernel_mc=2.0, **TEST)
    one_epoch = SpatioTemporalNPP(**{**TRAINED, "epochs": 1}, **TINY).fit(
        ev, min_magnitude=2.0, region=BOX, **SPLIT
    )
    gaps = []
    for m in (one_epoch, tiny_model):
        s = m.score(ev, **TEST)
        assert s.n_test_events == true.n_test_events == 463
        gaps.append(true.ll - s.ll)
    # measured: 0.61 nats per event after 1 epoch, 0.14 after 12 (0.13 after 30)
    assert gaps[1] < gaps[0] - 0.3  # more training, closer to the truth
    assert 0 < gaps[1] < 0.3  # and within 0.3 nats per event of it


@pytest.mark.slow
def test_early_stopping_keeps_the_best_validation_epoch(simulated):
    """Training stops after ``patience`` epochs without improvement and keeps the best epoch's weights."""
    pytest.importorskip("tensorflow")
    _, ev = simulated
    # a learning rate far too high: validation stops improving early, the cap is not reached
    settings = dict(TINY, patience=2, learning_rate=0.3, seed=1)
    m = SpatioTemporalNPP(**settings, epochs=25).fit(ev, min_magnitude=2.0, region=BOX, **SPLIT)
    h = m.history_
    assert m.stopped_early_ and len(h) == m.best_epoch_ + 2 < 25, h
    val = h["val_loss"].to_numpy()
    assert val[m.best_epoch_ - 1] <= val.min() + 1e-4  # improvements under 1e-4 do not count
    assert (val[m.best_epoch_ :] > val[: m.best_epoch_].min() - 1e-4).all()
    # the kept weights are those after the best epoch: training stopped there gives the same weights
    best = SpatioTemporalNPP(**settings, epochs=m.best_epoch_).fit(ev, min_magnitude=2.0, region=BOX, **SPLIT)
    assert not best.stopped_early_ and best.best_epoch_ == m.best_epoch_
    np.testing.assert_array_equal(best.history_["val_loss"], h["val_loss"].iloc[: m.best_epoch_])
    for a, b in zip(best.model_.get_weights(), m.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(best._extra, m._extra, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.slow
def test_xla_compiled_training_matches_the_graph_training(simulated):
    """The default XLA-compiled steps compute the same losses and updates as plain TensorFlow graphs."""
    pytest.importorskip("tensorflow")
    _, ev = simulated
    settings = dict(TINY, epochs=2, patience=2, learning_rate=1e-2, seed=0)
    fits = [
        SpatioTemporalNPP(**{**settings, "jit_compile": jit}).fit(ev, min_magnitude=2.0, region=BOX, **SPLIT)
        for jit in (False, True)
    ]
    cols = ["loss", "val_temporal", "val_spatial"]
    np.testing.assert_allclose(fits[1].history_[cols], fits[0].history_[cols], rtol=0, atol=1e-4)
    assert fits[1].history_["val_loss"].iloc[-1] < fits[1].history_["val_loss"].iloc[0]  # it trained
    for a, b in zip(fits[1].model_.get_weights(), fits[0].model_.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)


def test_seed_mixture_and_paired_gains_known_values():
    from quakelab.learn.stpp import paired_gains, seed_mixture

    t = pd.date_range("2020-01-01", periods=60, freq="D", tz="UTC")
    a = pd.DataFrame({"time": t, "tll": np.log(2.0), "sll": np.log(0.5), "ll": 0.0})
    b = pd.DataFrame({"time": t, "tll": np.log(4.0), "sll": np.log(0.5), "ll": np.log(2.0)})
    mix = seed_mixture([a, b])
    # time density (2 + 4) / 2 = 3, joint density (1 + 2) / 2 = 1.5, location density 1.5 / 3
    np.testing.assert_allclose(mix[["tll", "ll", "sll"]].iloc[0], [math.log(3), math.log(1.5), math.log(0.5)])
    with pytest.raises(ValueError, match="same events"):
        seed_mixture([a, b.iloc[1:]])
    g = paired_gains(
        {"b": b}, {"a": a}, {"all": np.ones(60, bool), "first 30": np.arange(60) < 30}, block_days=10
    )
    assert len(g) == 6 and set(g["part"]) == {"temporal", "spatial", "total"}
    total = g[(g["part"] == "total") & (g["events"] == "first 30")].iloc[0]
    assert total["gain"] == pytest.approx(math.log(2)) == total["ci_low"] == total["ci_high"]
    assert total["n"] == 30 and total["n_blocks"] == 3
    assert g.loc[g["part"] == "spatial", "gain"].abs().max() < 1e-12


@pytest.mark.slow
def test_etas_spatial_density_equals_its_scores():
    """The map function gives, at each test event, the spatial score of quakelab.evaluate.etas_test_scores."""
    from quakelab.evaluate import etas_test_scores
    from quakelab.learn.stpp import etas_spatial_log_density
    from quakelab.models import ETAS
    from quakelab.models.background import KernelBackground

    rng = np.random.default_rng(4)
    n = 120
    cat = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "time": pd.Timestamp("2010-01-01", tz="UTC")
            + pd.to_timedelta(np.sort(rng.uniform(0, 365, n)), unit="D"),
            "longitude": rng.uniform(-116.45, -116.05, n),
            "latitude": rng.uniform(33.05, 33.45, n),
            "depth_km": 5.0,
            "magnitude": np.round(2.0 + rng.exponential(0.45, n), 1),
            "mag_type": "ml",
        }
    )
    bg = KernelBackground(BOX, [-116.3, -116.1], [33.2, 33.4], [3.0, 8.0], weights=[2.0, 1.0])
    model = ETAS(min_magnitude=2.0, region=BOX, region_integral="exact", background=bg).set_params(
        TRUTH, beta=2.3
    )
    s = etas_test_scores(
        model, cat, auxiliary_start="2010-01-01", test_start="2010-11-01", test_end="2011-01-01"
    )
    test = cat[cat["time"] >= pd.Timestamp("2010-11-01", tz="UTC")].head(5)
    got = [
        etas_spatial_log_density(
            model, cat, r.time, [r.longitude], [r.latitude], auxiliary_start="2010-01-01"
        )[0]
        for r in test.itertuples()
    ]
    np.testing.assert_allclose(got, s.per_event["sll"].to_numpy()[:5], atol=1e-8)


def test_kernel_scales_must_match_the_number_of_scales():
    m = SpatioTemporalNPP(n_scales=3, kernel_scales_km=(0.2, 1, 5))
    assert m.kernel_scales_km == (0.2, 1.0, 5.0)
    with pytest.raises(ValueError, match="kernel_scales_km needs n_scales=2"):
        SpatioTemporalNPP(n_scales=2, kernel_scales_km=(1.0,))
    with pytest.raises(ValueError, match="positive"):
        SpatioTemporalNPP(n_scales=2, kernel_scales_km=(1.0, 0.0))
