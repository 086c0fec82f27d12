"""Geographic regions: polygons in longitude/latitude with their true area on the WGS84 ellipsoid.

Conventions (see ``docs/glossary.md``): areas (of a region, of a grid cell) are true areas, on the WGS84
ellipsoid, for every model (ETAS, Poisson, smoothed seismicity, gridded forecasts, backgrounds); distances
between events (the kernels of ETAS and smoothed seismicity) are great-circle distances on the sphere of
radius :data:`EARTH_RADIUS_KM`. ``Region.area_km2(radius_km)`` and ``cell_area_km2(..., radius_km)`` still give
the area on a sphere when a radius is passed (for comparisons with numbers computed that way).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: Earth radius used by the ETAS literature quakelab reproduces (Mizrahi et al. 2021; EarthquakeNPP), km:
#: the sphere of great-circle distances.
EARTH_RADIUS_KM = 6378.1
#: WGS84 semi-major axis (km) and flattening: the ellipsoid of areas.
WGS84_A_KM = 6378.137
WGS84_F = 1 / 298.257223563
_E2 = WGS84_F * (2 - WGS84_F)
_E = math.sqrt(_E2)
_GL16 = np.polynomial.legendre.leggauss(16)


def _authalic_q(lat_rad: ArrayLike) -> np.ndarray:
    """``q(lat)`` of the ellipsoid: the area between the equator and ``lat`` per radian of longitude is
    ``a² q / 2`` (Snyder 1987, eq. 3-12)."""
    s = np.sin(np.asarray(lat_rad, dtype=float))
    return (1 - _E2) * (s / (1 - _E2 * s * s) + np.arctanh(_E * s) / _E)


def _ellipsoid_band(lat_rad: ArrayLike) -> np.ndarray:
    """Area (km²) between the equator and latitude ``lat`` per radian of longitude on WGS84."""
    return 0.5 * WGS84_A_KM**2 * _authalic_q(lat_rad)


@functools.lru_cache(maxsize=256)
def _polygon_area(vertices: tuple[tuple[float, float], ...], radius_km: float | None) -> float:
    """Area of a ring with straight lon/lat edges (Green's theorem on ``F(lat) dlon``, ``dF = dA/dlon``)."""
    lon = np.radians([v[0] for v in vertices])
    lat = np.radians([v[1] for v in vertices])
    lon2, lat2 = np.roll(lon, -1), np.roll(lat, -1)
    dlon = lon2 - lon
    if radius_km is not None:  # sphere: F = R² sin(lat), integrated in closed form along an edge
        dlat = lat2 - lat
        flat = np.abs(dlat) < 1e-15
        safe = np.where(flat, 1.0, dlat)
        integral = np.where(flat, np.sin(lat) * dlon, dlon / safe * (np.cos(lat) - np.cos(lat2)))
        return float(abs(-(radius_km**2) * integral.sum()))
    # ellipsoid: F = a² q(lat) / 2, lat linear in lon along an edge, Gauss–Legendre (16 nodes: exact to
    # rounding for F's smooth variation over any edge)
    x, w = _GL16
    s = 0.5 * (x + 1.0)
    lat_nodes = lat[:, None] + (lat2 - lat)[:, None] * s[None, :]
    mean_f = _ellipsoid_band(lat_nodes) @ (0.5 * w)
    return float(abs((mean_f * dlon).sum()))


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
        10306.22
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

    def area_km2(self, radius_km: float | None = None) -> float:
        """True area of the region bounded by straight lon/lat edges, on the WGS84 ellipsoid.

        Green's theorem on the ellipsoid's area element ``dA = F'(lat) dlat dlon``, with
        ``F(lat) = a² q(lat) / 2`` the area between the equator and ``lat`` per radian of longitude
        (``q`` of the authalic latitude, Snyder 1987): each edge contributes ``integral of F dlon`` along it
        (Gauss–Legendre; a box's edges follow parallels and meridians). Cached per region. The area of the
        1° box at 33–34°N is 10,306.22 km² (the Albers equal-area area of lmizrahi/etas, 10,306.06 km²,
        differs only by the chords its projection draws between the corners).

        Parameters
        ----------
        radius_km : float, optional
            When given: the area on a sphere of this radius instead (e.g. ``EARTH_RADIUS_KM``:
            10,333.29 km² for the same box).

        Returns
        -------
        float
            Area in km².
        """
        return _polygon_area(self.vertices, None if radius_km is None else float(radius_km))

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


def sphere_to_true_area(lat: ArrayLike, radius_km: float = EARTH_RADIUS_KM) -> np.ndarray:
    """Ratio of the sphere's area element (radius ``radius_km``) to the WGS84 ellipsoid's at latitude
    ``lat`` (degrees), ``R² / (M N)`` with ``M, N`` the ellipsoid's radii of curvature: multiply a density
    per km² measured with great-circle distances on the sphere by it to get the density per true km².

    Examples
    --------
    >>> round(float(sphere_to_true_area(33.5)), 5)
    1.00263
    """
    s2 = np.sin(np.radians(np.asarray(lat, dtype=float))) ** 2
    return radius_km**2 * (1 - _E2 * s2) ** 2 / (WGS84_A_KM**2 * (1 - _E2))


def band_area_km2(lat_bottom: ArrayLike, lat_top: ArrayLike, dlon_deg: ArrayLike) -> np.ndarray:
    """True (WGS84) area of lon/lat cells between two parallels, ``dlon_deg`` degrees wide (broadcast).

    Examples
    --------
    >>> round(float(band_area_km2(33, 34, 1)), 2)
    10306.22
    """
    top = np.radians(np.clip(np.asarray(lat_top, dtype=float), -90.0, 90.0))
    bottom = np.radians(np.clip(np.asarray(lat_bottom, dtype=float), -90.0, 90.0))
    return np.radians(np.asarray(dlon_deg, dtype=float)) * (_ellipsoid_band(top) - _ellipsoid_band(bottom))


def cell_area_km2(lat_centre: ArrayLike, cell_deg: float, radius_km: float | None = None) -> np.ndarray:
    """True (WGS84 ellipsoid) area of lon/lat cells of side ``cell_deg`` centred at ``lat_centre``.

    Parameters
    ----------
    lat_centre : array_like
        Latitudes of the cells' centres (degrees).
    cell_deg : float
        Side of the cells (degrees).
    radius_km : float, optional
        When given: the area on a sphere of this radius instead.

    Examples
    --------
    >>> round(float(cell_area_km2(0.05, 0.1)), 3)
    123.091
    >>> round(float(cell_area_km2(0.05, 0.1, EARTH_RADIUS_KM)), 3)
    123.919
    """
    lat = np.asarray(lat_centre, dtype=float)
    if radius_km is None:
        return band_area_km2(lat - cell_deg / 2, lat + cell_deg / 2, cell_deg)
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
