"""The truncation leakage check: real causal features pass, a planted look-ahead feature is caught."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quakelab.features import build_feature_grid
from quakelab.learn import truncation_leakage_check

CUTS = ["2019-07-08", "2019-07-10T12:00", "2019-07-12"]
GRID = dict(
    region=(-118.0, -117.0, 35.3, 36.3),
    cell_deg=0.25,
    start="2019-07-07",
    end="2019-07-13",
    step_days=0.5,
    lookbacks_days=(0.5, 1.0),
    horizon_days=1.0,
    target_magnitude=3.5,
    min_magnitude=2.5,
    pa_events=5,
)


def _real(catalog):
    return build_feature_grid(catalog, **GRID)


def _with_planted_leak(catalog):
    ds = _real(catalog)
    # the count of the next half-day window, presented as a feature: uses events at and after t
    ds["next_window_count"] = ds["count_0.5d"].shift(time=-1)
    return ds


def test_real_features_pass(sample_catalog):
    table = truncation_leakage_check(_real, sample_catalog, CUTS)
    assert table.attrs["passed"] and table.attrs["leaking"] == []
    assert len(table) == len(CUTS) * table["feature"].nunique() > 30
    assert (table["n_compared"] > 0).all() and (table["n_mismatch"] == 0).all()


def test_planted_leaking_feature_is_caught(sample_catalog):
    table = truncation_leakage_check(_with_planted_leak, sample_catalog, CUTS)
    assert not table.attrs["passed"] and table.attrs["leaking"] == ["next_window_count"]
    bad = table[table["feature"] == "next_window_count"]
    assert (~bad["passed"]).all() and (bad["n_mismatch"] > 0).all()
    # the mismatch sits at the last feature time before each cut, whose next window the cut removes
    for _, row in bad.iterrows():
        assert row["cut"] - np.timedelta64(12, "h") <= row["first_mismatch_time"] <= row["cut"]


def test_labels_are_not_features(sample_catalog):
    # labels look ahead by design: listed as features, the check flags them
    table = truncation_leakage_check(_real, sample_catalog, CUTS[:1], exclude=())
    assert set(table.attrs["leaking"]) == {"n_next", "occurs_next"}


def test_cut_before_the_grid_is_an_error(sample_catalog):
    with pytest.raises(ValueError, match="no feature time"):
        truncation_leakage_check(_real, sample_catalog, ["2019-07-01"])


@pytest.fixture(scope="module")
def etas_model():
    from quakelab.models import ETAS

    model = ETAS(min_magnitude=2.5, region=GRID["region"])
    params = {
        "log10_mu": -2.0,
        "log10_k0": -2.0,
        "a": 1.5,
        "log10_c": -2.5,
        "omega": -0.1,
        "log10_tau": 2.0,
        "log10_d": -1.5,
        "gamma": 1.0,
        "rho": 0.6,
    }
    return model.set_params(params, beta=np.log(10))


def _until(etas, cut, planted=False):
    """The pipeline with ETAS features, from the grid's start to the step after a cut (cheaper than the whole grid)."""

    def build(catalog):
        end = pd.Timestamp(cut) + pd.Timedelta(hours=12)
        ds = build_feature_grid(catalog, etas=etas, **{**GRID, "end": end})
        if planted:
            ds["next_window_count"] = ds["count_0.5d"].shift(time=-1)
        return ds

    return build


def test_etas_features_pass_several_cuts(sample_catalog, etas_model):
    full = build_feature_grid(sample_catalog, etas=etas_model, **GRID)
    assert float(full["etas_expected_count"].sum()) > 0
    tables = [truncation_leakage_check(_until(etas_model, c), sample_catalog, [c], full=full) for c in CUTS]
    assert all(t.attrs["passed"] for t in tables)
    table = pd.concat(tables)
    assert {"etas_expected_count", "etas_p_target"} <= set(table["feature"])
    # feature times 2019-07-07 .. cut every 12 h, each of the 16 cells: 3, 8 and 11 times
    assert table.loc[table["feature"] == "etas_expected_count", "n_compared"].tolist() == [
        3 * 16,
        8 * 16,
        11 * 16,
    ]
    leaky = full.assign(next_window_count=full["count_0.5d"].shift(time=-1))
    caught = truncation_leakage_check(
        _until(etas_model, CUTS[1], planted=True), sample_catalog, CUTS[1:2], full=leaky
    )
    assert caught.attrs["leaking"] == ["next_window_count"]
