"""Forecasting models: ETAS (spatio-temporal and temporal) and reference models.

Imported lazily by notebooks (``from quakelab.models import ETAS``); numba compiles the ETAS inner loops
on first use and caches them.
"""

from quakelab.models.etas import (
    ETAS,
    PARAMETER_NAMES,
    ETASConvergenceError,
    ETASError,
    ETASFallbackWarning,
    ETASParameters,
    ETASSupercriticalWarning,
    branching_ratio,
    estimate_beta,
)
from quakelab.models.poisson import PoissonModel
from quakelab.models.reasenberg_jones import ReasenbergJones
from quakelab.models.smoothed import SmoothedSeismicity

__all__ = [
    "PoissonModel",
    "ReasenbergJones",
    "SmoothedSeismicity",
    "ETAS",
    "PARAMETER_NAMES",
    "ETASConvergenceError",
    "ETASError",
    "ETASFallbackWarning",
    "ETASParameters",
    "ETASSupercriticalWarning",
    "branching_ratio",
    "estimate_beta",
]
