import math

import numpy as np
import pytest

from quakelab.models import ReasenbergJones, SmoothedSeismicity
from quakelab.stats import simulate_gutenberg_richter, simulate_omori


def test_reasenberg_jones_generic_hand_value():
    # N = 10^-1.67 * ((0.05)^-0.08 - (7.05)^-0.08) / 0.08 for M >= Mm in the first week
    rj = ReasenbergJones.generic_california(5.0)
    n = 10**-1.67 * (0.05**-0.08 - 7.05**-0.08) / 0.08
    p = rj.probabilities(0.0, durations_days=(7.0,), magnitudes=(5.0,)).iloc[0]
    assert p["expected_number"] == pytest.approx(n, rel=1e-12)
    assert p["probability"] == pytest.approx(1 - math.exp(-n))
    assert 0.09 < p["probability"] < 0.12  # the classic ~10 % chance of an equal or larger event in a week


def test_reasenberg_jones_sequence_specific_recovers_parameters():
    mm, mc, a_true, b_true, p_true, c_true = 6.5, 2.0, -1.8, 1.0, 1.1, 0.05
    k = 10 ** (a_true + b_true * (mm - mc))
    t = simulate_omori(K=k, c=c_true, p=p_true, t_end_days=100, seed=3)
    m = simulate_gutenberg_richter(t.size, b=b_true, min_magnitude=mc, seed=4)
    rj = ReasenbergJones.fit_sequence(t, m, mm, mc, t_end=100)
    assert rj.p == pytest.approx(p_true, abs=0.05)
    assert rj.b == pytest.approx(b_true, abs=0.05)
    assert rj.a == pytest.approx(a_true, abs=0.15)
    probs = rj.probabilities(1.0)
    assert (np.diff(probs.query("magnitude == 5.0")["probability"]) > 0).all()


def test_smoothed_seismicity_normalisation_and_kernels(sample_catalog):
    region = (-118.2, -117.0, 35.2, 36.4)
    for kernel in ("gaussian", "power_law"):
        model = SmoothedSeismicity(2.5, region, kernel=kernel).fit(
            sample_catalog, start="2019-07-06", end="2019-07-13"
        )
        ds = model.forecast("2019-07-13", "2019-07-20", cell_deg=0.05)
        total = float(ds["expected_count"].sum())
        assert total == pytest.approx(model.rate_per_day_ * 7, rel=1e-9)
        assert (model.bandwidths_km_ >= 0.5).all()
    # a single-event Gaussian kernel integrates to one over the plane
    one = SmoothedSeismicity(2.5, (-118, -116, 35, 37), kernel="gaussian", bandwidth_km=5.0)
    one.events_ = sample_catalog.iloc[:1].assign(latitude=36.0, longitude=-117.0)
    one.bandwidths_km_ = np.array([5.0])
    lon, lat = np.meshgrid(np.arange(-117.5, -116.5, 0.005) + 0.0025, np.arange(35.6, 36.4, 0.005) + 0.0025)
    area = (
        6378.1**2 * np.radians(0.005) * (np.sin(np.radians(lat + 0.0025)) - np.sin(np.radians(lat - 0.0025)))
    )
    assert float((one.density(lon.ravel(), lat.ravel()) * area.ravel()).sum()) == pytest.approx(1.0, abs=2e-3)
    with pytest.raises(ValueError, match="unknown kernel"):
        SmoothedSeismicity(2.5, region, kernel="box")
