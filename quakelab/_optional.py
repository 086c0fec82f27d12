"""Optional dependencies and the extras that install them.

A plain ``pip install quakelab`` gives the catalog, statistics, models, evaluation and the Papermill
pipeline. The rest comes with extras:

========  ===================================================  ==========================================
extra     installs                                             needed by
========  ===================================================  ==========================================
``ml``    scikit-learn, tensorflow-cpu                         :mod:`quakelab.learn`, ROC/PR plots
``dash``  voila, ipywidgets, jupyterlab                        :mod:`quakelab.dashboards`, ``quakelab dashboard``
``dist``  distributed, s3fs                                    ``dask.distributed`` clusters, ``s3://`` URLs
``bus``   redis                                                :mod:`quakelab.realtime.bus` (Redis Streams)
``kafka`` confluent-kafka                                      :class:`quakelab.realtime.bus.KafkaBus`
``all``   ml, dash, dist, serve, bus
``test``  pytest, pytest-timeout, nbval, ruff, playwright      the test suite
========  ===================================================  ==========================================

Code that needs an optional package imports it through :func:`require`, which names the extra to install
when the package is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

#: Top-level module -> (distribution on PyPI, extra of quakelab that installs it, what needs it).
OPTIONAL: dict[str, tuple[str, str, str]] = {
    "sklearn": ("scikit-learn", "ml", "the learned forecasters (quakelab.learn)"),
    "joblib": ("joblib", "ml", "saving scikit-learn models"),
    "tensorflow": ("tensorflow-cpu", "ml", "the neural forecasters (quakelab.learn)"),
    "ipywidgets": ("ipywidgets", "dash", "the dashboards (quakelab.dashboards)"),
    "voila": ("voila", "dash", "serving the dashboards (quakelab dashboard)"),
    "jupyterlab": ("jupyterlab", "dash", "JupyterLab"),
    "distributed": ("distributed", "dist", "running on a dask.distributed cluster"),
    "s3fs": ("s3fs", "dist", "reading s3:// URLs"),
    "fastapi": ("fastapi", "serve", "the forecast service (quakelab serve)"),
    "uvicorn": ("uvicorn", "serve", "the forecast service (quakelab serve)"),
    "prometheus_client": ("prometheus-client", "serve", "the service's /metrics endpoint"),
    "redis": ("redis", "bus", "the Redis Streams bus (quakelab.realtime.bus)"),
    "confluent_kafka": ("confluent-kafka", "kafka", "the Kafka bus (quakelab.realtime.bus)"),
}


class MissingOptionalDependency(ModuleNotFoundError):
    """An optional package is not installed; the message names the quakelab extra that installs it."""


def install_hint(extra: str) -> str:
    """The command that installs a quakelab extra, e.g. ``pip install 'quakelab[ml]'``."""
    return f"pip install 'quakelab[{extra}]'"


def _provider(module: str) -> str:
    """The top-level package that provides a module (``dask.distributed`` is a shim over ``distributed``)."""
    if module == "dask.distributed" or module.startswith("dask.distributed."):
        return "distributed"
    return module.split(".")[0]


def _message(top: str, extra: str | None, purpose: str) -> str:
    dist, default_extra, default_purpose = OPTIONAL.get(top, (top, "", ""))
    extra = extra or default_extra
    what = purpose or default_purpose
    msg = f"{dist} is not installed" + (f"; it is needed for {what}" if what else "")
    if extra:
        msg += f". Install quakelab's '{extra}' extra: {install_hint(extra)} (or {install_hint('all')})"
    return msg


def require(
    module: str, extra: str | None = None, *, purpose: str = "", load: bool = True
) -> ModuleType | None:
    """Import an optional module, or raise an error that says which quakelab extra installs it.

    Parameters
    ----------
    module : str
        Module name, e.g. ``"sklearn.metrics"`` or ``"tensorflow"``.
    extra : str, optional
        The extra that installs it (``"ml"``, ``"dash"``, ``"dist"``); by default looked up in
        :data:`OPTIONAL` from the top-level package name.
    purpose : str, optional
        What needs it, for the message (default from :data:`OPTIONAL`).
    load : bool, default True
        Import the module and return it; with False only check that it is installed (no import cost)
        and return None.

    Returns
    -------
    module or None
        The imported module (None when ``load`` is False).

    Raises
    ------
    MissingOptionalDependency
        The package is not installed (a subclass of :class:`ModuleNotFoundError`). An error raised
        while importing an installed package (e.g. one of *its* dependencies missing) is not masked.
        ``dask.distributed`` counts as the ``distributed`` package (the ``dist`` extra).

    Examples
    --------
    >>> np = require("numpy")
    >>> require("a_package_that_is_not_there", "ml")
    Traceback (most recent call last):
    ...
    quakelab._optional.MissingOptionalDependency: a_package_that_is_not_there is not installed. Install \
quakelab's 'ml' extra: pip install 'quakelab[ml]' (or pip install 'quakelab[all]')
    """
    top = _provider(module)
    if importlib.util.find_spec(top) is None:
        raise MissingOptionalDependency(_message(top, extra, purpose), name=top)
    # installed: import it, and let an error of the package itself (e.g. one of *its* dependencies missing) show
    return importlib.import_module(module) if load else None


def available(module: str) -> bool:
    """Whether a module's top-level package is installed (without importing it)."""
    try:
        return importlib.util.find_spec(_provider(module)) is not None
    except (ImportError, ValueError):
        return False
