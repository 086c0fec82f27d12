"""The forecast service, tested through a real uvicorn server on 127.0.0.1 (subprocess) with httpx."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

ROOT = Path(__file__).resolve().parents[2]
REGION = (-118.5, -117.0, 35.0, 36.5)
#: The EarthquakeNPP San Jacinto reference ETAS fit (../shared/data/README.md), used as a regional model.
SANJAC = dict(
    log10_mu=-4.1267,
    log10_k0=-3.4786,
    a=1.2561,
    log10_c=-4.3886,
    omega=-0.18134,
    log10_tau=3.0096,
    log10_d=-2.4939,
    gamma=0.83352,
    rho=0.47007,
)

#: A temporal-only model with branching ratio 0.51 (beta 2.3).
TEMPORAL = dict(
    log10_mu=-1.0,
    log10_k0=-2.0,
    a=1.8,
    log10_c=-2.0,
    omega=0.1,
    log10_tau=3.5,
    log10_d=-1.0,
    gamma=1.0,
    rho=1.5,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(models: Path, store: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "quakelab.cli",
            "serve",
            "--port",
            str(port),
            "--models",
            str(models),
            "--store",
            str(store),
            "--workers",
            "2",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=str(ROOT),
        start_new_session=True,  # its own process group: stop() ends the server and its worker processes
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stdout.read().decode())
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen) -> None:
    """End the server, then anything left in its process group (forecast worker processes)."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()
        proc.wait(10)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample_catalog):
    from quakelab.models import ETAS
    from quakelab.realtime.feeds import FEED_COLUMNS, FeedBatch
    from quakelab.realtime.store import EventStore
    from quakelab.service import save_etas_model

    base = tmp_path_factory.mktemp("serve")
    models, store = base / "models", base / "live"
    spatial = ETAS(min_magnitude=2.5, region=REGION).set_params(SANJAC, beta=2.3)
    save_etas_model(
        spatial, "ridgecrest-spatial", models, metadata={"source": "EarthquakeNPP SanJac reference"}
    )
    temporal = ETAS(min_magnitude=2.5, spatial=False).set_params(TEMPORAL, beta=2.3)
    save_etas_model(temporal, "ridgecrest-temporal", models)
    bad = save_etas_model(spatial, "tampered", models)
    (bad / "model.json").write_text((bad / "model.json").read_text().replace("2.5", "2.6", 1))
    ev = sample_catalog.copy()
    ev["event_type"], ev["status"], ev["place"] = "earthquake", "reviewed", ""
    ev["updated"] = ev["time"]
    ev["mag_type"] = ev["mag_type"].fillna("")
    st = EventStore(store)
    st.apply(FeedBatch(ev[FEED_COLUMNS]))
    st.commit()
    proc, url = start_server(models, store)
    yield {"url": url, "models": models, "store": store, "catalog": sample_catalog, "base": base}
    stop(proc)


def get(served, path, **params):
    return httpx.get(served["url"] + path, params=params, timeout=120)


def test_health_and_model_store(served):
    h = get(served, "/health").json()
    assert h["status"] == "ok" and h["models"] == 2 and h["models_rejected"] == 1
    assert h["events"] == len(served["catalog"])
    listing = {m["name"]: m for m in get(served, "/v1/models").json()["models"]}
    from quakelab.service import sha256_file

    assert listing["ridgecrest-spatial"]["sha256"] == sha256_file(
        served["models"] / "ridgecrest-spatial" / "model.json"
    )
    assert listing["ridgecrest-spatial"]["verified"] and listing["ridgecrest-temporal"]["verified"]
    assert not listing["tampered"]["verified"] and "checksum" in listing["tampered"]["error"]


def test_events_filters_and_pages(served):
    cat = served["catalog"]
    r = get(served, "/v1/events", min_magnitude=4.5, limit=1000).json()
    assert r["total"] == int((cat["magnitude"] >= 4.5).sum()) == len(r["events"])
    box = (-117.7, -117.5, 35.6, 35.8)
    r = get(served, "/v1/events", bbox=",".join(map(str, box)), limit=1000).json()
    inside = cat["longitude"].between(box[0], box[1]) & cat["latitude"].between(box[2], box[3])
    assert r["total"] == int(inside.sum())
    p1 = get(served, "/v1/events", limit=10, offset=0, start="2019-07-07").json()
    p2 = get(served, "/v1/events", limit=10, offset=10, start="2019-07-07").json()
    assert p1["total"] == p2["total"] == int((cat["time"] >= pd.Timestamp("2019-07-07", tz="UTC")).sum())
    assert not {e["event_id"] for e in p1["events"]} & {e["event_id"] for e in p2["events"]}
    for params, name in [
        ({"limit": 100000}, "limit"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"start": "yesterday-ish"}, "start"),
    ]:
        resp = get(served, "/v1/events", **params)
        assert resp.status_code == 422 and name in resp.text


@pytest.mark.slow
def test_gridded_forecast_formats_and_caps(served):
    base = {
        "model": "ridgecrest-spatial",
        "start": "2019-07-06T05:00:00",
        "days": 1,
        "n_simulations": 4,
        "cell_deg": 0.25,
        "seed": 1,
    }
    doc = get(served, "/v1/forecast", **base).json()
    grid = np.array(doc["expected_count"])
    assert grid.shape == (len(doc["magnitude"]), 6, 6) and doc["total_expected"] > 0 and np.all(grid >= 0)
    nc = get(served, "/v1/forecast", **{**base, "format": "netcdf"})
    assert nc.status_code == 200 and nc.content[:3] == b"CDF"
    rows = get(served, "/v1/forecast", **{**base, "format": "pycsep"}).text.strip().splitlines()
    assert len(rows) == grid.size and len(rows[0].split()) == 10
    assert abs(sum(float(r.split()[8]) for r in rows) - doc["total_expected"]) < 1e-3 * doc["total_expected"]
    for params, status, name in [
        ({"n_simulations": 10**6}, 422, "n_simulations"),
        ({"days": 5000}, 422, "days"),
        ({"model": "../../etc/passwd"}, 422, "model"),
        ({"model": "nope"}, 404, "model"),
        ({"model": "tampered"}, 422, "model"),
        ({"model": "ridgecrest-temporal"}, 422, "model"),
        ({"cell_deg": 0.0005}, 422, "cell_deg"),
        ({"format": "xml"}, 422, "format"),
    ]:
        resp = get(served, "/v1/forecast", **{**base, **params})
        assert resp.status_code == status and name in resp.text, (params, resp.text)


def test_aftershock_product_endpoint(served):
    params = {
        "time": "2019-07-06T03:19:53",
        "latitude": 35.770,
        "longitude": -117.599,
        "magnitude": 7.1,
        "start": "2019-07-07T03:19:53",
        "models": "rj_generic,rj_sequence,rj_bayesian",
    }
    doc = get(served, "/v1/aftershock-forecast", **params).json()
    assert doc["schema"] == "quakelab.aftershock-forecast" and doc["mainshock"]["magnitude"] == 7.1
    assert [m["key"] for m in doc["models"]] == ["rj_generic", "rj_sequence", "rj_bayesian"]
    day = doc["models"][0]["forecast"][0]
    assert day["label"] == "1 Day" and [b["magnitude"] for b in day["bins"]] == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert day["aboveMainshockMag"]["magnitude"] == 7.1
    # the same by event id of the store (the M5.5 aftershock), with the stored temporal ETAS as fallback model
    big = served["catalog"].loc[served["catalog"]["magnitude"].idxmax()]
    doc = get(
        served,
        "/v1/aftershock-forecast",
        event=big["event_id"],
        start="2019-07-07T00:00:00",
        models="rj_generic,etas",
        etas_model="ridgecrest-temporal",
        n_simulations=5,
    ).json()
    etas = next(m for m in doc["models"] if m["key"] == "etas")
    assert "regional" in etas["parameters"]["source"]
    for extra, name in [
        ({"models": "magic"}, "models"),
        ({"start": "2019-07-01"}, "start"),
        ({"n_simulations": 10**7}, "n_simulations"),
        ({"etas_model": "../x"}, "etas_model"),
    ]:
        resp = get(served, "/v1/aftershock-forecast", **{**params, **extra})
        assert resp.status_code == 422 and name in resp.text, resp.text
    resp = get(served, "/v1/aftershock-forecast", event="no-such-event")
    assert resp.status_code == 404 and "event" in resp.text


def test_store_changes_are_picked_up_and_metrics(served):
    from quakelab.models import ETAS
    from quakelab.service import save_etas_model

    before = get(served, "/v1/models").json()["reloads"]
    save_etas_model(
        ETAS(min_magnitude=3.0, spatial=False).set_params(TEMPORAL, beta=2.3), "added-later", served["models"]
    )
    listing = get(served, "/v1/models").json()
    assert "added-later" in {m["name"] for m in listing["models"]} and listing["reloads"] > before
    text = get(served, "/metrics").text
    assert "quakelab_http_requests_total" in text and 'endpoint="/v1/models"' in text
    assert "quakelab_models_loaded 3.0" in text


def test_metrics_include_the_live_monitor(served):
    """The monitor's metrics.prom in the event store (written after each of its polls) is served too."""
    from quakelab.realtime.metrics import MonitorMetrics

    mm = MonitorMetrics()
    mm.poll_failed("timeout", 0.5)
    mm.poll_succeeded(12, 0.2, None, 820)
    mm.write(served["store"] / "metrics.prom")
    text = get(served, "/metrics").text
    assert 'quakelab_monitor_failures_total{kind="timeout"} 1.0' in text
    assert "quakelab_monitor_batch_size 12.0" in text and "quakelab_monitor_store_events 820.0" in text
    assert "quakelab_http_requests_total" in text


@pytest.mark.slow
def test_slow_forecast_does_not_block_cheap_endpoints(served):
    slow = {
        "model": "ridgecrest-spatial",
        "start": "2019-07-06T05:00:00",
        "days": 365,  # a year of 2,000 simulated catalogs: seconds of work in the process pool
        "n_simulations": 2000,
        "cell_deg": 0.05,
    }
    done = {}

    def run():
        t = time.perf_counter()
        done["status"] = get(served, "/v1/forecast", **slow).status_code
        done["seconds"] = time.perf_counter() - t

    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.05)
    lat = []
    while th.is_alive() and len(lat) < 50:
        t = time.perf_counter()
        assert get(served, "/health").status_code == 200
        lat.append(time.perf_counter() - t)
    th.join()
    assert done["status"] == 200
    assert done["seconds"] > 1.0, done  # the request really was slow
    assert lat and max(lat) < max(1.0, 0.5 * done["seconds"]), (lat, done)


@pytest.mark.slow
def test_token_required_off_loopback_and_checked(served):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("QUAKELAB_TOKEN", None)
    r = subprocess.run(
        [sys.executable, "-m", "quakelab.cli", "serve", "--host", "0.0.0.0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "token" in r.stderr
    proc, url = start_server(served["models"], served["store"], "--token", "s3cret")
    try:
        assert httpx.get(url + "/v1/models", timeout=10).status_code == 401
        assert (
            httpx.get(url + "/v1/models", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code
            == 401
        )
        ok = httpx.get(url + "/v1/models", headers={"Authorization": "Bearer s3cret"}, timeout=10)
        assert ok.status_code == 200 and json.loads(ok.text)["models"]
        assert httpx.get(url + "/health", timeout=10).status_code == 200
        assert (
            "/v1/aftershock-forecast"
            in httpx.get(url + "/openapi.json", headers={"Authorization": "Bearer s3cret"}, timeout=10).text
        )
    finally:
        stop(proc)
