"""The :class:`ForecastModel` protocol every forecasting model implements, and versioned model files.

A model is configured in ``__init__`` (settings only), learns from data in ``fit(catalog, start, end)`` (events in
``[start, end)``), and issues ``forecast(history, start, end, grid)`` — a gridded forecast (expected counts) for the
window ``[start, end)`` on ``grid`` given the events before ``start`` in ``history``. Simulation-based models also
give ``simulate(history, start, end, grid, n_catalogs=..., seed=...)`` — a :class:`CatalogForecast`. ``save(path)``
writes one JSON file with a format version, ``load(path)`` refuses any other version.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import pandas as pd

from quakelab.forecast.grid import ForecastError, ForecastFormatError, GridSpec

if TYPE_CHECKING:
    import xarray as xr

    from quakelab.forecast.catalog import CatalogForecast

#: Version of quakelab's model files; :meth:`BaseForecastModel.load` refuses any other.
MODEL_FORMAT_VERSION = 1
MODEL_FORMAT = "quakelab.forecast-model"


class ModelFormatError(ForecastFormatError):
    """A model file of another format or format version."""


class NotFittedError(ForecastError):
    """``forecast`` or ``save`` called before ``fit``."""


@runtime_checkable
class ForecastModel(Protocol):
    """What an experiment needs from a model (structural: no base class required)."""

    name: str

    def fit(self, catalog: pd.DataFrame, start: Any, end: Any) -> ForecastModel:
        """Learn from the events of ``catalog`` in ``[start, end)``; return ``self``."""
        ...

    def forecast(self, history: pd.DataFrame | None, start: Any, end: Any, grid: GridSpec) -> xr.Dataset:
        """Expected counts on ``grid`` for ``[start, end)`` given the events before ``start``."""
        ...

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model (settings and fitted state) with a format version."""
        ...

    @classmethod
    def load(cls, path: str | os.PathLike) -> ForecastModel:
        """Read a file written by :meth:`save`; refuse another format version."""
        ...


@runtime_checkable
class SimulatingForecastModel(ForecastModel, Protocol):
    """A model that also issues catalog-based forecasts."""

    def simulate(
        self,
        history: pd.DataFrame | None,
        start: Any,
        end: Any,
        grid: GridSpec,
        *,
        n_catalogs: int = 1000,
        seed: int | None = None,
    ) -> CatalogForecast:
        """``n_catalogs`` simulated catalogs of ``[start, end)``."""
        ...


class BaseForecastModel:
    """Shared plumbing of quakelab's adapters: versioned JSON files, fitted checks, window handling.

    Subclasses define ``_config()`` (constructor keywords), ``_state()`` / ``_set_state(state)`` (fitted values,
    JSON-able) and set ``self.fitted_ = True`` in ``fit``.
    """

    name: str = "model"
    #: registry of adapter classes by name, for :func:`load_model`
    registry: ClassVar[dict[str, type[BaseForecastModel]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        BaseForecastModel.registry[cls.__name__] = cls

    fitted_: bool = False

    def _config(self) -> dict[str, Any]:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def check_is_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless ``fit`` was called (or a fitted model loaded)."""
        if not self.fitted_:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(catalog, start, end) first")

    def save(self, path: str | os.PathLike) -> Path:
        """Write settings and fitted state as one JSON file, atomically, with ``format_version``."""
        from quakelab.catalog.store import write_text_atomic

        self.check_is_fitted()
        doc = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "model": type(self).__name__,
            "name": self.name,
            "config": self._config(),
            "state": self._state(),
        }
        return write_text_atomic(path, json.dumps(doc, indent=1, allow_nan=True))

    @classmethod
    def load(
        cls, path: str | os.PathLike, *, storage_options: dict[str, Any] | None = None
    ) -> BaseForecastModel:
        """Read a model file; refuses other formats, other versions and other model classes.

        ``path`` may be an fsspec URL (``s3://bucket/model.json``) with its ``storage_options``.
        """
        doc = _read_model_file(path, storage_options)
        if doc["model"] != cls.__name__ and cls is not BaseForecastModel:
            raise ModelFormatError(f"{path}: holds a {doc['model']}, not a {cls.__name__}")
        target = cls if cls is not BaseForecastModel else BaseForecastModel.registry[doc["model"]]
        obj = target(**doc["config"])
        obj.name = doc.get("name", obj.name)
        obj._set_state(doc["state"])
        obj.fitted_ = True
        return obj

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={v!r}" for k, v in self._config().items() if k != "region")
        return f"{type(self).__name__}({cfg})"


def _read_model_file(
    path: str | os.PathLike, storage_options: dict[str, Any] | None = None
) -> dict[str, Any]:
    from quakelab.storage import is_remote, read_text

    path = path if is_remote(str(path)) else Path(path)
    try:
        doc = json.loads(read_text(path, storage_options))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{path}: not a readable model file: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
        raise ModelFormatError(
            f"{path}: field 'format' is {doc.get('format') if isinstance(doc, dict) else None!r}, "
            f"not {MODEL_FORMAT!r}"
        )
    version = doc.get("format_version")
    if version != MODEL_FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: field 'format_version' is {version!r}; this quakelab reads version "
            f"{MODEL_FORMAT_VERSION} only (re-fit and save the model with this version)"
        )
    for key in ("model", "config", "state"):
        if key not in doc:
            raise ModelFormatError(f"{path}: missing field {key!r}")
    if doc["model"] not in BaseForecastModel.registry:
        raise ModelFormatError(f"{path}: unknown model class {doc['model']!r}")
    return doc


def load_model(
    path: str | os.PathLike, *, storage_options: dict[str, Any] | None = None
) -> BaseForecastModel:
    """Load any quakelab adapter from its file or fsspec URL (the class is recorded in the file)."""
    import quakelab.forecast.adapters  # noqa: F401 - fills the registry

    return BaseForecastModel.load(path, storage_options=storage_options)
