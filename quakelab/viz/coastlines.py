"""Coastlines that work offline.

Cartopy downloads Natural Earth on first use, which fails on machines without internet (CI, many HPC
nodes, a laptop on a plane). quakelab draws coastlines from, in order:

1. the user's own cartopy data (``cartopy.config["data_dir"]`` / ``pre_existing_data_dir``) when the
   Natural Earth 1:50m or 1:110m coastline is already there;
2. the GSHHS low-resolution shoreline shipped by the ``pycoast`` package (a quakelab dependency);
3. the Natural Earth low-resolution country polygons shipped by ``pyogrio`` (when installed).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

__all__ = ["CoastlineDataError", "coastline_geometries", "coastline_source"]


class CoastlineDataError(RuntimeError):
    """No offline coastline data could be found."""


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _candidates() -> list[Path]:
    out: list[Path] = []
    try:
        import cartopy

        for key in ("pre_existing_data_dir", "data_dir"):
            base = Path(cartopy.config.get(key, ""))
            for res in ("50m", "110m"):
                out.append(base / "shapefiles" / "natural_earth" / "physical" / f"ne_{res}_coastline.shp")
    except ImportError:  # pragma: no cover - cartopy is a dependency
        pass
    pycoast = _package_dir("pycoast")
    if pycoast is not None:
        out.append(pycoast / "tests" / "test_data" / "gshhs" / "GSHHS_shp" / "l" / "GSHHS_l_L1.shp")
    pyogrio = _package_dir("pyogrio")
    if pyogrio is not None:
        out.append(pyogrio / "tests" / "fixtures" / "naturalearth_lowres" / "naturalearth_lowres.shp")
    return out


@functools.cache
def coastline_source() -> Path:
    """Path of the shapefile that :func:`coastline_geometries` reads.

    Returns
    -------
    pathlib.Path
        The first existing candidate (see the module docstring).

    Raises
    ------
    CoastlineDataError
        When none exists, with the paths that were tried.
    """
    tried = _candidates()
    for path in tried:
        if path.exists():
            return path
    raise CoastlineDataError(
        "no offline coastline data: install quakelab's dependencies (pycoast ships GSHHS shorelines) or put "
        "Natural Earth's ne_110m_coastline.shp under cartopy's data_dir. Tried:\n  "
        + "\n  ".join(str(p) for p in tried)
    )


@functools.cache
def _all_geometries() -> tuple:
    import shapefile
    import shapely.geometry

    shapefile.VERBOSE = False
    reader = shapefile.Reader(str(coastline_source()))
    try:
        return tuple(shapely.geometry.shape(s.__geo_interface__) for s in reader.iterShapes())
    finally:
        reader.close()


def coastline_geometries(extent: tuple[float, float, float, float] | None = None) -> list:
    """Coastline geometries (lon/lat, WGS84) that intersect ``extent``.

    Parameters
    ----------
    extent : (min_lon, max_lon, min_lat, max_lat), optional
        Region of interest; all geometries when None.

    Returns
    -------
    list of shapely geometries
        Polygons or lines in degrees, ready for ``ax.add_geometries(..., crs=ccrs.PlateCarree())``.
    """
    geoms = _all_geometries()
    if extent is None:
        return list(geoms)
    import shapely

    box = shapely.box(extent[0], extent[2], extent[1], extent[3])
    return [g for g in geoms if g.intersects(box)]
