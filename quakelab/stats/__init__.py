"""Seismicity statistics: completeness, Gutenberg–Richter, Omori–Utsu, inter-event times."""

from quakelab.stats.declustering import etas_declustering, gardner_knopoff, reasenberg, zaliapin_ben_zion
from quakelab.stats.gutenberg_richter import (
    GutenbergRichter,
    b_value,
    bin_magnitudes,
    estimate_beta,
    frequency_magnitude,
    magnitude_bin_fractions,
    magnitude_of_completeness,
    mc_b_stability,
    mc_goodness_of_fit,
    mc_maxc,
    simulate_gutenberg_richter,
)
from quakelab.stats.omori import (
    OmoriFit,
    days_since,
    interevent_statistics,
    interevent_times,
    omori_fit,
    simulate_omori,
)

__all__ = [
    "etas_declustering",
    "gardner_knopoff",
    "reasenberg",
    "zaliapin_ben_zion",
    "GutenbergRichter",
    "OmoriFit",
    "b_value",
    "bin_magnitudes",
    "days_since",
    "estimate_beta",
    "frequency_magnitude",
    "interevent_statistics",
    "interevent_times",
    "magnitude_bin_fractions",
    "magnitude_of_completeness",
    "mc_b_stability",
    "mc_goodness_of_fit",
    "mc_maxc",
    "omori_fit",
    "simulate_gutenberg_richter",
    "simulate_omori",
]
