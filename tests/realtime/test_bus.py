"""The streaming bus against a real redis-server on 127.0.0.1: round trips, idempotent consumers, reclaim of
a dead consumer's messages, the monitor's publishing and outbox, replay, a webhook consumer, and a consumer
SIGKILLed mid-stream that ends with exactly the monitor's store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from feed_server import FeedReplayServer, expected_state, load_timeline
from redis_test_server import RedisServer, free_port

from quakelab.realtime import EventStore, FDSNEventFeed, Monitor
from quakelab.realtime.bus import SCHEMA, BusError, MessageError, RedisBus, decode, encode, replay
from quakelab.realtime.consume import StoreTarget, TargetError, WebhookTarget, run_consumer

ROOT = Path(__file__).resolve().parents[2]
T_NOW = pd.Timestamp("2019-07-14", tz="UTC")
T0 = pd.Timestamp("2019-07-06T03:00:00", tz="UTC")
#: The first 450 versions of the recorded feed: 419 events, 28 revisions or repeats, 3 deletions.
HISTORY = load_timeline()[:450]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def bus(redis_url, request):
    b = RedisBus(redis_url, prefix=f"{request.node.name}:", claim_idle_s=0.05)
    yield b
    b.close()


def event(eid: str, minutes: float, mag: float = 3.0) -> dict:
    """An ``events`` payload updated ``minutes`` after T0."""
    upd = (T0 + pd.Timedelta(minutes=minutes)).isoformat()
    return {
        "event_id": eid,
        "time": T0.isoformat(),
        "latitude": 35.7,
        "longitude": -117.5,
        "depth_km": 8.0,
        "magnitude": mag,
        "mag_type": "ml",
        "event_type": "earthquake",
        "updated": upd,
        "status": "reviewed",
        "place": "Ridgecrest",
    }


def publish_event(bus, eid, minutes, mag=3.0):
    p = event(eid, minutes, mag)
    return bus.publish("events", eid, p["updated"], p)


def publish_deletion(bus, eid, minutes):
    v = (T0 + pd.Timedelta(minutes=minutes)).isoformat()
    return bus.publish("deletions", eid, v, {"event_id": eid, "updated": v})


def drain(consumer, target, **kw):
    return run_consumer(consumer, target, block_ms=50, exit_when_idle_s=0.2, **kw)


def store_frame(store: EventStore) -> pd.DataFrame:
    return store.events.sort_values("event_id").reset_index(drop=True)


def test_envelope_is_validated_and_names_the_entry():
    m = decode("events", "1-0", encode("events", "ci1", "v1", {"a": 1}))
    assert (m.stream, m.id, m.key, m.version, m.payload, m.schema) == (
        "events",
        "1-0",
        "ci1",
        "v1",
        {"a": 1},
        SCHEMA,
    )
    with pytest.raises(MessageError, match=r"stream events, entry 7-0: not JSON"):
        decode("events", "7-0", "{")
    with pytest.raises(MessageError, match="another major version"):
        decode(
            "events",
            "7-1",
            json.dumps({"schema": "quakelab.bus/2.0", "key": "k", "version": "v", "payload": {}}),
        )
    with pytest.raises(MessageError, match="field 'payload'"):
        decode("alerts", "7-2", json.dumps({"schema": SCHEMA, "key": "k", "version": "v"}))
    with pytest.raises(ValueError, match="unknown stream 'event'"):
        encode("event", "k", "v", {})


def test_publish_consume_ack_round_trip_and_maxlen(redis_url, bus):
    ids = [publish_event(bus, f"ci{k}", k, 3.0 + k / 10) for k in range(3)]
    assert bus.length("events") == 3 and ids == sorted(ids)
    c = bus.consumer("copy", ["events", "deletions"], name="a")
    msgs = c.read(count=10, block_ms=100)
    assert [m.key for m in msgs] == ["ci0", "ci1", "ci2"] and [m.id for m in msgs] == ids
    assert (
        msgs[2].payload["magnitude"] == pytest.approx(3.2) and msgs[2].version == event("ci2", 2)["updated"]
    )
    assert c.read(count=10, block_ms=10) == []  # delivered once to the group
    assert c.n_pending() == 3 and c.ack(msgs) == 3 and c.n_pending() == 0
    other = bus.consumer("audit", ["events"], name="a")  # another group has its own cursor
    assert len(other.read(count=10, block_ms=10)) == 3
    capped = RedisBus(redis_url, prefix="capped:", maxlen=10)
    capped.publish_many(("events", f"e{k}", "v", {"k": k}) for k in range(1000))
    assert 10 <= capped.length("events") <= 200  # MAXLEN ~ trims whole nodes (100 entries each)
    info = bus.info()
    assert info["events"]["length"] == 3 and {g["name"] for g in info["events"]["groups"]} == {
        "copy",
        "audit",
    }
    dead = RedisBus(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5, retries=0)
    with pytest.raises(BusError, match=r"XADD .*events failed"):
        dead.publish("events", "x", "v", {})


def test_store_target_is_idempotent_and_propagates_deletions(tmp_path, bus):
    c = bus.consumer("copy", ["events", "deletions"], name="a")
    target = StoreTarget(tmp_path / "copy")
    publish_event(bus, "ci1", 1, 3.0)
    publish_event(bus, "ci1", 1, 3.0)  # the same version twice: one effect
    publish_event(bus, "ci2", 5, 4.0)
    publish_event(bus, "ci2", 2, 9.9)  # an older version after a newer one: ignored
    publish_deletion(bus, "ci3", 10)  # a deletion read before the event it deletes...
    drain(c, target)
    publish_event(bus, "ci3", 4, 5.0)  # ...then the (older) event: not resurrected
    publish_event(bus, "ci1", 7, 3.3)  # a revision
    publish_deletion(bus, "ci2", 8)
    drain(c, target)
    store = EventStore(tmp_path / "copy")
    assert store.events["event_id"].tolist() == ["ci1"]
    assert store.events["magnitude"].iloc[0] == pytest.approx(3.3)
    assert store.events["updated"].iloc[0] == T0 + pd.Timedelta(minutes=7)
    assert set(store.checkpoint["tombstones"]) == {"ci2", "ci3"}
    ck = store.checkpoint["consumer"]
    assert ck["n_messages"] == 8 and ck["n_skipped"] == 0
    assert ck["n_effects"] == 5  # insert ci1, insert ci2, tombstone ci3, revise ci1, delete ci2
    assert c.n_pending() == 0


def test_dead_consumers_pending_messages_are_reclaimed(tmp_path, bus):
    for k in range(6):
        publish_event(bus, f"ci{k}", k)
    a = bus.consumer("copy", ["events"], name="a")
    taken = a.read(count=4, block_ms=100)  # consumer a takes 4 and dies without acknowledging
    assert len(taken) == 4 and a.n_pending() == 4
    b = bus.consumer("copy", ["events"], name="b")
    assert b.reclaim(min_idle_s=60) == []  # not idle long enough: a may be alive
    time.sleep(0.1)
    target = StoreTarget(tmp_path / "copy")
    stats = drain(b, target)  # claim_idle_s=0.05 on this bus
    assert stats.reclaimed == 4 and stats.messages == 6
    assert sorted(EventStore(tmp_path / "copy").events["event_id"]) == [f"ci{k}" for k in range(6)]
    assert b.n_pending() == 0 and a.pending() == []


def test_batch_committed_but_not_acknowledged_is_skipped_after_restart(tmp_path, bus):
    for k in range(5):
        publish_event(bus, f"ci{k}", k)
    publish_deletion(bus, "ci0", 9)
    c = bus.consumer("copy", ["events", "deletions"], name="a")
    target = StoreTarget(tmp_path / "copy")
    first = c.read(count=3, block_ms=100)
    target.process(first)  # committed; the process dies before XACK
    assert c.n_pending() == len(first) == 4  # 3 events + 1 deletion
    restarted = bus.consumer("copy", ["events", "deletions"], name="a")
    target = StoreTarget(tmp_path / "copy")
    drain(restarted, target)
    ck = EventStore(tmp_path / "copy").checkpoint["consumer"]
    assert ck["n_skipped"] == 4 and ck["n_messages"] == 6  # each message applied exactly once
    assert sorted(target.store.events["event_id"]) == ["ci1", "ci2", "ci3", "ci4"]
    assert restarted.n_pending() == 0


def test_monitor_publishes_outbox_survives_bus_failure_and_replay_rebuilds(tmp_path, redis_url):
    timeline = HISTORY
    down = RedisBus(f"redis://127.0.0.1:{free_port()}/0", prefix="mon:", timeout_s=0.5, retries=0)
    bus = RedisBus(redis_url, prefix="mon:")
    with FeedReplayServer(timeline, release_per_request=150) as server:
        mon = Monitor(
            FDSNEventFeed(server.url),
            tmp_path / "live",
            threshold=0.05,
            now=lambda: T_NOW,
            echo=lambda _: None,
            bus=down,
        )
        results = [mon.poll_once(), mon.poll_once()]  # the bus is down: the store goes on, changes wait
        assert all(r.ok for r in results) and mon.bus_failures >= 2
        waiting = len(mon.store.checkpoint["bus_outbox"])
        assert waiting == sum(r.inserted + r.updated + r.deleted for r in results) + 1  # + the alert
        mon.bus = bus
        results.append(mon.poll_once())  # the rest of the feed, and what waited
    changes = sum(r.inserted + r.updated for r in results)
    n_ids = len({f["id"] for f in timeline})
    assert bus.length("events") == changes and changes > n_ids  # every version that changed the store
    assert bus.length("deletions") == 3
    assert bus.length("alerts") == 1 and bus.length("forecasts") == 1  # the two failed ones are superseded
    assert json.loads((tmp_path / "live" / "bus_cursor.json").read_text())["seq"] == 3
    c = bus.consumer("copy", ["events", "deletions"], name="a")
    drain(c, StoreTarget(tmp_path / "copy"), batch=200)
    truth, copy = EventStore(tmp_path / "live"), EventStore(tmp_path / "copy")
    pd.testing.assert_frame_equal(store_frame(copy), store_frame(truth))
    assert copy.checkpoint["tombstones"] == truth.checkpoint["tombstones"]
    alert = bus.consumer("ops", ["alerts"], name="a").read(block_ms=10)
    assert alert[0].payload["active"] is True and alert[0].payload["probability"] >= 0.05
    # a consumer rebuilt from nothing: replay the store to a fresh set of streams
    fresh = RedisBus(redis_url, prefix="replayed:")
    counts = replay(tmp_path / "live", fresh)
    assert counts == {"events": len(expected_state(timeline)), "deletions": 3, "forecasts": 1, "alerts": 1}
    drain(
        fresh.consumer("copy", ["events", "deletions"], name="a"),
        StoreTarget(tmp_path / "rebuilt"),
        batch=500,
    )
    pd.testing.assert_frame_equal(store_frame(EventStore(tmp_path / "rebuilt")), store_frame(truth))
    # replaying again into the live streams changes nothing downstream
    replay(tmp_path / "live", bus)
    before = EventStore(tmp_path / "copy").checkpoint["consumer"]["n_effects"]
    drain(c, StoreTarget(tmp_path / "copy"), batch=500)
    after = EventStore(tmp_path / "copy").checkpoint["consumer"]
    assert after["n_effects"] == before and after["n_messages"] == changes + 3 + n_ids


def test_cli_monitor_publishes_bus_replay_info_and_consume_errors(tmp_path, redis_url, capsys):
    from quakelab.cli import main

    with FeedReplayServer(release_per_request=2000) as server:
        monitor = ["monitor", "--fdsn", server.url, "--store", str(tmp_path), "--starttime", "2019-07-01"]
        assert main([*monitor, "--max-polls", "1", "--redis", redis_url, "--bus-maxlen", "0"]) == 0
    bus = RedisBus(redis_url)  # the default prefix, quakelab:
    versions = {
        (f["id"], f["properties"]["updated"])
        for f in load_timeline()
        if f["properties"]["status"] != "deleted"
    }
    assert bus.length("events") == len(versions) == 862  # every distinct version, repeats once
    assert bus.length("deletions") == 9
    assert bus.length("forecasts") == 1 and bus.length("alerts") == 0
    capsys.readouterr()
    assert main(["bus", "replay", "--redis", redis_url, "--store", str(tmp_path), "--prefix", "cli:"]) == 0
    assert "831 message(s)" in capsys.readouterr().out  # 820 events, 9 tombstones, the forecast, the alert
    assert main(["bus", "info", "--redis", redis_url, "--prefix", "cli:"]) == 0
    assert "events: 820 entries; no consumer group" in capsys.readouterr().out
    assert main(["bus", "replay", "--redis", redis_url, "--store", str(tmp_path / "nope")]) == 1
    assert "no event store here" in capsys.readouterr().err
    consume = ["consume", "--redis", redis_url, "--group", "g"]
    assert main([*consume, "--target", str(tmp_path / "c"), "--streams", "event"]) == 2
    assert "unknown stream(s) ['event']" in capsys.readouterr().err
    assert main([*consume, "--webhook", "ftp://127.0.0.1/x"]) == 2
    assert "expected http:// or https://" in capsys.readouterr().err


class _Receiver(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv = self.server
        with srv.lock:
            fail = srv.fail > 0
            srv.fail -= fail
            if not fail:
                srv.received.append((self.headers["Idempotency-Key"], json.loads(body)))
        self.send_response(500 if fail else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    httpd.received, httpd.fail, httpd.lock = [], 0, threading.Lock()
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_webhook_consumer_posts_each_version_once(tmp_path, bus, receiver):
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    for k in range(4):
        publish_event(bus, f"ci{k}", k)
    publish_event(bus, "ci1", 0.5)  # older than ci1's version: not posted
    publish_deletion(bus, "ci3", 6)
    bus.publish("alerts", "alert", T_NOW.isoformat(), {"active": True, "probability": 0.3})
    receiver.fail = 2  # the receiver fails twice: the batch stays pending and is retried
    c = bus.consumer("hook", ["events", "deletions", "alerts"], name="a")
    waits = []
    stats = run_consumer(
        c, WebhookTarget(url, tmp_path), block_ms=50, exit_when_idle_s=0.2, sleep=waits.append
    )
    assert stats.failures == 2 and waits == [1.0, 2.0] and "HTTP 500" in stats.errors[0]
    keys = [k for k, _ in receiver.received]
    assert (
        len(keys) == len(set(keys)) == 5
    )  # ci0, ci1 (newest), ci2, ci3's deletion (its event superseded), alert
    assert not any(k.startswith("events:ci3") for k in keys)
    assert keys[-1] == f"alerts:alert:{T_NOW.isoformat()}"
    assert f"deletions:ci3:{(T0 + pd.Timedelta(minutes=6)).isoformat()}" in keys
    assert (
        receiver.received[0][1]["schema"] == SCHEMA
        and receiver.received[0][1]["payload"]["event_id"] == "ci0"
    )
    for k in range(4):  # everything again (a replay): nothing new is posted
        publish_event(bus, f"ci{k}", k)
    drain(c, WebhookTarget(url, tmp_path))
    assert len(receiver.received) == 5
    assert json.loads((tmp_path / "webhook_state.json").read_text())["n_skipped"] >= 4
    with pytest.raises(TargetError, match="webhook http://127.0.0.1:1/"):
        WebhookTarget("http://127.0.0.1:1/", tmp_path / "x", timeout_s=0.5)._post(
            decode("events", "1-0", encode("events", "k", "v", {}))
        )


def test_stream_and_pending_entries_survive_a_redis_restart_with_aof(tmp_path):
    server = RedisServer(tmp_path / "aof", appendonly=True).start()
    try:
        b = RedisBus(server.url, prefix="p:")
        for k in range(5):
            publish_event(b, f"ci{k}", k)
        c = b.consumer("copy", ["events"], name="a")
        assert len(c.read(count=3, block_ms=10)) == 3
        b.close()
        server.stop()
        server.start()
        b = RedisBus(server.url, prefix="p:")
        c = b.consumer("copy", ["events"], name="a")
        assert b.length("events") == 5 and [m.key for m in c.pending()] == ["ci0", "ci1", "ci2"]
        assert [m.key for m in c.read(block_ms=10)] == ["ci3", "ci4"]
        b.close()
    finally:
        server.stop()


def _consume_cmd(url: str, target: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "quakelab.cli",
        "consume",
        "--redis",
        url,
        "--group",
        "copy",
        "--name",
        "c1",
        "--prefix",
        "kill:",
        "--target",
        str(target),
        "--batch",
        "20",
        "--block-ms",
        "100",
        *extra,
    ]


@pytest.mark.slow
def test_consumer_killed_mid_stream_and_restarted_ends_with_exactly_the_truth(tmp_path, redis_url):
    """The monitor replays the local feed to Redis while a consumer process copies it; SIGKILL the consumer
    twice at random points, restart it, and compare its store with the monitor's."""
    bus = RedisBus(redis_url, prefix="kill:")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = np.random.default_rng(1)
    target = tmp_path / "copy"
    with FeedReplayServer(HISTORY, release_per_request=30) as server:
        mon = Monitor(
            FDSNEventFeed(server.url), tmp_path / "live", now=lambda: T_NOW, echo=lambda _: None, bus=bus
        )
        feeder = threading.Thread(
            target=mon.run, kwargs={"max_polls": 16, "sleep": lambda s: time.sleep(0.05)}
        )
        feeder.start()
        kills = 0
        try:
            for attempt in range(2):
                proc = subprocess.Popen(
                    _consume_cmd(redis_url, target),
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                deadline = time.time() + 30
                while time.time() < deadline and proc.poll() is None:  # a few batches committed
                    ck = target / "checkpoint.json"
                    if ck.exists() and json.loads(ck.read_text()).get("consumer", {}).get(
                        "n_batches", 0
                    ) >= 5 * (attempt + 1):
                        break
                    time.sleep(0.01)
                time.sleep(float(rng.uniform(0, 0.1)))  # anywhere inside a batch: apply, commit or ack
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
                proc.wait()
        finally:
            feeder.join(60)
    done = subprocess.run(
        _consume_cmd(redis_url, target, "--exit-when-idle", "0.5"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert kills == 2
    truth, copy = EventStore(tmp_path / "live"), EventStore(target)
    assert len(truth.events) == len(expected_state(HISTORY)) == 416
    pd.testing.assert_frame_equal(store_frame(copy), store_frame(truth))
    assert copy.checkpoint["tombstones"] == truth.checkpoint["tombstones"]
    published = bus.length("events") + bus.length("deletions")
    ck = copy.checkpoint["consumer"]
    assert ck["n_messages"] == published  # every message applied once: none lost, none applied twice
    assert bus.consumer("copy", ["events", "deletions"], name="c1").n_pending() == 0
    assert not list(target.glob(".events.parquet.*"))
