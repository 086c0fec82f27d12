"""A real ``redis-server`` (Debian's package) on 127.0.0.1, on a free port, with its files in a temporary
directory; stopped at the end. Tests that need it skip, saying why, when it is not installed (``make test``
installs it when run as root or with password-less sudo) and fail in CI."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REDIS_SERVER = (
    os.environ.get("QUAKELAB_REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
)


def require_redis_server() -> str:
    """The redis-server executable, or skip (fail in CI) saying how to install it."""
    if not Path(REDIS_SERVER).exists():
        reason = (
            f"redis-server not found at {REDIS_SERVER}: install Debian's package (apt-get install -y "
            "redis-server; `make test` does it when run as root)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason + " - the bus tests must run in CI")
        pytest.skip(reason)
    pytest.importorskip("redis", reason="redis-py is not installed (pip install 'quakelab[bus]')")
    return REDIS_SERVER


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``with RedisServer(tmp_path) as r: r.url`` - a redis-server process of our own.

    ``appendonly=True`` turns on the append-only file (fsync at every write), for persistence tests;
    otherwise nothing is written to disk.
    """

    def __init__(self, directory: Path, *, port: int | None = None, appendonly: bool = False) -> None:
        self.exe = require_redis_server()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
            if self.appendonly
            else ["--appendonly", "no", "--save", ""]
        )
        self.proc = subprocess.Popen(
            [self.exe, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory)]
            + persistence
            + ["--daemonize", "no", "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.time() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if self.proc.poll() is not None or time.time() > deadline:
                    log = (
                        (self.directory / "redis.log").read_text()[-2000:]
                        if (self.directory / "redis.log").exists()
                        else ""
                    )
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}: {log}") from None
                time.sleep(0.02)
        client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis-server flushes the AOF and exits
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
