"""``quakelab dashboard NAME``: start Voila on one dashboard notebook with the project's settings."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from quakelab._optional import require

#: Dashboard names and their notebooks (relative to the project root). These repository copies are the
#: entry points of Binder and of Voila run by hand; identical copies ship inside the package
#: (``quakelab/dashboards/notebooks/``, a test keeps them equal) so an installed quakelab serves them too.
DASHBOARDS = {
    "catalog": "notebooks/dashboards/catalog_explorer.ipynb",
    "forecast": "notebooks/dashboards/forecast.ipynb",
    "monitor": "notebooks/dashboards/live_monitor.ipynb",
}
LOCAL_ADDRESSES = {"127.0.0.1", "localhost", "::1"}


def notebook_path(name: str, root: str | os.PathLike | None = ".") -> Path:
    """The notebook of a dashboard: the project's copy under ``root`` when it is there, else the packaged one.

    Parameters
    ----------
    name : {"catalog", "forecast", "monitor"}
        Dashboard name.
    root : path-like, optional
        Project root (a source checkout); None: always the copy shipped in the package.

    Returns
    -------
    pathlib.Path
        Absolute path of an existing notebook.

    Raises
    ------
    ValueError
        Unknown dashboard name.
    FileNotFoundError
        Neither copy exists.

    Examples
    --------
    >>> notebook_path("forecast", root=None).name
    'forecast.ipynb'
    """
    if name not in DASHBOARDS:
        raise ValueError(f"unknown dashboard {name!r}; choose from {sorted(DASHBOARDS)}")
    rel = Path(DASHBOARDS[name])
    if root is not None and (Path(root) / rel).is_file():
        return (Path(root) / rel).resolve()
    packaged = Path(__file__).resolve().parent / "notebooks" / rel.name
    if packaged.is_file():
        return packaged
    raise FileNotFoundError(
        f"dashboard notebook {rel.name} not found under {root} nor in the package ({packaged})"
    )


def dashboard_command(
    name: str,
    *,
    root: str | os.PathLike = ".",
    port: int = 8866,
    ip: str = "127.0.0.1",
    token: str | None = None,
    open_browser: bool = True,
    preheat: bool = True,
) -> tuple[list[str], str | None]:
    """The Voila command line of a dashboard, and the token it requires (None on a loopback address).

    The notebook is the project's copy under ``root`` when there is one, else the one shipped in the package
    (:func:`notebook_path`). Binding to anything but a loopback address requires a token: the given one, or a
    new random one.
    Code cells are hidden (Voila strips sources), tracebacks are not sent to the browser, and one kernel
    is pre-heated so the first visitor does not wait for the notebook to run.

    Raises
    ------
    ValueError
        Unknown dashboard name.
    quakelab._optional.MissingOptionalDependency
        Voila is not installed (the ``dash`` extra).
    """
    nb = notebook_path(name, root)
    require("voila", "dash", load=False)
    if ip not in LOCAL_ADDRESSES and not token:
        token = secrets.token_urlsafe(24)
    # Voila serves only files under its root: the notebook's own folder (the reports and the live store
    # are passed to the kernels as absolute paths by dashboard_env)
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(nb),
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--Voila.root_dir=" + str(nb.parent),
    ]
    if preheat:
        cmd += ["--preheat_kernel=True", "--pool_size=1"]
    if not open_browser:
        cmd.append("--no-browser")
    if token:
        cmd.append(f"--token={token}")
    return cmd, token


def dashboard_env(root: str | os.PathLike = ".") -> dict[str, str]:
    """Environment of the dashboard kernels: where the reports, the live store and the shared catalogs are
    (absolute paths: the kernels run in the notebook's folder, which is inside the package when installed)."""
    root = Path(root).resolve()
    env = dict(os.environ)
    env.setdefault("QUAKELAB_REPORTS", str(root / "reports"))
    env.setdefault("QUAKELAB_LIVE_DIR", str(root / "data" / "live"))
    if "QUAKELAB_SHARED_DATA" not in env:
        from quakelab.datasets import shared_data_dir

        shared = shared_data_dir()
        if shared is not None:
            env["QUAKELAB_SHARED_DATA"] = str(shared)
    env["MPLBACKEND"] = "Agg"  # the apps render their figures to PNG themselves
    return env


def serve(name: str, **kwargs) -> int:
    """Run a dashboard until interrupted (prints the URL, with the token when one is required)."""
    cmd, token = dashboard_command(name, **kwargs)
    port, ip = kwargs.get("port", 8866), kwargs.get("ip", "127.0.0.1")
    url = f"http://{ip if ':' not in ip else f'[{ip}]'}:{port}/" + (f"?token={token}" if token else "")
    print(f"quakelab dashboard {name}: {url}", flush=True)
    if token:
        print("  (not a loopback address: the token is required)", flush=True)
    # replace this process by Voila, so that signals (Ctrl-C, SIGTERM from a service manager) reach it directly
    os.execve(cmd[0], cmd, dashboard_env(kwargs.get("root", ".")))
    return 0  # pragma: no cover - not reached


class DashboardServer:
    """A dashboard served by Voila in a child process, for scripts, tests and benchmarks.

    Examples
    --------
    >>> with DashboardServer("catalog") as srv:  # doctest: +SKIP
    ...     print(srv.url)
    """

    def __init__(
        self,
        name: str,
        *,
        root: str | os.PathLike = ".",
        port: int | None = None,
        env: dict | None = None,
        preheat: bool = True,
        log_path: str | os.PathLike | None = None,
        startup_timeout_s: float = 120.0,
    ) -> None:
        import socket

        if port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.name, self.port, self.root = name, int(port), Path(root)
        self.cmd, _ = dashboard_command(name, root=root, port=self.port, open_browser=False, preheat=preheat)
        self.env = {**dashboard_env(root), **(env or {})}
        self.log_path = Path(log_path) if log_path else None
        self.startup_timeout_s = startup_timeout_s
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> DashboardServer:
        import socket
        import subprocess
        import time

        log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.startup_timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited with {self.proc.returncode} (log: {self.log_path})")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise TimeoutError(f"voila did not listen on port {self.port} within {self.startup_timeout_s} s")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except Exception:
                self.proc.kill()
                self.proc.wait()
