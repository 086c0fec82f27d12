"""Spatially variable ETAS background: normalisation, sampling, likelihood, persistence, recovery."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quakelab.evaluate import direct_log_likelihood
from quakelab.models import ETAS, branching_ratio
from quakelab.models.background import (
    GridBackground,
    KernelBackground,
    background_from_dict,
    nearest_neighbour_bandwidths,
    weighted_neighbour_bandwidths,
)
from quakelab.models.etas import ETASParameters
from quakelab.region import Region, band_area_km2, sphere_to_true_area

SQUARE = Region.from_bbox(-117, -116, 33, 34)
POLYGON = Region(((-117.0, 33.0), (-115.8, 33.1), (-116.3, 33.5), (-115.9, 34.1), (-117.1, 33.9)))
R_EARTH = 6378.1


def _kernels(region, n=40, seed=0):
    """Kernels at random points of the region, several within a bandwidth of its boundary."""
    rng = np.random.default_rng(seed)
    x0, x1, y0, y1 = region.bounds
    lon, lat = rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)
    ok = region.contains(lon, lat)
    lon, lat = lon[ok][:n], lat[ok][:n]
    return KernelBackground(
        region, lon, lat, rng.uniform(2.0, 12.0, lon.size), rng.uniform(0.1, 1.0, lon.size)
    )


def _fine_integral(bg, region, n=160):
    """Midpoint rule of the density on an n x n lon/lat grid over the region's bounding box (exact cell areas)."""
    x0, x1, y0, y1 = region.bounds
    le, la = np.linspace(x0, x1, n + 1), np.linspace(y0, y1, n + 1)
    gx, gy = np.meshgrid((le[1:] + le[:-1]) / 2, (la[1:] + la[:-1]) / 2)
    area = band_area_km2(la[:-1], la[1:], (x1 - x0) / n)  # true (WGS84) areas, the densities' unit
    return float((bg.density(gx, gy) * area[:, None]).sum())


@pytest.mark.parametrize("region", [SQUARE, POLYGON], ids=["square", "polygon"])
def test_kernel_density_integrates_to_one_over_the_region(region):
    bg = _kernels(region)
    # kernels near the boundary lose mass outside: the normalisation accounts for it
    assert bg.masses.min() < 0.8 and bg.masses.max() > 0.99
    # the polygon's slanted edges cut grid cells: the midpoint rule is then good to ~1e-3
    assert _fine_integral(bg, region) == pytest.approx(1.0, abs=2e-3 if region is POLYGON else 2e-4)
    assert bg.density(-115.0, 33.5) == 0.0  # outside
    assert bg.cell_integrals(
        np.linspace(-117.1, -115.8, 14), np.linspace(33, 34.1, 12)
    ).sum() == pytest.approx(1.0, abs=2e-3)


def test_weighted_neighbour_bandwidths_count_the_weights_of_the_neighbours():
    # points on a meridian 1 km apart (in chord distance up to ~1e-8): weights decide how far to reach
    lat = 33.0 + np.degrees(np.arange(12) / R_EARTH)
    lon = np.full(12, -116.5)
    ones = weighted_neighbour_bandwidths(lon, lat, np.ones(12), 3, 0.1, R_EARTH)
    np.testing.assert_allclose(ones, nearest_neighbour_bandwidths(lon, lat, 3, 0.1, R_EARTH), rtol=1e-12)
    assert ones[0] == pytest.approx(3.0, rel=1e-6) and ones[6] == pytest.approx(2.0, rel=1e-6)
    # weight 1/2 on every point: six neighbours make the count of three
    half = weighted_neighbour_bandwidths(lon, lat, np.full(12, 0.5), 3, 0.1, R_EARTH)
    assert half[0] == pytest.approx(6.0, rel=1e-6) and half[6] == pytest.approx(3.0, rel=1e-6)
    # zero weight on the first five neighbours of point 0: it reaches past them
    w = np.ones(12)
    w[1:6] = 0.0
    assert weighted_neighbour_bandwidths(lon, lat, w, 2, 0.1, R_EARTH)[0] == pytest.approx(7.0, rel=1e-6)
    # the floor
    assert weighted_neighbour_bandwidths(lon, lat, np.ones(12), 1, 1.5, R_EARTH).min() == 1.5


def test_leave_one_out_density_drops_each_centres_own_kernel():
    lon, lat, h, w = [-116.5, -116.45], [33.5, 33.52], [3.0, 5.0], [1.0, 3.0]
    bg = KernelBackground(SQUARE, lon, lat, h, w)
    full = bg.density_at_centres(leave_one_out=False)
    np.testing.assert_allclose(full, bg.density(lon, lat), rtol=1e-14)
    loo = bg.density_at_centres()
    # the other kernel alone: weight share x Gaussian at the great-circle distance between the centres
    r = R_EARTH * math.acos(
        math.sin(math.radians(33.5)) * math.sin(math.radians(33.52))
        + math.cos(math.radians(33.5)) * math.cos(math.radians(33.52)) * math.cos(math.radians(0.05))
    )
    norm = float(np.dot(w, bg.masses))
    # (per sphere km², converted to true km² at each centre's latitude)
    other = [
        w[1] / norm * math.exp(-0.5 * (r / h[1]) ** 2) / (2 * math.pi * h[1] ** 2) * sphere_to_true_area(33.5)
    ]
    other.append(
        w[0]
        / norm
        * math.exp(-0.5 * (r / h[0]) ** 2)
        / (2 * math.pi * h[0] ** 2)
        * sphere_to_true_area(33.52)
    )
    np.testing.assert_allclose(loo, other, rtol=1e-9)
    # a lone kernel: nothing else there, the floor (a millionth of the uniform density)
    lone = KernelBackground(SQUARE, [-116.5], [33.5], 3.0)
    assert lone.density_at_centres()[0] == pytest.approx(1e-6 / lone.area_km2)
    # new bandwidths renormalise: the density still integrates to one
    before = bg.masses.copy()
    bg.set_bandwidths([20.0, 30.0])
    assert (bg.masses < before - 0.02).all() and bg.masses.min() < 0.9
    assert _fine_integral(bg, SQUARE) == pytest.approx(1.0, abs=2e-4)


@pytest.mark.parametrize("region", [SQUARE, POLYGON], ids=["square", "polygon"])
def test_grid_density_integrates_to_one_over_the_region(region):
    rng = np.random.default_rng(1)
    x0, x1, y0, y1 = region.bounds
    lon_e, lat_e = np.linspace(x0, x1, 6), np.linspace(y0, y1, 5)
    bg = GridBackground(region, lon_e, lat_e, rng.uniform(0, 5, (4, 5)))
    assert _fine_integral(bg, region) == pytest.approx(1.0, abs=3e-3 if region is POLYGON else 1e-9)
    # counts proportional to the cells' areas inside the region: the uniform density 1/A
    flat = GridBackground(
        region, lon_e, lat_e, bg.fraction_inside * band_area_km2(lat_e[:-1], lat_e[1:], 1.0)[:, None]
    )
    pts = (np.array([-116.5, -116.9, -116.1]), np.array([33.5, 33.1, 33.3]))
    np.testing.assert_allclose(
        flat.density(*pts) * region.area_km2(), 1.0, atol=3e-3 if region is POLYGON else 1e-12
    )


@pytest.mark.parametrize("kind", ["kernel", "grid"])
def test_sampling_matches_the_density(kind):
    """Chi-square of 20,000 samples in 10 x 10 cells against the cells' probabilities (cell_integrals)."""
    if kind == "kernel":
        bg = _kernels(POLYGON, n=25, seed=3)
    else:
        bg = GridBackground(
            POLYGON, np.linspace(-117.1, -115.8, 8), np.linspace(33, 34.1, 6), np.arange(35.0).reshape(5, 7)
        )
    # test cells: the grid's cells halved (a cell of the test grid never straddles a cell of the density's)
    lon_e, lat_e = np.linspace(-117.1, -115.8, 15), np.linspace(33.0, 34.1, 11)
    prob = bg.cell_integrals(lon_e, lat_e)
    n = 20000
    lon, lat = bg.sample(n, np.random.default_rng(7))
    assert lon.size == n and POLYGON.contains(lon, lat).all()
    observed, _, _ = np.histogram2d(lat, lon, bins=[lat_e, lon_e])
    expected = prob / prob.sum() * n
    use = expected > 5
    assert observed[~use].sum() <= max(30, 3 * expected[~use].sum())
    chi2 = float(((observed[use] - expected[use]) ** 2 / expected[use]).sum())
    assert chi2 < stats.chi2.ppf(0.999, int(use.sum()) - 1), chi2


TRUTH = dict(
    log10_mu=-3.5,
    log10_k0=0.0,  # scaled below to branching ratio 0.5
    a=1.2,
    log10_c=-2.5,
    omega=0.1,
    log10_tau=2.0,
    log10_d=-1.0,
    gamma=0.8,
    rho=1.5,
)
TRUTH["log10_k0"] = math.log10(0.5 / branching_ratio(ETASParameters(**TRUTH), 2.3))
TWO_BLOBS = KernelBackground(SQUARE, [-116.7, -116.3], [33.3, 33.7], [8.0, 12.0], [1.0, 2.0])


@pytest.fixture(scope="module")
def blob_catalog():
    model = ETAS(min_magnitude=2.0, region=SQUARE, background=TWO_BLOBS).set_params(TRUTH, beta=2.3)
    return model.simulate("2000-01-01", "2001-01-01", seed=4)


def test_uniform_option_reproduces_todays_likelihood(blob_catalog):
    window = ("2000-01-01", "2000-02-01", "2001-01-01")
    default = ETAS(min_magnitude=2.0, region=SQUARE).set_params(TRUTH, beta=2.3)
    uniform = ETAS(min_magnitude=2.0, region=SQUARE, background="uniform").set_params(TRUTH, beta=2.3)
    theta = default.params_.to_array()
    ll0 = default._loglik(theta, default._prepare(blob_catalog, *window))
    assert uniform._loglik(theta, uniform._prepare(blob_catalog, *window)) == ll0
    # a user grid with counts proportional to the cells' areas is the uniform density
    lat_e = np.linspace(33, 34, 5)
    counts = np.repeat(band_area_km2(lat_e[:-1], lat_e[1:], 0.25)[:, None], 4, axis=1)
    flat = GridBackground(SQUARE, np.linspace(-117, -116, 5), lat_e, counts)
    given = ETAS(min_magnitude=2.0, region=SQUARE, background=flat).set_params(TRUTH, beta=2.3)
    prep = given._prepare(blob_catalog, *window)
    prep.bg_density = given._relative_density(flat, prep)
    np.testing.assert_allclose(prep.bg_density, 1.0, rtol=1e-9)
    assert given._loglik(theta, prep) == pytest.approx(ll0, rel=1e-12)


def test_variable_background_likelihood_equals_the_double_sum(blob_catalog):
    model = ETAS(
        min_magnitude=2.0, region=SQUARE, background=TWO_BLOBS, coppersmith_multiplier=None
    ).set_params(TRUTH, beta=2.3)
    window = ("2000-01-01", "2000-03-01", "2000-04-01")
    prep = model._prepare(blob_catalog, *window)
    prep.bg_density = model._relative_density(TWO_BLOBS, prep)
    fast = model._loglik(model.params_.to_array(), prep)
    slow = direct_log_likelihood(
        model, blob_catalog, auxiliary_start=window[0], start=window[1], end=window[2]
    )
    assert fast == pytest.approx(slow, rel=1e-9)
    # the true (two-blob) background explains the catalog better than the uniform one
    uniform = ETAS(min_magnitude=2.0, region=SQUARE, coppersmith_multiplier=None).set_params(TRUTH, beta=2.3)
    assert fast > uniform._loglik(uniform.params_.to_array(), uniform._prepare(blob_catalog, *window)) + 10


def test_save_load_round_trip(tmp_path, blob_catalog):
    model = ETAS(min_magnitude=2.0, region=SQUARE, background=TWO_BLOBS).set_params(TRUTH, beta=2.3)
    path = model.save(tmp_path / "etas.json")
    back = ETAS.load(path)
    assert back.background_mode == "given" and isinstance(back.background, KernelBackground)
    pts = (np.array([-116.7, -116.5, -116.1]), np.array([33.3, 33.5, 33.9]))
    np.testing.assert_allclose(back.background.density(*pts), TWO_BLOBS.density(*pts), rtol=1e-12)
    grid = GridBackground(SQUARE, [-117, -116.5, -116], [33, 34], [[1.0, 2.0]])
    assert background_from_dict(json.loads(json.dumps(grid.to_dict()))).density(-116.2, 33.5) == grid.density(
        -116.2, 33.5
    )
    # a version-1 file (no background fields) loads as the uniform model
    d = json.loads(path.read_text())
    for key in ("background", "background_mode", "background_options"):
        d.pop(key)
    d["version"] = 1
    (tmp_path / "old.json").write_text(json.dumps(d))
    old = ETAS.load(tmp_path / "old.json")
    assert old.background is None and old.background_mode == "uniform"
    assert old.params_ == model.params_


def test_bad_background_options_are_rejected():
    with pytest.raises(ValueError, match="background must be"):
        ETAS(min_magnitude=2.0, region=SQUARE, background="smooth")
    with pytest.raises(ValueError, match="spatio-temporal"):
        ETAS(min_magnitude=2.0, spatial=False, background="adaptive")
    with pytest.raises(ValueError, match="unknown background_options"):
        ETAS(min_magnitude=2.0, region=SQUARE, background="adaptive", background_options={"bandwidth_km": 3})
    with pytest.raises(ValueError, match="'background' or 'events'"):
        ETAS(min_magnitude=2.0, region=SQUARE, background="adaptive", background_options={"bandwidth": 3})


def test_gridded_forecast_puts_the_background_where_the_density_is(blob_catalog):
    model = ETAS(min_magnitude=2.0, region=SQUARE, background=TWO_BLOBS).set_params(TRUTH, beta=2.3)
    ds = model.forecast(None, "2001-01-01", "2001-02-01", n_simulations=20, cell_deg=0.1, seed=1)
    total = ds["expected_count"].sum("magnitude").to_numpy()
    expected_bg = model.params_.natural["mu"] * model.area_km2 * 31
    probs = TWO_BLOBS.cell_integrals(np.linspace(-117, -116, 11), np.linspace(33, 34, 11))
    # without history, everything is the background and its offspring: the total is at least the background
    assert total.sum() >= expected_bg * 0.99
    hot, cold = (
        np.unravel_index(np.argmax(probs), probs.shape),
        np.unravel_index(np.argmin(probs), probs.shape),
    )
    assert total[hot] > 50 * total[cold]


@pytest.mark.slow
def test_adaptive_background_recovery(blob_catalog):
    """Two Gaussian blobs: the estimated density follows the truth and all nine parameters stay within 2 sigma.

    Before the estimate took its bandwidths from the background events and left each event's own kernel
    out, the background absorbed part of the clustering: log10_mu +2.66 sigma, log10_k0 -2.09 (sum z² 25.9).
    """
    fit = ETAS(
        min_magnitude=2.0,
        region=SQUARE,
        method="newton",
        region_integral="exact",
        coppersmith_multiplier=None,
        background="adaptive",
    )
    fit.fit(blob_catalog, auxiliary_start="2000-01-01", start="2000-02-01", end="2001-01-01")
    gx, gy = np.meshgrid(np.linspace(-116.98, -116.02, 30), np.linspace(33.02, 33.98, 30))
    est, true = fit.background.density(gx, gy).ravel(), TWO_BLOBS.density(gx, gy).ravel()
    assert np.corrcoef(est, true)[0, 1] > 0.9
    assert fit.fit_info_["background_updates"] >= 2 and fit.fit_info_["background_converged"]
    assert _fine_integral(fit.background, SQUARE) == pytest.approx(1.0, abs=1e-3)
    table = fit.parameter_table()
    z = (table["value"] - pd.Series(TRUTH)) / table["std_error"]
    assert (z.abs() < 2).all(), z.round(2).to_dict()
    assert float((z**2).sum()) < 21.67  # 99 % point of chi²(9)
