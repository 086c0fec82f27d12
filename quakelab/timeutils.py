"""Time helpers shared by the package."""

from __future__ import annotations

import numpy as np
import pandas as pd


def utc(t: str | pd.Timestamp | np.datetime64) -> pd.Timestamp:
    """A UTC :class:`pandas.Timestamp`; naive inputs are read as UTC.

    Examples
    --------
    >>> str(utc("2020-01-01"))
    '2020-01-01 00:00:00+00:00'
    >>> str(utc(pd.Timestamp("2020-01-01 01:00", tz="Europe/Paris")))
    '2020-01-01 00:00:00+00:00'
    """
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
