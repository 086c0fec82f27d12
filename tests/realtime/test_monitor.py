"""Live ingestion against a real local HTTP server replaying a recorded feed history with faults."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from feed_server import FeedReplayServer, expected_state, load_timeline

from quakelab.realtime import (
    EventStore,
    FDSNEventFeed,
    MalformedFeedError,
    Monitor,
    USGSGeoJSONFeed,
    parse_geojson,
)

ROOT = Path(__file__).resolve().parents[2]
T_NOW = pd.Timestamp("2019-07-14", tz="UTC")  # after the replayed history


def assert_store_matches(store: EventStore, versions: list[dict]) -> None:
    want = expected_state(versions)
    got = store.events.set_index("event_id")
    assert sorted(got.index) == sorted(want), "event ids differ"
    assert got.index.is_unique
    for eid, f in want.items():
        row = got.loc[eid]
        assert row["magnitude"] == pytest.approx(f["properties"]["mag"]), eid
        assert row["longitude"] == pytest.approx(f["geometry"]["coordinates"][0]), eid
        assert row["updated"] == pd.Timestamp(f["properties"]["updated"], unit="ms", tz="UTC"), eid


def test_timeline_fixture_has_what_the_test_needs():
    tl = load_timeline()
    ids = [f["id"] for f in tl]
    versions = {(f["id"], f["properties"]["updated"]) for f in tl}
    assert len(tl) == 892 and len(set(ids)) == 829
    assert len(versions) < len(tl)  # exact duplicates
    assert sum(f["properties"]["status"] == "deleted" for f in tl) == 9
    assert len(expected_state(tl)) == 829 - 9


def test_monitor_survives_faults_and_ends_exact(tmp_path):
    timeline = load_timeline()
    with FeedReplayServer(timeline, release_per_request=150, timeout_s=2.0) as server:
        server.inject("ok", "ok", "500", "ok", "timeout", "ok", "malformed", "ok", "ok", "ok")
        feed = FDSNEventFeed(server.url, timeout_s=1.0)
        lines = []
        mon = Monitor(feed, tmp_path, interval_s=0, threshold=0.5, now=lambda: T_NOW, echo=lines.append)
        waits = []
        results = mon.run(max_polls=11, sleep=waits.append)
    errors = [r.error for r in results if not r.ok]
    assert len(errors) == 3
    assert "HTTP 500" in errors[0] and "timed out" in errors[1] and errors[2].startswith("malformed")
    assert waits[2] == 1.0 and waits[4] == 1.0  # back-off after a failure (one in a row each time)
    assert sum(r.deleted for r in results) == 9 and sum(r.updated for r in results) >= 30
    assert sum(r.ignored for r in results) > 0  # duplicates and the overlap re-sent
    store = EventStore(tmp_path)  # what is on disk
    assert_store_matches(store, timeline)
    last = max(f["properties"]["updated"] for f in timeline)
    assert pd.Timestamp(store.checkpoint["updated_after"]) == pd.Timestamp(last, unit="ms", tz="UTC")
    ck = json.loads((tmp_path / "checkpoint.json").read_text())
    assert ck["n_events"] == 820 and ck["n_polls"] == 8
    fc = json.loads((tmp_path / "forecast.json").read_text())
    assert fc["n_events"] == 820 and 0 < fc["alert"]["probability"] < 1


def test_alert_line_when_threshold_crossed(tmp_path):
    with FeedReplayServer(release_per_request=900) as server:
        lines = []
        mon = Monitor(
            FDSNEventFeed(server.url), tmp_path, threshold=0.05, now=lambda: T_NOW, echo=lines.append
        )
        r = mon.poll_once()
    # the largest event of the sample is M5.5 on 2019-07-06: one week later P(M>=5 in 7 d) is still high
    assert r.ok and r.probability > 0.05 and r.alert_changed
    assert lines and lines[0].startswith("ALERT 2019-07-14") and "threshold 0.05" in lines[0]
    assert (tmp_path / "alerts.log").read_text().strip() == lines[0]
    assert EventStore(tmp_path).checkpoint["alert_active"] is True


def test_summary_geojson_feed(tmp_path):
    with FeedReplayServer(release_per_request=2000) as server:
        feed = USGSGeoJSONFeed(server.url + "/summary/all.geojson")
        mon = Monitor(feed, tmp_path, now=lambda: T_NOW, echo=lambda _: None)
        assert mon.poll_once().inserted == 820
        assert mon.poll_once().inserted == 0  # nothing updated since the checkpoint


def test_malformed_payloads_name_the_feature_and_field():
    good = load_timeline()[0]
    bad = json.loads(json.dumps(good))
    bad["geometry"]["coordinates"][1] = 123.0
    with pytest.raises(MalformedFeedError, match=r"feature 1 \(ci\d+\): field 'latitude' = 123.0"):
        parse_geojson(json.dumps({"type": "FeatureCollection", "features": [good, bad]}), "feed")
    with pytest.raises(MalformedFeedError, match="not JSON"):
        parse_geojson(b"<html>", "feed")
    no_time = json.loads(json.dumps(good))
    del no_time["properties"]["time"]
    with pytest.raises(MalformedFeedError, match="field 'time'"):
        parse_geojson(json.dumps({"type": "FeatureCollection", "features": [no_time]}), "feed")


def test_stale_versions_do_not_resurrect_or_revert(tmp_path):
    tl = load_timeline()
    deleted = next(f for f in tl if f["properties"]["status"] == "deleted")
    revised_id = next(
        f["id"]
        for f in tl[::-1]
        if f["properties"]["status"] != "deleted" and sum(g["id"] == f["id"] for g in tl) == 2
    )
    store = EventStore(tmp_path)
    store.apply(parse_geojson(json.dumps({"type": "FeatureCollection", "features": tl})))
    older = [f for f in tl if f["id"] in (deleted["id"], revised_id)]
    older = [f for f in older if f["properties"]["status"] != "deleted"][:1]  # an old version replayed
    res = store.apply(parse_geojson(json.dumps({"type": "FeatureCollection", "features": older})))
    assert res.ignored == len(older) and res.inserted == 0 and res.updated == 0
    assert_store_matches(store, tl)


def _monitor_cmd(url: str, store: Path, max_polls: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "quakelab.cli",
        "monitor",
        "--fdsn",
        url,
        "--store",
        str(store),
        "--interval",
        "0.05",
        "--timeout",
        "2",
        "--max-polls",
        str(max_polls),
        "--starttime",
        "2019-07-01",
        "--threshold",
        "0.99",
    ]


def test_killed_mid_batch_and_restarted_loses_and_duplicates_nothing(tmp_path):
    """SIGKILL the monitor process while it works through the history, restart it, compare with the truth."""
    tl = load_timeline()
    big = []  # a longer history (the sample replayed 6 times with fresh ids) so the kill lands mid-run
    for k in range(6):
        for f in tl:
            g = json.loads(json.dumps(f))
            g["id"] = f"{f['id']}r{k}"
            g["properties"]["updated"] += k * 10 * 86_400_000
            big.append(g)
    big.sort(key=lambda f: (f["properties"]["updated"], f["id"]))
    rng = np.random.default_rng(0)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with FeedReplayServer(big, release_per_request=300) as server:
        kills = 0
        for attempt in range(3):
            proc = subprocess.Popen(
                _monitor_cmd(server.url, tmp_path, 40),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.time() + 60
            while time.time() < deadline and proc.poll() is None:  # wait until a few batches are committed
                ck = tmp_path / "checkpoint.json"
                if ck.exists() and json.loads(ck.read_text()).get("n_polls", 0) >= 2 * (attempt + 1):
                    break
                time.sleep(0.02)
            time.sleep(float(rng.uniform(0, 0.3)))  # land anywhere inside the next batch
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
        done = subprocess.run(
            _monitor_cmd(server.url, tmp_path, 40), env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert kills >= 2
    assert not list(tmp_path.glob(".events.parquet.*"))  # no temporary file left behind
    store = EventStore(tmp_path)
    assert_store_matches(store, big)
    assert len(store.events) == 6 * 820
