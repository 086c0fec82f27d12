"""Inputs read by URL: catalogs (file and partitioned Parquet folder), ETAS models and forecasts from a real
S3-compatible server (moto in its own process, see tests/s3_server.py) equal their local reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import ETAS_REGION, ETAS_TRUTH

from quakelab.catalog import CatalogError, open_catalog
from quakelab.storage import exists, is_remote, is_url, local_copy, read_text

BUCKET = "s3://quakelab-test"


def test_url_kinds():
    assert is_url("s3://b/k") and is_remote("s3://b/k") and is_remote("file:///tmp/x")
    assert is_url("https://x/y") and not is_remote("https://x/y")
    assert not is_url("data/x.csv") and not is_url("C:\\data\\x.csv") and not is_url(None)


def test_catalog_file_from_s3_equals_local_read(s3_storage_options, data_dir):
    remote = open_catalog(f"{BUCKET}/catalogs/comcat_small.csv", storage_options=s3_storage_options)
    local = open_catalog(data_dir / "comcat_small.csv")
    # the 4 rows of the file: 3 earthquakes kept plus the quarry blast (all event types by default)
    assert len(remote) == len(local) == 4
    assert remote.attrs["source"] == f"{BUCKET}/catalogs/comcat_small.csv"
    pd.testing.assert_frame_equal(remote, local, check_like=False)
    assert remote["magnitude"].max() == 7.1


def test_partitioned_parquet_folder_from_s3_equals_local(s3_storage_options, sample_catalog, tmp_path):
    remote = open_catalog(f"{BUCKET}/catalogs/ridgecrest.parquet", storage_options=s3_storage_options)
    assert len(remote) == len(sample_catalog) == 829
    cols = ["event_id", "time", "latitude", "longitude", "depth_km", "magnitude"]
    pd.testing.assert_frame_equal(
        remote[cols].reset_index(drop=True), sample_catalog[cols].reset_index(drop=True), check_dtype=False
    )
    # the folder was copied whole (Hive partitions year=YYYY/) and removed after the read
    with local_copy(f"{BUCKET}/catalogs/ridgecrest.parquet", s3_storage_options) as local:
        parts = sorted(p.parent.name for p in local.rglob("*.parquet"))
        assert parts and all(p.startswith("year=") for p in parts)
    assert not local.exists()


def test_missing_key_and_bad_credentials_are_clear(s3_storage_options):
    with pytest.raises(FileNotFoundError, match="quakelab-test/catalogs/nothing.csv"):
        open_catalog(f"{BUCKET}/catalogs/nothing.csv", storage_options=s3_storage_options)
    assert exists(f"{BUCKET}/models/etas.json", s3_storage_options)
    assert not exists(f"{BUCKET}/models/none.json", s3_storage_options)


def test_bad_remote_file_names_the_url(s3_storage_options, tmp_path):
    from s3_server import fill_bucket

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "time,latitude,longitude,magnitude\n2020-01-01T00:00:00Z,35.0,-117.0,2.0\nnot-a-time,1,2,3\n"
    )
    fill_bucket(s3_storage_options, {"catalogs/bad.csv": bad})
    with pytest.raises(CatalogError) as info:
        open_catalog(f"{BUCKET}/catalogs/bad.csv", storage_options=s3_storage_options, strict=True)
    assert f"{BUCKET}/catalogs/bad.csv" in str(info.value) and "line 3" in str(info.value)
    assert "quakelab-fetch-" not in str(info.value)


def test_etas_model_from_s3_equals_local(s3_storage_options, tmp_path):
    from quakelab.models import ETAS

    remote = ETAS.load(f"{BUCKET}/models/etas.json", storage_options=s3_storage_options)
    local = ETAS(min_magnitude=1.0, region=ETAS_REGION).set_params(ETAS_TRUTH, beta=2.3)
    assert remote.params_.to_dict() == local.params_.to_dict()
    assert remote.beta_ == 2.3 and remote.branching_ratio_ == pytest.approx(0.6824, abs=1e-4)
    assert remote.to_dict() == ETAS.load(local.save(tmp_path / "m.json")).to_dict()
    assert '"model": "ETAS"' in read_text(f"{BUCKET}/models/etas.json", s3_storage_options)


def test_forecast_file_from_s3_equals_local(s3_storage_options, tmp_path):
    from s3_server import fill_bucket

    from quakelab.forecast import GridSpec
    from quakelab.forecast.gridded import from_array
    from quakelab.forecast.io import read_forecast, write_forecast

    spec = GridSpec(
        (-118.0, -117.0, 35.0, 36.0),
        cell_deg=0.5,
        min_magnitude=4.0,
        max_magnitude=4.1,
        start="2020-01-01",
        end="2020-01-08",
    )
    assert spec.shape == (2, 2, 2)
    fc = from_array(np.arange(8, dtype=float).reshape(spec.shape) + 0.5, spec, model="toy")
    for suffix in (".xml", ".nc"):
        path = write_forecast(fc, tmp_path / f"toy{suffix}")
        fill_bucket(s3_storage_options, {f"forecasts/toy{suffix}": path})
        remote = read_forecast(f"{BUCKET}/forecasts/toy{suffix}", storage_options=s3_storage_options)
        local = read_forecast(path)
        np.testing.assert_array_equal(remote["expected_count"].values, local["expected_count"].values)
        assert float(remote["expected_count"].sum()) == 8 * 4.0


def test_forecast_model_file_from_s3(s3_storage_options, sample_catalog, tmp_path):
    """A saved adapter (here Poisson on the Ridgecrest sample) loads from s3:// with the same state."""
    from s3_server import fill_bucket

    from quakelab.forecast import load_model
    from quakelab.forecast.adapters import PoissonForecaster

    model = PoissonForecaster((-118.5, -116.5, 35.0, 36.5), 2.5).fit(
        sample_catalog, "2019-07-01", "2019-08-01"
    )
    assert model.n_events_ > 100
    fill_bucket(s3_storage_options, {"models/poisson.json": model.save(tmp_path / "poisson.json")})
    remote = load_model(f"{BUCKET}/models/poisson.json", storage_options=s3_storage_options)
    assert isinstance(remote, PoissonForecaster)
    assert remote.n_events_ == model.n_events_ and remote.beta_ == model.beta_


def test_missing_packages_name_the_dist_extra(monkeypatch):
    """Without distributed / s3fs (a None entry in sys.modules is Python's "not installed") the errors say
    which extra to install."""
    import sys

    from quakelab._optional import MissingOptionalDependency
    from quakelab.distributed import get_client

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingOptionalDependency, match=r"pip install 'quakelab\[dist\]'"):
        with get_client("local"):
            pass
    monkeypatch.setitem(sys.modules, "s3fs", None)
    with pytest.raises(
        MissingOptionalDependency, match=r"s3fs is not installed.*reading s3:// URLs.*\[dist\]"
    ):
        open_catalog("s3://any-bucket/catalog.csv")
