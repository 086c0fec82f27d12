"""One forecast interface: grids, gridded and catalog-based forecasts, the ForecastModel protocol and adapters.

* :class:`GridSpec` — region, cells, magnitude bins (one declared convention), window.
* :class:`Forecast` — an :class:`xarray.Dataset` of ``expected_count(magnitude, latitude, longitude)`` carrying
  its GridSpec; methods on the ``ds.quake`` accessor; readers/writers for pycsep objects, CSEP ASCII/XML, NetCDF,
  GeoJSON.
* :class:`CatalogForecast` — simulated catalogs, pycsep's catalog-forecast CSV.
* :class:`ForecastModel` — the protocol (``fit``, ``forecast``, ``save``/``load``; ``simulate`` optional) and the
  adapters for quakelab's models.

Names are imported lazily (xarray, pycsep and the models load on first use). Vocabulary: ``docs/glossary.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GridSpec": "grid",
    "ForecastError": "grid",
    "GridSpecError": "grid",
    "ForecastFormatError": "grid",
    "MAGNITUDE_CONVENTION": "grid",
    "EXPECTED_COUNT_UNITS": "grid",
    "Forecast": "gridded",
    "ForecastValidationError": "gridded",
    "from_array": "gridded",
    "grid_spec": "gridded",
    "validate": "gridded",
    "stack_windows": "gridded",
    "total": "gridded",
    "magnitude_marginal": "gridded",
    "spatial_marginal": "gridded",
    "log_likelihood": "gridded",
    "ForecastAccessor": "accessor",
    "to_pycsep": "io",
    "from_pycsep": "io",
    "to_pycsep_catalog": "io",
    "read_ascii": "io",
    "write_ascii": "io",
    "read_xml": "io",
    "write_xml": "io",
    "read_netcdf": "io",
    "write_netcdf": "io",
    "read_geojson": "io",
    "write_geojson": "io",
    "read_forecast": "io",
    "write_forecast": "io",
    "CatalogForecast": "catalog",
    "read_catalog_forecast": "catalog",
    "write_catalog_forecast_csv": "catalog",
    "ForecastModel": "protocol",
    "SimulatingForecastModel": "protocol",
    "BaseForecastModel": "protocol",
    "ModelFormatError": "protocol",
    "NotFittedError": "protocol",
    "MODEL_FORMAT_VERSION": "protocol",
    "load_model": "protocol",
    "PoissonForecaster": "adapters",
    "SmoothedSeismicityForecaster": "adapters",
    "ETASForecaster": "adapters",
    "ReasenbergJonesForecaster": "adapters",
    "LearnedForecaster": "adapters",
    "FileForecaster": "adapters",
    "counts_from_probabilities": "adapters",
    "select_events": "adapters",
    "ADAPTERS": "adapters",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'quakelab.forecast' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"quakelab.forecast.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
