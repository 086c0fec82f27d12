"""Causal seismicity features on a (time, latitude, longitude) grid, with labels for the next horizon.

Every feature at time ``t`` uses only events with ``time < t``; labels count events in
``[t, t + horizon)``. Counts are binned once into (time step, cell) and windows are differences of
cumulative sums, so the cost is linear in the number of events plus the grid size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from quakelab._compat import renamed_kwargs
from quakelab.region import as_region
from quakelab.timeutils import utc


def _bin(catalog: pd.DataFrame, t0: pd.Timestamp, step_days: float, n_steps: int, lon_edges, lat_edges):
    days = ((catalog["time"] - t0) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    it = np.floor(days / step_days).astype(int)
    iy = np.searchsorted(lat_edges, catalog["latitude"].to_numpy(), side="right") - 1
    ix = np.searchsorted(lon_edges, catalog["longitude"].to_numpy(), side="right") - 1
    ok = (
        (it >= 0)
        & (it < n_steps)
        & (iy >= 0)
        & (iy < lat_edges.size - 1)
        & (ix >= 0)
        & (ix < lon_edges.size - 1)
    )
    return it[ok], iy[ok], ix[ok], catalog["magnitude"].to_numpy(dtype=float)[ok], days[ok]


@renamed_kwargs(bbox="region", mc="min_magnitude", delta_m="magnitude_resolution")
def build_feature_grid(
    catalog: pd.DataFrame | str,
    *,
    region: Any,
    cell_deg: float,
    start,
    end,
    step_days: float = 1.0,
    lookbacks_days: Sequence[float] = (7.0, 30.0, 365.0),
    horizon_days: float = 7.0,
    target_magnitude: float = 4.0,
    min_magnitude: float | None = None,
    magnitude_resolution: float = 0.1,
    b_min_events: int = 20,
    pa_events: int | None = 50,
    etas=None,
    chunks: dict | None = None,
    scheduler: Any = None,
    chunk_steps: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
    _steps: tuple[int, int] | None = None,
):
    """Seismicity indicators per cell and time step, and labels for the coming horizon.

    Parameters
    ----------
    catalog : pandas.DataFrame or str
        Canonical catalog (events before ``start`` feed the look-back windows), or a source of
        :func:`quakelab.catalog.open_catalog` (a path or a URL such as ``s3://bucket/catalog.parquet``;
        on Dask each worker reads it itself).
    region : Region or bbox ``(min_lon, max_lon, min_lat, max_lat)`` or vertices
        The lattice covers the region's bounding box, from its south-west corner (old name: ``bbox``,
        deprecated).
    cell_deg : float
        Cell size in degrees.
    start, end : time-like
        Feature times ``start, start + step, ... < end`` (UTC).
    step_days : float, default 1
        Time step.
    lookbacks_days : sequence of float
        Look-back windows (rounded to whole time steps; the names keep the values given).
    horizon_days : float, default 7
        Label horizon (a multiple of ``step_days``).
    target_magnitude : float, default 4
        Magnitude of the occurrence label and of ``days_since_m_target``.
    min_magnitude : float, optional
        Events below are ignored (none when None); also the completeness magnitude of the b-values
        (the smallest magnitude of the catalog when None). Old name: ``mc`` (deprecated).
    magnitude_resolution : float, default 0.1
        The catalog's magnitude resolution (b-value bin correction). Old name: ``delta_m`` (deprecated).
    b_min_events : int, default 20
        Fewest events for a b-value (NaN below).
    pa_events : int or None, default 50
        Number ``n`` of preceding events per cell of the Panakkat–Adeli indicators (None: not computed).
    etas : quakelab.models.ETAS, optional
        A fitted spatio-temporal ETAS model (fit it on the training window only): adds
        ``etas_expected_count`` and ``etas_p_target`` (see :func:`etas_expected_counts`).
    chunks : dict, optional
        Return dask-backed variables chunked like this (e.g. ``{"time": 365}``).
    scheduler : optional
        Compute blocks of ``chunk_steps`` feature times as tasks on Dask: ``"local"``, an address such
        as ``"tcp://host:8786"``, a cluster or a ``distributed.Client`` (see
        :func:`quakelab.distributed.get_client`). The result is identical to the one computed here
        (every block bins the same events from the same origin).
    chunk_steps : int, optional
        Feature times per task on Dask (default: about two tasks per worker thread; rounded up to a
        multiple of 64 when ``etas`` is given, its block size).
    storage_options : mapping, optional
        fsspec options when ``catalog`` is a URL.

    Returns
    -------
    xarray.Dataset
        Dims ``(time, latitude, longitude)``. For each look-back ``w``: ``count_w``, ``rate_w`` (per day),
        ``rate_change_w`` (log of (count in the last w + 1) / (count in the w before + 1)), ``max_mag_w``,
        ``mean_mag_w``, ``benioff_w`` (sum of sqrt(energy), energy = 10^(1.5 M + 4.8) J), ``neighbour_count_w``
        (3×3 cells), ``b_value_w`` and ``b_sigma_w`` (Aki–Utsu with bin correction, Shi–Bolt σ);
        ``days_since_m_target`` (capped at the history length); the Panakkat–Adeli (2007) indicators
        over the last ``n = pa_events`` events of the cell (NaN with fewer): ``pa_T`` (days from the first
        to the last of them), ``pa_mean_mag``, ``pa_dE_half`` (√energy released per day over ``pa_T``),
        ``pa_b`` and ``pa_eta`` (least-squares Gutenberg–Richter fit of log10 N(≥M) and its mean squared
        residual), ``pa_delta_m`` (largest magnitude minus a/b), ``pa_mu`` and ``pa_c`` (mean and coefficient
        of variation of the times between ``M >= target_magnitude`` events among them); the ETAS
        variables when ``etas`` is given; labels ``n_next`` and ``occurs_next`` (at least one
        ``M >= target_magnitude`` in ``[t, t + horizon)``).
    """
    import xarray as xr

    settings = {k: v for k, v in locals().items() if k not in ("catalog", "scheduler", "_steps", "xr")}
    if scheduler is not None and _steps is None:
        return _build_on_dask(catalog, settings, scheduler)
    if not isinstance(catalog, pd.DataFrame):
        from quakelab.catalog import open_catalog

        catalog = open_catalog(catalog, storage_options=storage_options)
    t_start, t_end = utc(start), utc(end)
    lookbacks = [float(w) for w in lookbacks_days]
    steps_w = [int(round(w / step_days)) for w in lookbacks]
    steps_h = int(round(horizon_days / step_days))
    if min(steps_w + [steps_h]) < 1:
        raise ValueError("look-back windows and horizon must be at least one time step")
    history = max(lookbacks) * 2  # rate_change compares two windows
    n_out = int(np.ceil((t_end - t_start) / pd.Timedelta(days=step_days)))
    off = int(np.ceil(history / step_days - 1e-9))  # whole steps of history before the first feature time
    history = off * step_days
    t0 = t_start - pd.Timedelta(days=history)
    n_steps = off + n_out + steps_h
    cat = catalog if min_magnitude is None else catalog[catalog["magnitude"] >= min_magnitude - 1e-9]
    x0, x1, y0, y1 = as_region(region).bounds
    lon_edges = np.round(np.arange(x0, x1 + cell_deg / 2, cell_deg), 10)
    lat_edges = np.round(np.arange(y0, y1 + cell_deg / 2, cell_deg), 10)
    ny, nx = lat_edges.size - 1, lon_edges.size - 1
    it, iy, ix, mag, days = _bin(cat, t0, step_days, n_steps, lon_edges, lat_edges)

    count = np.zeros((n_steps, ny, nx))
    np.add.at(count, (it, iy, ix), 1.0)
    msum = np.zeros_like(count)
    np.add.at(msum, (it, iy, ix), mag)
    msq = np.zeros_like(count)
    np.add.at(msq, (it, iy, ix), mag * mag)
    benioff = np.zeros_like(count)
    np.add.at(benioff, (it, iy, ix), np.sqrt(10 ** (1.5 * mag + 4.8)))
    mmax = np.full_like(count, -np.inf)
    np.maximum.at(mmax, (it, iy, ix), mag)
    big = mag >= target_magnitude - 1e-9
    last_big = np.full((n_steps, ny, nx), np.nan)
    np.fmax.at(last_big, (it[big], iy[big], ix[big]), days[big])

    def cum(a):
        c = np.cumsum(a, axis=0)
        return np.concatenate([np.zeros((1, ny, nx)), c])  # c[k] = sum of steps < k

    c_count, c_msum, c_msq, c_ben = cum(count), cum(msum), cum(msq), cum(benioff)
    m_low = float(min_magnitude) if min_magnitude is not None else (float(mag.min()) if mag.size else 0.0)
    m_low -= magnitude_resolution / 2
    k0, k1 = _steps if _steps is not None else (0, n_out)
    times = np.arange(off + k0, off + k1)  # feature step k uses steps < k
    data = {}
    for w, sw in zip(lookbacks, steps_w, strict=True):
        n_w = c_count[times] - c_count[times - sw]
        n_prev = c_count[times - sw] - c_count[np.maximum(times - 2 * sw, 0)]
        label = f"{w:g}d"
        data[f"count_{label}"] = n_w
        data[f"rate_{label}"] = n_w / w
        data[f"rate_change_{label}"] = np.log((n_w + 1) / (n_prev + 1))
        data[f"mean_mag_{label}"] = np.where(
            n_w > 0, (c_msum[times] - c_msum[times - sw]) / np.maximum(n_w, 1), np.nan
        )
        data[f"benioff_{label}"] = c_ben[times] - c_ben[times - sw]
        data[f"b_value_{label}"], data[f"b_sigma_{label}"] = _aki_utsu(
            n_w, c_msum[times] - c_msum[times - sw], c_msq[times] - c_msq[times - sw], m_low, b_min_events
        )
        padded = np.concatenate([np.full((sw, ny, nx), -np.inf), mmax])  # index shift by sw
        win = sliding_window_view(padded, sw, axis=0)  # win[k] covers steps k - sw .. k - 1
        mx = win[times].max(axis=-1)
        data[f"max_mag_{label}"] = np.where(np.isfinite(mx), mx, np.nan)
        pad = np.pad(n_w, ((0, 0), (1, 1), (1, 1)))
        data[f"neighbour_count_{label}"] = sum(
            pad[:, 1 + dy : 1 + dy + ny, 1 + dx : 1 + dx + nx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
        )
    # days since the last M >= target before each feature time (forward fill of the latest event day)
    latest = np.fmax.accumulate(np.where(np.isnan(last_big), -np.inf, last_big), axis=0)
    latest = np.concatenate([np.full((1, ny, nx), -np.inf), latest])[times]
    t_days = times * step_days
    data["days_since_m_target"] = np.where(np.isfinite(latest), t_days[:, None, None] - latest, history)
    if pa_events:
        data.update(
            _panakkat_adeli(
                it, iy, ix, mag, days, times * step_days, int(pa_events), target_magnitude, ny, nx
            )
        )
    if etas is not None:
        grid_times = pd.DatetimeIndex([t0 + pd.Timedelta(days=step_days * k) for k in times])
        data["etas_expected_count"], data["etas_p_target"] = etas_expected_counts(
            etas, catalog, grid_times, lat_edges, lon_edges, horizon_days, target_magnitude, origin=t_start
        )
    n_next = c_count[times + steps_h] - c_count[times]
    data["n_next"] = n_next
    c_big = cum(_count_big(it, iy, ix, big, n_steps, ny, nx))
    data["occurs_next"] = (c_big[times + steps_h] - c_big[times]) > 0
    coords = {
        "time": pd.DatetimeIndex(
            [t_start + pd.Timedelta(days=step_days * k) for k in range(k0, k1)]
        ).tz_convert(None),
        "latitude": (lat_edges[:-1] + lat_edges[1:]) / 2,
        "longitude": (lon_edges[:-1] + lon_edges[1:]) / 2,
    }
    ds = xr.Dataset(
        {k: (("time", "latitude", "longitude"), v) for k, v in data.items()},
        coords=coords,
        attrs={
            "step_days": step_days,
            "horizon_days": horizon_days,
            "target_magnitude": target_magnitude,
            "cell_deg": cell_deg,
            "lookbacks_days": str(lookbacks),
            "causal": "features at t use events before t",
            "time_zone": "UTC",
        },
    )
    return ds.chunk(chunks) if chunks else ds


def _feature_block(catalog: Any, settings: dict[str, Any], k0: int, k1: int):
    """One Dask task: the feature times ``k0 .. k1 - 1`` of :func:`build_feature_grid`."""
    return build_feature_grid(catalog, **{**settings, "chunks": None}, _steps=(k0, k1))


def _build_on_dask(catalog: Any, settings: dict[str, Any], scheduler: Any):
    import xarray as xr

    from quakelab.distributed import get_client, map_ordered

    t_start, t_end = utc(settings["start"]), utc(settings["end"])
    n_out = int(np.ceil((t_end - t_start) / pd.Timedelta(days=settings["step_days"])))
    with get_client(scheduler) as client:
        size = settings["chunk_steps"]
        if size is None:
            size = max(1, math.ceil(n_out / (2 * max(1, sum(client.nthreads().values())))))
        if settings["etas"] is not None:  # whole ETAS blocks, so the sums run in the same order
            size = 64 * max(1, math.ceil(size / 64))
        blocks = [(k, min(k + int(size), n_out)) for k in range(0, n_out, int(size))]
        shared = catalog if isinstance(catalog, pd.DataFrame) else str(catalog)
        parts = map_ordered(client, _feature_block, blocks, shared=[shared, settings])
    ds = xr.concat(parts, dim="time", data_vars="all", coords="different", compat="identical")
    ds.attrs = parts[0].attrs
    chunks = settings["chunks"]
    return ds.chunk(chunks) if chunks else ds


def _aki_utsu(n, msum, msq, m_low, min_events):
    """Aki–Utsu b and Shi–Bolt sigma from window sums (NaN below ``min_events``)."""
    ok = n >= max(min_events, 2)
    nn = np.where(ok, n, 2.0)
    mean = msum / nn
    b = np.where(ok, np.log10(np.e) / np.maximum(mean - m_low, 1e-6), np.nan)
    var = np.clip(msq - nn * mean**2, 0, None) / (nn * (nn - 1))
    return b, np.where(ok, 2.30 * b**2 * np.sqrt(var), np.nan)


def _panakkat_adeli(it, iy, ix, mag, days, t_days, n, target, ny, nx) -> dict[str, np.ndarray]:
    """Panakkat & Adeli (2007) indicators over the last ``n`` events of each cell before each time."""
    names = ("pa_T", "pa_mean_mag", "pa_dE_half", "pa_b", "pa_eta", "pa_delta_m", "pa_mu", "pa_c")
    out = {k: np.full((t_days.size, ny, nx), np.nan) for k in names}
    cell = iy * nx + ix
    order = np.lexsort((days, cell))
    cell, d_all, m_all = cell[order], days[order], mag[order]
    bounds = np.flatnonzero(np.diff(cell)) + 1
    starts, stops = np.r_[0, bounds], np.r_[bounds, cell.size]
    for a, z in zip(starts, stops, strict=True):
        if z - a < n:
            continue
        d, m = d_all[a:z], m_all[a:z]
        cy, cx = divmod(int(cell[a]), nx)
        # one row per window of n consecutive events, w = 0 .. len - n (events w .. w + n - 1)
        wd = sliding_window_view(d, n)
        wm = sliding_window_view(m, n)
        T = wd[:, -1] - wd[:, 0]
        mean_mag = wm.mean(axis=1)
        sqrt_e = np.sqrt(10 ** (1.5 * wm + 4.8)).sum(axis=1)
        s = np.sort(wm, axis=1)
        first = np.where(np.c_[np.ones((s.shape[0], 1), bool), s[:, 1:] != s[:, :-1]], np.arange(n), 0)
        first = np.maximum.accumulate(first, axis=1)
        logn = np.log10(n - first)  # log10 N(>= M_i)
        sx, sy = s.sum(1), logn.sum(1)
        sxx, sxy = (s * s).sum(1), (s * logn).sum(1)
        den = sx**2 - n * sxx
        b = np.where(den != 0, (n * sxy - sx * sy) / np.where(den != 0, den, 1), np.nan)
        a_gr = (sy + b * sx) / n
        eta = ((logn - (a_gr[:, None] - b[:, None] * s)) ** 2).sum(1) / (n - 1)
        delta_m = s[:, -1] - np.where(b > 0, a_gr / np.where(b > 0, b, 1), np.nan)
        big = m >= target - 1e-9
        cbig = np.r_[0, np.cumsum(big)]
        bt = d[big]
        gaps = np.diff(bt)
        g1, g2 = (
            np.r_[0.0, np.cumsum(gaps)],
            np.r_[0.0, np.cumsum(gaps**2)],
        )  # g[j]: gaps ending at events 1..j
        w = np.arange(wd.shape[0])
        blo, bhi = cbig[w], cbig[w + n]  # big events among the window: indices blo .. bhi - 1 of bt
        k = bhi - blo - 1  # intervals between them
        j1 = np.clip(bhi - 1, 0, max(g1.size - 1, 0))
        j0 = np.clip(blo, 0, max(g1.size - 1, 0))
        ssum = np.where(k >= 1, g1[j1] - g1[j0], 0.0) if g1.size else np.zeros(k.size)
        ssq = np.where(k >= 1, g2[j1] - g2[j0], 0.0) if g1.size else np.zeros(k.size)
        kk = np.maximum(k, 1)
        mu = np.where(k >= 1, ssum / kk, np.nan)
        sd = np.sqrt(np.clip(ssq / kk - mu**2, 0, None))
        cv = np.where(k >= 2, sd / np.where(mu > 0, mu, np.nan), np.nan)
        # the window used at time t ends with the last event before t
        hi = np.searchsorted(d, t_days, side="left")
        ok = hi >= n
        row = np.where(ok, hi - n, 0)
        for name, v in zip(
            names, (T, mean_mag, sqrt_e / np.where(T > 0, T, np.nan), b, eta, delta_m, mu, cv), strict=True
        ):
            out[name][:, cy, cx] = np.where(ok, v[row], np.nan)
    return out


def etas_expected_counts(
    model,
    catalog: pd.DataFrame,
    times,
    lat_edges,
    lon_edges,
    horizon_days: float,
    target_magnitude: float | None = None,
    n_points: int = 256,
    block: int = 64,
    origin=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected number of events per cell in ``[t, t + horizon)`` from an ETAS model, given events before ``t``.

    The background (``mu`` times the cell's area inside the model region times the horizon) plus the
    direct aftershocks of every earlier event: its productivity times the exact integral of its Omori
    kernel over the horizon times the share of its spatial kernel that falls in the cell. The spatial
    shares are computed from ``n_points`` stratified quantiles of the kernel (deterministic). Aftershocks
    of aftershocks occurring inside the horizon are not included, so for long horizons after large
    events the count is a lower bound of the full ETAS expectation (which needs simulation, see
    :meth:`quakelab.models.ETAS.forecast`).

    Parameters
    ----------
    model : quakelab.models.ETAS
        Fitted spatio-temporal model.
    catalog : pandas.DataFrame
        Events (only those before each time are used).
    times : pandas.DatetimeIndex
        Forecast start times (UTC).
    lat_edges, lon_edges : array
        Cell edges in degrees.
    horizon_days : float
        Forecast horizon.
    target_magnitude : float, optional
        Also return the probability of at least one ``M >= target_magnitude`` (Gutenberg–Richter
        share of the count, Poisson).
    n_points, block : int
        Kernel quantiles per source; times per block (memory).
    origin : time-like, optional
        Time origin of the day offsets (the first of ``times`` when None); blocks of a longer series
        pass the series' first time to get exactly its numbers.

    Returns
    -------
    (expected_count, p_target) : numpy arrays (time, lat, lon)
        Events with ``M >= model.min_magnitude``; probability of at least one ``M >= target_magnitude`` (NaN when
        not requested).
    """
    from scipy import sparse

    from quakelab.features._kernels import horizon_integrals
    from quakelab.region import cell_area_km2

    model.check_is_fitted()
    if not model.spatial:
        raise ValueError("the gridded ETAS feature needs a spatio-temporal model")
    times = pd.DatetimeIndex(times)
    times = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
    ev = model.select_events(catalog, catalog["time"].min(), times.max() + pd.Timedelta(days=1e-6))
    p = model.params_.natural
    ny, nx = lat_edges.size - 1, lon_edges.size - 1
    origin = times.min() if origin is None else utc(origin)
    ts = ((ev["time"] - origin) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    tq = ((times - origin) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    mprime = ev["magnitude"].to_numpy(dtype=float) - model.m_ref
    big_d = p["d"] * np.exp(p["gamma"] * mprime)
    # productivity times the spatial kernel's integral over the plane (times the time integral below)
    mags = mprime + model.m_ref
    weight = model.productivity(mags) * model.spatial_integral(mags, region_integral="plane")
    # spatial shares: stratified radial quantiles of (r^2 + D)^-(1 + rho), golden-angle azimuths
    u = (np.arange(n_points) + 0.5) / n_points
    r = np.sqrt(big_d[:, None] * ((1 - u[None, :]) ** (-1 / p["rho"]) - 1))
    theta = 2 * np.pi * ((np.arange(n_points) * 0.6180339887498949) % 1.0)
    lat0 = ev["latitude"].to_numpy(dtype=float)[:, None]
    lon0 = ev["longitude"].to_numpy(dtype=float)[:, None]
    km_per_deg = np.pi * model.earth_radius_km / 180
    plat = lat0 + r * np.cos(theta) / km_per_deg
    plon = lon0 + r * np.sin(theta) / (km_per_deg * np.cos(np.radians(lat0)))
    iy = np.searchsorted(lat_edges, plat, side="right") - 1
    ix = np.searchsorted(lon_edges, plon, side="right") - 1
    ok = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
    src = np.broadcast_to(np.arange(ts.size)[:, None], ok.shape)[ok]
    share = sparse.csr_matrix(
        (np.full(src.size, 1.0 / n_points), (src, (iy * nx + ix)[ok])), shape=(ts.size, ny * nx)
    )
    out = np.empty((tq.size, ny * nx))
    for b0 in range(0, tq.size, block):
        tb = tq[b0 : b0 + block]
        n_src = int(np.searchsorted(ts, tb.max(), side="left"))
        integ = horizon_integrals(tb, ts[:n_src], float(horizon_days), p["c"], p["omega"], p["tau"])
        out[b0 : b0 + block] = np.asarray((share[:n_src].T @ (integ * weight[:n_src]).T).T)
    lat_c = (lat_edges[:-1] + lat_edges[1:]) / 2
    lon_c = (lon_edges[:-1] + lon_edges[1:]) / 2
    glon, glat = np.meshgrid(lon_c, lat_c)
    cell_deg = float(lat_edges[1] - lat_edges[0])
    inside = model.region.contains(glon.ravel(), glat.ravel())
    area = cell_area_km2(glat.ravel(), cell_deg) * inside
    expected = (out + p["mu"] * area * horizon_days).reshape(tq.size, ny, nx)
    if target_magnitude is None:
        return expected, np.full(expected.shape, np.nan)
    share_target = np.exp(
        -model.beta_ * max(target_magnitude - model.magnitude_resolution / 2 - model.m_ref, 0.0)
    )
    return expected, -np.expm1(-expected * share_target)


def _count_big(it, iy, ix, big, n_steps, ny, nx) -> np.ndarray:
    out = np.zeros((n_steps, ny, nx))
    np.add.at(out, (it[big], iy[big], ix[big]), 1.0)
    return out


def save_feature_grid(ds, path, *, chunks: dict | None = None):
    """Write a feature grid as a chunked Zarr store, atomically (temporary directory, then rename).

    Parameters
    ----------
    ds : xarray.Dataset
    path : path-like
        Target directory (``*.zarr``); an existing store is replaced only once the new one is complete.
    chunks : dict, optional
        Chunking (default: 256 time steps, whole maps).

    Returns
    -------
    pathlib.Path
    """
    from pathlib import Path

    from quakelab.catalog.store import atomic_directory

    out = ds.chunk(chunks or {"time": 256, "latitude": -1, "longitude": -1})
    for v in out.variables.values():
        v.encoding.pop("chunks", None)
    with atomic_directory(path) as new:
        out.to_zarr(new, mode="w", consolidated=False)
    return Path(path)


def open_feature_grid(path):
    """Open a feature grid written by :func:`save_feature_grid` (lazily, dask-backed)."""
    import xarray as xr

    return xr.open_zarr(path, consolidated=False)
