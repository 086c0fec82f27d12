"""ETAS fit cost curve on the real QTM San Jacinto catalog (SanJac_10 region and settings).

For 2k, 5k, 10k and 20k target events, times quakelab's ETAS fit (k-d tree pairs inside the
Wells–Coppersmith truncation radius, compiled EM, SQUAREM) against a direct O(N²) variant measured in
the same run: the same EM over *all* earlier-event pairs (no truncation), run where its N²/2 pairs fit
in memory. Also times the EarthquakeNPP test-window evaluation. Ratios, not absolute times, are what to
compare across machines. Needs the shared data folder.

Usage: python benchmarks/bench_etas.py [--sizes 2000 5000 10000 20000] [--direct-max 5000]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from quakelab.datasets import load
from quakelab.evaluate import SANJAC_10, etas_test_scores
from quakelab.models import ETAS

BOX = SANJAC_10["bbox"]


def window_for(cat: pd.DataFrame, start: str, n_targets: int) -> pd.Timestamp:
    t = cat.loc[cat["time"] >= pd.Timestamp(start, tz="UTC"), "time"].sort_values()
    if n_targets >= len(t):
        return t.iloc[-1] + pd.Timedelta(seconds=1)
    return t.iloc[n_targets]


def fit_seconds(cat, start, end, **kw) -> tuple[float, dict]:
    model = ETAS(mc=1.0, region=BOX, theta0=SANJAC_10["theta0"], **kw)
    t = time.perf_counter()
    model.fit(cat, auxiliary_start="2008-01-01", start=start, end=end, standard_errors=False)
    return time.perf_counter() - t, model.fit_info_


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 10000, 20000])
    ap.add_argument("--direct-max", type=int, default=5000)
    args = ap.parse_args()
    cat = load("qtm-sanjacinto")
    rows = []
    for n in args.sizes:
        start = "2009-01-01" if n <= 15217 else "2008-02-01"
        end = window_for(cat, start, n)
        secs, info = fit_seconds(cat, start, end)
        row = {"targets": info["n_targets"], "pairs": info["n_pairs"], "em_steps": info["n_iterations"],
               "fit_s": round(secs, 1)}
        if n <= args.direct_max:
            dsecs, dinfo = fit_seconds(cat, start, end, coppersmith_multiplier=None)
            row.update(direct_pairs=dinfo["n_pairs"], direct_fit_s=round(dsecs, 1), speedup=round(dsecs / secs, 2))
        rows.append(row)
        print(row, flush=True)
    table = pd.DataFrame(rows)
    print("\nETAS fit cost (quakelab, truncated pairs) vs direct all-pairs EM, same run:")
    print(table.to_string(index=False))
    if len(table) > 1:
        slope = np.polyfit(np.log(table["targets"]), np.log(table["fit_s"]), 1)[0]
        print(f"empirical cost exponent (fit time ~ N^k): k = {slope:.2f}")
    # full SanJac_10 fit and evaluation
    t = time.perf_counter()
    model = ETAS(mc=1.0, region=BOX, theta0=SANJAC_10["theta0"]).fit(
        cat, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01", standard_errors=False)
    full = time.perf_counter() - t
    t = time.perf_counter()
    score = etas_test_scores(model, cat, auxiliary_start="2008-01-01", test_start="2016-01-01",
                             test_end="2018-01-01", kernel_mc=1.0)
    ev = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nSanJac_10 full fit: {full:.1f} s for {model.fit_info_['n_targets']:,} targets "
          f"({model.fit_info_['n_iterations']} EM steps); reference implementation on a machine like this: "
          f"{SANJAC_10['reference_fit_seconds']:.0f} s (ratio {SANJAC_10['reference_fit_seconds'] / full:.1f}x, "
          "not measured in this run)")
    print(f"evaluation of {score.n_test_events:,} test events: {ev:.1f} s; TLL {score.tll:.4f}, SLL {score.sll:.4f}")
    print(f"peak resident memory of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
