"""``quakelab experiment run EXPERIMENT.yaml``: argument parsing only (the work is in :mod:`.runner`)."""

from __future__ import annotations

import argparse
import sys


def _cmd_experiment_run(args: argparse.Namespace) -> int:
    from quakelab.cli import _setup_progress_logging
    from quakelab.experiment import ExperimentError, run_experiment

    _setup_progress_logging(args.quiet)
    try:
        res = run_experiment(
            args.experiment,
            output=args.output,
            scheduler=args.scheduler,
            workers=args.workers,
            resume=not args.no_resume,
        )
    except ExperimentError as exc:
        print(f"quakelab experiment: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(res.config.windows)} windows ({len(res.reused)} reused, {len(res.computed)} computed) -> {res.path}"
    )
    print(res.summary().to_string(float_format=lambda v: f"{v:.3f}"))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``experiment run`` to the ``quakelab`` command's subparsers."""
    ex = sub.add_parser("experiment", help="run forecast experiments (windows, pycsep tests, rankings)")
    ex_sub = ex.add_subparsers(dest="experiment_command", required=True)
    run = ex_sub.add_parser("run", help="run (or resume) the experiment defined in a YAML file")
    run.add_argument("experiment", help="experiment definition (YAML; floatCSEP's keys are read too)")
    run.add_argument("--scheduler", help="'local' or a dask scheduler address, e.g. tcp://host:8786")
    run.add_argument(
        "--workers", type=int, help="workers of a local Dask cluster (implies --scheduler local)"
    )
    run.add_argument("--output", help="results folder (default reports/experiments/<name>)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    run.add_argument("--no-resume", action="store_true", help="recompute windows finished earlier")
    run.set_defaults(func=_cmd_experiment_run)
