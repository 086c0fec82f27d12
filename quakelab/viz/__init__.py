"""Plotting functions (``ax=None`` in, Axes out) and offline coastlines."""

from quakelab.viz.coastlines import CoastlineDataError, coastline_geometries, coastline_source
from quakelab.viz.plots import (
    csep_test_plot,
    cumulative_count,
    epicentre_map,
    forecast_skill_plots,
    frequency_magnitude_plot,
    magnitude_time,
    omori_decay,
    save_figure,
)

__all__ = [
    "CoastlineDataError",
    "coastline_geometries",
    "coastline_source",
    "csep_test_plot",
    "cumulative_count",
    "epicentre_map",
    "forecast_skill_plots",
    "frequency_magnitude_plot",
    "magnitude_time",
    "omori_decay",
    "save_figure",
]
