"""Every notebook under notebooks/ is executed for real (Papermill) with small parameters."""

import json
from pathlib import Path

import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[2]
# notebooks that read another run's outputs are executed in the chained tests below
NEEDS_INPUTS = {
    "03_learned_forecasters.ipynb",
    "07_neural_point_process.ipynb",
    "09_spatiotemporal_npp.ipynb",
    "10_temporal_baselines.ipynb",
}
ALL_NOTEBOOKS = sorted(
    p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
# Voila dashboards are executed in a real browser (tests/dashboards)
DASHBOARDS = {p.name for p in ALL_NOTEBOOKS if p.parent.name == "dashboards"}
NOTEBOOKS = [p for p in ALL_NOTEBOOKS if p.name not in NEEDS_INPUTS | DASHBOARDS]

# Small, offline parameters per notebook (default parameters are used for notebooks not listed).
SMALL = {
    "01_explore_catalog.ipynb": {
        "dataset": "ridgecrest-2019-sample",
        "mainshock_time": "2019-07-06T03:19:53.040",
        "mainshock_magnitude": 7.1,
    },
    # offline smoke run of the evaluation story on the bundled Ridgecrest sample
    "05_evaluate_forecasts.ipynb": {
        "dataset": "ridgecrest-2019-sample",
        "bbox": [-118.2, -117.0, 35.2, 36.4],
        "mc": 2.5,
        "auxiliary_start": "2019-07-06",
        "start": "2019-07-07",
        "end": "2019-07-10",
        "test_end": "2019-07-13",
        "compare_published": False,
    },
    # offline: a three-window experiment on the same sample (the acceptance experiment needs the shared data)
    "08_experiment_report.ipynb": {"experiment": "experiments/ridgecrest_daily_small.yaml"},
}


@pytest.mark.slow
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(nb, tmp_path):
    params = {**SMALL.get(nb.name, {}), "output_dir": str(tmp_path)}
    pm.execute_notebook(
        str(nb),
        str(tmp_path / nb.name),
        parameters=params,
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=600,
    )
    assert (tmp_path / "metrics.json").exists()


def _run(name, out, **params):
    out.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(ROOT / "notebooks" / name),
        str(out / name),
        parameters={**params, "output_dir": str(out)},
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=600,
    )
    return json.loads((out / "metrics.json").read_text())


def test_every_notebook_is_tested():
    assert {p.name for p in ALL_NOTEBOOKS} == {p.name for p in NOTEBOOKS} | NEEDS_INPUTS | DASHBOARDS
    assert DASHBOARDS == {"catalog_explorer.ipynb", "forecast.ipynb", "live_monitor.ipynb"}


@pytest.mark.slow  # executes notebooks (a kernel each)
def test_feature_and_learned_forecaster_notebooks(shared_data, tmp_path):
    """02 -> 03 on the global catalog with coarse settings: leaderboard with references, leakage check, store."""
    feats = _run(
        "02_features.ipynb",
        tmp_path / "features",
        dataset="usgs-global-significant",
        event_types=["earthquake"],
        bbox=[-180.0, 180.0, -90.0, 90.0],
        cell_deg=10.0,
        mc=5.7,
        target_magnitude=6.0,
        step_days=90.0,
        horizon_days=90.0,
        lookbacks_days=[90.0, 365.0, 1460.0],
        pa_events=20,
        auxiliary_start="1985-01-01",
        train_start="1986-01-01",
        train_end="2000-01-01",
        grid_start="1975-01-01",
        grid_end="2016-12-01",
        etas_fixed=None,
    )
    assert feats["grid_sizes"] == {"time": 171, "latitude": 18, "longitude": 36} and feats["n_features"] == 38
    store = tmp_path / "models"
    m = _run(
        "03_learned_forecasters.ipynb",
        tmp_path / "learned",
        features_path=feats["features_path"],
        train_end="2000-01-01",
        val_end="2008-01-01",
        test_end="2016-12-01",
        classifiers=["logistic_regression", "hist_gradient_boosting"],
        sequence_epochs=5,
        n_boot=30,
        etas_simulations=50,
        model_store=str(store),
        run_name="t",
    )
    board = m["leaderboard"]
    etas_names = {"ETAS", "ETAS first generation", "ETAS recalibrated"}
    assert set(board) == {"Poisson", "logistic_regression", "hist_gradient_boosting", "GRU"} | etas_names
    assert all(0.5 < row["roc_auc"] < 1 for row in board.values())  # every forecast locates activity
    assert board["Poisson"]["ig_per_positive_bin_vs_Poisson"] == 0.0
    assert board["ETAS"]["ig_per_bin_vs_ETAS"] == 0.0
    assert m["etas_reference"]["all_over_first_generation"] > 1  # later generations add events
    assert all(v["passed"] for v in m["leakage_check"].values())
    assert m["best_model"] in board and m["verdict"][0].startswith("Best on the test window")
    assert sorted(p.name for p in store.iterdir()) == [
        "t-gru",
        "t-hist_gradient_boosting",
        "t-logistic_regression",
    ]
    meta = json.loads((store / "t-gru" / "metadata.json").read_text())
    assert (
        len(meta["training_data_sha256"]) == 64
        and meta["train_end"] == "2000-01-01"
        and meta["format"] == "keras"
    )
    assert meta["test_scores"]["roc_auc"] == pytest.approx(board["GRU"]["roc_auc"])
    import pandas as pd

    csv = pd.read_csv(tmp_path / "learned" / "leaderboard.csv", index_col=0)
    assert csv.loc["ETAS", "roc_auc"] == pytest.approx(board["ETAS"]["roc_auc"])


@pytest.mark.slow  # executes a notebook
def test_spatiotemporal_npp_notebook(shared_data, tmp_path):
    """09 on SanJac_10 with a tiny network and short windows: the same test events as ETAS, the leaderboard."""
    from quakelab.artifacts import read_artifact

    m = _run(
        "09_spatiotemporal_npp.ipynb",
        tmp_path,
        seeds=[0],
        train_start="2013-07-01",
        test_end="2016-02-01",
        units=8,
        n_neighbours=16,
        n_scales=2,
        background_km=[2.0],
        epochs=1,
        map_times_days=[0.1],
    )
    board = read_artifact("leaderboard", tmp_path)
    scored = board[board["model"].isin(["ETAS", "ST-NPP seed 0"])]
    assert set(scored["n_events"]) == {m["n_test_events"]} and m["n_test_events"] > 100  # the same events
    etas = board[board["model"] == "ETAS"].set_index("score")["value"]
    assert etas["log_likelihood"] == pytest.approx(
        etas["temporal_log_likelihood"] + etas["spatial_log_likelihood"]
    )
    assert etas["spatial_log_likelihood"] == pytest.approx(m["etas_sll"])
    seed0 = board[board["model"] == "ST-NPP seed 0"].set_index("score")
    assert seed0.loc["total_information_gain", "reference"] == "ETAS"
    assert seed0.loc["log_likelihood", "value"] - etas["log_likelihood"] == pytest.approx(
        seed0.loc["total_information_gain", "value"]
    )
    assert -12 < m["stnpp_sll_mean"] < -4 and m["verdict"].startswith("ST-NPP ")
    for f in ("gain_over_time", "seeds", "pit", "density_maps"):
        assert (tmp_path / "figures" / f"{f}.png").stat().st_size > 1000


@pytest.mark.slow  # executes notebooks (a kernel each)
def test_neural_point_process_notebook(shared_data, tmp_path):
    """07 on SanJac_10 with a tiny network: same test events as ETAS, reference scores reproduced."""
    from quakelab.evaluate import SANJAC_10
    from quakelab.models import ETAS

    etas = ETAS(mc=1.0, region=(-117.0, -116.0, 33.0, 34.0)).set_params(
        SANJAC_10["reference_parameters"], beta=2.2393
    )
    etas.save(tmp_path / "etas.json")
    m = _run(
        "07_neural_point_process.ipynb",
        tmp_path,
        etas_model_path=str(tmp_path / "etas.json"),
        units=8,
        context=32,
        window=128,
        epochs=3,
        patience=2,
        model_store=str(tmp_path / "models"),
        run_name="t",
    )
    assert m["n_test_events"] == 4399
    assert m["etas_test_ll_temporal"] == pytest.approx(1.133, abs=0.002)  # published, from the reference fit
    assert m["poisson_test_ll_temporal"] == pytest.approx(0.794, abs=0.001)
    assert (
        0.5 < m["neural_tpp_test_ll_temporal"] < 1.3
    )  # three epochs: somewhere between Poisson-like and ETAS
    assert m["verdict"].startswith("neural TPP ")


@pytest.mark.slow  # executes a notebook (a kernel, TensorFlow)
def test_temporal_baselines_notebook(shared_data, tmp_path):
    """10 on RECAST QTMSanJacinto with given ETAS parameters and a tiny network, two seeds."""
    from quakelab.artifacts import read_artifact
    from quakelab.models import ETAS

    # a temporal ETAS fit on 2009-2015 targets (pair lag cap 365 days) of recast_QTMSanJacinto.csv
    params = dict(
        log10_mu=0.370747,
        log10_k0=-1.531982,
        a=1.394993,
        log10_c=-4.170210,
        omega=-0.179384,
        log10_tau=1.518080,
        log10_d=-0.85,
        gamma=1.3,
        rho=0.66,
    )
    ETAS(mc=1.0, delta_m=0.0, spatial=False).set_params(params, beta=2.3).save(tmp_path / "etas.json")
    m = _run(
        "10_temporal_baselines.ipynb",
        tmp_path,
        dataset="recast-qtmsanjacinto",
        seeds=[0, 1],
        epochs=2,
        patience=1,
        units=8,
        context=32,
        window=128,
        n_boot=200,
        etas_model_path=str(tmp_path / "etas.json"),
    )
    assert m["n_test_events"] == 4311  # RECAST's test count (README)
    assert m["etas_test_ll_temporal"] == pytest.approx(1.1373, abs=2e-4)
    assert m["recast_published_per_event"]["ETAS"] == pytest.approx(1.1315, abs=1e-4)
    assert m["largest_sequence"][0].startswith("2016-06-10")  # the June 2016 Borrego Springs sequence
    lo, hi = m["gain_vs_etas_ci"]
    assert lo < m["gain_vs_etas"] < hi and len(m["neural_tpp_per_seed"]) == 2
    board = read_artifact("leaderboard", tmp_path)
    assert {"log_likelihood_temporal", "information_gain"} <= set(board["score"])
    for f in ("gain_over_time.png", "seeds.png", "pit.png"):
        assert (tmp_path / "figures" / f).exists()


@pytest.mark.slow  # executes notebooks (a kernel each)
def test_explore_notebook_numbers(tmp_path):
    nb = ROOT / "notebooks" / "01_explore_catalog.ipynb"
    params = {**SMALL[nb.name], "output_dir": str(tmp_path), "min_magnitude": 3.0}
    pm.execute_notebook(
        str(nb),
        str(tmp_path / "out.ipynb"),
        parameters=params,
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
    )
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["n_read"] == 829 and m["n_events"] == 451 and m["n_rejected"] == 0
    assert m["mc"] == pytest.approx(3.4)  # fullest 0.1 bin above the cut is 3.2 (63 events), + 0.2
    assert m["b_value"] == pytest.approx(1.046, abs=0.002) and m["b_value_std"] == pytest.approx(
        0.063, abs=0.002
    )
    assert m["mainshock_magnitude"] == 7.1 and 0.7 < m["omori_p"] < 1.3
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert figures == ["frequency_magnitude.png", "magnitude_time.png", "map.png", "omori.png"]


@pytest.mark.slow  # executes notebooks (a kernel each)
def test_cli_runs_the_default_pipeline(tmp_path, capsys, monkeypatch):
    from quakelab.cli import main
    from quakelab.pipeline import load_config, select_runs

    monkeypatch.setenv("MPLBACKEND", "Agg")  # as `make` and CI export: the reports keep their figures
    assert main(["run", str(ROOT / "papermill_runs.yaml"), "--reports", str(tmp_path)]) == 0
    for run in select_runs(load_config(ROOT / "papermill_runs.yaml")):  # every default run
        assert "<img" in (tmp_path / run.name / f"{run.name}.html").read_text(), run.name
        assert json.loads((tmp_path / run.name / "run.json").read_text())["n_figures"] >= 2, run.name
    out = capsys.readouterr().out
    assert "ridgecrest-2019-sample: success" in out and "ridgecrest-2019-etas: success" in out
    etas = json.loads((tmp_path / "ridgecrest-2019-etas" / "metrics.json").read_text())
    assert etas["n_targets"] == 307 and etas["observed_count"] == 77
    assert etas["forecast_q025"] <= etas["forecast_median"] <= etas["forecast_q975"]
    assert 0 <= etas["p_m6_7d"] <= etas["p_m5_7d"] <= etas["p_m5_30d"] <= 1
    m = json.loads((tmp_path / "ridgecrest-2019-sample" / "metrics.json").read_text())
    assert m["n_events"] == 829 and m["mc"] == pytest.approx(2.9)
    assert m["b_value"] == pytest.approx(0.747, abs=0.001)  # magnitudes binned to 0.1 before the cut
    assert (tmp_path / "ridgecrest-2019-sample" / "ridgecrest-2019-sample.html").stat().st_size > 100_000
    assert "ridgecrest-2019-sample" in (tmp_path / "index.html").read_text()


def test_cli_datasets(capsys):
    from quakelab.cli import main

    assert main(["datasets", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["ridgecrest-2019-sample"]["available"] is True
    assert rows["comcat-california-m2.5"]["kind"] == "online"


@pytest.mark.slow  # executes notebooks (a kernel each)
def test_shared_runs_give_published_scale_numbers(shared_data, tmp_path):
    from quakelab.cli import main

    assert (
        main(
            [
                "run",
                str(ROOT / "papermill_runs.yaml"),
                "--tag",
                "explore",
                "--reports",
                str(tmp_path),
                "--jobs",
                "2",
            ]
        )
        == 0
    )
    m = {
        n: json.loads((tmp_path / n / "metrics.json").read_text())
        for n in ("ridgecrest-2019", "qtm-sanjacinto", "usgs-global-significant")
    }
    assert m["qtm-sanjacinto"]["n_events"] == 21288  # 3 events fall outside the SanJac_10 box
    assert m["usgs-global-significant"]["n_events"] == 23232  # earthquakes only
    assert m["ridgecrest-2019"]["omori_p"] == pytest.approx(1.104, abs=0.005)
