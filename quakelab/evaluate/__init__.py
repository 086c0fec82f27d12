"""Evaluation of forecasts: likelihood scores per test event (EarthquakeNPP definitions)."""

from quakelab.evaluate.likelihood import (
    LikelihoodScore,
    direct_log_likelihood,
    etas_test_scores,
    poisson_test_scores,
)

__all__ = ["LikelihoodScore", "direct_log_likelihood", "etas_test_scores", "poisson_test_scores"]
