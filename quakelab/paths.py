"""Where quakelab reads and writes its working files, whether it runs from a source checkout or is installed.

Nothing here is derived from the location of the installed package alone: an installed quakelab works in
the current directory (or the nearest parent holding ``papermill_runs.yaml``), and environment variables
override each folder:

* ``QUAKELAB_REPORTS``: pipeline reports read by the dashboards (default ``<project>/reports``);
* ``QUAKELAB_LIVE_DIR``: the store of ``quakelab monitor`` (default ``<project>/data/live``);
* ``QUAKELAB_CACHE``: downloads, see :mod:`quakelab.catalog.fetch` (default ``~/.cache/quakelab``);
* ``QUAKELAB_SHARED_DATA``: the shared catalogs, see :mod:`quakelab.datasets` (default ``../shared/data``).

``<project>`` is :func:`project_root`.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_PARENT = Path(__file__).resolve().parent.parent


def source_root() -> Path | None:
    """The source checkout quakelab is imported from (an editable install), or None when it is installed.

    Returns
    -------
    pathlib.Path or None
        The directory holding ``pyproject.toml`` and ``papermill_runs.yaml`` beside the ``quakelab`` package.
    """
    d = _PACKAGE_PARENT
    if (d / "pyproject.toml").is_file() and (d / "papermill_runs.yaml").is_file():
        return d
    return None


def project_root() -> Path:
    """The project folder: the nearest directory holding ``papermill_runs.yaml`` from the working directory up.

    Voila and Binder start kernels in the notebook's folder, hence the search upwards. Without such a
    directory: the source checkout when quakelab runs from one, else the working directory.

    Returns
    -------
    pathlib.Path
        An absolute path.
    """
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "papermill_runs.yaml").is_file():
            return d
    return source_root() or here


def reports_dir() -> Path:
    """Pipeline reports: ``$QUAKELAB_REPORTS``, else ``reports/`` of :func:`project_root`."""
    env = os.environ.get("QUAKELAB_REPORTS")
    return Path(env).resolve() if env else project_root() / "reports"


def live_dir() -> Path:
    """Store of ``quakelab monitor``: ``$QUAKELAB_LIVE_DIR``, else ``data/live`` of :func:`project_root`."""
    env = os.environ.get("QUAKELAB_LIVE_DIR")
    return Path(env).resolve() if env else project_root() / "data" / "live"
