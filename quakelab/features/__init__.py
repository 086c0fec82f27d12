"""Causal features on an xarray grid for learned forecasters."""

from quakelab.features.grid import (
    build_feature_grid,
    etas_expected_counts,
    open_feature_grid,
    save_feature_grid,
)

__all__ = ["build_feature_grid", "etas_expected_counts", "open_feature_grid", "save_feature_grid"]
