"""ETAS simulation and forecasts: known answers, reproducibility across chunks/threads/workers, caps."""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import ETAS_REGION as REGION
from conftest import ETAS_TRUTH as TRUTH
from scipy import stats

from quakelab.models import ETAS
from quakelab.models.etas import time_integral_python
from quakelab.models.simulate import SimulationCapError, _child, _entropy_words, _spawned_states
from quakelab.region import cell_area_km2

#: Temporal model with a short taper (all generations of an aftershock sequence end inside the windows used).
TEMPORAL = dict(
    log10_mu=-10.0,
    log10_k0=-1.4,
    a=1.0,
    log10_c=-2.0,
    omega=0.2,
    log10_tau=1.0,
    log10_d=0.0,
    gamma=0.0,
    rho=1.0,
)
T0 = pd.Timestamp("2020-01-01", tz="UTC")


def _mainshock(
    magnitude: float, lon: float = -118.0, lat: float = 35.0, lag_days: float = 1e-6
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": ["main"],
            "time": [T0 - pd.Timedelta(days=lag_days)],
            "latitude": [lat],
            "longitude": [lon],
            "depth_km": [8.0],
            "magnitude": [magnitude],
            "mag_type": ["Mw"],
        }
    )


@pytest.fixture(scope="module")
def simulated(etas_simulated):
    return etas_simulated


def test_simulated_count_and_branching_ratio(simulated):
    model, cat = simulated
    assert model.branching_ratio_ == pytest.approx(0.6824, abs=1e-4)
    # realisation of seed 1 (regression), and within Monte Carlo range of its expectation
    # (23902 and 7518 background events with the 6378.1 km sphere's area, 0.26 % larger)
    assert len(cat) == 23907 and cat["magnitude"].min() == pytest.approx(1.0)
    n_bg = int((cat["generation"] == 0).sum())
    expected_bg = 10 ** TRUTH["log10_mu"] * model.area_km2 * 3653
    assert n_bg == 7501 and abs(n_bg - expected_bg) < 3 * math.sqrt(expected_bg)
    assert cat["time"].is_monotonic_increasing and cat["time"].between("2007-01-01", "2017-01-01").all()
    assert model.region.contains(cat["longitude"], cat["latitude"]).all()


def test_seed_streams_are_spawned_children():
    """Simulation i is seeded by SeedSequence(seed).spawn(n)[i] (compiled re-implementation checked)."""
    for seed in (0, 42, 2**40 + 5, np.random.SeedSequence().entropy):
        seq = np.random.SeedSequence(seed)
        kids = seq.spawn(5)
        idx = [0, 1, 2, 3, 4, 999, 65535, 65536, 69_999]
        # what spawn(70_000)[i] is, built directly for the large i
        ref = np.array(
            [
                (kids[i] if i < 5 else np.random.SeedSequence(seed, spawn_key=(i,))).generate_state(
                    4, np.uint64
                )
                for i in idx
            ]
        )
        fast = np.concatenate([_spawned_states(_entropy_words(seed), i, 1) for i in idx])
        assert np.array_equal(fast, ref)
        assert np.array_equal(_spawned_states(_entropy_words(seed), 0, 5), ref[:5])
        base = (seq.entropy, (), seq.pool_size)
        assert np.array_equal(_child(base, 999).generate_state(4, np.uint64), ref[5])


def test_results_do_not_depend_on_chunks_or_threads(simulated):
    model, cat = simulated
    history = cat[cat["time"] < pd.Timestamp("2012-01-01", tz="UTC")]
    runs = [
        model.catalog_forecast(
            history,
            "2012-01-01",
            "2012-01-08",
            n_simulations=60,
            seed=7,
            quiet=True,
            chunk_size=cs,
            n_threads=nt,
        )
        for cs, nt in ((1000, 1), (7, 2), (1, 1), (25, 3))
    ]
    assert runs[0]["catalog_id"].nunique() > 50 and len(runs[0]) > 1000
    for other in runs[1:]:
        pd.testing.assert_frame_equal(runs[0], other)
    single = model.simulate("2012-01-01", "2012-01-08", history=history, seed=7)
    pd.testing.assert_frame_equal(single, runs[0][runs[0]["catalog_id"] == 0].drop(columns="catalog_id"))
    different = model.catalog_forecast(
        history, "2012-01-01", "2012-01-08", n_simulations=60, seed=8, quiet=True
    )
    assert not different["time"].equals(runs[0]["time"])


@pytest.mark.slow
def test_dask_workers_give_identical_results(simulated):
    """1 and 2 workers of a real LocalCluster (separate processes) and in-process: exactly the same."""
    from distributed import Client, LocalCluster

    model, cat = simulated
    history = cat[cat["time"] < pd.Timestamp("2012-01-01", tz="UTC")]
    kwargs = dict(n_simulations=200, seed=11, cell_deg=0.5, quiet=True)
    here = model.forecast(history, "2012-01-01", "2012-01-08", **kwargs)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        runs = {}
        for n_workers, chunk in ((2, 13), (1, 64)):
            if n_workers == 1:  # the same cluster with one of its two worker processes retired
                client.retire_workers([sorted(client.nthreads())[0]], close_workers=True)
            assert len(client.nthreads()) == n_workers
            runs[n_workers] = model.forecast(
                history, "2012-01-01", "2012-01-08", scheduler=client, chunk_size=chunk, **kwargs
            )
    for ds in runs.values():
        assert np.array_equal(ds["expected_count"].values, here["expected_count"].values)
        assert np.array_equal(ds["n_events"].values, here["n_events"].values)


def test_reducers_agree_with_the_simulated_catalogs(simulated):
    """forecast() and aftershock_probabilities() reduce chunk by chunk: same numbers as from all events."""
    model, cat = simulated
    history = cat[cat["time"] < pd.Timestamp("2012-01-01", tz="UTC")]
    sims = model.catalog_forecast(history, "2012-01-01", "2012-01-31", n_simulations=40, seed=3, quiet=True)
    ds = model.forecast(
        history, "2012-01-01", "2012-01-31", n_simulations=40, cell_deg=0.5, seed=3, quiet=True, chunk_size=9
    )
    assert np.array_equal(ds["n_events"].values, np.bincount(sims["catalog_id"], minlength=40))
    trig = sims[sims["generation"] > 0]
    background = float(10 ** TRUTH["log10_mu"] * model.area_km2 * 30)
    assert float(ds["expected_count"].sum()) == pytest.approx(len(trig) / 40 + background, rel=1e-9)
    cell = ds["expected_count"].sel(latitude=35.25, longitude=-117.75).sum().item()
    in_cell = trig["latitude"].between(35.0, 35.5) & trig["longitude"].between(-118.0, -117.5)
    areas = cell_area_km2(ds["latitude"].values, 0.5)
    share = cell_area_km2(35.25, 0.5) / (8 * areas.sum())
    assert cell == pytest.approx(in_cell.sum() / 40 + background * share, rel=1e-9)
    probs = model.aftershock_probabilities(
        history,
        "2012-01-01",
        durations_days=(1.0, 30.0),
        magnitudes=(1.0, 3.0),
        n_simulations=40,
        seed=3,
        m_max=None,
        quiet=True,
    )
    lag = (sims["time"] - pd.Timestamp("2012-01-01", tz="UTC")) / pd.Timedelta(days=1)
    for row in probs.itertuples():
        sel = (lag < row.duration_days) & (sims["magnitude"] >= row.magnitude - 1e-9)
        counts = np.bincount(sims["catalog_id"][sel], minlength=40)
        assert row.probability == (counts > 0).mean() and row.expected_number == pytest.approx(counts.mean())


def test_supercritical_model_stops_at_the_cap():
    params = {**TRUTH, "log10_k0": -1.0}
    model = ETAS(min_magnitude=1.0, region=REGION).set_params(params, beta=2.3)
    assert model.branching_ratio_ > 1
    with pytest.raises(
        SimulationCapError, match=r"max_events=20,000 .*branching ratio .*supercritical"
    ) as err:
        model.catalog_forecast(
            None, "2000-01-01", "2010-01-01", n_simulations=4, seed=1, max_events=20_000, quiet=True
        )
    assert err.value.max_events == 20_000 and err.value.n_events > 20_000 and err.value.simulation == 0
    # one parent whose direct aftershocks alone exceed the cap: refused at the draw, before allocating them
    temporal = ETAS(min_magnitude=2.0, spatial=False).set_params({**TEMPORAL, "a": 2.5}, beta=2.3)
    with pytest.raises(SimulationCapError) as err:
        temporal.simulate(T0, T0 + pd.Timedelta(days=1), history=_mainshock(9.5), seed=1, max_events=10_000)
    assert err.value.n_events > 1_000_000


def test_one_task_is_capped_in_total_not_only_per_simulation():
    """Simulations each below max_events but many of them in one task: stopped by the task's total cap."""
    from quakelab.models.simulate import CatalogReducer, SimulationSetup, run_simulations

    model = ETAS(min_magnitude=1.0, region=REGION).set_params(TRUTH, beta=2.3)
    capped = SimulationSetup.from_model(model, None, 30.0, max_events=1500, max_total_events=2000)
    assert (
        SimulationSetup.from_model(model, None, 30.0, max_events=1500, max_total_events=10).max_total_events
        == 1500
    )
    with pytest.raises(
        SimulationCapError, match=r"50 simulations of one task exceeded max_total_events=2,000 .*chunk_size"
    ):
        run_simulations(capped, 50, CatalogReducer(), seed=1, chunk_size=50, n_threads=1, quiet=True)
    with pytest.raises(SimulationCapError, match=r"share 1,000"):  # two threads: half the total each
        run_simulations(capped, 50, CatalogReducer(), seed=1, chunk_size=50, n_threads=2, quiet=True)
    # the same simulations in small tasks pass, and are those of an uncapped run
    small = run_simulations(capped, 50, CatalogReducer(), seed=1, chunk_size=4, n_threads=1, quiet=True)
    free = SimulationSetup.from_model(model, None, 30.0)
    assert len(small) > 2000
    pd.testing.assert_frame_equal(small, run_simulations(free, 50, CatalogReducer(), seed=1, quiet=True))


def test_history_is_selected_once_per_forecast(simulated, monkeypatch):
    """The history goes through the region polygon once per forecast, not once per simulation or task."""
    from quakelab.region import Region

    model, cat = simulated
    history = cat[cat["time"] < pd.Timestamp("2012-01-01", tz="UTC")]
    selections: list[int] = []
    polygon_points: list[int] = []
    select, contains = ETAS._events, Region.contains

    def counting_select(self, catalog, *args):
        selections.append(len(catalog))
        return select(self, catalog, *args)

    def counting_contains(self, lon, lat):
        polygon_points.append(int(np.size(lon)))
        return contains(self, lon, lat)

    monkeypatch.setattr(ETAS, "_events", counting_select)
    monkeypatch.setattr(Region, "contains", counting_contains)
    runs = {}
    for n in (2, 120):
        selections.clear()
        polygon_points.clear()
        runs[n] = model.catalog_forecast(
            history, "2012-01-01", "2012-01-08", n_simulations=n, seed=1, chunk_size=1, quiet=True
        )
        assert selections == [len(history)]
        assert sum(polygon_points) == len(history)  # the simulated events use the compiled test
    assert runs[120]["catalog_id"].nunique() > 100
    pd.testing.assert_frame_equal(runs[2], runs[120][runs[120]["catalog_id"] < 2])


def test_forecast_with_continuous_magnitudes():
    """delta_m = 0 used to raise ZeroDivisionError; magnitudes are then not binned."""
    model = ETAS(min_magnitude=2.0, magnitude_resolution=0.0, region=REGION).set_params(TRUTH, beta=2.3)
    ds = model.forecast(
        _mainshock(6.0), T0, T0 + pd.Timedelta(days=7), n_simulations=30, cell_deg=0.5, seed=1, quiet=True
    )
    assert ds.sizes["magnitude"] == 41 and ds["magnitude"].values[1] == pytest.approx(2.1)
    assert float(ds["expected_count"].sum()) > 1.5 * 10 ** TRUTH["log10_mu"] * model.area_km2 * 7
    cat = model.simulate(T0, T0 + pd.Timedelta(days=7), history=_mainshock(6.0), seed=1)
    frac = np.abs(cat["magnitude"] * 10 - np.round(cat["magnitude"] * 10))
    assert (frac > 1e-6).mean() > 0.9 and cat["magnitude"].min() >= 2.0


class _BoxBackground:
    """A spatially variable background as ETAS reads it (``model.background`` with ``sample`` and
    ``density``): all background events in one box. No estimator of such a background exists yet."""

    def __init__(self, box):
        self.box = box

    def sample(self, n, rng):
        x0, x1, y0, y1 = self.box
        return rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)

    def density(self, lon, lat):
        x0, x1, y0, y1 = self.box
        return ((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)).astype(float)


def test_variable_background_is_sampled_from_the_model():
    model = ETAS(min_magnitude=1.0, region=REGION).set_params(TRUTH, beta=2.3)
    model.background = _BoxBackground((-119.5, -119.0, 34.0, 34.5))
    cat = model.catalog_forecast(None, "2000-01-01", "2000-07-01", n_simulations=10, seed=2, quiet=True)
    bg = cat[cat["generation"] == 0]
    assert len(bg) > 100
    assert bg["longitude"].between(-119.5, -119.0).all() and bg["latitude"].between(34.0, 34.5).all()
    kids = cat[cat["generation"] > 0]
    dist = np.hypot((kids["longitude"] + 119.25) * 91.0, (kids["latitude"] - 34.25) * 111.0)
    assert len(kids) > 50 and np.median(dist) < 40  # aftershocks stay near their parents
    again = model.catalog_forecast(
        None, "2000-01-01", "2000-07-01", n_simulations=10, seed=2, quiet=True, chunk_size=3, n_threads=2
    )
    pd.testing.assert_frame_equal(cat, again)
    ds = model.forecast(None, "2000-01-01", "2000-01-02", n_simulations=5, cell_deg=0.5, seed=2, quiet=True)
    per_cell = ds["expected_count"].sum("magnitude")
    assert float(per_cell.sel(latitude=34.25, longitude=-119.25)) > 0
    assert float(per_cell.sel(latitude=36.25, longitude=-116.25)) == 0


def test_mean_count_from_one_parent_is_productivity_over_one_minus_n():
    """All generations from one M5 parent: E[N] = (direct aftershocks) / (1 - branching ratio)."""
    model = ETAS(min_magnitude=2.0, spatial=False).set_params(TEMPORAL, beta=2.3)
    eta = model.branching_ratio_
    assert 0.4 < eta < 0.8
    nat = model.params_.natural
    window = 1000.0  # 100 taper times: every generation ends inside it
    direct = (
        nat["k0"]
        * math.exp(nat["a"] * (5.0 - model.m_ref))
        * time_integral_python(nat["c"], nat["omega"], nat["tau"], 0.0, window)
    )
    sims = model.catalog_forecast(
        _mainshock(5.0), T0, T0 + pd.Timedelta(days=window), n_simulations=3000, seed=5, quiet=True
    )
    n = np.bincount(sims["catalog_id"], minlength=3000)
    assert abs(n.mean() - direct / (1 - eta)) < 4 * n.std() / math.sqrt(n.size), (
        n.mean(),
        direct / (1 - eta),
    )
    first = np.bincount(sims["catalog_id"][sims["generation"] == 1], minlength=3000)
    assert abs(first.mean() - direct) < 4 * math.sqrt(direct / 3000)


def test_stationary_count_is_mu_t_over_one_minus_n():
    """Mean count over simulations equals mu T / (1 - eta) (long window: edge effects < 0.5 %)."""
    params = {**TEMPORAL, "log10_mu": 0.0}
    model = ETAS(min_magnitude=2.0, spatial=False).set_params(params, beta=2.3)
    days = 20000.0
    n = (
        model.catalog_forecast(
            None,
            "2000-01-01",
            pd.Timestamp("2000-01-01") + pd.Timedelta(days=days),
            n_simulations=6,
            seed=0,
            quiet=True,
        )
        .groupby("catalog_id")
        .size()
    )
    assert n.mean() == pytest.approx(days / (1 - model.branching_ratio_), rel=0.02)


def test_magnitudes_omori_times_and_distances_follow_the_model():
    """GR magnitudes with the model's beta; Omori–Utsu lags and (r² + D)^-(1+rho) distances of direct
    aftershocks of one history event, against their exact distributions (KS tests)."""
    params = {**TRUTH, "log10_mu": -12.0, "omega": -0.1, "log10_tau": 1.5}
    model = ETAS(min_magnitude=2.0, magnitude_resolution=0.0, region=REGION).set_params(params, beta=2.1)
    window = 20.0
    sims = model.catalog_forecast(
        _mainshock(6.0, lag_days=0.5),
        T0,
        T0 + pd.Timedelta(days=window),
        n_simulations=10000,
        seed=9,
        quiet=True,
    )
    m = sims["magnitude"].to_numpy()
    assert m.size > 2000
    assert stats.kstest(m - model.m_ref, stats.expon(scale=1 / 2.1).cdf).pvalue > 1e-3
    assert 1 / np.mean(m - model.m_ref) == pytest.approx(2.1, rel=4 / math.sqrt(m.size))
    direct = sims[sims["parent"] == -2]
    nat = model.params_.natural
    lag = ((direct["time"] - T0) / pd.Timedelta(days=1)).to_numpy() + 0.5
    total = time_integral_python(nat["c"], nat["omega"], nat["tau"], 0.5, window + 0.5)

    def omori_cdf(x):
        return np.array([time_integral_python(nat["c"], nat["omega"], nat["tau"], 0.5, v) for v in x]) / total

    assert stats.kstest(lag, omori_cdf).pvalue > 1e-3
    assert stats.kstest(lag, lambda x: (x - 0.5) / window).pvalue < 1e-10  # not uniform: it decays
    big_d = nat["d"] * math.exp(nat["gamma"] * (6.0 - model.m_ref))
    lat0, lon0 = np.radians(35.0), np.radians(-118.0)
    la, lo = np.radians(direct["latitude"].to_numpy()), np.radians(direct["longitude"].to_numpy())
    h = np.sin((la - lat0) / 2) ** 2 + np.cos(la) * np.cos(lat0) * np.sin((lo - lon0) / 2) ** 2
    r = 2 * model.earth_radius_km * np.arcsin(np.sqrt(h))
    inner = r < 100  # the region box truncates far ones
    r = r[inner]
    cdf_100 = 1 - (1 + 100**2 / big_d) ** -nat["rho"]
    assert stats.kstest(r, lambda x: (1 - (1 + x**2 / big_d) ** -nat["rho"]) / cdf_100).pvalue > 1e-3


def test_forecast_grid(simulated):
    model, cat = simulated
    history = cat[cat["time"] < pd.Timestamp("2012-01-01", tz="UTC")]
    ds = model.forecast(
        history, "2012-01-01", "2012-01-31", n_simulations=40, cell_deg=0.5, seed=3, quiet=True
    )
    assert ds["expected_count"].dims == ("magnitude", "latitude", "longitude")
    assert ds.sizes["latitude"] == 8 and ds.sizes["longitude"] == 8
    total = float(ds["expected_count"].sum())
    # Monte Carlo mean of the triggered part + exact background: close to the simulated mean count
    assert total == pytest.approx(ds["n_events"].mean().item(), rel=0.1)
    background = 10 ** TRUTH["log10_mu"] * model.area_km2 * 30
    assert total > background
    assert float(ds["expected_count"].sum("magnitude").min()) > 0  # every cell of the box has a rate
    # background split over magnitude bins follows GR: the first 0.1 bin holds 1 - exp(-0.23) of it
    first_bin = float(ds["expected_count"].isel(magnitude=0).sum())
    assert first_bin > (1 - np.exp(-0.23)) * background
    assert ds.attrs["n_events_q025"] <= ds.attrs["n_events_median"] <= ds.attrs["n_events_q975"]


def test_progress_lines_and_quiet(simulated, caplog):
    model, _ = simulated
    with caplog.at_level("INFO", logger="quakelab.models.simulate"):
        model.catalog_forecast(None, "2012-01-01", "2012-01-02", n_simulations=30, seed=1, chunk_size=10)
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        f"ETAS simulations: {k}/30 done" for k in (10, 20, 30)
    ]
    caplog.clear()
    with caplog.at_level("INFO", logger="quakelab.models.simulate"):
        model.catalog_forecast(
            None, "2012-01-01", "2012-01-02", n_simulations=30, seed=1, chunk_size=10, quiet=True
        )
    assert not caplog.records


def test_compiled_poisson_sampler_matches_the_distribution():
    import numba

    from quakelab.models.simulate import _poisson

    @numba.njit
    def draw(n, lam):
        state = np.array([1, 7, 11, 13], dtype=np.uint64)
        out = np.empty(n, dtype=np.int64)
        for i in range(n):
            out[i] = _poisson(state, lam)
        return out

    for lam in (0.3, 9.99, 10.0, 57.3, 2500.0):  # inversion below 10, PTRS above
        x = draw(100_000, lam)
        k = np.arange(x.min(), x.max() + 1)
        observed = np.bincount(x - x.min())
        expected = stats.poisson.pmf(k, lam) * x.size
        ok = expected > 5
        chi2 = stats.chisquare(observed[ok], expected[ok] * observed[ok].sum() / expected[ok].sum())
        assert chi2.pvalue > 1e-3 and x.mean() == pytest.approx(lam, abs=5 * math.sqrt(lam / x.size))
