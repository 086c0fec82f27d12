"""A real FDSN dataselect + station service on 127.0.0.1 serving ObsPy's real example recording
(BW.RJOB, 2009-08-24, 100 Hz, 3 components) and its StationXML; faults ("500", "timeout") are queued
as in tests/fdsn_server.py."""

from __future__ import annotations

import io
import time

import obspy
from http_test_server import LocalHTTPService


class WaveformServer(LocalHTTPService):
    def __init__(self, hold_s: float = 2.0) -> None:
        super().__init__()
        self.stream = obspy.read()
        self.inventory = obspy.read_inventory()
        self.hold_s = hold_s

    def handle(self, h, path, q, fault, record) -> None:
        if fault == "timeout":
            time.sleep(self.hold_s)
            return self.send(h, record, 503, b"late")
        if fault == "500":
            return self.send(h, record, 500, b"Error 500: internal error")
        if path.startswith("/fdsnws/dataselect/1/query"):
            st = self.stream.select(
                network=q.get("network", "*"), station=q.get("station", "*"), channel=q.get("channel", "*")
            ).slice(obspy.UTCDateTime(q["starttime"]), obspy.UTCDateTime(q["endtime"]))
            st = obspy.Stream([tr for tr in st if tr.stats.npts > 0])
            if not len(st):
                return self.send(h, record, 204, b"")
            for tr in st:
                tr.data = tr.data.astype("int32") if tr.data.dtype.kind == "i" else tr.data.astype("float32")
            buf = io.BytesIO()
            st.write(buf, format="MSEED")
            return self.send(h, record, 200, buf.getvalue(), "application/vnd.fdsn.mseed")
        if path.startswith("/fdsnws/station/1/query"):
            buf = io.BytesIO()
            self.inventory.select(
                network=q.get("network", "*"), station=q.get("station", "*"), channel=q.get("channel", "*")
            ).write(buf, format="STATIONXML")
            return self.send(h, record, 200, buf.getvalue(), "application/xml")
        return self.send(h, record, 404, b"not found")
