"""The monitor's product for the 2019 Ridgecrest M7.1 at 1 day after it, per model, beside what happened next.

The catalog (the shared extract ``ridgecrest-2019`` when present, M>=1.5 to 2019-08-03; else pycsep's sample with
the M7.1 added by hand) is fed to :class:`quakelab.realtime.Monitor` as a feed would have published it up to
one day after the M7.1 (each event 4 minutes after its origin); the monitor issues the aftershock product
(``products/<id>.json``) and the regional forecast. Its model store holds the San Jacinto temporal ETAS fit
stated for the box of the Ridgecrest forecast run (no model fitted to the Mojave is stored: this is the
"fitted regional model" the product falls back to). The product's 1-day, 1-week and 1-month ranges are then
compared with the counts observed in the catalog.

    PYTHONPATH=. python benchmarks/bench_monitor_ridgecrest.py [--simulations 500] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from quakelab import datasets
from quakelab.realtime import FeedBatch, Monitor
from quakelab.realtime.feeds import FEED_COLUMNS

M71_TIME = pd.Timestamp("2019-07-06 03:19:53.04", tz="UTC")
RIDGECREST_BOX = [-118.2, -117.0, 35.2, 36.4]


class CatalogFeed:
    """A feed replaying a catalog: every event is published 4 minutes after its origin, up to ``clock``."""

    def __init__(self, catalog: pd.DataFrame, clock: pd.Timestamp) -> None:
        ev = catalog.copy()
        ev["event_id"] = np.where(ev["magnitude"] >= 7.05, "ci38457511", ev["event_id"].astype(str))
        ev["mag_type"] = ev["mag_type"].fillna("").astype(str) if "mag_type" in ev else ""
        ev["event_type"], ev["status"], ev["place"] = "earthquake", "reviewed", "Ridgecrest sequence, CA"
        ev["updated"] = ev["time"] + pd.Timedelta(minutes=4)
        self.events = ev[ev["updated"] <= clock][FEED_COLUMNS].reset_index(drop=True)

    def fetch(self, updated_after=None) -> FeedBatch:
        ev = self.events if updated_after is None else self.events[self.events["updated"] > updated_after]
        return FeedBatch(ev.reset_index(drop=True), source="catalog replay")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--simulations", type=int, default=500)
    ap.add_argument("--out", default=None, help="keep the monitor's store here (default: a temporary folder)")
    args = ap.parse_args()
    try:
        cat, name = (
            datasets.load("ridgecrest-2019"),
            "ridgecrest-2019 (shared extract, M>=1.5, to 2019-08-03)",
        )
    except Exception:
        cat = datasets.load("ridgecrest-2019-sample")
        m71 = pd.DataFrame(
            {
                "event_id": ["ci38457511"],
                "time": [M71_TIME],
                "latitude": [35.7695],
                "longitude": [-117.5993],
                "depth_km": [8.0],
                "magnitude": [7.1],
            }
        )
        cat = pd.concat([m71, cat], ignore_index=True).sort_values("time").reset_index(drop=True)
        name = "ridgecrest-2019-sample (pycsep ComCat, M>=2.5, to 2019-07-13) + the M7.1"
    from quakelab.service.models import load_verified, save_etas_model

    start = M71_TIME + pd.Timedelta(days=1)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(args.out) if args.out else Path(tmp) / "live"
        models = Path(tmp) / "models"
        model, _ = load_verified("data/models/etas", "socal-sanjac-temporal")
        save_etas_model(
            model,
            "sanjac-params-ridgecrest-box",
            models,
            metadata={
                "bbox": RIDGECREST_BOX,
                "description": "San Jacinto temporal fit stated for Ridgecrest",
            },
        )
        mon = Monitor(
            CatalogFeed(cat, start),
            store,
            now=lambda: start,
            echo=print,
            threshold=0.1,
            model_root=models,
            n_simulations=args.simulations,
            product_magnitude=7.0,
            product_simulations=args.simulations,
            seed=1,
        )
        t0 = time.perf_counter()
        r = mon.poll_once()
        seconds = time.perf_counter() - t0
        doc = json.loads((store / "products" / "ci38457511.json").read_text())
        fc = json.loads((store / "forecast.json").read_text())
    print(
        f"catalog: {name}; monitor poll with product and regional forecast: {seconds:.1f} s; {r.n_received} events"
    )
    print(f"regional forecast: {fc['model']}; P(M>=5 within 7 d) = {fc['alert']['probability']:.3f}")
    lag_main = cat[cat["magnitude"] >= 7.05]
    ms = lag_main.iloc[0]
    from quakelab.aftershock import search_radius_km
    from quakelab.region import haversine_km

    d = haversine_km(
        cat["latitude"].to_numpy(float), cat["longitude"].to_numpy(float), ms["latitude"], ms["longitude"]
    )
    seq = cat[(d <= search_radius_km(7.1)) & (cat["time"] > ms["time"] + pd.Timedelta(seconds=1))]
    lag = ((seq["time"] - start) / pd.Timedelta(days=1)).to_numpy(float)
    mags = seq["magnitude"].to_numpy(float)
    end_days = (cat["time"].max() - start) / pd.Timedelta(days=1)
    names = {m["key"]: m for m in doc["models"]}
    keys = [k for k in ("rj_generic", "rj_sequence", "rj_bayesian", "etas") if k in names]
    head = "| window | M>= | " + " | ".join(names[k]["name"] for k in keys) + " | observed |"
    print()
    print(head)
    print("|" + "---|" * (len(keys) + 3))
    inside = {k: [0, 0] for k in keys}
    for wi, (label, days) in enumerate((("1 Day", 1.0), ("1 Week", 7.0), ("1 Month", 30.0))):
        complete = days <= end_days + 1e-9
        for mag in (3.0, 4.0, 5.0, 6.0, 7.0, 7.1):
            obs = int(np.sum((lag >= 0) & (lag < days) & (mags >= mag - 1e-9)))
            cells = []
            for k in keys:
                win = names[k]["forecast"][wi]
                b = next((b for b in win["bins"] if b["magnitude"] == mag), None)
                if b is None:
                    b = {"probability": win["aboveMainshockMag"]["probability"], "median": None}
                    cells.append(f"P={100 * b['probability']:.1f}%")
                    continue
                cells.append(
                    f"{b['median']} [{b['p95minimum']}-{b['p95maximum']}] P={100 * b['probability']:.1f}%"
                )
                if complete:
                    inside[k][0] += b["p95minimum"] <= obs <= b["p95maximum"]
                    inside[k][1] += 1
            print(
                f"| {label} | {mag:g} | "
                + " | ".join(cells)
                + f" | {obs}{'' if complete else ' (window not fully observed)'} |"
            )
    print()
    print(
        "observed inside the 95 % range (fully observed windows): "
        + ", ".join(f"{names[k]['name']} {a}/{n}" for k, (a, n) in inside.items())
    )
    for k in keys:
        for note in names[k]["notes"]:
            print(f"note ({k}): {note}")
    for note in doc["notes"]:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
