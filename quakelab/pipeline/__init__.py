"""The Papermill pipeline: ``papermill_runs.yaml`` runs executed into ``reports/``."""

from quakelab.pipeline.config import (
    Run,
    RunConfig,
    RunConfigError,
    load_config,
    notebook_parameters,
    select_runs,
    validate_runs,
)
from quakelab.pipeline.runner import RunResult, execute_run, record_metrics, run_pipeline, write_index

__all__ = [
    "Run", "RunConfig", "RunConfigError", "RunResult", "execute_run", "load_config", "notebook_parameters",
    "record_metrics", "run_pipeline", "select_runs", "validate_runs", "write_index",
]
