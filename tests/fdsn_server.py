"""A real FDSN event web service on 127.0.0.1 for tests.

It answers ``/fdsnws/event/1/query`` the way FDSN services do: QuakeML (HTTP 200) for the events in
the requested window, 204 when there are none, 413 when more events match than ``max_events``. Its
events are real ComCat solutions of the 2019 Ridgecrest sequence (pycsep's bundled sample). Faults are
queued with :meth:`FDSNTestServer.inject` and served to the next requests in order: ``"500"``,
``"503"``, ``"timeout"`` (the reply is held past the client's time-out), ``"malformed"``.
"""

from __future__ import annotations

import io
import time

import numpy as np
import obspy
import pandas as pd
from http_test_server import LocalHTTPService
from obspy.core.event import Catalog, Event, Magnitude, Origin, ResourceIdentifier


def to_obspy(catalog: pd.DataFrame) -> Catalog:
    """Canonical catalog -> ObsPy Catalog with USGS-style resource ids."""
    events = []
    for row in catalog.itertuples(index=False):
        rid = f"quakeml:earthquake.usgs.gov/fdsnws/event/1/query?eventid={row.event_id}&format=quakeml"
        origin = Origin(
            time=obspy.UTCDateTime(row.time.to_pydatetime()),
            latitude=row.latitude,
            longitude=row.longitude,
            depth=row.depth_km * 1000.0,
        )
        mag = Magnitude(mag=row.magnitude, magnitude_type=row.mag_type or "ml", origin_id=origin.resource_id)
        ev = Event(
            resource_id=ResourceIdentifier(rid), event_type="earthquake", origins=[origin], magnitudes=[mag]
        )
        ev.preferred_origin_id = origin.resource_id
        ev.preferred_magnitude_id = mag.resource_id
        events.append(ev)
    return Catalog(events=events)


class FDSNTestServer(LocalHTTPService):
    """FDSN event queries answered from an in-memory catalog."""

    def __init__(self, catalog: pd.DataFrame, *, max_events: int | None = None, hold_s: float = 2.0) -> None:
        super().__init__()
        self.catalog = catalog.sort_values("time").reset_index(drop=True)
        self.max_events = max_events
        self.hold_s = hold_s

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
            c = c[
                (c["latitude"] >= float(q["minlatitude"]))
                & (c["latitude"] <= float(q["maxlatitude"]))
                & (c["longitude"] >= float(q["minlongitude"]))
                & (c["longitude"] <= float(q["maxlongitude"]))
            ]
        return c

    def handle(self, h, path, q, fault, record) -> None:
        if not path.startswith("/fdsnws/event/1/query"):
            return self.send(h, record, 404, b"Error 404: not found\n")
        if fault == "timeout":
            time.sleep(self.hold_s)
            return self.send(h, record, 503, b"too late\n")
        if fault in ("500", "503"):
            return self.send(h, record, int(fault), f"Error {fault}: internal error\n".encode())
        if fault == "malformed":
            return self.send(h, record, 200, b"<?xml version='1.0'?><q:quakeml><broken", "application/xml")
        sel = self._select(q)
        record["n"] = len(sel)
        if self.max_events is not None and len(sel) > self.max_events:
            msg = f"Error 413: {len(sel)} events exceeds search limit of {self.max_events}\n"
            return self.send(h, record, 413, msg.encode())
        if sel.empty:
            return self.send(h, record, 204, b"")
        buf = io.BytesIO()
        to_obspy(sel).write(buf, format="QUAKEML")
        return self.send(h, record, 200, buf.getvalue(), "application/xml")


def sample_events() -> pd.DataFrame:
    """pycsep's ComCat sample with stable ids (the file has none)."""
    from quakelab.datasets import load

    cat = load("ridgecrest-2019-sample")
    cat["event_id"] = [f"ci{n:08d}" for n in np.arange(len(cat))]
    cat["mag_type"] = "ml"
    return cat
