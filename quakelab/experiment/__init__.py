"""Time-dependent forecast experiments: windows, refits, pycsep tests, rankings with bootstrap intervals.

``quakelab experiment run EXPERIMENT.yaml`` and :func:`run_experiment` run an experiment defined in YAML (see
:mod:`quakelab.experiment.config` and ``docs/experiments.md``) window after window — sequentially, or as
independent tasks on ``dask.distributed`` — into a resumable results folder (:class:`Results`).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ExperimentConfig": "config",
    "ExperimentError": "config",
    "ModelSpec": "config",
    "load_experiment": "config",
    "catalog_hash": "config",
    "run_experiment": "runner",
    "build_model": "runner",
    "Results": "results",
    "block_bootstrap": "scoring",
    "moving_block_indices": "scoring",
    "gridded_test_rows": "scoring",
    "catalog_test_rows": "scoring",
    "comparison_rows": "scoring",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'quakelab.experiment' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"quakelab.experiment.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
