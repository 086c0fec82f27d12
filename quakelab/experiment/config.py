"""Experiment definitions: YAML (or a dict) → :class:`ExperimentConfig`.

quakelab's own keys (see ``docs/experiments.md``)::

    name: sanjac-weekly
    catalog: qtm-sanjacinto            # anything quakelab.catalog.open_catalog accepts
    region: [-117.0, -116.0, 33.0, 34.0]
    grid: {cell_deg: 0.05, min_magnitude: 2.0, max_magnitude: 4.5, delta_m: 0.1, magnitude_resolution: 0.01}
    period: {start: 2016-01-01, end: 2018-01-01, window: weekly, training_start: 2009-01-01}
    models:
      - {name: Poisson, model: poisson, refit_every: 52}
      - {name: ETAS, model: etas, refit_every: 52, settings: {n_simulations: 50}}
    tests: {gridded: [N, M, S, L, CL], catalog: [N, M, S, PL], comparison: [T, W], simulations: 200}
    bootstrap: {block_length: null, resamples: 1000, confidence: 0.95}
    seed: 42

floatCSEP's overlapping keys are read too: ``time_config`` (``start_date``, ``end_date``, ``horizon``,
``offset``, ``intervals``, ``growth``), ``region_config`` (``mag_min``, ``mag_max``, ``mag_bin``, a bbox or a
file of cell origins as ``region``), ``catalog`` (a path), ``models`` (a file or list of floatCSEP model entries
whose ``path`` is a forecast file → :class:`~quakelab.forecast.FileForecaster`) and ``test_config`` (a file or list
of floatCSEP test entries naming pycsep functions).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quakelab.forecast.grid import ForecastError
from quakelab.timeutils import utc

#: Version of the per-window records; a change invalidates every finished window.
RECORD_VERSION = 1

GRIDDED_TESTS = ("N", "M", "S", "L", "CL")
CATALOG_TESTS = ("N", "M", "S", "PL")
COMPARISON_TESTS = ("T", "W")

_WINDOW_NAMES = {"daily": "1D", "weekly": "7D", "monthly": "1MS", "yearly": "1YS", "annual": "1YS"}

# pycsep function names used by floatCSEP test files → (kind, short name)
_PYCSEP_TESTS = {
    "poisson_evaluations.number_test": ("gridded", "N"),
    "poisson_evaluations.magnitude_test": ("gridded", "M"),
    "poisson_evaluations.spatial_test": ("gridded", "S"),
    "poisson_evaluations.likelihood_test": ("gridded", "L"),
    "poisson_evaluations.conditional_likelihood_test": ("gridded", "CL"),
    "poisson_evaluations.paired_t_test": ("comparison", "T"),
    "poisson_evaluations.w_test": ("comparison", "W"),
    "catalog_evaluations.number_test": ("catalog", "N"),
    "catalog_evaluations.magnitude_test": ("catalog", "M"),
    "catalog_evaluations.spatial_test": ("catalog", "S"),
    "catalog_evaluations.pseudolikelihood_test": ("catalog", "PL"),
}


class ExperimentError(ForecastError):
    """An invalid experiment definition or a failed experiment (message names the file and the field)."""


@dataclass
class ModelSpec:
    """One model of an experiment.

    Attributes
    ----------
    name : str
        Label in every table (unique in the experiment).
    model : str
        Key of :data:`quakelab.forecast.ADAPTERS` or ``"package.module:Class"`` (any ForecastModel).
    settings : dict
        Keyword arguments of the model's constructor (``region``, ``min_magnitude`` and
        ``magnitude_resolution`` default to the experiment's).
    refit_every : int
        Refit every this many windows (0: fit once, before the first window).
    simulations : int
        Simulated catalogs per window for the catalog-based tests (0: none; models without ``simulate`` skip them).
    """

    name: str
    model: str
    settings: dict[str, Any] = field(default_factory=dict)
    refit_every: int = 1
    simulations: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (part of the window fingerprints)."""
        return {
            "name": self.name,
            "model": self.model,
            "settings": self.settings,
            "refit_every": self.refit_every,
            "simulations": self.simulations,
        }


@dataclass
class ExperimentConfig:
    """A parsed experiment definition (see the module docstring for the YAML form)."""

    name: str
    catalog: Any
    grid: Any  # GridSpec without a window
    windows: list[tuple[pd.Timestamp, pd.Timestamp]]
    models: list[ModelSpec]
    training_start: pd.Timestamp
    gridded_tests: tuple[str, ...] = GRIDDED_TESTS
    catalog_tests: tuple[str, ...] = CATALOG_TESTS
    comparison_tests: tuple[str, ...] = COMPARISON_TESTS
    simulations: int = 200
    alpha: float = 0.05
    reference: str | None = None
    block_length: int | None = None
    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    write_catalog_forecasts: bool = False
    storage_options: dict[str, Any] | None = None
    source: str = "<dict>"
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def reference_model(self) -> str:
        """The model information gains are measured against (the first model when not set)."""
        return self.reference or self.models[0].name

    def effective_block_length(self) -> int:
        """Block length of the moving-block bootstrap, in windows.

        The default ``round(n ** (1/3))`` (at least 1) is the rate that minimises the mean squared error of
        block-bootstrap variance estimates (Hall, Horowitz & Jing 1995); for 104 weekly windows it is 5 weeks,
        longer than most aftershock sequences above the completeness magnitude stay above background in the
        weekly counts, so the serial dependence between neighbouring windows stays inside a block.
        """
        if self.block_length is not None:
            return max(1, int(self.block_length))
        return max(1, round(len(self.windows) ** (1 / 3)))

    def test_settings(self) -> dict[str, Any]:
        """The settings that change scores (part of the window fingerprints)."""
        return {
            "gridded": list(self.gridded_tests),
            "catalog": list(self.catalog_tests),
            "comparison": list(self.comparison_tests),
            "simulations": self.simulations,
            "alpha": self.alpha,
            "seed": self.seed,
        }


# ---------------------------------------------------------------------------------------------- parsing
def _err(source: str, where: str, msg: str) -> ExperimentError:
    return ExperimentError(f"{source}: field {where!r}: {msg}")


def load_experiment(definition: str | os.PathLike | dict[str, Any]) -> ExperimentConfig:
    """Read an experiment definition from a YAML file or a dict.

    Parameters
    ----------
    definition : path or dict
        YAML file (quakelab keys and/or floatCSEP's overlapping keys) or the same content as a dict.

    Returns
    -------
    ExperimentConfig

    Raises
    ------
    ExperimentError
        Naming the file (and line for YAML syntax errors) and the field.

    Examples
    --------
    >>> cfg = load_experiment({"catalog": "x.csv", "region": [-117, -116, 33, 34],
    ...     "grid": {"cell_deg": 0.5, "min_magnitude": 2.0, "max_magnitude": 3.0},
    ...     "period": {"start": "2016-01-01", "end": "2016-01-22", "window": "weekly"},
    ...     "models": [{"model": "poisson"}]})
    >>> len(cfg.windows), cfg.models[0].name
    (3, 'poisson')
    """
    import yaml

    base = Path(".")
    if isinstance(definition, dict):
        raw, source = dict(definition), "<dict>"
    else:
        path = Path(definition)
        source, base = str(path), path.parent
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ExperimentError(f"{path}: cannot read the experiment definition: {exc}") from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark is not None else ""
            raise ExperimentError(f"{path}:{line} not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ExperimentError(f"{path}: an experiment definition is a mapping, got {type(raw).__name__}")
    return _parse(raw, source, base)


def _storage_options(value: Any, source: str) -> dict[str, Any] | None:
    """The fsspec options of a catalog URL (``storage_options:``; e.g. ``endpoint_url``, ``anon``)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _err(source, "storage_options", f"a mapping of fsspec options, got {type(value).__name__}")
    return dict(value)


def _resolve(base: Path, value: Any) -> Any:
    if isinstance(value, str) and not re.match(r"^[a-z][a-z0-9+]*://", value):
        p = base / value
        if p.exists():
            return str(p)
    return value


def _parse(raw: dict[str, Any], source: str, base: Path) -> ExperimentConfig:
    from quakelab.forecast.grid import GridSpec

    known = {
        "name", "catalog", "region", "grid", "period", "models", "tests", "bootstrap", "seed",
        "time_config", "region_config", "test_config", "write_catalog_forecasts", "write_forecasts", "description",
        "storage_options",
    }  # fmt: skip
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _err(source, unknown[0], f"unknown key (known: {', '.join(sorted(known))})")
    if "catalog" not in raw:
        raise _err(source, "catalog", "missing (a dataset name, file path, URL or catalogs: entry)")
    catalog = raw["catalog"]
    catalog = _resolve(base, catalog) if isinstance(catalog, str) else catalog

    # ------------------------------------------------------------------ region and grid
    grid_raw = dict(raw.get("grid") or {})
    rc = dict(raw.get("region_config") or {})
    region = raw.get("region", rc.get("region"))
    if region is None:
        raise _err(source, "region", "missing (bbox [min_lon, max_lon, min_lat, max_lat] or vertices)")
    origins = None
    if isinstance(region, str):
        origins = _read_origins(_resolve(base, region), source)
        region = None
    if rc:
        grid_raw.setdefault("min_magnitude", rc.get("mag_min"))
        grid_raw.setdefault("max_magnitude", rc.get("mag_max"))
        grid_raw.setdefault("delta_m", rc.get("mag_bin", 0.1))
    for key in ("min_magnitude", "max_magnitude"):
        if grid_raw.get(key) is None:
            raise _err(source, f"grid.{key}", "missing")
    try:
        if origins is not None:
            grid = _grid_from_origins(origins, grid_raw)
        else:
            if "cell_deg" not in grid_raw:
                raise _err(source, "grid.cell_deg", "missing")
            extra = set(grid_raw) - {
                "cell_deg",
                "min_magnitude",
                "max_magnitude",
                "delta_m",
                "magnitude_resolution",
            }
            if extra:
                raise _err(source, f"grid.{sorted(extra)[0]}", "unknown key")
            grid = GridSpec(
                region,
                grid_raw["cell_deg"],
                grid_raw["min_magnitude"],
                grid_raw["max_magnitude"],
                grid_raw.get("delta_m", 0.1),
                magnitude_resolution=grid_raw.get("magnitude_resolution"),
            )
    except ExperimentError:
        raise
    except (ValueError, TypeError) as exc:
        raise _err(source, "grid", str(exc)) from exc

    # ------------------------------------------------------------------ windows
    windows, training_start = _windows(raw, source)

    # ------------------------------------------------------------------ models
    models = _models(raw.get("models"), source, base)

    # ------------------------------------------------------------------ tests
    tests = dict(raw.get("tests") or {})
    if "test_config" in raw:
        tests = {**_tests_from_floatcsep(raw["test_config"], source, base), **tests}
    known_tests = {"gridded", "catalog", "comparison", "simulations", "alpha", "reference"}
    if set(tests) - known_tests:
        raise _err(
            source,
            f"tests.{sorted(set(tests) - known_tests)[0]}",
            f"unknown key (known: {sorted(known_tests)})",
        )
    gridded = _test_list(tests, "gridded", GRIDDED_TESTS, source)
    catalog_tests = _test_list(tests, "catalog", CATALOG_TESTS, source)
    comparison = _test_list(tests, "comparison", COMPARISON_TESTS, source)
    names = [m.name for m in models]
    reference = tests.get("reference")
    if reference is not None and reference not in names:
        raise _err(source, "tests.reference", f"{reference!r} is not a model of the experiment ({names})")
    wf = raw.get("write_forecasts", "all")
    if not (wf in ("all", "none") or isinstance(wf, bool) or (isinstance(wf, int) and wf > 0)):
        raise _err(source, "write_forecasts", f"{wf!r}: use all, none or a positive number of windows")
    boot = dict(raw.get("bootstrap") or {})
    if set(boot) - {"block_length", "resamples", "confidence"}:
        raise _err(
            source,
            "bootstrap",
            f"unknown keys {sorted(set(boot) - {'block_length', 'resamples', 'confidence'})}",
        )
    try:
        cfg = ExperimentConfig(
            name=str(raw.get("name") or (Path(source).stem if source != "<dict>" else "experiment")),
            catalog=catalog,
            grid=grid,
            windows=windows,
            models=models,
            training_start=training_start,
            gridded_tests=gridded,
            catalog_tests=catalog_tests,
            comparison_tests=comparison,
            simulations=int(tests.get("simulations", 200)),
            alpha=float(tests.get("alpha", 0.05)),
            reference=reference,
            block_length=None if boot.get("block_length") is None else int(boot["block_length"]),
            resamples=int(boot.get("resamples", 1000)),
            confidence=float(boot.get("confidence", 0.95)),
            seed=int(raw.get("seed", 0)),
            write_catalog_forecasts=bool(raw.get("write_catalog_forecasts", False)),
            storage_options=_storage_options(raw.get("storage_options"), source),
            source=source,
            raw=raw,
        )
    except (TypeError, ValueError) as exc:
        raise ExperimentError(f"{source}: {exc}") from exc
    if not 0 < cfg.alpha < 1 or not 0 < cfg.confidence < 1:
        raise _err(source, "tests.alpha / bootstrap.confidence", "must be in (0, 1)")
    return cfg


def _test_list(tests: dict, key: str, allowed: tuple[str, ...], source: str) -> tuple[str, ...]:
    value = tests.get(key, list(allowed))
    if value is None:
        return ()
    value = [str(v).removesuffix("-test") for v in (value if isinstance(value, list) else [value])]
    bad = [v for v in value if v not in allowed]
    if bad:
        raise _err(source, f"tests.{key}", f"unknown test {bad[0]!r} (choose from {list(allowed)})")
    return tuple(v for v in allowed if v in value)


def _duration(text: Any, source: str, where: str) -> str:
    """A pandas frequency from 'weekly', '7 days', '7days', '1 year', 7 (days)."""
    if isinstance(text, int | float):
        return f"{float(text)}D"
    t = str(text).strip().lower()
    if t in _WINDOW_NAMES:
        return _WINDOW_NAMES[t]
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*-?\s*(day|week|month|year)s?", t)
    if not m:
        raise _err(
            source, where, f"cannot read {text!r} as a window length (daily, weekly, '3 days', '1 year')"
        )
    n, unit = m.group(1), m.group(2)
    if unit == "day":
        return f"{n}D"
    if unit == "week":
        return f"{float(n) * 7}D"
    if not float(n).is_integer():
        raise _err(source, where, f"{text!r}: months and years must be whole numbers")
    return f"{int(float(n))}{'MS' if unit == 'month' else 'YS'}"


def _step(start: pd.Timestamp, freq: str, k: int) -> pd.Timestamp:
    if freq.endswith("MS"):
        return start + pd.DateOffset(months=k * int(freq[:-2]))
    if freq.endswith("YS"):
        return start + pd.DateOffset(years=k * int(freq[:-2]))
    return start + k * pd.Timedelta(days=float(freq[:-1]))


def _windows(raw: dict, source: str) -> tuple[list[tuple[pd.Timestamp, pd.Timestamp]], pd.Timestamp]:
    period = dict(raw.get("period") or {})
    tc = dict(raw.get("time_config") or {})
    where = "period" if period or not tc else "time_config"
    start = period.get("start", tc.get("start_date"))
    end = period.get("end", tc.get("end_date"))
    window = period.get("window", tc.get("horizon"))
    offset = period.get("offset", tc.get("offset"))
    intervals = tc.get("intervals")
    growth = str(period.get("growth", tc.get("growth", "incremental")))
    if start is None:
        raise _err(source, f"{where}.start", "missing")
    try:
        t0 = utc(start)
        t1 = utc(end) if end is not None else None
        training_start = utc(period.get("training_start", raw.get("training_start", "1900-01-01")))
    except (TypeError, ValueError) as exc:
        raise _err(source, where, f"cannot read a time: {exc}") from exc
    if window is None and intervals is None:
        window = "cumulative"
    if str(window).lower() == "cumulative" or (window is None and intervals == 1):
        if t1 is None:
            raise _err(source, f"{where}.end", "missing")
        return [(t0, t1)], training_start
    if window is None:  # floatCSEP: n intervals between start and end
        if t1 is None:
            raise _err(source, f"{where}.end", "missing")
        edges = pd.date_range(t0, t1, periods=int(intervals) + 1)
        return [(edges[i], edges[i + 1]) for i in range(int(intervals))], training_start
    freq = _duration(window, source, f"{where}.window")
    step = _duration(offset, source, f"{where}.offset") if offset is not None else freq
    out: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    k = 0
    while True:
        s = _step(t0, step, k) if growth != "cumulative" else t0
        e = _step(s, freq, 1) if growth != "cumulative" else _step(t0, freq, k + 1)
        if (t1 is not None and e > t1 + pd.Timedelta(seconds=1)) or (
            t1 is None and intervals is not None and k >= int(intervals)
        ):
            break
        out.append((s, e))
        k += 1
        if intervals is not None and k >= int(intervals):
            break
        if k > 100_000:
            raise _err(source, where, "more than 100000 windows")
    if growth not in ("incremental", "cumulative"):
        raise _err(source, f"{where}.growth", f"{growth!r} is not 'incremental' or 'cumulative'")
    if not out:
        raise _err(source, where, f"no whole window of {window} fits between {start} and {end}")
    return out, training_start


def _models(value: Any, source: str, base: Path) -> list[ModelSpec]:
    import yaml

    if isinstance(value, str):  # floatCSEP: a models file
        path = Path(_resolve(base, value))
        try:
            value = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise _err(source, "models", f"cannot read {path}: {exc}") from exc
        base = path.parent
    if not isinstance(value, list) or not value:
        raise _err(source, "models", "a non-empty list of models")
    out: list[ModelSpec] = []
    for i, entry in enumerate(value):
        where = f"models[{i}]"
        if not isinstance(entry, dict):
            raise _err(source, where, "each model is a mapping")
        if "model" not in entry and len(entry) == 1 and isinstance(next(iter(entry.values())), dict):
            # floatCSEP entry {Name: {path: ..., ...}}: a forecast file (or template) → FileForecaster
            name, body = next(iter(entry.items()))
            if "path" not in body:
                raise _err(
                    source, where, f"floatCSEP model {name!r} has no 'path' (only file-based models run here)"
                )
            settings = {"path": str(_resolve(base, body["path"])), "name": str(name)}
            if "forecast_unit" in body:
                settings["duration_days"] = float(body["forecast_unit"]) * 365.25
            out.append(ModelSpec(str(name), "file", settings, 0, 0))
            continue
        unknown = set(entry) - {"name", "model", "settings", "refit_every", "simulations"}
        if unknown:
            raise _err(source, f"{where}.{sorted(unknown)[0]}", "unknown key")
        if "model" not in entry:
            raise _err(
                source,
                f"{where}.model",
                "missing (poisson, smoothed, etas, reasenberg_jones, learned, file or module:Class)",
            )
        settings = dict(entry.get("settings") or {})
        try:
            refit = int(entry.get("refit_every", 1))
            sims = int(entry.get("simulations", 0))
        except (TypeError, ValueError) as exc:
            raise _err(source, where, str(exc)) from exc
        if refit < 0 or sims < 0:
            raise _err(source, where, "refit_every and simulations must be >= 0")
        out.append(
            ModelSpec(str(entry.get("name", entry["model"])), str(entry["model"]), settings, refit, sims)
        )
    names = [m.name for m in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise _err(source, "models", f"duplicate model names {sorted(dup)} (give each a 'name')")
    return out


def _tests_from_floatcsep(value: Any, source: str, base: Path) -> dict[str, Any]:
    import yaml

    if isinstance(value, str):
        path = Path(_resolve(base, value))
        try:
            value = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise _err(source, "test_config", f"cannot read {path}: {exc}") from exc
    out: dict[str, list[str]] = {"gridded": [], "catalog": [], "comparison": []}
    for i, entry in enumerate(value or []):
        ((name, body),) = entry.items()
        func = str((body or {}).get("func", "")).removeprefix("csep.core.")
        if func not in _PYCSEP_TESTS:
            raise _err(
                source,
                f"test_config[{i}].func",
                f"{func!r} is not a test this runner computes ({sorted(_PYCSEP_TESTS)})",
            )
        kind, short = _PYCSEP_TESTS[func]
        out[kind].append(short)
    return out


def _read_origins(path: Any, source: str) -> np.ndarray:
    try:
        data = np.loadtxt(path, delimiter=None, ndmin=2, comments="#", usecols=(0, 1))
    except (OSError, ValueError) as exc:
        raise _err(source, "region", f"cannot read cell origins from {path}: {exc}") from exc
    return data


def _grid_from_origins(origins: np.ndarray, grid_raw: dict):
    from quakelab.forecast.grid import GridSpec

    dh = grid_raw.get("cell_deg")
    if dh is None:
        xs = np.unique(np.round(origins[:, 0], 6))
        dh = float(np.min(np.diff(xs))) if len(xs) > 1 else 0.1
    dh = float(dh)
    x0, y0 = origins[:, 0].min(), origins[:, 1].min()
    nx = round((origins[:, 0].max() - x0) / dh) + 1
    ny = round((origins[:, 1].max() - y0) / dh) + 1
    mask = np.zeros((ny, nx), dtype=bool)
    mask[np.round((origins[:, 1] - y0) / dh).astype(int), np.round((origins[:, 0] - x0) / dh).astype(int)] = (
        True
    )
    bbox = (x0, x0 + nx * dh, y0, y0 + ny * dh)
    return GridSpec(
        bbox,
        dh,
        grid_raw["min_magnitude"],
        grid_raw["max_magnitude"],
        grid_raw.get("delta_m", 0.1),
        origin=(x0, y0),
        cell_mask=mask,
        magnitude_resolution=grid_raw.get("magnitude_resolution"),
    )


# ---------------------------------------------------------------------------------------------- fingerprints
def catalog_hash(catalog: pd.DataFrame) -> str:
    """SHA-256 of a catalog's content (times, positions, depths, magnitudes; row order kept)."""
    cols = [c for c in ("time", "latitude", "longitude", "depth_km", "magnitude") if c in catalog]
    h = hashlib.sha256()
    h.update(json.dumps(cols).encode())
    h.update(pd.util.hash_pandas_object(catalog[cols], index=False).to_numpy().tobytes())
    return h.hexdigest()


def fingerprint(doc: Any) -> str:
    """SHA-256 of a JSON-able document (keys sorted; NaN allowed)."""

    def default(o: Any) -> Any:
        if isinstance(o, pd.Timestamp):
            return o.isoformat()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, float) and math.isnan(o):
            return "nan"
        return repr(o)

    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=default).encode()).hexdigest()
