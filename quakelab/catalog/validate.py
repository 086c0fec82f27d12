"""Turn raw columns into a validated canonical catalog, reporting every rejected row."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from quakelab.catalog.schema import (
    CANONICAL_COLUMNS,
    DEPTH_RANGE_KM,
    EVENT_TYPE,
    LATITUDE_RANGE,
    LONGITUDE_RANGE,
    MAGNITUDE_RANGE,
    REJECTED_COLUMNS,
    CatalogError,
    RejectedRowsWarning,
)

_TZ_SUFFIX = r"(?:[zZ]|[+-]\d{2}:?\d{2})$"


class RejectionReport:
    """Immutable holder of the rejected-row table kept in ``catalog.attrs["rejected"]``.

    pandas deep-copies ``attrs`` on every operation; this object returns itself from
    ``__deepcopy__`` so a large report costs nothing to carry along.
    """

    __slots__ = ("_frame",)

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def __deepcopy__(self, memo: dict) -> RejectionReport:
        return self

    def __iter__(self):
        return iter(self._frame.to_dict("records"))

    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        return f"RejectionReport({len(self)} rejected rows)"

    @property
    def frame(self) -> pd.DataFrame:
        """The report as a DataFrame (a copy)."""
        return self._frame.copy()


def _parse_times(raw: pd.Series, timezone: str | None, time_format: str | None) -> tuple[pd.Series, pd.Series]:
    """Return (UTC times with NaT where unusable, reason per row or '' )."""
    reasons = pd.Series("", index=raw.index, dtype=object)
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_convert("UTC").astype("datetime64[ns, UTC]"), reasons
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        if timezone is None:
            reasons[raw.notna()] = "naive timestamp (no time zone); pass timezone='UTC' if the source is in UTC"
            reasons[raw.isna()] = "missing time"
            return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]"), reasons
        out = raw.dt.tz_localize(timezone).dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        reasons[out.isna()] = "missing time"
        return out, reasons
    text = raw.astype("string").str.strip()
    missing = text.isna() | (text == "")
    if time_format is None:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        if parsed.isna().any():  # mixed precisions or separators: per-element fallback
            retry = parsed.isna() & ~missing
            parsed[retry] = pd.to_datetime(text[retry], format="mixed", errors="coerce", utc=True)
    else:
        parsed = pd.to_datetime(text, format=time_format, errors="coerce", utc=True)
        retry = parsed.isna() & ~missing
        if retry.any():  # a few sources mix an ISO 8601 variant into a fixed format
            parsed[retry] = pd.to_datetime(text[retry], format="ISO8601", errors="coerce", utc=True)
    parsed = parsed.astype("datetime64[ns, UTC]")
    aware = text.str.contains(_TZ_SUFFIX, regex=True, na=False)
    naive = ~aware & ~missing & parsed.notna()
    if naive.any():
        if timezone is None:
            reasons[naive] = "naive timestamp (no time zone); pass timezone='UTC' if the source is in UTC"
            parsed[naive] = pd.NaT
        elif timezone.upper() != "UTC":
            local = pd.to_datetime(text[naive], format=time_format or "ISO8601", errors="coerce")
            parsed[naive] = local.dt.tz_localize(timezone).dt.tz_convert("UTC")
    reasons[missing] = "missing time"
    reasons[~missing & parsed.isna() & (reasons == "")] = "unparseable time"
    return parsed, reasons


def _numeric(raw: pd.Series, name: str, bounds: tuple[float, float], required: bool) -> tuple[pd.Series, pd.Series]:
    reasons = pd.Series("", index=raw.index, dtype=object)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.astype("float64")
        missing = values.isna()
    else:
        text = raw.astype("string").str.strip()
        missing = text.isna() | (text == "")
        values = pd.to_numeric(text.where(~missing), errors="coerce").astype("float64")
        reasons[~missing & values.isna()] = f"non-numeric {name}"
    if required:
        reasons[missing] = f"missing {name}"
    lo, hi = bounds
    out_of_range = values.notna() & ((values < lo) | (values > hi))
    reasons[out_of_range] = f"{name} out of range [{lo:g}, {hi:g}]"
    return values, reasons


def build_catalog(
    raw: pd.DataFrame,
    *,
    source: str,
    lines: Sequence[int] | np.ndarray | None = None,
    strict: bool = False,
    timezone: str | None = None,
    time_format: str | None = None,
    id_prefix: str | None = None,
    sort: bool = True,
) -> pd.DataFrame:
    """Validate raw columns (already renamed to canonical names) into a canonical catalog.

    Parameters
    ----------
    raw : pandas.DataFrame
        Columns named as in :data:`~quakelab.catalog.schema.CANONICAL_COLUMNS` (``event_id``,
        ``depth_km``, ``mag_type`` and ``event_type`` may be absent); any other column is kept as an
        extra. Values may still be strings.
    source : str
        Name of the input (a path), used in messages and in the report.
    lines : sequence of int, optional
        Line number in ``source`` of each row (header = line 1); defaults to ``row + 2``.
    strict : bool, default False
        Raise :class:`CatalogError` at the first bad row instead of rejecting it.
    timezone : str, optional
        Zone of timestamps written without one (e.g. ``"UTC"``). When None such timestamps are rejected.
    time_format : str, optional
        ``strftime`` format of the time column; ISO 8601 when None.
    id_prefix : str, optional
        Prefix of identifiers made up for rows without one (``f"{id_prefix}{line}"``); defaults to
        the file name followed by a colon.
    sort : bool, default True
        Sort the result by time (stable).

    Returns
    -------
    pandas.DataFrame
        The valid rows with canonical columns first, extras after; ``attrs["source"]``,
        ``attrs["n_read"]`` and ``attrs["rejected"]`` (see :func:`quakelab.catalog.rejected_rows`).

    Raises
    ------
    CatalogError
        In strict mode at the first bad row; in any mode when a required column is absent.
    """
    for col in ("time", "latitude", "longitude", "magnitude"):
        if col not in raw.columns:
            raise CatalogError(f"required column {col!r} is missing (columns: {list(raw.columns)})",
                               source=source, field=col)
    n = len(raw)
    raw = raw.reset_index(drop=True)
    line_no = np.arange(2, n + 2) if lines is None else np.asarray(lines)
    if id_prefix is None:
        id_prefix = source.rsplit("/", 1)[-1] + ":"

    time, r_time = _parse_times(raw["time"], timezone, time_format)
    lat, r_lat = _numeric(raw["latitude"], "latitude", LATITUDE_RANGE, True)
    lon_raw = raw["longitude"]
    lon, r_lon = _numeric(lon_raw, "longitude", (LONGITUDE_RANGE[0], 360.0), True)
    lon = lon.where(~(lon > 180.0), lon - 360.0)  # 0..360 convention -> -180..180
    if "depth_km" in raw.columns:
        depth, r_depth = _numeric(raw["depth_km"], "depth_km", DEPTH_RANGE_KM, False)
    else:
        depth, r_depth = pd.Series(np.nan, index=raw.index), pd.Series("", index=raw.index, dtype=object)
    mag, r_mag = _numeric(raw["magnitude"], "magnitude", MAGNITUDE_RANGE, True)

    if "event_id" in raw.columns:
        ids = raw["event_id"].astype("string").str.strip()
        no_id = ids.isna() | (ids == "")
    else:
        ids = pd.Series(pd.NA, index=raw.index, dtype="string")
        no_id = pd.Series(True, index=raw.index)
    if no_id.any():
        ids[no_id] = pd.Series(line_no, index=raw.index)[no_id].map(lambda ln: f"{id_prefix}{ln}").astype("string")

    checks = [("time", r_time, raw["time"]), ("latitude", r_lat, raw["latitude"]),
              ("longitude", r_lon, lon_raw), ("magnitude", r_mag, raw["magnitude"])]
    if "depth_km" in raw.columns:
        checks.insert(3, ("depth_km", r_depth, raw["depth_km"]))
    field = pd.Series("", index=raw.index, dtype=object)
    reason = pd.Series("", index=raw.index, dtype=object)
    value = pd.Series("", index=raw.index, dtype=object)
    for name, r, original in reversed(checks):  # first failing field wins
        bad = r != ""
        field[bad] = name
        reason[bad] = r[bad]
        value[bad] = original[bad].astype("string").fillna("")
    bad_row = reason != ""
    dup = ids.duplicated(keep="first") & ~bad_row
    if dup.any():
        valid_ids = ids.where(~bad_row)
        first_line = pd.Series(line_no, index=raw.index)[~valid_ids.duplicated(keep="first") & valid_ids.notna()]
        first_of = dict(zip(valid_ids[first_line.index], first_line, strict=True))
        field[dup] = "event_id"
        value[dup] = ids[dup]
        reason[dup] = [f"duplicate event_id (first seen at line {first_of[i]})" for i in ids[dup]]
        bad_row = bad_row | dup

    rejected = pd.DataFrame(
        {"source": source, "line": line_no[bad_row.to_numpy()], "event_id": ids[bad_row].fillna("").astype(str),
         "field": field[bad_row], "value": value[bad_row].astype(str), "reason": reason[bad_row]},
        columns=REJECTED_COLUMNS,
    ).reset_index(drop=True)
    if strict and len(rejected):
        first = rejected.iloc[int(np.argmin(rejected["line"].to_numpy()))]
        raise CatalogError(f"{first['reason']} (value {first['value']!r})", source=source,
                           line=int(first["line"]), field=str(first["field"]))

    keep = ~bad_row.to_numpy()
    out = pd.DataFrame(
        {
            "event_id": ids[keep].astype("string"),
            "time": time[keep],
            "latitude": lat[keep],
            "longitude": lon[keep],
            "depth_km": depth[keep].astype("float64"),
            "magnitude": mag[keep],
            "mag_type": (raw["mag_type"].astype("string").str.strip().str.lower().fillna("")[keep]
                         if "mag_type" in raw.columns else pd.Series("", index=raw.index, dtype="string")[keep]),
        }
    )
    if EVENT_TYPE in raw.columns:
        out[EVENT_TYPE] = raw[EVENT_TYPE][keep].astype("string").str.strip().str.lower().fillna("earthquake")
    extras = [c for c in raw.columns if c not in CANONICAL_COLUMNS and c != EVENT_TYPE]
    for c in extras:
        out[c] = raw[c][keep]
    if sort:
        out = out.sort_values("time", kind="mergesort")
    out = out.reset_index(drop=True)
    out.attrs = {"source": source, "n_read": n, "rejected": RejectionReport(rejected)}
    if len(rejected):
        counts = rejected["reason"].str.replace(r" \(.*\)$", "", regex=True).value_counts()
        summary = "; ".join(f"{k}: {v}" for k, v in counts.items())
        warnings.warn(
            f"{source}: {len(rejected)} of {n} rows rejected ({summary}); "
            "see quakelab.catalog.rejected_rows(catalog)",
            RejectedRowsWarning,
            stacklevel=3,
        )
    return out
