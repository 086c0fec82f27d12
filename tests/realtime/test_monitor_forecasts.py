"""The monitor's regional ETAS forecast, aftershock products, Prometheus metrics and alert lines, against the
Ridgecrest sample replayed by a real local feed server."""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from feed_server import FeedReplayServer, load_timeline
from redis_test_server import RedisServer

from quakelab.realtime import FDSNEventFeed, Monitor
from quakelab.realtime.forecast import short_term_forecast
from quakelab.realtime.monitor import RJ_FALLBACK_MODEL
from quakelab.realtime.regional import regional_forecast

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODELS = ROOT / "data" / "models" / "etas"
T_NOW = pd.Timestamp("2019-07-14", tz="UTC")
MAINSHOCK_ID = "ci38457511"


def mainshock_feature() -> dict:
    """The ComCat origin of the Ridgecrest M7.1 (not in pycsep's sample, which starts 3 minutes after it)."""
    t = pd.Timestamp("2019-07-06 03:19:53.040", tz="UTC")
    ms = lambda x: int(x.value // 1_000_000)  # noqa: E731
    return {
        "type": "Feature",
        "id": MAINSHOCK_ID,
        "properties": {
            "mag": 7.1,
            "magType": "mw",
            "place": "Ridgecrest sequence, CA",
            "time": ms(t),
            "updated": ms(t + pd.Timedelta(minutes=4)),
            "status": "reviewed",
            "type": "earthquake",
        },
        "geometry": {"type": "Point", "coordinates": [-117.5993, 35.7695, 8.0]},
    }


@pytest.fixture(scope="module")
def timeline():
    tl = [mainshock_feature(), *load_timeline()]
    return sorted(tl, key=lambda f: f["properties"]["updated"])


@pytest.fixture(scope="module")
def ridgecrest_store(tmp_path_factory):
    """A model store with a regional model for the Ridgecrest area (the San Jacinto temporal fit's parameters,
    stated for the box of the Ridgecrest forecast run) beside the shipped San Jacinto model."""
    from quakelab.service.models import load_verified, save_etas_model

    root = tmp_path_factory.mktemp("models")
    model, _ = load_verified(SHIPPED_MODELS, "socal-sanjac-temporal")
    save_etas_model(
        model,
        "ridgecrest-temporal",
        root,
        metadata={"bbox": [-118.2, -117.0, 35.2, 36.4], "description": "test"},
    )
    m2, _ = load_verified(SHIPPED_MODELS, "socal-sanjac-temporal")
    save_etas_model(m2, "socal-sanjac-temporal", root, metadata={"bbox": [-117.0, -116.0, 33.0, 34.0]})
    return root


@pytest.fixture(scope="module")
def redis_bus(tmp_path_factory):
    from quakelab.realtime.bus import RedisBus

    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        bus = RedisBus(server.url, prefix="replay:")
        yield bus
        bus.close()


@pytest.fixture(scope="module")
def replayed(timeline, ridgecrest_store, redis_bus, tmp_path_factory):
    """The Ridgecrest sample (with its M7.1) replayed in 3 batches through the monitor, ETAS and products on,
    publishing to a real redis-server."""
    live = tmp_path_factory.mktemp("live")
    lines = []
    with FeedReplayServer(timeline, release_per_request=350) as server:
        mon = Monitor(
            FDSNEventFeed(server.url),
            live,
            bus=redis_bus,
            threshold=0.05,
            now=lambda: T_NOW,
            echo=lines.append,
            model_root=ridgecrest_store,
            n_simulations=40,
            seed=3,
            product_magnitude=6.0,
            product_simulations=40,
        )
        results = mon.run(max_polls=3, sleep=lambda _: None)
    return live, mon, results, lines


@pytest.mark.slow
def test_replay_writes_products_and_the_regional_etas_forecast(replayed, ridgecrest_store):
    from quakelab.aftershock import Mainshock, aftershock_forecast
    from quakelab.service.models import load_verified

    live, mon, results, lines = replayed
    assert all(r.ok for r in results) and len(mon.store.events) == 820 + 1  # the sample's 820 and the M7.1
    # the M7.1 came in the first batch; each later batch changed its sequence: one product per batch, no more
    assert [r.products for r in results] == [[MAINSHOCK_ID]] * 3
    doc = json.loads((live / "products" / f"{MAINSHOCK_ID}.json").read_text())
    assert doc["schema"] == "quakelab.aftershock-forecast" and doc["mainshock"]["id"] == MAINSHOCK_ID
    assert doc["creationTime"] == T_NOW.value // 1_000_000 and doc["forecastStartISO"] == T_NOW.isoformat()
    # the product equals what quakelab.aftershock computes directly from the store and the same model
    events = mon.store.events
    model, _ = load_verified(ridgecrest_store, "ridgecrest-temporal")
    direct = aftershock_forecast(
        Mainshock.from_catalog(events, MAINSHOCK_ID),
        events,
        T_NOW,
        etas_model=model,
        etas_fit=False,
        n_simulations=40,
        seed=3,
    )
    want = direct.table().set_index(["model", "window", "magnitude"])
    keys = [m["key"] for m in doc["models"]]
    assert keys == ["rj_generic", "rj_sequence", "rj_bayesian", "etas"]
    for m in doc["models"]:
        week = next(f for f in m["forecast"] if f["label"] == "1 Week")
        m5 = next(b for b in week["bins"] if b["magnitude"] == 5.0)
        assert m5["probability"] == pytest.approx(
            want.loc[(m["key"], "1 Week", 5.0), "probability"], abs=1e-12
        )
        assert m5["p95maximum"] == want.loc[(m["key"], "1 Week", 5.0), "q975"]
    assert 0.05 < want.loc[("rj_generic", "1 Week", 5.0), "probability"] < 0.95  # a real, non-trivial number
    # the regional forecast: the stored model whose box contains the events, simulated with the set budget
    fc = json.loads((live / "forecast.json").read_text())
    assert fc["model_name"] == "ridgecrest-temporal" and fc["fallback_reason"] is None
    assert fc["model"] == "ETAS, stored regional model ridgecrest-temporal (40 simulations)"
    table, info = regional_forecast(
        events,
        T_NOW,
        ridgecrest_store,
        magnitudes=(5.0,),
        durations_days=(7.0, 30.0),
        n_simulations=40,
        seed=3,
    )
    assert info["model"] == "ridgecrest-temporal" and info["n_history"] == int(
        (
            (events["longitude"].between(-118.2, -117.0))
            & (events["latitude"].between(35.2, 36.4))
            & (events["magnitude"] >= 2.0)
        ).sum()
    )
    p7 = float(table.loc[table["duration_days"] == 7.0, "probability"].iloc[0])
    assert fc["alert"]["probability"] == pytest.approx(p7) and results[-1].probability == pytest.approx(p7)
    assert lines[0].startswith("ALERT 2019-07-14") and lines[1] == f"forecast model: {fc['model']}"


@pytest.mark.slow
def test_replay_publishes_events_products_forecasts_and_alerts_to_redis(replayed, redis_bus):
    live, mon, results, lines = replayed
    consumer = redis_bus.consumer(
        "check", ["events", "deletions", "products", "forecasts", "alerts"], name="t"
    )
    got: list = []
    while batch := consumer.read(count=1000, block_ms=50):
        got += batch
    by = {
        s: [m for m in got if m.stream == s]
        for s in ("events", "deletions", "products", "forecasts", "alerts")
    }
    # every event version the store applied, once each; deletions; the store's final versions among them
    final = mon.store.events.set_index("event_id")["updated"]
    assert len({(m.key, m.version) for m in by["events"]}) == len(by["events"]) >= len(final) == 821
    newest = {}
    for m in by["events"]:
        newest[m.key] = max(newest.get(m.key, m.version), m.version)
    deleted = {m.key for m in by["deletions"]}
    assert deleted and set(newest) - deleted == set(final.index.astype(str))  # the feed deletes some events
    assert all(pd.Timestamp(newest[k]) == final[k] for k in final.index)
    # the product of the M7.1 once per batch (the document written to products/), the regional forecast per poll
    assert [m.key for m in by["products"]] == [MAINSHOCK_ID] * 3
    doc = json.loads((live / "products" / f"{MAINSHOCK_ID}.json").read_text())
    assert by["products"][-1].payload["models"][3]["key"] == "etas"
    assert by["products"][-1].payload["mainshock"] == doc["mainshock"]
    assert [m.key for m in by["forecasts"]] == ["regional"] * 3
    assert by["forecasts"][-1].payload["model_name"] == "ridgecrest-temporal"
    # the alert raised on the first poll (one ALERT line) is one message on the alerts stream
    assert (
        [m.payload["active"] for m in by["alerts"]] == [True] == [ln.startswith("ALERT ") for ln in lines[:1]]
    )


def test_fallback_to_generic_rates_says_why(timeline, tmp_path):
    with FeedReplayServer(timeline, release_per_request=2000) as server:
        lines = []
        mon = Monitor(
            FDSNEventFeed(server.url),
            tmp_path,
            now=lambda: T_NOW,
            echo=lines.append,
            model_root=SHIPPED_MODELS,
            threshold=0.99,
        )
        r = mon.poll_once()
    fc = json.loads((tmp_path / "forecast.json").read_text())
    assert r.model is None and fc["model"] == RJ_FALLBACK_MODEL and fc["model_name"] is None
    # the shipped model states its San Jacinto box, which holds none of the Ridgecrest epicentres
    assert fc["fallback_reason"].startswith("no stored model covers the region of the events")
    assert "socal-sanjac-temporal 0%" in fc["fallback_reason"]
    want = short_term_forecast(mon.store.events, T_NOW, magnitudes=(5.0,), durations_days=(7.0, 30.0))
    assert fc["alert"]["probability"] == pytest.approx(float(want["probability"].iloc[0]))
    assert lines == [f"forecast model: {RJ_FALLBACK_MODEL} (fallback: {fc['fallback_reason']})"]
    assert not (tmp_path / "products").exists()  # products are off unless a magnitude is given


def test_shipped_model_is_chosen_inside_its_region():
    """Events inside the San Jacinto box get the shipped model (its region is in its metadata)."""
    rng = np.random.default_rng(1)
    n = 30
    events = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "time": pd.Timestamp("2020-01-01", tz="UTC")
            + pd.to_timedelta(np.sort(rng.uniform(0, 30, n)), "D"),
            "latitude": rng.uniform(33.2, 33.8, n),
            "longitude": rng.uniform(-116.8, -116.2, n),
            "depth_km": 10.0,
            "magnitude": np.r_[4.5, rng.uniform(2.0, 3.5, n - 1)],
        }
    )
    table, info = regional_forecast(events, "2020-02-01", SHIPPED_MODELS, n_simulations=30, seed=0)
    assert info["model"] == "socal-sanjac-temporal" and info["fallback_reason"] is None
    assert info["n_history"] == n and list(table["duration_days"]) == [7.0, 30.0]
    assert (table["q025"] <= table["median"]).all() and (table["median"] <= table["q975"]).all()
    none, why = regional_forecast(events.assign(latitude=40.0), "2020-02-01", SHIPPED_MODELS, n_simulations=5)
    assert none is None and why["fallback_reason"].startswith("no stored model covers")


def _scrape(url: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    body = urllib.request.urlopen(url, timeout=5).read().decode()  # noqa: S310 - loopback
    out = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[s.name + (f"{{{labels}}}" if labels else "")] = s.value
    return out


def test_metrics_endpoint_and_file(timeline, tmp_path):
    import time

    with FeedReplayServer(timeline, release_per_request=300) as server:
        server.inject("500", "ok", "malformed", "ok")
        mon = Monitor(
            FDSNEventFeed(server.url, timeout_s=2),
            tmp_path,
            now=lambda: T_NOW,
            echo=lambda _: None,
            threshold=0.05,
            metrics_port=0,
        )
        try:
            assert mon.metrics_url.startswith("http://127.0.0.1:")
            results = [mon.poll_once() for _ in range(4)]
            t_scrape = time.time()
            m = _scrape(mon.metrics_url)
        finally:
            mon.close()
    assert [r.ok for r in results] == [False, True, False, True]
    assert m['quakelab_monitor_failures_total{kind="http"}'] == 1.0
    assert m['quakelab_monitor_failures_total{kind="malformed"}'] == 1.0
    assert m['quakelab_monitor_failures_total{kind="timeout"}'] == 0.0
    assert m['quakelab_monitor_polls_total{outcome="success"}'] == 2.0
    assert m["quakelab_monitor_batch_size"] == results[3].n_received > 0
    assert m["quakelab_monitor_poll_duration_seconds_count"] == 4.0
    assert m["quakelab_monitor_store_events"] == len(mon.store.events)
    assert m["quakelab_monitor_alert_active"] == 1.0 and m["quakelab_monitor_forecast_fallback"] == 1.0
    assert m["quakelab_monitor_alert_probability"] == pytest.approx(results[3].probability)
    # feed lag: wall clock of the poll minus the newest 'updated' of the replayed (2019) history
    lag = t_scrape - mon.store.updated_after.timestamp()
    assert m["quakelab_monitor_feed_lag_seconds"] == pytest.approx(lag, abs=30)
    assert 0 <= m["quakelab_monitor_seconds_since_last_success"] < 30
    assert 0 <= m["quakelab_monitor_forecast_age_seconds"] < 30
    # the file quakelab serve includes: the same counters, absolute times instead of ages
    text = (tmp_path / "metrics.prom").read_text()
    assert 'quakelab_monitor_failures_total{kind="http"} 1.0' in text
    assert "quakelab_monitor_last_success_timestamp_seconds" in text and "seconds_since" not in text
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["last_attempt_ok"] is True and status["interval_s"] == 60.0


@pytest.mark.slow
def test_cli_prints_each_alert_line_once(tmp_path):
    """The ALERT line reaches the console once (it used to go both to the log handler and to stdout)."""
    with FeedReplayServer(release_per_request=900) as server:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "quakelab.cli",
                "monitor",
                "--fdsn",
                server.url,
                "--store",
                str(tmp_path),
                "--interval",
                "0.01",
                "--max-polls",
                "2",
                "--starttime",
                "2019-07-01",
                "--threshold",
                "0.05",
                "--models",
                "none",
                "--product-magnitude",
                "none",
                "--clock",
                "feed",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    console = (done.stdout + done.stderr).splitlines()
    alerts = [line for line in console if "ALERT" in line]
    assert len(alerts) == 1, console
    assert alerts[0].startswith("ALERT ") and "threshold 0.05" in alerts[0]
    assert (tmp_path / "alerts.log").read_text().splitlines() == alerts
    assert sum("forecast model:" in line for line in console) == 1
    assert "fallback: no model store configured" in done.stdout
