"""quakelab: a research workbench for earthquake forecasting.

The package stays thin: catalogs are :class:`pandas.DataFrame` objects with canonical columns
(see :mod:`quakelab.catalog`), gridded things are :mod:`xarray` objects and waveforms are
:class:`obspy.Stream` objects. Sub-packages are imported lazily so that ``import quakelab`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "QuakelabWarning",
    "__version__",
    "catalog",
    "cli",
    "cli_jobs",
    "dashboards",
    "datasets",
    "evaluate",
    "features",
    "learn",
    "models",
    "pipeline",
    "realtime",
    "region",
    "reports",
    "stats",
    "viz",
    "waveforms",
]

_SUBMODULES = set(__all__) - {"QuakelabWarning", "__version__"}  # imported on first attribute access


class QuakelabWarning(UserWarning):
    """Base class of the warnings quakelab itself emits (treated as errors in the test suite)."""


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"quakelab.{name}")
    raise AttributeError(f"module 'quakelab' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from quakelab import (  # noqa: F401
        catalog,
        datasets,
        evaluate,
        features,
        learn,
        models,
        pipeline,
        region,
        stats,
        viz,
        waveforms,
    )
