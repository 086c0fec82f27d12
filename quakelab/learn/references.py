"""Reference forecasts on a feature grid's bins, and the cells worth forecasting.

One magnitude convention for labels and every reference (``docs/glossary.md``): an event counts towards a
threshold ``min_magnitude`` when its magnitude binned at the catalog's ``magnitude_resolution`` with
:func:`quakelab.stats.bin_magnitudes` is ``>= min_magnitude``; for a model with continuous Gutenberg–Richter
magnitudes (ETAS) that is the share of its events above ``min_magnitude - magnitude_resolution / 2``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from quakelab._compat import renamed_kwargs
from quakelab.timeutils import utc


def counts_towards(magnitudes, min_magnitude: float, magnitude_resolution: float = 0.0) -> np.ndarray:
    """Whether each magnitude counts towards ``min_magnitude``: the binned magnitude is ``>= min_magnitude``.

    Magnitudes are binned at ``magnitude_resolution`` (the step at which the catalog reports them) with
    :func:`quakelab.stats.bin_magnitudes`; 0 compares them as they are (what the binning does to a catalog
    that reports on that step). This is the rule of the labels of :func:`quakelab.features.build_feature_grid`,
    of :func:`poisson_cell_probability` and of :func:`etas_target_probability`.

    Parameters
    ----------
    magnitudes : array-like
    min_magnitude : float
    magnitude_resolution : float, default 0

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> counts_towards([2.49, 2.495, 2.5, 2.4999999999], 2.5, 0.01).tolist()
    [False, True, True, True]
    """
    from quakelab.stats import bin_magnitudes

    return bin_magnitudes(np.asarray(magnitudes, dtype=float), magnitude_resolution) >= min_magnitude - 1e-9


def cell_edges(ds) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude cell edges (degrees) of a feature grid (centres ± ``cell_deg / 2``).

    Returns
    -------
    (lat_edges, lon_edges) : numpy arrays
    """
    lat = ds["latitude"].to_numpy()
    lon = ds["longitude"].to_numpy()
    if "cell_deg" in ds.attrs:
        cell = float(ds.attrs["cell_deg"])
    else:
        cell = float(lat[1] - lat[0] if lat.size > 1 else lon[1] - lon[0])
    lat_edges = np.round(np.r_[lat - cell / 2, lat[-1] + cell / 2], 10)
    lon_edges = np.round(np.r_[lon - cell / 2, lon[-1] + cell / 2], 10)
    return lat_edges, lon_edges


def _cell_counts(
    catalog: pd.DataFrame, ds, start, end, min_magnitude: float, magnitude_resolution: float = 0.0
) -> np.ndarray:
    lat_edges, lon_edges = cell_edges(ds)
    sel = catalog[
        (catalog["time"] >= utc(start))
        & (catalog["time"] < utc(end))
        & counts_towards(catalog["magnitude"], min_magnitude, magnitude_resolution)
    ]
    counts, _, _ = np.histogram2d(sel["latitude"], sel["longitude"], bins=[lat_edges, lon_edges])
    return counts


def active_cells(catalog: pd.DataFrame, ds, start, end, min_magnitude: float, min_events: int = 1):
    """Cells with at least ``min_events`` events ``M >= min_magnitude`` in ``[start, end)``.

    Returns
    -------
    xarray.DataArray
        Boolean (latitude, longitude).
    """
    import xarray as xr

    counts = _cell_counts(catalog, ds, start, end, min_magnitude)
    return xr.DataArray(
        counts >= min_events,
        coords={"latitude": ds["latitude"], "longitude": ds["longitude"]},
        dims=("latitude", "longitude"),
        name="active",
    )


@renamed_kwargs(target_magnitude="min_magnitude")
def poisson_cell_probability(
    catalog: pd.DataFrame,
    ds,
    start,
    end,
    *,
    min_magnitude: float,
    horizon_days: float,
    floor_weight: float = 0.01,
    magnitude_resolution: float = 0.0,
):
    """Time-independent Poisson forecast: probability of at least one ``M >= min_magnitude`` per cell and horizon.

    ``min_magnitude`` is the magnitude of the label (old name: ``target_magnitude``, deprecated). The rate of
    each cell is its count of target events in ``[start, end)`` over the window's length,
    mixed with a small uniform share (``floor_weight`` of the total rate spread over all cells) so that a
    cell without past events is improbable rather than impossible. Target events are those that
    :func:`counts_towards` ``min_magnitude`` at ``magnitude_resolution`` (the rule of the labels).

    Returns
    -------
    xarray.DataArray
        ``1 - exp(-rate * horizon)`` (latitude, longitude).
    """
    import xarray as xr

    counts = _cell_counts(catalog, ds, start, end, min_magnitude, magnitude_resolution)
    days = (utc(end) - utc(start)) / pd.Timedelta(days=1)
    rate = ((1 - floor_weight) * counts + floor_weight * counts.sum() / counts.size) / days
    return xr.DataArray(
        -np.expm1(-rate * horizon_days),
        coords={"latitude": ds["latitude"], "longitude": ds["longitude"]},
        dims=("latitude", "longitude"),
        name="poisson_probability",
    )


def etas_target_probability(
    expected_count, model, min_magnitude: float, magnitude_resolution: float
) -> np.ndarray:
    """Probability of at least one target event from an ETAS expected count of the model's events.

    The model's events have Gutenberg–Richter magnitudes above ``model.m_ref``; the share that counts towards
    ``min_magnitude`` under the labels' rule (binned at the catalog's ``magnitude_resolution``) is
    ``exp(-beta (min_magnitude - magnitude_resolution / 2 - m_ref))``, and the target count is Poisson.

    Parameters
    ----------
    expected_count : array
        Expected number of events ``M >= model.min_magnitude`` (e.g. :func:`etas_cell_expectation`).
    model : quakelab.models.ETAS
    min_magnitude : float
        Label threshold.
    magnitude_resolution : float
        Step at which the catalog reports magnitudes (0.01 for QTM, 0.1 for most catalogs).

    Returns
    -------
    numpy.ndarray
        ``1 - exp(-expected_count * share)``.
    """
    lower = min_magnitude - magnitude_resolution / 2 - model.m_ref
    share = math.exp(-model.beta_ * max(lower, 0.0))
    return -np.expm1(-np.asarray(expected_count, dtype=float) * share)


def _window_seed(seed: int, start: pd.Timestamp) -> np.random.SeedSequence:
    """The seed of the simulations of the window starting at ``start``: depends on nothing else."""
    minutes = int((start - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(minutes=1))
    return np.random.SeedSequence(int(seed), spawn_key=(minutes + 2**40,))


def etas_cell_expectation(
    model,
    catalog: pd.DataFrame,
    times,
    lat_edges,
    lon_edges,
    horizon_days: float,
    *,
    n_simulations: int = 200,
    seed: int = 0,
    first_generation: np.ndarray | None = None,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """ETAS's expected number of events per cell in ``[t, t + horizon)``, all generations, given events before ``t``.

    The expectation splits into two parts. The background (``mu`` times the cell's area in the region times
    the horizon) and the direct aftershocks of the events before ``t`` are computed exactly
    (:func:`quakelab.features.grid.etas_expected_counts`). Everything triggered *inside* the window (the
    aftershocks of the window's background events and of the history's aftershocks, and theirs, to every
    generation) has no closed form on a grid: it is the Monte Carlo mean over ``n_simulations`` runs of the
    compiled ETAS simulation continuing the history (events with a simulated parent, inside the region).
    Splitting off the exact first part removes its sampling noise: cells far from any activity keep their
    exact background and tail rates. The simulations of the window starting at ``t`` are seeded by ``seed``
    and ``t`` only, so any subset of windows gives the same numbers.

    Parameters
    ----------
    model : quakelab.models.ETAS
        Fitted spatio-temporal model.
    catalog : pandas.DataFrame
        Events (those before each window's start are its history).
    times : pandas.DatetimeIndex
        Window starts (UTC).
    lat_edges, lon_edges : array
        Cell edges (degrees).
    horizon_days : float
        Window length.
    n_simulations : int, default 200
        Simulations per window (0: the first generation only).
    seed : int, default 0
    first_generation : array (time, lat, lon), optional
        The exact part when already computed (e.g. a feature grid's ``etas_expected_count`` for the same
        model, times and cells).
    n_threads : int, optional
        Threads of the simulation.

    Returns
    -------
    (expected, standard_error) : numpy arrays (time, lat, lon)
        Expected counts of events ``M >= model.min_magnitude`` and the Monte Carlo standard error of each.

    Examples
    --------
    >>> expected, se = etas_cell_expectation(model, catalog, times, lat_edges, lon_edges, 7.0)  # doctest: +SKIP
    """
    from quakelab.features.grid import etas_expected_counts
    from quakelab.models.simulate import simulate_events

    times = pd.DatetimeIndex(times)
    times = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
    lat_edges = np.asarray(lat_edges, dtype=float)
    lon_edges = np.asarray(lon_edges, dtype=float)
    ny, nx = lat_edges.size - 1, lon_edges.size - 1
    if first_generation is None:
        first_generation, _ = etas_expected_counts(
            model, catalog, times, lat_edges, lon_edges, horizon_days, origin=times.min()
        )
    first = np.asarray(first_generation, dtype=float).reshape(times.size, ny, nx)
    triggered = np.zeros_like(first)
    std_error = np.zeros_like(first)
    if n_simulations <= 0:
        return first, std_error
    threads = int(n_threads or 1)
    for i, t0 in enumerate(times):
        setup = model._simulation_setup(catalog, t0, t0 + pd.Timedelta(days=horizon_days), None, 10_000_000)
        root = _window_seed(seed, t0)
        ev = simulate_events(
            setup, 0, n_simulations, (root.entropy, tuple(root.spawn_key), root.pool_size), n_threads=threads
        )
        keep = ev["in_region"] & (ev["parent"] >= 0)
        iy = np.searchsorted(lat_edges, ev["latitude"][keep], side="right") - 1
        ix = np.searchsorted(lon_edges, ev["longitude"][keep], side="right") - 1
        ok = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
        cell = (iy * nx + ix)[ok]
        keys, per_sim_cell = np.unique(ev["sim"][keep][ok] * (ny * nx) + cell, return_counts=True)
        cells_of = keys % (ny * nx)
        total = np.bincount(cells_of, weights=per_sim_cell, minlength=ny * nx)
        squares = np.bincount(cells_of, weights=per_sim_cell.astype(float) ** 2, minlength=ny * nx)
        mean = total / n_simulations
        var = np.clip(squares / n_simulations - mean**2, 0, None) * n_simulations / max(n_simulations - 1, 1)
        triggered[i] = mean.reshape(ny, nx)
        std_error[i] = np.sqrt(var / n_simulations).reshape(ny, nx)
    return first + triggered, std_error
