"""A real FDSN dataselect + station service on 127.0.0.1 serving ObsPy's real example recording
(BW.RJOB, 2009-08-24, 100 Hz, 3 components) and its StationXML; faults are queued like in
tests/fdsn_server.py ("500", "timeout")."""

from __future__ import annotations

import io
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import obspy


class WaveformServer:
    def __init__(self, hold_s: float = 2.0) -> None:
        self.stream = obspy.read()
        self.inventory = obspy.read_inventory()
        self.faults: deque[str] = deque()
        self.requests: list[dict] = []
        self.hold_s = hold_s
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handle(self, h):
        parsed = urlparse(h.path)
        q = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        fault = self.faults.popleft() if self.faults else None
        rec = {"path": parsed.path, "query": q, "fault": fault, "status": None}
        self.requests.append(rec)
        if fault == "timeout":
            time.sleep(self.hold_s)
            return self._send(h, rec, 503, b"late")
        if fault == "500":
            return self._send(h, rec, 500, b"Error 500: internal error")
        if parsed.path.startswith("/fdsnws/dataselect/1/query"):
            st = self.stream.select(network=q.get("network", q.get("net", "*")),
                                    station=q.get("station", q.get("sta", "*")),
                                    channel=q.get("channel", q.get("cha", "*"))).slice(obspy.UTCDateTime(q["starttime"]),
                                                                     obspy.UTCDateTime(q["endtime"]))
            st = obspy.Stream([tr for tr in st if tr.stats.npts > 0])
            if not len(st):
                return self._send(h, rec, 204, b"")
            buf = io.BytesIO()
            for tr in st:
                tr.data = tr.data.astype("int32") if tr.data.dtype.kind == "i" else tr.data.astype("float32")
            st.write(buf, format="MSEED")
            return self._send(h, rec, 200, buf.getvalue(), "application/vnd.fdsn.mseed")
        if parsed.path.startswith("/fdsnws/station/1/query"):
            buf = io.BytesIO()
            self.inventory.select(network=q.get("network", "*"), station=q.get("station", "*"),
                                  channel=q.get("channel", "*")).write(buf, format="STATIONXML")
            return self._send(h, rec, 200, buf.getvalue(), "application/xml")
        return self._send(h, rec, 404, b"not found")

    @staticmethod
    def _send(h, rec, status, body, ctype="text/plain"):
        rec["status"] = status
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if body:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
