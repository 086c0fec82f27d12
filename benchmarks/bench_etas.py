"""ETAS fit cost on simulated catalogs (2k ... 10^6 events) and on SanJac_10 against the reference.

For every size, a catalog is simulated in a 4° x 4° box (branching ratio 0.6, a heavy spatial tail
rho = 0.7) over as many years as give about that many events, and fitted in a fresh process (so that
each fit's peak resident memory is its own): fit time, peak RSS, number of source–target pairs and
iterations. The cost exponent is the slope of log(fit time) against log(events). Then the SanJac_10
setting of EarthquakeNPP (real QTM catalog, shared data) is fitted three ways — the reference EM
(``method="em-reference"``, plane integral: reproduces lmizrahi/etas), the exact maximum likelihood with
the plane integral, and with the exact region integral — and each is scored on the test window.
The reference implementation's time is measured when ``--reference`` points at a checkout of
lmizrahi/etas, otherwise its recorded time on this machine kind (549 s) is used and the output says so.
Ratios, not absolute times, are what to compare across machines.

Usage: python benchmarks/bench_etas.py [--sizes 2000 5000 20000 100000] [--million] [--no-sanjac]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

RECORDED_REFERENCE_S = 549.0
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


def _child(n_events: int) -> dict:
    """Simulate about ``n_events`` and fit them (runs in its own process)."""
    import resource

    from quakelab.models import ETAS, branching_ratio
    from quakelab.models.etas import ETASParameters

    truth = dict(TRUTH)
    truth["log10_k0"] = math.log10(0.6 / branching_ratio(ETASParameters(**truth), 2.3))
    model = ETAS(mc=2.0, region=BOX).set_params(truth, beta=2.3)
    rate = 10 ** truth["log10_mu"] * model.area_km2 / (1 - 0.6)  # events per day
    days = n_events / rate * 1.1 + 365.0
    t = time.perf_counter()
    start = pd.Timestamp("2000-01-01")
    cat = model.simulate(start, start + pd.Timedelta(days=days), seed=n_events)
    sim_s = time.perf_counter() - t
    fit = ETAS(mc=2.0, region=BOX, theta0=truth)
    t = time.perf_counter()
    fit.fit(
        cat,
        auxiliary_start=start,
        start=start + pd.Timedelta(days=365.0),
        end=start + pd.Timedelta(days=days),
        standard_errors=True,
    )
    fit_s = time.perf_counter() - t
    return {
        "events": len(cat),
        "targets": fit.fit_info_["n_targets"],
        "pairs": fit.fit_info_["n_pairs"],
        "iterations": fit.fit_info_["n_iterations"],
        "simulate_s": round(sim_s, 1),
        "fit_s": round(fit_s, 1),
        "prepare_s": fit.fit_info_["prepare_s"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "max_abs_z": round(
            float(
                np.nanmax(
                    np.abs(
                        (fit.parameter_table()["value"] - pd.Series(truth))
                        / fit.parameter_table()["std_error"]
                    )
                )
            ),
            2,
        ),
    }


def _sanjac(reference: str | None) -> None:
    import resource

    from quakelab.datasets import load
    from quakelab.evaluate import SANJAC_10, etas_test_scores
    from quakelab.models import ETAS

    cat = load("qtm-sanjacinto")
    box = SANJAC_10["bbox"]
    ref_s, ref_note = RECORDED_REFERENCE_S, "recorded on this machine kind, not measured in this run"
    if reference:
        t = time.perf_counter()
        subprocess.run([sys.executable, os.path.join(reference, "invert_etas.py")], cwd=reference, check=True)
        ref_s, ref_note = time.perf_counter() - t, "measured in this run"
    rows = []
    for label, kw in [
        ("reference EM, plane", dict(method="em-reference", region_integral="plane")),
        ("exact ML, plane", dict(region_integral="plane")),
        ("exact ML, exact region", dict(region_integral="exact")),
    ]:
        model = ETAS(mc=1.0, region=box, theta0=SANJAC_10["theta0"], **kw)
        t = time.perf_counter()
        model.fit(
            cat, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01", standard_errors=False
        )
        secs = time.perf_counter() - t
        s = etas_test_scores(
            model,
            cat,
            auxiliary_start="2008-01-01",
            test_start="2016-01-01",
            test_end="2018-01-01",
            kernel_mc=1.0,
        )
        rows.append(
            {
                "fit": label,
                "fit_s": round(secs, 1),
                "speedup_vs_reference": round(ref_s / secs, 1),
                "log_likelihood": round(model.log_likelihood_, 2),
                "TLL": round(s.tll, 4),
                "SLL": round(s.sll, 4),
                "branching_ratio": round(model.branching_ratio_, 3),
                **{k: round(v, 4) for k, v in model.params_.to_dict().items()},
            }
        )
        print(rows[-1], flush=True)
    print(f"\nSanJac_10 (reference implementation: {ref_s:.0f} s, {ref_note}):")
    print(pd.DataFrame(rows).set_index("fit").T.to_string())
    print(
        f"peak resident memory of the SanJac process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 20000, 100000])
    ap.add_argument("--million", action="store_true", help="also fit 10^6 simulated events (needs ~16 GB)")
    ap.add_argument("--no-sanjac", action="store_true")
    ap.add_argument(
        "--reference", help="checkout of lmizrahi/etas set up for SanJac_10 (else its recorded time)"
    )
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child)))
        return
    sizes = list(args.sizes) + ([1_000_000] if args.million else [])
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{n}: failed\n{out.stderr[-2000:]}", flush=True)
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    if rows:
        table = pd.DataFrame(rows)
        print("\nETAS fit on simulated catalogs (exact region integral, standard errors included):")
        print(table.to_string(index=False))
        if len(table) > 1:
            k = np.polyfit(np.log(table["events"]), np.log(table["fit_s"]), 1)[0]
            kp = np.polyfit(np.log(table["events"]), np.log(table["pairs"]), 1)[0]
            print(
                f"cost exponent (fit time ~ N^k): k = {k:.2f}; pairs ~ N^{kp:.2f}; "
                f"bytes of pair store per pair: 8"
            )
    if not args.no_sanjac:
        _sanjac(args.reference)


if __name__ == "__main__":
    main()
