"""A real HTTP server on 127.0.0.1 replaying a recorded feed history as an FDSN event service would.

The history (``tests/data/feed/ridgecrest_timeline.json``) is a list of GeoJSON feature versions ordered
by ``updated``. The server's clock advances by ``release_per_request`` versions at every successful request;
``/fdsnws/event/1/query?updatedafter=T`` answers with the released versions updated after T (``format=geojson``,
deletions included), and ``/summary/all.geojson`` with the latest released version of every event, like a
USGS summary feed. Faults queued with ``inject`` are served to the next requests instead: ``"500"``,
``"timeout"`` (answers after ``timeout_s``), ``"malformed"`` (a truncated body), ``"ok"`` (normal).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
from http_test_server import LocalHTTPService

TIMELINE = Path(__file__).resolve().parents[1] / "data" / "feed" / "ridgecrest_timeline.json"


def load_timeline() -> list[dict]:
    return json.loads(TIMELINE.read_text())


def expected_state(versions: list[dict]) -> dict[str, dict]:
    """Latest version of every event after applying ``versions`` (deleted events removed)."""
    state: dict[str, dict] = {}
    for f in sorted(versions, key=lambda f: f["properties"]["updated"]):
        if f["properties"]["status"] == "deleted":
            state.pop(f["id"], None)
        else:
            state[f["id"]] = f
    return state


class FeedReplayServer(LocalHTTPService):
    def __init__(
        self, timeline: list[dict] | None = None, *, release_per_request: int = 100, timeout_s: float = 2.5
    ):
        super().__init__()
        self.timeline = timeline if timeline is not None else load_timeline()
        self.release_per_request = release_per_request
        self.released = 0
        self.timeout_s = timeout_s

    def handle(self, handler, path, query, fault, record):
        if fault == "500":
            return self.send(handler, record, 500, b"Internal Server Error")
        if fault == "timeout":
            time.sleep(self.timeout_s)
        if fault == "malformed":
            return self.send(
                handler,
                record,
                200,
                b'{"type": "FeatureCollection", "features": [{"type": "Feat',
                "application/json",
            )
        self.released = min(len(self.timeline), self.released + self.release_per_request)
        visible = self.timeline[: self.released]
        if path == "/fdsnws/event/1/query":
            after = query.get("updatedafter")
            if after:
                t = int(pd.Timestamp(after, tz="UTC").value // 1_000_000)
                visible = [f for f in visible if f["properties"]["updated"] > t]
            if not visible:
                return self.send(handler, record, 204, b"")
        elif path == "/summary/all.geojson":
            visible = [f for f in expected_state(visible).values()]
        else:
            return self.send(handler, record, 404, b"not found")
        record["n"] = len(visible)
        body = json.dumps(
            {"type": "FeatureCollection", "metadata": {"count": len(visible)}, "features": visible}
        )
        self.send(handler, record, 200, body.encode(), "application/json")
