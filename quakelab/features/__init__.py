"""Causal features on an xarray grid for learned forecasters."""

from quakelab.features.grid import build_feature_grid, etas_expected_counts

__all__ = ["build_feature_grid", "etas_expected_counts"]
