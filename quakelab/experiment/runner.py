"""Running an experiment: fit tasks, window tasks, resumable per-window records, Dask scale-out.

Every window is one task: forecast with every model (each fitted on events strictly before its refit window and
given the events strictly before the window as history), score them with pycsep, write one record. Fits are
tasks of their own (one per model and refit window), shared by the windows that use them. Seeds come from
``numpy.random.SeedSequence(seed).spawn(...)`` — child ``i`` for window ``i`` and, within it, one child per
model — so the numbers do not depend on where or in which order tasks run.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quakelab.experiment.config import (
    RECORD_VERSION,
    ExperimentConfig,
    ExperimentError,
    ModelSpec,
    catalog_hash,
    fingerprint,
    load_experiment,
)

log = logging.getLogger("quakelab.progress")

RECORD = "record.json"


# ---------------------------------------------------------------------------------------------- models
def build_model(spec: ModelSpec, cfg: ExperimentConfig) -> Any:
    """The ForecastModel of a model entry: an adapter of :data:`quakelab.forecast.ADAPTERS` or ``module:Class``.

    ``region``, ``min_magnitude`` and ``magnitude_resolution`` default to the experiment's grid when the
    constructor takes them.
    """
    from quakelab.forecast.adapters import ADAPTERS

    if spec.model in ADAPTERS:
        cls = ADAPTERS[spec.model]
    elif ":" in spec.model:
        mod, _, attr = spec.model.partition(":")
        try:
            cls = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as exc:
            raise ExperimentError(
                f"{cfg.source}: model {spec.name!r}: cannot import {spec.model!r}: {exc}"
            ) from exc
    else:
        raise ExperimentError(
            f"{cfg.source}: model {spec.name!r}: unknown model {spec.model!r} "
            f"(choose from {sorted(ADAPTERS)} or give 'package.module:Class')"
        )
    params = inspect.signature(cls).parameters
    kwargs = dict(spec.settings)
    defaults = {
        "region": cfg.grid.region,
        "min_magnitude": cfg.grid.min_magnitude,
        "magnitude_resolution": cfg.grid.magnitude_resolution,
    }
    for key, value in defaults.items():
        if key in params and key not in kwargs:
            kwargs[key] = value
    if "cell_deg" in params and "cell_deg" not in kwargs and spec.model == "learned":
        kwargs["cell_deg"] = cfg.grid.cell_deg
    try:
        model = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ExperimentError(f"{cfg.source}: model {spec.name!r}: settings rejected: {exc}") from exc
    model.name = spec.name
    return model


def _anchor(spec: ModelSpec, i: int) -> int:
    """Index of the window at whose start the model used in window ``i`` was (re)fitted."""
    return 0 if spec.refit_every == 0 else (i // spec.refit_every) * spec.refit_every


def _seeds(seed: int, i: int, n_models: int) -> list[tuple[int, int]]:
    """(model seed, test seed) per model of window ``i`` from ``SeedSequence(seed).spawn(...)[i].spawn(n)``."""
    window = np.random.SeedSequence(seed, spawn_key=(i,))  # == SeedSequence(seed).spawn(n)[i] for any n > i
    out = []
    for child in window.spawn(n_models):
        a, b = child.generate_state(2)
        out.append((int(a) % (2**31 - 1), int(b) % (2**31 - 1)))
    return out


# ---------------------------------------------------------------------------------------------- tasks
def _fit_task(
    catalog: pd.DataFrame, spec: ModelSpec, cfg: ExperimentConfig, anchor: int
) -> tuple[Any, float]:
    """Fit one model on the events strictly before the start of window ``anchor``."""
    start = cfg.windows[anchor][0]
    model = build_model(spec, cfg)
    t0 = time.perf_counter()
    before = catalog[catalog["time"] < start]
    try:
        model.fit(before, cfg.training_start, start)
    except Exception as exc:  # noqa: BLE001 - re-raised with the model and window named
        raise ExperimentError(
            f"model {spec.name!r}: fit on {cfg.training_start} .. {start} failed: {exc}"
        ) from exc
    return model, time.perf_counter() - t0


def _window_task(
    catalog: pd.DataFrame,
    cfg: ExperimentConfig,
    i: int,
    fitted: dict[str, Any],
    hook: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Forecast and score window ``i`` with every model; returns the window's record (rows and forecasts)."""
    if hook is not None:
        hook(i)
    from quakelab.experiment.scoring import catalog_test_rows, comparison_rows, gridded_test_rows
    from quakelab.forecast.gridded import VARIABLE, log_likelihood
    from quakelab.forecast.io import to_pycsep, to_pycsep_catalog

    start, end = cfg.windows[i]
    grid = cfg.grid.with_window(start, end)
    history = catalog[catalog["time"] < start]
    observed = catalog[(catalog["time"] >= start) & (catalog["time"] < end)]
    seeds = _seeds(cfg.seed, i, len(cfg.models))
    forecasts: dict[str, Any] = {}
    pycsep: dict[str, Any] = {}
    py_observed = None
    sims: dict[str, Any] = {}
    rows: dict[str, list[dict[str, Any]]] = {"gridded": [], "catalog": [], "comparison": [], "likelihood": []}
    timings: list[dict[str, Any]] = []
    for spec, (model_seed, test_seed) in zip(cfg.models, seeds, strict=True):
        model = fitted[spec.name]
        if isinstance(model, tuple):  # a fit task's (model, seconds), as Dask hands it over
            model = model[0]
        if hasattr(model, "seed"):
            model = copy.copy(model)
            model.seed = model_seed
        t0 = time.perf_counter()
        try:
            fc = model.forecast(history, start, end, grid)
        except Exception as exc:  # noqa: BLE001
            raise ExperimentError(
                f"model {spec.name!r}: forecast of window {i} ({start} .. {end}) failed: {exc}"
            ) from exc
        fc.attrs["model"] = spec.name
        forecasts[spec.name] = fc
        timings.append({"model": spec.name, "stage": "forecast", "seconds": time.perf_counter() - t0})
        t0 = time.perf_counter()
        pycsep[spec.name] = to_pycsep(fc, name=spec.name)
        if py_observed is None:  # every forecast has the experiment's grid: one pycsep catalog per window
            py_observed = to_pycsep_catalog(observed, fc)
        for row in gridded_test_rows(
            pycsep[spec.name],
            py_observed,
            cfg.gridded_tests,
            num_simulations=cfg.simulations,
            seed=test_seed,
            alpha=cfg.alpha,
        ):
            rows["gridded"].append({"model": spec.name, **row})
        rows["likelihood"].append(
            {
                "model": spec.name,
                "expected_count": float(fc[VARIABLE].sum()),
                "n_observed": int(grid.count_events(observed).sum()),
                "log_likelihood": log_likelihood(fc, observed),
            }
        )
        timings.append({"model": spec.name, "stage": "gridded tests", "seconds": time.perf_counter() - t0})
        if spec.simulations and cfg.catalog_tests and hasattr(model, "simulate"):
            t0 = time.perf_counter()
            cf = model.simulate(history, start, end, grid, n_catalogs=spec.simulations, seed=model_seed)
            for row in catalog_test_rows(cf, fc, py_observed, cfg.catalog_tests, alpha=cfg.alpha):
                rows["catalog"].append({"model": spec.name, **row})
            if cfg.write_catalog_forecasts:
                sims[spec.name] = cf
            timings.append(
                {"model": spec.name, "stage": "catalog tests", "seconds": time.perf_counter() - t0}
            )
    if cfg.comparison_tests:
        for a in cfg.models:
            for b in cfg.models:
                if a.name == b.name:
                    continue
                for row in comparison_rows(
                    pycsep[a.name], pycsep[b.name], py_observed, cfg.comparison_tests, alpha=cfg.alpha
                ):
                    rows["comparison"].append({"model": a.name, "reference": b.name, **row})
    return {"index": i, "rows": rows, "forecasts": forecasts, "catalog_forecasts": sims, "timings": timings}


# ---------------------------------------------------------------------------------------------- records
def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "model"


def window_fingerprints(cfg: ExperimentConfig, cat_hash: str) -> list[str]:
    """Fingerprint of every window's inputs: catalog content, window, grid, models and their refit window, tests."""
    grid = cfg.grid.to_dict()
    grid.pop("start", None)
    grid.pop("end", None)
    out = []
    for i, (s, e) in enumerate(cfg.windows):
        doc = {
            "record_version": RECORD_VERSION,
            "catalog": cat_hash,
            "window": [i, s.isoformat(), e.isoformat()],
            "grid": grid,
            "training_start": cfg.training_start.isoformat(),
            "models": [
                {**m.to_dict(), "fit_end": cfg.windows[_anchor(m, i)][0].isoformat()} for m in cfg.models
            ],
            "tests": cfg.test_settings(),
            "catalog_forecasts": cfg.write_catalog_forecasts,
        }
        out.append(fingerprint(doc))
    return out


def _write_forecasts(cfg: ExperimentConfig, i: int) -> bool:
    w = cfg.raw.get("write_forecasts", "all")
    if i == len(cfg.windows) - 1 or w == "all" or w is True:
        return True
    if isinstance(w, int) and not isinstance(w, bool) and w > 0:
        return i % w == 0
    return False


def _write_record(out: Path, cfg: ExperimentConfig, result: dict[str, Any], fp: str) -> None:
    """Write one window's folder (record, forecasts) through a temporary sibling and a rename."""
    from quakelab.catalog.store import atomic_directory
    from quakelab.forecast.io import write_ascii

    i = result["index"]
    s, e = cfg.windows[i]
    with atomic_directory(out / "windows" / f"{i:05d}", create=True) as d:
        if _write_forecasts(cfg, i):
            (d / "forecasts").mkdir()
            for name, fc in result["forecasts"].items():
                write_ascii(fc, d / "forecasts" / f"{_slug(name)}.dat")
            for name, cf in result["catalog_forecasts"].items():
                cf.write_csv(d / "forecasts" / f"{_slug(name)}.catalogs.csv")
        doc = {
            "fingerprint": fp,
            "index": i,
            "start": s.isoformat(),
            "end": e.isoformat(),
            "rows": result["rows"],
            "timings": result["timings"],
        }
        (d / RECORD).write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")


def _read_record(out: Path, i: int, fp: str) -> dict[str, Any] | None:
    path = out / "windows" / f"{i:05d}" / RECORD
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return doc if doc.get("fingerprint") == fp else None


# ---------------------------------------------------------------------------------------------- Dask
def _worker_catalog(source: Any, storage_options: dict[str, Any] | None, expected: str) -> pd.DataFrame:
    """A worker opens the experiment's catalog itself (path or fsspec URL) and checks it is the same data."""
    from quakelab.catalog import open_catalog

    cat = open_catalog(source, storage_options=storage_options)
    cat = cat.sort_values("time", kind="mergesort").reset_index(drop=True)
    got = catalog_hash(cat)
    if got != expected:
        raise ExperimentError(
            f"catalog {source!r} read on a worker differs from the one read by the client "
            f"(content hash {got[:12]} vs {expected[:12]}): the workers must see the same file"
        )
    return cat


# ---------------------------------------------------------------------------------------------- driver
def run_experiment(
    experiment: str | os.PathLike | dict[str, Any] | ExperimentConfig,
    *,
    output: str | os.PathLike | None = None,
    scheduler: Any = None,
    workers: int | None = None,
    catalog: pd.DataFrame | None = None,
    resume: bool = True,
    plots: bool = True,
    _task_hook: Callable[[int], None] | None = None,
):
    """Run a forecast experiment and return its :class:`~quakelab.experiment.Results`.

    Parameters
    ----------
    experiment : path, dict or ExperimentConfig
        The definition (:func:`~quakelab.experiment.load_experiment`).
    output : path, optional
        Results folder (``reports/experiments/<name>`` when None). Finished windows found there with the same
        input fingerprint are reused.
    scheduler : str or distributed.Client, optional
        None: windows run one after the other in this process. ``"local"``: a LocalCluster of ``workers``
        processes. ``"tcp://host:8786"``: an existing scheduler. A Client: used as is.
    workers : int, optional
        Workers of the LocalCluster (2 when None); giving it without ``scheduler`` means ``"local"``.
    catalog : pandas.DataFrame, optional
        The catalog itself (instead of opening the definition's ``catalog``).
    resume : bool, default True
        Reuse finished windows whose fingerprint matches; False recomputes all.
    plots : bool, default True
        Draw the standard plots into ``plots/``.

    Returns
    -------
    quakelab.experiment.Results

    Examples
    --------
    >>> res = run_experiment("experiments/sanjac_weekly.yaml", scheduler="local", workers=2)  # doctest: +SKIP
    >>> res.summary()  # doctest: +SKIP
    """
    from quakelab.experiment.results import Results, assemble

    cfg = experiment if isinstance(experiment, ExperimentConfig) else load_experiment(experiment)
    catalog_given = catalog is not None
    if catalog is None:
        from quakelab.catalog import open_catalog

        try:
            catalog = open_catalog(cfg.catalog, storage_options=cfg.storage_options)
        except Exception as exc:  # noqa: BLE001
            raise ExperimentError(
                f"{cfg.source}: field 'catalog': cannot open {cfg.catalog!r}: {exc}"
            ) from exc
    catalog = catalog.sort_values("time", kind="mergesort").reset_index(drop=True)
    out = Path(output) if output is not None else Path("reports") / "experiments" / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    for spec in cfg.models:  # fail early on bad model settings
        build_model(spec, cfg)
    cat_hash = catalog_hash(catalog)
    fps = window_fingerprints(cfg, cat_hash)
    n = len(cfg.windows)
    records: dict[int, dict[str, Any]] = {}
    if resume:
        for i in range(n):
            rec = _read_record(out, i, fps[i])
            if rec is not None:
                records[i] = rec
    reused = sorted(records)
    pending = [i for i in range(n) if i not in records]
    log.info(
        "experiment %s: %d windows, %d finished earlier, %d to run", cfg.name, n, len(reused), len(pending)
    )
    fit_seconds: list[dict[str, Any]] = []
    paths = {(s.name, a): _fit_path(out, cfg, s, a, cat_hash) for s, a in _needed_fits(cfg, pending)}
    if pending:
        if scheduler is None and workers is None:
            _run_sequential(out, cfg, catalog, pending, fps, records, fit_seconds, _task_hook, paths)
        else:
            from quakelab.distributed import get_client

            with get_client(scheduler or "local", n_workers=workers or 2) as client:
                source = None if catalog_given else (cfg.catalog, cfg.storage_options, cat_hash)
                _run_dask(
                    client, out, cfg, catalog, pending, fps, records, fit_seconds, _task_hook, paths, source
                )
    missing = [i for i in range(n) if i not in records]
    if missing:
        raise ExperimentError(f"windows {missing} did not finish")
    tables = assemble(cfg, [records[i] for i in range(n)], fit_seconds)
    res = Results(out, cfg, tables, reused=reused, computed=pending)
    res._catalog = catalog
    res.write(plots=plots)
    return res


def _needed_fits(cfg: ExperimentConfig, pending: list[int]) -> list[tuple[ModelSpec, int]]:
    seen: dict[tuple[str, int], tuple[ModelSpec, int]] = {}
    for i in pending:
        for spec in cfg.models:
            seen.setdefault((spec.name, _anchor(spec, i)), (spec, _anchor(spec, i)))
    return list(seen.values())


def _fit_path(out: Path, cfg: ExperimentConfig, spec: ModelSpec, anchor: int, cat_hash: str) -> Path:
    """File of a fitted model, named by the fingerprint of what the fit saw (reused by later runs)."""
    grid = cfg.grid.to_dict()
    grid.pop("start", None)
    grid.pop("end", None)
    doc = {
        "record_version": RECORD_VERSION,
        "catalog": cat_hash,
        "model": spec.to_dict(),
        "grid": grid,
        "fit": [cfg.training_start.isoformat(), cfg.windows[anchor][0].isoformat()],
    }
    return out / "models" / f"{_slug(spec.name)}-{anchor:05d}-{fingerprint(doc)[:16]}.json"


def _load_fit(path: Path) -> Any:
    """A fitted model saved by an earlier run, or None."""
    if not path.exists():
        return None
    from quakelab.forecast.protocol import load_model

    try:
        return load_model(path)
    except Exception:  # noqa: BLE001 - an unreadable file means: fit again
        return None


def _save_fit(model: Any, path: Path) -> None:
    """Keep a fitted model for later runs (models without a quakelab model file are refitted instead)."""
    from quakelab.forecast.protocol import BaseForecastModel

    if isinstance(model, BaseForecastModel):
        model.save(path)


def _finish(out, cfg, result, fps, records) -> None:
    i = result["index"]
    if i in records:  # a rerun task (worker lost after finishing): the record exists already
        return
    _write_record(out, cfg, result, fps[i])
    rec = _read_record(out, i, fps[i])
    if rec is None:
        raise ExperimentError(f"window {i}: record could not be read back")
    records[i] = rec
    log.info("experiment %s: window %d/%d done", cfg.name, len(records), len(cfg.windows))


def _run_sequential(out, cfg, catalog, pending, fps, records, fit_seconds, hook, paths) -> None:
    cache: dict[tuple[str, int], Any] = {}
    for i in pending:
        fitted = {}
        for spec in cfg.models:
            key = (spec.name, _anchor(spec, i))
            if key not in cache:
                for old in [k for k in cache if k[0] == spec.name]:
                    del cache[old]
                model = _load_fit(paths[key])
                if model is None:
                    model, sec = _fit_task(catalog, spec, cfg, key[1])
                    fit_seconds.append({"model": spec.name, "anchor": key[1], "seconds": sec})
                    _save_fit(model, paths[key])
                cache[key] = model
            fitted[spec.name] = cache[key]
        _finish(out, cfg, _window_task(catalog, cfg, i, fitted, hook), fps, records)


def _run_dask(
    client, out, cfg, catalog, pending, fps, records, fit_seconds, hook, paths, source=None
) -> None:
    from distributed import as_completed

    if source is not None:  # workers read the catalog from its path or URL (a task: recomputed if lost)
        cat_f = client.submit(_worker_catalog, *source, key=f"experiment-catalog-{source[2][:16]}")
    else:  # a catalog handed over as a DataFrame travels from here
        [cat_f] = client.scatter([catalog], broadcast=True, hash=False)
    [cfg_f] = client.scatter([cfg], broadcast=True, hash=False)
    fits = {}
    fitting = {}
    for spec, anchor in _needed_fits(cfg, pending):
        model = _load_fit(paths[(spec.name, anchor)])
        if model is not None:
            [fits[(spec.name, anchor)]] = client.scatter([(model, 0.0)], hash=False)
            continue
        fits[(spec.name, anchor)] = fitting[(spec.name, anchor)] = client.submit(
            _fit_task,
            cat_f,
            spec,
            cfg_f,
            anchor,
            key=f"experiment-fit-{_slug(spec.name)}-{anchor}-{fps[anchor][:12]}",
        )
    futures = []
    for i in pending:
        fitted = {s.name: fits[(s.name, _anchor(s, i))] for s in cfg.models}
        futures.append(
            client.submit(
                _window_task, cat_f, cfg_f, i, fitted, hook, key=f"experiment-window-{i}-{fps[i][:12]}"
            )
        )
    fit_keys = {f.key: k for k, f in fitting.items()}
    for fut in as_completed([*fitting.values(), *futures]):
        if fut.key in fit_keys:  # keep the fitted model as soon as it exists
            (name, anchor) = fit_keys[fut.key]
            model, sec = fut.result()
            fit_seconds.append({"model": name, "anchor": anchor, "seconds": sec})
            _save_fit(model, paths[(name, anchor)])
            continue
        _finish(out, cfg, fut.result(), fps, records)
