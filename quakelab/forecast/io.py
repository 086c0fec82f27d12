"""Gridded forecasts in and out: pycsep objects, CSEP ASCII (``.dat``) and XML, NetCDF and GeoJSON.

Every writer is atomic (temporary file + rename); every reader validates and names the file, line (or cell) and
field of the first problem. Cells are written in the CSEP order (longitude-major, latitude ascending, magnitude
fastest), which is also the order :func:`to_pycsep` gives pycsep, so a forecast read from a CSEP file goes back to
pycsep with its cells in the file's order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quakelab.forecast.grid import ForecastFormatError, GridSpec, GridSpecError, _clean, _r
from quakelab.forecast.gridded import VARIABLE, from_array, grid_spec, validate
from quakelab.region import Region

#: Depth range written to CSEP files when a forecast does not say (km).
DEFAULT_DEPTH_KM = (0.0, 30.0)
XML_NS = "http://www.scec.org/xml-ns/csep/forecast/0.1"


# ---------------------------------------------------------------------------------------------- common core
def _cells(spec: GridSpec) -> tuple[np.ndarray, np.ndarray]:
    """(lat index, lon index) of the grid's cells in CSEP order (longitude-major, latitude ascending)."""
    ix, iy = np.nonzero(spec.cell_mask.T)
    return iy, ix


def _table(ds: Any) -> tuple[GridSpec, np.ndarray, np.ndarray, np.ndarray]:
    """(spec, cell lon index, cell lat index, rates (cells, magnitudes)) of a single-window forecast."""
    validate(ds, allow_series=False)
    spec = grid_spec(ds)
    iy, ix = _cells(spec)
    arr = np.asarray(ds[VARIABLE].transpose("magnitude", "latitude", "longitude").values, dtype=float)
    return spec, ix, iy, arr[:, iy, ix].T


def _from_cells(
    origins: np.ndarray,
    lower_edges: np.ndarray,
    rates: np.ndarray,
    *,
    cell_deg: float,
    delta_m: float | None,
    start=None,
    end=None,
    region: Region | None = None,
    model: str = "",
    source: str = "",
    magnitude_resolution: float | None = None,
) -> Any:
    """A forecast from cell south-west corners, lower magnitude edges and rates (cells, magnitudes)."""
    where = f"{source}: " if source else ""
    origins = np.asarray(origins, dtype=float)
    lower = np.asarray(lower_edges, dtype=float)
    rates = np.asarray(rates, dtype=float)
    if rates.shape != (origins.shape[0], lower.size):
        raise ForecastFormatError(
            f"{where}rates have shape {rates.shape}; expected ({origins.shape[0]} cells, "
            f"{lower.size} magnitude bins)"
        )
    dh = _r(cell_deg)
    if lower.size > 1:
        steps = np.diff(lower)
        dm = _r(steps[0])
        if not np.allclose(steps, dm, rtol=0, atol=1e-6):
            raise ForecastFormatError(f"{where}magnitude bins are not regular: {lower[:5]} ...")
        if delta_m is not None and abs(dm - delta_m) > 1e-9:
            raise ForecastFormatError(f"{where}magnitude bins are {dm} wide, not delta_m={delta_m}")
    elif delta_m is None:
        raise ForecastFormatError(f"{where}a single magnitude bin: give delta_m")
    else:
        dm = _r(delta_m)
    x0, y0 = _r(origins[:, 0].min()), _r(origins[:, 1].min())
    ix = np.rint((origins[:, 0] - x0) / dh).astype(np.int64)
    iy = np.rint((origins[:, 1] - y0) / dh).astype(np.int64)
    if not (
        np.allclose(x0 + ix * dh, origins[:, 0], atol=1e-6)
        and np.allclose(y0 + iy * dh, origins[:, 1], atol=1e-6)
    ):
        raise ForecastFormatError(f"{where}cells are not on one lattice of {dh} degrees")
    mask = np.zeros((iy.max() + 1, ix.max() + 1), dtype=bool)
    if np.unique(iy * mask.shape[1] + ix).size != iy.size:
        raise ForecastFormatError(f"{where}a cell is listed twice")
    mask[iy, ix] = True
    if region is None:
        region = Region.from_bbox(x0, _r(x0 + mask.shape[1] * dh), y0, _r(y0 + mask.shape[0] * dh), name="")
    res = dm if magnitude_resolution is None else _r(magnitude_resolution)
    m0 = _r(lower[0] + res / 2)
    spec = GridSpec(region, dh, m0, _r(m0 + (lower.size - 1) * dm), dm, start, end, (x0, y0), mask, res)
    arr = np.full(spec.shape, np.nan)
    arr[:, iy, ix] = rates.T
    try:
        return from_array(arr, spec, model=model)
    except GridSpecError as exc:
        raise ForecastFormatError(f"{where}{exc}") from exc


def _naive(t: pd.Timestamp | None):
    return None if t is None else t.tz_convert("UTC").tz_localize(None).to_pydatetime()


# ---------------------------------------------------------------------------------------------- pycsep
def to_pycsep(ds: Any, *, name: str | None = None):
    """The forecast as pycsep's :class:`~csep.core.forecasts.GriddedForecast`.

    pycsep's ``magnitudes`` are the lower bin edges (``m - delta_m/2``), its cells the grid's cells in CSEP order,
    its ``start_time`` / ``end_time`` the window as naive UTC datetimes.

    Parameters
    ----------
    ds : xarray.Dataset
        A single-window forecast.
    name : str, optional
        Forecast name (``attrs["model"]`` when None).

    Returns
    -------
    csep.core.forecasts.GriddedForecast
    """
    from csep.core.forecasts import GriddedForecast
    from csep.core.regions import CartesianGrid2D

    spec, ix, iy, rates = _table(ds)
    origins = np.column_stack([spec.lon_edges[ix], spec.lat_edges[iy]])
    lower = spec.magnitude_lower_edges
    region = CartesianGrid2D.from_origins(
        origins, dh=spec.cell_deg, magnitudes=lower, name=spec.region.name or None
    )
    return GriddedForecast(
        data=rates.copy(),
        region=region,
        magnitudes=lower,
        name=name or ds.attrs.get("model") or None,
        start_time=_naive(spec.start),
        end_time=_naive(spec.end),
    )


def from_pycsep(
    forecast: Any,
    *,
    region: Region | None = None,
    start=None,
    end=None,
    delta_m: float | None = None,
    magnitude_resolution: float | None = None,
):
    """A forecast Dataset from a pycsep ``GriddedForecast`` (inverse of :func:`to_pycsep`, exactly).

    Parameters
    ----------
    forecast : csep.core.forecasts.GriddedForecast
        E.g. ``csep.load_gridded_forecast(path)``.
    region : Region, optional
        Region polygon to record (the cells' bounding box when None); the cells themselves come from pycsep.
    start, end : time-like, optional
        Window; the forecast's ``start_time`` / ``end_time`` when None.
    delta_m : float, optional
        Magnitude bin width, needed only with a single magnitude bin.
    magnitude_resolution : float, optional
        Step of the magnitudes the forecast is meant for; the bin width when None (CSEP: lower edge 4.95 is the
        bin labelled 5.0).

    Returns
    -------
    xarray.Dataset
    """
    start = start if start is not None else getattr(forecast, "start_time", None)
    end = end if end is not None else getattr(forecast, "end_time", None)
    return _from_cells(
        forecast.region.origins(),
        forecast.magnitudes,
        forecast.data,
        cell_deg=forecast.region.dh,
        delta_m=delta_m,
        start=start,
        end=end,
        region=region,
        model=forecast.name or "",
        magnitude_resolution=magnitude_resolution,
    )


def to_pycsep_catalog(catalog: pd.DataFrame, ds: Any, *, name: str = "observed"):
    """Observed events of a forecast's window, grid and bins as a pycsep ``CSEPCatalog`` (for pycsep's tests).

    Magnitudes are rounded to the grid's ``magnitude_resolution`` (:func:`quakelab.stats.bin_magnitudes`) before
    they go to pycsep, so each lies half a resolution step above pycsep's nearest lower edge: pycsep then puts
    every event in the bin quakelab's convention says.
    Events outside the window, the grid's cells or below the threshold are left out.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    ds : xarray.Dataset
        The forecast (single window).
    name : str
        Catalog name.

    Returns
    -------
    csep.core.catalogs.CSEPCatalog
        With the forecast's pycsep region attached.
    """
    from csep.core.catalogs import CSEPCatalog

    from quakelab.stats import bin_magnitudes

    spec = grid_spec(ds)
    cat = catalog
    if spec.start is not None and spec.end is not None:
        cat = cat[(cat["time"] >= spec.start) & (cat["time"] < spec.end)]
    idx = spec.bin_index(cat["longitude"].to_numpy(), cat["latitude"].to_numpy(), cat["magnitude"].to_numpy())
    cat = cat[idx[:, 0] >= 0]
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    frame = pd.DataFrame(
        {
            "id": cat["event_id"].astype(str).str.encode("utf-8").to_numpy()
            if "event_id" in cat
            else np.arange(len(cat)).astype(str).astype(bytes),
            "origin_time": ((cat["time"] - epoch) // pd.Timedelta(milliseconds=1)).to_numpy(dtype=np.int64),
            "latitude": cat["latitude"].to_numpy(dtype=float),
            "longitude": cat["longitude"].to_numpy(dtype=float),
            "depth": cat["depth_km"].fillna(0.0).to_numpy(dtype=float) if "depth_km" in cat else 0.0,
            "magnitude": bin_magnitudes(cat["magnitude"].to_numpy(dtype=float), spec.magnitude_resolution),
        }
    )
    out = CSEPCatalog.from_dataframe(frame, name=name)
    out.region = to_pycsep(ds).region
    return out


# ---------------------------------------------------------------------------------------------- CSEP ASCII
def write_ascii(
    ds: Any, path: str | os.PathLike, *, depth_km: tuple[float, float] = DEFAULT_DEPTH_KM
) -> Path:
    """Write the CSEP1 ASCII format pycsep reads (``csep.load_gridded_forecast``), atomically.

    Ten tab-separated columns per (cell, magnitude bin): ``lon_0 lon_1 lat_0 lat_1 depth_0 depth_1 m_0 m_1 rate
    flag``; magnitudes are bin edges (the last bin's upper edge is 10, or one bin above the last when that is
    higher); rates are written in Python's shortest exact form, so reading gives back the same floats.
    """
    from quakelab.catalog.store import atomic_path

    spec, ix, iy, rates = _table(ds)
    nm = spec.n_magnitudes
    lower = spec.magnitude_lower_edges
    upper = np.append(lower[1:], max(10.0, _r(lower[-1] + spec.delta_m)))
    lon0, lat0 = spec.lon_edges[ix], spec.lat_edges[iy]
    lon1, lat1 = spec.lon_edges[ix + 1], spec.lat_edges[iy + 1]
    frame = pd.DataFrame(
        {
            "lon0": np.repeat(lon0, nm),
            "lon1": np.repeat(lon1, nm),
            "lat0": np.repeat(lat0, nm),
            "lat1": np.repeat(lat1, nm),
            "z0": float(depth_km[0]),
            "z1": float(depth_km[1]),
            "m0": np.tile(lower, ix.size),
            "m1": np.tile(upper, ix.size),
            "rate": rates.ravel(),
            "flag": 1,
        }
    )
    final, tmp = atomic_path(path)
    try:
        frame.to_csv(tmp, sep="\t", header=False, index=False)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def read_ascii(
    path: str | os.PathLike, *, start=None, end=None, region: Region | None = None, name: str | None = None
):
    """Read a CSEP1 ASCII gridded forecast (``.dat``) into a forecast Dataset.

    The flag column is checked but not used (pycsep keeps flagged cells too). Errors name the file, the line and
    the column.
    """
    path = Path(path)
    cols = ["lon0", "lon1", "lat0", "lat1", "z0", "z1", "m0", "m1", "rate", "flag"]
    try:
        raw = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, comment="#")
    except (pd.errors.EmptyDataError, FileNotFoundError) as exc:
        raise ForecastFormatError(f"{path}: {exc}") from exc
    if raw.shape[1] != 10:
        raise ForecastFormatError(
            f"{path}: line 1: expected 10 columns ({' '.join(cols)}), got {raw.shape[1]}"
        )
    raw.columns = cols
    data = {}
    for c in cols:
        v = pd.to_numeric(raw[c], errors="coerce")
        bad = np.flatnonzero(v.isna().to_numpy())
        if bad.size:
            raise ForecastFormatError(
                f"{path}: line {bad[0] + 1}: column {c!r}: {raw[c].iloc[bad[0]]!r} is not a number"
            )
        data[c] = v.to_numpy(dtype=float)
    neg = np.flatnonzero(~(data["rate"] >= 0) | ~np.isfinite(data["rate"]))
    if neg.size:
        raise ForecastFormatError(
            f"{path}: line {neg[0] + 1}: column 'rate': {raw['rate'].iloc[neg[0]]} is not a "
            "finite non-negative number"
        )
    m0 = data["m0"]
    first = np.flatnonzero(
        np.r_[True, (data["lon0"][1:] != data["lon0"][:-1]) | (data["lat0"][1:] != data["lat0"][:-1])]
    )
    nm = int(np.diff(np.r_[first, m0.size]).max())
    if m0.size % nm or np.any(np.diff(np.r_[first, m0.size]) != nm):
        raise ForecastFormatError(
            f"{path}: every cell must list the same {nm} magnitude bins, magnitude fastest"
        )
    lower = m0[:nm]
    bad = np.flatnonzero(m0 != np.tile(lower, m0.size // nm))
    if bad.size:
        raise ForecastFormatError(
            f"{path}: line {bad[0] + 1}: column 'm0': {m0[bad[0]]} breaks the magnitude bins {lower[:3]}..."
        )
    dh = _r(data["lat1"][0] - data["lat0"][0])
    origins = np.column_stack([data["lon0"][::nm], data["lat0"][::nm]])
    return _from_cells(
        origins,
        lower,
        data["rate"].reshape(-1, nm),
        cell_deg=dh,
        delta_m=None,
        start=start,
        end=end,
        region=region,
        model=name if name is not None else path.stem,
        source=str(path),
    )


# ---------------------------------------------------------------------------------------------- CSEP XML
def write_xml(
    ds: Any,
    path: str | os.PathLike,
    *,
    depth_km: tuple[float, float] = DEFAULT_DEPTH_KM,
    author: str = "quakelab",
    issue_date=None,
) -> Path:
    """Write the CSEP XML forecast format (``CSEPForecast``, namespace ``csep/forecast/0.1``), atomically.

    Cells are given by their centre (``<cell lat= lon=>``), bins by their centre magnitude (``<bin m=>``), the
    last bin open (``lastMagBinOpen`` 1), cell and bin sizes in ``defaultCellDimension`` / ``defaultMagBinDimension``.
    """
    from xml.sax.saxutils import quoteattr

    from quakelab.catalog.store import write_text_atomic

    spec, ix, iy, rates = _table(ds)
    lon_c, lat_c = spec.longitudes[ix], spec.latitudes[iy]
    mags = [repr(float(m)) for m in spec.magnitudes]

    def iso(t):
        return "" if t is None else t.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")

    issued = iso(
        pd.Timestamp.now(tz="UTC")
        if issue_date is None
        else pd.Timestamp(issue_date).tz_localize("UTC")
        if pd.Timestamp(issue_date).tzinfo is None
        else pd.Timestamp(issue_date)
    )
    out = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        f"<CSEPForecast xmlns='{XML_NS}'>",
        "  <forecastData publicID='smi:org.scec/csep/forecast/1'>",
        f"    <modelName>{_esc(ds.attrs.get('model') or 'unknown')}</modelName>",
        "    <version>1.0</version>",
        f"    <author>{_esc(author)}</author>",
        f"    <issueDate>{issued}</issueDate>",
        f"    <forecastStartDate>{iso(spec.start)}</forecastStartDate>",
        f"    <forecastEndDate>{iso(spec.end)}</forecastEndDate>",
        f"    <defaultCellDimension latRange='{spec.cell_deg!r}' lonRange='{spec.cell_deg!r}'/>",
        f"    <defaultMagBinDimension>{spec.delta_m!r}</defaultMagBinDimension>",
        "    <lastMagBinOpen>1</lastMagBinOpen>",
        f"    <depthLayer max={quoteattr(repr(float(depth_km[1])))} min={quoteattr(repr(float(depth_km[0])))}>",
    ]
    for k in range(ix.size):
        out.append(f"      <cell lat='{float(lat_c[k])!r}' lon='{float(lon_c[k])!r}'>")
        out.extend(f"        <bin m='{m}'>{float(v)!r}</bin>" for m, v in zip(mags, rates[k], strict=True))
        out.append("      </cell>")
    out += ["    </depthLayer>", "  </forecastData>", "</CSEPForecast>", ""]
    return write_text_atomic(path, "\n".join(out))


def _esc(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(str(text))


def read_xml(
    path: str | os.PathLike, *, start=None, end=None, region: Region | None = None, name: str | None = None
):
    """Read a CSEP XML gridded forecast. Errors name the file, the cell and the field."""
    import xml.etree.ElementTree as ET

    path = Path(path)
    ns = f"{{{XML_NS}}}"
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, FileNotFoundError) as exc:
        raise ForecastFormatError(f"{path}: not readable as XML: {exc}") from exc
    data = root.find(f"{ns}forecastData")
    if data is None:
        raise ForecastFormatError(f"{path}: no <forecastData> element in namespace {XML_NS}")

    def num(text, what):
        try:
            return float(text)
        except (TypeError, ValueError):
            raise ForecastFormatError(f"{path}: {what}: {text!r} is not a number") from None

    dim = data.find(f"{ns}defaultCellDimension")
    if dim is None:
        raise ForecastFormatError(f"{path}: no <defaultCellDimension>")
    dlat = num(dim.get("latRange"), "defaultCellDimension latRange")
    dlon = num(dim.get("lonRange"), "defaultCellDimension lonRange")
    if abs(dlat - dlon) > 1e-9:
        raise ForecastFormatError(f"{path}: cells must be square (latRange {dlat} != lonRange {dlon})")
    dm_el = data.find(f"{ns}defaultMagBinDimension")
    dm = num(dm_el.text if dm_el is not None else None, "defaultMagBinDimension")
    t0 = data.findtext(f"{ns}forecastStartDate") or None
    t1 = data.findtext(f"{ns}forecastEndDate") or None
    model = name if name is not None else (data.findtext(f"{ns}modelName") or path.stem)
    centres, rates, mags = [], [], None
    for k, cell in enumerate(data.iter(f"{ns}cell")):
        lat = num(cell.get("lat"), f"cell {k + 1}: attribute 'lat'")
        lon = num(cell.get("lon"), f"cell {k + 1}: attribute 'lon'")
        bins = cell.findall(f"{ns}bin")
        m = [num(b.get("m"), f"cell {k + 1} (lat={lat}, lon={lon}): bin attribute 'm'") for b in bins]
        v = [
            num(b.text, f"cell {k + 1} (lat={lat}, lon={lon}): bin m={mm}")
            for b, mm in zip(bins, m, strict=True)
        ]
        if mags is None:
            mags = m
        elif m != mags:
            raise ForecastFormatError(
                f"{path}: cell {k + 1} (lat={lat}, lon={lon}): magnitude bins differ from the first cell's"
            )
        if any(not (x >= 0 and np.isfinite(x)) for x in v):
            raise ForecastFormatError(
                f"{path}: cell {k + 1} (lat={lat}, lon={lon}): a rate is negative or not finite"
            )
        centres.append((lon, lat))
        rates.append(v)
    if not centres:
        raise ForecastFormatError(f"{path}: no <cell> elements")
    c = np.asarray(centres)
    origins = _clean(c - dlat / 2).reshape(c.shape)
    lower = _clean(np.asarray(mags) - dm / 2)
    return _from_cells(
        origins,
        lower,
        np.asarray(rates),
        cell_deg=dlat,
        delta_m=_r(dm),
        start=start if start is not None else t0,
        end=end if end is not None else t1,
        region=region,
        model=model,
        source=str(path),
    )


# ---------------------------------------------------------------------------------------------- NetCDF
def write_netcdf(ds: Any, path: str | os.PathLike) -> Path:
    """Write a forecast (or a series) as NetCDF, atomically (scipy engine, NetCDF3: no extra dependency)."""
    from quakelab.catalog.store import atomic_path

    validate(ds)
    final, tmp = atomic_path(path)
    try:
        out = ds.copy()
        if "time" in out.coords:
            out = out.assign_coords(time=pd.DatetimeIndex(out["time"].values))
        out.to_netcdf(tmp, engine="scipy")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def read_netcdf(path: str | os.PathLike):
    """Read a forecast written by :func:`write_netcdf` (loaded into memory, validated)."""
    import xarray as xr

    path = Path(path)
    try:
        with xr.open_dataset(path, engine="scipy") as f:
            ds = f.load()
    except (OSError, ValueError, TypeError) as exc:
        raise ForecastFormatError(f"{path}: not a readable NetCDF forecast: {exc}") from exc
    try:
        return validate(ds)
    except Exception as exc:
        raise ForecastFormatError(f"{path}: {exc}") from exc


# ---------------------------------------------------------------------------------------------- GeoJSON
def write_geojson(ds: Any, path: str | os.PathLike) -> Path:
    """Write a single-window forecast as a GeoJSON FeatureCollection, atomically.

    One Polygon feature per grid cell with properties ``longitude``, ``latitude`` (centre), ``expected_count``
    (all magnitudes) and ``expected_count_by_magnitude`` (list over the bins); the collection carries the grid in
    the foreign member ``quakelab_grid_spec`` and the model name in ``quakelab_model``, so that
    :func:`read_geojson` restores the forecast exactly.
    """
    from quakelab.catalog.store import write_text_atomic

    spec, ix, iy, rates = _table(ds)
    x0, x1, y0, y1 = spec.lon_edges[ix], spec.lon_edges[ix + 1], spec.lat_edges[iy], spec.lat_edges[iy + 1]
    feats = []
    for k in range(ix.size):
        ring = [[x0[k], y0[k]], [x1[k], y0[k]], [x1[k], y1[k]], [x0[k], y1[k]], [x0[k], y0[k]]]
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "longitude": float(spec.longitudes[ix[k]]),
                    "latitude": float(spec.latitudes[iy[k]]),
                    "expected_count": float(rates[k].sum()),
                    "expected_count_by_magnitude": [float(v) for v in rates[k]],
                },
            }
        )
    doc = {
        "type": "FeatureCollection",
        "quakelab_model": ds.attrs.get("model", ""),
        "quakelab_magnitudes": [float(m) for m in spec.magnitudes],
        "quakelab_grid_spec": spec.to_dict(),
        "features": feats,
    }
    return write_text_atomic(path, json.dumps(doc, allow_nan=False))


def read_geojson(path: str | os.PathLike):
    """Read a forecast written by :func:`write_geojson`."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ForecastFormatError(f"{path}: not readable as JSON: {exc}") from exc
    if "quakelab_grid_spec" not in doc:
        raise ForecastFormatError(f"{path}: no 'quakelab_grid_spec' member (not written by quakelab)")
    try:
        spec = GridSpec.from_dict(doc["quakelab_grid_spec"])
    except GridSpecError as exc:
        raise ForecastFormatError(f"{path}: {exc}") from exc
    arr = np.full(spec.shape, np.nan)
    for k, feat in enumerate(doc.get("features", [])):
        props = feat.get("properties", {})
        try:
            (iy,), (ix,) = spec.cell_index([props["longitude"]], [props["latitude"]])
            values = np.asarray(props["expected_count_by_magnitude"], dtype=float)
        except (KeyError, TypeError, ValueError) as exc:
            raise ForecastFormatError(f"{path}: feature {k}: bad or missing property {exc}") from exc
        if iy < 0 or values.shape != (spec.n_magnitudes,):
            raise ForecastFormatError(
                f"{path}: feature {k}: cell ({props['longitude']}, {props['latitude']}) or its "
                f"{values.size} magnitude values do not fit the grid"
            )
        arr[:, iy, ix] = values
    try:
        return from_array(arr, spec, model=doc.get("quakelab_model", ""))
    except Exception as exc:
        raise ForecastFormatError(f"{path}: {exc}") from exc


# ---------------------------------------------------------------------------------------------- dispatch
_WRITERS = {
    ".dat": write_ascii,
    ".xml": write_xml,
    ".nc": write_netcdf,
    ".geojson": write_geojson,
    ".json": write_geojson,
}
_READERS = {
    ".dat": read_ascii,
    ".xml": read_xml,
    ".nc": read_netcdf,
    ".geojson": read_geojson,
    ".json": read_geojson,
}


def write_forecast(ds: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Write a forecast in the format of the file extension (``.dat``, ``.xml``, ``.nc``, ``.geojson``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in _WRITERS:
        raise ForecastFormatError(
            f"{path}: unknown forecast format {suffix!r}; use one of {sorted(_WRITERS)}"
        )
    return _WRITERS[suffix](ds, path, **kwargs)


def read_forecast(path: str | os.PathLike, *, storage_options: dict[str, Any] | None = None, **kwargs: Any):
    """Read a forecast in the format of the file extension (``.dat``, ``.xml``, ``.nc``, ``.geojson``).

    ``path`` may be an fsspec URL (``s3://bucket/fc.xml``; ``storage_options`` are its filesystem's
    options): the file is read through a temporary local copy and messages name the URL.
    """
    from quakelab.storage import exists, is_remote, local_copy

    suffix = Path(str(path)).suffix.lower()
    if suffix not in _READERS:
        raise ForecastFormatError(
            f"{path}: unknown forecast format {suffix!r}; use one of {sorted(_READERS)}"
        )
    if not exists(path, storage_options):
        raise ForecastFormatError(f"{path}: no such file")
    if not is_remote(str(path)):
        return _READERS[suffix](path, **kwargs)
    with local_copy(path, storage_options) as local:
        try:
            ds = _READERS[suffix](local, **kwargs)
        except ForecastFormatError as exc:
            raise ForecastFormatError(str(exc).replace(str(local), str(path))) from exc
    if ds.attrs.get("source") == str(local):
        ds.attrs["source"] = str(path)
    return ds
