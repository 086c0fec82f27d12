"""Scores of one window through pycsep's own test functions, and the moving-block bootstrap over windows.

Gridded forecasts: pycsep's ``poisson_evaluations`` N, M, S, L and CL tests and the paired T and W tests.
Catalog-based forecasts: pycsep's ``catalog_evaluations`` N, M, S and pseudo-likelihood tests. quakelab only
converts (:func:`quakelab.forecast.io.to_pycsep`, :func:`~quakelab.forecast.io.to_pycsep_catalog`) and puts
pycsep's results into rows of tidy tables.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

#: pycsep test functions by short name
_GRIDDED = {
    "N": "number_test",
    "M": "magnitude_test",
    "S": "spatial_test",
    "L": "likelihood_test",
    "CL": "conditional_likelihood_test",
}
_CATALOG = {"N": "number_test", "M": "magnitude_test", "S": "spatial_test", "PL": "pseudolikelihood_test"}


def _pycsep_pair(forecast: Any, observed: Any) -> tuple[Any, Any]:
    """(pycsep GriddedForecast, CSEPCatalog) from quakelab's objects; pycsep objects pass through."""
    from quakelab.forecast.io import to_pycsep, to_pycsep_catalog

    fc = to_pycsep(forecast) if hasattr(forecast, "data_vars") else forecast
    if isinstance(observed, pd.DataFrame):
        if not hasattr(forecast, "data_vars"):
            raise TypeError("a DataFrame of observed events needs the quakelab forecast (xarray.Dataset)")
        observed = to_pycsep_catalog(observed, forecast)
    return fc, observed


def _passed(test: str, quantile: float, quantile_2: float, alpha: float) -> bool | None:
    """CSEP reading: the N-tests are two-sided (both quantiles >= alpha/2), the others one-sided (>= alpha)."""
    if not np.isfinite(quantile):
        return None
    if test == "N":
        return bool(quantile >= alpha / 2 and quantile_2 >= alpha / 2)
    return bool(quantile >= alpha)


def gridded_test_rows(
    forecast: Any,
    observed: pd.DataFrame,
    tests: tuple[str, ...],
    *,
    num_simulations: int,
    seed: int,
    alpha: float,
) -> list[dict[str, Any]]:
    """pycsep's gridded consistency tests of one forecast in one window.

    Parameters
    ----------
    forecast : xarray.Dataset or csep GriddedForecast
        Gridded forecast of the window.
    observed : pandas.DataFrame or csep CSEPCatalog
        Canonical catalog (events outside the window, cells or bins are left out), or the pycsep catalog
        :func:`~quakelab.forecast.io.to_pycsep_catalog` made of it.
    tests : tuple of str
        Among ``N, M, S, L, CL``.
    num_simulations : int
        Simulations of pycsep's likelihood-based tests.
    seed : int
        Seed handed to pycsep (each test gets it).
    alpha : float
        Significance level of the ``passed`` column.

    Returns
    -------
    list of dict
        One row per test: ``test, observed_statistic, quantile, quantile_2, passed, n_observed``.
    """
    from csep.core import poisson_evaluations as pe

    fc, cat = _pycsep_pair(forecast, observed)
    n_obs = int(cat.event_count)
    rows = []
    for name in tests:
        func = getattr(pe, _GRIDDED[name])
        row: dict[str, Any] = {"test": name, "n_observed": n_obs}
        if n_obs == 0 and name in ("M", "S", "CL"):
            # pycsep's normalised tests divide by the observed count: undefined without events
            row.update(observed_statistic=np.nan, quantile=np.nan, quantile_2=np.nan, passed=None)
            rows.append(row)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = func(fc, cat) if name == "N" else func(fc, cat, num_simulations=num_simulations, seed=seed)
        row.update(_result_fields(res, name, alpha))
        rows.append(row)
    return rows


def _result_fields(res: Any, name: str, alpha: float) -> dict[str, Any]:
    """Observed statistic, quantile(s) and verdict of one pycsep evaluation result."""
    q = np.atleast_1d(np.asarray(res.quantile, dtype=float))
    q1, q2 = float(q[0]), float(q[1]) if q.size > 1 else np.nan
    return {
        "observed_statistic": float(res.observed_statistic),
        "quantile": q1,
        "quantile_2": q2,
        "passed": _passed(name, q1, q2, alpha),
    }


def catalog_test_rows(
    simulations: Any,
    forecast: Any,
    observed: pd.DataFrame,
    tests: tuple[str, ...],
    *,
    alpha: float,
) -> list[dict[str, Any]]:
    """pycsep's catalog-based tests of one simulation-based forecast in one window.

    Parameters
    ----------
    simulations : quakelab.forecast.CatalogForecast
        Simulated catalogs of the window.
    forecast : xarray.Dataset
        A gridded forecast on the experiment's grid (its pycsep region and bins are used).
    observed : pandas.DataFrame
        Canonical catalog.
    tests : tuple of str
        Among ``N, M, S, PL``.
    alpha : float
        Significance level of the ``passed`` column.

    Returns
    -------
    list of dict
        One row per test, as :func:`gridded_test_rows`.
    """
    from csep.core import catalog_evaluations as ce

    from quakelab.forecast.catalog import CatalogForecast
    from quakelab.forecast.gridded import grid_spec
    from quakelab.forecast.io import to_pycsep
    from quakelab.stats import bin_magnitudes

    spec = grid_spec(forecast)
    ev = simulations.events
    if len(ev):
        ev = ev.copy()
        ev["magnitude"] = bin_magnitudes(ev["magnitude"].to_numpy(dtype=float), spec.magnitude_resolution)
        t = ev["time"]
        idx = spec.bin_index(
            ev["longitude"].to_numpy(), ev["latitude"].to_numpy(), ev["magnitude"].to_numpy()
        )
        ev = ev[(idx[:, 0] >= 0) & (t >= spec.start).to_numpy() & (t < spec.end).to_numpy()]
    inside = CatalogForecast(ev.reset_index(drop=True), simulations.n_catalogs, spec, simulations.model)
    py = inside.to_pycsep()
    _, cat = _pycsep_pair(forecast, observed)
    py.region = cat.region if getattr(cat, "region", None) is not None else to_pycsep(forecast).region
    n_obs = int(cat.event_count)
    rows = []
    for name in tests:
        row: dict[str, Any] = {"test": name, "n_observed": n_obs}
        if n_obs == 0 and name in ("M", "S", "PL"):
            row.update(observed_statistic=np.nan, quantile=np.nan, quantile_2=np.nan, passed=None)
            rows.append(row)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = getattr(ce, _CATALOG[name])(py, cat)
        row.update(_result_fields(res, name, alpha))
        rows.append(row)
    return rows


def comparison_rows(
    forecast: Any, reference: Any, observed: pd.DataFrame, tests: tuple[str, ...], *, alpha: float
) -> list[dict[str, Any]]:
    """pycsep's paired T-test and W-test of ``forecast`` against ``reference`` in one window.

    Returns
    -------
    list of dict
        ``test`` (``T`` or ``W``), ``information_gain`` (T: per earthquake, with ``ig_low``/``ig_high``),
        ``statistic`` (T: t statistic; W: pycsep's observed statistic), ``p_value`` (W), ``n_observed``.
    """
    from csep.core import poisson_evaluations as pe

    fc, cat = _pycsep_pair(forecast, observed)
    ref, _ = _pycsep_pair(reference, cat)
    n_obs = int(cat.event_count)
    rows = []
    for name in tests:
        row: dict[str, Any] = {"test": name, "n_observed": n_obs}
        if n_obs < 2:  # both tests need a spread of per-event differences
            row.update(
                information_gain=np.nan, ig_low=np.nan, ig_high=np.nan, statistic=np.nan, p_value=np.nan
            )
            rows.append(row)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if name == "T":
                res = pe.paired_t_test(fc, ref, cat, alpha=alpha)
                t_stat, t_crit, _ = res.quantile
                row.update(
                    information_gain=float(res.observed_statistic),
                    ig_low=float(res.test_distribution[0]),
                    ig_high=float(res.test_distribution[1]),
                    statistic=float(t_stat),
                    p_value=np.nan,
                )
            else:
                res = pe.w_test(fc, ref, cat)
                row.update(
                    information_gain=np.nan,
                    ig_low=np.nan,
                    ig_high=np.nan,
                    statistic=float(res.observed_statistic) if res.observed_statistic is not None else np.nan,
                    p_value=float(res.quantile),
                )
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------- bootstrap
def moving_block_indices(n: int, block_length: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``resamples`` moving-block bootstrap series of length ``n`` (Künsch 1989).

    Blocks of ``block_length`` consecutive windows start anywhere in ``0 .. n - block_length``; enough blocks
    are joined to reach ``n`` and the series is cut at ``n``.

    Examples
    --------
    >>> idx = moving_block_indices(10, 3, 2, np.random.default_rng(0))
    >>> idx.shape
    (2, 10)
    >>> bool(np.all(np.diff(idx[:, :3], axis=1) == 1))
    True
    """
    if n < 1:
        raise ValueError("the bootstrap needs at least one window")
    b = max(1, min(int(block_length), n))
    n_blocks = -(-n // b)
    starts = rng.integers(0, n - b + 1, size=(resamples, n_blocks))
    idx = (starts[:, :, None] + np.arange(b)[None, None, :]).reshape(resamples, -1)
    return idx[:, :n]


def block_bootstrap(
    values: np.ndarray,
    *,
    block_length: int,
    resamples: int,
    confidence: float,
    seed: Any,
) -> pd.DataFrame:
    """Moving-block bootstrap intervals of the sum and the mean over windows, per column.

    Parameters
    ----------
    values : array (n_windows, k)
        Per-window statistics (e.g. information gain of k models), in window order.
    block_length : int
        Windows per block: resampling whole blocks keeps the dependence between neighbouring windows
        (aftershock sequences spanning several windows) inside the resampled series.
    resamples : int
        Number of bootstrap series.
    confidence : float
        Central interval (percentile method).
    seed : int or numpy.random.SeedSequence
        Seed of the resampling.

    Returns
    -------
    pandas.DataFrame
        Per column: ``total``, ``total_low``, ``total_high``, ``mean``, ``mean_low``, ``mean_high``.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    n = v.shape[0]
    rng = np.random.default_rng(seed)
    idx = moving_block_indices(n, block_length, resamples, rng)
    totals = v[idx].sum(axis=1)  # (resamples, k)
    lo, hi = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    total = v.sum(axis=0)
    return pd.DataFrame(
        {
            "total": total,
            "total_low": np.quantile(totals, lo, axis=0),
            "total_high": np.quantile(totals, hi, axis=0),
            "mean": total / n,
            "mean_low": np.quantile(totals, lo, axis=0) / n,
            "mean_high": np.quantile(totals, hi, axis=0) / n,
        }
    )
