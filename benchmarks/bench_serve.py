"""Load test of ``quakelab serve`` on loopback: throughput and p50/p99 latency of cheap and expensive endpoints.

Starts the real server (uvicorn subprocess on a free 127.0.0.1 port) with a temporary model store and live
store (pycsep's bundled Ridgecrest sample), then:

1. cheap alone: ``--clients`` concurrent clients hit ``/health`` and ``/v1/events`` for ``--seconds``;
2. expensive alone: gridded ETAS forecasts (``/v1/forecast``) and RJ aftershock products, ``--expensive`` each;
3. mixed: the cheap load again while expensive forecasts run, to show the slow ones do not block it.

Bounded in requests and time; loopback only.

    PYTHONPATH=. python benchmarks/bench_serve.py [--clients 8] [--seconds 10] [--expensive 6]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "service"))


def _stats(lat: list[float], seconds: float) -> str:
    a = np.array(lat) * 1000
    if a.size == 0:
        return "no requests"
    return (
        f"{a.size:5d} req  {a.size / seconds:7.1f} req/s  p50 {np.percentile(a, 50):7.1f} ms  "
        f"p99 {np.percentile(a, 99):7.1f} ms  max {a.max():7.1f} ms"
    )


def hammer(
    url: str, paths: list[str], clients: int, seconds: float, max_requests: int = 20000
) -> list[float]:
    import httpx

    lat: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        with httpx.Client(timeout=60) as c:
            k = i
            while time.perf_counter() < stop:
                with lock:
                    if len(lat) >= max_requests:
                        return
                t = time.perf_counter()
                r = c.get(url + paths[k % len(paths)])
                r.raise_for_status()
                with lock:
                    lat.append(time.perf_counter() - t)
                k += 1

    th = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    return lat


def main() -> None:
    import httpx
    from test_service import REGION, SANJAC, start_server, stop  # the tests' real-server start and stop

    from quakelab.datasets import load
    from quakelab.models import ETAS
    from quakelab.realtime.feeds import FEED_COLUMNS, FeedBatch
    from quakelab.realtime.store import EventStore
    from quakelab.service import save_etas_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--expensive", type=int, default=6)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="quakelab-bench-serve-"))
    save_etas_model(
        ETAS(min_magnitude=2.5, region=REGION).set_params(SANJAC, beta=2.3),
        "ridgecrest-spatial",
        base / "models",
    )
    cat = load("ridgecrest-2019-sample")
    ev = cat.copy()
    ev["event_type"], ev["status"], ev["place"], ev["updated"] = "earthquake", "reviewed", "", ev["time"]
    ev["mag_type"] = ev["mag_type"].fillna("")
    st = EventStore(base / "live")
    st.apply(FeedBatch(ev[FEED_COLUMNS]))
    st.commit()
    proc, url = start_server(base / "models", base / "live")
    cheap = [
        "/health",
        "/v1/events?min_magnitude=3&limit=50",
        "/v1/events?bbox=-117.7,-117.5,35.6,35.8&limit=100",
    ]
    grid = (
        "/v1/forecast?model=ridgecrest-spatial&start=2019-07-06T05:00:00&days=1&n_simulations=8&cell_deg=0.1"
    )
    product = (
        "/v1/aftershock-forecast?time=2019-07-06T03:19:53&latitude=35.77&longitude=-117.599&magnitude=7.1"
        "&start=2019-07-07T03:19:53&models=rj_generic,rj_sequence,rj_bayesian"
    )
    try:
        print(f"server {url}; {args.clients} clients; loopback only")
        lat = hammer(url, cheap, args.clients, args.seconds)
        print(f"cheap alone      {_stats(lat, args.seconds)}")
        for name, path in (("gridded forecast", grid), ("aftershock RJ", product)):
            t0 = time.perf_counter()
            lat = hammer(url, [path], 2, 1e9, max_requests=args.expensive)
            print(f"{name:16s} {_stats(lat, time.perf_counter() - t0)}  (2 clients)")
        slow_lat: list[float] = []

        def slow_load() -> None:
            slow_lat.extend(hammer(url, [grid, product], 2, 1e9, max_requests=args.expensive))

        th = threading.Thread(target=slow_load)
        th.start()
        t0 = time.perf_counter()
        lat = []
        while th.is_alive():
            lat += hammer(url, cheap, args.clients, min(args.seconds, 2.0))
        dt = time.perf_counter() - t0
        th.join()
        print(f"cheap during expensive {_stats(lat, dt)}")
        print(f"expensive (mixed)      {_stats(slow_lat, dt)}")
        print(
            httpx.get(url + "/metrics").text.count("quakelab_http_request_seconds_bucket"),
            "latency buckets exported",
        )
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
