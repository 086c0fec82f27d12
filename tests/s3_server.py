"""A real S3-compatible server on 127.0.0.1 for tests: moto's server mode in its own process.

:class:`MotoS3Server` starts ``python -m moto.server`` on a free port, waits until it answers and stops it
(by its process id) on exit. :func:`fill_bucket` creates a bucket and uploads test inputs to it through
s3fs, the same client quakelab reads with.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

#: Dummy credentials and region of the test server (moto accepts any).
KEY, SECRET, REGION = "quakelab-test-key", "quakelab-test-secret", "us-east-1"
BUCKET = "quakelab-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoS3Server:
    """``with MotoS3Server() as server: server.endpoint_url`` — moto's S3 server in a subprocess."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def storage_options(self) -> dict[str, Any]:
        """fsspec/s3fs options pointing at this server."""
        return {
            "key": KEY,
            "secret": SECRET,
            "endpoint_url": self.endpoint_url,
            "client_kwargs": {"region_name": REGION},
        }

    def launch(self) -> MotoS3Server:
        """Start the server process (returns at once; :meth:`wait` for it to answer)."""
        self.port = free_port()
        env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        return self

    def wait(self) -> MotoS3Server:
        """Wait until the server answers; raise (after stopping it) when it does not."""
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline and self.proc is not None and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        code = None if self.proc is None else self.proc.poll()
        self.stop()
        raise RuntimeError(f"moto's S3 server did not answer on {self.endpoint_url} (exit code {code})")

    def start(self) -> MotoS3Server:
        """Launch and wait (a second port is tried when the first was taken meanwhile)."""
        try:
            return self.launch().wait()
        except RuntimeError:
            return self.launch().wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> MotoS3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def fill_bucket(storage_options: dict[str, Any], files: dict[str, Path], bucket: str = BUCKET) -> None:
    """Create ``bucket`` and upload ``files`` (key -> local file or folder, folders recursively)."""
    import s3fs

    fs = s3fs.S3FileSystem(**storage_options)
    if not fs.exists(bucket):
        fs.call_s3("create_bucket", Bucket=bucket)
    for key, local in files.items():
        local = Path(local)
        if local.is_dir():
            for f in sorted(p for p in local.rglob("*") if p.is_file()):
                fs.put_file(str(f), f"{bucket}/{key}/{f.relative_to(local).as_posix()}")
        else:
            fs.put_file(str(local), f"{bucket}/{key}")
    fs.invalidate_cache()
