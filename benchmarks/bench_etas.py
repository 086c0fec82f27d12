"""ETAS fit cost on simulated catalogs (2k ... 10^6 events), SanJac_10 against the reference, recovery.

One run reports:

1. For every size of ``--sizes``, a catalog simulated in a 4° x 4° box (branching ratio 0.6, a heavy
   spatial tail rho = 0.7) over as many days as give about that many events; the catalog is written to a
   temporary file by one process and fitted by a fresh one, so that the fit's peak resident memory
   (``resource.getrusage`` of that child, interpreter and imports included) is its own: fit time, peak
   RSS, number of source–target pairs, bytes held per pair, iterations and the 1-minute load average
   when the fit started and ended (the machine may be shared: read ratios, not seconds). The cost
   exponent is the slope of log(fit time) against log(events). Before the 10⁶-event size the time is
   estimated from that exponent and the size is skipped (with the estimate printed) when the estimate
   exceeds ``--max-minutes``.
2. SanJac_10 of EarthquakeNPP (real QTM catalog, shared data) fitted in fresh processes by the reference
   EM (the default for this setting, reproduces lmizrahi/etas), by Newton on the exact likelihood with
   the plane integral and with the exact region integral: fit time without standard errors (and, in a
   second fit, with them), peak RSS, test scores, the largest parameter difference from the reference implementation's fit and the speed
   ratio against the reference. The reference (lmizrahi/etas) is run when ``--reference`` points at a
   checkout set up for SanJac_10; otherwise its recorded time on this machine kind (549 s) is used and
   the output says so.
3. Recovery (``--recovery``): catalogs simulated with rho in {0.5, 0.7, 1.5} in a square and in an
   irregular polygon (untruncated power-law distances, events outside the region dropped), fitted with
   the exact region integral; the nine z-scores of each fit, and the joint criterion of the test suite
   (each |z| < 2.5 and sum z² below the 99 % point of chi²(9), 21.67).
4. Temporal ETAS on SanJac_10 with no lag cap (``--temporal``): time, peak RSS, pairs (all earlier
   events: nothing is stored per pair), the last log-likelihood changes and the test TLL per event.

Usage: python benchmarks/bench_etas.py [--quick] [--sizes 2000 5000 ...] [--no-sanjac] [--recovery] [--temporal]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

FULL_SIZES = [2000, 5000, 20000, 50000, 100000, 1_000_000]
QUICK_SIZES = [2000, 5000, 20000]
BOX = (-120.0, -116.0, 33.0, 37.0)
TRUTH = dict(
    log10_mu=-5.0,
    log10_k0=0.0,
    a=1.2,
    log10_c=-2.5,
    omega=0.1,
    log10_tau=2.0,
    log10_d=-1.0,
    gamma=0.8,
    rho=0.7,
)
POLYGON = ((-117.0, 33.0), (-115.8, 33.1), (-116.3, 33.5), (-115.9, 34.1), (-117.1, 33.9))
CHI2_9_99 = 21.67


def _truth(rho: float = 0.7, eta: float = 0.6, log10_mu: float = -5.0) -> dict[str, float]:
    from quakelab.models import branching_ratio
    from quakelab.models.etas import ETASParameters

    truth = {**TRUTH, "rho": rho, "log10_mu": log10_mu}
    truth["log10_k0"] = math.log10(eta / branching_ratio(ETASParameters(**truth), 2.3))
    return truth


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _simulate(n_events: int, path: str) -> dict:
    """Simulate about ``n_events`` in the box and write them to ``path`` (parquet)."""
    from quakelab.models import ETAS

    truth = _truth()
    model = ETAS(min_magnitude=2.0, region=BOX).set_params(truth, beta=2.3)
    rate = 10 ** truth["log10_mu"] * model.area_km2 / (1 - 0.6)  # events per day
    days = n_events / rate * 1.1 + 365.0
    start = pd.Timestamp("2000-01-01", tz="UTC")
    t = time.perf_counter()
    cat = model.simulate(start, start + pd.Timedelta(days=days), seed=n_events, max_events=5_000_000)
    cat[["time", "latitude", "longitude", "magnitude"]].to_parquet(path)
    return {"events": len(cat), "days": days, "simulate_s": round(time.perf_counter() - t, 1)}


def _fit_simulated(path: str, days: float, method: str | None) -> dict:
    """Fit a simulated catalog written by :func:`_simulate` (runs in its own process)."""
    from quakelab.models import ETAS

    truth = _truth()
    cat = pd.read_parquet(path)
    start = pd.Timestamp("2000-01-01", tz="UTC")
    fit = ETAS(min_magnitude=2.0, region=BOX, theta0=truth, method=method)
    load0 = _load()
    t = time.perf_counter()
    fit.fit(
        cat,
        auxiliary_start=start,
        start=start + pd.Timedelta(days=365.0),
        end=start + pd.Timedelta(days=days),
        standard_errors=True,
    )
    fit_s = time.perf_counter() - t
    table = fit.parameter_table()
    z = (table["value"] - pd.Series(truth)) / table["std_error"]
    pairs = fit.fit_info_["n_pairs"]
    per_pair = 12 if fit.method == "em-reference" else 8  # int32 source + float32 r² (+ float32 prob)
    return {
        "events": len(cat),
        "targets": fit.fit_info_["n_targets"],
        "pairs": pairs,
        "bytes_per_pair": per_pair,
        "method": fit.method,
        "iterations": fit.fit_info_["n_iterations"],
        "prepare_s": fit.fit_info_["prepare_s"],
        "fit_s": round(fit_s, 1),
        "peak_rss_mb": _peak_rss_mb(),
        "load_start": load0,
        "load_end": _load(),
        "max_abs_z": round(float(np.nanmax(np.abs(z))), 2),
    }


SANJAC_FITS = {
    "em": dict(method="em-reference", region_integral="plane"),
    "newton-plane": dict(method="newton", region_integral="plane"),
    "newton-exact": dict(method="newton", region_integral="exact"),
}


def _fit_sanjac(label: str) -> dict:
    """One SanJac_10 fit without standard errors (runs in its own process), then its test scores."""
    from quakelab.datasets import load
    from quakelab.evaluate import SANJAC_10, etas_test_scores
    from quakelab.models import ETAS

    cat = load("qtm-sanjacinto")
    model = ETAS(min_magnitude=1.0, region=SANJAC_10["region"], theta0=SANJAC_10["theta0"], **SANJAC_FITS[label])
    load0 = _load()
    t = time.perf_counter()
    model.fit(cat, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01", standard_errors=False)
    secs = time.perf_counter() - t
    rss = _peak_rss_mb()
    load1 = _load()
    s = etas_test_scores(
        model,
        cat,
        auxiliary_start="2008-01-01",
        test_start="2016-01-01",
        test_end="2018-01-01",
        kernel_mc=1.0,
    )
    ref = SANJAC_10["reference_parameters"]
    p = model.params_.to_dict()
    with_se = ETAS(min_magnitude=1.0, region=SANJAC_10["region"], theta0=SANJAC_10["theta0"], **SANJAC_FITS[label])
    t = time.perf_counter()
    with_se.fit(cat, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01", standard_errors=True)
    se_secs = time.perf_counter() - t
    return {
        "fit": label,
        "fit_s": round(secs, 1),
        "fit_with_se_s": round(se_secs, 1),
        "peak_rss_mb": rss,
        "load_start": load0,
        "load_end": load1,
        "pairs": model.fit_info_["n_pairs"],
        "iterations": model.fit_info_["n_iterations"],
        "log_likelihood": round(model.log_likelihood_, 2),
        "TLL": round(s.tll, 4),
        "SLL": round(s.sll, 4),
        "branching_ratio": round(model.branching_ratio_, 3),
        "max_abs_diff_vs_reference": round(max(abs(p[k] - ref[k]) for k in ref), 4),
        # log10_mu apart: the reference divides by the box's Albers area (10,306.06 km², ours 10,333.29)
        "max_abs_diff_vs_reference_but_mu": round(max(abs(p[k] - ref[k]) for k in ref if k != "log10_mu"), 4),
        "n_background_expected": round(model.fit_info_["n_background_expected"], 1),
        **{k: round(v, 4) for k, v in p.items()},
    }


def _fit_temporal_sanjac() -> dict:
    """Temporal-only ETAS on SanJac_10's events (in the box) with no lag cap (own process)."""
    from quakelab.datasets import load
    from quakelab.evaluate import SANJAC_10, etas_test_scores
    from quakelab.models import ETAS
    from quakelab.region import as_region

    cat = load("qtm-sanjacinto")
    box = as_region(SANJAC_10["region"])
    cat = cat[box.contains(cat["longitude"].to_numpy(), cat["latitude"].to_numpy())]
    model = ETAS(min_magnitude=1.0, spatial=False, theta0=SANJAC_10["theta0"])
    load0 = _load()
    t = time.perf_counter()
    model.fit(cat, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01")
    secs = time.perf_counter() - t
    rss = _peak_rss_mb()
    s = etas_test_scores(
        model,
        cat,
        auxiliary_start="2008-01-01",
        test_start="2016-01-01",
        test_end="2018-01-01",
        kernel_mc=1.0,
    )
    return {
        "fit_s": round(secs, 1),
        "peak_rss_mb": rss,
        "load_start": load0,
        "load_end": _load(),
        "pairs": model.fit_info_["n_pairs"],
        "iterations": model.fit_info_["n_iterations"],
        "last_ll_changes": [float(f"{c:.3g}") for c in model.fit_info_["changes"][-3:]],
        "TLL": round(s.tll, 4),
        "n_test_events": s.n_test_events,
        "branching_ratio": round(model.branching_ratio_, 3),
        **{k: round(v, 4) for k, v in model.params_.to_dict().items() if k in PARAM_TEMPORAL},
    }


PARAM_TEMPORAL = ("log10_mu", "log10_k0", "a", "log10_c", "omega", "log10_tau")


def _recovery(rho: float, shape: str, seed: int, years: float) -> dict:
    """Simulate with known parameters, fit with the exact region integral, z-scores (own process)."""
    from quakelab.models import ETAS
    from quakelab.region import Region

    region = Region.from_bbox(-117, -116, 33, 34) if shape == "square" else Region(POLYGON)
    truth = _truth(rho=rho, log10_mu=-3.9)
    start = pd.Timestamp("2000-01-01", tz="UTC")
    end = start + pd.Timedelta(days=182.0 + 365.25 * years)
    cat = ETAS(min_magnitude=2.0, region=region).set_params(truth, beta=2.3).simulate(start, end, seed=seed)
    fit = ETAS(min_magnitude=2.0, region=region, coppersmith_multiplier=None, method="newton", region_integral="exact")
    t = time.perf_counter()
    fit.fit(cat, auxiliary_start=start, start=start + pd.Timedelta(days=182.0), end=end)
    table = fit.parameter_table()
    z = (table["value"] - pd.Series(truth)) / table["std_error"]
    ok = bool((z.abs() < 2.5).all() and float((z**2).sum()) < CHI2_9_99)
    return {
        "rho": rho,
        "region": shape,
        "seed": seed,
        "targets": fit.fit_info_["n_targets"],
        "fit_s": round(time.perf_counter() - t, 1),
        **{f"z_{k}": round(float(v), 2) for k, v in z.items()},
        "sum_z2": round(float((z**2).sum()), 2),
        "within_2sd": int((z.abs() < 2).sum()),
        "joint_ok": ok,
    }


def _run_child(*args: str) -> dict | None:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"child {args} failed:\n{out.stderr[-3000:]}", flush=True)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def _scaling(sizes: list[int], method: str | None, max_minutes: float) -> pd.DataFrame:
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        # warm the compiled kernels' cache so that no size pays (in time or memory) for compilation
        path = os.path.join(tmp, "warm.parquet")
        sim = _run_child("simulate", "500", path)
        if sim is not None:
            _run_child("fit", path, repr(sim["days"]), method or "")
        for n in sizes:
            if n >= 500_000 and len(rows) >= 2:
                fitted = pd.DataFrame(rows)
                k, b = np.polyfit(np.log(fitted["events"]), np.log(fitted["fit_s"]), 1)
                est = math.exp(b) * n**k / 60
                kp, bp = np.polyfit(np.log(fitted["events"]), np.log(fitted["pairs"]), 1)
                est_pairs = math.exp(bp) * n**kp
                print(
                    f"{n} events: estimated fit time {est:.1f} min (exponent {k:.2f}), "
                    f"{est_pairs / 1e6:.0f} M pairs; load average {_load()}",
                    flush=True,
                )
                if est > max_minutes:
                    print(f"{n} events skipped: estimate above --max-minutes {max_minutes}", flush=True)
                    continue
            path = os.path.join(tmp, f"sim_{n}.parquet")
            sim = _run_child("simulate", str(n), path)
            if sim is None:
                continue
            row = _run_child("fit", path, repr(sim["days"]), method or "")
            if row is None:
                continue
            row = {"size": n, **row, "simulate_s": sim["simulate_s"]}
            rows.append(row)
            print(row, flush=True)
            os.remove(path)
    table = pd.DataFrame(rows)
    if not table.empty:
        print("\nETAS fit on simulated catalogs (standard errors included; peak RSS of a fresh process):")
        print(table.to_string(index=False))
        if len(table) > 1:
            k = np.polyfit(np.log(table["events"]), np.log(table["fit_s"]), 1)[0]
            kp = np.polyfit(np.log(table["events"]), np.log(table["pairs"]), 1)[0]
            km = np.polyfit(np.log(table["pairs"]), np.log(table["fit_s"]), 1)[0]
            print(f"cost exponent: fit time ~ events^{k:.2f}, pairs ~ events^{kp:.2f}, time ~ pairs^{km:.2f}")
    return table


def _sanjac(reference: str | None, fits: list[str]) -> pd.DataFrame:
    from quakelab.evaluate import SANJAC_10

    ref_s, ref_note = (
        SANJAC_10["reference_fit_seconds"],
        "recorded on this machine kind, not measured in this run",
    )
    try:  # the reference implementation, when importable and set up
        import etas  # noqa: F401

        importable = True
    except ImportError:
        importable = False
    if reference:
        t = time.perf_counter()
        subprocess.run([sys.executable, os.path.join(reference, "invert_etas.py")], cwd=reference, check=True)
        ref_s, ref_note = time.perf_counter() - t, "measured in this run"
    elif importable:
        ref_note += (
            " (package 'etas' importable, but no --reference checkout with the SanJac_10 config given)"
        )
    else:
        ref_note += " (lmizrahi/etas is not importable here)"
    rows = []
    for label in fits:
        row = _run_child("sanjac", label)
        if row is None:
            continue
        row["speedup_vs_reference"] = round(ref_s / row["fit_s"], 1)
        rows.append(row)
        print(row, flush=True)
    table = pd.DataFrame(rows)
    print(f"\nSanJac_10 (reference implementation: {ref_s:.0f} s, {ref_note}; fits without standard errors):")
    if not table.empty:
        print(table.set_index("fit").T.to_string())
    return table


def _recoveries(years: float) -> pd.DataFrame:
    rows = []
    for seed, (rho, shape) in enumerate(
        [(r, s) for s in ("square", "polygon") for r in (0.5, 0.7, 1.5)], start=11
    ):
        row = _run_child("recovery", repr(rho), shape, str(seed), repr(years))
        if row is not None:
            rows.append(row)
            print(row, flush=True)
    table = pd.DataFrame(rows)
    if not table.empty:
        print(
            f"\nRecovery with the exact region integral ({years} years of targets), z = (fit - truth) / se:"
        )
        print(table.to_string(index=False))
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", help=f"catalog sizes (default {FULL_SIZES})")
    ap.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, no recovery")
    ap.add_argument("--method", choices=["em-reference", "newton"], help="fit method (default: the model's)")
    ap.add_argument("--max-minutes", type=float, default=15.0, help="skip a size >= 5e5 estimated above this")
    ap.add_argument("--no-sanjac", action="store_true")
    ap.add_argument(
        "--sanjac-fits",
        nargs="+",
        choices=list(SANJAC_FITS),
        default=list(SANJAC_FITS),
        help="SanJac_10 fits",
    )
    ap.add_argument("--recovery", action="store_true", help="recovery fits (default on without --quick)")
    ap.add_argument("--temporal", action="store_true", help="temporal ETAS on SanJac_10, no lag cap")
    ap.add_argument("--recovery-years", type=float, default=4.0)
    ap.add_argument(
        "--reference", help="checkout of lmizrahi/etas set up for SanJac_10 (else its recorded time)"
    )
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "simulate":
            out = _simulate(int(rest[0]), rest[1])
        elif kind == "fit":
            out = _fit_simulated(rest[0], float(rest[1]), rest[2] if len(rest) > 2 and rest[2] else None)
        elif kind == "temporal":
            out = _fit_temporal_sanjac()
        elif kind == "sanjac":
            out = _fit_sanjac(" ".join(rest))
        else:
            out = _recovery(float(rest[0]), rest[1], int(rest[2]), float(rest[3]))
        print(json.dumps(out))
        return
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    print(f"load average at start: {_load()} on {os.cpu_count()} cores", flush=True)
    _scaling(sizes, args.method, args.max_minutes)
    if not args.no_sanjac:
        _sanjac(args.reference, args.sanjac_fits)
    if args.temporal:
        row = _run_child("temporal")
        print(f"\nTemporal ETAS on SanJac_10, no lag cap (implicit pairs, nothing stored per pair):\n{row}")
    if args.recovery or not args.quick:
        _recoveries(args.recovery_years)
    print(f"load average at end: {_load()}", flush=True)


if __name__ == "__main__":
    main()
