"""Bridge to pycsep: one gridded forecast representation, CSEP consistency and comparison tests.

quakelab's gridded forecast is an :class:`xarray.Dataset` with ``expected_count`` over
``(magnitude, latitude, longitude)`` — the expected number of events per cell over a time window
(coordinates are cell centres, magnitudes are lower bin edges, attrs carry ``start``, ``end`` and
``cell_deg``). It converts to and from pycsep's :class:`~csep.core.forecasts.GriddedForecast`, and the
CSEP tests are pycsep's own (Zechar et al. 2010; Rhoades et al. 2011): they are called, not reimplemented.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from quakelab.region import Region


def _grid(ds):
    lat = ds["latitude"].to_numpy()
    lon = ds["longitude"].to_numpy()
    dh = float(ds.attrs.get("cell_deg", np.round(np.diff(lon[:2])[0], 10) if lon.size > 1 else 0.1))
    return lat, lon, dh


def to_pycsep_forecast(ds, *, region: Region | None = None, name: str = "quakelab"):
    """Convert a gridded forecast Dataset into a pycsep ``GriddedForecast``.

    Parameters
    ----------
    ds : xarray.Dataset
        Forecast with ``expected_count(magnitude, latitude, longitude)``.
    region : Region, optional
        Keep only cells whose centre lies in the region; cells that are NaN (outside the forecast's own
        region) are always left out.
    name : str
        Forecast name.

    Returns
    -------
    csep.core.forecasts.GriddedForecast
        Rates per (spatial cell, magnitude bin) over the window.
    """
    from csep.core.forecasts import GriddedForecast
    from csep.core.regions import CartesianGrid2D

    lat, lon, dh = _grid(ds)
    lon_c, lat_c = np.meshgrid(lon, lat)  # (lat, lon)
    keep = ds["expected_count"].notnull().any("magnitude").transpose("latitude", "longitude").to_numpy()
    if region is not None:
        keep &= region.contains(lon_c.ravel(), lat_c.ravel()).reshape(lon_c.shape)
    origins = np.column_stack([(lon_c - dh / 2)[keep], (lat_c - dh / 2)[keep]])
    mags = ds["magnitude"].to_numpy()
    cartesian = CartesianGrid2D.from_origins(np.round(origins, 10), dh=dh, magnitudes=mags)
    counts = (
        ds["expected_count"].transpose("latitude", "longitude", "magnitude").to_numpy()[keep]
    )  # (cells, mags)
    # pycsep orders cells by its own index: map our origins to it
    idx = cartesian.get_index_of(origins[:, 0] + dh / 2, origins[:, 1] + dh / 2)
    data = np.zeros((cartesian.num_nodes, mags.size))
    data[idx] = counts
    start = pd.Timestamp(ds.attrs["start"]).to_pydatetime() if "start" in ds.attrs else None
    end = pd.Timestamp(ds.attrs["end"]).to_pydatetime() if "end" in ds.attrs else None
    return GriddedForecast(
        data=data, region=cartesian, magnitudes=mags, name=name, start_time=start, end_time=end
    )


def from_pycsep_forecast(forecast):
    """Convert a pycsep ``GriddedForecast`` into quakelab's gridded Dataset (cells absent in pycsep: NaN).

    Parameters
    ----------
    forecast : csep.core.forecasts.GriddedForecast
        E.g. ``csep.load_gridded_forecast(...)``.

    Returns
    -------
    xarray.Dataset
        ``expected_count(magnitude, latitude, longitude)``.
    """
    import xarray as xr

    region = forecast.region
    dh = float(region.dh)
    origins = region.origins()
    lon = np.round(np.unique(origins[:, 0]) + dh / 2, 10)
    lat = np.round(np.unique(origins[:, 1]) + dh / 2, 10)
    ix = np.rint((origins[:, 0] + dh / 2 - lon[0]) / dh).astype(int)
    iy = np.rint((origins[:, 1] + dh / 2 - lat[0]) / dh).astype(int)
    mags = np.asarray(forecast.magnitudes, dtype=float)
    full_lon = np.round(lon[0] + dh * np.arange(ix.max() + 1), 10)
    full_lat = np.round(lat[0] + dh * np.arange(iy.max() + 1), 10)
    arr = np.full((mags.size, full_lat.size, full_lon.size), np.nan)
    arr[:, iy, ix] = np.asarray(forecast.data, dtype=float).T
    attrs = {"cell_deg": dh, "model": forecast.name or "pycsep"}
    if getattr(forecast, "start_time", None) is not None:
        attrs["start"] = str(pd.Timestamp(forecast.start_time))
    if getattr(forecast, "end_time", None) is not None:
        attrs["end"] = str(pd.Timestamp(forecast.end_time))
    return xr.Dataset(
        {"expected_count": (("magnitude", "latitude", "longitude"), arr)},
        coords={"magnitude": mags, "latitude": full_lat, "longitude": full_lon},
        attrs=attrs,
    )


def to_pycsep_catalog(catalog: pd.DataFrame, forecast=None, *, name: str = "observed"):
    """Convert a canonical catalog into a pycsep ``CSEPCatalog`` (filtered to the forecast's region and
    magnitudes when a pycsep forecast is given).

    Returns
    -------
    csep.core.catalogs.CSEPCatalog
        The catalog.
    """
    from csep.core.catalogs import CSEPCatalog

    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    ms = ((catalog["time"].dt.tz_convert("UTC") - epoch) // pd.Timedelta(milliseconds=1)).to_numpy(
        dtype=np.int64
    )
    frame = pd.DataFrame(
        {
            "id": catalog["event_id"].astype(str).str.encode("utf-8").to_numpy(),
            "origin_time": ms,
            "latitude": catalog["latitude"].to_numpy(dtype=float),
            "longitude": catalog["longitude"].to_numpy(dtype=float),
            "depth": catalog["depth_km"].fillna(0.0).to_numpy(dtype=float),
            "magnitude": catalog["magnitude"].to_numpy(dtype=float),
        }
    )
    cat = CSEPCatalog.from_dataframe(frame, name=name)
    if forecast is not None:
        cat.region = forecast.region
        cat = cat.filter_spatial(forecast.region, in_place=False)
        mmin = float(np.min(forecast.magnitudes))
        cat = cat.filter(f"magnitude >= {mmin - 1e-9}", in_place=False)
    return cat


def csep_tests(
    forecast, observed: pd.DataFrame, *, reference=None, seed: int = 0, num_simulations: int = 1000
) -> pd.DataFrame:
    """Run pycsep's Poisson consistency tests (N, M, S, L, CL) and, with a reference, the T and W tests.

    Parameters
    ----------
    forecast : xarray.Dataset or csep GriddedForecast
        The forecast under test.
    observed : pandas.DataFrame
        Observed events of the forecast window (canonical catalog).
    reference : xarray.Dataset or csep GriddedForecast, optional
        Reference forecast for the comparison tests (e.g. Poisson).
    seed : int
        Seed of pycsep's simulations.
    num_simulations : int
        Simulations of the likelihood-based tests.

    Returns
    -------
    pandas.DataFrame
        One row per test with pycsep's result object in ``result``. ``quantile``: the quantile score of
        the consistency tests (N-test: delta1, with delta2 in ``quantile_2``), the t statistic of the
        T-test (critical value in ``quantile_2``; ``information_gain`` per earthquake with ``ig_low`` and
        ``ig_high``) and the probability of the W-test.
    """
    from csep.core import poisson_evaluations as pe

    if hasattr(forecast, "data_vars") and {"start", "end"} <= set(forecast.attrs) and len(observed):
        t0, t1 = pd.Timestamp(forecast.attrs["start"]), pd.Timestamp(forecast.attrs["end"])
        t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0
        t1 = t1.tz_localize("UTC") if t1.tzinfo is None else t1
        outside = (observed["time"] < t0) | (observed["time"] >= t1)
        if outside.any():
            raise ValueError(
                f"{int(outside.sum())} observed events fall outside the forecast window {t0} .. {t1}: "
                "select the test catalog to the forecast's window"
            )
    fc = (
        forecast
        if not hasattr(forecast, "data_vars")
        else to_pycsep_forecast(forecast, name=forecast.attrs.get("model", "forecast"))
    )
    cat = to_pycsep_catalog(observed, fc)
    if len(observed) and cat.event_count == 0:
        raise ValueError(
            f"none of the {len(observed)} observed events lies in the forecast's cells and magnitude "
            f"bins (>= {float(np.min(fc.magnitudes))}): the forecast grid does not match the test catalog"
        )
    rows = []
    n = pe.number_test(fc, cat)
    q = n.quantile
    rows.append(
        {
            "test": "N-test",
            "quantile": float(q[0]),
            "quantile_2": float(q[1]),
            "observed_statistic": float(n.observed_statistic),
            "result": n,
        }
    )
    for label, func in [
        ("M-test", pe.magnitude_test),
        ("S-test", pe.spatial_test),
        ("L-test", pe.likelihood_test),
        ("CL-test", pe.conditional_likelihood_test),
    ]:
        res = func(fc, cat, num_simulations=num_simulations, seed=seed)
        rows.append(
            {
                "test": label,
                "quantile": float(np.atleast_1d(res.quantile)[0]),
                "quantile_2": np.nan,
                "observed_statistic": float(res.observed_statistic),
                "result": res,
            }
        )
    if reference is not None:
        ref = (
            reference
            if not hasattr(reference, "data_vars")
            else to_pycsep_forecast(reference, name=reference.attrs.get("model", "reference"))
        )
        t = pe.paired_t_test(fc, ref, cat)
        t_stat, t_crit, _alpha = t.quantile
        rows.append(
            {
                "test": "T-test",
                "quantile": float(t_stat),
                "quantile_2": float(t_crit),
                "observed_statistic": float(t.observed_statistic),
                "information_gain": float(t.observed_statistic),
                "ig_low": float(t.test_distribution[0]),
                "ig_high": float(t.test_distribution[1]),
                "result": t,
            }
        )
        w = pe.w_test(fc, ref, cat)
        rows.append(
            {
                "test": "W-test",
                "quantile": float(w.quantile),
                "quantile_2": np.nan,
                "observed_statistic": float(w.observed_statistic),
                "result": w,
            }
        )
    return pd.DataFrame(rows)


def poisson_grid(
    ds, rate_per_day_km2: float, *, region: Region | None = None, b_value: float = 1.0, name: str = "Poisson"
):
    """A homogeneous Poisson forecast on the grid of ``ds``: uniform in space per km², GR in magnitude.

    Parameters
    ----------
    ds : xarray.Dataset
        Template forecast (grid, magnitudes, window in attrs).
    rate_per_day_km2 : float
        Rate of events above the smallest magnitude bin.
    region : Region, optional
        Cells whose centre is outside get zero.
    b_value : float
        Gutenberg–Richter b for the split over magnitude bins (the last bin is open).
    name : str
        Model name.

    Returns
    -------
    xarray.Dataset
        Same layout as ``ds``.
    """
    from quakelab.region import cell_area_km2

    lat, lon, dh = _grid(ds)
    days = (pd.Timestamp(ds.attrs["end"]) - pd.Timestamp(ds.attrs["start"])) / pd.Timedelta(days=1)
    cell_area = cell_area_km2(lat, dh)  # per latitude row
    spatial = np.repeat(cell_area[:, None], lon.size, axis=1)
    if region is not None:
        lon_c, lat_c = np.meshgrid(lon, lat)
        spatial = np.where(region.contains(lon_c.ravel(), lat_c.ravel()).reshape(spatial.shape), spatial, 0.0)
    mags = ds["magnitude"].to_numpy()
    m0 = mags[0]
    surv = 10 ** (-b_value * (mags - m0))
    frac = surv - np.append(surv[1:], 0.0)
    out = ds[["expected_count"]].copy(deep=True)
    out["expected_count"].values = frac[:, None, None] * spatial[None] * rate_per_day_km2 * days
    out.attrs = {**ds.attrs, "model": name}
    return out


def molchan(
    forecast_rate: np.ndarray, event_cells: np.ndarray, reference: np.ndarray | None = None
) -> pd.DataFrame:
    """Molchan diagram of an alarm-based reading of a rate map (Molchan 1991; Zechar & Jordan 2008).

    Cells are switched on from the highest forecast rate down (cells of equal rate together, so the
    curve is a straight line across them); ``tau`` is the fraction of the reference
    measure covered (cell count, or e.g. area or a reference model's rate when ``reference`` is given) and
    ``nu`` the fraction of target events missed.

    Parameters
    ----------
    forecast_rate : array
        Rate per cell (flattened).
    event_cells : array of int
        Cell index of each target event.
    reference : array, optional
        Reference measure per cell (uniform when None).

    Returns
    -------
    pandas.DataFrame
        ``tau, nu`` from (0, 1) to (1, 0) and ``attrs["area_skill_score"]``: the area above the curve,
        ``integral of (1 - nu) dtau`` by trapezoids, 0.5 for an uninformative forecast.

    Examples
    --------
    >>> m = molchan(np.array([4.0, 3.0, 2.0, 1.0]), np.array([0, 0, 3]))
    >>> m["nu"].round(3).tolist()
    [1.0, 0.333, 0.333, 0.333, 0.0]
    >>> round(m.attrs["area_skill_score"], 4)
    0.625
    """
    rate = np.asarray(forecast_rate, dtype=float)
    ref = np.ones_like(rate) if reference is None else np.asarray(reference, dtype=float)
    order = np.argsort(-rate, kind="stable")
    hits = np.bincount(np.asarray(event_cells, dtype=int), minlength=rate.size)[order]
    n = hits.sum()
    if n == 0:
        raise ValueError("no target events")
    # cells of equal rate are switched on together: keep the curve's points at the end of each tie group
    sorted_rate = rate[order]
    ends = np.r_[np.flatnonzero(sorted_rate[1:] != sorted_rate[:-1]), rate.size - 1]
    tau = np.concatenate([[0.0], (np.cumsum(ref[order]) / ref.sum())[ends]])
    nu = np.concatenate([[1.0], (1.0 - np.cumsum(hits) / n)[ends]])
    out = pd.DataFrame({"tau": tau, "nu": nu})
    # trapezoids between switch-on points: an uninformative forecast scores 0.5 in expectation
    out.attrs["area_skill_score"] = float(np.sum((2 - nu[1:] - nu[:-1]) / 2 * np.diff(tau)))
    return out


def information_gain(ll_model: np.ndarray, ll_reference: np.ndarray, alpha: float = 0.05) -> pd.Series:
    """Mean information gain per earthquake of a model over a reference, with a paired t-test.

    ``IG = mean(ll_model - ll_reference)`` over the same test events (per-event log-likelihoods, e.g.
    from :func:`quakelab.evaluate.etas_test_scores`), Student's t interval (Rhoades et al. 2011).

    Returns
    -------
    pandas.Series
        ``information_gain, ci_low, ci_high, t_statistic, p_value, n``.
    """
    from scipy import stats

    d = np.asarray(ll_model, dtype=float) - np.asarray(ll_reference, dtype=float)
    n = d.size
    mean, se = d.mean(), d.std(ddof=1) / np.sqrt(n)
    tcrit = stats.t.ppf(1 - alpha / 2, n - 1)
    t = mean / se if se > 0 else np.inf
    return pd.Series(
        {
            "information_gain": mean,
            "ci_low": mean - tcrit * se,
            "ci_high": mean + tcrit * se,
            "t_statistic": t,
            "p_value": float(2 * stats.t.sf(abs(t), n - 1)),
            "n": n,
        }
    )


def write_catalog_forecast_csv(simulations: pd.DataFrame, path, *, n_simulations: int | None = None):
    """Write simulated catalogs in pycsep's catalog-forecast CSV format, atomically.

    Kept for existing callers; the implementation is :func:`quakelab.forecast.write_catalog_forecast_csv`
    (see also :class:`quakelab.forecast.CatalogForecast`).

    Returns
    -------
    pathlib.Path
        The file.
    """
    from quakelab.forecast.catalog import write_catalog_forecast_csv as _write

    return _write(simulations, path, n_simulations=n_simulations)


def read_catalog_forecast_csv(path, *, start=None, end=None, region=None):
    """Load a catalog-forecast CSV with pycsep (``csep.load_catalog_forecast``).

    For quakelab's own object use :meth:`quakelab.forecast.CatalogForecast.read_csv`.

    Returns
    -------
    csep.core.forecasts.CatalogForecast
        pycsep's catalog forecast (its ``catalogs`` iterate as CSEPCatalog objects).
    """
    import csep

    kwargs = {}
    if start is not None:
        kwargs["start_time"] = pd.Timestamp(start).to_pydatetime()
    if end is not None:
        kwargs["end_time"] = pd.Timestamp(end).to_pydatetime()
    if region is not None:
        kwargs["region"] = region
    return csep.load_catalog_forecast(str(path), **kwargs)


def window_datetimes(start, end) -> tuple[_dt.datetime, _dt.datetime]:
    """UTC-naive datetimes as pycsep expects them."""
    return (
        pd.Timestamp(start).tz_convert(None).to_pydatetime()
        if pd.Timestamp(start).tzinfo
        else pd.Timestamp(start).to_pydatetime(),
        pd.Timestamp(end).tz_convert(None).to_pydatetime()
        if pd.Timestamp(end).tzinfo
        else pd.Timestamp(end).to_pydatetime(),
    )
