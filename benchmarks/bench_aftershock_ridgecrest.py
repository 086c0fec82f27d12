"""The aftershock product for the 2019 Ridgecrest M7.1 at 1, 2, 3 ... days after it, beside what happened next.

Offline: the shared Ridgecrest extract (../shared/data, holds the M7.1) when present, else pycsep's bundled
ComCat sample (M>=2.5, from 3 minutes after the M7.1, mainshock given by hand). Prints the 1-day product
per model beside the observed counts, and how many observed counts fell inside the 95 % ranges.

    PYTHONPATH=. python benchmarks/bench_aftershock_ridgecrest.py [--out DIR] [--no-etas]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from quakelab import datasets
from quakelab.aftershock import Mainshock, aftershock_forecast, compare_with_observed

#: Mainshock given by hand (ComCat ci38457511) so the bundled sample, which starts after it, works too.
M71 = Mainshock("2019-07-06 03:19:53.04", 35.770, -117.599, 7.1, 8.0, "ci38457511")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="reports/aftershock")
    ap.add_argument("--no-etas", action="store_true")
    ap.add_argument("--n-simulations", type=int, default=200)
    ap.add_argument("--etas-fit", action="store_true", help="try the sequence ETAS fit first (EM; minutes)")
    ap.add_argument("--etas-model", default="data/models/etas", help="model store holding the regional ETAS")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        cat, name = datasets.load("ridgecrest-2019"), "ridgecrest-2019 (shared extract, M>=1.5)"
    except Exception:
        cat, name = datasets.load("ridgecrest-2019-sample"), "ridgecrest-2019-sample (pycsep ComCat, M>=2.5)"
    from quakelab.service import load_verified

    regional = load_verified(args.etas_model, "socal-sanjac-temporal")[0]
    models = ["rj_generic", "rj_sequence", "rj_bayesian"] + ([] if args.no_etas else ["etas"])
    print(f"catalog: {name}, {len(cat)} events to {cat['time'].max()}")
    rows = []
    for day in (1, 2, 3, 5, 7):
        start = M71.time + pd.Timedelta(days=day)
        t0 = time.perf_counter()
        fc = aftershock_forecast(
            M71,
            cat[cat["time"] < start],
            start,
            models=models if day == 1 else models[:3],
            n_simulations=args.n_simulations,
            seed=1,
            etas_model=regional,
            etas_fit=args.etas_fit,
        )
        cmp = compare_with_observed(fc, cat).assign(start_day=day)
        rows.append(cmp)
        if day == 1:
            fc.to_json(out / "ridgecrest_m71_day1.json")
            (out / "ridgecrest_m71_day1.txt").write_text(fc.to_text() + "\n")
            ax = fc.plot(horizon_days=27, observed=cat)
            ax.figure.savefig(out / "ridgecrest_m71_day1.png", dpi=110, bbox_inches="tight")
            print(fc.to_text())
            print("notes:", *fc.notes, sep="\n  ")
            for m in fc.models:
                print(m.key, m.notes)
            day1 = cmp[cmp["window"].isin(["1 Day", "1 Week"])]
            print("\n1-day-after product beside what happened next (complete windows):")
            print(
                day1[day1["complete_window"]][
                    [
                        "model",
                        "window",
                        "magnitude",
                        "probability",
                        "median",
                        "q025",
                        "q975",
                        "observed",
                        "inside",
                    ]
                ].to_string(index=False)
            )
        print(f"start +{day} d: {time.perf_counter() - t0:.1f} s")
    allc = pd.concat(rows)
    allc = allc[allc["complete_window"]]
    summary = allc.groupby("model")["inside"].agg(lambda s: f"{int(s.astype(bool).sum())}/{len(s)}")
    print("\nobserved counts inside the 95 % ranges (all complete windows, starts +1,2,3,5,7 d):")
    print(summary.to_string())
    allc.to_csv(out / "ridgecrest_coverage.csv", index=False)


if __name__ == "__main__":
    main()
