"""The live dashboard's judgement of whether the monitor runs, from the wall-clock times on disk."""

import json
import os
import time

import pandas as pd

from quakelab.dashboards.live_monitor import STALE_INTERVALS, liveness


def test_status_json_decides_and_the_store_mtime_stands_in_without_it(tmp_path):
    now = time.time()
    (tmp_path / "events.parquet").write_bytes(b"x")
    os.utime(tmp_path / "events.parquet", (now - 500, now - 500))
    # an older monitor without status.json: judged by the store's age against a 60 s interval
    old = liveness(tmp_path, now=now)
    assert not old["running"] and round(old["store_age_s"]) == 500 and old["interval_s"] == 60.0
    assert liveness(tmp_path, now=now - 400)["running"]  # 100 s old: within 3 x 60 s
    status = {"interval_s": 10.0, "last_attempt": pd.Timestamp(now - 25, unit="s", tz="UTC").isoformat()}
    (tmp_path / "status.json").write_text(
        json.dumps({**status, "consecutive_failures": 2, "last_error": "HTTP 500"})
    )
    live = liveness(tmp_path, now=now)
    assert live["running"] and round(live["poll_age_s"]) == 25 and live["consecutive_failures"] == 2
    assert not liveness(tmp_path, now=now + STALE_INTERVALS * 10.0)["running"]  # 55 s > 3 x 10 s
