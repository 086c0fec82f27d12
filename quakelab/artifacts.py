"""Named run artifacts: every output a run shares with later runs, notebooks and dashboards, declared once.

Each artifact has one file name inside a run folder, one writer, one reader and (for tables) one schema. Writers
are atomic; readers check the schema and name the file and the missing or bad column. Callers use
``write_artifact("leaderboard", table, run_dir)`` / ``read_artifact("leaderboard", run_dir)`` instead of spelling
file names and column lists in several places.

Artifacts: ``model`` (a :class:`quakelab.forecast.ForecastModel` file), ``history`` (the canonical catalog a
forecast starts from), ``forecast`` (a gridded forecast, NetCDF), ``catalog_forecast`` (simulated catalogs, pycsep
CSV), ``forecast_series`` (forecasts of consecutive windows, NetCDF), ``leaderboard`` (model scores),
``test_results`` (CSEP test results per model and window), ``aftershock_probabilities``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


class ArtifactError(ValueError):
    """An unknown artifact, or a file that does not match its artifact's schema."""


@dataclass(frozen=True)
class Column:
    """A column of a table artifact: name, pandas dtype kind (``"str"``, ``"float"``, ``"int"``, ``"bool"``,
    ``"time"``), whether it must be present, and its meaning."""

    name: str
    dtype: str
    required: bool = True
    description: str = ""


def _as_bool(v: Any) -> bool:
    text = str(v).strip().lower()
    if text in {"true", "1", "1.0"}:
        return True
    if text in {"false", "0", "0.0"}:
        return False
    raise ValueError(f"{v!r} is not a boolean")


_CASTS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "str": lambda s: s.astype("string"),
    "float": lambda s: pd.to_numeric(s, errors="raise").astype(float),
    "int": lambda s: pd.to_numeric(s, errors="raise").astype("Int64"),
    "bool": lambda s: s.map(lambda v: v if pd.isna(v) else _as_bool(v)).astype("boolean"),
    "time": lambda s: pd.to_datetime(s, utc=True, format="ISO8601"),
}


@dataclass(frozen=True)
class Artifact:
    """One named output of a run."""

    name: str
    filename: str
    kind: str  # table | catalog | forecast | catalog_forecast | model
    description: str
    columns: tuple[Column, ...] = field(default=())

    def path(self, run_dir: str | os.PathLike) -> Path:
        """Where the artifact lives in ``run_dir``."""
        return Path(run_dir) / self.filename

    # ------------------------------------------------------------------ tables
    def conform(self, table: pd.DataFrame, *, source: str = "") -> pd.DataFrame:
        """The table with the schema's columns first, in order, cast to their types; raise on a missing column."""
        where = f"{source}: " if source else ""
        missing = [c.name for c in self.columns if c.required and c.name not in table.columns]
        if missing:
            raise ArtifactError(
                f"{where}{self.name}: missing column(s) {missing}; schema: {[c.name for c in self.columns]}"
            )
        out = table.copy()
        for c in self.columns:
            if c.name not in out.columns:
                out[c.name] = pd.NA
                continue
            try:
                out[c.name] = _CASTS[c.dtype](out[c.name])
            except (ValueError, TypeError) as exc:
                raise ArtifactError(f"{where}{self.name}: column {c.name!r} is not {c.dtype}: {exc}") from exc
        names = [c.name for c in self.columns]
        return out[names + [k for k in out.columns if k not in names]]

    # ------------------------------------------------------------------ one writer, one reader
    def write(self, obj: Any, run_dir: str | os.PathLike) -> Path:
        """Write ``obj`` to :meth:`path` atomically, with the artifact's one writer."""
        path = self.path(run_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.kind == "table":
            from quakelab.catalog.store import write_text_atomic

            table = self.conform(obj)
            for c in self.columns:
                if c.dtype == "time":
                    table[c.name] = table[c.name].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            return write_text_atomic(path, table.to_csv(index=False))
        if self.kind == "catalog":
            from quakelab.catalog.store import write_parquet

            return write_parquet(obj, path)
        if self.kind == "forecast":
            from quakelab.forecast.io import write_netcdf

            return write_netcdf(obj, path)
        if self.kind == "catalog_forecast":
            return obj.write_csv(path)
        if self.kind == "model":
            return obj.save(path)
        raise ArtifactError(f"{self.name}: unknown kind {self.kind!r}")

    def read(self, run_dir: str | os.PathLike) -> Any:
        """Read the artifact from ``run_dir`` with its one reader (schema checked for tables)."""
        path = self.path(run_dir)
        if not path.exists():
            raise ArtifactError(f"{path}: no {self.name} artifact here")
        if self.kind == "table":
            try:
                raw = pd.read_csv(path)
            except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
                raise ArtifactError(f"{path}: not a readable CSV: {exc}") from exc
            return self.conform(raw, source=str(path))
        if self.kind == "catalog":
            from quakelab.catalog.store import read_parquet

            return read_parquet(path)
        if self.kind == "forecast":
            from quakelab.forecast.io import read_netcdf

            return read_netcdf(path)
        if self.kind == "catalog_forecast":
            from quakelab.forecast.catalog import read_catalog_forecast

            return read_catalog_forecast(path)
        if self.kind == "model":
            from quakelab.forecast.protocol import load_model

            return load_model(path)
        raise ArtifactError(f"{self.name}: unknown kind {self.kind!r}")


LEADERBOARD_COLUMNS = (
    Column("model", "str", description="model name"),
    Column("score", "str", description="score name: log_likelihood, information_gain, brier, auc, ..."),
    Column("value", "float", description="score value"),
    Column("ci_low", "float", required=False, description="lower end of the interval (block bootstrap)"),
    Column("ci_high", "float", required=False, description="upper end of the interval"),
    Column(
        "reference", "str", required=False, description="reference model of a relative score (e.g. Poisson)"
    ),
    Column("n_events", "int", required=False, description="target events scored"),
    Column("start", "time", required=False, description="first window start"),
    Column("end", "time", required=False, description="last window end"),
)

TEST_RESULT_COLUMNS = (
    Column("model", "str", description="model under test"),
    Column("test", "str", description="N-test, M-test, S-test, L-test, CL-test, T-test, W-test, ..."),
    Column("start", "time", description="window start"),
    Column("end", "time", description="window end"),
    Column("quantile", "float", description="quantile score (N-test: delta1; T-test: t statistic)"),
    Column(
        "quantile_2",
        "float",
        required=False,
        description="second quantile (N-test delta2; T-test critical t)",
    ),
    Column("observed_statistic", "float", description="the test's observed statistic"),
    Column("passed", "bool", required=False, description="consistent at the experiment's significance level"),
    Column("reference", "str", required=False, description="reference model of a comparison test"),
)

AFTERSHOCK_PROBABILITY_COLUMNS = (
    Column("duration_days", "float"),
    Column("magnitude", "float"),
    Column("probability", "float"),
    Column("expected_number", "float"),
    Column("n_q025", "float"),
    Column("n_q975", "float"),
)

ARTIFACTS: dict[str, Artifact] = {
    a.name: a
    for a in (
        Artifact(
            "model", "model.json", "model", "fitted ForecastModel (quakelab.forecast model file, versioned)"
        ),
        Artifact(
            "history", "history.parquet", "catalog", "canonical catalog of the events a forecast starts from"
        ),
        Artifact(
            "forecast",
            "forecast.nc",
            "forecast",
            "gridded forecast of one window (expected counts + GridSpec)",
        ),
        Artifact(
            "forecast_series",
            "forecasts.nc",
            "forecast",
            "gridded forecasts of consecutive windows (time dim)",
        ),
        Artifact(
            "catalog_forecast", "catalog_forecast.csv", "catalog_forecast", "simulated catalogs (pycsep CSV)"
        ),
        Artifact(
            "leaderboard", "leaderboard.csv", "table", "one row per (model, score)", LEADERBOARD_COLUMNS
        ),
        Artifact(
            "test_results",
            "test_results.csv",
            "table",
            "one row per (model, test, window)",
            TEST_RESULT_COLUMNS,
        ),
        Artifact(
            "aftershock_probabilities",
            "aftershock_probabilities.csv",
            "table",
            "P(at least one M >= m) per window and magnitude",
            AFTERSHOCK_PROBABILITY_COLUMNS,
        ),
    )
}


def artifact(name: str) -> Artifact:
    """The declared artifact ``name``."""
    try:
        return ARTIFACTS[name]
    except KeyError:
        raise ArtifactError(f"unknown artifact {name!r}; declared: {sorted(ARTIFACTS)}") from None


def write_artifact(name: str, obj: Any, run_dir: str | os.PathLike) -> Path:
    """Write ``obj`` as artifact ``name`` in ``run_dir``."""
    return artifact(name).write(obj, run_dir)


def read_artifact(name: str, run_dir: str | os.PathLike) -> Any:
    """Read artifact ``name`` from ``run_dir``."""
    return artifact(name).read(run_dir)


def leaderboard_from_wide(board: pd.DataFrame, *, model_column: str | None = None) -> pd.DataFrame:
    """Turn a wide leaderboard (one row per model, one column per score, as the notebooks write today) into the
    declared long schema (one row per model and score)."""
    wide = board.reset_index() if model_column is None else board.rename(columns={model_column: "model"})
    if model_column is None:
        wide = wide.rename(columns={wide.columns[0]: "model"})
    long = wide.melt(id_vars="model", var_name="score", value_name="value")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    return ARTIFACTS["leaderboard"].conform(long.dropna(subset=["value"]).reset_index(drop=True))
