"""Named run artifacts: every output a run shares with later runs, notebooks and dashboards, declared once.

Each artifact has one file name inside a run folder, one writer, one reader and one schema. Writers are atomic
(a temporary file or folder, then a rename: a failed write leaves the previous file as it was); readers check
the schema and name the file and the missing or bad column. Callers use
``write_artifact("leaderboard", table, run_dir)`` / ``read_artifact("leaderboard", run_dir)`` instead of spelling
file names and column lists in several places, and :func:`find_runs` lists the report folders holding an
artifact. ``run_dir`` is a run's folder; readers also accept the artifact's file itself (a path ending in the
artifact's suffix, e.g. ``reports/sanjac-benchmark/etas_model.json``), which is how a run's parameters point
at the output of the run it ``needs:``.

Artifacts (name: file, what)

* ``model``: ``model.json``, a fitted :class:`quakelab.forecast.ForecastModel` (model file, format version checked)
* ``etas_model``: ``etas_model.json``, a fitted :class:`quakelab.models.ETAS` (its JSON file, version checked)
* ``history``: ``history.parquet``, the canonical catalog a forecast starts from
* ``features``: ``features.zarr``, a causal feature grid (:func:`quakelab.features.build_feature_grid`)
* ``forecast``: ``forecast.nc``, a gridded forecast of one window; ``forecast_series``: ``forecasts.nc``
* ``catalog_forecast``: ``catalog_forecast.csv``, simulated catalogs (pycsep CSV)
* ``leaderboard``: ``leaderboard.csv``, model scores, long: one row per (model, score)
* ``test_results``: ``test_results.csv``, CSEP test results, one row per (model, test, window)
* ``aftershock_probabilities``: ``aftershock_probabilities.csv``, P(at least one M >= m) per model and window
* ``metrics``: ``metrics.json``, the run's headline numbers (a JSON object; the report index shows them)

Leaderboard score vocabulary (the ``score`` column; :data:`SCORES`). Point-process scores are per test event,
in nats, with EarthquakeNPP's normalisation; a gain is the model's score minus that of the model named in
``reference`` on the same events:

* ``log_likelihood`` (temporal + spatial), ``temporal_log_likelihood``, ``spatial_log_likelihood``
* ``total_information_gain``, ``temporal_information_gain``, ``spatial_information_gain``

Scores of probabilistic occurrence forecasts over (cell, horizon) bins (the learned forecasters):

* ``log_likelihood_per_bin``: mean Bernoulli log-likelihood per (time, cell) bin
* ``information_gain_per_positive_bin``: Bernoulli log-likelihood gain over ``reference`` divided by the
  number of bins holding at least one target event (not per earthquake: a bin with three target events counts
  once)
* ``information_gain_per_bin``: the same gain divided by the number of bins
* ``roc_auc``, ``pr_auc``, ``brier``, ``brier_skill``, ``molchan_area_skill_score``

A score on a subset of the test events (e.g. without the largest sequence) keeps its name; the subset goes in
the model name and ``n_events`` gives the events scored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from quakelab.catalog.schema import CANONICAL_COLUMNS


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


@dataclass(frozen=True)
class Variable:
    """A data variable of a dataset artifact (a feature grid): name, dimensions, dtype kind (``"float"``,
    ``"int"``, ``"bool"``), whether it must be present, and its meaning."""

    name: str
    dims: tuple[str, ...]
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
#: dtype of a column of missing values
_EMPTY = {"str": "string", "float": float, "int": "Int64", "bool": "boolean", "time": "datetime64[ns, UTC]"}
#: numpy dtype kinds accepted for a dataset variable of each dtype kind
_NUMPY_KINDS = {"float": "fciu", "int": "iu", "bool": "b"}


@dataclass(frozen=True)
class Artifact:
    """One named output of a run."""

    name: str
    filename: str
    kind: str  # table | catalog | forecast | catalog_forecast | model | etas_model | feature_grid | json
    description: str
    columns: tuple[Column, ...] = field(default=())
    variables: tuple[Variable, ...] = field(default=())
    attrs: tuple[str, ...] = field(default=())

    def path(self, run_dir: str | os.PathLike) -> Path:
        """Where the artifact lives: ``run_dir / filename``, or ``run_dir`` itself when it names the artifact's
        file (a path ending in the artifact's suffix, such as ``.json`` or ``.zarr``)."""
        p = Path(run_dir)
        return p if p.suffix == Path(self.filename).suffix else p / self.filename

    # ------------------------------------------------------------------ schemas
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
                out[c.name] = pd.Series([None] * len(out), index=out.index, dtype=object).astype(
                    _EMPTY[c.dtype]
                )
                continue
            try:
                cast = _CASTS[c.dtype](out[c.name])
            except (ValueError, TypeError) as exc:
                raise ArtifactError(f"{where}{self.name}: column {c.name!r} is not {c.dtype}: {exc}") from exc
            # a column of missing values only stays untyped through the casts: give it the column's dtype
            out[c.name] = cast.astype(_EMPTY[c.dtype]) if cast.isna().all() else cast
        names = [c.name for c in self.columns]
        return out[names + [k for k in out.columns if k not in names]]

    def check_dataset(self, ds: Any, *, source: str = "") -> Any:
        """Raise unless ``ds`` holds the schema's variables (dimensions, dtypes) and attributes; return ``ds``."""
        where = f"{source}: " if source else ""
        for v in self.variables:
            if v.name not in ds.variables:
                if v.required:
                    raise ArtifactError(
                        f"{where}{self.name}: missing variable {v.name!r}; schema: "
                        f"{[x.name for x in self.variables]}"
                    )
                continue
            var = ds[v.name]
            if tuple(var.dims) != v.dims:
                raise ArtifactError(
                    f"{where}{self.name}: variable {v.name!r} has dimensions {tuple(var.dims)}, not {v.dims}"
                )
            if var.dtype.kind not in _NUMPY_KINDS[v.dtype]:
                raise ArtifactError(f"{where}{self.name}: variable {v.name!r} is {var.dtype}, not {v.dtype}")
        missing = [a for a in self.attrs if a not in ds.attrs]
        if missing:
            raise ArtifactError(f"{where}{self.name}: missing attribute(s) {missing}")
        return ds

    # ------------------------------------------------------------------ one writer, one reader
    def write(self, obj: Any, run_dir: str | os.PathLike) -> Path:
        """Write ``obj`` to :meth:`path` atomically, with the artifact's one writer (schema checked first)."""
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

            self.conform(obj)
            return write_parquet(obj, path)
        if self.kind == "forecast":
            from quakelab.forecast.io import write_netcdf

            return write_netcdf(obj, path)
        if self.kind == "catalog_forecast":
            return obj.write_csv(path)
        if self.kind in ("model", "etas_model"):
            return obj.save(path)
        if self.kind == "feature_grid":
            from quakelab.features import save_feature_grid

            return save_feature_grid(self.check_dataset(obj), path)
        if self.kind == "json":
            from quakelab.catalog.store import write_text_atomic

            if not isinstance(obj, Mapping) or not all(isinstance(k, str) for k in obj):
                raise ArtifactError(f"{self.name}: a mapping with string keys is written, not {type(obj)}")
            return write_text_atomic(path, json.dumps(dict(obj), indent=2, sort_keys=True) + "\n")
        raise ArtifactError(f"{self.name}: unknown kind {self.kind!r}")

    def read(self, run_dir: str | os.PathLike) -> Any:
        """Read the artifact from ``run_dir`` (or the file itself) with its one reader, schema checked."""
        path = self.path(run_dir)
        if not path.exists():
            raise ArtifactError(f"{path}: no {self.name} artifact here")
        if self.kind == "table":
            try:
                raw = pd.read_csv(path)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise ArtifactError(f"{path}: not a readable CSV: {exc}") from exc
            return self.conform(raw, source=str(path))
        if self.kind == "catalog":
            from quakelab.catalog.store import read_parquet

            try:
                frame = read_parquet(path)
            except (OSError, ValueError) as exc:
                raise ArtifactError(f"{path}: not a readable {self.name} catalog: {exc}") from exc
            self.conform(frame, source=str(path))
            return frame
        if self.kind == "forecast":
            from quakelab.forecast.io import read_netcdf

            return read_netcdf(path)
        if self.kind == "catalog_forecast":
            from quakelab.forecast.catalog import read_catalog_forecast

            return read_catalog_forecast(path)
        if self.kind == "model":
            from quakelab.forecast.protocol import load_model

            return load_model(path)
        if self.kind == "etas_model":
            from quakelab.models import ETAS

            try:
                return ETAS.load(path)
            except (KeyError, json.JSONDecodeError) as exc:
                raise ArtifactError(f"{path}: not a readable ETAS model file: {exc!r}") from exc
        if self.kind == "feature_grid":
            from quakelab.features import open_feature_grid

            try:
                ds = open_feature_grid(path)
            except (OSError, ValueError, KeyError) as exc:
                raise ArtifactError(f"{path}: not a readable feature grid: {exc}") from exc
            return self.check_dataset(ds, source=str(path))
        if self.kind == "json":
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ArtifactError(f"{path}: not readable JSON: {exc}") from exc
            if not isinstance(doc, dict):
                raise ArtifactError(
                    f"{path}: {self.name}: a JSON object is expected, not {type(doc).__name__}"
                )
            return doc
        raise ArtifactError(f"{self.name}: unknown kind {self.kind!r}")


#: The leaderboard's score vocabulary: name -> meaning (see the module docstring).
SCORES: dict[str, str] = {
    "log_likelihood": "total (temporal + spatial) log-likelihood per test event, nats",
    "temporal_log_likelihood": "temporal log-likelihood per test event (EarthquakeNPP TLL), nats",
    "spatial_log_likelihood": "spatial log-likelihood per test event (EarthquakeNPP SLL), nats",
    "total_information_gain": "log_likelihood minus the reference's, per test event, nats",
    "temporal_information_gain": "temporal_log_likelihood minus the reference's, per test event, nats",
    "spatial_information_gain": "spatial_log_likelihood minus the reference's, per test event, nats",
    "log_likelihood_per_bin": "mean Bernoulli log-likelihood per (time, cell) bin of an occurrence forecast",
    "information_gain_per_positive_bin": "Bernoulli log-likelihood gain over the reference per bin with a "
    "target event",
    "information_gain_per_bin": "Bernoulli log-likelihood gain over the reference per (time, cell) bin",
    "roc_auc": "area under the ROC curve over (time, cell) bins",
    "pr_auc": "average precision (area under the precision-recall curve) over (time, cell) bins",
    "brier": "Brier score (mean squared error of the bin probabilities)",
    "brier_skill": "Brier skill score against the constant base rate of the scored bins",
    "molchan_area_skill_score": "area skill score of the Molchan diagram (0.5: no skill)",
}

LEADERBOARD_COLUMNS = (
    Column("model", "str", description="model name (with the subset of events scored, when not all)"),
    Column(
        "score", "str", description="score name, from SCORES: log_likelihood, total_information_gain, ..."
    ),
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
    Column(
        "information_gain",
        "float",
        required=False,
        description="T-test: information gain per earthquake over the reference (pycsep)",
    ),
    Column("ig_low", "float", required=False, description="T-test: lower end of the information gain"),
    Column("ig_high", "float", required=False, description="T-test: upper end of the information gain"),
)

AFTERSHOCK_PROBABILITY_COLUMNS = (
    Column("model", "str", description="model (ETAS, RJ generic California, RJ sequence-specific, ...)"),
    Column("duration_days", "float", description="window length after the forecast start, days"),
    Column("magnitude", "float", description="magnitude threshold m"),
    Column("probability", "float", description="P(at least one M >= m in the window)"),
    Column("expected_number", "float", description="expected number of M >= m events"),
    Column("n_q025", "float", description="2.5 % quantile of the number"),
    Column("n_q975", "float", description="97.5 % quantile of the number"),
)

#: the canonical catalog's columns (:data:`quakelab.catalog.schema.CANONICAL_COLUMNS`); ``mag_type`` optional
HISTORY_COLUMNS = tuple(
    Column(
        name,
        {"event_id": "str", "time": "time", "mag_type": "str"}.get(name, "float"),
        required=name != "mag_type",
        description=meaning,
    )
    for name, meaning in CANONICAL_COLUMNS.items()
)

_GRID = ("time", "latitude", "longitude")
FEATURE_VARIABLES = (
    Variable(
        "occurs_next", _GRID, "bool", description="label: a target event in the cell within the horizon"
    ),
    Variable(
        "n_next",
        _GRID,
        "float",
        required=False,
        description="target events in the cell within the horizon (a count; float: NaN where unknown)",
    ),
)

ARTIFACTS: dict[str, Artifact] = {
    a.name: a
    for a in (
        Artifact(
            "model", "model.json", "model", "fitted ForecastModel (quakelab.forecast model file, versioned)"
        ),
        Artifact("etas_model", "etas_model.json", "etas_model", "fitted ETAS model (ETAS.save, versioned)"),
        Artifact(
            "history",
            "history.parquet",
            "catalog",
            "canonical catalog of the events a forecast starts from",
            HISTORY_COLUMNS,
        ),
        Artifact(
            "features",
            "features.zarr",
            "feature_grid",
            "causal features and labels per (time, latitude, longitude) (Zarr)",
            variables=FEATURE_VARIABLES,
            attrs=("horizon_days", "step_days", "cell_deg"),
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
            "CSEP test results: one row per (model, test, window)",
            TEST_RESULT_COLUMNS,
        ),
        Artifact(
            "aftershock_probabilities",
            "aftershock_probabilities.csv",
            "table",
            "P(at least one M >= m) per model, window and magnitude",
            AFTERSHOCK_PROBABILITY_COLUMNS,
        ),
        Artifact("metrics", "metrics.json", "json", "headline numbers of a run (a JSON object)"),
    )
}


def artifact(name: str) -> Artifact:
    """The declared artifact ``name``."""
    try:
        return ARTIFACTS[name]
    except KeyError:
        raise ArtifactError(f"unknown artifact {name!r}; declared: {sorted(ARTIFACTS)}") from None


def write_artifact(name: str, obj: Any, run_dir: str | os.PathLike) -> Path:
    """Write ``obj`` as artifact ``name`` in ``run_dir``.

    Parameters
    ----------
    name : str
        A name of :data:`ARTIFACTS`.
    obj : object
        A table (pandas.DataFrame) for table and catalog artifacts, a dataset, a model or a mapping.
    run_dir : path-like
        The run's folder (or the artifact's file itself).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    return artifact(name).write(obj, run_dir)


def read_artifact(name: str, run_dir: str | os.PathLike) -> Any:
    """Read artifact ``name`` from ``run_dir`` (a run's folder, or the artifact's file itself).

    Raises
    ------
    ArtifactError
        When the file is missing or does not match the artifact's schema (the message names the file and the
        column).
    """
    return artifact(name).read(run_dir)


def find_runs(name: str, root: str | os.PathLike, *, also: tuple[str, ...] = ()) -> dict[str, Path]:
    """Report folders under ``root`` holding artifact ``name`` (and every artifact in ``also``).

    Staging folders of runs in progress (``.NAME.XXXX``) and kept failures (``failed/``) are left out.

    Returns
    -------
    dict
        Run name -> its folder, sorted by name.
    """
    want = [artifact(n) for n in (name, *also)]
    out = {}
    for folder in sorted(Path(root).iterdir()) if Path(root).is_dir() else []:
        if not folder.is_dir() or folder.name.startswith(".") or folder.name == "failed":
            continue
        if all(a.path(folder).exists() for a in want):
            out[folder.name] = folder
    return out


def leaderboard_from_wide(
    board: pd.DataFrame,
    *,
    model_column: str | None = None,
    scores: Mapping[str, str | tuple[str, str]] | None = None,
    drop: tuple[str, ...] = (),
    **common: Any,
) -> pd.DataFrame:
    """Turn a wide leaderboard (one row per model, one column per score) into the declared long schema.

    Parameters
    ----------
    board : pandas.DataFrame
        One row per model (the index, or ``model_column``), one column per score. A column ``<score>_lo`` /
        ``<score>_hi`` beside ``<score>`` becomes its ``ci_low`` / ``ci_high``.
    model_column : str, optional
        Column of the model names (default: the index).
    scores : mapping, optional
        Column -> score name, or -> ``(score name, reference model)`` for a relative score.
    drop : tuple of str
        Columns left out.
    **common
        Values of the other leaderboard columns shared by every row (``n_events``, ``start``, ``end``).

    Returns
    -------
    pandas.DataFrame
        One row per (model, score), in the leaderboard schema.

    Examples
    --------
    >>> wide = pd.DataFrame({"auc": [0.8], "auc_lo": [0.7], "auc_hi": [0.9]}, index=pd.Index(["A"], name="model"))
    >>> leaderboard_from_wide(wide, scores={"auc": "roc_auc"})[["model", "score", "value", "ci_low"]].values.tolist()
    [['A', 'roc_auc', 0.8, 0.7]]
    """
    wide = board.reset_index() if model_column is None else board.rename(columns={model_column: "model"})
    if model_column is None:
        wide = wide.rename(columns={wide.columns[0]: "model"})
    scores = dict(scores or {})
    cols = [c for c in wide.columns if c != "model" and c not in drop]
    bounds = {f"{c}_{s}" for c in cols for s in ("lo", "hi")} & set(cols)
    rows = []
    for c in cols:
        if c in bounds:
            continue
        score = scores.get(c, c)
        name, ref = score if isinstance(score, tuple) else (score, pd.NA)
        values = pd.to_numeric(wide[c], errors="coerce")
        for k, r in wide.iterrows():
            if pd.isna(values[k]):
                continue
            rows.append(
                {
                    "model": r["model"],
                    "score": name,
                    "value": float(values[k]),
                    "ci_low": r[f"{c}_lo"] if f"{c}_lo" in bounds else pd.NA,
                    "ci_high": r[f"{c}_hi"] if f"{c}_hi" in bounds else pd.NA,
                    "reference": ref,
                    **common,
                }
            )
    long = pd.DataFrame(rows, columns=["model", "score", "value", "ci_low", "ci_high", "reference", *common])
    return ARTIFACTS["leaderboard"].conform(long)


def pivot_leaderboard(board: pd.DataFrame) -> pd.DataFrame:
    """The long leaderboard as a wide table for display: one row per model, one column per score (with the
    reference in the column name of a relative score, e.g. ``total_information_gain vs Poisson``)."""
    b = board.copy()
    ref = b["reference"].astype("string") if "reference" in b.columns else pd.Series(pd.NA, index=b.index)
    b["column"] = b["score"].astype(str).where(ref.isna(), b["score"].astype(str) + " vs " + ref.fillna(""))
    wide = b.pivot_table(index="model", columns="column", values="value", aggfunc="first", sort=False)
    wide.columns.name = None
    return wide.reindex(list(dict.fromkeys(b["model"])))
