"""Evaluation of forecasts: likelihood scores per test event (EarthquakeNPP definitions)."""

from quakelab.evaluate.benchmarks import SANJAC_10, SANJAC_10_PUBLISHED
from quakelab.evaluate.likelihood import (
    LikelihoodScore,
    direct_log_likelihood,
    etas_test_scores,
    poisson_test_scores,
)

__all__ = ["SANJAC_10", "SANJAC_10_PUBLISHED", "LikelihoodScore", "direct_log_likelihood", "etas_test_scores", "poisson_test_scores"]
