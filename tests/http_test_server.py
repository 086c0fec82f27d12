"""Scaffolding shared by the test web services: a threaded HTTP server on 127.0.0.1 with a queue of
faults served to the next requests in order and a log of every request."""

from __future__ import annotations

import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class LocalHTTPService:
    """Subclasses implement ``handle(handler, path, query, fault, record)``."""

    def __init__(self) -> None:
        self.faults: deque[str] = deque()
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                parsed = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                with service._lock:
                    fault = service.faults.popleft() if service.faults else None
                record = {"path": parsed.path, "query": query, "fault": fault, "status": None, "n": 0}
                service.requests.append(record)
                service.handle(self, parsed.path, query, fault, record)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def handle(self, handler, path: str, query: dict, fault: str | None, record: dict) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def inject(self, *faults: str) -> None:
        self.faults.extend(faults)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def send(handler, record: dict, status: int, body: bytes, ctype: str = "text/plain") -> None:
        record["status"] = status
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if body:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (time-out tests)
            pass
