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
