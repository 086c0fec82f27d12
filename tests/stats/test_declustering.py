"""Declustering against the known background/triggered labels of a simulated ETAS catalog."""

import numpy as np
import pandas as pd
import pytest
from conftest import ETAS_REGION as REGION

from quakelab.models import ETAS
from quakelab.stats import etas_declustering, gardner_knopoff, zaliapin_ben_zion


@pytest.fixture(scope="module")
def simulated(etas_simulated):
    return etas_simulated[1]


def _scores(pred, truth):
    return (pred == truth).mean(), (pred & truth).sum() / truth.sum()


def test_gardner_knopoff_hand_example():
    cat = pd.DataFrame(
        {
            "time": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2021-06-01"], utc=True),
            "latitude": [35.0, 35.05, 36.0, 35.0],
            "longitude": [-117.0, -117.0, -117.0, -117.0],
            "magnitude": [6.0, 4.0, 4.2, 4.5],
        }
    )
    lab = gardner_knopoff(cat)
    # M6 window: 10^(0.1238*6+0.983) = 53.19 km, 10^(0.5409*6-0.547) = 499.3 days; 36.0N is 111 km away
    assert lab["window_km"].iloc[0] == pytest.approx(53.19, abs=0.01)
    assert lab["window_days"].iloc[0] == pytest.approx(499.34, abs=0.01)
    assert lab["is_mainshock"].tolist() == [True, False, True, True]  # 2021-06-01 is 517 days later: outside
    assert lab["cluster_id"].tolist() == [0, 0, 2, 3]


def test_windows_and_nearest_neighbours_on_simulated_etas(simulated):
    truth = simulated["generation"].to_numpy() == 0
    gk = gardner_knopoff(simulated)
    acc, _ = _scores(gk["is_mainshock"].to_numpy(), truth)
    assert acc > 0.65
    zbz = zaliapin_ben_zion(simulated)
    acc, recall = _scores(zbz["is_mainshock"].to_numpy(), truth)
    assert acc > 0.72 and recall > 0.55
    assert zbz["is_mainshock"].sum() == pytest.approx(truth.sum(), rel=0.15)
    assert -7 < zbz.attrs["log10_eta0"] < -3
    # every cluster has exactly one mainshock, the largest event
    per = zbz.assign(m=simulated["magnitude"]).groupby("cluster_id")
    assert (per["is_mainshock"].sum() == 1).all()
    assert (per.apply(lambda g: g.loc[g["is_mainshock"], "m"].iloc[0] == g["m"].max())).all()


def test_etas_stochastic_declustering(simulated):
    sub = simulated  # the whole catalog: thinning it would turn triggered events into apparent background
    model = ETAS(min_magnitude=1.0, region=REGION, coppersmith_multiplier=300).fit(
        sub, auxiliary_start="2007-01-01", start="2008-01-01", end="2017-01-01", standard_errors=False
    )
    lab = etas_declustering(model, sub)
    truth = sub.loc[lab.index, "generation"].to_numpy() == 0
    acc, _ = _scores(lab["is_mainshock"].to_numpy(), truth)
    assert acc > 0.8
    assert lab["background_probability"].sum() == pytest.approx(truth.sum(), rel=0.1)
    draw = etas_declustering(model, sub, threshold=None, seed=0)
    assert abs(draw["is_mainshock"].sum() - lab["background_probability"].sum()) < 4 * np.sqrt(len(draw))


def test_reasenberg_hand_example_and_simulation(simulated):
    from quakelab.stats import reasenberg

    cat = pd.DataFrame(
        {
            "time": pd.to_datetime(
                ["2020-01-01 00:00", "2020-01-01 12:00", "2020-01-01 13:00", "2020-01-20 00:00"], utc=True
            ),
            "latitude": [35.0, 35.005, 36.0, 35.0],
            "longitude": [-117.0, -117.0, -117.0, -117.0],
            "depth_km": [5.0, 5.0, 5.0, 5.0],
            "magnitude": [4.0, 3.0, 3.5, 3.0],
        }
    )
    # M4 crack radius 0.011 * 10^1.6 = 0.44 km, interaction radius 4.4 km: the 0.56 km neighbour half a day
    # later joins; the event 111 km away and the one 19 days later (look-ahead <= 10 days) do not
    lab = reasenberg(cat)
    assert lab["cluster_id"].tolist()[:2] == [0, 0]
    assert lab["is_mainshock"].tolist() == [True, False, True, True]
    truth = simulated["generation"].to_numpy() == 0
    rb = reasenberg(simulated)
    pred = rb["is_mainshock"].to_numpy()
    assert (pred & truth).sum() / truth.sum() > 0.8  # background events are kept
    assert truth.sum() < pred.sum() < len(simulated)  # but it removes fewer events than ETAS triggered
