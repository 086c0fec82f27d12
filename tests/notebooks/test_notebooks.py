"""Every notebook under notebooks/ is executed for real (Papermill) with small parameters."""

import json
from pathlib import Path

import pandas as pd
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
        "region": [-118.2, -117.0, 35.2, 36.4],
        "min_magnitude": 2.5,
        "auxiliary_start": "2019-07-06",
        "start": "2019-07-07",
        "end": "2019-07-10",
        "test_end": "2019-07-13",
        "compare_published": False,
    },
    # offline: a three-window experiment on the same sample (the acceptance experiment needs the shared data)
    "08_experiment_report.ipynb": {"experiment": "experiments/ridgecrest_daily_small.yaml"},
}


def _check_evaluation(out):
    """05 on the Ridgecrest sample: its leaderboard and CSEP results are artifacts with real values."""
    import numpy as np

    from quakelab.artifacts import SCORES, read_artifact

    m = json.loads((out / "metrics.json").read_text())
    board = read_artifact("leaderboard", out)
    assert set(board["score"]) <= set(SCORES) and np.isfinite(board["value"]).all()
    ll = board.pivot_table(index="model", columns="score", values="value")
    assert ll.loc["ETAS (quakelab)", "temporal_log_likelihood"] == pytest.approx(m["test_ll_temporal"])
    assert ll.loc["Poisson (quakelab)", "log_likelihood"] == pytest.approx(
        m["poisson_test_ll_temporal"] + m["poisson_test_ll_spatial"]
    )
    gain = board[board["score"] == "total_information_gain"].iloc[0]
    assert gain["reference"] == "Poisson (quakelab)" and gain["ci_low"] < gain["value"] < gain["ci_high"]
    assert gain["value"] == pytest.approx(m["information_gain_per_event"])
    # the paired per-event mean leaves out Poisson's compensator after the last test event (closed form keeps it)
    assert gain["value"] == pytest.approx(
        ll.loc["ETAS (quakelab)", "log_likelihood"] - ll.loc["Poisson (quakelab)", "log_likelihood"], abs=0.02
    )
    assert set(board["n_events"].dropna()) == {m["n_test_events"]}
    assert ll.loc["ETAS (quakelab)", "molchan_area_skill_score"] == pytest.approx(
        m["area_skill_score"]["ETAS"]
    )
    tests = read_artifact("test_results", out)
    assert len(tests) == 3 * 5 + 2 * 2  # N, M, S, L, CL for three models; T and W against Poisson for two
    assert (tests["start"] == pd.Timestamp("2019-07-10", tz="UTC")).all()
    n = tests[tests["test"] == "N-test"].set_index("model")
    assert 0 <= n.loc["ETAS", "quantile"] <= 1 and n["passed"].notna().all()
    t = tests[tests["test"] == "T-test"]
    assert set(t["reference"]) == {"Poisson"} and t["passed"].isna().all()
    assert (t["ig_low"] < t["information_gain"]).all() and (t["information_gain"] < t["ig_high"]).all()


# artifacts checked after the generic run of a notebook
CHECKS = {"05_evaluate_forecasts.ipynb": _check_evaluation}


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
    if nb.name in CHECKS:
        CHECKS[nb.name](tmp_path)


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
@pytest.mark.timeout(1200)  # two notebooks, the second fitting every learned model twice (two seeds)
def test_feature_and_learned_forecaster_notebooks(shared_data, tmp_path):
    """02 -> 03 on the global catalog with coarse settings: leaderboard with references, leakage check, store."""
    feats = _run(
        "02_features.ipynb",
        tmp_path / "features",
        dataset="usgs-global-significant",
        event_types=["earthquake"],
        region=[-180.0, 180.0, -90.0, 90.0],
        cell_deg=10.0,
        min_magnitude=5.7,
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
    from quakelab.artifacts import SCORES, read_artifact

    grid = read_artifact("features", tmp_path / "features")
    assert dict(grid.sizes) == feats["grid_sizes"] and grid.attrs["horizon_days"] == 90.0
    assert read_artifact("etas_model", tmp_path / "features").branching_ratio_ == pytest.approx(
        feats["etas_branching_ratio"]
    )
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
        seeds=[0, 1],
        n_boot=16,  # twice the models of before (raw and recalibrated): half the resamples, same time
        etas_simulations=50,
        model_store=str(store),
        run_name="t",
    )
    long = read_artifact("leaderboard", tmp_path / "learned")
    assert set(long["score"]) <= set(SCORES) and long["value"].notna().all()
    board = long.pivot_table(index="model", columns="score", values="value").to_dict(orient="index")
    raw = {"Poisson", "ETAS", "ETAS first generation", "logistic_regression", "hist_gradient_boosting", "GRU"}
    learned = ["logistic_regression", "hist_gradient_boosting", "GRU"]
    means = {f"{n} seed-mean" for n in learned}
    # every model, raw and recalibrated, and each learned model's seed-mean
    assert set(board) == raw | means | {f"{n} recalibrated" for n in raw | means}
    seeds = pd.read_csv(tmp_path / "learned" / "seeds.csv", index_col="model")
    assert m["seeds"] == [0, 1] and set(seeds.index) == set(learned) | {f"{n} recalibrated" for n in learned}
    ig = long[long["score"] == "information_gain_per_positive_bin"].set_index(["model", "reference"])["value"]
    for n in learned:  # seed 0's scores are those of the leaderboard's model
        assert seeds.loc[n, "seed 0"] == pytest.approx(ig[(n, "ETAS")], abs=1e-12)
        assert seeds.loc[n, "seed-mean model"] == pytest.approx(ig[(f"{n} seed-mean", "ETAS")], abs=1e-12)
    # logistic regression and gradient boosting (no early stopping; under 200,000 training rows, so its bin
    # thresholds come from every row, not a random subsample) do not depend on the seed: their seeds agree and
    # the seed-mean model is the model; the GRU's initial weights do
    for n in ("logistic_regression", "hist_gradient_boosting"):
        assert seeds.loc[n, "seed_sd"] == pytest.approx(0.0, abs=1e-12)
        assert board[f"{n} seed-mean"]["log_likelihood_per_bin"] == pytest.approx(
            board[n]["log_likelihood_per_bin"]
        )
    assert seeds.loc["GRU", "seed_sd"] > 0 and seeds.loc["GRU", "seed 0"] != seeds.loc["GRU", "seed 1"]
    # without the largest sequence: Tohoku, the densest 21 days of M>=5.7 in the test window (150 events from
    # 2011-03-06 to 03-27); the 90-day test steps whose label window overlaps it are dropped; the gains are
    # recomputed by hand from the per-bin file
    seq = m["largest_sequence"]
    assert (
        seq["start"].startswith("2011-03-06")
        and seq["end"].startswith("2011-03-27")
        and seq["n_events"] == 150
    )
    steps = pd.DatetimeIndex(grid["time"].values)
    steps = steps[(steps >= "2008-01-01") & (steps < "2016-12-01")]
    overlapping = int(
        ((steps < "2011-03-27 12:32") & (steps + pd.Timedelta(days=90) > "2011-03-06 12:32")).sum()
    )
    assert seq["test_steps_removed"] == overlapping == 2
    assert (
        seq["bins_removed"] == 2 * m["active_cells"]
        and seq["bins_kept"] + seq["bins_removed"] == m["n_test_bins"]
    )
    per_bin = pd.read_parquet(tmp_path / "learned" / "test_forecasts.parquet")
    kept = per_bin[per_bin["without_largest_sequence"]]
    assert len(per_bin) == m["n_test_bins"] and int(kept["label"].sum()) == seq["positive_bins_kept"]
    assert 0 < seq["positive_bins_removed"] == m["n_test_positive"] - seq["positive_bins_kept"]
    from quakelab.learn import information_gain_per_positive_bin as igp

    for n in learned:
        for recal in ("", " recalibrated"):
            row, ref = seeds.loc[n + recal], f"ETAS{recal}"
            assert row["reference"] == ref
            assert row["seed-mean model"] == pytest.approx(
                igp(per_bin["label"], per_bin[f"{n} seed-mean{recal}"], per_bin[ref]), abs=1e-12
            )
            assert row["seed-mean model without sequence"] == pytest.approx(
                igp(kept["label"], kept[f"{n} seed-mean{recal}"], kept[ref]), abs=1e-12
            )
            assert row["seed-mean model without sequence lo"] < row["seed-mean model without sequence hi"]
    assert len(m["sequence_verdict"]) == len(seeds)
    assert all(0.5 < row["roc_auc"] < 1 for row in board.values())  # every forecast locates activity
    assert all(-1 < row["log_likelihood_per_bin"] < 0 for row in board.values())
    for name in raw:  # a monotone recalibration: the ranking of the bins, so the ROC AUC, is unchanged
        assert board[f"{name} recalibrated"]["roc_auc"] == pytest.approx(board[name]["roc_auc"], abs=1e-9)
    assert {r["method"] for r in m["recalibration"].values()} == {"platt"} and set(
        m["recalibration"]
    ) == raw | means
    assert m["label_count_mismatch"] == 0 and m["bootstrap"]["block_steps"] >= 2
    totals = m["totals"]
    assert all(v["observed positive bins"] == m["n_test_positive"] for v in totals.values())
    refs = {"Poisson", "ETAS", "Poisson recalibrated", "ETAS recalibrated"}
    for score in ("information_gain_per_positive_bin", "information_gain_per_bin"):
        gain = long[long["score"] == score]
        assert set(gain["reference"]) == refs and len(gain) == len(refs) * len(board)
        gain = gain.set_index(["model", "reference"])
        assert gain.loc[("Poisson", "Poisson"), "value"] == 0.0 and gain.loc[("ETAS", "ETAS"), "value"] == 0.0
        assert (gain["ci_low"] <= gain["value"]).all() and (gain["value"] <= gain["ci_high"]).all()
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
    per_positive_bin = long[long["score"] == "information_gain_per_positive_bin"].set_index(
        ["model", "reference"]
    )
    assert meta["test_scores"]["ig_per_positive_bin_vs_ETAS"] == pytest.approx(
        per_positive_bin.loc[("GRU", "ETAS"), "value"]
    )


@pytest.mark.slow  # executes a notebook
def test_spatiotemporal_npp_notebook(shared_data, tmp_path):
    """09 on SanJac_10 with a tiny network and short windows: the same test events as both ETAS, the leaderboard."""
    from quakelab.artifacts import SCORES, read_artifact
    from quakelab.evaluate import SANJAC_10
    from quakelab.models import ETAS
    from quakelab.models.background import KernelBackground

    box = (-117.0, -116.0, 33.0, 34.0)
    # a small background of the adaptive kind
    bg = KernelBackground(box, [-116.5, -116.7], [33.5, 33.6], [5.0, 10.0])
    best = ETAS(min_magnitude=1.0, region=box, region_integral="exact", background=bg)
    best.set_params(SANJAC_10["reference_parameters"], beta=2.2393).save(tmp_path / "etas_best.json")
    m = _run(
        "09_spatiotemporal_npp.ipynb",
        tmp_path,
        seeds=[0],
        variants={"base": {}},
        screen_seeds=[0],
        train_start="2013-07-01",
        test_end="2016-02-01",
        units=8,
        n_neighbours=16,
        n_scales=2,
        background_km=[2.0],
        epochs=1,
        jit_compile=False,  # one epoch: compiling would cost more than it saves
        block_days_checks=[7.0],
        map_times_days=[0.1],
        etas_best_model_path=str(tmp_path / "etas_best.json"),
    )
    board = read_artifact("leaderboard", tmp_path)
    assert set(board["score"]) <= set(SCORES)  # one vocabulary; subsets and windows go in the model name
    (seed0,) = m["stnpp_per_seed"]
    assert (
        seed0["epochs"] == seed0["best_epoch"] == 1 and not seed0["stopped_early"]
    )  # the 1-epoch cap ended it
    published, adaptive = "ETAS (published setting)", "ETAS (adaptive background, in-region integral)"
    totals = board[board["score"] == "log_likelihood"]
    scored = totals[totals["model"].isin([published, adaptive, "ST-NPP seed 0"])]
    assert len(scored) == 3 and set(scored["n_events"]) == {m["n_test_events"]}  # the same events
    assert m["n_test_events"] > 100
    assert (
        board.loc[board["model"].str.endswith("(without largest sequence)"), "n_events"].max()
        < m["n_test_events"]
    )
    etas = board[board["model"] == published].set_index("score")["value"]
    assert etas["log_likelihood"] == pytest.approx(
        etas["temporal_log_likelihood"] + etas["spatial_log_likelihood"]
    )
    assert etas["spatial_log_likelihood"] == pytest.approx(m["etas_published"]["sll"])
    best_ll = board[(board["model"] == adaptive) & (board["score"] == "log_likelihood")]["value"].iloc[0]
    assert best_ll == pytest.approx(m["etas_adaptive_exact"]["ll"])
    seed0 = board[(board["model"] == "ST-NPP seed 0") & (board["score"] == "total_information_gain")]
    assert set(seed0["reference"]) == {published, adaptive}
    own = board[(board["model"] == "ST-NPP seed 0") & (board["score"] == "log_likelihood")]["value"].iloc[0]
    assert own - best_ll == pytest.approx(seed0.set_index("reference").loc[adaptive, "value"])
    assert m["chosen_variant"] == "base" and len(m["variants"]) == 1
    assert -12 < m["stnpp_sll_mean"] < -4 and len(m["verdict"]) == 2
    pit = {r["model"]: r for r in m["pit_calibration"]}  # ETAS's PITs beside the neural model's
    assert set(pit) == {published, adaptive, "ST-NPP seed 0"}
    assert {r["n"] for r in pit.values()} == {m["n_test_events"]}
    assert all(0 < r["ks_statistic"] < 1 and 0 < r["mean"] < 1 for r in pit.values())
    for f in ("gain_over_time", "seeds", "pit", "density_maps"):
        assert (tmp_path / "figures" / f"{f}.png").stat().st_size > 1000


def _save_temporal_etas(path):
    """A temporal ETAS fitted on 2009-2015 targets (pair lag cap 365 days) of recast_QTMSanJacinto.csv, saved."""
    from quakelab.models import ETAS

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
    ETAS(min_magnitude=1.0, magnitude_resolution=0.0, spatial=False).set_params(params, beta=2.3).save(path)


# TLL per test event of that temporal ETAS on SanJac_10's 4,399 test events (etas_temporal_scores, measured)
TEMPORAL_ETAS_SANJAC_TLL = 1.15427


@pytest.mark.slow  # executes notebooks (a kernel each)
def test_neural_point_process_notebook(shared_data, tmp_path):
    """07 on SanJac_10 with a tiny network: same test events as ETAS, reference scores reproduced."""
    from quakelab.evaluate import SANJAC_10
    from quakelab.models import ETAS

    etas = ETAS(min_magnitude=1.0, region=(-117.0, -116.0, 33.0, 34.0)).set_params(
        SANJAC_10["reference_parameters"], beta=2.2393
    )
    etas.save(tmp_path / "etas.json")
    # the temporal baseline: RECAST QTMSanJacinto's temporal ETAS (SanJac's events)
    _save_temporal_etas(tmp_path / "temporal_etas.json")
    m = _run(
        "07_neural_point_process.ipynb",
        tmp_path,
        etas_model_path=str(tmp_path / "etas.json"),
        temporal_etas_model_path=str(tmp_path / "temporal_etas.json"),
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
    assert m["temporal_etas_test_ll_temporal"] == pytest.approx(TEMPORAL_ETAS_SANJAC_TLL, abs=2e-4)
    assert (
        0.5 < m["neural_tpp_test_ll_temporal"] < 1.3
    )  # three epochs: somewhere between Poisson-like and ETAS
    assert m["verdict"].startswith("neural TPP ") and "temporal ETAS" in m["verdict"]
    assert m["largest_sequence"][0].startswith("2016-06-10")  # the June 2016 Borrego Springs sequence
    from quakelab.artifacts import read_artifact

    board = read_artifact("leaderboard", tmp_path)
    tll = board[board["score"] == "temporal_log_likelihood"].set_index("model")
    assert tll.loc["ETAS (quakelab)", "value"] == pytest.approx(m["etas_test_ll_temporal"])
    assert tll.loc["temporal ETAS (quakelab)", "value"] == pytest.approx(m["temporal_etas_test_ll_temporal"])
    assert tll.loc["neural TPP (quakelab)", "value"] == pytest.approx(m["neural_tpp_test_ll_temporal"])
    assert tll.loc["ETAS (EarthquakeNPP published)", "value"] == 1.133
    assert set(tll["n_events"].dropna()) == {4399}
    gain = board[board["score"] == "temporal_information_gain"].set_index(["model", "reference"])
    vs_etas = gain.loc[("neural TPP (quakelab)", "temporal ETAS (quakelab)")]
    assert vs_etas["value"] == pytest.approx(m["information_gain_vs_temporal_etas"])
    assert [vs_etas["ci_low"], vs_etas["ci_high"]] == pytest.approx(m["information_gain_vs_temporal_etas_ci"])
    assert vs_etas["ci_low"] < vs_etas["value"] < vs_etas["ci_high"]
    # the mean paired gain is the difference of the per-event means (Poisson's closed-form TLL also counts the
    # stretch after the last test event, 4e-4 here)
    assert gain.loc[("ETAS (quakelab)", "Poisson (quakelab)"), "value"] == pytest.approx(
        m["etas_test_ll_temporal"] - m["poisson_test_ll_temporal"], abs=1e-3
    )
    assert gain.loc[("neural TPP (quakelab)", "ETAS (quakelab)"), "value"] == pytest.approx(
        m["neural_tpp_test_ll_temporal"] - m["etas_test_ll_temporal"], abs=1e-9
    )
    without = gain.loc[("neural TPP (quakelab) (without largest sequence)", "temporal ETAS (quakelab)")]
    assert without["value"] == pytest.approx(m["information_gain_vs_temporal_etas_without_largest_sequence"])
    assert without["n_events"] == 4399 - m["largest_sequence"][2]


@pytest.mark.slow  # executes a notebook (a kernel, TensorFlow)
def test_temporal_baselines_notebook(shared_data, tmp_path):
    """10 on RECAST QTMSanJacinto with given ETAS parameters and a tiny network, two seeds."""
    from quakelab.artifacts import read_artifact

    _save_temporal_etas(tmp_path / "etas.json")
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
    assert {"temporal_log_likelihood", "temporal_information_gain"} <= set(board["score"])
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
    from quakelab.artifacts import read_artifact

    run = tmp_path / "ridgecrest-2019-etas"
    assert read_artifact("etas_model", run).branching_ratio_ == pytest.approx(etas["branching_ratio"])
    history = read_artifact("history", run)
    assert history["time"].max() < pd.Timestamp("2019-07-10", tz="UTC") and len(history) > 307
    probs = read_artifact("aftershock_probabilities", run)
    assert set(probs["model"]) == {"ETAS", "RJ generic California", "RJ sequence-specific"}
    p5 = probs.set_index(["model", "magnitude", "duration_days"])["probability"]
    assert p5[("ETAS", 5.0, 7.0)] == pytest.approx(etas["p_m5_7d"])
    assert p5[("RJ sequence-specific", 5.0, 7.0)] == pytest.approx(etas["rj_sequence_p_m5_7d"])
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
