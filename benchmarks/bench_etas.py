"""ETAS fit cost on simulated catalogs (2k ... 10^6 events), SanJac_10 against the reference, recovery.

One run reports:

1. For every size of ``--sizes``, a catalog simulated with the same parameters (branching ratio 0.6, a
   heavy spatial tail rho = 0.7) over the same 11 years (1 auxiliary + 10 target years) in a lon/lat
   square centred at 118° W, 35° N whose area grows with the size (``--region growing``, the default:
   constant event density, as regional catalogs of different sizes have, so the pairs per event stay
   about constant; the 4° x 4° square holds about 16k events). ``--region fixed`` (and
   ``--fixed-sizes``, run in the same sweep) keeps the 4° x 4° box and lengthens the catalog instead, so
   that the pairs grow as the square of the events. The catalog is written to a temporary file by one
   process and fitted by a fresh one, so that the fit's peak resident memory (``resource.getrusage`` of
   that child, interpreter and imports included) is its own: fit time, peak RSS, the peak RSS while the
   pairs are built (a separate pair construction before the fit, compared with the RSS before it and
   the size of the pair store: the build must cost the store plus O(events)), number of source–target
   pairs, pairs per event, bytes held per pair during the fit (pair store plus the E-step's
   probabilities), iterations and the 1-minute load average when the fit started and ended (the machine
   may be shared: read ratios, not seconds). The cost exponent is the slope of log(fit time) against
   log(events) over the growing-region rows. Before a size >= 5e5 the time and memory are extrapolated
   from the rows so far and the size is skipped (with the estimate printed) when the time estimate
   exceeds ``--max-minutes``. Rows are appended to ``--results`` (Markdown, rewritten atomically after
   every row).
2. SanJac_10 of EarthquakeNPP (real QTM catalog, shared data) fitted in fresh processes by the reference
   EM with the published infinite-plane setting (``em``: accelerated by SQUAREM, the default for
   ``region_integral="plane"``; ``em-plain``: ``accelerate=False``, the reference's own iterates, which
   stop where lmizrahi/etas stops, short of the EM's fixed point: ``em`` lands 1.1e-3 from the reference
   in ``gamma``, ``em-plain`` 4e-5), by Newton on the exact likelihood with the plane integral and with
   the exact region integral (the model's default): fit time without standard errors, cold (the first fit
   of the process: it also imports numba and loads the compiled kernels from numba's cache) and warm (the
   same fit again), its CPU time (user + sys of all threads, the figure to compare on a loaded machine),
   the time of a fit with standard errors, peak RSS, test scores, the largest parameter difference from
   the reference implementation's fit and the speed ratio against the reference. The reference (lmizrahi/etas) is run when ``--reference`` points at a
   checkout set up for SanJac_10; otherwise its recorded time on this machine kind (549 s) is used and
   the output says so.
3. Recovery (``--recovery``): catalogs simulated with rho in {0.5, 0.7, 1.5} in a square and in an
   irregular polygon (untruncated power-law distances, events outside the region dropped), fitted with
   the exact region integral; the nine z-scores of each fit, and the joint criterion of the test suite
   (each |z| < 2.5 and sum z² below the 99 % point of chi²(9), 21.67).
4. Temporal ETAS on SanJac_10 with no lag cap (``--temporal``): time, peak RSS, pairs (all earlier
   events: nothing is stored per pair), the last log-likelihood changes and the test TLL per event.

Usage: python benchmarks/bench_etas.py [--quick] [--sizes 2000 5000 ...] [--region growing|fixed]
       [--fixed-sizes 100000] [--results benchmarks/RESULTS_etas_sizes.md] [--no-sanjac] [--recovery] [--temporal]

The size sweep of the issue's memory target (2k ... 200k growing, 100k fixed for comparison, then 10⁶):
``nice -n 10 python benchmarks/bench_etas.py --no-sanjac --no-recovery --sizes 2000 10000 50000 100000 200000
--fixed-sizes 100000``, then ``nice -n 10 python benchmarks/bench_etas.py --no-sanjac --no-recovery --sizes 1000000
--max-minutes 120`` (its row joins the others in the results file; the time and memory extrapolated from them
are printed and written first).
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

FULL_SIZES = [2000, 10000, 50000, 100000, 200000, 1_000_000]
QUICK_SIZES = [2000, 5000, 20000]
BOX = (-120.0, -116.0, 33.0, 37.0)
CENTRE = (-118.0, 35.0)
#: the growing region's catalogs: 1 auxiliary year, then 10 target years
AUX_DAYS, GROWING_DAYS = 365.0, 365.0 + 3652.5
ETA = 0.6
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS_etas_sizes.md")
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


def _cpu_s() -> float:
    """User + system CPU seconds of this process so far (all its threads)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _growing_box(n_events: int) -> tuple[float, float, float, float]:
    """Lon/lat square centred at :data:`CENTRE` whose area holds about ``n_events`` in ``GROWING_DAYS``."""
    from quakelab.region import Region

    rate = 10 ** TRUTH["log10_mu"] / (1 - ETA)  # events per km² per day, background and triggered
    area = n_events / (rate * GROWING_DAYS)
    lo, hi = 1e-3, 170.0
    for _ in range(60):  # bisection on the side (degrees) of the square
        side = 0.5 * (lo + hi)
        box = _box(side)
        if Region.from_bbox(*box).area_km2() < area:
            lo = side
        else:
            hi = side
    return _box(0.5 * (lo + hi))


def _box(side: float) -> tuple[float, float, float, float]:
    half = side / 2
    return (
        round(CENTRE[0] - half, 6),
        round(CENTRE[0] + half, 6),
        round(max(CENTRE[1] - half, -89.0), 6),
        round(min(CENTRE[1] + half, 89.0), 6),
    )


def _simulate(n_events: int, path: str, region: str = "growing") -> dict:
    """Simulate about ``n_events`` and write them to ``path`` (parquet).

    ``region="growing"``: over ``GROWING_DAYS`` in a square of area proportional to ``n_events``;
    ``"fixed"``: in the 4° x 4° :data:`BOX` over as many days as give that many events.
    """
    from quakelab.models import ETAS

    truth = _truth()
    if region == "growing":
        box = _growing_box(n_events)
        days = GROWING_DAYS
    else:
        box = BOX
        model = ETAS(min_magnitude=2.0, region=box).set_params(truth, beta=2.3)
        rate = 10 ** truth["log10_mu"] * model.area_km2 / (1 - ETA)  # events per day
        days = n_events / rate * 1.1 + AUX_DAYS
    model = ETAS(min_magnitude=2.0, region=box).set_params(truth, beta=2.3)
    start = pd.Timestamp("2000-01-01", tz="UTC")
    t = time.perf_counter()
    cat = model.simulate(start, start + pd.Timedelta(days=days), seed=n_events, max_events=20_000_000)
    cat[["time", "latitude", "longitude", "magnitude"]].to_parquet(path)
    return {
        "events": len(cat),
        "days": days,
        "box": list(box),
        "area_km2": round(model.area_km2),
        "max_magnitude": float(cat["magnitude"].max()),
        "simulate_s": round(time.perf_counter() - t, 1),
        "simulate_rss_mb": _peak_rss_mb(),
    }


def _status_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last :func:`_reset_peak`) of this process, in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 0)
    return math.nan


def _reset_peak() -> bool:
    """Reset the kernel's peak RSS of this process (Linux >= 4.0); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _fit_simulated(
    path: str, days: float, method: str | None, box: tuple[float, ...] = BOX, pairs_only: bool = False
) -> dict:
    """Fit a simulated catalog written by :func:`_simulate` (runs in its own process).

    The pairs are first built alone (``ETAS._prepare``, the fit's own pair construction) to measure the
    peak RSS of the construction against the RSS before it and the size of the store; then the fit
    (not with ``pairs_only``).
    """
    import gc

    from quakelab.models import ETAS

    truth = _truth()
    cat = pd.read_parquet(path)
    start = pd.Timestamp("2000-01-01", tz="UTC")
    window = dict(
        auxiliary_start=start,
        start=start + pd.Timedelta(days=AUX_DAYS),
        end=start + pd.Timedelta(days=days),
    )
    fit = ETAS(min_magnitude=2.0, region=tuple(box), theta0=truth, method=method)
    gc.collect()
    rss_before = _status_mb("VmRSS")
    reset = _reset_peak()
    load_build = _load()
    t = time.perf_counter()
    prep = fit._prepare(cat, **window)
    build_s = time.perf_counter() - t
    store_mb = (prep.src.nbytes + prep.r2.nbytes + prep.ptr.nbytes) / 2**20
    build_peak = _status_mb("VmHWM") if reset else math.nan
    if pairs_only:
        pairs = prep.n_pairs
        n_tg = int(prep.is_target.sum())
        return {
            "events": len(cat),
            "targets": n_tg,
            "pairs": pairs,
            "pairs_per_event": round(pairs / n_tg, 1),
            "bytes_per_pair": round((prep.src.nbytes + prep.r2.nbytes) / max(pairs, 1), 2),
            "pair_build_s": round(build_s, 1),
            "rss_before_pairs_mb": rss_before,
            "pair_store_mb": round(store_mb, 0),
            "pair_build_peak_extra_mb": build_peak - rss_before,
            "pair_build_over_store_mb": round(build_peak - rss_before - store_mb, 0),
            "peak_rss_mb": _peak_rss_mb(),
            "load_start": load_build,
            "load_end": _load(),
        }
    del prep
    gc.collect()
    load0 = _load()
    t = time.perf_counter()
    fit.fit(cat, **window, standard_errors=True)
    fit_s = time.perf_counter() - t
    table = fit.parameter_table()
    z = (table["value"] - pd.Series(truth)) / table["std_error"]
    pairs = fit.fit_info_["n_pairs"]
    return {
        "events": len(cat),
        "targets": fit.fit_info_["n_targets"],
        "pairs": pairs,
        "pairs_per_event": round(pairs / fit.fit_info_["n_targets"], 1),
        "bytes_per_pair": round(fit.fit_info_["pair_store_bytes"] / max(pairs, 1), 2),
        "method": fit.method,
        "iterations": fit.fit_info_["n_iterations"],
        "pair_build_s": round(build_s, 1),
        "rss_before_pairs_mb": rss_before,
        "pair_store_mb": round(store_mb, 0),
        # peak RSS while the pairs were built above the RSS before them (interpreter, catalog), and what of
        # it is not the pair store (must be O(events): indices, cell keys, counts)
        "pair_build_peak_extra_mb": build_peak - rss_before,
        "pair_build_over_store_mb": round(build_peak - rss_before - store_mb, 0),
        "fit_s": round(fit_s, 1),
        "peak_rss_mb": _peak_rss_mb(),
        "load_start": load0,
        "load_end": _load(),
        "branching_ratio": round(fit.branching_ratio_, 3),
        "max_abs_z": round(float(np.nanmax(np.abs(z))), 2),
    }


SANJAC_FITS = {
    "em": dict(method="em-reference", region_integral="plane"),
    "em-plain": dict(method="em-reference", region_integral="plane", accelerate=False),
    "newton-plane": dict(method="newton", region_integral="plane"),
    "newton-exact": dict(method="newton", region_integral="exact"),
}


def _fit_sanjac(label: str) -> dict:
    """One SanJac_10 fit without standard errors (runs in its own process), then its test scores."""
    from quakelab.datasets import load
    from quakelab.evaluate import SANJAC_10, etas_test_scores
    from quakelab.models import ETAS

    cat = load("qtm-sanjacinto")
    model = ETAS(
        min_magnitude=1.0, region=SANJAC_10["region"], theta0=SANJAC_10["theta0"], **SANJAC_FITS[label]
    )
    load0 = _load()
    cpu0 = _cpu_s()
    t = time.perf_counter()
    model.fit(cat, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01", standard_errors=False)
    secs = time.perf_counter() - t
    cpu_secs = _cpu_s() - cpu0
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
    with_se = ETAS(
        min_magnitude=1.0, region=SANJAC_10["region"], theta0=SANJAC_10["theta0"], **SANJAC_FITS[label]
    )
    t = time.perf_counter()
    with_se.fit(cat, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01", standard_errors=True)
    se_secs = time.perf_counter() - t
    # the same fit again: the first one in a process also loads (or, after an install, compiles) the numba
    # kernels; both times are reported, the speed-up uses the first (cold) one
    again = ETAS(
        min_magnitude=1.0, region=SANJAC_10["region"], theta0=SANJAC_10["theta0"], **SANJAC_FITS[label]
    )
    cpu0 = _cpu_s()
    t = time.perf_counter()
    again.fit(cat, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01", standard_errors=False)
    warm_secs = time.perf_counter() - t
    warm_cpu = _cpu_s() - cpu0
    return {
        "fit": label,
        "fit_s": round(secs, 1),
        "fit_cpu_s": round(cpu_secs, 1),
        "fit_warm_s": round(warm_secs, 1),
        "fit_warm_cpu_s": round(warm_cpu, 1),
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
        "max_abs_diff_vs_reference": round(max(abs(p[k] - ref[k]) for k in ref), 5),
        "max_abs_diff_parameter": max(ref, key=lambda k: abs(p[k] - ref[k])),
        "n_background_expected": round(model.fit_info_["n_background_expected"], 1),
        **{k: round(v, 4) for k, v in p.items()},
    }


def _warm_sanjac(label: str) -> dict:
    """A short SanJac_10 fit with the same options (own process): compiles the fit's kernels into numba's
    cache when the sources changed since the last run, so that the timed fits' cold start only loads them."""
    from quakelab.datasets import load
    from quakelab.evaluate import SANJAC_10
    from quakelab.models import ETAS

    cat = load("qtm-sanjacinto")
    model = ETAS(
        min_magnitude=1.0, region=SANJAC_10["region"], theta0=SANJAC_10["theta0"], **SANJAC_FITS[label]
    )
    t = time.perf_counter()
    try:
        model.fit(
            cat, auxiliary_start="2008-01-01", start="2009-01-01", end="2009-03-01", standard_errors=False
        )
    except Exception as exc:  # noqa: BLE001 - only the compilation matters here
        return {"fit": label, "warm_s": round(time.perf_counter() - t, 1), "error": repr(exc)}
    return {"fit": label, "warm_s": round(time.perf_counter() - t, 1)}


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
    fit = ETAS(
        min_magnitude=2.0,
        region=region,
        coppersmith_multiplier=None,
        method="newton",
        region_integral="exact",
    )
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


COLUMNS = [
    ("region", "region"),
    ("size", "size"),
    ("events", "events"),
    ("area_km2", "area km²"),
    ("pairs", "pairs"),
    ("pairs_per_event", "pairs/target"),
    ("bytes_per_pair", "bytes/pair (fit)"),
    ("pair_store_mb", "pair store MB"),
    ("pair_build_s", "pair build s"),
    ("pair_build_over_store_mb", "build peak - before - store, MB"),
    ("fit_s", "fit s"),
    ("iterations", "iter."),
    ("peak_rss_mb", "fit peak RSS MB"),
    ("max_magnitude", "max M"),
    ("simulate_s", "simulate s"),
    ("load_start", "load start"),
    ("load_end", "load end"),
]


def _exponents(table: pd.DataFrame) -> dict[str, float]:
    """Slopes of log fit time and log pairs against log events (and time against pairs)."""
    if len(table) < 2:
        return {}
    le, lp, lt = np.log(table["events"]), np.log(table["pairs"]), np.log(table["fit_s"])
    return {
        "time_vs_events": float(np.polyfit(le, lt, 1)[0]),
        "pairs_vs_events": float(np.polyfit(le, lp, 1)[0]),
        "time_vs_pairs": float(np.polyfit(lp, lt, 1)[0]),
        "rss_vs_events": float(np.polyfit(le, np.log(table["peak_rss_mb"]), 1)[0]),
    }


def _extrapolate(table: pd.DataFrame, n: int) -> dict[str, float]:
    """Fit time (min), peak RSS (MB) and pairs at ``n`` events from the rows (>= 2).

    Time and pairs: log-log fits of the three largest sizes. Memory: the RSS before the pairs (the
    interpreter), plus the measured bytes per pair times the pairs, plus a per-event cost (the remainder
    per event of the largest row): a log-log fit of the total would be dominated by the interpreter.
    """
    use = table.nlargest(3, "events") if len(table) >= 3 else table
    le = np.log(use["events"])

    def at(col: str) -> float:
        k, b = np.polyfit(le, np.log(use[col]), 1)
        return float(math.exp(b) * n**k)

    pairs = at("pairs")
    base = float(table["rss_before_pairs_mb"].median())
    per_pair = float(table["bytes_per_pair"].max()) / 2**20
    big = table.loc[table["events"].idxmax()]
    per_event = float(
        (big["peak_rss_mb"] - big["rss_before_pairs_mb"] - per_pair * big["pairs"]) / big["events"]
    )
    return {
        "fit_min": at("fit_s") / 60,
        "peak_rss_mb": base + per_pair * pairs + per_event * n,
        "pairs": pairs,
        "kb_per_event": per_event * 1024,
    }


def _write_results(path: str, rows: list[dict], notes: list[str]) -> None:
    """Merge ``rows`` and ``notes`` into the results (JSON sidecar and Markdown), both rewritten atomically.

    A stored row of the same region and size is replaced; stored notes are kept.
    """
    side = os.path.splitext(path)[0] + ".json"
    stored: list[dict] = []
    if os.path.exists(side):
        with open(side) as f:
            previous = json.load(f)
        stored = previous.get("rows", [])
        notes = [n for n in previous.get("notes", []) if n not in notes] + list(notes)
    keys = {(r["region"], r["size"]) for r in rows}
    merged = [r for r in stored if (r["region"], r["size"]) not in keys] + rows
    merged.sort(key=lambda r: (r["region"] != "growing", r["size"]))
    table = pd.DataFrame(merged)
    lines = [
        "# ETAS fit cost against catalog size (`benchmarks/bench_etas.py`)",
        "",
        f"Machine: {os.cpu_count()} cores, {_mem_total_gb():.0f} GB (shared with other jobs: the load average "
        "of every row says how busy it was; compare ratios). Rows measured "
        + ", ".join(sorted({r.get("measured", "?") for r in merged}))
        + ".",
        "",
        "Simulated catalogs, M >= 2, branching ratio 0.6, rho = 0.7, the reference EM with standard errors, "
        "pairs truncated at 100 Wells–Coppersmith lengths. `growing`: 11 years in a square whose area grows "
        "with the size (constant event density); `fixed`: the 4° x 4° box, longer catalogs. Each fit in a "
        "fresh process. bytes/pair: pair store (int32 source + float32 squared distance) plus the E-step's "
        "float32 probability (pairs-only rows: the store alone). `build peak - before - store`: the peak RSS while the pairs were built, "
        "less the RSS before and the pair store itself (what pair construction costs beyond its result).",
        "",
        "| " + " | ".join(h for c, h in COLUMNS if c in table) + " |",
        "|" + "---|" * sum(c in table for c, _ in COLUMNS),
    ]
    for r in merged:
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c, _ in COLUMNS if c in table) + " |")
    growing = table[table["region"] == "growing"] if not table.empty else table
    ex = _exponents(growing)
    if ex:
        lines += [
            "",
            f"Cost exponents (growing region, {len(growing)} sizes): fit time ~ events^{ex['time_vs_events']:.2f}, "
            f"pairs ~ events^{ex['pairs_vs_events']:.2f}, fit time ~ pairs^{ex['time_vs_pairs']:.2f}, "
            f"peak RSS ~ events^{ex['rss_vs_events']:.2f}.",
        ]
    lines += [""] + [f"- {n}" for n in notes] if notes else []
    payload = {"rows": merged, "exponents_growing": ex, "notes": notes}
    for target, text in ((side, json.dumps(payload, indent=1)), (path, "\n".join(lines) + "\n")):
        tmp = f"{target}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, target)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:g}" if abs(v) < 1e6 else f"{v:.3g}"
    if isinstance(v, int) and v >= 100_000:
        return f"{v:,}"
    return str(v)


def _mem_total_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return math.nan


def _scaling(
    jobs: list[tuple[int, str]],
    method: str | None,
    max_minutes: float,
    results: str | None,
    pairs_only: bool = False,
) -> pd.DataFrame:
    """Fit a simulated catalog of every ``(size, region)`` of ``jobs`` (each in fresh processes).

    ``pairs_only``: build the pairs (time, memory, count) without fitting; such rows are kept apart
    (region ``"... (pairs only)"``) and never enter the cost exponents or the extrapolations.
    """
    rows: list[dict] = []
    notes: list[str] = []
    stored: list[dict] = []
    side = os.path.splitext(results)[0] + ".json" if results else None
    if side and os.path.exists(side):
        with open(side) as f:
            stored = json.load(f).get("rows", [])
    with tempfile.TemporaryDirectory() as tmp:
        # warm the compiled kernels' cache so that no size pays (in time or memory) for compilation
        path = os.path.join(tmp, "warm.parquet")
        sim = None if pairs_only else _run_child("simulate", "500", path, "growing")
        if sim is not None:
            _run_child("fit", path, repr(sim["days"]), method or "", json.dumps(sim["box"]))
        for n, region in jobs:
            done = {(r["region"], r["size"]) for r in rows}
            known = pd.DataFrame(
                rows + [r for r in stored if r["region"] == region and (region, r["size"]) not in done]
            )
            known = known[known["region"] == region] if not known.empty else known
            smaller = known[known["size"] < n] if not known.empty else known
            if n >= 500_000 and len(smaller) >= 2 and not pairs_only:
                est = _extrapolate(smaller, n)
                msg = (
                    f"{n:,} events ({region}): extrapolated from {len(smaller)} smaller sizes, "
                    f"fit {est['fit_min']:.1f} min, peak RSS {est['peak_rss_mb'] / 1024:.1f} GB, "
                    f"{est['pairs'] / 1e6:.0f} M pairs (load average {_load()})"
                )
                print(msg, flush=True)
                notes.append(msg)
                if est["fit_min"] > max_minutes:
                    notes.append(
                        f"{n:,} events ({region}) skipped: estimate above --max-minutes {max_minutes}"
                    )
                    print(notes[-1], flush=True)
                    if results:
                        _write_results(results, rows, notes)
                    continue
            path = os.path.join(tmp, f"sim_{region}_{n}.parquet")
            sim = _run_child("simulate", str(n), path, region)
            if sim is None:
                continue
            row = _run_child(
                "pairs" if pairs_only else "fit",
                path,
                repr(sim["days"]),
                method or "",
                json.dumps(sim["box"]),
            )
            os.remove(path)
            if row is None:
                notes.append(f"{n:,} events ({region}): the fit failed (see the output)")
                continue
            row = {
                "region": region + (" (pairs only)" if pairs_only else ""),
                "size": n,
                **row,
                "area_km2": sim["area_km2"],
                "max_magnitude": sim["max_magnitude"],
                "simulate_s": sim["simulate_s"],
                "measured": time.strftime("%Y-%m-%d", time.gmtime()),
            }
            rows.append(row)
            print(row, flush=True)
            if results:
                _write_results(results, rows, notes)
    table = pd.DataFrame(rows)
    if not table.empty:
        print("\nETAS fit on simulated catalogs (standard errors included; peak RSS of a fresh process):")
        print(table.to_string(index=False))
        ex = _exponents(table[table["region"] == "growing"])
        if ex:
            print(
                f"cost exponent (growing region): fit time ~ events^{ex['time_vs_events']:.2f}, pairs ~ "
                f"events^{ex['pairs_vs_events']:.2f}, time ~ pairs^{ex['time_vs_pairs']:.2f}"
            )
    if results:
        print(f"results: {results}", flush=True)
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
        _run_child("sanjac-warm", label)  # numba's cache filled: the timed child only loads the kernels
        row = _run_child("sanjac", label)
        if row is None:
            continue
        row["speedup_vs_reference"] = round(ref_s / row["fit_s"], 1)
        row["speedup_warm_vs_reference"] = round(ref_s / row["fit_warm_s"], 1)
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
    ap.add_argument(
        "--region",
        choices=["growing", "fixed"],
        default="growing",
        help="area proportional to the size (constant density) or the fixed 4x4 degree box",
    )
    ap.add_argument("--fixed-sizes", type=int, nargs="*", default=[], help="sizes also run in the fixed box")
    ap.add_argument("--results", default=RESULTS, help="Markdown results file ('' for none)")
    ap.add_argument(
        "--pairs-only",
        action="store_true",
        help="build the pairs of each size (time, memory) without fitting",
    )
    ap.add_argument("--no-sanjac", action="store_true")
    ap.add_argument(
        "--sanjac-fits",
        nargs="+",
        choices=list(SANJAC_FITS),
        default=list(SANJAC_FITS),
        help="SanJac_10 fits",
    )
    ap.add_argument("--recovery", action="store_true", help="recovery fits (default on without --quick)")
    ap.add_argument("--no-recovery", action="store_true", help="no recovery fits")
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
            out = _simulate(int(rest[0]), rest[1], rest[2])
        elif kind in ("fit", "pairs"):
            out = _fit_simulated(
                rest[0],
                float(rest[1]),
                rest[2] or None,
                tuple(json.loads(rest[3])),
                pairs_only=kind == "pairs",
            )
        elif kind == "temporal":
            out = _fit_temporal_sanjac()
        elif kind == "sanjac":
            out = _fit_sanjac(" ".join(rest))
        elif kind == "sanjac-warm":
            out = _warm_sanjac(" ".join(rest))
        else:
            out = _recovery(float(rest[0]), rest[1], int(rest[2]), float(rest[3]))
        print(json.dumps(out))
        return
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    print(f"load average at start: {_load()} on {os.cpu_count()} cores", flush=True)
    jobs = [(n, args.region) for n in sizes] + [(n, "fixed") for n in args.fixed_sizes]
    _scaling(jobs, args.method, args.max_minutes, args.results or None, args.pairs_only)
    if not args.no_sanjac:
        _sanjac(args.reference, args.sanjac_fits)
    if args.temporal:
        row = _run_child("temporal")
        print(f"\nTemporal ETAS on SanJac_10, no lag cap (implicit pairs, nothing stored per pair):\n{row}")
    if args.recovery or not (args.quick or args.no_recovery):
        _recoveries(args.recovery_years)
    print(f"load average at end: {_load()}", flush=True)


if __name__ == "__main__":
    main()
