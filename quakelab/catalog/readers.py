"""Read earthquake catalogs from the formats seismologists meet into canonical DataFrames."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from quakelab.catalog.schema import CatalogError
from quakelab.catalog.validate import build_catalog


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
    "event_id": "id",
    "time": "time",
    "latitude": "latitude",
    "longitude": "longitude",
    "depth_km": "depth",
    "magnitude": "mag",
    "mag_type": "magType",
    "event_type": "type",
}
_FDSN_TEXT_COLUMNS = {
    "event_id": "EventID",
    "time": "Time",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "depth_km": "Depth/km",
    "magnitude": "Magnitude",
    "mag_type": "MagType",
    "event_type": "EventType",
}
_PYCSEP_COLUMNS = {
    "event_id": "event_id",
    "time": "time_string",
    "latitude": "lat",
    "longitude": "lon",
    "depth_km": "depth",
    "magnitude": "M",
}

#: Named reader presets: file formats of the field and the real catalogs quakelab is tested on.
PRESETS: dict[str, ReaderPreset] = {
    "comcat": ReaderPreset("csv", _COMCAT_COLUMNS, description="ANSS ComCat / FDSN-USGS CSV (format=csv)"),
    "fdsn-text": ReaderPreset(
        "fdsn-text",
        _FDSN_TEXT_COLUMNS,
        timezone="UTC",
        description="FDSN event text format (#EventID|Time|Latitude|...), UTC",
    ),
    "pycsep": ReaderPreset(
        "csv",
        _PYCSEP_COLUMNS,
        timezone="UTC",
        id_prefix="pycsep:",
        description="pycsep CSV (lon,lat,M,time_string,depth,catalog_id,event_id), UTC",
    ),
    "ridgecrest-2019": ReaderPreset(
        "csv",
        {
            "time": "time",
            "latitude": "latitude",
            "longitude": "longitude",
            "depth_km": "depth",
            "magnitude": "mag",
        },
        id_prefix="rc2019:",
        description="Ridgecrest 2019 aftershock extract (ComCat-derived; time,latitude,longitude,depth,mag,...)",
    ),
    "qtm-sanjacinto": ReaderPreset(
        "csv",
        {
            "event_id": "index",
            "time": "time",
            "latitude": "latitude",
            "longitude": "longitude",
            "magnitude": "magnitude",
        },
        timezone="UTC",
        id_prefix="qtm:",
        prefix_ids=True,
        description="QTM San Jacinto 2008-2017 as packaged by EarthquakeNPP (index,time,longitude,latitude,magnitude,x,y)",
    ),
    "usgs-global-significant": ReaderPreset(
        "csv",
        {
            "event_id": "ID",
            "time": ["Date", "Time"],
            "latitude": "Latitude",
            "longitude": "Longitude",
            "depth_km": "Depth",
            "magnitude": "Magnitude",
            "mag_type": "Magnitude Type",
            "event_type": "Type",
        },
        timezone="UTC",
        time_format="%m/%d/%Y %H:%M:%S",
        description="USGS NEIC significant earthquakes 1965-2016 (Date,Time,Latitude,...,Type,...)",
    ),
}


# --- CSV family: header detection, delimiter sniffing, lenient tokenising with physical lines -------------

#: Delimiters tried, in order of preference, when a CSV-family file does not say.
DELIMITERS = (",", ";", "\t", "|")
#: First character of a comment line in CSV-family files.
COMMENT = "#"

#: Header names recognised for each canonical column when a CSV has no preset (compared lower case).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "event_id": ("event_id", "eventid", "id", "evid", "event id", "event"),
    "time": (
        "time",
        "origin_time",
        "origintime",
        "origin time",
        "datetime",
        "date_time",
        "time_string",
        "timestamp",
        "otime",
        "time_utc",
        "utc",
    ),
    "latitude": ("latitude", "lat", "evla", "lat_deg", "latitude_deg"),
    "longitude": ("longitude", "lon", "long", "lng", "evlo", "lon_deg", "longitude_deg"),
    "depth_km": ("depth_km", "depth", "dep", "depth/km", "depth(km)", "evdp", "z_km"),
    "magnitude": ("magnitude", "mag", "m", "ml", "mw", "mag_value"),
    "mag_type": ("mag_type", "magtype", "magnitude_type", "magnitude type", "mag type"),
    "event_type": ("event_type", "eventtype", "type", "event type"),
}


def _decode(data: bytes) -> str:
    """UTF-8 (a byte-order mark dropped), or Latin-1 when the bytes are not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _split_header(line: str, delimiter: str) -> list[str]:
    import csv

    row = next(csv.reader([line], delimiter=delimiter), [])
    return [c.strip() for c in row]


@dataclass(frozen=True)
class TextHeader:
    """Where the header of a CSV-family file is and how it is split."""

    line: int  # physical line number (1-based)
    names: list[str]
    delimiter: str
    hashed: bool  # written as '#name|name|...' (FDSN text)


def sniff_header(
    path: str | os.PathLike, delimiter: str | None = None, *, head: bytes | None = None
) -> TextHeader | None:
    """Find the header line of a CSV-family file and its delimiter, reading only the file's start.

    Comment lines (``#`` ...) and blank lines before the header are skipped; an FDSN text header
    (``#EventID|Time|...``) is recognised. The delimiter, when not given, is the candidate of
    :data:`DELIMITERS` that splits the header into the most fields (at least two) and splits the next
    data line into as many.

    Parameters
    ----------
    path : path-like
        The file.
    delimiter : str, optional
        Field separator; sniffed when None.
    head : bytes, optional
        The file's first bytes, when already read.

    Returns
    -------
    TextHeader or None
        None when no line looks like a delimited header.
    """
    if head is None:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    text = _decode(head)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        hashed = False
        if stripped.startswith(COMMENT):
            if "|" in stripped and (delimiter in (None, "|")) and "eventid" in stripped.lower():
                hashed = True
                stripped = stripped.lstrip(COMMENT)
            else:
                continue
        following = next(
            (x for x in lines[i + 1 : i + 40] if x.strip() and not x.lstrip().startswith(COMMENT)), None
        )
        candidates = ("|",) if hashed else ((delimiter,) if delimiter else DELIMITERS)
        best: tuple[int, str] | None = None
        for cand in candidates:
            names = _split_header(stripped, cand)
            if len(names) < 2 and delimiter is None:
                continue
            if (
                following is not None
                and delimiter is None
                and len(_split_header(following, cand)) != len(names)
            ):
                continue
            if best is None or len(names) > best[0]:
                best = (len(names), cand)
        if best is None and delimiter is None:  # ragged first data line: count on the header alone
            for cand in candidates:
                n = len(_split_header(stripped, cand))
                if n >= 2 and (best is None or n > best[0]):
                    best = (n, cand)
        if best is None:
            return None
        return TextHeader(
            line=i + 1, names=_split_header(stripped, best[1]), delimiter=best[1], hashed=hashed
        )
    return None


def guess_columns(names: Sequence[str]) -> dict[str, str | list[str]] | None:
    """Canonical column -> header name, from :data:`COLUMN_ALIASES`; None unless time, latitude,
    longitude and magnitude are all found. Separate ``date`` and ``time`` columns are joined."""
    lower = {n.lower().strip(): n for n in names}
    out: dict[str, str | list[str]] = {}
    for canonical, aliases in COLUMN_ALIASES.items():
        for a in aliases:
            if a in lower and lower[a] not in out.values():
                out[canonical] = lower[a]
                break
    if "date" in lower and "time" in out and lower["date"] not in out.values():
        out["time"] = [lower["date"], out["time"]]  # type: ignore[list-item]
    if not {"time", "latitude", "longitude", "magnitude"} <= set(out):
        return None
    return out


@dataclass
class DelimitedTable:
    """Rows of a CSV-family file that have the header's number of fields, with their physical lines."""

    frame: pd.DataFrame
    lines: np.ndarray
    rejected: list[dict]
    n_records: int


def read_delimited(
    path: str | os.PathLike, header: TextHeader, *, data: bytes | None = None
) -> DelimitedTable:
    """Tokenise a CSV-family file without ever failing on a malformed row.

    A fast path (pyarrow's reader) is taken when the file is regular: the header on line 1, no
    comment or blank lines, no line breaks inside quoted fields and every row with the header's
    number of fields (checked by comparing the parser's row count with the file's line count). Anything
    else goes through Python's ``csv`` module, which gives each record's physical first line (blank
    lines, comment lines and quoted multi-line fields counted) and sets aside rows with too many or
    too few fields; the good rows are then parsed by pandas as a whole.

    Parameters
    ----------
    path : path-like
        The file (named in the report).
    header : TextHeader
        From :func:`sniff_header`.
    data : bytes, optional
        The file's content, when already read.

    Returns
    -------
    DelimitedTable
        Raw columns (as pandas infers them), the physical line of each row, and rejection records
        (``line, field, value, reason``) of the rows with a wrong number of fields.
    """
    if data is None:
        data = Path(path).read_bytes()
    names = header.names
    if header.line == 1 and b"\n" + COMMENT.encode() not in data:
        frame = _fast_frame(data, header)
        if frame is not None:
            n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            if len(frame) + 1 == n_lines:
                frame.columns = names
                return DelimitedTable(frame, np.arange(2, len(frame) + 2), [], len(frame))
    return _read_delimited_slow(data, header)


def _fast_frame(data: bytes, header: TextHeader) -> pd.DataFrame | None:
    """The whole file through pyarrow's CSV reader (strict about the number of fields, unlike pandas'
    C parser, which fills short rows with NaN), or None when a row has a wrong number of fields.

    A value that defeats pyarrow's block-wise type inference (a word in a numeric column far down
    the file) makes it read every column as text; the validation parses the canonical ones.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    invalid: list[int] = []

    def handler(row) -> str:
        invalid.append(1)
        return "skip"

    parse = pacsv.ParseOptions(delimiter=header.delimiter, invalid_row_handler=handler)
    # one thread: on a busy 2-core machine the threaded reader was slower than pandas' C parser
    read = pacsv.ReadOptions(use_threads=False)
    try:
        table = pacsv.read_csv(pa.py_buffer(data), read_options=read, parse_options=parse)
    except pa.ArrowInvalid:
        if invalid:
            return None
        try:
            table = pacsv.read_csv(
                pa.py_buffer(data),
                read_options=read,
                parse_options=parse,
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(_raw_names(data, header), pa.string())
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    except (pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    if invalid or table.num_columns != len(header.names):
        return None
    if any(pa.types.is_binary(t) for t in table.schema.types):  # not UTF-8: the careful reader decodes it
        return None
    return table.to_pandas()


def _raw_names(data: bytes, header: TextHeader) -> list[str]:
    """Header names exactly as pyarrow sees them (before stripping)."""
    first = _decode(data[: data.find(b"\n") if b"\n" in data else len(data)]).rstrip("\r")
    import csv

    return next(csv.reader([first], delimiter=header.delimiter))


def _read_delimited_slow(data: bytes, header: TextHeader) -> DelimitedTable:
    import csv
    import io

    names = header.names
    ncol = len(names)
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=header.delimiter)
    good: list[list[str]] = []
    lines: list[int] = []
    rejected: list[dict] = []
    n_records = 0
    consumed = 0  # physical lines consumed so far
    for row in reader:
        first = consumed + 1
        consumed = reader.line_num
        if first <= header.line:
            continue  # the header and anything before it
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if row[0].lstrip().startswith(COMMENT):
            continue  # comment line
        n_records += 1
        if len(row) == ncol:
            good.append(row)
            lines.append(first)
        elif len(row) > ncol:
            rejected.append(
                {
                    "line": first,
                    "field": f"(field {ncol + 1})",
                    "value": header.delimiter.join(row[ncol:])[:80],
                    "reason": f"too many fields ({len(row)}, the header has {ncol})",
                }
            )
        else:
            rejected.append(
                {
                    "line": first,
                    "field": names[len(row)],
                    "value": "",
                    "reason": f"too few fields ({len(row)}, the header has {ncol}): truncated row",
                }
            )
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=header.delimiter, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(good)
    buf.seek(0)
    frame = pd.read_csv(buf, sep=header.delimiter, engine="c", low_memory=False, skip_blank_lines=False)
    frame.columns = names
    if len(frame) != len(good):  # pragma: no cover - the rows were written by the csv module just above
        raise CatalogError("internal error: re-read row count differs", source=None)
    return DelimitedTable(frame, np.asarray(lines, dtype=np.int64), rejected, n_records)


def read_header(path: str | os.PathLike, delimiter: str | None = None) -> list[str]:
    """The column names of a CSV-family file, reading only its first bytes.

    Parameters
    ----------
    path : path-like
        The file.
    delimiter : str, optional
        Field separator; sniffed when None.

    Returns
    -------
    list of str
        Header names ([] when the file has no delimited header).
    """
    h = sniff_header(path, delimiter)
    return [] if h is None else list(h.names)


# --- other formats ---------------------------------------------------------------------------------------

#: ObsPy's event format names (``obspy.read_events(format=...)``) by quakelab format name.
OBSPY_FORMATS: dict[str, str] = {
    "quakeml": "QUAKEML",
    "sc3ml": "SC3ML",
    "scml": "SCML",
    "nordic": "NORDIC",
    "ndk": "NDK",
    "zmap": "ZMAP",
    "cmtsolution": "CMTSOLUTION",
    "mchedr": "MCHEDR",
    "nlloc-hyp": "NLLOC_HYP",
    "ims10bulletin": "IMS10BULLETIN",
    "scardec": "SCARDEC",
    "fnetmt": "FNETMT",
    "focmec": "FOCMEC",
    "gse2-bulletin": "GSE2",
    "hypodd-pha": "HYPODDPHA",
    "evt": "EVT",
    "obspy-csv": "CSV",
    "csz": "CSZ",
    "eventtxt": "EVENTTXT",
}
#: Other names accepted by ``format=`` (lower case): the field's usual names and ObsPy's own spellings.
FORMAT_ALIASES: dict[str, str] = {
    "isf": "ims10bulletin",
    "ims1.0": "ims10bulletin",
    "nlloc": "nlloc-hyp",
    "seisan": "nordic",
    "geojson": "geojson",
    "usgs-geojson": "geojson",
    "comcat-csv": "comcat",
    "fdsn": "fdsn-text",
    **{v.lower(): k for k, v in OBSPY_FORMATS.items() if v.lower() not in (k, "csv")},
}
#: ObsPy's write-only event formats (listed so users learn why they cannot be read).
OBSPY_WRITE_ONLY = ("CNV", "JSON", "KML", "NLLOC_OBS", "SHAPEFILE")


def canonical_format(name: str) -> str:
    """The quakelab name of a format given in any accepted spelling.

    Raises
    ------
    CatalogError
        For an unknown name, with the known names and the closest one.
    """
    import difflib

    key = name.strip().lower()
    key = FORMAT_ALIASES.get(key, key)
    known = set(PRESETS) | {"csv", "geojson", "parquet"} | set(OBSPY_FORMATS)
    if key in known:
        return key
    if name.strip().upper() in OBSPY_WRITE_ONLY:
        raise CatalogError(f"ObsPy can write {name.upper()} but not read it; no reader exists for it")
    hint = difflib.get_close_matches(key, sorted(known | set(FORMAT_ALIASES)), n=1)
    raise CatalogError(
        f"unknown format {name!r}"
        + (f" (did you mean {hint[0]!r}?)" if hint else "")
        + f"; known: {', '.join(sorted(known))} (see quakelab.catalog.list_formats())"
    )


def _geojson_frame(data: dict) -> pd.DataFrame:
    feats = data.get("features") or []
    rows = []
    for f in feats:
        props = f.get("properties") or {}
        coords = (f.get("geometry") or {}).get("coordinates") or [None, None, None]
        coords = list(coords) + [None] * (3 - len(coords))
        t = props.get("time")
        rows.append(
            {
                "event_id": f.get("id") or props.get("code") or "",
                "time": pd.Timestamp(t, unit="ms", tz="UTC").isoformat() if isinstance(t, int | float) else t,
                "latitude": coords[1],
                "longitude": coords[0],
                "depth_km": coords[2],
                "magnitude": props.get("mag"),
                "mag_type": props.get("magType"),
                "event_type": props.get("type"),
                "place": props.get("place"),
            }
        )
    cols = [
        "event_id",
        "time",
        "latitude",
        "longitude",
        "depth_km",
        "magnitude",
        "mag_type",
        "event_type",
        "place",
    ]
    return pd.DataFrame(rows, columns=cols)


def _obspy_frame(path: Path, obspy_format: str | None) -> pd.DataFrame:
    import obspy

    events = obspy.read_events(str(path), format=obspy_format)
    return catalog_from_obspy(events, as_raw=True)


@dataclass(frozen=True)
class Detection:
    """What :func:`detect_format` found: the format name, the header (CSV family) and why."""

    format: str
    header: TextHeader | None = None
    columns: Mapping[str, str | Sequence[str]] | None = None
    how: str = ""


def detect_format(path: str | os.PathLike, delimiter: str | None = None) -> Detection:
    """Tell a catalog file's format from its content.

    Order: a folder or Parquet magic bytes -> ``parquet``; JSON with ``"type": "FeatureCollection"``
    -> ``geojson``; a delimited header matching a preset (ComCat, FDSN text, pycsep, ...) or with
    recognisable column names (:data:`COLUMN_ALIASES`) -> that preset or ``csv``; anything else is
    offered to ObsPy's own format detection (:func:`obspy.read_events`).

    Parameters
    ----------
    path : path-like
        File or folder.
    delimiter : str, optional
        Field separator of a CSV-family file (sniffed when None).

    Returns
    -------
    Detection
        ``format`` is a name accepted by ``read_catalog(format=...)``; ``"obspy"`` means "let ObsPy
        detect".
    """
    path = Path(path)
    if path.is_dir():
        return Detection("parquet", how="a folder (partitioned Parquet)")
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head[:4] == b"PAR1" or path.suffix.lower() in (".parquet", ".pq"):
        return Detection("parquet", how="Parquet magic bytes")
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        if b"FeatureCollection" in head or b'"features"' in head:
            return Detection("geojson", how="JSON FeatureCollection")
        return Detection("obspy", how="JSON that is not a FeatureCollection")
    if stripped[:1] == b"<":
        return Detection("obspy", how="XML (QuakeML, SC3ML, ...): ObsPy")
    header = sniff_header(path, delimiter, head=head)
    if header is not None:
        names = set(header.names)
        lower = {n.lower() for n in header.names}
        if header.hashed or {"EventID", "Time", "Latitude", "Longitude", "Magnitude"} <= names:
            return Detection("fdsn-text", header, how="FDSN text header (#EventID|Time|...)")
        if {"time", "latitude", "longitude", "mag", "magType", "id"} <= names:
            return Detection(
                "comcat", header, how="ComCat CSV header (time,latitude,longitude,...,mag,magType,id)"
            )
        if {"lon", "lat", "M", "time_string"} <= names:
            return Detection("pycsep", header, how="pycsep CSV header (lon,lat,M,time_string,...)")
        if {"index", "time", "longitude", "latitude", "magnitude", "x", "y"} == names:
            return Detection("qtm-sanjacinto", header, how="EarthquakeNPP QTM header")
        if {"id", "time", "lat", "lon", "dep", "magtype", "mag"} <= lower:
            return Detection("obspy-csv", header, how="ObsPy CSV header (id,time,lat,lon,dep,magtype,mag)")
        guessed = guess_columns(header.names)
        if guessed is not None:
            return Detection(
                "csv", header, guessed, how=f"CSV header with recognised names ({header.delimiter!r})"
            )
    return Detection("obspy", header, how="not a recognised CSV header: ObsPy's format detection")


def _apply_mapping(
    frame: pd.DataFrame, columns: Mapping[str, str | Sequence[str]], source: str
) -> pd.DataFrame:
    """Rename source columns to canonical ones; other columns are kept as extras."""
    out = {}
    used: set[str] = set()
    for canonical, src in columns.items():
        if isinstance(src, str):
            if src not in frame.columns:
                if canonical in ("event_id", "depth_km", "mag_type", "event_type"):
                    continue  # optional
                raise CatalogError(
                    f"column {src!r} (for {canonical!r}) not found; columns are {list(frame.columns)}",
                    source=source,
                    line=1,
                    field=src,
                )
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
    return pd.DataFrame(out, copy=False)


def _csv_family_frame(path: Path, header: TextHeader, columns: Mapping, source: str):
    table = read_delimited(path, header)
    frame = table.frame
    if header.hashed or any(n.startswith(COMMENT) for n in frame.columns):
        frame.columns = [str(c).lstrip(COMMENT).strip() for c in frame.columns]
    raw = _apply_mapping(frame, columns, source) if columns else frame
    return raw, table.lines, table.rejected, table.n_records


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
        rows.append(
            {
                "event_id": _short_id(rid),
                "time": org.time.isoformat() + "Z" if org is not None and org.time is not None else None,
                "latitude": org.latitude if org is not None else None,
                "longitude": org.longitude if org is not None else None,
                "depth_km": org.depth / 1000.0 if org is not None and org.depth is not None else None,
                "magnitude": mag.mag if mag is not None else None,
                "mag_type": mag.magnitude_type if mag is not None else None,
                "event_type": str(ev.event_type) if ev.event_type else "not reported",
            }
        )
    cols = ["event_id", "time", "latitude", "longitude", "depth_km", "magnitude", "mag_type", "event_type"]
    raw = pd.DataFrame(rows, columns=cols)
    for c in ("latitude", "longitude", "depth_km", "magnitude"):
        raw[c] = pd.to_numeric(raw[c], errors="coerce")
    if as_raw:
        return raw
    return build_catalog(raw, source=source, lines=np.arange(1, len(raw) + 1), id_prefix="event:")


def _short_id(resource_id: str) -> str:
    """Shorten FDSN resource ids to the service's event id where the id carries one; ids ObsPy made
    up itself (``smi:local/<uuid>``, different at every read) count as none."""
    import re

    if re.fullmatch(r"smi:local/[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}", resource_id):
        return ""
    if "eventid=" in resource_id:
        return resource_id.split("eventid=")[-1].split("&")[0]
    return resource_id


def read_catalog(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    preset: str | None = None,
    columns: Mapping[str, str | Sequence[str]] | None = None,
    strict: bool = False,
    timezone: str | None = None,
    time_format: str | None = None,
    event_types: Sequence[str] | None = None,
    delimiter: str | None = None,
) -> pd.DataFrame:
    """Read an earthquake catalog file into a validated canonical DataFrame.

    Parameters
    ----------
    path : str or path-like
        A file (CSV with any delimiter, ComCat CSV, FDSN text, pycsep CSV, USGS GeoJSON, Parquet, or
        any event format ObsPy reads: QuakeML, SC3ML, Nordic, NDK, ZMAP, CMTSOLUTION, ISF/IMS1.0,
        MCHEDR, NLLoc hyp, ...) or a folder of (partitioned) Parquet files.
    format : str, optional
        A name from :func:`quakelab.catalog.list_formats` (or an alias such as ``"isf"``); told from
        the content when omitted.
    preset : str, optional
        A name from :data:`PRESETS` (e.g. ``"qtm-sanjacinto"``) fixing format, mapping and time zone.
    columns : mapping, optional
        Canonical column -> source column for any other CSV; ``"time"`` may map to a list of
        columns (date and time) that are joined with a space. Without it, a CSV header is mapped
        by the names of :data:`COLUMN_ALIASES` when time, latitude, longitude and magnitude are found.
    strict : bool, default False
        Raise :class:`~quakelab.catalog.CatalogError` naming file, physical line and field at the
        first bad row. When False, bad rows are left out, listed by
        :func:`~quakelab.catalog.rejected_rows` and summarised in a
        :class:`~quakelab.catalog.RejectedRowsWarning`; no malformed row ever raises.
    timezone : str, optional
        Zone of timestamps without one (overrides the preset). Naive timestamps are rejected otherwise.
    time_format : str, optional
        ``strftime`` format of the time text (overrides the preset).
    event_types : sequence of str, optional
        Keep only these event types (e.g. ``["earthquake"]``). All types are kept by default.
    delimiter : str, optional
        Field separator of a CSV-family file; sniffed from the header when omitted.

    Returns
    -------
    pandas.DataFrame
        Canonical catalog sorted by time; extra source columns follow the canonical ones.
        ``attrs`` (``source``, ``format``, ``n_read``, ``rejected``) are JSON-serialisable.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    CatalogError
        On a file no reader recognises (naming the formats tried), an unknown format, a missing
        required column, or (strict) a bad row.

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
    detection: Detection | None = None
    if preset is not None:
        if preset not in PRESETS:
            raise CatalogError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}", source=source)
        fmt = preset
    elif format is not None:
        fmt = canonical_format(format)
    elif columns is not None:
        fmt = "csv" if not (path.is_dir() or path.suffix.lower() in (".parquet", ".pq")) else "parquet"
    else:
        detection = detect_format(path, delimiter)
        fmt = detection.format
    spec = PRESETS.get(fmt, ReaderPreset(fmt))
    mapping: Mapping | None = columns if columns is not None else (spec.columns or None)
    tz = timezone if timezone is not None else spec.timezone
    tfmt = time_format if time_format is not None else spec.time_format

    lines = None
    pre_rejected: list[dict] = []
    n_read = None
    if fmt == "parquet":
        from quakelab.catalog.store import read_parquet

        if path.is_dir() and not any(path.rglob("*.parquet")):
            raise CatalogError(
                "a folder without Parquet files (a partitioned Parquet catalog was expected)", source=source
            )
        try:
            raw = read_parquet(path) if mapping is None else _read_plain_parquet(path)
        except (OSError, ValueError) as exc:
            if isinstance(exc, CatalogError):
                raise
            raise CatalogError(
                f"not a readable Parquet catalog: {type(exc).__name__}: {exc}", source=source
            ) from exc
        lines = np.arange(1, len(raw) + 1)  # row numbers (1-based) for Parquet
        raw = _apply_mapping(raw, mapping, source) if mapping else raw
    elif fmt == "geojson":
        import json

        try:
            doc = json.loads(path.read_bytes())
        except ValueError as exc:
            raise CatalogError(f"invalid JSON: {exc}", source=source) from exc
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise CatalogError("JSON that is not a GeoJSON FeatureCollection", source=source)
        raw = _geojson_frame(doc)
        lines = np.arange(1, len(raw) + 1)  # feature number in the file
        raw = _apply_mapping(raw, mapping, source) if mapping else raw
    elif fmt in OBSPY_FORMATS or fmt == "obspy":
        raw = _read_with_obspy(path, fmt, detection)
        lines = np.arange(1, len(raw) + 1)  # event number in the file
    else:  # the CSV family
        header = detection.header if detection is not None else None
        if header is None:
            header = sniff_header(path, delimiter or ("|" if spec.format == "fdsn-text" else None))
        if header is None:
            raise CatalogError(
                "no delimited header line found (a CSV-family file needs one)", source=source, line=1
            )
        if mapping is None:
            mapping = (detection.columns if detection is not None else None) or guess_columns(header.names)
        if mapping is None:
            raise CatalogError(
                f"cannot tell the catalog format from the header {header.names!r}; pass format=... or "
                "columns={canonical: source} (see quakelab.catalog.list_formats())",
                source=source,
                line=header.line,
            )
        raw, lines, pre_rejected, n_read = _csv_family_frame(path, header, mapping, source)

    if spec.prefix_ids and "event_id" in raw.columns and spec.id_prefix:
        raw["event_id"] = spec.id_prefix + raw["event_id"].astype("string")
    if spec.mag_type and "mag_type" not in raw.columns:
        raw["mag_type"] = spec.mag_type
    cat = build_catalog(
        raw,
        source=source,
        lines=lines,
        strict=strict,
        timezone=tz,
        time_format=tfmt,
        id_prefix=spec.id_prefix,
        pre_rejected=pre_rejected,
        n_read=n_read,
    )
    cat.attrs["format"] = fmt if fmt != "obspy" else "obspy (auto)"
    if event_types is not None:
        from quakelab.catalog.select import select_event_types

        cat = select_event_types(cat, event_types)
    return cat


def _read_plain_parquet(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    if "year" in frame.columns and path.is_dir():
        frame = frame.drop(columns="year")
    return frame


def _read_with_obspy(path: Path, fmt: str, detection: Detection | None) -> pd.DataFrame:
    """Events through ObsPy, named or auto-detected; a file nobody reads raises naming what was tried."""
    name = OBSPY_FORMATS.get(fmt)
    try:
        return _obspy_frame(path, name)
    except Exception as exc:  # noqa: BLE001 - ObsPy raises many types for a file it cannot read
        if name is not None:
            raise CatalogError(
                f"ObsPy could not read it as {name}: {type(exc).__name__}: {exc}", source=str(path)
            ) from exc
        why = detection.how if detection is not None else ""
        header = (
            f" (first line {detection.header.names[:8]!r})"
            if detection is not None and detection.header
            else ""
        )
        tried = (
            "Parquet (magic bytes or a folder), GeoJSON (JSON FeatureCollection), the CSV family "
            "(a delimited header with time, latitude, longitude and magnitude columns or a preset: "
            f"{', '.join(sorted(PRESETS))}){header}, and ObsPy's event formats "
            f"({', '.join(sorted(set(OBSPY_FORMATS.values())))}): {type(exc).__name__}: {exc}"
        )
        raise CatalogError(
            f"cannot tell the catalog format: no reader recognises this file [{why}]; tried {tried}. "
            "Pass format=... or columns={canonical: source} (see quakelab.catalog.list_formats())",
            source=str(path),
        ) from exc
