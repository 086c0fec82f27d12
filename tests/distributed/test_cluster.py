"""ETAS simulations on a real LocalCluster (worker processes): identical results on 2 workers, 1 worker and in
process, with a worker killed mid-run, and inputs read by the workers themselves from s3:// URLs."""

from __future__ import annotations

import functools
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
from conftest import ETAS_REGION, ETAS_TRUTH

pytest.importorskip("distributed", reason="distributed (the dist extra) is not installed")

from quakelab.distributed import get_client, map_ordered, map_seeded, spawn_seeds, worker_pids  # noqa: E402

START, END = "2012-01-01", "2012-01-15"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One LocalCluster with 2 single-threaded worker processes for the module (its start-up is slow)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        local_directory=str(tmp_path_factory.mktemp("dask")),
    ) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with get_client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def etas_case(etas_simulated):
    """(model, the half year before START, sequential catalog forecast over [START, END))."""
    model, cat = etas_simulated
    history = cat[cat["time"].between(pd.Timestamp("2011-07-01", tz="UTC"), pd.Timestamp(START, tz="UTC"))]
    here = model.catalog_forecast(history, START, END, n_simulations=120, seed=5, quiet=True)
    return model, history, here


def _forecast(model, history, scheduler, chunk_size):
    return model.catalog_forecast(
        history, START, END, n_simulations=120, seed=5, scheduler=scheduler, chunk_size=chunk_size, quiet=True
    )


def test_get_client_accepts_a_client_a_cluster_and_an_address(cluster, client):
    with get_client(client) as same:
        assert same is client
    assert client.status == "running"  # a Client passed in is not closed
    with get_client(cluster.scheduler_address) as by_address:
        assert by_address is not client and sorted(by_address.nthreads()) == sorted(client.nthreads())
    assert by_address.status == "closed" and client.status == "running"
    with pytest.raises(ValueError, match="tcp://host:8786"):
        with get_client("no-such-scheduler"):
            pass
    with pytest.raises(TypeError, match="scheduler must be"):
        with get_client(3.5):
            pass


def test_seeded_tasks_do_not_depend_on_where_they_run(client):
    here = map_seeded(np.random.default_rng, 5, seed=42)
    there = map_seeded(np.random.default_rng, 5, seed=42, scheduler=client)
    draws = [g.integers(1 << 30, size=3).tolist() for g in here]
    assert draws == [g.integers(1 << 30, size=3).tolist() for g in there]
    assert draws == [np.random.default_rng(s).integers(1 << 30, size=3).tolist() for s in spawn_seeds(42, 5)]
    assert len({tuple(d) for d in draws}) == 5


@pytest.mark.slow
def test_workers_read_inputs_from_s3_themselves(client, s3_storage_options):
    """Each worker opens the catalog and the model by URL: only the URL and options travel to it."""
    from quakelab.catalog import open_catalog
    from quakelab.models import ETAS

    url = "s3://quakelab-test/catalogs/ridgecrest.parquet"
    read = functools.partial(open_catalog, storage_options=s3_storage_options)
    cats = map_ordered(client, read, [(url,), (url,)])
    local = open_catalog(url, storage_options=s3_storage_options)
    for cat in cats:
        assert len(cat) == 829 and cat.attrs["source"] == url
        pd.testing.assert_frame_equal(cat, local)
    load = functools.partial(ETAS.load, storage_options=s3_storage_options)
    (model,) = map_ordered(client, load, [("s3://quakelab-test/models/etas.json",)])
    truth = ETAS(min_magnitude=1.0, region=ETAS_REGION).set_params(ETAS_TRUTH, beta=2.3)
    assert model.params_.to_dict() == truth.params_.to_dict()


@pytest.mark.slow
def test_cli_etas_forecast_on_a_scheduler_with_s3_inputs(cluster, s3_storage_options, tmp_path, monkeypatch):
    """`quakelab etas forecast s3://... --history s3://... --scheduler tcp://...` with credentials and the
    endpoint from the standard AWS variables (what a user sets for real object storage) equals the local run."""
    import xarray as xr

    from quakelab.cli import main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_storage_options["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_storage_options["secret"])
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_storage_options["endpoint_url"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.chdir(tmp_path)
    common = ["--history", "s3://quakelab-test/catalogs/comcat_small.csv", "--start", "2019-07-07"]
    common += ["--days", "3", "--n-simulations", "30", "--cell-deg", "0.5", "--seed", "4", "--json"]
    model = "s3://quakelab-test/models/etas.json"
    assert main(["etas", "forecast", model, *common, "-o", "here.nc"]) == 0
    assert (
        main(["etas", "forecast", model, *common, "-o", "there.nc", "--scheduler", cluster.scheduler_address])
        == 0
    )
    with xr.open_dataset("here.nc", engine="scipy") as a, xr.open_dataset("there.nc", engine="scipy") as b:
        assert a.attrs["n_history_events"] == 4  # the four events of tests/data/comcat_small.csv
        assert float(a["expected_count"].sum()) > 0
        np.testing.assert_array_equal(a["expected_count"].values, b["expected_count"].values)


@pytest.mark.slow
def test_feature_grid_on_dask_equals_the_one_computed_here(client, etas_simulated, s3_storage_options):
    """Blocks of feature times as tasks (ETAS feature included; the catalog read by URL on the workers)."""
    import xarray as xr

    from quakelab.catalog import open_catalog
    from quakelab.features.grid import build_feature_grid

    model, cat = etas_simulated
    part = cat[
        cat["time"].between(pd.Timestamp("2011-01-01", tz="UTC"), pd.Timestamp("2012-06-01", tz="UTC"))
    ]
    kw = dict(region=(-118, -117, 35, 36), cell_deg=0.25, start="2012-01-01", end="2012-03-15")
    kw.update(lookbacks_days=(7, 30), horizon_days=7, target_magnitude=3.0, min_magnitude=1.0, pa_events=20)
    here = build_feature_grid(part, etas=model, **kw)
    there = build_feature_grid(part, etas=model, scheduler=client, chunk_steps=10, **kw)  # 64-step blocks
    assert here.sizes["time"] == 74 and float(here["count_30d"].sum()) > 0
    xr.testing.assert_identical(here, there)
    url = "s3://quakelab-test/catalogs/ridgecrest.parquet"
    rkw = dict(region=(-118, -117, 35, 36.5), cell_deg=0.5, start="2019-07-01", end="2019-07-20")
    rkw.update(lookbacks_days=(1, 3), horizon_days=1, target_magnitude=4.0, pa_events=None)
    local = build_feature_grid(open_catalog(url, storage_options=s3_storage_options), **rkw)
    remote = build_feature_grid(
        url, scheduler=client, chunk_steps=4, storage_options=s3_storage_options, **rkw
    )
    xr.testing.assert_identical(local, remote)
    assert int(local["n_next"].sum()) > 100


@pytest.mark.slow
def test_a_worker_killed_mid_run_changes_nothing(client, etas_case):
    """SIGKILL one worker process while its chunks run: the scheduler reruns them; same catalogs, none twice."""
    model, history, here = etas_case
    _forecast(model, history, client, 60)  # compile on both workers before timing anything
    pids = worker_pids(client)
    victim = sorted(pids)[0]
    box: dict = {}

    def run():
        box["result"] = _forecast(model, history, client, 2)  # 60 small tasks

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not client.processing().get(victim):
        time.sleep(0.01)
    assert client.processing().get(victim), "no task reached the worker"
    assert runner.is_alive()
    os.kill(pids[victim], signal.SIGKILL)
    killed_at_running = runner.is_alive()
    runner.join(timeout=120)
    assert not runner.is_alive()
    assert killed_at_running
    pd.testing.assert_frame_equal(box["result"], here)
    assert sorted(here["catalog_id"].unique())[-1] < 120
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
    assert pids[victim] not in worker_pids(client).values()


@pytest.mark.slow
def test_two_workers_one_worker_and_in_process_are_identical(client, etas_case):
    """Runs last in this module: it retires one of the two workers."""
    model, history, here = etas_case
    assert len(here) > 100 and here["catalog_id"].nunique() > 20
    two = _forecast(model, history, client, 7)
    pd.testing.assert_frame_equal(two, here)
    client.retire_workers([sorted(client.nthreads())[0]], close_workers=True)
    assert len(client.nthreads()) == 1
    one = _forecast(model, history, client, 50)
    pd.testing.assert_frame_equal(one, here)
