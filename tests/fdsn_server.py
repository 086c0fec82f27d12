"""A real FDSN event web service on 127.0.0.1 for tests.

It answers ``/fdsnws/event/1/query`` the way FDSN services do: QuakeML (HTTP 200) for the events in
the requested window, 204 when there are none, 413 when more events match than ``max_events``. Its
events are real ComCat solutions of the 2019 Ridgecrest sequence (pycsep's bundled sample). Faults are
queued with :meth:`FDSNTestServer.inject` and served to the next requests in order: ``"500"``,
``"503"``, ``"timeout"`` (the reply is held past the client's time-out), ``"malformed"``.
"""

from __future__ import annotations

import io
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np
import obspy
import pandas as pd
from obspy.core.event import Catalog, Event, Magnitude, Origin, ResourceIdentifier


def to_obspy(catalog: pd.DataFrame) -> Catalog:
    """Canonical catalog -> ObsPy Catalog with USGS-style resource ids."""
    events = []
    for row in catalog.itertuples(index=False):
        rid = f"quakeml:earthquake.usgs.gov/fdsnws/event/1/query?eventid={row.event_id}&format=quakeml"
        origin = Origin(time=obspy.UTCDateTime(row.time.to_pydatetime()), latitude=row.latitude,
                        longitude=row.longitude, depth=row.depth_km * 1000.0)
        mag = Magnitude(mag=row.magnitude, magnitude_type=row.mag_type or "ml", origin_id=origin.resource_id)
        ev = Event(resource_id=ResourceIdentifier(rid), event_type="earthquake", origins=[origin],
                   magnitudes=[mag])
        ev.preferred_origin_id = origin.resource_id
        ev.preferred_magnitude_id = mag.resource_id
        events.append(ev)
    return Catalog(events=events)


class FDSNTestServer:
    """Threaded HTTP server answering FDSN event queries from an in-memory catalog."""

    def __init__(self, catalog: pd.DataFrame, *, max_events: int | None = None, hold_s: float = 2.0) -> None:
        self.catalog = catalog.sort_values("time").reset_index(drop=True)
        self.max_events = max_events
        self.hold_s = hold_s
        self.faults: deque[str] = deque()
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def inject(self, *faults: str) -> None:
        self.faults.extend(faults)

    def __enter__(self) -> FDSNTestServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _select(self, q: dict[str, str]) -> pd.DataFrame:
        c = self.catalog
        t = c["time"]
        if "starttime" in q:
            t0 = pd.Timestamp(q["starttime"]).tz_localize("UTC")
            c, t = c[t >= t0], t[t >= t0]
        if "endtime" in q:
            t1 = pd.Timestamp(q["endtime"]).tz_localize("UTC")
            c = c[t <= t1]  # FDSN: end time inclusive
        if "minmagnitude" in q:
            c = c[c["magnitude"] >= float(q["minmagnitude"])]
        if "minlatitude" in q:
            c = c[(c["latitude"] >= float(q["minlatitude"])) & (c["latitude"] <= float(q["maxlatitude"]))
                  & (c["longitude"] >= float(q["minlongitude"])) & (c["longitude"] <= float(q["maxlongitude"]))]
        return c

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(h.path)
        q = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
        record = {"path": parsed.path, "query": q, "fault": fault, "status": None, "n": 0}
        self.requests.append(record)
        if not parsed.path.startswith("/fdsnws/event/1/query"):
            return self._send(h, record, 404, b"Error 404: not found\n")
        if fault == "timeout":
            time.sleep(self.hold_s)
            return self._send(h, record, 503, b"too late\n")
        if fault in ("500", "503"):
            return self._send(h, record, int(fault), f"Error {fault}: internal error\n".encode())
        if fault == "malformed":
            return self._send(h, record, 200, b"<?xml version='1.0'?><q:quakeml><broken", "application/xml")
        sel = self._select(q)
        record["n"] = len(sel)
        if self.max_events is not None and len(sel) > self.max_events:
            msg = f"Error 413: {len(sel)} events exceeds search limit of {self.max_events}\n"
            return self._send(h, record, 413, msg.encode())
        if sel.empty:
            return self._send(h, record, 204, b"")
        buf = io.BytesIO()
        to_obspy(sel).write(buf, format="QUAKEML")
        return self._send(h, record, 200, buf.getvalue(), "application/xml")

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, record: dict, status: int, body: bytes,
              ctype: str = "text/plain") -> None:
        record["status"] = status
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if body:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # client gave up (time-out test)
            pass


def sample_events() -> pd.DataFrame:
    """pycsep's ComCat sample with stable ids (the file has none)."""
    from quakelab.datasets import load

    cat = load("ridgecrest-2019-sample")
    cat["event_id"] = [f"ci{n:08d}" for n in np.arange(len(cat))]
    cat["mag_type"] = "ml"
    return cat
