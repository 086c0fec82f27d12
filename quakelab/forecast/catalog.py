"""Catalog-based forecasts: many simulated catalogs of one window, in pycsep's catalog-forecast CSV format.

A :class:`CatalogForecast` holds the simulated events as one canonical catalog DataFrame with a ``catalog_id``
column (``0 .. n_catalogs - 1``; catalogs without events have no rows) and the number of catalogs, plus the
:class:`GridSpec` of the window when known. It gives the expected counts per bin (a gridded forecast), converts
to pycsep's ``CatalogForecast`` and reads/writes pycsep's CSV.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quakelab.forecast.grid import ForecastFormatError, GridSpec

CSV_COLUMNS = ("lon", "lat", "M", "time_string", "depth", "catalog_id", "event_id")
EVENT_COLUMNS = ("catalog_id", "event_id", "time", "latitude", "longitude", "depth_km", "magnitude")


@dataclass
class CatalogForecast:
    """Simulated catalogs of one window.

    Attributes
    ----------
    events : pandas.DataFrame
        Canonical columns ``event_id, time, latitude, longitude, depth_km, magnitude`` plus ``catalog_id``.
    n_catalogs : int
        Number of simulated catalogs (including empty ones).
    spec : GridSpec, optional
        Grid and window the catalogs were simulated for.
    model : str
        Model name.
    """

    events: pd.DataFrame
    n_catalogs: int
    spec: GridSpec | None = None
    model: str = ""
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [
            c for c in ("catalog_id", "time", "latitude", "longitude", "magnitude") if c not in self.events
        ]
        if missing:
            raise ForecastFormatError(f"CatalogForecast.events lacks columns {missing}")
        self.n_catalogs = int(self.n_catalogs)
        ids = self.events["catalog_id"].to_numpy()
        if len(ids) and (ids.min() < 0 or ids.max() >= self.n_catalogs):
            raise ForecastFormatError(
                f"catalog_id outside 0..{self.n_catalogs - 1}: {ids.min()}..{ids.max()}"
            )

    @classmethod
    def from_simulations(
        cls,
        simulations: pd.DataFrame,
        *,
        n_catalogs: int | None = None,
        spec: GridSpec | None = None,
        model: str = "",
    ) -> CatalogForecast:
        """From ``ETAS.catalog_forecast`` output (``attrs["n_simulations"]`` gives the number when not given)."""
        n = (
            n_catalogs
            if n_catalogs is not None
            else simulations.attrs.get(
                "n_simulations", int(simulations["catalog_id"].max()) + 1 if len(simulations) else 0
            )
        )
        ev = simulations.copy()
        if "depth_km" not in ev:
            ev["depth_km"] = np.nan
        if "event_id" not in ev:
            ev["event_id"] = [f"sim:{i}" for i in range(len(ev))]
        return cls(ev.reset_index(drop=True), int(n), spec, model)

    def event_counts(self, spec: GridSpec | None = None) -> np.ndarray:
        """Number of events in each catalog (inside the grid when a spec is given)."""
        ev = self.events
        if spec is not None and len(ev):
            idx = spec.bin_index(
                ev["longitude"].to_numpy(), ev["latitude"].to_numpy(), ev["magnitude"].to_numpy()
            )
            ev = ev[idx[:, 0] >= 0]
        return np.bincount(ev["catalog_id"].to_numpy(dtype=np.int64), minlength=self.n_catalogs)

    def expected_counts(self, spec: GridSpec | None = None, *, model: str | None = None):
        """The gridded forecast of the mean count per bin over the catalogs.

        Parameters
        ----------
        spec : GridSpec, optional
            Grid (``self.spec`` when None).
        """
        from quakelab.forecast.gridded import from_array

        spec = spec or self.spec
        if spec is None:
            raise ForecastFormatError("expected_counts needs a GridSpec")
        ev = self.events
        counts = np.zeros(spec.shape)
        if len(ev):
            idx = spec.bin_index(
                ev["longitude"].to_numpy(), ev["latitude"].to_numpy(), ev["magnitude"].to_numpy()
            )
            idx = idx[idx[:, 0] >= 0]
            np.add.at(counts, (idx[:, 0], idx[:, 1], idx[:, 2]), 1.0)
        return from_array(
            counts / max(self.n_catalogs, 1),
            spec,
            model=model if model is not None else self.model,
            attrs={"n_catalogs": self.n_catalogs},
        )

    # ------------------------------------------------------------------ pycsep
    def to_pycsep(self):
        """pycsep's ``CatalogForecast`` (one ``CSEPCatalog`` per simulated catalog, empty ones included)."""
        from csep.core.catalogs import CSEPCatalog
        from csep.core.forecasts import CatalogForecast as PyCatalogForecast

        frame = _pycsep_frame(self.events)
        groups = dict(tuple(frame.groupby("catalog_id"))) if len(frame) else {}
        empty = frame.iloc[0:0]
        cats = []
        for k in range(self.n_catalogs):
            part = groups.get(k, empty)
            cats.append(CSEPCatalog.from_dataframe(part) if len(part) else CSEPCatalog(data=[], catalog_id=k))
        kwargs: dict[str, Any] = {"name": self.model or None, "catalogs": cats, "n_cat": self.n_catalogs}
        if self.spec is not None:
            from quakelab.forecast.io import _naive

            kwargs["start_time"] = _naive(self.spec.start)
            kwargs["end_time"] = _naive(self.spec.end)
        return PyCatalogForecast(**kwargs)

    # ------------------------------------------------------------------ files
    def write_csv(self, path: str | os.PathLike) -> Path:
        """Write pycsep's catalog-forecast CSV, atomically (see :func:`write_catalog_forecast_csv`)."""
        return write_catalog_forecast_csv(self.events, path, n_simulations=self.n_catalogs)

    @classmethod
    def read_csv(
        cls,
        path: str | os.PathLike,
        *,
        n_catalogs: int | None = None,
        spec: GridSpec | None = None,
        model: str | None = None,
    ) -> CatalogForecast:
        """Read pycsep's catalog-forecast CSV with pycsep's own reader (``csep.utils.readers.csep_ascii``).

        Lines holding only a ``catalog_id`` mark empty catalogs. ``n_catalogs`` defaults to the largest id + 1.
        """
        return read_catalog_forecast(path, n_catalogs=n_catalogs, spec=spec, model=model)


def _pycsep_frame(events: pd.DataFrame) -> pd.DataFrame:
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    t = events["time"]
    t = t.dt.tz_localize("UTC") if t.dt.tz is None else t.dt.tz_convert("UTC")
    return pd.DataFrame(
        {
            "id": events["event_id"].astype(str).str.encode("utf-8").to_numpy()
            if "event_id" in events
            else np.arange(len(events)).astype(str).astype(bytes),
            "origin_time": ((t - epoch) // pd.Timedelta(milliseconds=1)).to_numpy(dtype=np.int64),
            "latitude": events["latitude"].to_numpy(dtype=float),
            "longitude": events["longitude"].to_numpy(dtype=float),
            "depth": events["depth_km"].fillna(0.0).to_numpy(dtype=float) if "depth_km" in events else 0.0,
            "magnitude": events["magnitude"].to_numpy(dtype=float),
            "catalog_id": events["catalog_id"].to_numpy(),
        }
    )


def write_catalog_forecast_csv(
    simulations: pd.DataFrame, path: str | os.PathLike, *, n_simulations: int | None = None
) -> Path:
    """Write simulated catalogs in pycsep's catalog-forecast CSV format, atomically.

    Columns ``lon, lat, M, time_string, depth, catalog_id, event_id`` (pycsep's ASCII format, times in UTC with
    microseconds); catalogs with no event are written as a line with only their ``catalog_id`` so that pycsep
    counts them; catalogs in increasing ``catalog_id`` order as pycsep requires.

    Parameters
    ----------
    simulations : pandas.DataFrame
        Canonical events with a ``catalog_id`` column (e.g. ``ETAS.catalog_forecast``).
    path : path-like
        Destination.
    n_simulations : int, optional
        Total number of catalogs (``simulations.attrs["n_simulations"]`` when None).

    Returns
    -------
    pathlib.Path
        The file.
    """
    from quakelab.catalog.store import write_text_atomic

    n = n_simulations or simulations.attrs.get("n_simulations", int(simulations["catalog_id"].max()) + 1)
    t = simulations["time"]
    t = t.dt.tz_localize("UTC") if t.dt.tz is None else t.dt.tz_convert("UTC")
    frame = pd.DataFrame(
        {
            "lon": simulations["longitude"].to_numpy(),
            "lat": simulations["latitude"].to_numpy(),
            "M": simulations["magnitude"].to_numpy(),
            "time_string": t.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").to_numpy(),
            "depth": (simulations["depth_km"].fillna(0.0).to_numpy() if "depth_km" in simulations else 0.0),
            "catalog_id": simulations["catalog_id"].to_numpy(),
            "event_id": simulations["event_id"].to_numpy() if "event_id" in simulations else "",
        }
    )
    empty = sorted(set(range(n)) - set(frame["catalog_id"].unique()))
    frame = pd.concat([frame, pd.DataFrame({"catalog_id": empty})], ignore_index=True)
    frame = frame.sort_values("catalog_id", kind="mergesort")
    return write_text_atomic(path, frame.to_csv(index=False, header=True, float_format="%.10g"))


def read_catalog_forecast(
    path: str | os.PathLike,
    *,
    n_catalogs: int | None = None,
    spec: GridSpec | None = None,
    model: str | None = None,
) -> CatalogForecast:
    """Read pycsep's catalog-forecast CSV into a :class:`CatalogForecast` (parsing by pycsep's reader)."""
    from csep.utils.readers import csep_ascii

    path = Path(path)
    if not path.exists():
        raise ForecastFormatError(f"{path}: no such file")
    ids, rows = [], []
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
        if header[0] != "lon" or len(header) < 7:
            raise ForecastFormatError(f"{path}: line 1: expected the header {','.join(CSV_COLUMNS)}")
        for lineno, line in enumerate(fh, start=2):
            parts = line.rstrip("\n").split(",")
            if len(parts) < 7:
                raise ForecastFormatError(f"{path}: line {lineno}: expected 7 fields, got {len(parts)}")
            try:
                cid = int(parts[5])
            except ValueError:
                raise ForecastFormatError(
                    f"{path}: line {lineno}: field 'catalog_id': {parts[5]!r} is not an integer"
                ) from None
            if parts[0] == "":
                ids.append(cid)
                continue
            rows.append(line)
    # parse the events with pycsep's own reader (its time and field conventions)
    from quakelab.catalog.store import atomic_path

    _final, tmp = atomic_path(path.parent / f".{path.name}.events")
    try:
        tmp.write_text("".join(rows), encoding="utf-8")
        try:
            events = csep_ascii(str(tmp))
        except Exception as exc:  # noqa: BLE001 - pycsep raises bare exceptions
            raise ForecastFormatError(f"{path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    cat_ids = np.array([int(r.split(",")[5]) for r in rows], dtype=np.int64)
    ev = pd.DataFrame(
        events, columns=["event_id", "origin_time", "latitude", "longitude", "depth_km", "magnitude"]
    )
    frame = pd.DataFrame(
        {
            "catalog_id": cat_ids,
            "event_id": ev["event_id"].astype(str).to_numpy(),
            "time": pd.to_datetime(ev["origin_time"].to_numpy(dtype=np.int64), unit="ms", utc=True),
            "latitude": ev["latitude"].to_numpy(dtype=float),
            "longitude": ev["longitude"].to_numpy(dtype=float),
            "depth_km": ev["depth_km"].to_numpy(dtype=float),
            "magnitude": ev["magnitude"].to_numpy(dtype=float),
        }
    )
    all_ids = np.r_[cat_ids, np.asarray(ids, dtype=np.int64)]
    n = n_catalogs if n_catalogs is not None else (int(all_ids.max()) + 1 if all_ids.size else 0)
    return CatalogForecast(frame, n, spec, model if model is not None else path.stem)
