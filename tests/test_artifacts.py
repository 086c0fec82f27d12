"""The declared run artifacts: one writer and one reader each, schemas enforced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quakelab.artifacts import (
    ARTIFACTS,
    SCORES,
    ArtifactError,
    find_runs,
    leaderboard_from_wide,
    pivot_leaderboard,
    read_artifact,
    write_artifact,
)


def test_every_kind_round_trips(tmp_path, sample_catalog):
    from quakelab.forecast import Forecast, GridSpec, PoissonForecaster

    spec = GridSpec((-117.9, -117.3, 35.5, 36.1), 0.2, 2.5, 3.0, start="2019-07-10", end="2019-07-11")
    fc = Forecast(np.full(spec.shape, 0.5), spec, model="flat")
    write_artifact("forecast", fc, tmp_path)
    back = read_artifact("forecast", tmp_path)
    assert np.array_equal(back["expected_count"].values, fc["expected_count"].values, equal_nan=True)
    write_artifact("history", sample_catalog.head(20), tmp_path)
    assert (
        read_artifact("history", tmp_path)["event_id"].tolist()
        == sample_catalog.head(20)["event_id"].tolist()
    )
    model = PoissonForecaster(spec.region, 2.5).fit(sample_catalog, "2019-07-06", "2019-07-10")
    write_artifact("model", model, tmp_path)
    again = read_artifact("model", tmp_path)
    assert again.mu_per_day_km2_ == model.mu_per_day_km2_ and (tmp_path / "model.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecast.nc", "history.parquet", "model.json"]


def test_leaderboard_schema_enforced(tmp_path):
    wide = pd.DataFrame(
        {"log_likelihood_per_bin": [-0.1, -0.2], "auc": [0.8, 0.7]},
        index=pd.Index(["ETAS", "Poisson"], name="model"),
    )
    long = leaderboard_from_wide(wide)
    assert long[["model", "score", "value"]].values.tolist() == [
        ["ETAS", "log_likelihood_per_bin", -0.1],
        ["Poisson", "log_likelihood_per_bin", -0.2],
        ["ETAS", "auc", 0.8],
        ["Poisson", "auc", 0.7],
    ]
    path = write_artifact("leaderboard", long, tmp_path)
    back = read_artifact("leaderboard", tmp_path)
    assert list(back.columns[:3]) == ["model", "score", "value"] and back["value"].tolist() == [
        -0.1,
        -0.2,
        0.8,
        0.7,
    ]
    path.write_text("model,value\nETAS,1.0\n")
    with pytest.raises(
        ArtifactError, match=r"leaderboard\.csv: leaderboard: missing column\(s\) \['score'\]"
    ):
        read_artifact("leaderboard", tmp_path)
    with pytest.raises(ArtifactError, match="column 'value' is not float"):
        write_artifact(
            "leaderboard", pd.DataFrame({"model": ["a"], "score": ["x"], "value": ["high"]}), tmp_path
        )
    with pytest.raises(ArtifactError, match="unknown artifact"):
        read_artifact("leader_board", tmp_path)


def test_test_results_times_round_trip(tmp_path):
    rows = pd.DataFrame(
        {
            "model": ["ETAS"],
            "test": ["N-test"],
            "start": ["2016-01-01"],
            "end": ["2016-01-08"],
            "quantile": [0.3],
            "observed_statistic": [12.0],
            "passed": [True],
        }
    )
    write_artifact("test_results", rows, tmp_path)
    back = read_artifact("test_results", tmp_path)
    assert back["start"].iloc[0] == pd.Timestamp("2016-01-01", tz="UTC") and bool(back["passed"].iloc[0])
    assert {a.name for a in ARTIFACTS.values()} >= {
        "model",
        "history",
        "forecast",
        "leaderboard",
        "test_results",
    }


def _feature_grid(n_next):
    import xarray as xr

    coords = {
        "time": pd.date_range("2019-07-07", periods=n_next.shape[0], freq="6h"),
        "latitude": [35.55, 35.65],
        "longitude": [-117.65, -117.55, -117.45],
    }
    dims = ("time", "latitude", "longitude")
    return xr.Dataset(
        {
            "count_1d": (dims, n_next.astype(float) * 2),
            "n_next": (dims, n_next),
            "occurs_next": (dims, n_next > 0),
        },
        coords=coords,
        attrs={"horizon_days": 0.5, "step_days": 0.25, "cell_deg": 0.1},
    )


def test_new_kinds_round_trip(tmp_path, sample_catalog):
    from quakelab.evaluate import SANJAC_10
    from quakelab.models import ETAS, ReasenbergJones

    etas = ETAS(min_magnitude=1.0, region=(-117.0, -116.0, 33.0, 34.0)).set_params(
        SANJAC_10["reference_parameters"], beta=2.2393
    )
    write_artifact("etas_model", etas, tmp_path)
    back = read_artifact("etas_model", tmp_path)
    assert back.params_.to_dict() == etas.params_.to_dict() and back.beta_ == 2.2393
    # a run's parameter may name the file itself (e.g. etas_model_path: reports/run/etas_model.json)
    etas.save(tmp_path / "other.json")
    assert read_artifact("etas_model", tmp_path / "other.json").params_.to_dict() == etas.params_.to_dict()

    rng = np.random.default_rng(3)
    grid = _feature_grid(rng.poisson(0.4, size=(4, 2, 3)))
    write_artifact("features", grid, tmp_path)
    feats = read_artifact("features", tmp_path).load()
    assert int(feats["n_next"].sum()) == int(grid["n_next"].sum()) and feats["occurs_next"].dtype == bool
    assert feats.attrs["horizon_days"] == 0.5

    rj = ReasenbergJones.generic_california(7.1).probabilities(3.0)
    write_artifact("aftershock_probabilities", rj.assign(model="RJ generic California"), tmp_path)
    probs = read_artifact("aftershock_probabilities", tmp_path)
    assert list(probs.columns[:2]) == ["model", "duration_days"]
    assert (
        np.allclose(probs["probability"], rj["probability"])
        and (probs["model"] == "RJ generic California").all()
    )

    write_artifact("metrics", {"n_events": 829, "b_value": 0.747, "mc": {"maxc": 2.9}}, tmp_path)
    assert read_artifact("metrics", tmp_path) == {"b_value": 0.747, "mc": {"maxc": 2.9}, "n_events": 829}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "aftershock_probabilities.csv",
        "etas_model.json",
        "features.zarr",
        "metrics.json",
        "other.json",
    ]


def test_schema_violations_name_file_and_column(tmp_path, sample_catalog):
    from quakelab.models import ReasenbergJones

    rj = ReasenbergJones.generic_california(7.1).probabilities(3.0)
    with pytest.raises(ArtifactError, match=r"aftershock_probabilities: missing column\(s\) \['model'\]"):
        write_artifact("aftershock_probabilities", rj, tmp_path)  # which model's numbers?
    path = tmp_path / "aftershock_probabilities.csv"
    rj.assign(model="RJ").drop(columns="probability").to_csv(path, index=False)
    with pytest.raises(
        ArtifactError, match=rf"{path}: aftershock_probabilities: missing column\(s\) \['probability'\]"
    ):
        read_artifact("aftershock_probabilities", tmp_path)
    rj.assign(model="RJ", magnitude="M5").to_csv(path, index=False)
    with pytest.raises(
        ArtifactError, match=rf"{path}: aftershock_probabilities: column 'magnitude' is not float"
    ):
        read_artifact("aftershock_probabilities", tmp_path)

    history = tmp_path / "history.parquet"
    sample_catalog.head(5).drop(columns="magnitude").to_parquet(history)
    with pytest.raises(ArtifactError, match=rf"{history}: history: missing column\(s\) \['magnitude'\]"):
        read_artifact("history", tmp_path)

    grid = _feature_grid(np.ones((2, 2, 3), dtype=int)).drop_vars("occurs_next")
    with pytest.raises(ArtifactError, match="features: missing variable 'occurs_next'"):
        write_artifact("features", grid, tmp_path)
    assert not (tmp_path / "features.zarr").exists()
    grid = _feature_grid(np.ones((2, 2, 3), dtype=int))
    grid["occurs_next"] = grid["occurs_next"].astype(float)
    with pytest.raises(ArtifactError, match="variable 'occurs_next' is float64, not bool"):
        write_artifact("features", grid, tmp_path)

    (tmp_path / "metrics.json").write_text("[1, 2]")
    with pytest.raises(ArtifactError, match=r"metrics.json: metrics: a JSON object is expected, not list"):
        read_artifact("metrics", tmp_path)
    with pytest.raises(ArtifactError, match=r"no etas_model artifact here"):
        read_artifact("etas_model", tmp_path)


def test_failed_writes_leave_the_previous_file(tmp_path, sample_catalog):
    # history: pyarrow cannot store arbitrary Python objects; it fails while writing the temporary file
    path = write_artifact("history", sample_catalog.head(10), tmp_path)
    before = path.read_bytes()
    bad = sample_catalog.head(3).assign(note=[object(), object(), object()])
    with pytest.raises(Exception, match="object"):
        write_artifact("history", bad, tmp_path)
    assert path.read_bytes() == before and len(read_artifact("history", tmp_path)) == 10
    # features: a complete store stays until the new one is complete
    write_artifact("features", _feature_grid(np.ones((2, 2, 3), dtype=int)), tmp_path)
    broken = _feature_grid(np.zeros((3, 2, 3), dtype=int))
    broken.attrs["bad"] = {"a": object()}  # not JSON: Zarr fails writing the attributes
    with pytest.raises(TypeError):
        write_artifact("features", broken, tmp_path)
    assert int(read_artifact("features", tmp_path)["n_next"].sum()) == 12
    # metrics: a value that is not JSON
    write_artifact("metrics", {"a": 1}, tmp_path)
    with pytest.raises(TypeError):
        write_artifact("metrics", {"a": object()}, tmp_path)
    assert read_artifact("metrics", tmp_path) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.zarr", "history.parquet", "metrics.json"]


def test_find_runs_by_artifact_name(tmp_path):
    from quakelab.pipeline import record_metrics

    for run in ("b-run", "a-run", ".a-run.x1y2", "failed"):
        record_metrics(tmp_path / run, {"n": 1})
    record_metrics(tmp_path / "a-run", {"m": 2})  # merged through the metrics artifact
    assert read_artifact("metrics", tmp_path / "a-run") == {"m": 2, "n": 1}
    write_artifact(
        "leaderboard",
        pd.DataFrame({"model": ["A"], "score": ["roc_auc"], "value": [0.7]}),
        tmp_path / "b-run",
    )
    assert list(find_runs("metrics", tmp_path)) == ["a-run", "b-run"]
    assert find_runs("leaderboard", tmp_path) == {"b-run": tmp_path / "b-run"}
    assert find_runs("leaderboard", tmp_path, also=("history",)) == {}


def test_learned_leaderboard_in_the_long_schema():
    from quakelab.learn.scores import leaderboard, leaderboard_long

    rng = np.random.default_rng(0)
    rate = rng.gamma(0.5, 0.1, size=(60, 20))
    y = (rng.random(rate.shape) < rate).astype(int)
    groups = np.repeat(np.arange(60), 20)
    forecasts = {"truth": rate.ravel(), "Poisson": np.full(rate.size, y.mean())}
    wide = leaderboard(y.ravel(), forecasts, groups, references=("Poisson",), n_boot=20)
    long = leaderboard_long(wide, start="2016-01-01", end="2018-01-01")
    assert set(long["score"]) <= set(SCORES) and set(long["model"]) == {"truth", "Poisson"}
    gain = long[long["score"] == "information_gain_per_positive_bin"].set_index("model")
    assert gain.loc["Poisson", "value"] == 0.0 and (gain["reference"] == "Poisson").all()
    # hand count: the Bernoulli log-likelihood gain summed over the bins, divided by the positive bins
    p, q, yy = rate.ravel(), np.full(rate.size, y.mean()), y.ravel()
    ll = lambda f: np.where(yy > 0, np.log(f), np.log1p(-f)).sum()  # noqa: E731
    assert gain.loc["truth", "value"] == pytest.approx((ll(p) - ll(q)) / yy.sum())
    assert gain.loc["truth", "ci_low"] < gain.loc["truth", "value"] < gain.loc["truth", "ci_high"]
    ll_bin = long[long["score"] == "log_likelihood_per_bin"].set_index("model")["value"]
    assert ll_bin["truth"] == pytest.approx(ll(p) / yy.size)
    assert long["start"].iloc[0] == pd.Timestamp("2016-01-01", tz="UTC") and long["value"].notna().all()
    wide_again = pivot_leaderboard(long)
    assert (
        wide_again.loc["truth", "information_gain_per_positive_bin vs Poisson"] == gain.loc["truth", "value"]
    )
    assert wide_again.loc["truth", "molchan_area_skill_score"] == wide.loc["truth", "molchan_ass"]
