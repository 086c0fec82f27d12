"""The ``quakelab`` command. Thin: it parses arguments and calls the package."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _setup_progress_logging(quiet: bool) -> None:
    """Progress lines (``quakelab.progress``, used where no terminal is attached) go to stderr."""
    import logging

    log = logging.getLogger("quakelab.progress")
    if quiet:
        log.setLevel(logging.WARNING)
        return
    if not any(getattr(h, "_quakelab_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("  %(message)s"))
        handler._quakelab_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _unknown_names(names: list[str], known: list[str], kind: str = "run") -> list[str]:
    """Messages for run names (or tags) not in the configuration, with a close match when there is one."""
    import difflib

    out = []
    for n in names:
        if n in known:
            continue
        hint = difflib.get_close_matches(n, known, n=1, cutoff=0.5)
        out.append(f"unknown {kind} {n!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    return out


def _cmd_run(args: argparse.Namespace) -> int:
    from quakelab.pipeline import (
        RunConfigError,
        RunInterrupted,
        interrupt_once,
        interrupt_requested,
        load_config,
        run_pipeline,
        select_runs,
        validate_runs,
    )

    try:
        config = load_config(args.config)
        if args.only:
            unknown = _unknown_names(args.only, list(config.runs))
            if unknown:
                print(
                    f"quakelab run: {'; '.join(unknown)}; runs in {config.path.name}: "
                    f"{', '.join(config.runs)}",
                    file=sys.stderr,
                )
                return 2
        if args.tag and not args.only:
            tags = sorted({t for r in config.runs.values() for t in r.tags})
            if args.tag not in tags:
                print(
                    f"quakelab run: {_unknown_names([args.tag], tags, 'tag')[0]}; "
                    f"tags in {config.path.name}: {', '.join(tags)}",
                    file=sys.stderr,
                )
                return 2
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
    reports = Path(args.reports)
    reports = reports if reports.is_absolute() else config.root / reports
    if args.list:
        return _list_runs(runs, reports)
    _setup_progress_logging(args.quiet)
    print(
        f"quakelab run: {len(runs)} run(s) from {config.path.name}: {', '.join(r.name for r in runs)}",
        flush=True,
    )
    try:
        with interrupt_once():
            results = run_pipeline(
                config,
                runs,
                reports_dir=reports,
                force=args.force,
                jobs=args.jobs,
                quiet=args.quiet,
                log=lambda m: print(m, flush=True),
            )
    except RunConfigError as exc:
        print(f"quakelab run: {exc}", file=sys.stderr)
        return 2
    except RunInterrupted as exc:
        print(exc.message(), file=sys.stderr, flush=True)
        return 130
    except Exception:
        if not interrupt_requested():
            raise
        # Ctrl-C also reached the kernel, whose death surfaced first: the run was interrupted all the same
        print("interrupted: quakelab run, previous reports kept", file=sys.stderr, flush=True)
        return 130
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    hint = " (--force executes unchanged runs again)" if counts.get("unchanged") else ""
    print(
        f"quakelab run: {', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}{hint}; "
        f"index: {reports / 'index.html'}"
    )
    return 1 if counts.get("failed") else 0


def _list_runs(runs: list, reports: Path) -> int:
    """``quakelab run --list``: each selected run and whether it is up to date, would run or be skipped."""
    from quakelab.pipeline.runner import FAILED_DIR, fingerprint, is_up_to_date, unavailable_inputs

    state: dict[str, str] = {}
    for r in runs:
        missing = unavailable_inputs(r)
        blocked = [d for d in r.needs if state.get(d, "").startswith("skipped")]
        if missing:
            state[r.name] = f"skipped ({missing})"
        elif blocked:
            state[r.name] = f"skipped (needs {blocked[0]})"
        elif is_up_to_date(r, reports, fingerprint(r, reports)):
            state[r.name] = "up to date"
        elif (reports / FAILED_DIR / r.name).exists():
            state[r.name] = "would run (last run failed)"
        elif (reports / r.name).exists():
            state[r.name] = "would run (changed since its report)"
        else:
            state[r.name] = "would run (no report yet)"
        needs = f" needs={','.join(r.needs)}" if r.needs else ""
        print(f"{r.name:28s} {r.notebook.name:30s} {state[r.name]}  tags={','.join(r.tags)}{needs}")
    n_up = sum(s == "up to date" for s in state.values())
    print(f"{n_up} of {len(runs)} up to date; `quakelab run --force` executes up-to-date runs again")
    return 0


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


def _cmd_formats(args: argparse.Namespace) -> int:
    from quakelab.catalog import list_formats

    table = list_formats()
    if args.json:
        print(table.reset_index().to_json(orient="records", indent=2))
        return 0
    for name, row in table.iterrows():
        alias = f" (also: {row['aliases']})" if row["aliases"] else ""
        print(f"{name:24s} {row['description']}{alias}")
        print(f"{'':24s} detected by: {row['detected_by']}")
        print(f"{'':24s} columns: {row['columns']}")
    print(f"write-only in ObsPy (cannot be read): {', '.join(table.attrs['write_only_obspy_formats'])}")
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from quakelab.dashboards import serve

    return serve(
        args.name,
        root=args.root,
        port=args.port,
        ip=args.ip,
        token=args.token,
        open_browser=not args.no_browser,
        preheat=not args.no_preheat,
    )


def _cmd_monitor(args: argparse.Namespace) -> int:
    import logging

    import pandas as pd

    from quakelab.realtime import FDSNEventFeed, Monitor, USGSGeoJSONFeed

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.geojson:
        feed = USGSGeoJSONFeed(args.geojson, timeout_s=args.timeout)
    else:
        bbox = tuple(args.bbox) if args.bbox else None
        start = args.starttime or (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=30)).isoformat()
        feed = FDSNEventFeed(
            args.fdsn, min_magnitude=args.min_magnitude, bbox=bbox, starttime=start, timeout_s=args.timeout
        )
    bus = None
    if args.redis:
        from quakelab.realtime.bus import RedisBus

        bus = RedisBus(args.redis, maxlen=args.bus_maxlen or None)
    mon = Monitor(
        feed,
        args.store,
        interval_s=args.interval,
        threshold=args.threshold,
        alert_magnitude=args.alert_magnitude,
        alert_days=args.alert_days,
        max_backoff_s=args.max_backoff,
        bus=bus,
        echo=lambda line: print(line, flush=True),  # alert lines: here only, not also in the log
        model_root=None if args.models.lower() == "none" else args.models,
        n_simulations=args.simulations,
        seed=args.seed,
        product_magnitude=None if args.product_magnitude.lower() == "none" else float(args.product_magnitude),
        metrics_port=args.metrics_port,
    )
    if args.clock == "feed":  # replays: forecasts at the newest time the feed has reached
        mon.now = lambda: mon.store.updated_after or pd.Timestamp.now(tz="UTC")
    print(
        f"quakelab monitor: store {mon.directory.resolve()}, polling every {args.interval:g} s "
        f"(Ctrl-C to stop; a restart resumes from the checkpoint)"
        + (f"; metrics on {mon.metrics_url}" if mon.metrics_url else ""),
        flush=True,
    )
    try:
        results = mon.run(max_polls=args.max_polls)
    except KeyboardInterrupt:
        return 0
    finally:
        mon.close()
    return 0 if any(r.ok for r in results) else 1


def _cmd_bus(args: argparse.Namespace) -> int:
    from quakelab.realtime.bus import BusError, RedisBus, replay

    try:
        bus = RedisBus(args.redis, prefix=args.prefix, maxlen=args.maxlen or None)
        if args.action == "replay":
            counts = replay(args.store, bus)
            print(
                f"quakelab bus replay: {sum(counts.values())} message(s) from {args.store}: "
                + ", ".join(f"{k} {v}" for k, v in counts.items())
            )
        else:
            for name, info in bus.info().items():
                groups = (
                    "; ".join(
                        f"group {g['name']}: {g['pending']} pending, {g['lag']} not yet delivered"
                        for g in info["groups"]
                    )
                    or "no consumer group"
                )
                print(f"{name}: {info['length']} entries; {groups}")
    except (BusError, FileNotFoundError) as exc:
        print(f"quakelab bus {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_consume(args: argparse.Namespace) -> int:
    import logging

    from quakelab.realtime.bus import BusError, RedisBus
    from quakelab.realtime.consume import StoreTarget, WebhookTarget, run_consumer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args.target:
            target = StoreTarget(args.target)
            streams = args.streams or list(StoreTarget.streams)
        else:
            target = WebhookTarget(args.webhook, args.state or f"data/consume-{args.group}")
            streams = args.streams or ["events", "deletions", "forecasts", "alerts", "products"]
        bus = RedisBus(args.redis, prefix=args.prefix, claim_idle_s=args.claim_idle)
        consumer = bus.consumer(args.group, streams, name=args.name)
        print(
            f"quakelab consume: group {args.group}, consumer {consumer.name}, streams {', '.join(streams)} "
            f"-> {args.target or args.webhook}",
            flush=True,
        )
        stats = run_consumer(
            consumer,
            target,
            batch=args.batch,
            block_ms=args.block_ms,
            exit_when_idle_s=args.exit_when_idle,
        )
    except ValueError as exc:
        print(f"quakelab consume: {exc}", file=sys.stderr)
        return 2
    except BusError as exc:
        print(f"quakelab consume: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    print(f"quakelab consume: {stats.messages} message(s) in {stats.batches} batch(es), idle: stopping")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from quakelab.service import serve

    try:
        return serve(
            host=args.host,
            port=args.port,
            model_root=args.models,
            event_store=args.store,
            token=args.token,
            workers=args.workers,
            catalog=args.catalog,
            max_simulations=args.max_simulations,
        )
    except ValueError as exc:
        print(f"quakelab serve: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``quakelab`` command."""
    from quakelab import __version__

    parser = argparse.ArgumentParser(prog="quakelab", description="Earthquake forecasting workbench.")
    parser.add_argument("--version", action="version", version=f"quakelab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks listed in papermill_runs.yaml into reports/")
    run.add_argument("config", nargs="?", default="papermill_runs.yaml", help="run configuration (YAML)")
    run.add_argument("--only", nargs="+", metavar="NAME", help="run only these runs (and what they need)")
    run.add_argument("--tag", help="run the runs with this tag (default: 'default')")
    run.add_argument("--force", action="store_true", help="execute even runs whose inputs are unchanged")
    run.add_argument("--jobs", type=int, default=1, metavar="N", help="runs executed in parallel")
    run.add_argument("--reports", default="reports", help="reports folder (relative to the config)")
    run.add_argument(
        "--list",
        action="store_true",
        help="list the selected runs, say which are up to date or would be skipped, and exit",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no per-cell progress")
    run.set_defaults(func=_cmd_run)
    ds = sub.add_parser("datasets", help="list named datasets and whether they are available offline")
    ds.add_argument("--json", action="store_true", help="machine-readable output")
    ds.set_defaults(func=_cmd_datasets)
    fm = sub.add_parser(
        "formats", help="list the catalog formats read_catalog/open_catalog accept and their columns"
    )
    fm.add_argument("--json", action="store_true", help="machine-readable output")
    fm.set_defaults(func=_cmd_formats)
    db = sub.add_parser("dashboard", help="serve a Voila dashboard: catalog, forecast or monitor")
    db.add_argument("name", choices=["catalog", "forecast", "monitor"])
    db.add_argument("--port", type=int, default=8866)
    db.add_argument(
        "--ip", default="127.0.0.1", help="address to bind (other than loopback requires a token)"
    )
    db.add_argument(
        "--token", help="access token (generated and printed when binding to a non-loopback address)"
    )
    db.add_argument("--no-browser", action="store_true", help="do not open a browser")
    db.add_argument("--no-preheat", action="store_true", help="do not pre-heat a kernel")
    db.add_argument("--root", default=".", help="project root (notebooks/, reports/, data/live/)")
    db.set_defaults(func=_cmd_dashboard)
    mo = sub.add_parser(
        "monitor", help="follow a live event feed into a Parquet store with forecasts and alerts"
    )
    src = mo.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--fdsn", metavar="URL", help="FDSN event service root, e.g. https://earthquake.usgs.gov"
    )
    src.add_argument("--geojson", metavar="URL", help="USGS GeoJSON summary feed URL")
    mo.add_argument("--store", default="data/live", help="store directory (default data/live)")
    mo.add_argument("--interval", type=float, default=60.0, help="seconds between polls")
    mo.add_argument("--threshold", type=float, default=0.1, help="alert probability threshold")
    mo.add_argument("--alert-magnitude", type=float, default=5.0)
    mo.add_argument("--alert-days", type=float, default=7.0)
    mo.add_argument("--min-magnitude", type=float, help="FDSN: minimum magnitude")
    mo.add_argument("--bbox", type=float, nargs=4, metavar=("MINLON", "MAXLON", "MINLAT", "MAXLAT"))
    mo.add_argument("--starttime", help="FDSN: first origin time (default: 30 days ago)")
    mo.add_argument("--timeout", type=float, default=10.0, help="HTTP time-out (s)")
    mo.add_argument("--max-backoff", type=float, default=300.0, help="longest wait after failures (s)")
    mo.add_argument("--max-polls", type=int, help="stop after this many polls (default: run until stopped)")
    mo.add_argument(
        "--redis", metavar="URL", help="publish changes, forecasts and alerts to Redis streams at this URL"
    )
    mo.add_argument(
        "--bus-maxlen", type=int, default=100_000, help="approximate cap on each stream's length (0: none)"
    )
    mo.add_argument(
        "--models",
        default="data/models/etas",
        help="store of fitted ETAS models; the one whose region contains the events forecasts, else the "
        "generic Reasenberg-Jones rates (default data/models/etas; 'none': generic rates only)",
    )
    mo.add_argument(
        "--clock",
        choices=["wall", "feed"],
        default="wall",
        help="forecast time: the wall clock, or the newest 'updated' time of the feed (replays)",
    )
    mo.add_argument("--simulations", type=int, default=200, help="ETAS simulations per forecast (budget)")
    mo.add_argument("--seed", type=int, default=0, help="seed of the ETAS simulations")
    mo.add_argument(
        "--product-magnitude",
        default="5.0",
        help="issue the aftershock product (products/<event_id>.json) for new events at or above this "
        "magnitude ('none': no products)",
    )
    mo.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus metrics on 127.0.0.1:PORT/metrics (0: a free port, printed)",
    )
    mo.set_defaults(func=_cmd_monitor)
    bu = sub.add_parser("bus", help="the Redis streams bus: replay a store to it, show its streams")
    bu.add_argument("action", choices=["replay", "info"])
    bu.add_argument("--redis", metavar="URL", required=True, help="redis://host:port/db")
    bu.add_argument("--store", default="data/live", help="store to replay (default data/live)")
    bu.add_argument("--prefix", default="quakelab:", help="stream key prefix (default quakelab:)")
    bu.add_argument("--maxlen", type=int, default=100_000, help="approximate cap on stream length (0: none)")
    bu.set_defaults(func=_cmd_bus)
    co = sub.add_parser(
        "consume", help="keep a downstream copy (a second store, or a webhook) in sync with the bus"
    )
    co.add_argument("--redis", metavar="URL", required=True, help="redis://host:port/db")
    co.add_argument("--group", required=True, help="consumer group (one per downstream copy)")
    dest = co.add_mutually_exclusive_group(required=True)
    dest.add_argument("--target", metavar="DIR", help="downstream event store directory")
    dest.add_argument("--webhook", metavar="URL", help="POST every message (JSON) to this URL")
    co.add_argument("--state", metavar="DIR", help="webhook: delivered versions (default data/consume-GROUP)")
    co.add_argument("--name", help="consumer name in the group (default: the host name)")
    co.add_argument("--streams", nargs="+", help="streams to consume (default: those the target takes)")
    co.add_argument("--prefix", default="quakelab:", help="stream key prefix (default quakelab:)")
    co.add_argument("--batch", type=int, default=100, help="messages per stream and read")
    co.add_argument("--block-ms", type=int, default=1000, help="longest wait for new messages per read (ms)")
    co.add_argument(
        "--claim-idle",
        type=float,
        default=60.0,
        help="take over messages another consumer left pending this long (s)",
    )
    co.add_argument(
        "--exit-when-idle", type=float, metavar="S", help="stop after S seconds with nothing to do"
    )
    co.set_defaults(func=_cmd_consume)
    sv = sub.add_parser(
        "serve", help="HTTP forecast service: aftershock products, gridded forecasts, models, events"
    )
    sv.add_argument(
        "--host", default="127.0.0.1", help="address to bind (other than loopback requires --token)"
    )
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--token", help="bearer token (or QUAKELAB_TOKEN); required off loopback")
    sv.add_argument(
        "--models", default="models/etas", help="directory of stored ETAS models (default models/etas)"
    )
    sv.add_argument("--store", default="data/live", help="live event store directory (default data/live)")
    sv.add_argument("--catalog", help="extra catalog (dataset name or file) to look events up in")
    sv.add_argument("--workers", type=int, default=2, help="processes for expensive forecasts")
    sv.add_argument("--max-simulations", type=int, default=2000, help="cap on simulations per request")
    sv.set_defaults(func=_cmd_serve)
    from quakelab.cli_jobs import register  # catalog, stats, etas
    from quakelab.experiment.cli import register as register_experiment

    register(sub)
    register_experiment(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``quakelab`` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print(f"interrupted: quakelab {args.command}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
