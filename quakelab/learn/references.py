"""Reference forecasts on a feature grid's bins, and the cells worth forecasting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quakelab._compat import renamed_kwargs
from quakelab.timeutils import utc


def _cell_counts(catalog: pd.DataFrame, ds, start, end, min_magnitude: float) -> np.ndarray:
    lat = ds["latitude"].to_numpy()
    lon = ds["longitude"].to_numpy()
    cell = float(ds.attrs.get("cell_deg", lat[1] - lat[0] if lat.size > 1 else lon[1] - lon[0]))
    lat_edges = np.r_[lat - cell / 2, lat[-1] + cell / 2]
    lon_edges = np.r_[lon - cell / 2, lon[-1] + cell / 2]
    sel = catalog[
        (catalog["time"] >= utc(start))
        & (catalog["time"] < utc(end))
        & (catalog["magnitude"] >= min_magnitude - 1e-9)
    ]
    counts, _, _ = np.histogram2d(sel["latitude"], sel["longitude"], bins=[lat_edges, lon_edges])
    return counts


def active_cells(catalog: pd.DataFrame, ds, start, end, min_magnitude: float, min_events: int = 1):
    """Cells with at least ``min_events`` events ``M >= min_magnitude`` in ``[start, end)``.

    Returns
    -------
    xarray.DataArray
        Boolean (latitude, longitude).
    """
    import xarray as xr

    counts = _cell_counts(catalog, ds, start, end, min_magnitude)
    return xr.DataArray(
        counts >= min_events,
        coords={"latitude": ds["latitude"], "longitude": ds["longitude"]},
        dims=("latitude", "longitude"),
        name="active",
    )


@renamed_kwargs(target_magnitude="min_magnitude")
def poisson_cell_probability(
    catalog: pd.DataFrame,
    ds,
    start,
    end,
    *,
    min_magnitude: float,
    horizon_days: float,
    floor_weight: float = 0.01,
):
    """Time-independent Poisson forecast: probability of at least one ``M >= min_magnitude`` per cell and horizon.

    ``min_magnitude`` is the magnitude of the label (old name: ``target_magnitude``, deprecated). The rate of
    each cell is its count of target events in ``[start, end)`` over the window's length,
    mixed with a small uniform share (``floor_weight`` of the total rate spread over all cells) so that a
    cell without past events is improbable rather than impossible.

    Returns
    -------
    xarray.DataArray
        ``1 - exp(-rate * horizon)`` (latitude, longitude).
    """
    import xarray as xr

    counts = _cell_counts(catalog, ds, start, end, min_magnitude)
    days = (utc(end) - utc(start)) / pd.Timedelta(days=1)
    rate = ((1 - floor_weight) * counts + floor_weight * counts.sum() / counts.size) / days
    return xr.DataArray(
        -np.expm1(-rate * horizon_days),
        coords={"latitude": ds["latitude"], "longitude": ds["longitude"]},
        dims=("latitude", "longitude"),
        name="poisson_probability",
    )
