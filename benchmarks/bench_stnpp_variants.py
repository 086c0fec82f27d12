"""Variants of the spatio-temporal neural point process on SanJac_10, compared on the validation window only.

Each variant changes a few settings of notebook 09's configuration (GRU 32 units, 128 recent events with 3
Gaussian kernels each, background: uniform + KDEs 0.5/2/8 km + adaptive KDEs k = 5, 20; 40 epochs at most,
patience 5), is trained on 2009-2013 with early stopping on 2014-2015 (seed 0) and scored on 2014-2015 (the
validation window: the choice uses this score only). The test score (2016-2017) is written beside it for the
record and is never used to choose. Results go to ``benchmarks/RESULTS_stnpp_variants.json`` (one record per
variant, written as each finishes) and a Markdown table ``benchmarks/RESULTS_stnpp_variants.md``.

Usage: python benchmarks/bench_stnpp_variants.py [--only NAME ...] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import pandas as pd

from quakelab import datasets
from quakelab.learn.stpp import SpatioTemporalNPP, limit_threads
from quakelab.models import ETAS

REGION = (-117.0, -116.0, 33.0, 34.0)
BASE = dict(
    units=32,
    n_neighbours=128,
    n_scales=3,
    background_km=(0.5, 2.0, 8.0),
    adaptive_k=(5, 20),
    epochs=40,
    patience=5,
)
VARIANTS: dict[str, dict] = {
    "adaptive background (current)": {},
    "longer history (384 recent events)": {"n_neighbours": 384},
    "heavier tail (5 scales 0.15-15 km)": {"n_scales": 5, "kernel_scales_km": (0.15, 0.5, 1.5, 5.0, 15.0)},
    "longest history (1024 recent events)": {"n_neighbours": 1024},
    "longer history + heavier tail": {
        "n_neighbours": 384,
        "n_scales": 5,
        "kernel_scales_km": (0.15, 0.5, 1.5, 5.0, 15.0),
    },
}
WINDOW = dict(train_start="2009-01-01", train_end="2014-01-01", val_end="2016-01-01")
OUT = Path(__file__).parent / "RESULTS_stnpp_variants"


def write_markdown(rows: list[dict]) -> None:
    """The table of every variant measured so far (temp file + rename)."""
    tab = pd.DataFrame(rows)
    cols = ["variant", "seed", "val_ll", "val_tll", "val_sll", "test_ll", "test_tll", "test_sll", "epochs"]
    cols += ["best_epoch", "wall_s", "load_avg_start", "load_avg_end"]
    lines = [
        "# Spatio-temporal NPP variants on SanJac_10 (chosen on validation 2014-2015, seed 0)",
        "",
        "Produced by `benchmarks/bench_stnpp_variants.py`; log-likelihood per event (temporal: log 1/day, spatial:",
        "log 1/km²). The test columns are for the record only: the choice uses `val_ll`. Wall times on a shared",
        "2-core machine, load average (1 min) at start and end beside them.",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for _, r in tab.iterrows():
        cells = [
            f"{r[c]:.4f}"
            if isinstance(r[c], float) and c not in ("load_avg_start", "load_avg_end")
            else str(r[c])
            for c in cols
        ]
        lines.append("| " + " | ".join(cells) + " |")
    best = tab.loc[tab["val_ll"].idxmax(), "variant"]
    lines += ["", f"Best on validation: **{best}**.", ""]
    tmp = OUT.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(OUT.with_suffix(".md"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", help="variant names to run (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    limit_threads(args.threads)
    catalog = datasets.load("qtm-sanjacinto")
    events = ETAS(min_magnitude=1.0, region=REGION).select_events(catalog, "2008-01-01", "2018-01-01")
    path = OUT.with_suffix(".json")
    rows = json.loads(path.read_text()) if path.exists() else []
    for name, change in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        load0, t0 = os.getloadavg()[0], time.perf_counter()
        model = SpatioTemporalNPP(**{**BASE, **change}, seed=args.seed).fit(
            events, min_magnitude=1.0, region=REGION, **WINDOW
        )
        v = model.score(events, test_start="2014-01-01", test_end="2016-01-01")
        s = model.score(events, test_start="2016-01-01", test_end="2018-01-01")
        row = {
            "variant": name,
            "settings": {k: list(x) if isinstance(x, tuple) else x for k, x in {**BASE, **change}.items()},
            "seed": args.seed,
            "val_ll": v.ll,
            "val_tll": v.tll,
            "val_sll": v.sll,
            "n_val_events": v.n_test_events,
            "test_ll": s.ll,
            "test_tll": s.tll,
            "test_sll": s.sll,
            "n_test_events": s.n_test_events,
            "epochs": len(model.history_),
            "best_epoch": int(model.history_["val_loss"].idxmin()),
            "wall_s": round(time.perf_counter() - t0),
            "load_avg_start": round(load0, 2),
            "load_avg_end": round(os.getloadavg()[0], 2),
        }
        rows = [r for r in rows if not (r["variant"] == name and r["seed"] == args.seed)] + [row]
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(rows, indent=1))
        tmp.replace(path)
        write_markdown(rows)
        print(
            {k: row[k] for k in ("variant", "val_ll", "val_sll", "test_ll", "epochs", "wall_s")}, flush=True
        )


if __name__ == "__main__":
    main()
