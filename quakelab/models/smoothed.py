"""Smoothed-seismicity reference forecasts (Helmstetter, Kagan & Jackson 2007)."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from quakelab._compat import renamed_attribute, renamed_kwargs
from quakelab.region import EARTH_RADIUS_KM, Region, as_region, cell_area_km2, haversine_km
from quakelab.timeutils import utc as _utc


class SmoothedSeismicity:
    """Time-independent rate map from past epicentres smoothed by a kernel.

    Each past event i contributes a normalised kernel ``K_{d_i}(r)`` (Gaussian
    ``exp(-r²/2d²) / (2 pi d²)`` or power law ``d / (2 pi (r² + d²)^1.5)``); ``d_i`` is fixed or adaptive,
    the distance to the event's k-th nearest neighbour (not below ``min_bandwidth_km``) as in Helmstetter
    et al. (2007). The map is normalised inside the region and scaled to the training rate; magnitudes
    follow Gutenberg–Richter.

    Parameters
    ----------
    min_magnitude : float
        Magnitude threshold of the training events (usually their magnitude of completeness). Old name:
        ``mc`` (deprecated, also as an attribute).
    region : Region or bbox or vertices
        Study region.
    kernel : {"gaussian", "power_law"}, default "power_law"
        Kernel shape.
    bandwidth_km : float, optional
        Fixed bandwidth; adaptive when None.
    k_neighbours : int, default 5
        Neighbour rank of the adaptive bandwidth.
    min_bandwidth_km : float, default 0.5
        Lower limit of the adaptive bandwidth (location errors).
    """

    mc = renamed_attribute("min_magnitude")

    @renamed_kwargs(mc="min_magnitude")
    def __init__(
        self,
        min_magnitude: float,
        region: Region | Any,
        *,
        kernel: Literal["gaussian", "power_law"] = "power_law",
        bandwidth_km: float | None = None,
        k_neighbours: int = 5,
        min_bandwidth_km: float = 0.5,
    ) -> None:
        if kernel not in ("gaussian", "power_law"):
            raise ValueError(f"unknown kernel {kernel!r}; use 'gaussian' or 'power_law'")
        self.min_magnitude = float(min_magnitude)
        self.region = as_region(region)
        self.kernel = kernel
        self.bandwidth_km = bandwidth_km
        self.k_neighbours = int(k_neighbours)
        self.min_bandwidth_km = float(min_bandwidth_km)

    def fit(self, catalog: pd.DataFrame, *, start, end, b_value: float | None = None) -> SmoothedSeismicity:
        """Use the events with ``M >= min_magnitude`` inside the region in ``[start, end)``.

        Returns
        -------
        SmoothedSeismicity
            ``self`` with ``events_``, ``bandwidths_km_``, ``rate_per_day_`` and ``b_value_``.
        """
        from quakelab.catalog.select import select
        from quakelab.stats import b_value as estimate_b

        cat = select(catalog, start=start, end=end, min_magnitude=self.min_magnitude)
        cat = cat[self.region.contains(cat["longitude"].to_numpy(), cat["latitude"].to_numpy())]
        if len(cat) <= self.k_neighbours:
            raise ValueError(
                f"only {len(cat)} events to smooth; need more than k_neighbours={self.k_neighbours}"
            )
        self.events_ = cat
        lat = cat["latitude"].to_numpy()
        lon = cat["longitude"].to_numpy()
        if self.bandwidth_km is not None:
            d = np.full(len(cat), float(self.bandwidth_km))
        else:
            from scipy.spatial import cKDTree

            xyz = np.column_stack(
                [
                    np.cos(np.radians(lat)) * np.cos(np.radians(lon)),
                    np.cos(np.radians(lat)) * np.sin(np.radians(lon)),
                    np.sin(np.radians(lat)),
                ]
            )
            dist, _ = cKDTree(xyz * EARTH_RADIUS_KM).query(xyz * EARTH_RADIUS_KM, k=self.k_neighbours + 1)
            d = np.maximum(dist[:, -1], self.min_bandwidth_km)
        self.bandwidths_km_ = d
        days = (_utc(end) - _utc(start)) / pd.Timedelta(days=1)
        self.rate_per_day_ = len(cat) / days
        self.b_value_ = b_value if b_value is not None else estimate_b(cat["magnitude"], self.min_magnitude).b
        return self

    def density(self, lon: np.ndarray, lat: np.ndarray, chunk: int = 2000) -> np.ndarray:
        """Unnormalised spatial density (per km²) at the given points: sum of the events' kernels."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        ev_lat = self.events_["latitude"].to_numpy()
        ev_lon = self.events_["longitude"].to_numpy()
        d = self.bandwidths_km_
        out = np.zeros(lon.size)
        for s in range(0, ev_lat.size, chunk):
            r = haversine_km(
                lat[:, None], lon[:, None], ev_lat[None, s : s + chunk], ev_lon[None, s : s + chunk]
            )
            dd = d[None, s : s + chunk]
            if self.kernel == "gaussian":
                k = np.exp(-(r**2) / (2 * dd**2)) / (2 * math.pi * dd**2)
            else:
                k = dd / (2 * math.pi * (r**2 + dd**2) ** 1.5)
            out += k.sum(axis=1)
        return out

    def forecast(
        self,
        start,
        end,
        *,
        cell_deg: float = 0.1,
        magnitude_bins: np.ndarray | None = None,
        delta_m: float = 0.1,
    ):
        """Gridded forecast (same layout as :meth:`quakelab.models.ETAS.forecast`).

        Returns
        -------
        xarray.Dataset
            ``expected_count(magnitude, latitude, longitude)``.
        """
        import xarray as xr

        x0, x1, y0, y1 = self.region.bounds
        lon_e = np.round(np.arange(x0, x1 + cell_deg / 2, cell_deg), 10)
        lat_e = np.round(np.arange(y0, y1 + cell_deg / 2, cell_deg), 10)
        lon_c, lat_c = (lon_e[:-1] + lon_e[1:]) / 2, (lat_e[:-1] + lat_e[1:]) / 2
        glon, glat = np.meshgrid(lon_c, lat_c)
        area = cell_area_km2(glat, cell_deg)
        inside = self.region.contains(glon.ravel(), glat.ravel()).reshape(glon.shape)
        dens = self.density(glon.ravel(), glat.ravel()).reshape(glon.shape) * area * inside
        spatial = dens / dens.sum()
        days = (_utc(end) - _utc(start)) / pd.Timedelta(days=1)
        mags = (
            np.round(np.arange(self.min_magnitude, self.min_magnitude + 4.0 + 1e-9, delta_m), 10)
            if magnitude_bins is None
            else np.asarray(magnitude_bins, dtype=float)
        )
        surv = 10 ** (-self.b_value_ * (mags - mags[0]))
        frac = surv - np.append(surv[1:], 0.0)
        counts = frac[:, None, None] * spatial[None] * self.rate_per_day_ * days
        return xr.Dataset(
            {"expected_count": (("magnitude", "latitude", "longitude"), counts)},
            coords={"magnitude": mags, "latitude": lat_c, "longitude": lon_c},
            attrs={
                "model": f"smoothed seismicity ({self.kernel})",
                "start": str(pd.Timestamp(start)),
                "end": str(pd.Timestamp(end)),
                "cell_deg": cell_deg,
            },
        )
