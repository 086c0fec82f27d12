"""Geographic regions: polygons in longitude/latitude with their true area on the sphere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: Earth radius used by the ETAS literature quakelab reproduces (Mizrahi et al. 2021; EarthquakeNPP), km.
EARTH_RADIUS_KM = 6378.1


class RegionError(ValueError):
    """An invalid region (fewer than 3 vertices, self-intersecting, zero area)."""


@dataclass(frozen=True)
class Region:
    """A polygon in longitude/latitude (degrees), edges straight in the lon/lat plane.

    Attributes
    ----------
    vertices : tuple of (lon, lat)
        The ring, not closed (the last vertex differs from the first).
    name : str
        Label for reports.
    """

    vertices: tuple[tuple[float, float], ...]
    name: str = ""

    def __post_init__(self) -> None:
        import shapely

        verts = [(float(x), float(y)) for x, y in self.vertices]
        if len(verts) > 1 and verts[0] == verts[-1]:
            verts = verts[:-1]
        if len(verts) < 3:
            raise RegionError(f"a region needs at least 3 vertices, got {len(verts)}")
        lon = np.array([v[0] for v in verts])
        lat = np.array([v[1] for v in verts])
        if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 360):
            raise RegionError("region vertices must be (longitude, latitude) in degrees")
        poly = shapely.Polygon(verts)
        if not poly.is_valid or poly.area == 0:
            raise RegionError(f"invalid region polygon: {shapely.is_valid_reason(poly)}")
        object.__setattr__(self, "vertices", tuple(verts))

    @classmethod
    def from_bbox(
        cls, min_lon: float, max_lon: float, min_lat: float, max_lat: float, name: str = ""
    ) -> Region:
        """A longitude/latitude box.

        Examples
        --------
        >>> round(Region.from_bbox(-117, -116, 33, 34).area_km2(), 2)
        10333.29
        """
        if not (min_lon < max_lon and min_lat < max_lat):
            raise RegionError(f"empty box: lon {min_lon}..{max_lon}, lat {min_lat}..{max_lat}")
        return cls(((min_lon, min_lat), (max_lon, min_lat), (max_lon, max_lat), (min_lon, max_lat)), name)

    @property
    def polygon(self):
        """The region as a shapely Polygon (x = longitude, y = latitude)."""
        import shapely

        return shapely.Polygon(self.vertices)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, max_lon, min_lat, max_lat)``."""
        x0, y0, x1, y1 = self.polygon.bounds
        return (x0, x1, y0, y1)

    def area_km2(self, radius_km: float = EARTH_RADIUS_KM) -> float:
        """Exact area on a sphere of the region bounded by straight lon/lat edges.

        Uses Green's theorem on ``R^2 cos(lat) dlon dlat``: each edge contributes
        ``-R^2 * integral of sin(lat) dlon`` along it, which has a closed form for a straight edge.

        Parameters
        ----------
        radius_km : float, default 6378.1
            Sphere radius.

        Returns
        -------
        float
            Area in km².
        """
        lon = np.radians([v[0] for v in self.vertices])
        lat = np.radians([v[1] for v in self.vertices])
        lon2, lat2 = np.roll(lon, -1), np.roll(lat, -1)
        dlon = lon2 - lon
        dlat = lat2 - lat
        flat = np.abs(dlat) < 1e-15
        safe = np.where(flat, 1.0, dlat)
        integral = np.where(flat, np.sin(lat) * dlon, dlon / safe * (np.cos(lat) - np.cos(lat2)))
        return float(abs(-(radius_km**2) * integral.sum()))

    def contains(self, lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
        """Boolean mask of points inside or on the boundary."""
        import shapely

        pts = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(shapely.covers(self.polygon, pts), dtype=bool)

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        return {"vertices": [list(v) for v in self.vertices], "name": self.name}

    @classmethod
    def from_dict(cls, d: dict) -> Region:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(tuple(v) for v in d["vertices"]), d.get("name", ""))


def as_region(region: Region | Sequence[float] | Sequence[tuple[float, float]]) -> Region:
    """Accept a :class:`Region`, a bbox ``(min_lon, max_lon, min_lat, max_lat)`` or vertices."""
    if isinstance(region, Region):
        return region
    seq = list(region)
    if len(seq) == 4 and all(np.isscalar(v) for v in seq):
        return Region.from_bbox(*[float(v) for v in seq])
    return Region(tuple(tuple(v) for v in seq))


def cell_area_km2(lat_centre: ArrayLike, cell_deg: float, radius_km: float = EARTH_RADIUS_KM) -> np.ndarray:
    """Exact area on the sphere of lon/lat cells of side ``cell_deg`` centred at ``lat_centre``.

    Examples
    --------
    >>> round(float(cell_area_km2(0.05, 0.1)), 3)
    123.919
    """
    lat = np.asarray(lat_centre, dtype=float)
    top = np.radians(np.minimum(lat + cell_deg / 2, 90.0))
    bottom = np.radians(np.maximum(lat - cell_deg / 2, -90.0))
    return radius_km**2 * np.radians(cell_deg) * (np.sin(top) - np.sin(bottom))


def haversine_km(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike, radius_km: float = EARTH_RADIUS_KM
) -> np.ndarray:
    """Great-circle distance in km (inputs in degrees, broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * radius_km * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
