"""From a feature grid (``quakelab.features.build_feature_grid``) to model inputs, and time-ordered splits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Variables of a feature grid that are labels (never features).
FEATURE_EXCLUDE = ("n_next", "occurs_next")


def feature_names(ds, exclude: Sequence[str] = FEATURE_EXCLUDE) -> list[str]:
    """Names of the feature variables of a grid (everything except the labels), in a stable order."""
    return sorted(
        v for v in ds.data_vars if v not in exclude and ds[v].dims == ("time", "latitude", "longitude")
    )


def _time_values(ds) -> pd.DatetimeIndex:
    t = pd.DatetimeIndex(ds["time"].values)
    return t.tz_localize("UTC") if t.tz is None else t


def time_masks(ds, *boundaries) -> list[np.ndarray]:
    """Boolean masks over ``ds.time`` for consecutive windows ``[b0, b1), [b1, b2), ...`` (UTC).

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset(coords={"time": pd.date_range("2000-01-01", periods=5, freq="D")})
    >>> [m.sum() for m in time_masks(ds, "2000-01-01", "2000-01-03", "2000-01-06")]
    [np.int64(2), np.int64(3)]
    """
    from quakelab.timeutils import utc

    t = _time_values(ds)
    edges = [utc(b) for b in boundaries]
    return [np.asarray((t >= a) & (t < b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def grid_to_frame(
    ds,
    features: Sequence[str] | None = None,
    label: str = "occurs_next",
    *,
    time_mask: np.ndarray | None = None,
    cell_mask: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Rows (time, latitude, longitude) of features and a label.

    Parameters
    ----------
    ds : xarray.Dataset
        Feature grid.
    features : sequence of str, optional
        Feature variables (all but the labels when None).
    label : str, default "occurs_next"
        Label variable.
    time_mask : bool array over ``time``, optional
        Keep these time steps.
    cell_mask : bool array (latitude, longitude), optional
        Keep these cells (e.g. cells that had events in the training window).

    Returns
    -------
    (X, y) : pandas.DataFrame, pandas.Series
        Indexed by (time, latitude, longitude), time-major; ``y`` as int.
    """
    feats = list(features) if features is not None else feature_names(ds)
    sub = ds[feats + [label]]
    if time_mask is not None:
        sub = sub.isel(time=np.flatnonzero(time_mask))
    stacked = sub.stack(row=("time", "latitude", "longitude"))
    if cell_mask is not None:
        keep = np.broadcast_to(np.asarray(cell_mask, bool), (sub.sizes["time"], *np.shape(cell_mask))).ravel()
        stacked = stacked.isel(row=np.flatnonzero(keep))
    arr = (
        np.column_stack([np.asarray(stacked[f].values, dtype=float) for f in feats])
        if feats
        else np.empty((stacked.sizes["row"], 0))
    )
    index = pd.MultiIndex.from_arrays(
        [stacked["time"].values, stacked["latitude"].values, stacked["longitude"].values],
        names=["time", "latitude", "longitude"],
    )
    X = pd.DataFrame(arr, index=index, columns=feats)
    y = pd.Series(np.asarray(stacked[label].values).astype(int), index=index, name=label)
    return X, y


def grid_to_sequences(
    ds,
    features: Sequence[str] | None = None,
    label: str = "occurs_next",
    *,
    cell_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell feature histories for sequence models.

    Returns
    -------
    (X, y, cells) : arrays
        ``X`` (cell, time, feature) float32, ``y`` (cell, time) float32 and the (lat index, lon index) of each
        cell. A recurrent model reading ``X[c, :k + 1]`` only sees features up to step ``k``, which are causal.
    """
    feats = list(features) if features is not None else feature_names(ds)
    mask = (
        np.ones((ds.sizes["latitude"], ds.sizes["longitude"]), bool)
        if cell_mask is None
        else np.asarray(cell_mask, bool)
    )
    iy, ix = np.nonzero(mask)
    X = np.stack([np.asarray(ds[f].values, dtype=np.float32)[:, iy, ix].T for f in feats], axis=-1)
    y = np.asarray(ds[label].values, dtype=np.float32)[:, iy, ix].T
    return X, y, np.column_stack([iy, ix])


def rolling_origin_splits(
    times: Sequence, *, n_splits: int = 3, gap_days: float, min_train_fraction: float = 0.4
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rolling-origin (forward-chaining) splits of time-stamped rows with a gap.

    The span after the first ``min_train_fraction`` of the time steps is cut into ``n_splits``
    consecutive validation windows; fold k trains on every row strictly more than ``gap_days`` before
    its window and validates on the window. With a gap of at least the label horizon no training label
    overlaps a validation feature time.

    Parameters
    ----------
    times : sequence of datetime-like
        Time of each row (any order).
    n_splits : int, default 3
    gap_days : float
        Gap between a training set's last time and its validation window (use >= the horizon).
    min_train_fraction : float, default 0.4

    Returns
    -------
    list of (train_index, validation_index)
        Positional indices into ``times``.

    Examples
    --------
    >>> t = pd.date_range("2000-01-01", periods=10, freq="D")
    >>> [(tr.max(), va.min(), va.max()) for tr, va in rolling_origin_splits(t, n_splits=2, gap_days=2)]
    [(np.int64(1), np.int64(4), np.int64(6)), (np.int64(4), np.int64(7), np.int64(9))]
    """
    t = pd.DatetimeIndex(times)
    uniq = np.unique(t.values)
    if n_splits < 1 or uniq.size < n_splits + 2:
        raise ValueError(
            f"need at least {n_splits + 2} distinct times for {n_splits} splits, got {uniq.size}"
        )
    first_val = int(np.ceil(uniq.size * min_train_fraction))
    blocks = np.array_split(uniq[first_val:], n_splits)
    gap = np.timedelta64(int(round(gap_days * 86400e9)), "ns")
    tv = t.values
    out = []
    for block in blocks:
        if block.size == 0:
            continue
        train = np.flatnonzero(tv < block[0] - gap)
        val = np.flatnonzero((tv >= block[0]) & (tv <= block[-1]))
        if train.size == 0:
            raise ValueError(f"no training rows before {block[0]} minus a gap of {gap_days} days")
        out.append((train, val))
    return out
