"""Evaluation of forecasts: likelihood scores per test event (EarthquakeNPP definitions)."""

from quakelab.evaluate.benchmarks import SANJAC_10, SANJAC_10_PUBLISHED
from quakelab.evaluate.csep import (
    csep_tests,
    from_pycsep_forecast,
    information_gain,
    molchan,
    poisson_grid,
    read_catalog_forecast_csv,
    to_pycsep_catalog,
    to_pycsep_forecast,
    write_catalog_forecast_csv,
)
from quakelab.evaluate.likelihood import (
    LikelihoodScore,
    direct_log_likelihood,
    etas_test_scores,
    poisson_test_scores,
)

__all__ = [
    "csep_tests",
    "from_pycsep_forecast",
    "information_gain",
    "molchan",
    "poisson_grid",
    "to_pycsep_catalog",
    "to_pycsep_forecast",
    "read_catalog_forecast_csv",
    "write_catalog_forecast_csv",
    "SANJAC_10",
    "SANJAC_10_PUBLISHED",
    "LikelihoodScore",
    "direct_log_likelihood",
    "etas_test_scores",
    "poisson_test_scores",
]
