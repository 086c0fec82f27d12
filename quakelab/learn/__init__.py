"""Learned forecasters: tabular and sequence data from feature grids, scikit-learn and TensorFlow models,
a model store, and the scores that put them beside Poisson and ETAS.

Needs the ``ml`` extras (``pip install quakelab[ml]``: scikit-learn and TensorFlow); TensorFlow is imported only
by the functions that need it.
"""

from quakelab.learn.calibration import PROBABILITY_FLOOR, Recalibration, fit_recalibration, recalibrate
from quakelab.learn.classifiers import (
    PARAM_GRIDS,
    FittedClassifier,
    calibrate_probabilities,
    fit_classifier,
    make_pipeline,
)
from quakelab.learn.data import (
    FEATURE_EXCLUDE,
    feature_names,
    grid_to_frame,
    grid_to_sequences,
    rolling_origin_splits,
    time_masks,
)
from quakelab.learn.keras_models import NeuralTPP, SequenceForecaster, import_tensorflow, set_seed
from quakelab.learn.leakage import truncation_leakage_check
from quakelab.learn.references import (
    active_cells,
    cell_edges,
    counts_towards,
    etas_cell_expectation,
    etas_target_probability,
    poisson_cell_probability,
)
from quakelab.learn.scores import (
    binary_scores,
    bootstrap_scores,
    gain_interval,
    information_gain_per_bin,
    information_gain_per_positive_bin,
    leaderboard,
    leakage_check,
    molchan_alarms,
    reliability_table,
)
from quakelab.learn.store import ModelStoreError, data_hash, load_model, save_model
from quakelab.learn.stpp import SpatioTemporalNPP, block_bootstrap_mean

__all__ = [
    "FEATURE_EXCLUDE",
    "PROBABILITY_FLOOR",
    "Recalibration",
    "fit_recalibration",
    "recalibrate",
    "active_cells",
    "calibrate_probabilities",
    "cell_edges",
    "counts_towards",
    "etas_cell_expectation",
    "etas_target_probability",
    "poisson_cell_probability",
    "FittedClassifier",
    "ModelStoreError",
    "NeuralTPP",
    "PARAM_GRIDS",
    "SequenceForecaster",
    "SpatioTemporalNPP",
    "block_bootstrap_mean",
    "binary_scores",
    "bootstrap_scores",
    "gain_interval",
    "data_hash",
    "feature_names",
    "fit_classifier",
    "grid_to_frame",
    "grid_to_sequences",
    "information_gain_per_bin",
    "information_gain_per_positive_bin",
    "leaderboard",
    "leakage_check",
    "load_model",
    "make_pipeline",
    "molchan_alarms",
    "reliability_table",
    "import_tensorflow",
    "rolling_origin_splits",
    "save_model",
    "set_seed",
    "time_masks",
    "truncation_leakage_check",
]
