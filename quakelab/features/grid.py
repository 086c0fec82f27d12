"""Causal seismicity features on a (time, latitude, longitude) grid, with labels for the next horizon.

Every feature at time ``t`` uses only events with ``time < t``; labels count events in
``[t, t + horizon)``. Counts are binned once into (time step, cell) and windows are differences of
cumulative sums, so the cost is linear in the number of events plus the grid size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from quakelab.timeutils import utc


def _bin(catalog: pd.DataFrame, t0: pd.Timestamp, step_days: float, n_steps: int, lon_edges, lat_edges):
    days = ((catalog["time"] - t0) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    it = np.floor(days / step_days).astype(int)
    iy = np.searchsorted(lat_edges, catalog["latitude"].to_numpy(), side="right") - 1
    ix = np.searchsorted(lon_edges, catalog["longitude"].to_numpy(), side="right") - 1
    ok = (it >= 0) & (it < n_steps) & (iy >= 0) & (iy < lat_edges.size - 1) & (ix >= 0) & (ix < lon_edges.size - 1)
    return it[ok], iy[ok], ix[ok], catalog["magnitude"].to_numpy(dtype=float)[ok], days[ok]


def build_feature_grid(catalog: pd.DataFrame, *, bbox: tuple[float, float, float, float], cell_deg: float,
                       start, end, step_days: float = 1.0, lookbacks_days: Sequence[float] = (7.0, 30.0, 365.0),
                       horizon_days: float = 7.0, target_magnitude: float = 4.0, mc: float | None = None,
                       chunks: dict | None = None):
    """Seismicity indicators per cell and time step, and labels for the coming horizon.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog (events before ``start`` feed the look-back windows).
    bbox : (min_lon, max_lon, min_lat, max_lat)
        Grid extent.
    cell_deg : float
        Cell size in degrees.
    start, end : time-like
        Feature times ``start, start + step, ... < end`` (UTC).
    step_days : float, default 1
        Time step.
    lookbacks_days : sequence of float
        Look-back windows (multiples of ``step_days``).
    horizon_days : float, default 7
        Label horizon (a multiple of ``step_days``).
    target_magnitude : float, default 4
        Magnitude of the occurrence label and of ``days_since_m_target``.
    mc : float, optional
        Events below are ignored (none when None).
    chunks : dict, optional
        Return dask-backed variables chunked like this (e.g. ``{"time": 365}``).

    Returns
    -------
    xarray.Dataset
        Dims ``(time, latitude, longitude)``. For each look-back ``w``: ``count_w``, ``rate_w`` (per day),
        ``rate_change_w`` (log of (count in the last w + 1) / (count in the w before + 1)), ``max_mag_w``,
        ``mean_mag_w``, ``benioff_w`` (sum of sqrt(energy), energy = 10^(1.5 M + 4.8) J), ``neighbour_count_w``
        (3×3 cells); ``days_since_m_target`` (capped at the history length); labels ``n_next`` and
        ``occurs_next`` (at least one ``M >= target_magnitude`` in ``[t, t + horizon)``).
    """
    import xarray as xr

    t_start, t_end = utc(start), utc(end)
    lookbacks = [float(w) for w in lookbacks_days]
    steps_w = [int(round(w / step_days)) for w in lookbacks]
    steps_h = int(round(horizon_days / step_days))
    if min(steps_w + [steps_h]) < 1:
        raise ValueError("look-back windows and horizon must be at least one time step")
    history = max(lookbacks) * 2  # rate_change compares two windows
    t0 = t_start - pd.Timedelta(days=history)
    n_out = int(np.ceil((t_end - t_start) / pd.Timedelta(days=step_days)))
    off = int(round(history / step_days))
    n_steps = off + n_out + steps_h
    cat = catalog if mc is None else catalog[catalog["magnitude"] >= mc - 1e-9]
    lon_edges = np.round(np.arange(bbox[0], bbox[1] + cell_deg / 2, cell_deg), 10)
    lat_edges = np.round(np.arange(bbox[2], bbox[3] + cell_deg / 2, cell_deg), 10)
    ny, nx = lat_edges.size - 1, lon_edges.size - 1
    it, iy, ix, mag, days = _bin(cat, t0, step_days, n_steps, lon_edges, lat_edges)

    count = np.zeros((n_steps, ny, nx))
    np.add.at(count, (it, iy, ix), 1.0)
    msum = np.zeros_like(count)
    np.add.at(msum, (it, iy, ix), mag)
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

    c_count, c_msum, c_ben = cum(count), cum(msum), cum(benioff)
    times = np.arange(off, off + n_out)  # feature step k uses steps < k
    data = {}
    for w, sw in zip(lookbacks, steps_w, strict=True):
        n_w = c_count[times] - c_count[times - sw]
        n_prev = c_count[times - sw] - c_count[np.maximum(times - 2 * sw, 0)]
        label = f"{w:g}d"
        data[f"count_{label}"] = n_w
        data[f"rate_{label}"] = n_w / w
        data[f"rate_change_{label}"] = np.log((n_w + 1) / (n_prev + 1))
        data[f"mean_mag_{label}"] = np.where(n_w > 0, (c_msum[times] - c_msum[times - sw]) / np.maximum(n_w, 1), np.nan)
        data[f"benioff_{label}"] = c_ben[times] - c_ben[times - sw]
        padded = np.concatenate([np.full((sw, ny, nx), -np.inf), mmax])  # index shift by sw
        win = sliding_window_view(padded, sw, axis=0)  # win[k] covers steps k - sw .. k - 1
        mx = win[times].max(axis=-1)
        data[f"max_mag_{label}"] = np.where(np.isfinite(mx), mx, np.nan)
        pad = np.pad(n_w, ((0, 0), (1, 1), (1, 1)))
        data[f"neighbour_count_{label}"] = sum(pad[:, 1 + dy:1 + dy + ny, 1 + dx:1 + dx + nx]
                                               for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    # days since the last M >= target before each feature time (forward fill of the latest event day)
    latest = np.fmax.accumulate(np.where(np.isnan(last_big), -np.inf, last_big), axis=0)
    latest = np.concatenate([np.full((1, ny, nx), -np.inf), latest])[times]
    t_days = times * step_days
    data["days_since_m_target"] = np.where(np.isfinite(latest), t_days[:, None, None] - latest, history)
    n_next = c_count[times + steps_h] - c_count[times]
    data["n_next"] = n_next
    c_big = cum(_count_big(it, iy, ix, big, n_steps, ny, nx))
    data["occurs_next"] = (c_big[times + steps_h] - c_big[times]) > 0
    coords = {"time": pd.DatetimeIndex([t_start + pd.Timedelta(days=step_days * k) for k in range(n_out)]).tz_convert(None),
              "latitude": (lat_edges[:-1] + lat_edges[1:]) / 2, "longitude": (lon_edges[:-1] + lon_edges[1:]) / 2}
    ds = xr.Dataset({k: (("time", "latitude", "longitude"), v) for k, v in data.items()}, coords=coords,
                    attrs={"step_days": step_days, "horizon_days": horizon_days, "target_magnitude": target_magnitude,
                           "cell_deg": cell_deg, "lookbacks_days": str(lookbacks), "causal": "features at t use events before t",
                           "time_zone": "UTC"})
    return ds.chunk(chunks) if chunks else ds


def _count_big(it, iy, ix, big, n_steps, ny, nx) -> np.ndarray:
    out = np.zeros((n_steps, ny, nx))
    np.add.at(out, (it[big], iy[big], ix[big]), 1.0)
    return out
