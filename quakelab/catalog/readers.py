"""Read earthquake catalogs from the formats seismologists meet into canonical DataFrames."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from quakelab.catalog.schema import CatalogError
from quakelab.catalog.validate import build_catalog

CatalogFormat = Literal["comcat", "fdsn-text", "quakeml", "pycsep", "parquet", "csv"]


@dataclass(frozen=True)
class ReaderPreset:
    """How to read one kind of file into canonical columns.

    Attributes
    ----------
    format : str
        Underlying file format (``"csv"``, ``"fdsn-text"``, ...).
    columns : mapping
        Canonical column -> source column. ``"time"`` may map to a list of columns joined with a space
        (e.g. separate date and time columns).
    timezone : str or None
        Zone of timestamps written without one.
    time_format : str or None
        ``strftime`` format of the time text; ISO 8601 when None.
    id_prefix : str or None
        Prefix of identifiers: made-up ids are ``prefix + line``; ids present in the source are prefixed
        too when ``prefix_ids`` is set.
    prefix_ids : bool
        Prefix the source's own identifiers with ``id_prefix`` (for numeric row indices).
    mag_type : str or None
        Magnitude type to record when the source has no such column.
    description : str
        One line for listings.
    """

    format: str
    columns: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    timezone: str | None = None
    time_format: str | None = None
    id_prefix: str | None = None
    prefix_ids: bool = False
    mag_type: str | None = None
    description: str = ""


_COMCAT_COLUMNS = {
    "event_id": "id", "time": "time", "latitude": "latitude", "longitude": "longitude",
    "depth_km": "depth", "magnitude": "mag", "mag_type": "magType", "event_type": "type",
}
_FDSN_TEXT_COLUMNS = {
    "event_id": "EventID", "time": "Time", "latitude": "Latitude", "longitude": "Longitude",
    "depth_km": "Depth/km", "magnitude": "Magnitude", "mag_type": "MagType", "event_type": "EventType",
}
_PYCSEP_COLUMNS = {
    "event_id": "event_id", "time": "time_string", "latitude": "lat", "longitude": "lon",
    "depth_km": "depth", "magnitude": "M",
}

#: Named reader presets: file formats of the field and the real catalogs quakelab is tested on.
PRESETS: dict[str, ReaderPreset] = {
    "comcat": ReaderPreset("csv", _COMCAT_COLUMNS, description="ANSS ComCat / FDSN-USGS CSV (format=csv)"),
    "fdsn-text": ReaderPreset("fdsn-text", _FDSN_TEXT_COLUMNS, timezone="UTC",
                              description="FDSN event text format (#EventID|Time|Latitude|...), UTC"),
    "pycsep": ReaderPreset("csv", _PYCSEP_COLUMNS, timezone="UTC", id_prefix="pycsep:",
                           description="pycsep CSV (lon,lat,M,time_string,depth,catalog_id,event_id), UTC"),
    "ridgecrest-2019": ReaderPreset(
        "csv",
        {"time": "time", "latitude": "latitude", "longitude": "longitude", "depth_km": "depth",
         "magnitude": "mag"},
        id_prefix="rc2019:",
        description="Ridgecrest 2019 aftershock extract (ComCat-derived; time,latitude,longitude,depth,mag,...)",
    ),
    "qtm-sanjacinto": ReaderPreset(
        "csv",
        {"event_id": "index", "time": "time", "latitude": "latitude", "longitude": "longitude",
         "magnitude": "magnitude"},
        timezone="UTC", id_prefix="qtm:", prefix_ids=True,
        description="QTM San Jacinto 2008-2017 as packaged by EarthquakeNPP (index,time,longitude,latitude,magnitude,x,y)",
    ),
    "usgs-global-significant": ReaderPreset(
        "csv",
        {"event_id": "ID", "time": ["Date", "Time"], "latitude": "Latitude", "longitude": "Longitude",
         "depth_km": "Depth", "magnitude": "Magnitude", "mag_type": "Magnitude Type", "event_type": "Type"},
        timezone="UTC", time_format="%m/%d/%Y %H:%M:%S",
        description="USGS NEIC significant earthquakes 1965-2016 (Date,Time,Latitude,...,Type,...)",
    ),
}


def _sniff_format(path: Path) -> str:
    if path.is_dir() or path.suffix in {".parquet", ".pq"}:
        return "parquet"
    if path.suffix.lower() in {".xml", ".quakeml", ".qml"}:
        return "quakeml"
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.readline().strip()
    if head.startswith("<?xml") or head.startswith("<q:quakeml"):
        return "quakeml"
    if head.startswith("#") and "|" in head:
        return "fdsn-text"
    names = [c.strip() for c in head.split(",")]
    if {"time", "latitude", "longitude", "mag", "magType", "id"} <= set(names):
        return "comcat"
    if {"lon", "lat", "M", "time_string"} <= set(names):
        return "pycsep"
    raise CatalogError(
        f"cannot tell the catalog format from the header {head[:120]!r}; pass format=... or "
        "columns={canonical: source} (see quakelab.catalog.PRESETS)",
        source=str(path), line=1,
    )


def _apply_mapping(frame: pd.DataFrame, columns: Mapping[str, str | Sequence[str]], source: str) -> pd.DataFrame:
    """Rename source columns to canonical ones; other columns are kept as extras."""
    out = {}
    used: set[str] = set()
    for canonical, src in columns.items():
        if isinstance(src, str):
            if src not in frame.columns:
                if canonical in ("event_id", "depth_km", "mag_type", "event_type"):
                    continue  # optional
                raise CatalogError(f"column {src!r} (for {canonical!r}) not found; columns are {list(frame.columns)}",
                                   source=source, line=1, field=src)
            out[canonical] = frame[src]
            used.add(src)
        else:
            missing = [s for s in src if s not in frame.columns]
            if missing:
                raise CatalogError(f"columns {missing} (for {canonical!r}) not found", source=source, line=1)
            parts = [frame[s].astype("string").str.strip() for s in src]
            joined = parts[0]
            for p in parts[1:]:
                joined = joined + " " + p
            out[canonical] = joined
            used.update(src)
    for c in frame.columns:
        if c not in used and c not in out:
            out[c] = frame[c]
    return pd.DataFrame(out)


def _read_csv(path: Path, sep: str = ",") -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=sep, engine="pyarrow")
    except Exception:  # noqa: BLE001 - ragged or odd files: the C engine reads them and reports lines
        return pd.read_csv(path, sep=sep, engine="c", low_memory=False)


def _read_fdsn_text(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="|", engine="c", dtype=str, keep_default_na=False, na_values=[""])
    frame.columns = [c.lstrip("#").strip() for c in frame.columns]
    return frame


def _quakeml_frame(path: str | os.PathLike | object) -> pd.DataFrame:
    import obspy

    events = obspy.read_events(path) if not isinstance(path, obspy.Catalog) else path
    return catalog_from_obspy(events, as_raw=True)


def catalog_from_obspy(events, *, as_raw: bool = False, source: str = "obspy.Catalog") -> pd.DataFrame:
    """Convert an :class:`obspy.core.event.Catalog` into a canonical catalog.

    The preferred origin and magnitude of each event are used (the first ones when none is preferred).
    Events without an event type (ObsPy drops types outside the QuakeML vocabulary) get
    ``event_type = "not reported"``, never "earthquake".

    Parameters
    ----------
    events : obspy.core.event.Catalog
        Events, e.g. from :func:`obspy.read_events` or an FDSN client.
    as_raw : bool, default False
        Return unvalidated canonical columns (for internal use by readers).
    source : str
        Name used in validation messages.

    Returns
    -------
    pandas.DataFrame
        Canonical catalog (or raw canonical columns when ``as_raw``).
    """
    rows = []
    for ev in events:
        org = ev.preferred_origin() or (ev.origins[0] if ev.origins else None)
        mag = ev.preferred_magnitude() or (ev.magnitudes[0] if ev.magnitudes else None)
        rid = str(ev.resource_id.id) if ev.resource_id else ""
        rows.append({
            "event_id": _short_id(rid),
            "time": org.time.isoformat() + "Z" if org is not None and org.time is not None else None,
            "latitude": org.latitude if org is not None else None,
            "longitude": org.longitude if org is not None else None,
            "depth_km": org.depth / 1000.0 if org is not None and org.depth is not None else None,
            "magnitude": mag.mag if mag is not None else None,
            "mag_type": mag.magnitude_type if mag is not None else None,
            "event_type": str(ev.event_type) if ev.event_type else "not reported",
        })
    cols = ["event_id", "time", "latitude", "longitude", "depth_km", "magnitude", "mag_type", "event_type"]
    raw = pd.DataFrame(rows, columns=cols)
    for c in ("latitude", "longitude", "depth_km", "magnitude"):
        raw[c] = pd.to_numeric(raw[c], errors="coerce")
    if as_raw:
        return raw
    return build_catalog(raw, source=source, lines=np.arange(1, len(raw) + 1), id_prefix="event:")


def _short_id(resource_id: str) -> str:
    """Shorten FDSN resource ids to the service's event id where the id carries one."""
    if "eventid=" in resource_id:
        return resource_id.split("eventid=")[-1].split("&")[0]
    return resource_id


def read_catalog(
    path: str | os.PathLike,
    *,
    format: CatalogFormat | None = None,
    preset: str | None = None,
    columns: Mapping[str, str | Sequence[str]] | None = None,
    strict: bool = False,
    timezone: str | None = None,
    time_format: str | None = None,
    event_types: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read an earthquake catalog into a validated canonical DataFrame.

    Parameters
    ----------
    path : str or path-like
        A file (CSV, FDSN text, QuakeML, Parquet) or a directory of Parquet files.
    format : {"comcat", "fdsn-text", "quakeml", "pycsep", "parquet", "csv"}, optional
        File format; guessed from the extension and header when omitted.
    preset : str, optional
        A name from :data:`PRESETS` (e.g. ``"qtm-sanjacinto"``) fixing format, mapping and time zone.
    columns : mapping, optional
        Canonical column -> source column for any other CSV (``format="csv"``); ``"time"`` may map to
        a list of columns (date and time) that are joined with a space.
    strict : bool, default False
        Raise :class:`~quakelab.catalog.CatalogError` naming file, line and field at the first bad row.
        When False, bad rows are left out, listed by :func:`~quakelab.catalog.rejected_rows` and
        summarised in a :class:`~quakelab.catalog.RejectedRowsWarning`.
    timezone : str, optional
        Zone of timestamps without one (overrides the preset). Naive timestamps are rejected otherwise.
    time_format : str, optional
        ``strftime`` format of the time text (overrides the preset).
    event_types : sequence of str, optional
        Keep only these event types (e.g. ``["earthquake"]``). All types are kept by default.

    Returns
    -------
    pandas.DataFrame
        Canonical catalog sorted by time; extra source columns follow the canonical ones.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    CatalogError
        On an unknown format, a missing required column, or (strict) a bad row.

    Examples
    --------
    >>> from quakelab.datasets import get
    >>> cat = read_catalog(get("ridgecrest-2019-sample").path(), preset="pycsep")
    >>> len(cat), str(cat["time"].dtype)
    (829, 'datetime64[ns, UTC]')
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise FileNotFoundError(f"catalog file not found: {path}")
    if preset is not None:
        if preset not in PRESETS:
            raise CatalogError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}", source=source)
        spec = PRESETS[preset]
    elif columns is not None:
        spec = ReaderPreset("csv", columns)
    else:
        fmt = format or _sniff_format(path)
        spec = PRESETS[fmt] if fmt in PRESETS else ReaderPreset(fmt)
        if fmt == "csv":
            raise CatalogError("a generic CSV needs columns={canonical: source}", source=source)
    tz = timezone if timezone is not None else spec.timezone
    tfmt = time_format if time_format is not None else spec.time_format

    lines = None
    if spec.format == "parquet":
        from quakelab.catalog.store import read_parquet

        raw = read_parquet(path)
        lines = np.arange(1, len(raw) + 1)  # row numbers (1-based) for Parquet
        raw = _apply_mapping(raw, spec.columns, source) if spec.columns else raw
    elif spec.format == "quakeml":
        raw = _quakeml_frame(path)
        lines = np.arange(1, len(raw) + 1)  # event number in the file
    elif spec.format == "fdsn-text":
        raw = _apply_mapping(_read_fdsn_text(path), spec.columns, source)
    else:
        raw = _apply_mapping(_read_csv(path), spec.columns, source)

    if spec.prefix_ids and "event_id" in raw.columns and spec.id_prefix:
        raw["event_id"] = spec.id_prefix + raw["event_id"].astype("string")
    if spec.mag_type and "mag_type" not in raw.columns:
        raw["mag_type"] = spec.mag_type
    cat = build_catalog(raw, source=source, lines=lines, strict=strict, timezone=tz, time_format=tfmt,
                        id_prefix=spec.id_prefix)
    if event_types is not None:
        from quakelab.catalog.select import select_event_types

        cat = select_event_types(cat, event_types)
    return cat
