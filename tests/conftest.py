"""Shared fixtures. Real data only: pycsep's bundled ComCat sample everywhere, the shared catalogs
when the shared data folder is present (tests that need them skip with the reason otherwise)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    from quakelab.datasets import shared_data_dir

    d = shared_data_dir()
    if d is None:
        pytest.skip("shared data folder not found (set QUAKELAB_SHARED_DATA)")
    return d


@pytest.fixture(scope="session")
def sample_catalog():
    from quakelab.datasets import load

    return load("ridgecrest-2019-sample")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


#: ETAS parameters of the simulated test catalog (branching ratio 0.68 with beta = 2.3, ~23k events in 10 years).
ETAS_TRUTH = dict(
    log10_mu=-4.9,
    log10_k0=-3.03,
    a=1.5,
    log10_c=-2.5,
    omega=0.1,
    log10_tau=2.0,
    log10_d=-1.0,
    gamma=1.0,
    rho=1.5,
)
ETAS_REGION = (-120, -116, 33, 37)


@pytest.fixture(scope="session")
def etas_simulated():
    """(model with the true parameters, catalog simulated from it over 2007-2017 with seed 1)."""
    from quakelab.models import ETAS

    model = ETAS(min_magnitude=1.0, region=ETAS_REGION).set_params(ETAS_TRUTH, beta=2.3)
    return model, model.simulate("2007-01-01", "2017-01-01", seed=1)


@pytest.fixture(scope="session")
def s3_storage_options(tmp_path_factory, data_dir, sample_catalog):
    """fsspec ``storage_options`` of a real S3-compatible server (moto, a subprocess on 127.0.0.1).

    Its bucket ``quakelab-test`` (``tests/s3_server.BUCKET``) holds ``catalogs/comcat_small.csv``
    (tests/data), ``catalogs/ridgecrest.parquet/`` (pycsep's Ridgecrest sample as a year-partitioned
    Parquet folder) and ``models/etas.json`` (an ETAS model with the parameters of ``ETAS_TRUTH``).
    Read them as ``open_catalog("s3://quakelab-test/...", storage_options=s3_storage_options)``.
    """
    pytest.importorskip("moto.server", reason="moto[server] (the test extra) is not installed")
    pytest.importorskip("s3fs", reason="s3fs (the dist extra) is not installed")
    from s3_server import MotoS3Server, fill_bucket

    from quakelab.catalog.store import write_parquet
    from quakelab.models import ETAS

    server = MotoS3Server().launch()  # starts while the files are prepared
    folder = tmp_path_factory.mktemp("s3-upload")
    parquet = write_parquet(sample_catalog, folder / "ridgecrest.parquet", partition_by_year=True)
    model = (
        ETAS(min_magnitude=1.0, region=ETAS_REGION)
        .set_params(ETAS_TRUTH, beta=2.3)
        .save(folder / "etas.json")
    )
    try:
        try:
            server.wait()
        except RuntimeError:  # the port was taken meanwhile: once more on another
            server.start()
        options = server.storage_options()
        fill_bucket(
            options,
            {
                "catalogs/comcat_small.csv": data_dir / "comcat_small.csv",
                "catalogs/ridgecrest.parquet": parquet,
                "models/etas.json": model,
            },
        )
        yield options
    finally:
        server.stop()
