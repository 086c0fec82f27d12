"""Areas of regions and cells: true areas on the WGS84 ellipsoid (known answers, independent checks)."""

import math

import numpy as np
import pytest

from quakelab.region import (
    EARTH_RADIUS_KM,
    WGS84_A_KM,
    WGS84_F,
    Region,
    band_area_km2,
    cell_area_km2,
)


def _geod_area_km2(vertices, n_per_edge=2000):
    """Independent: pyproj's geodesic polygon area, edges densified linearly in lon/lat (so that they
    follow the region's straight lon/lat edges, parallels for a box)."""
    pyproj = pytest.importorskip("pyproj")
    ring = list(vertices) + [vertices[0]]
    s = np.linspace(0.0, 1.0, n_per_edge, endpoint=False)
    lon = np.concatenate([x0 + (x1 - x0) * s for (x0, _), (x1, _) in zip(ring[:-1], ring[1:], strict=True)])
    lat = np.concatenate([y0 + (y1 - y0) * s for (_, y0), (_, y1) in zip(ring[:-1], ring[1:], strict=True)])
    area, _ = pyproj.Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)
    return abs(area) / 1e6


def test_sanjac_box_area():
    box = Region.from_bbox(-117.0, -116.0, 33.0, 34.0)
    # the 1-degree box at 33-34 N: 10,306.22 km² on WGS84 (lmizrahi/etas's Albers area, 10,306.06 km², joins
    # the corners by chords); 10,333.29 km² on the 6378.1 km sphere
    assert box.area_km2() == pytest.approx(10306.2226, abs=1e-3)
    assert box.area_km2(EARTH_RADIUS_KM) == pytest.approx(10333.2863, abs=1e-3)
    assert float(band_area_km2(33.0, 34.0, 1.0)) == pytest.approx(box.area_km2(), rel=1e-12)
    assert float(cell_area_km2(33.5, 1.0)) == pytest.approx(box.area_km2(), rel=1e-12)


def test_whole_ellipsoid_area():
    """Eight octants make the ellipsoid's surface, 2 pi a² (1 + (1 - e²) atanh(e) / e)."""
    e2 = WGS84_F * (2 - WGS84_F)
    e = math.sqrt(e2)
    total = 2 * math.pi * WGS84_A_KM**2 * (1 + (1 - e2) * math.atanh(e) / e)
    assert total == pytest.approx(510_065_621.724, abs=1e-2)  # the WGS84 surface area, km²
    octant = Region.from_bbox(0.0, 90.0, 0.0, 90.0)
    assert 8 * octant.area_km2() == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize(
    "vertices",
    [
        ((-117.0, 33.0), (-116.0, 33.0), (-116.0, 34.0), (-117.0, 34.0)),
        ((-118.0, 32.5), (-115.5, 33.2), (-116.2, 35.8), (-117.4, 34.9), (-118.3, 34.0)),  # sloping edges
        ((10.0, 60.0), (25.0, 61.0), (20.0, 70.5)),  # high latitude, long edges
    ],
    ids=["box", "pentagon", "arctic-triangle"],
)
def test_polygon_area_against_pyproj(vertices):
    # (the densified geodesic chords leave pyproj ~3e-8 of the area off on the long arctic edges)
    assert Region(vertices).area_km2() == pytest.approx(_geod_area_km2(vertices), rel=1e-7)


def test_area_is_cached_and_orientation_free():
    verts = ((-118.0, 32.5), (-115.5, 33.2), (-116.2, 35.8), (-117.4, 34.9), (-118.3, 34.0))
    a = Region(verts).area_km2()
    assert Region(tuple(reversed(verts))).area_km2() == pytest.approx(a, rel=1e-14)
    assert Region(verts).area_km2() == a  # the cached value


def test_cells_tile_the_region():
    """0.1-degree cells of the box sum to its area (the grid and the region share one convention)."""
    lat = 33.05 + 0.1 * np.arange(10)
    total = 10 * cell_area_km2(lat, 0.1).sum()
    assert total == pytest.approx(Region.from_bbox(-117.0, -116.0, 33.0, 34.0).area_km2(), rel=1e-12)
