"""Forecast experiments on a small simulated ETAS catalog: known answers, no look-ahead, resumability, Dask."""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ETAS_TRUTH

from quakelab.experiment import (
    ExperimentError,
    block_bootstrap,
    catalog_hash,
    load_experiment,
    moving_block_indices,
    run_experiment,
)

REGION = [-117.5, -116.5, 33.5, 34.5]


def _definition(**over) -> dict:
    d = {
        "name": "tiny",
        "catalog": "simulated",
        "region": REGION,
        "grid": {
            "cell_deg": 0.5,
            "min_magnitude": 2.0,
            "max_magnitude": 3.5,
            "delta_m": 0.5,
            "magnitude_resolution": 0.1,
        },
        "period": {
            "start": "2016-01-01",
            "end": "2016-01-22",
            "window": "weekly",
            "training_start": "2015-01-01",
        },
        "models": [
            {"name": "Poisson", "model": "poisson", "refit_every": 1},
            {"name": "Smoothed", "model": "smoothed", "refit_every": 0},
            {
                "name": "ETAS",
                "model": "etas",
                "refit_every": 0,
                "simulations": 10,
                "settings": {"n_simulations": 10, "parameters": ETAS_TRUTH},
            },
        ],
        "tests": {"simulations": 20},
        "bootstrap": {"resamples": 200},
        "seed": 7,
    }
    d.update(over)
    return d


@pytest.fixture(scope="module")
def catalog():
    from quakelab.models import ETAS

    model = ETAS(min_magnitude=2.0, region=REGION).set_params(ETAS_TRUTH, beta=2.3)
    cat = model.simulate("2015-01-01", "2016-01-22", seed=3)
    cat["magnitude"] = np.round(cat["magnitude"].to_numpy(), 2)
    cat["event_id"] = [f"e{i}" for i in range(len(cat))]
    return cat


@pytest.fixture(scope="module")
def baseline(catalog, tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "baseline"
    return run_experiment(_definition(), catalog=catalog, output=out)


def _numbers(res) -> dict[str, pd.DataFrame]:
    """Every table but the timings, in a canonical row order."""
    return {k: v.reset_index(drop=True) for k, v in res.tables.items() if k != "timings"}


def _assert_same(a, b) -> None:
    ta, tb = _numbers(a), _numbers(b)
    assert sorted(ta) == sorted(tb)
    for k in ta:
        pd.testing.assert_frame_equal(ta[k], tb[k], check_exact=True, obj=k)


# ---------------------------------------------------------------------------------------------- known answers
@pytest.mark.slow
def test_tables_hold_pycsep_results_and_hand_counts(baseline, catalog):
    res = baseline
    ll = res.likelihood
    assert len(ll) == 3 * 3 and sorted(ll["model"].unique()) == ["ETAS", "Poisson", "Smoothed"]
    g = res.config.grid
    for w, (s, e) in enumerate(res.config.windows):
        ev = catalog[(catalog["time"] >= s) & (catalog["time"] < e)]
        inside = (np.round(ev["magnitude"], 1) >= 2.0 - 1e-9) & g.region.contains(
            ev["longitude"], ev["latitude"]
        )
        n_hand = int(inside.sum())
        assert (ll.loc[ll["window"] == w, "n_observed"] == n_hand).all()
        # pycsep's N-test statistic is the observed count
        n_test = res.gridded_N[res.gridded_N["window"] == w]
        assert (n_test["observed_statistic"] == n_hand).all()
    # quakelab's joint log-likelihood equals pycsep's L-test statistic
    merged = ll.merge(res.gridded_L, on=["window", "model"])
    np.testing.assert_allclose(merged["log_likelihood"], merged["observed_statistic"], rtol=1e-10)
    # information gain over the reference (Poisson): zero for itself, differences of log-likelihoods otherwise
    assert (ll.loc[ll["model"] == "Poisson", "information_gain"] == 0).all()
    et = ll[ll["model"] == "ETAS"].set_index("window")
    po = ll[ll["model"] == "Poisson"].set_index("window")
    np.testing.assert_allclose(et["information_gain"], et["log_likelihood"] - po["log_likelihood"])
    np.testing.assert_allclose(et["cumulative_information_gain"], np.cumsum(et["information_gain"]))
    # catalog-based tests only for the simulating model; T and W for every ordered pair
    assert set(res.catalog_N["model"]) == {"ETAS"} and len(res.catalog_PL) == 3
    assert len(res.T_test) == 3 * 6 and len(res.W_test) == 3 * 6
    # the bootstrap total is the sum over windows
    b = res.bootstrap.set_index(["statistic", "model"])
    assert b.loc[("information_gain", "ETAS"), "total"] == pytest.approx(et["information_gain"].sum())
    assert (
        b.loc[("information_gain", "ETAS"), "total_low"] <= b.loc[("information_gain", "ETAS"), "total_high"]
    )
    assert b.loc[("information_gain", "Poisson"), "total_high"] == 0.0
    # files: tables per test, forecasts pycsep can read, plots, summary
    for name in ("gridded_N", "gridded_CL", "catalog_PL", "T_test", "W_test", "likelihood", "bootstrap"):
        assert (res.path / "tables" / f"{name}.parquet").exists() and (
            res.path / "tables" / f"{name}.csv"
        ).exists()
    import csep

    dat = res.path / "windows" / "00002" / "forecasts" / "ETAS.dat"
    py = csep.load_gridded_forecast(str(dat))
    fc = res.forecast("ETAS", 2)
    np.testing.assert_allclose(py.data.sum(), float(fc["expected_count"].sum()), rtol=1e-12)
    assert {p.name for p in (res.path / "plots").glob("*.png")} == {
        "tests_per_window.png",
        "cumulative_information_gain.png",
        "forecast_map.png",
    }
    summary = json.loads((res.path / "summary.json").read_text())
    assert [r["model"] for r in summary["ranking"]] == list(res.summary().index)


def test_forecasts_use_only_events_before_the_window(catalog, tmp_path):
    """A burst inside window 1 changes nothing in windows 0 and 1, and the forecast of window 2."""
    s1 = pd.Timestamp("2016-01-09", tz="UTC")
    burst = pd.DataFrame(
        {
            "event_id": [f"b{i}" for i in range(40)],
            "time": s1 + pd.to_timedelta(np.arange(40), unit="h"),
            "latitude": 33.9,
            "longitude": -117.1,
            "depth_km": 5.0,
            "magnitude": 2.5,
        }
    )
    cat2 = pd.concat([catalog, burst], ignore_index=True).sort_values("time", kind="mergesort")
    d = _definition(
        models=[{"name": "Poisson", "model": "poisson", "refit_every": 1}],
        tests={"gridded": ["N"], "comparison": []},
    )
    a = run_experiment(d, catalog=catalog, output=tmp_path / "a", plots=False).likelihood.set_index("window")
    b = run_experiment(d, catalog=cat2, output=tmp_path / "b", plots=False).likelihood.set_index("window")
    assert a.loc[0, "expected_count"] == b.loc[0, "expected_count"]
    assert a.loc[1, "expected_count"] == b.loc[1, "expected_count"]
    assert b.loc[1, "n_observed"] == a.loc[1, "n_observed"] + 40
    assert b.loc[2, "expected_count"] > a.loc[2, "expected_count"]


# ---------------------------------------------------------------------------------------------- resumability
class Interrupt(RuntimeError):
    pass


def _fail_at(target: int, i: int) -> None:
    if i == target:
        raise Interrupt(f"stopped before window {i}")


@pytest.mark.slow
def test_interrupted_run_continues_and_unchanged_rerun_reuses(baseline, catalog, tmp_path):
    out = tmp_path / "resume"
    with pytest.raises(Interrupt):
        run_experiment(
            _definition(), catalog=catalog, output=out, plots=False, _task_hook=functools.partial(_fail_at, 2)
        )
    assert sorted(p.name for p in (out / "windows").iterdir() if not p.name.startswith(".")) == [
        "00000",
        "00001",
    ]
    again = run_experiment(_definition(), catalog=catalog, output=out, plots=False)
    assert again.reused == [0, 1] and again.computed == [2]
    # the models fitted before the interruption (window 2's included: fits precede the window) are read back
    assert sorted(p.name.rsplit("-", 1)[0] for p in (out / "models").glob("*.json")) == [
        "ETAS-00000",
        "Poisson-00000",
        "Poisson-00001",
        "Poisson-00002",
        "Smoothed-00000",
    ]
    assert not (again.timings["stage"] == "fit").any()
    _assert_same(again, baseline)
    # unchanged inputs: every window reused; a changed setting or catalog recomputes
    same = run_experiment(_definition(), catalog=catalog, output=out, plots=False)
    assert same.reused == [0, 1, 2] and same.computed == []
    changed = _definition()
    changed["models"][0]["settings"] = {"magnitude_resolution": 0.01}
    assert run_experiment(changed, catalog=catalog, output=out, plots=False).computed == [0, 1, 2]
    assert catalog_hash(catalog.iloc[1:]) != catalog_hash(
        catalog
    )  # a changed catalog changes every fingerprint


def test_cli_runs_an_experiment_file(catalog, tmp_path, capsys):
    import yaml

    from quakelab.cli import main

    catalog.assign(time=catalog["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).to_csv(
        tmp_path / "cat.csv", index=False
    )
    d = _definition(
        catalog="cat.csv", models=[{"name": "Poisson", "model": "poisson"}], tests={"gridded": ["N", "L"]}
    )
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(d))
    rc = main(["experiment", "run", str(tmp_path / "exp.yaml"), "--output", str(tmp_path / "out")])
    assert rc == 0, capsys.readouterr().err
    assert "3 windows (0 reused, 3 computed)" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "out" / "tables" / "gridded_N.csv")) == 3
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**d, "grid": {**d["grid"], "cel_deg": 1}}))
    assert main(["experiment", "run", str(tmp_path / "bad.yaml")]) == 2
    assert "bad.yaml: field 'grid.cel_deg'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- definitions
def test_definitions_read_windows_and_floatcsep_keys(tmp_path):
    d = _definition()
    assert [str(s.date()) for s, _ in load_experiment(d).windows] == [
        "2016-01-01",
        "2016-01-08",
        "2016-01-15",
    ]
    yearly = load_experiment(
        _definition(period={"start": "2016-01-01", "end": "2018-01-01", "window": "yearly"})
    )
    assert [(str(s.date()), str(e.date())) for s, e in yearly.windows] == [
        ("2016-01-01", "2017-01-01"),
        ("2017-01-01", "2018-01-01"),
    ]
    cum = load_experiment(
        _definition(period={"start": "2016-01-01", "end": "2016-03-01", "window": "cumulative"})
    )
    assert len(cum.windows) == 1
    # floatCSEP's time_config / region_config / test_config
    (tmp_path / "tests.yml").write_text(
        "- N-test:\n    func: poisson_evaluations.number_test\n"
        "- T-test:\n    func: poisson_evaluations.paired_t_test\n    ref_model: Poisson\n"
    )
    fl = {k: v for k, v in _definition().items() if k not in ("period", "grid", "tests")}
    fl.update(
        time_config={
            "start_date": "2016-01-01",
            "end_date": "2016-01-07",
            "horizon": "2days",
            "exp_class": "td",
        },
        region_config={"mag_min": 2.0, "mag_max": 3.5, "mag_bin": 0.5},
        grid={"cell_deg": 0.5},
        test_config=str(tmp_path / "tests.yml"),
    )
    cfg = load_experiment(fl)
    assert len(cfg.windows) == 3 and cfg.windows[0][1] - cfg.windows[0][0] == pd.Timedelta(days=2)
    assert cfg.grid.magnitudes.tolist() == [2.0, 2.5, 3.0, 3.5]
    assert cfg.gridded_tests == ("N",) and cfg.comparison_tests == ("T",) and cfg.catalog_tests == ()
    (tmp_path / "e.yaml").write_text("catalog: x\nregion: [1, 2\n")
    with pytest.raises(ExperimentError, match=r"e.yaml: line \d+"):
        load_experiment(tmp_path / "e.yaml")
    with pytest.raises(ExperimentError, match="field 'models\\[0\\].model'.*unknown|unknown model 'nope'"):
        run_experiment(_definition(models=[{"model": "nope"}]), catalog=pd.DataFrame({"time": []}))


def test_moving_block_bootstrap_known_answers():
    # one block covering the series: every resample is the series itself
    idx = moving_block_indices(5, 5, 3, np.random.default_rng(0))
    assert (idx == np.arange(5)).all()
    # blocks are runs of consecutive windows
    idx = moving_block_indices(12, 4, 50, np.random.default_rng(1))
    runs = idx.reshape(50, 3, 4)
    assert (np.diff(runs, axis=2) == 1).all() and idx.min() >= 0 and idx.max() <= 11
    v = np.column_stack([np.full(8, 0.5), np.arange(8.0)])
    b = block_bootstrap(v, block_length=2, resamples=500, confidence=0.9, seed=3)
    assert b.loc[0, ["total", "total_low", "total_high"]].tolist() == [4.0, 4.0, 4.0]
    assert b.loc[1, "total"] == 28.0 and b.loc[1, "total_low"] < 28.0 < b.loc[1, "total_high"]


# ---------------------------------------------------------------------------------------------- Dask
def _kill_worker_once(marker: str, target: int, i: int) -> None:
    """SIGKILL the worker process running window ``target`` the first time (the marker file remembers)."""
    if i == target and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.slow
def test_dask_same_numbers_on_1_and_2_workers_and_after_a_killed_worker(
    baseline, catalog, tmp_path, s3_storage_options
):
    """One worker, then two workers reading the catalog from s3:// themselves, with one of them SIGKILLed
    while it runs window 1: the sequential numbers, every window once."""
    import cloudpickle
    from distributed import Client, LocalCluster
    from s3_server import fill_bucket

    from quakelab.catalog import open_catalog
    from quakelab.catalog.store import write_parquet

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    fill_bucket(
        s3_storage_options, {"catalogs/tiny.parquet": write_parquet(catalog, tmp_path / "tiny.parquet")}
    )
    url = "s3://quakelab-test/catalogs/tiny.parquet"
    from_s3 = open_catalog(url, storage_options=s3_storage_options)
    pd.testing.assert_frame_equal(from_s3[catalog.columns], catalog, check_exact=True, check_dtype=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            one = run_experiment(
                _definition(), catalog=catalog, output=tmp_path / "w1", scheduler=client, plots=False
            )
            _assert_same(one, baseline)
            cluster.scale(2)
            client.wait_for_workers(2, timeout=120)
            marker = tmp_path / "killed"
            hook = functools.partial(_kill_worker_once, str(marker), 1)
            two = run_experiment(
                _definition(catalog=url, storage_options=s3_storage_options),
                output=tmp_path / "w2",
                scheduler=client,
                _task_hook=hook,
                plots=False,
            )
            assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker process was killed
            assert two.computed == [0, 1, 2]
            assert sorted(p.name for p in (tmp_path / "w2" / "windows").iterdir()) == [
                "00000",
                "00001",
                "00002",
            ]
            assert two.likelihood["window"].value_counts().tolist() == [3, 3, 3]
            _assert_same(two, baseline)
