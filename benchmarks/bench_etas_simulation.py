"""ETAS catalog forecasts at scale: 10⁴ simulations of a week after the real SanJac_10 history.

The model is the SanJac_10 reference fit (lmizrahi/etas parametrisation, ../shared/data/README.md) and the
history is the QTM San Jacinto catalog from 2008-01-01 up to the forecast start 2016-01-01 (M >= 1.0 in
the box -117..-116, 33..34). In one run, each in its own process (so that each peak RSS is its own):

* ``old``: the implementation before this rewrite (``quakelab/models/simulate.py`` and the ETAS class
  of ``--baseline-rev``, loaded from git as modules): its ``catalog_forecast`` loops over simulations
  and re-selects the history through the region polygon in every one. It runs ``--old-simulations``
  simulations and its time is scaled linearly to 10⁴ (said so in the output).
* ``new``: ``ETAS.forecast`` (chunked reduction to a grid, no catalog of all events) and
  ``ETAS.catalog_forecast`` (all events as a DataFrame) with ``--simulations`` simulations, in process
  with all cores.
* ``dask``: ``ETAS.forecast`` on a LocalCluster of 1 and of 2 worker processes; results must be identical
  to the in-process ones (same seed).

Ratios, not absolute times, are what to compare across machines. Needs the shared data folder and git.

Usage: python benchmarks/bench_etas_simulation.py [--simulations 10000] [--old-simulations 100]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
START, DAYS, SEED = "2016-01-01", 7.0, 2016
#: the commit before the rewrite (the simulation code the benchmark compares against)
BASELINE_REV = "195e8ca"


def _load_catalog() -> pd.DataFrame:
    """The QTM catalog (the one place to switch to ``quakelab.catalog.open_catalog``)."""
    from quakelab.datasets import load

    return load("qtm-sanjacinto")


def _model(etas_class):
    from quakelab.evaluate import SANJAC_10

    model = etas_class(
        min_magnitude=SANJAC_10["min_magnitude"],
        magnitude_resolution=SANJAC_10["magnitude_resolution"],
        region=SANJAC_10["region"],
    )
    return model.set_params(SANJAC_10["reference_parameters"], beta=2.2393)


def _history() -> pd.DataFrame:
    cat = _load_catalog()
    return cat[cat["time"] < pd.Timestamp(START, tz="UTC")]


def _old_etas_class(rev: str):
    """The ETAS class of ``rev`` with its own simulate module (both loaded from git, not from disk)."""

    def source(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout

    old_sim = types.ModuleType("quakelab_old_simulate")
    exec(compile(source("quakelab/models/simulate.py"), "old/simulate.py", "exec"), old_sim.__dict__)
    etas_src = source("quakelab/models/etas.py").replace(
        "from quakelab.models.simulate import simulate_branching\n", ""
    )
    old_etas = types.ModuleType("quakelab_old_etas")
    old_etas.__dict__["simulate_branching"] = old_sim.simulate_branching
    sys.modules["quakelab_old_etas"] = old_etas  # dataclasses need the module registered
    exec(compile(etas_src, "old/etas.py", "exec"), old_etas.__dict__)
    return old_etas.ETAS


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_old(args) -> dict:
    model = _model(_old_etas_class(args.baseline_rev))
    history = _history()
    end = pd.Timestamp(START, tz="UTC") + pd.Timedelta(days=DAYS)
    model.catalog_forecast(history, START, end, n_simulations=2, seed=SEED)  # warm-up (numba)
    t = time.perf_counter()
    sims = model.catalog_forecast(history, START, end, n_simulations=args.old_simulations, seed=SEED)
    secs = time.perf_counter() - t
    return {
        "n_simulations": args.old_simulations,
        "catalog_forecast_s": secs,
        "scaled_s": secs * args.simulations / args.old_simulations,
        "mean_events": len(sims) / args.old_simulations,
        "peak_rss_mb": _peak_mb(),
    }


def phase_new(args) -> dict:
    from quakelab.models import ETAS

    model = _model(ETAS)
    history = _history()
    end = pd.Timestamp(START, tz="UTC") + pd.Timedelta(days=DAYS)
    model.forecast(history, START, end, n_simulations=20, seed=1, quiet=True)  # warm-up (numba)
    t = time.perf_counter()
    ds = model.forecast(history, START, end, n_simulations=args.simulations, seed=SEED, quiet=True)
    fc = time.perf_counter() - t
    t = time.perf_counter()
    sims = model.catalog_forecast(history, START, end, n_simulations=args.simulations, seed=SEED, quiet=True)
    cf = time.perf_counter() - t
    np.save(args.out / "n_events_inprocess.npy", ds["n_events"].values)
    np.save(args.out / "expected_inprocess.npy", ds["expected_count"].values)
    return {
        "n_simulations": args.simulations,
        "forecast_s": fc,
        "catalog_forecast_s": cf,
        "mean_events": float(ds["n_events"].mean()),
        "catalog_rows": len(sims),
        "peak_rss_mb": _peak_mb(),
    }


def phase_dask(args) -> dict:
    from distributed import Client, LocalCluster

    from quakelab.models import ETAS

    model = _model(ETAS)
    history = _history()
    end = pd.Timestamp(START, tz="UTC") + pd.Timedelta(days=DAYS)
    out = {}
    for n_workers in (1, 2):
        with (
            LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            model.forecast(
                history, START, end, n_simulations=2 * n_workers, seed=1, quiet=True, scheduler=client
            )
            t = time.perf_counter()
            ds = model.forecast(
                history, START, end, n_simulations=args.simulations, seed=SEED, quiet=True, scheduler=client
            )
            secs = time.perf_counter() - t
        same = np.array_equal(
            ds["n_events"].values, np.load(args.out / "n_events_inprocess.npy")
        ) and np.array_equal(ds["expected_count"].values, np.load(args.out / "expected_inprocess.npy"))
        out[f"workers_{n_workers}"] = {"forecast_s": secs, "identical_to_in_process": bool(same)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--simulations", type=int, default=10_000)
    ap.add_argument("--old-simulations", type=int, default=100)
    ap.add_argument("--baseline-rev", default=BASELINE_REV)
    ap.add_argument("--phase", choices=["old", "new", "dask"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_etas_simulation"), help="scratch folder")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.phase:
        logging.basicConfig(level=logging.WARNING)
        result = {"old": phase_old, "new": phase_new, "dask": phase_dask}[args.phase](args)
        print("RESULT " + json.dumps(result), flush=True)
        return
    results = {}
    for phase in ("new", "old", "dask"):
        cmd = [
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--simulations",
            str(args.simulations),
            "--old-simulations",
            str(args.old_simulations),
            "--baseline-rev",
            args.baseline_rev,
            "--out",
            str(args.out),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            sys.exit(f"phase {phase} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        results[phase] = json.loads(line[0][7:])
        print(phase, results[phase], flush=True)
    old, new, dask = results["old"], results["new"], results["dask"]
    n = args.simulations
    print(
        f"\nSanJac_10 reference model, QTM history to {START}, {n:,} simulations x {DAYS:g} days "
        f"(~{new['mean_events']:.1f} events in the region per simulation):"
    )
    print(
        f"  old catalog_forecast : {old['catalog_forecast_s']:.1f} s for {old['n_simulations']} simulations, "
        f"scaled x{n / old['n_simulations']:g} to {old['scaled_s']:.0f} s; peak RSS {old['peak_rss_mb']:.0f} MB"
    )
    print(
        f"  new forecast         : {new['forecast_s']:.2f} s  (ratio {old['scaled_s'] / new['forecast_s']:.0f}x)"
    )
    print(
        f"  new catalog_forecast : {new['catalog_forecast_s']:.2f} s  "
        f"(ratio {old['scaled_s'] / new['catalog_forecast_s']:.0f}x, {new['catalog_rows']:,} rows); "
        f"peak RSS {new['peak_rss_mb']:.0f} MB"
    )
    for k in (1, 2):
        d = dask[f"workers_{k}"]
        print(
            f"  Dask LocalCluster, {k} worker(s): forecast {d['forecast_s']:.2f} s, identical to in-process: "
            f"{d['identical_to_in_process']}"
        )
    print(
        f"  Dask speed-up 2 vs 1 worker: {dask['workers_1']['forecast_s'] / dask['workers_2']['forecast_s']:.2f}x"
    )


if __name__ == "__main__":
    main()
