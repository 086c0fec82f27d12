"""Gridded forecasts: an :class:`xarray.Dataset` of expected counts that carries its :class:`GridSpec`.

Layout: ``expected_count`` over ``(magnitude, latitude, longitude)`` (or ``(time, magnitude, latitude,
longitude)`` for a series of windows), coordinates at bin and cell centres, NaN in lattice cells outside the grid,
and ``attrs`` holding ``grid_spec`` (JSON of :meth:`GridSpec.to_dict`), ``units``, ``magnitude_convention``,
``start``, ``end``, ``cell_deg`` and ``model``. The accessor ``ds.quake`` gives the methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quakelab.forecast.grid import (
    EXPECTED_COUNT_UNITS,
    MAGNITUDE_CONVENTION,
    ForecastError,
    GridSpec,
    GridSpecError,
)

DIMS = ("magnitude", "latitude", "longitude")
SERIES_DIMS = ("time", *DIMS)
VARIABLE = "expected_count"


class ForecastValidationError(ForecastError):
    """A Dataset that is not a valid forecast (the message names the variable, dimension or attribute)."""


class _ForecastMeta(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return bool(
            getattr(obj, "attrs", None) is not None
            and "grid_spec" in obj.attrs
            and VARIABLE in getattr(obj, "data_vars", ())
        )


class Forecast(metaclass=_ForecastMeta):
    """Constructors of gridded forecasts; a forecast *is* an :class:`xarray.Dataset` (see the module doc).

    ``Forecast(expected_count, spec, model=...)`` returns a validated Dataset; ``isinstance(ds, Forecast)`` is
    true for any Dataset that carries a grid and expected counts. Methods live on the ``ds.quake`` accessor.

    Examples
    --------
    >>> spec = GridSpec((-117, -116, 33, 34), 0.5, 2.0, 2.1, start="2020-01-01", end="2020-01-08")
    >>> ds = Forecast(np.full(spec.shape, 0.25), spec, model="flat")
    >>> float(ds.quake.total()), isinstance(ds, Forecast)
    (2.0, True)
    """

    def __new__(
        cls, expected_count: ArrayLike, spec: GridSpec, *, model: str = "", attrs: dict | None = None
    ):
        return from_array(expected_count, spec, model=model, attrs=attrs)

    @staticmethod
    def zeros(spec: GridSpec, *, model: str = "") -> Any:
        """A forecast of zeros (NaN outside the grid)."""
        return from_array(np.zeros(spec.shape), spec, model=model)

    @staticmethod
    def validate(ds: Any) -> Any:
        """Raise :class:`ForecastValidationError` unless ``ds`` is a valid forecast; return it."""
        return validate(ds)

    @staticmethod
    def from_pycsep(forecast: Any, **kwargs: Any) -> Any:
        """See :func:`quakelab.forecast.io.from_pycsep`."""
        from quakelab.forecast.io import from_pycsep

        return from_pycsep(forecast, **kwargs)

    @staticmethod
    def read(path: Any, **kwargs: Any) -> Any:
        """See :func:`quakelab.forecast.io.read_forecast` (format from the extension)."""
        from quakelab.forecast.io import read_forecast

        return read_forecast(path, **kwargs)


def from_array(expected_count: ArrayLike, spec: GridSpec, *, model: str = "", attrs: dict | None = None):
    """A forecast Dataset from an array of shape ``spec.shape`` (values outside the grid become NaN).

    Parameters
    ----------
    expected_count : array (magnitude, latitude, longitude)
        Expected number of events per bin over the window.
    spec : GridSpec
        Grid (with a window).
    model : str
        Name of the model that issued it.
    attrs : dict, optional
        Extra attributes (JSON-able scalars and strings).

    Returns
    -------
    xarray.Dataset
        The validated forecast.
    """
    import xarray as xr

    arr = np.array(expected_count, dtype=float)
    if arr.shape != spec.shape:
        raise ForecastValidationError(
            f"expected_count has shape {arr.shape}; the grid needs {spec.shape} "
            "(magnitude, latitude, longitude)"
        )
    arr[:, ~spec.cell_mask] = np.nan
    import quakelab.forecast.accessor  # noqa: F401 - registers ds.quake

    ds = xr.Dataset(
        {VARIABLE: (DIMS, arr, {"units": EXPECTED_COUNT_UNITS, "long_name": "expected number of events"})},
        coords={
            "magnitude": (
                "magnitude",
                spec.magnitudes,
                {"units": "magnitude", "bin_convention": MAGNITUDE_CONVENTION},
            ),
            "latitude": ("latitude", spec.latitudes, {"units": "degrees_north"}),
            "longitude": ("longitude", spec.longitudes, {"units": "degrees_east"}),
        },
        attrs=_attrs(spec, model, attrs),
    )
    return validate(ds)


def _attrs(spec: GridSpec, model: str, extra: dict | None) -> dict:
    a = {
        "model": model,
        "units": EXPECTED_COUNT_UNITS,
        "magnitude_convention": MAGNITUDE_CONVENTION,
        "cell_deg": spec.cell_deg,
        "min_magnitude": spec.min_magnitude,
        "delta_m": spec.delta_m,
        "start": "" if spec.start is None else spec.start.isoformat(),
        "end": "" if spec.end is None else spec.end.isoformat(),
        "grid_spec": spec.to_json(),
    }
    return {**(extra or {}), **a}


def grid_spec(ds: Any) -> GridSpec:
    """The :class:`GridSpec` a forecast carries."""
    text = getattr(ds, "attrs", {}).get("grid_spec")
    if text is None:
        raise ForecastValidationError(
            "not a forecast: attrs has no 'grid_spec' (build it with Forecast(...))"
        )
    try:
        return GridSpec.from_json(text)
    except (ValueError, KeyError) as exc:
        raise ForecastValidationError(f"attrs['grid_spec'] is invalid: {exc}") from exc


def validate(ds: Any, *, allow_series: bool = True):
    """Check a forecast Dataset against its GridSpec; return it unchanged.

    Checks: ``expected_count`` exists with dims (magnitude, latitude, longitude) (optionally led by ``time``),
    coordinates equal the grid's, values finite and non-negative in every grid cell and NaN outside.

    Raises
    ------
    ForecastValidationError
        Naming the first problem found.
    """
    import xarray as xr

    import quakelab.forecast.accessor  # noqa: F401 - registers ds.quake

    if not isinstance(ds, xr.Dataset):
        raise ForecastValidationError(f"a forecast is an xarray.Dataset, got {type(ds).__name__}")
    if VARIABLE not in ds.data_vars:
        raise ForecastValidationError(f"forecast has no {VARIABLE!r} variable (has {list(ds.data_vars)})")
    spec = grid_spec(ds)
    da = ds[VARIABLE]
    if da.dims not in (DIMS, SERIES_DIMS) or (da.dims == SERIES_DIMS and not allow_series):
        raise ForecastValidationError(
            f"{VARIABLE} has dims {da.dims}; expected {DIMS}" + (f" or {SERIES_DIMS}" if allow_series else "")
        )
    for dim, want in (
        ("magnitude", spec.magnitudes),
        ("latitude", spec.latitudes),
        ("longitude", spec.longitudes),
    ):
        have = np.asarray(ds[dim].values, dtype=float)
        if have.shape != want.shape or not np.allclose(have, want, rtol=0, atol=1e-9):
            raise ForecastValidationError(
                f"coordinate {dim!r} ({have.size} values from {have[:1]}) does not match "
                f"the grid ({want.size} values from {want[:1]})"
            )
    arr = np.asarray(da.values, dtype=float)
    inside = arr[..., spec.cell_mask]
    if not np.all(np.isfinite(inside)):
        raise ForecastValidationError(
            f"{VARIABLE} has {int((~np.isfinite(inside)).sum())} non-finite values in grid cells"
        )
    if np.any(inside < 0):
        raise ForecastValidationError(
            f"{VARIABLE} has {int((inside < 0).sum())} negative values (smallest {inside.min():.3g})"
        )
    outside = arr[..., ~spec.cell_mask]
    if outside.size and not np.all(np.isnan(outside)):
        raise ForecastValidationError(
            f"{VARIABLE} must be NaN in the {int((~spec.cell_mask).sum())} lattice cells outside the grid"
        )
    return ds


def stack_windows(forecasts: Sequence[Any]):
    """A series ``(time, magnitude, latitude, longitude)`` from forecasts on the same grid, one per window.

    ``time`` holds the window starts; ``window_end`` (along ``time``) the ends. The series carries the grid with
    the overall window (first start, last end).
    """
    import xarray as xr

    if not forecasts:
        raise ForecastError("no forecasts to stack")
    specs = [grid_spec(f) for f in forecasts]
    for i, s in enumerate(specs[1:], 1):
        if not s.same_grid(specs[0]):
            raise GridSpecError(f"forecast {i} is on a different grid than forecast 0")
    starts = pd.DatetimeIndex([s.start for s in specs]).tz_convert(None)
    ends = pd.DatetimeIndex([s.end for s in specs]).tz_convert(None)
    da = xr.concat([f[VARIABLE] for f in forecasts], dim="time")
    overall = specs[0].with_window(specs[0].start, specs[-1].end)
    ds = xr.Dataset(
        {VARIABLE: da.assign_coords(time=("time", starts), window_end=("time", ends))},
        attrs=_attrs(overall, forecasts[0].attrs.get("model", ""), None),
    )
    return validate(ds)


def total(ds: Any):
    """Expected number of events over the whole grid (per window for a series)."""
    return ds[VARIABLE].sum(DIMS)


def magnitude_marginal(ds: Any):
    """Expected count per magnitude bin (summed over cells)."""
    return ds[VARIABLE].sum(("latitude", "longitude"))


def spatial_marginal(ds: Any):
    """Expected count per cell (summed over magnitudes; NaN outside the grid)."""
    spec = grid_spec(ds)
    out = ds[VARIABLE].sum("magnitude")
    return out.where(np.broadcast_to(spec.cell_mask, out.shape))


def at_least(ds: Any, magnitude: float):
    """Expected count per cell of events with binned magnitude ``>= magnitude``."""
    return ds[VARIABLE].sel(magnitude=slice(magnitude - 1e-9, None)).sum("magnitude")


def probability_at_least_one(ds: Any, magnitude: float | None = None):
    """Poisson probability of one or more events per cell: ``1 - exp(-N)`` (N above ``magnitude``)."""
    n = at_least(ds, magnitude) if magnitude is not None else ds[VARIABLE].sum("magnitude")
    return 1 - np.exp(-n)


def log_likelihood(ds: Any, catalog: pd.DataFrame) -> float:
    """Poisson joint log-likelihood of the observed events per bin (the CSEP L-test statistic)."""
    from scipy.special import gammaln

    spec = grid_spec(ds)
    lam = np.asarray(ds[VARIABLE].values, dtype=float)[:, spec.cell_mask]
    obs = spec.count_events(catalog)[:, spec.cell_mask]
    with np.errstate(divide="ignore"):
        terms = np.where(obs > 0, obs * np.log(lam), 0.0) - lam - gammaln(obs + 1)
    return float(terms.sum())
