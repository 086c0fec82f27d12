"""The declared run artifacts: one writer and one reader each, schemas enforced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quakelab.artifacts import ARTIFACTS, ArtifactError, leaderboard_from_wide, read_artifact, write_artifact


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
