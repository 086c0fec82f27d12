"""fetch_catalog against a real HTTP server on 127.0.0.1 speaking the FDSN event protocol."""

import pandas as pd
import pytest
from fdsn_server import FDSNTestServer, sample_events

from quakelab.catalog import FDSNFetchError, fetch_catalog

START, END = "2019-07-06T00:00:00", "2019-07-13T06:00:00"


@pytest.fixture(scope="module")
def events():
    return sample_events()


def expected(events, start=START, end=END, min_mag=None):
    t = events["time"]
    sel = events[(t >= pd.Timestamp(start, tz="UTC")) & (t < pd.Timestamp(end, tz="UTC"))]
    if min_mag is not None:
        sel = sel[sel["magnitude"] >= min_mag]
    return sel


def fetch(server, tmp_path, sleeps=None, **kw):
    args = dict(
        provider=server.url,
        cache_dir=tmp_path,
        progress=False,
        chunk_days=2.0,
        timeout_s=5,
        backoff_s=0.5,
        sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
    )
    args.update(kw)
    return fetch_catalog(START, END, **args)


def query_windows(server):
    return [(r["query"].get("starttime"), r["query"].get("endtime")) for r in server.requests]


def test_chunks_and_cache(events, tmp_path):
    with FDSNTestServer(events) as srv:
        cat = fetch(srv, tmp_path, min_magnitude=3.0)
        n_first = len(srv.requests)
        again = fetch(srv, tmp_path, min_magnitude=3.0)
        assert len(srv.requests) == n_first  # everything came from the cache
    want = expected(events, min_mag=3.0)
    assert n_first == 4  # 7.25 days in 2-day chunks
    assert sorted(cat["event_id"]) == sorted(want["event_id"])
    assert len(cat) == len(want) == 451  # awk -F, 'NR>1 && $3>=3.0' sample_comcat_catalog.csv | wc -l
    assert cat["time"].is_monotonic_increasing and cat["event_id"].is_unique
    pd.testing.assert_frame_equal(cat, again)
    assert all(r["query"]["minmagnitude"] == "3.0" for r in srv.requests)


def test_too_large_is_split_until_under_limit(events, tmp_path):
    with FDSNTestServer(events, max_events=150) as srv:
        cat = fetch(srv, tmp_path)
        statuses = [r["status"] for r in srv.requests]
    assert 413 in statuses  # the first day after the M7.1 holds more than 150 events
    assert all(r["n"] <= 150 for r in srv.requests if r["status"] == 200)
    assert sorted(cat["event_id"]) == sorted(expected(events)["event_id"])


def test_row_limit_reached_triggers_split(events, tmp_path):
    # a service that truncates silently: we split whenever a chunk comes back full
    with FDSNTestServer(events) as srv:
        cat = fetch(srv, tmp_path, row_limit=200)
        sizes = [r["n"] for r in srv.requests if r["status"] == 200]
    assert max(sizes) >= 200 and len(cat) == len(expected(events))


def test_no_data_204(events, tmp_path):
    with FDSNTestServer(events) as srv:
        cat = fetch_catalog("2018-01-01", "2018-01-05", provider=srv.url, cache_dir=tmp_path, progress=False)
        assert [r["status"] for r in srv.requests] == [204]
    assert len(cat) == 0 and list(cat.columns[:2]) == ["event_id", "time"]


def test_transient_errors_are_retried_with_backoff(events, tmp_path):
    sleeps = []
    with FDSNTestServer(events, hold_s=2.0) as srv:
        srv.inject("500", "timeout", "malformed")
        cat = fetch(srv, tmp_path, sleeps=sleeps, min_magnitude=4.0, timeout_s=0.5)
        faults = [r["fault"] for r in srv.requests]
        statuses = [r["status"] for r in srv.requests]
    assert faults[:4] == ["500", "timeout", "malformed", None] and statuses[3] == 200
    assert sleeps == [0.5, 1.0, 2.0]  # exponential back-off for the first chunk's three failures
    assert len(cat) == len(expected(events, min_mag=4.0)) == 54


def test_persistent_failure_raises_then_resumes_from_cache(events, tmp_path):
    with FDSNTestServer(events) as srv:
        srv.inject("ok", "ok", "500", "500", "500")  # chunk 3 fails three times (max_retries=2)
        with pytest.raises(FDSNFetchError, match="failed after 2 retries.*2 chunks are cached"):
            fetch(srv, tmp_path, max_retries=2)
        done_before = len(srv.requests)
        cat = fetch(srv, tmp_path, max_retries=2)
        resumed = srv.requests[done_before:]
    assert len(resumed) == 2  # only the two chunks that were not cached
    assert resumed[0]["query"]["starttime"].startswith("2019-07-10")
    assert sorted(cat["event_id"]) == sorted(expected(events)["event_id"])


@pytest.mark.network
def test_live_usgs(tmp_path):
    cat = fetch_catalog(
        "2019-07-06",
        "2019-07-07",
        min_magnitude=5.0,
        bbox=(-118.5, -116.5, 35, 36.5),
        cache_dir=tmp_path,
        progress=False,
    )
    assert "ci38457511" in set(cat["event_id"])
