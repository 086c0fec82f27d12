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
from quakelab.pipeline.runner import (
    REPORT_FORMAT,
    RunInterrupted,
    RunResult,
    execute_run,
    interrupt_once,
    interrupt_requested,
    is_up_to_date,
    kernel_env,
    record_metrics,
    run_pipeline,
    write_index,
)

__all__ = [
    "REPORT_FORMAT",
    "Run",
    "RunConfig",
    "RunConfigError",
    "RunInterrupted",
    "RunResult",
    "execute_run",
    "interrupt_once",
    "interrupt_requested",
    "is_up_to_date",
    "kernel_env",
    "load_config",
    "notebook_parameters",
    "record_metrics",
    "run_pipeline",
    "select_runs",
    "validate_runs",
    "write_index",
]
