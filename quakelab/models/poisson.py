"""Homogeneous Poisson reference model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quakelab._compat import renamed_attribute, renamed_kwargs
from quakelab.region import EARTH_RADIUS_KM, Region, as_region
from quakelab.timeutils import utc as _utc


class PoissonModel:
    """Homogeneous Poisson process in a region: constant rate per day and km².

    Parameters
    ----------
    min_magnitude : float
        Magnitude threshold (usually the catalog's magnitude of completeness). Old name: ``mc``
        (deprecated, also as an attribute).
    region : Region or bbox or vertices
        Study region.
    magnitude_resolution : float, default 0.1
        The catalog's magnitude resolution (magnitudes are rounded half up to it before the cut). Old
        name: ``delta_m`` (deprecated, also as an attribute).
    earth_radius_km : float, default 6378.1
        Kept for saved models; the area is the region's true area on the WGS84 ellipsoid
        (:meth:`quakelab.region.Region.area_km2`).

    Attributes
    ----------
    mu_ : float
        Rate in events per day per km² (maximum-likelihood: events / (area * duration)).
    n_events_ : int
        Events used.
    """

    mc = renamed_attribute("min_magnitude")
    delta_m = renamed_attribute("magnitude_resolution")

    @renamed_kwargs(mc="min_magnitude", delta_m="magnitude_resolution")
    def __init__(
        self,
        min_magnitude: float,
        region: Region | Any,
        *,
        magnitude_resolution: float = 0.1,
        earth_radius_km: float = EARTH_RADIUS_KM,
    ) -> None:
        self.min_magnitude = float(min_magnitude)
        self.region = as_region(region)
        self.magnitude_resolution = float(magnitude_resolution)
        self.earth_radius_km = float(earth_radius_km)

    @property
    def area_km2(self) -> float:
        """True (WGS84) area of the region, km²."""
        return self.region.area_km2()

    def select_events(self, catalog: pd.DataFrame, start, end) -> pd.DataFrame:
        """The events the model counts: in ``[start, end)``, at or above its magnitude threshold (magnitudes
        binned at the catalog's resolution), inside its region.

        Parameters
        ----------
        catalog : pandas.DataFrame
            Canonical catalog.
        start, end : time-like
            Window, half open, UTC.

        Returns
        -------
        pandas.DataFrame
            The selected rows of ``catalog``.
        """
        from quakelab.models.etas import round_half_up

        t0, t1 = _utc(start), _utc(end)
        cat = catalog[(catalog["time"] >= t0) & (catalog["time"] < t1)]
        r = self.magnitude_resolution
        m = round_half_up(cat["magnitude"].to_numpy(), r) if r > 0 else cat["magnitude"]
        cat = cat[np.asarray(m) >= self.min_magnitude - 1e-9]
        return cat[self.region.contains(cat["longitude"].to_numpy(), cat["latitude"].to_numpy())]

    def fit(self, catalog: pd.DataFrame, *, start, end) -> PoissonModel:
        """Rate = number of events in ``[start, end)`` inside the region / (area * duration in days).

        Returns
        -------
        PoissonModel
            ``self``.
        """
        cat = self.select_events(catalog, start, end)
        days = (_utc(end) - _utc(start)) / pd.Timedelta(days=1)
        if len(cat) == 0:
            raise ValueError(
                f"no events with M >= {self.min_magnitude} in the region between {start} and {end}"
            )
        self.n_events_ = len(cat)
        self.duration_days_ = float(days)
        self.mu_ = len(cat) / (self.area_km2 * days)
        return self

    def expected_count(self, duration_days: float) -> float:
        """Expected number of events in the region over ``duration_days``."""
        return float(self.mu_ * self.area_km2 * duration_days)
