"""One-table summaries of catalogs."""

from __future__ import annotations

import pandas as pd

from quakelab.catalog.schema import EVENT_TYPE, rejected_rows


def summarize(catalog: pd.DataFrame) -> pd.Series:
    """Number of events, time span, magnitude/depth ranges, extent, event types and rejected rows.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.

    Returns
    -------
    pandas.Series
        One value per property (object dtype, for display).

    Examples
    --------
    >>> from quakelab.datasets import load
    >>> int(summarize(load("ridgecrest-2019-sample"))["n_events"])
    829
    """
    n = len(catalog)
    out: dict[str, object] = {"n_events": n}
    if n:
        out.update(
            {
                "start": catalog["time"].min(),
                "end": catalog["time"].max(),
                "duration_days": round(
                    (catalog["time"].max() - catalog["time"].min()) / pd.Timedelta(days=1), 3
                ),
                "magnitude_min": float(catalog["magnitude"].min()),
                "magnitude_max": float(catalog["magnitude"].max()),
                "depth_km_min": float(catalog["depth_km"].min()),
                "depth_km_max": float(catalog["depth_km"].max()),
                "longitude_range": (float(catalog["longitude"].min()), float(catalog["longitude"].max())),
                "latitude_range": (float(catalog["latitude"].min()), float(catalog["latitude"].max())),
                "mag_types": ", ".join(
                    f"{k or '?'}: {v}" for k, v in catalog["mag_type"].value_counts().items()
                ),
            }
        )
        if EVENT_TYPE in catalog.columns:
            out["event_types"] = ", ".join(f"{k}: {v}" for k, v in catalog[EVENT_TYPE].value_counts().items())
    out["rows_rejected_at_read"] = len(rejected_rows(catalog))
    return pd.Series(out, dtype=object, name="value")
