"""Dashboard and monitor benchmark: time to first render, widget change -> updated figure, monitor batch time.

Each dashboard is served by Voila on 127.0.0.1 and loaded in Debian's headless Chromium (Playwright), cold
(no pre-heated kernel: the notebook runs when the page is requested) and pre-heated (the default of
`quakelab dashboard`). Update time: from a widget change to the new figure in the page. Screenshots go to
reports/dashboards/. The forecast dashboard reads reports/ (the default `quakelab run` makes what it needs;
this script runs the Ridgecrest ETAS forecast first if it is missing).

Monitor: processing of one batch of 1,000 new events (parse the feed body, upsert, atomic commit, forecast)
against a baseline measured in the same run, a naive upsert (concat + drop_duplicates + to_parquet).

Usage: python benchmarks/bench_dashboards.py [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from quakelab.dashboards import DashboardServer

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]

# dashboard -> (selector of its figure, action changing a widget)
CASES = {
    "catalog": (
        ".ql-map",
        lambda page: [
            page.locator(".ql-magnitude .noUi-handle").first.focus(),
            page.keyboard.press("ArrowRight"),
        ],
    ),
    "forecast": (".ql-map", lambda page: page.click(".ql-horizon button:has-text('30 days')")),
}


def _src(page, css):
    el = page.query_selector(f"{css} img")
    return el.get_attribute("src") if el else None


def time_dashboard(browser, name: str, preheat: bool, shots: Path) -> dict:
    css, action = CASES[name]
    with DashboardServer(name, root=ROOT, preheat=preheat) as srv:
        if preheat:
            time.sleep(8)  # let the pool fill (the notebook runs once in advance)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        t0 = time.perf_counter()
        page.goto(srv.url, timeout=180_000)
        page.wait_for_selector(f"{css} img", timeout=180_000)
        first = time.perf_counter() - t0
        before = _src(page, css)
        t0 = time.perf_counter()
        action(page)
        while _src(page, css) == before:
            page.wait_for_timeout(20)
        update = time.perf_counter() - t0
        if preheat:
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        page.close()
    return {"first_render_s": first, "update_s": update}


def time_monitor_screen(browser, shots: Path) -> dict:
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "tests" / "realtime"))
    from feed_server import FeedReplayServer

    from quakelab.realtime import FDSNEventFeed, Monitor

    with tempfile.TemporaryDirectory() as live:
        with (
            DashboardServer("monitor", root=ROOT, env={"QUAKELAB_LIVE_DIR": live}) as srv,
            FeedReplayServer(release_per_request=400) as feed,
        ):
            time.sleep(8)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            t0 = time.perf_counter()
            page.goto(srv.url, timeout=180_000)
            page.wait_for_selector(".ql-waiting", timeout=180_000)
            first = time.perf_counter() - t0
            mon = Monitor(
                FDSNEventFeed(feed.url),
                live,
                threshold=0.05,
                now=lambda: pd.Timestamp("2019-07-14", tz="UTC"),
                echo=lambda _: None,
            )
            mon.poll_once()
            t0 = time.perf_counter()
            page.wait_for_function(
                f"(document.querySelector('.ql-n-events') || {{}}).innerText === '{len(mon.store.events)}'",
                timeout=60_000,
            )
            seen = time.perf_counter() - t0
            page.screenshot(path=str(shots / "monitor.png"), full_page=True)
    return {"first_render_s": first, "update_s": seen}


def monitor_batches(n_batches: int = 5, size: int = 1000) -> dict:
    from quakelab.realtime import EventStore, parse_geojson
    from quakelab.realtime.forecast import short_term_forecast

    rng = np.random.default_rng(0)
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    bodies = []
    for b in range(n_batches):
        feats = []
        for k in range(size):
            t = t0 + pd.Timedelta(minutes=b * size + k)
            feats.append(
                {
                    "type": "Feature",
                    "id": f"ev{b}_{k}",
                    "properties": {
                        "mag": round(float(2 + rng.exponential(0.45)), 1),
                        "magType": "ml",
                        "time": int(t.value // 10**6),
                        "updated": int((t + pd.Timedelta(minutes=3)).value // 10**6),
                        "status": "reviewed",
                        "type": "earthquake",
                        "place": "synthetic",
                    },
                    "geometry": {
                        "type": "Point",
                        "coordinates": [float(rng.uniform(-118, -117)), float(rng.uniform(35, 36)), 8.0],
                    },
                }
            )
        bodies.append(json.dumps({"type": "FeatureCollection", "features": feats}))
    ours, naive = [], []
    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
        store = EventStore(d1)
        acc = None
        for body in bodies:
            s = time.perf_counter()
            batch = parse_geojson(body)
            store.apply(batch)
            fc = short_term_forecast(store.events, batch.events["time"].max())
            store.commit(last_probability=float(fc["probability"].iloc[0]))
            ours.append(time.perf_counter() - s)
            s = time.perf_counter()
            df = pd.json_normalize(json.loads(body)["features"])
            acc = df if acc is None else pd.concat([acc, df]).drop_duplicates("id", keep="last")
            acc.to_parquet(Path(d2) / "events.parquet")
            naive.append(time.perf_counter() - s)
    return {
        "ours_s": float(np.median(ours)),
        "naive_s": float(np.median(naive)),
        "store_events": len(store.events),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    if not list((ROOT / "reports").glob("*/history.parquet")):
        from quakelab.cli import main as cli

        cli(["run", str(ROOT / "papermill_runs.yaml"), "--only", "ridgecrest-2019-etas"])
    shots = ROOT / "reports" / "dashboards"
    shots.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    rows = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
        for name in CASES:
            cold = time_dashboard(browser, name, preheat=False, shots=shots)
            warm = time_dashboard(browser, name, preheat=True, shots=shots)
            rows[name] = {
                "cold_first_render_s": cold["first_render_s"],
                "preheated_first_render_s": warm["first_render_s"],
                "update_s": warm["update_s"],
            }
        m = time_monitor_screen(browser, shots)
        rows["monitor"] = {
            "cold_first_render_s": np.nan,
            "preheated_first_render_s": m["first_render_s"],
            "update_s": m["update_s"],
        }
        browser.close()
    table = pd.DataFrame(rows).T
    print(table.round(2).to_string())
    print(
        "targets: first render < 8 s pre-heated (< 15 s cold); widget change -> figure < 1 s "
        "(monitor: new batch on screen within its 3 s refresh period)"
    )
    mb = monitor_batches()
    print(
        f"monitor, one batch of 1,000 new events: {mb['ours_s'] * 1e3:.0f} ms (parse, upsert, atomic commit, forecast); "
        f"naive upsert baseline {mb['naive_s'] * 1e3:.0f} ms; ratio {mb['ours_s'] / mb['naive_s']:.2f} "
        f"({mb['store_events']:,} events in the store at the end)"
    )
    print(f"screenshots: {shots}")


if __name__ == "__main__":
    main()
