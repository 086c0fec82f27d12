"""Selections on canonical catalogs: time window, magnitude, depth, box, polygon, event type."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from quakelab._compat import renamed_kwargs
from quakelab.catalog.schema import EVENT_TYPE
from quakelab.timeutils import utc as _utc

TimeLike = str | pd.Timestamp | np.datetime64


def select_time(
    catalog: pd.DataFrame, start: TimeLike | None = None, end: TimeLike | None = None
) -> pd.DataFrame:
    """Events with ``start <= time < end`` (naive bounds are read as UTC).

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    start, end : str or Timestamp, optional
        Half-open window bounds; open-ended when None.

    Returns
    -------
    pandas.DataFrame
        The selected rows (a copy), original order kept.

    Examples
    --------
    >>> import pandas as pd
    >>> cat = pd.DataFrame({"time": pd.to_datetime(["2020-01-01", "2020-02-01"], utc=True)})
    >>> len(select_time(cat, "2020-01-15"))
    1
    """
    mask = np.ones(len(catalog), dtype=bool)
    if start is not None:
        mask &= (catalog["time"] >= _utc(start)).to_numpy()
    if end is not None:
        mask &= (catalog["time"] < _utc(end)).to_numpy()
    return catalog.loc[mask].copy()


def select_magnitude(
    catalog: pd.DataFrame, min_magnitude: float | None = None, max_magnitude: float | None = None
) -> pd.DataFrame:
    """Events with ``min_magnitude <= magnitude`` (and ``magnitude < max_magnitude`` when given).

    The lower bound is compared after rounding to 1e-9 so that binned magnitudes (2.5 stored as
    2.4999999) are not lost.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    min_magnitude, max_magnitude : float, optional
        Bounds.

    Returns
    -------
    pandas.DataFrame
        The selected rows.
    """
    m = catalog["magnitude"].to_numpy()
    mask = np.ones(len(catalog), dtype=bool)
    if min_magnitude is not None:
        mask &= m >= min_magnitude - 1e-9
    if max_magnitude is not None:
        mask &= m < max_magnitude - 1e-9
    return catalog.loc[mask].copy()


def select_depth(
    catalog: pd.DataFrame, min_depth_km: float | None = None, max_depth_km: float | None = None
) -> pd.DataFrame:
    """Events with ``min_depth_km <= depth_km <= max_depth_km``; events without depth are left out.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    min_depth_km, max_depth_km : float, optional
        Bounds in km.

    Returns
    -------
    pandas.DataFrame
        The selected rows.
    """
    d = catalog["depth_km"].to_numpy(dtype=float)
    mask = ~np.isnan(d)
    if min_depth_km is not None:
        mask &= d >= min_depth_km
    if max_depth_km is not None:
        mask &= d <= max_depth_km
    return catalog.loc[mask].copy()


def select_box(
    catalog: pd.DataFrame,
    min_longitude: float,
    max_longitude: float,
    min_latitude: float,
    max_latitude: float,
) -> pd.DataFrame:
    """Events inside a longitude/latitude box (bounds inclusive).

    A box with ``min_longitude > max_longitude`` crosses the antimeridian.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    min_longitude, max_longitude, min_latitude, max_latitude : float
        Box in degrees.

    Returns
    -------
    pandas.DataFrame
        The selected rows.
    """
    lon = catalog["longitude"].to_numpy()
    lat = catalog["latitude"].to_numpy()
    if min_longitude <= max_longitude:
        in_lon = (lon >= min_longitude) & (lon <= max_longitude)
    else:
        in_lon = (lon >= min_longitude) | (lon <= max_longitude)
    return catalog.loc[in_lon & (lat >= min_latitude) & (lat <= max_latitude)].copy()


def select_polygon(catalog: pd.DataFrame, polygon: Sequence[tuple[float, float]] | object) -> pd.DataFrame:
    """Events inside a polygon given as ``[(lon, lat), ...]`` or a shapely polygon (boundary included).

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    polygon : sequence of (lon, lat) or shapely.Polygon
        The region. Vertices in degrees; the ring is closed automatically.

    Returns
    -------
    pandas.DataFrame
        The selected rows.

    Raises
    ------
    ValueError
        If the polygon is invalid (fewer than 3 vertices, self-intersecting).
    """
    import shapely

    poly = polygon if hasattr(polygon, "geom_type") else shapely.Polygon(list(polygon))
    if poly.is_empty or not poly.is_valid or poly.area == 0:
        raise ValueError(f"invalid polygon: {shapely.is_valid_reason(poly)}")
    inside = shapely.covers(
        poly, shapely.points(catalog["longitude"].to_numpy(), catalog["latitude"].to_numpy())
    )
    return catalog.loc[np.asarray(inside, dtype=bool)].copy()


def select_event_types(catalog: pd.DataFrame, event_types: Iterable[str] = ("earthquake",)) -> pd.DataFrame:
    """Events of the given types (case-insensitive); a catalog without ``event_type`` is all earthquakes.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    event_types : iterable of str
        Types to keep, e.g. ``["earthquake"]`` to drop explosions and quarry blasts.

    Returns
    -------
    pandas.DataFrame
        The selected rows.
    """
    wanted = {t.lower() for t in event_types}
    if EVENT_TYPE not in catalog.columns:
        return catalog.copy() if "earthquake" in wanted else catalog.iloc[0:0].copy()
    return catalog.loc[catalog[EVENT_TYPE].str.lower().isin(wanted).to_numpy()].copy()


def _select_region(catalog: pd.DataFrame, region: Any) -> pd.DataFrame:
    """Events in a :class:`~quakelab.region.Region`, a bbox (as :func:`select_box`) or a list of vertices."""
    from quakelab.region import Region, as_region

    if not isinstance(region, Region) and len(region) == 4 and all(np.isscalar(v) for v in region):
        return select_box(catalog, *(float(v) for v in region))
    inside = as_region(region).contains(catalog["longitude"].to_numpy(), catalog["latitude"].to_numpy())
    return catalog.loc[inside].copy()


@renamed_kwargs(bbox="region")
def select(
    catalog: pd.DataFrame,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    min_magnitude: float | None = None,
    max_magnitude: float | None = None,
    min_depth_km: float | None = None,
    max_depth_km: float | None = None,
    region: Any = None,
    polygon: Sequence[tuple[float, float]] | None = None,
    event_types: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Apply several selections at once (all optional).

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    start, end : time-like, optional
        Half-open time window.
    min_magnitude, max_magnitude : float, optional
        Magnitude bounds.
    min_depth_km, max_depth_km : float, optional
        Depth bounds (events without depth are dropped only when a depth bound is given).
    region : Region or bbox ``(min_lon, max_lon, min_lat, max_lat)`` or vertices, optional
        Events inside or on the boundary (a bbox selects the box in degrees, as :func:`select_box`).
        Old name: ``bbox`` (deprecated).
    polygon : sequence of (lon, lat), optional
        Polygon region.
    event_types : iterable of str, optional
        Event types to keep.

    Returns
    -------
    pandas.DataFrame
        The selected rows.
    """
    out = catalog
    if start is not None or end is not None:
        out = select_time(out, start, end)
    if min_magnitude is not None or max_magnitude is not None:
        out = select_magnitude(out, min_magnitude, max_magnitude)
    if min_depth_km is not None or max_depth_km is not None:
        out = select_depth(out, min_depth_km, max_depth_km)
    if region is not None:
        out = _select_region(out, region)
    if polygon is not None:
        out = select_polygon(out, polygon)
    if event_types is not None:
        out = select_event_types(out, event_types)
    return out.copy() if out is catalog else out
