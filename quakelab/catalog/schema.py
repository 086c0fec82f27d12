"""The canonical catalog: column names, types, validation rules and the rejected-row report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quakelab import QuakelabWarning

#: Canonical columns of a quakelab catalog, in order, with their meaning and unit.
CANONICAL_COLUMNS: dict[str, str] = {
    "event_id": "identifier, unique within the catalog (string)",
    "time": "origin time, UTC (datetime64[ns, UTC])",
    "latitude": "epicentre latitude, degrees north, -90..90",
    "longitude": "epicentre longitude, degrees east, -180..180",
    "depth_km": "hypocentre depth below sea level in km (NaN when the source has none)",
    "magnitude": "magnitude value (float)",
    "mag_type": "magnitude type as given by the source, lower case (e.g. 'ml', 'mw'); '' when unknown",
}
#: Optional canonical column: the event type as given by the source, lower case ('earthquake',
#: 'quarry blast', 'nuclear explosion', ...). Missing means 'earthquake'.
EVENT_TYPE = "event_type"

#: Accepted ranges of numeric fields (inclusive).
LATITUDE_RANGE = (-90.0, 90.0)
LONGITUDE_RANGE = (-180.0, 180.0)
DEPTH_RANGE_KM = (-15.0, 800.0)
MAGNITUDE_RANGE = (-3.0, 10.0)

REJECTED_COLUMNS = ["source", "line", "event_id", "field", "value", "reason"]


class CatalogError(ValueError):
    """Bad catalog input. The message names the file, the line and the field when they are known."""

    def __init__(
        self, message: str, *, source: str | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        where = ", ".join(
            part
            for part in (
                f"file {source}" if source else "",
                f"line {line}" if line is not None else "",
                f"field {field!r}" if field else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.line = line
        self.field = field


class RejectedRowsWarning(QuakelabWarning):
    """Some rows of an input could not be used; the catalog's report lists each one with its reason."""


@dataclass(frozen=True)
class Rejection:
    """One rejected input row."""

    source: str
    line: int | None
    event_id: str
    field: str
    value: str
    reason: str


def empty_catalog() -> pd.DataFrame:
    """Return an empty catalog with the canonical columns and dtypes.

    Returns
    -------
    pandas.DataFrame
        Zero rows, canonical columns.
    """
    return pd.DataFrame(
        {
            "event_id": pd.Series([], dtype="string"),
            "time": pd.Series([], dtype="datetime64[ns, UTC]"),
            "latitude": pd.Series([], dtype="float64"),
            "longitude": pd.Series([], dtype="float64"),
            "depth_km": pd.Series([], dtype="float64"),
            "magnitude": pd.Series([], dtype="float64"),
            "mag_type": pd.Series([], dtype="string"),
        }
    )


def rejected_rows(catalog: pd.DataFrame) -> pd.DataFrame:
    """Return the report of input rows that were rejected when ``catalog`` was read.

    Parameters
    ----------
    catalog : pandas.DataFrame
        A catalog returned by :func:`quakelab.catalog.read_catalog` (the report travels in
        ``catalog.attrs["rejected"]``).

    Returns
    -------
    pandas.DataFrame
        One row per rejected input row with columns ``source, line, event_id, field, value, reason``;
        empty when nothing was rejected.

    Examples
    --------
    >>> from quakelab.catalog import read_catalog, rejected_rows
    >>> cat = read_catalog("ridgecrest-2019-sample")  # doctest: +SKIP
    >>> rejected_rows(cat).empty  # doctest: +SKIP
    True
    """
    from quakelab.catalog.validate import report_frame

    return report_frame(catalog.attrs.get("rejected"))


def _as_str(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)
