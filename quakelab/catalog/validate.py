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


class RejectionReport(dict):
    """The rejected-row table kept in ``catalog.attrs["rejected"]``: column name -> list of values.

    It is a plain ``dict`` of lists (JSON-serialisable, so ``DataFrame.to_parquet`` keeps it in the
    file's metadata and ``pandas.read_parquet`` gives it back as a dict). pandas deep-copies ``attrs``
    on every operation; this object returns itself from ``__deepcopy__`` so a large report costs
    nothing to carry along. Treat it as read-only.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        super().__init__(
            {c: _plain(frame[c].tolist()) if c in frame.columns else [] for c in REJECTED_COLUMNS}
        )

    def __deepcopy__(self, memo: dict) -> RejectionReport:
        return self

    @property
    def n_rows(self) -> int:
        """Number of rejected rows."""
        return len(self.get("line", []))

    def __repr__(self) -> str:
        return f"RejectionReport({self.n_rows} rejected rows)"

    def records(self) -> list[dict]:
        """One dict per rejected row."""
        return self.frame.to_dict("records")

    @property
    def frame(self) -> pd.DataFrame:
        """The report as a DataFrame (a new object)."""
        return report_frame(self)


def _plain(values: list) -> list:
    """Python scalars only (numpy integers are not JSON-serialisable)."""
    return [v.item() if hasattr(v, "item") else v for v in values]


def report_frame(report: object) -> pd.DataFrame:
    """A rejection report (a :class:`RejectionReport`, a dict of columns from a Parquet round trip,
    or a list of records) as a DataFrame with the columns ``source, line, event_id, field, value, reason``."""
    if report is None:
        return pd.DataFrame(columns=REJECTED_COLUMNS)
    if isinstance(report, dict):
        frame = pd.DataFrame({c: list(report.get(c, [])) for c in REJECTED_COLUMNS}, columns=REJECTED_COLUMNS)
    else:
        frame = pd.DataFrame(list(report), columns=REJECTED_COLUMNS)
    if len(frame):
        frame["line"] = frame["line"].astype("int64")
    return frame


Problems = list[tuple[np.ndarray, str]]  # (row mask, reason), first match wins


def _parse_times(raw: pd.Series, timezone: str | None, time_format: str | None) -> tuple[pd.Series, Problems]:
    """Return UTC times (NaT where unusable) and the problems found."""
    naive_msg = "naive timestamp (no time zone); pass timezone='UTC' if the source is in UTC"
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        out = raw.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        return out, [(out.isna().to_numpy(), "missing time")]
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        missing = raw.isna().to_numpy()
        if timezone is None:
            return (
                pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]"),
                [(missing, "missing time"), (~missing, naive_msg)],
            )
        out = raw.dt.tz_localize(timezone).dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        return out, [(out.isna().to_numpy(), "missing time")]
    if time_format is None:  # fast path: every value ISO 8601 with the same kind of zone (or none)
        try:
            quick = pd.to_datetime(raw, format="ISO8601")
        except (ValueError, TypeError, OverflowError):
            quick = None
        if quick is not None and (isinstance(quick.dtype, pd.DatetimeTZDtype) or timezone is not None):
            if not isinstance(quick.dtype, pd.DatetimeTZDtype):
                quick = quick.dt.tz_localize(timezone)
            out = quick.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
            return out, [(out.isna().to_numpy(), "missing time")]
    text = raw.astype("string").str.strip()
    missing_s = text.isna() | (text == "")
    if time_format is None:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        retry = parsed.isna() & ~missing_s
        if retry.any():  # mixed precisions or separators: per-element fallback
            parsed[retry] = pd.to_datetime(text[retry], format="mixed", errors="coerce", utc=True)
    else:
        parsed = pd.to_datetime(text, format=time_format, errors="coerce", utc=True)
        retry = parsed.isna() & ~missing_s
        if retry.any():  # a few sources mix an ISO 8601 variant into a fixed format
            parsed[retry] = pd.to_datetime(text[retry], format="ISO8601", errors="coerce", utc=True)
    parsed = parsed.astype("datetime64[ns, UTC]")
    missing = missing_s.to_numpy()
    aware = text.str.contains(_TZ_SUFFIX, regex=True, na=False).to_numpy()
    naive = ~aware & ~missing & parsed.notna().to_numpy()
    problems: Problems = [(missing, "missing time")]
    if naive.any():
        if timezone is None:
            problems.append((naive, naive_msg))
            parsed[naive] = pd.NaT
        elif timezone.upper() != "UTC":
            local = pd.to_datetime(text[naive], format=time_format or "ISO8601", errors="coerce")
            parsed[naive] = local.dt.tz_localize(timezone).dt.tz_convert("UTC")
    unusable_naive = naive if timezone is None else np.zeros(naive.size, dtype=bool)
    problems.append((~missing & parsed.isna().to_numpy() & ~unusable_naive, "unparseable time"))
    return parsed, problems


def _numeric(
    raw: pd.Series, name: str, bounds: tuple[float, float], required: bool
) -> tuple[np.ndarray, Problems]:
    problems: Problems = []
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(values)
    else:
        text = raw.astype("string").str.strip()
        missing_s = text.isna() | (text == "")
        values = pd.to_numeric(text.where(~missing_s), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        missing = missing_s.to_numpy()
        problems.append((~missing & np.isnan(values), f"non-numeric {name}"))
    if required:
        problems.append((missing, f"missing {name}"))
    lo, hi = bounds
    with np.errstate(invalid="ignore"):
        problems.append(((values < lo) | (values > hi), f"{name} out of range [{lo:g}, {hi:g}]"))
    return values, problems


def _all_unique(ids: pd.Series) -> bool:
    """Whether no identifier repeats: sorting (pyarrow) then comparing neighbours, several times faster
    than hashing on long string columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(ids) < 2:
        return True
    try:
        arr = pa.array(ids.array)
        s = pc.take(arr, pc.array_sort_indices(arr))
        return not pc.any(pc.equal(s.slice(1), s.slice(0, len(s) - 1))).as_py()
    except (TypeError, ValueError, pa.ArrowException):  # pragma: no cover - non-string ids
        return bool(ids.is_unique)


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
    pre_rejected: Sequence[dict] | None = None,
    n_read: int | None = None,
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
    pre_rejected : sequence of dict, optional
        Rows the reader already rejected (wrong number of fields), with keys ``line``, ``field``,
        ``value``, ``reason`` (and optionally ``event_id``); they join the report (and, in strict
        mode, the search for the first bad line).
    n_read : int, optional
        Number of data rows in the input (defaults to ``len(raw) + len(pre_rejected)``).

    Returns
    -------
    pandas.DataFrame
        The valid rows with canonical columns first, extras after; ``attrs["source"]``,
        ``attrs["n_read"]`` and ``attrs["rejected"]`` (see :func:`quakelab.catalog.rejected_rows`); all
        ``attrs`` are JSON-serialisable.

    Notes
    -----
    Checks, in order (the first failing one names the row's field and reason): time (missing,
    unparseable, naive without ``timezone``), latitude, longitude, depth and magnitude (missing when
    required, non-numeric, out of range), then duplicate ``event_id`` (the later row is rejected) and,
    for rows without an identifier, exact duplicate events (same time, latitude, longitude, depth and
    magnitude: the later row is rejected as "duplicate of line N").

    Raises
    ------
    CatalogError
        In strict mode at the first bad row; in any mode when a required column is absent.
    """
    for col in ("time", "latitude", "longitude", "magnitude"):
        if col not in raw.columns:
            raise CatalogError(
                f"required column {col!r} is missing (columns: {list(raw.columns)})", source=source, field=col
            )
    n = len(raw)
    raw = raw.reset_index(drop=True)
    line_no = np.arange(2, n + 2) if lines is None else np.asarray(lines)
    if id_prefix is None:
        id_prefix = source.rsplit("/", 1)[-1] + ":"

    time, p_time = _parse_times(raw["time"], timezone, time_format)
    lat, p_lat = _numeric(raw["latitude"], "latitude", LATITUDE_RANGE, True)
    lon, p_lon = _numeric(raw["longitude"], "longitude", (LONGITUDE_RANGE[0], 360.0), True)
    lon = np.where(lon > 180.0, lon - 360.0, lon)  # 0..360 convention -> -180..180
    checks: list[tuple[str, Problems]] = [("time", p_time), ("latitude", p_lat), ("longitude", p_lon)]
    if "depth_km" in raw.columns:
        depth, p_depth = _numeric(raw["depth_km"], "depth_km", DEPTH_RANGE_KM, False)
        checks.append(("depth_km", p_depth))
    else:
        depth = np.full(n, np.nan)
    mag, p_mag = _numeric(raw["magnitude"], "magnitude", MAGNITUDE_RANGE, True)
    checks.append(("magnitude", p_mag))

    if "event_id" in raw.columns:
        ids = raw["event_id"].astype("string").str.strip()
        no_id = (ids.isna() | (ids == "")).to_numpy()
    else:
        ids = pd.Series(pd.NA, index=raw.index, dtype="string")
        no_id = np.ones(n, dtype=bool)
    if no_id.all():  # made-up ids, vectorised: "<prefix><line>"
        import pyarrow as pa
        import pyarrow.compute as pc

        made = pc.binary_join_element_wise(id_prefix, pc.cast(pa.array(line_no), pa.string()), "")
        ids = pd.Series(made.to_pandas(), index=raw.index).astype("string")
    elif no_id.any():
        ids[no_id] = [f"{id_prefix}{ln}" for ln in line_no[no_id]]

    bad_row = np.zeros(n, dtype=bool)
    for _, problems in checks:
        for mask, _ in problems:
            bad_row |= mask
    dup = (
        np.zeros(n, dtype=bool) if _all_unique(ids) else (ids.duplicated(keep="first").to_numpy() & ~bad_row)
    )
    # exact duplicate events among rows without an identifier of their own
    same = np.zeros(n, dtype=bool)
    if no_id.any():
        cand = np.flatnonzero(no_id & ~bad_row)
        if cand.size > 1:  # identical events share their time: look further only among those
            cand = cand[pd.Series(time.array.asi8[cand]).duplicated(keep=False).to_numpy()]
        if cand.size > 1:
            key = pd.DataFrame(
                {
                    "t": time.array.asi8[cand],
                    "la": lat[cand],
                    "lo": lon[cand],
                    "z": depth[cand],
                    "m": mag[cand],
                }
            )
            repeated = key.duplicated(keep="first").to_numpy()
            if repeated.any():
                group = key.groupby(list(key.columns), sort=False, dropna=False).ngroup().to_numpy()
                _, first_pos = np.unique(group, return_index=True)
                first_of_group = np.empty(group.max() + 1, dtype=np.int64)
                first_of_group[np.unique(group)] = cand[first_pos]
                same[cand[repeated]] = True
                same_first = dict(
                    zip(
                        cand[repeated].tolist(),
                        line_no[first_of_group[group[repeated]]].tolist(),
                        strict=True,
                    )
                )
    bad_idx = np.flatnonzero(bad_row | dup | same)
    field = np.empty(bad_idx.size, dtype=object)
    reason = np.empty(bad_idx.size, dtype=object)
    value = np.empty(bad_idx.size, dtype=object)
    if bad_idx.size:
        originals = {
            "time": raw["time"],
            "latitude": raw["latitude"],
            "longitude": raw["longitude"],
            "depth_km": raw.get("depth_km"),
            "magnitude": raw["magnitude"],
        }
        for name, problems in reversed(checks):  # first failing field (and first reason) wins
            for mask, why in reversed(problems):
                hit = mask[bad_idx]
                if hit.any():
                    field[hit] = name
                    reason[hit] = why
                    value[hit] = originals[name].iloc[bad_idx[hit]].astype("string").fillna("").to_numpy()
        is_dup = dup[bad_idx]
        if is_dup.any():
            valid_ids = ids[~bad_row]
            first_line = dict(
                zip(
                    valid_ids[~valid_ids.duplicated(keep="first")],
                    line_no[~bad_row][~valid_ids.duplicated(keep="first").to_numpy()],
                    strict=True,
                )
            )
            dup_ids = ids.iloc[bad_idx[is_dup]].to_numpy()
            field[is_dup] = "event_id"
            value[is_dup] = dup_ids
            reason[is_dup] = [f"duplicate event_id (first seen at line {first_line[i]})" for i in dup_ids]
        is_same = same[bad_idx]
        if is_same.any():
            rows = bad_idx[is_same]
            field[is_same] = "event"
            value[is_same] = raw["time"].iloc[rows].astype("string").fillna("").to_numpy()
            reason[is_same] = [
                f"duplicate of line {same_first[r]} (same time, position and magnitude)"
                for r in rows.tolist()
            ]
    bad_row = bad_row | dup | same
    rejected = pd.DataFrame(
        {
            "source": source,
            "line": line_no[bad_idx],
            "event_id": ids.iloc[bad_idx].fillna("").astype(str).to_numpy(),
            "field": field,
            "value": value.astype(str),
            "reason": reason,
        },
        columns=REJECTED_COLUMNS,
    )
    if pre_rejected:
        early = pd.DataFrame(
            [{"source": source, "event_id": "", **r} for r in pre_rejected], columns=REJECTED_COLUMNS
        )
        rejected = pd.concat([early, rejected], ignore_index=True)
        rejected["line"] = rejected["line"].astype("int64")
        rejected = rejected.sort_values("line", kind="mergesort").reset_index(drop=True)
    if strict and len(rejected):
        first = rejected.iloc[int(np.argmin(rejected["line"].to_numpy()))]
        raise CatalogError(
            f"{first['reason']} (value {first['value']!r})",
            source=source,
            line=int(first["line"]),
            field=str(first["field"]),
        )

    cols: dict[str, object] = {
        "event_id": ids.astype("string"),
        "time": time,
        "latitude": pd.Series(lat, index=raw.index),
        "longitude": pd.Series(lon, index=raw.index),
        "depth_km": pd.Series(depth, index=raw.index),
        "magnitude": pd.Series(mag, index=raw.index),
        "mag_type": (
            raw["mag_type"].astype("string").str.strip().str.lower().fillna("")
            if "mag_type" in raw.columns
            else pd.Series("", index=raw.index, dtype="string")
        ),
    }
    if EVENT_TYPE in raw.columns:
        cols[EVENT_TYPE] = raw[EVENT_TYPE].astype("string").str.strip().str.lower().fillna("earthquake")
    for c in raw.columns:
        if c not in CANONICAL_COLUMNS and c != EVENT_TYPE:
            cols[c] = raw[c]
    out = pd.DataFrame(cols, copy=False)
    if bad_row.any():
        out = out[~bad_row]
    if sort and not out["time"].is_monotonic_increasing:
        out = out.sort_values("time", kind="mergesort")
    out = out.reset_index(drop=True)
    total = int(n_read) if n_read is not None else n + len(pre_rejected or ())
    out.attrs = {"source": source, "n_read": total, "rejected": RejectionReport(rejected)}
    if len(rejected):
        counts = (
            rejected["reason"]
            .str.replace(r" \(.*\)$", "", regex=True)
            .str.replace(r"^duplicate of line \d+", "duplicate event", regex=True)
            .value_counts()
        )
        summary = "; ".join(f"{k}: {v}" for k, v in counts.items())
        warnings.warn(
            f"{source}: {len(rejected)} of {total} rows rejected ({summary}); "
            "see quakelab.catalog.rejected_rows(catalog)",
            RejectedRowsWarning,
            stacklevel=3,
        )
    return out
