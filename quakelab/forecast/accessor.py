"""The ``ds.quake`` accessor on forecast Datasets (xarray's extension mechanism, no subclassing)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike

from quakelab.forecast import gridded
from quakelab.forecast.grid import GridSpec


@xr.register_dataset_accessor("quake")
class ForecastAccessor:
    """Forecast methods on any Dataset built by :class:`quakelab.forecast.Forecast`.

    Examples
    --------
    >>> from quakelab.forecast import Forecast, GridSpec
    >>> spec = GridSpec((-117, -116, 33, 34), 0.5, 2.0, 2.1, start="2020-01-01", end="2020-01-08")
    >>> ds = Forecast(np.full(spec.shape, 0.25), spec)
    >>> ds.quake.cell_index([-116.9, -115.0], [33.6, 33.6])
    (array([ 1, -1]), array([ 0, -1]))
    """

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds
        self._spec: GridSpec | None = None

    @property
    def spec(self) -> GridSpec:
        """The forecast's :class:`GridSpec` (parsed once)."""
        if self._spec is None:
            self._spec = gridded.grid_spec(self._ds)
        return self._spec

    def validate(self) -> xr.Dataset:
        """Raise unless valid; return the Dataset."""
        return gridded.validate(self._ds)

    # ------------------------------------------------------------------ look-ups
    def cell_index(self, lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """(latitude index, longitude index) per point, -1 outside the grid (vectorised)."""
        return self.spec.cell_index(lon, lat)

    def bin_index(self, lon: ArrayLike, lat: ArrayLike, magnitude: ArrayLike) -> np.ndarray:
        """(magnitude, latitude, longitude) index per event, rows of -1 outside the grid."""
        return self.spec.bin_index(lon, lat, magnitude)

    def rates_at(self, catalog: pd.DataFrame) -> np.ndarray:
        """Expected count of the bin of each event (NaN for events outside the grid)."""
        idx = self.spec.bin_index(
            catalog["longitude"].to_numpy(), catalog["latitude"].to_numpy(), catalog["magnitude"].to_numpy()
        )
        arr = np.asarray(self._ds[gridded.VARIABLE].values, dtype=float)
        out = np.full(len(idx), np.nan)
        ok = idx[:, 0] >= 0
        out[ok] = arr[idx[ok, 0], idx[ok, 1], idx[ok, 2]]
        return out

    def observed(self, catalog: pd.DataFrame) -> xr.DataArray:
        """Observed events per bin in the window (same shape and coordinates as ``expected_count``)."""
        counts = self.spec.count_events(catalog)
        return xr.DataArray(
            counts, dims=gridded.DIMS, coords={d: self._ds[d] for d in gridded.DIMS}, name="observed_count"
        )

    # ------------------------------------------------------------------ sums
    def total(self) -> xr.DataArray:
        """Expected number of events in the whole grid."""
        return gridded.total(self._ds)

    def magnitude_marginal(self) -> xr.DataArray:
        """Expected count per magnitude bin."""
        return gridded.magnitude_marginal(self._ds)

    def spatial_marginal(self) -> xr.DataArray:
        """Expected count per cell (NaN outside the grid)."""
        return gridded.spatial_marginal(self._ds)

    def at_least(self, magnitude: float) -> xr.DataArray:
        """Expected count per cell with binned magnitude ``>= magnitude``."""
        return gridded.at_least(self._ds, magnitude)

    def probability(self, magnitude: float | None = None) -> xr.DataArray:
        """Poisson probability of at least one event per cell (above ``magnitude``)."""
        return gridded.probability_at_least_one(self._ds, magnitude)

    def log_likelihood(self, catalog: pd.DataFrame) -> float:
        """Poisson joint log-likelihood of the observed events."""
        return gridded.log_likelihood(self._ds, catalog)

    # ------------------------------------------------------------------ conversion and files
    def to_pycsep(self, name: str | None = None) -> Any:
        """pycsep ``GriddedForecast`` (:func:`quakelab.forecast.io.to_pycsep`)."""
        from quakelab.forecast.io import to_pycsep

        return to_pycsep(self._ds, name=name)

    def write(self, path: str | os.PathLike, **kwargs: Any) -> Path:
        """Write in the format of the extension (``.dat``, ``.xml``, ``.nc``, ``.geojson``)."""
        from quakelab.forecast.io import write_forecast

        return write_forecast(self._ds, path, **kwargs)
