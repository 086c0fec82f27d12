"""Operational aftershock forecasts: the product operators publish after a significant earthquake.

Reasenberg–Jones generic (regional parameters of Page et al. 2016 and Hardebeck et al. 2019),
sequence-specific and Bayesian models, and ETAS, with the time-dependent completeness of Page et al. (2016);
see :func:`aftershock_forecast` and ``docs/aftershock_product.md``.
"""

from quakelab.aftershock.generic import (
    COMPLETENESS,
    GENERIC_RJ,
    Completeness,
    GenericRJ,
    RegimeChoice,
    regime_for,
)
from quakelab.aftershock.product import (
    MAGNITUDES,
    MODEL_KEYS,
    SCHEMA,
    SCHEMA_VERSION,
    WINDOWS,
    AftershockForecast,
    Mainshock,
    ModelForecast,
    ProductError,
    aftershock_forecast,
    compare_with_observed,
    search_radius_km,
    select_sequence,
)
from quakelab.aftershock.rj import (
    PoissonMixture,
    RJParameterSet,
    SequenceData,
    bayesian_model,
    fit_sequence,
    generic_model,
    omori_integral,
)

__all__ = [
    "COMPLETENESS",
    "GENERIC_RJ",
    "MAGNITUDES",
    "MODEL_KEYS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "WINDOWS",
    "AftershockForecast",
    "Completeness",
    "GenericRJ",
    "Mainshock",
    "ModelForecast",
    "PoissonMixture",
    "ProductError",
    "RJParameterSet",
    "RegimeChoice",
    "SequenceData",
    "aftershock_forecast",
    "bayesian_model",
    "compare_with_observed",
    "fit_sequence",
    "generic_model",
    "omori_integral",
    "regime_for",
    "search_radius_km",
    "select_sequence",
]
