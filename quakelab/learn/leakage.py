"""A feature-leakage check by truncation: features must not change when the future is removed.

A feature at time ``t`` is causal when it depends only on events before ``t``. Then recomputing the features
from the catalog truncated at a cut date ``T`` (events before ``T`` only) must give, for every cell and every
feature time ``t <= T``, exactly the values computed from the full catalog. A feature that reads anything at or
after its own time (the next window's count, a smoothing over the whole series, a normalisation by the whole
catalog's statistics) changes under truncation and is caught, cell by cell.

This complements :func:`quakelab.learn.leakage_check` (shuffled labels), which detects test information reaching
the predictions other than through the training labels (test rows in the training set, a scoring bug), but not
a leaking *feature*: a model fitted to permuted labels learns nothing from any feature, leaking or not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from quakelab.learn.data import FEATURE_EXCLUDE, feature_names
from quakelab.timeutils import utc


def truncation_leakage_check(
    build: Callable[[pd.DataFrame], object],
    catalog: pd.DataFrame,
    cut_dates: Sequence,
    *,
    exclude: Sequence[str] = FEATURE_EXCLUDE,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    full=None,
) -> pd.DataFrame:
    """Compare features built from the full catalog with features built from catalogs truncated at cut dates.

    Parameters
    ----------
    build : callable
        ``build(catalog) -> xarray.Dataset`` on a ``(time, latitude, longitude)`` grid: the feature pipeline,
        with everything but the catalog fixed (grid, windows, any fitted model).
    catalog : pandas.DataFrame
        The full catalog.
    cut_dates : sequence of time-like
        Cut dates ``T``: the truncated catalog holds the events with ``time < T``.
    exclude : sequence of str
        Variables that are not features (the labels, which legitimately look ahead).
    rtol, atol : float
        Tolerances of the comparison (NaN equals NaN).
    full : xarray.Dataset, optional
        ``build(catalog)`` when already computed (it is not built again). The truncated builds may stop
        earlier (e.g. a step after their cut, to keep the check cheap): the comparison is made on the feature
        times ``<= T`` that both hold. They must start where ``full`` starts: features whose history is bounded
        by the grid's start (days since the last target event, the Panakkat-Adeli indicators of
        :func:`quakelab.features.build_feature_grid`) differ between builds with different starts, which is
        not look-ahead but would be reported as a mismatch.

    Returns
    -------
    pandas.DataFrame
        One row per (cut, feature): ``cut, feature, n_compared`` (values at feature times ``<= T`` that both
        builds hold),
        ``n_mismatch``, ``max_abs_diff``, ``first_mismatch_time``, ``passed``. ``attrs["passed"]`` is True when
        every row passed; ``attrs["leaking"]`` lists the features that failed at some cut.

    Raises
    ------
    ValueError
        When no feature time lies at or before a cut (nothing would be compared).
    """

    def _times(ds) -> pd.DatetimeIndex:
        t = pd.DatetimeIndex(ds["time"].values)
        return t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")

    full = build(catalog) if full is None else full
    names = feature_names(full, exclude=exclude)
    grid_times = _times(full)
    rows = []
    for cut in cut_dates:
        T = utc(cut)
        part = build(catalog[catalog["time"] < T])
        part_times = _times(part)
        both = grid_times[(grid_times <= T) & grid_times.isin(part_times)]
        if both.empty:
            raise ValueError(f"no feature time at or before the cut {T}")
        keep = np.asarray(grid_times.isin(both))
        keep_part = np.asarray(part_times.isin(both))
        for name in names:
            if name not in part:
                raise ValueError(f"feature {name!r} is missing from the build truncated at {T}")
            a = np.asarray(full[name].values)[keep].astype(float)
            b = np.asarray(part[name].values)[keep_part].astype(float)
            same = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
            bad_t = np.flatnonzero(~same.reshape(same.shape[0], -1).all(axis=1))
            with np.errstate(invalid="ignore"):
                diff = np.abs(a - b)
            diff = diff[~same]
            rows.append(
                {
                    "cut": T,
                    "feature": name,
                    "n_compared": int(a.size),
                    "n_mismatch": int((~same).sum()),
                    "max_abs_diff": float(np.nanmax(diff))
                    if diff.size and np.isfinite(diff).any()
                    else (np.inf if diff.size else 0.0),
                    "first_mismatch_time": both[bad_t[0]] if bad_t.size else pd.NaT,
                    "passed": bool(same.all()),
                }
            )
    table = pd.DataFrame(rows)
    table.attrs["passed"] = bool(table["passed"].all())
    table.attrs["leaking"] = sorted(set(table.loc[~table["passed"], "feature"]))
    return table
