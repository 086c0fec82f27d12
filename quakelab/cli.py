"""The ``quakelab`` command. Thin: it parses arguments and calls the package."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_run(args: argparse.Namespace) -> int:
    from quakelab.pipeline import RunConfigError, load_config, run_pipeline, select_runs, validate_runs

    try:
        config = load_config(args.config)
        runs = select_runs(config, only=args.only, tag=args.tag)
    except RunConfigError as exc:
        print(f"quakelab run: {exc}", file=sys.stderr)
        return 2
    problems = validate_runs(runs)
    if problems:
        print("quakelab run: configuration rejected, nothing was executed:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    if args.list:
        for r in runs:
            print(f"{r.name:32s} {r.notebook.name:32s} tags={','.join(r.tags)} needs={','.join(r.needs)}")
        return 0
    print(f"quakelab run: {len(runs)} run(s) from {config.path.name}: {', '.join(r.name for r in runs)}")
    results = run_pipeline(config, runs, reports_dir=args.reports, force=args.force, jobs=args.jobs)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    reports = Path(args.reports)
    index = reports if reports.is_absolute() else config.root / reports
    print(f"quakelab run: {', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}; index: {index / 'index.html'}")
    return 1 if counts.get("failed") else 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from quakelab.datasets import list_datasets

    table = list_datasets()
    if args.json:
        print(table.reset_index().to_json(orient="records", indent=2))
        return 0
    for name, row in table.iterrows():
        mark = "yes" if row["available"] else "no "
        print(f"{name:26s} {row['kind']:8s} offline={mark} {row['description']}")
        print(f"{'':26s} origin: {row['origin']}")
        if row["path"]:
            print(f"{'':26s} path: {row['path']}")
        elif row["note"]:
            print(f"{'':26s} note: {row['note']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``quakelab`` command."""
    parser = argparse.ArgumentParser(prog="quakelab", description="Earthquake forecasting workbench.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks listed in papermill_runs.yaml into reports/")
    run.add_argument("config", nargs="?", default="papermill_runs.yaml", help="run configuration (YAML)")
    run.add_argument("--only", nargs="+", metavar="NAME", help="run only these runs (and what they need)")
    run.add_argument("--tag", help="run the runs with this tag (default: 'default')")
    run.add_argument("--force", action="store_true", help="execute even runs whose inputs are unchanged")
    run.add_argument("--jobs", type=int, default=1, metavar="N", help="runs executed in parallel")
    run.add_argument("--reports", default="reports", help="reports folder (relative to the config)")
    run.add_argument("--list", action="store_true", help="list the selected runs and exit")
    run.set_defaults(func=_cmd_run)
    ds = sub.add_parser("datasets", help="list named datasets and whether they are available offline")
    ds.add_argument("--json", action="store_true", help="machine-readable output")
    ds.set_defaults(func=_cmd_datasets)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``quakelab`` command."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
