"""scikit-learn forecasters of occurrence: pipelines, rolling-origin tuning, calibration on later data."""

from __future__ import annotations

import itertools
import time as _time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quakelab._optional import require
from quakelab.learn.data import rolling_origin_splits

#: Hyper-parameter grids searched by :func:`fit_classifier` (small on purpose: every point is a refit per fold).
PARAM_GRIDS: dict[str, dict[str, list]] = {
    "logistic_regression": {"model__C": [0.01, 0.1, 1.0]},
    "hist_gradient_boosting": {
        "model__learning_rate": [0.05, 0.1],
        "model__max_leaf_nodes": [7, 15],
        "model__l2_regularization": [1.0],
    },
    "random_forest": {"model__min_samples_leaf": [20, 100], "model__max_features": [0.3]},
}


def _signed_log1p(x):
    return np.sign(x) * np.log1p(np.abs(x))


require("sklearn", "ml")  # a clear message when the ml extra is missing
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin  # noqa: E402 - scikit-learn is needed from here on


class DropUninformative(TransformerMixin, BaseEstimator):
    """Drop columns with fewer than two distinct non-missing values in the training rows.

    Short training windows can leave a feature entirely missing (e.g. a b-value where no cell has enough
    events); such columns carry nothing and break histogram binning.
    """

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        lo, hi = (
            np.nanmin(np.where(np.isnan(X), np.inf, X), axis=0),
            np.nanmax(np.where(np.isnan(X), -np.inf, X), axis=0),
        )
        self.keep_ = np.isfinite(lo) & np.isfinite(hi) & (hi > lo)
        if not self.keep_.any():
            raise ValueError("no feature varies over the training rows")
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float)[:, self.keep_]


def make_pipeline(name: str, *, seed: int = 0, n_jobs: int | None = None):
    """An unfitted scikit-learn pipeline by name.

    Every pipeline first drops features that do not vary over the training rows.
    ``logistic_regression``: median imputation with missing-value indicators, signed log1p, standard
    scaling, L2 logistic regression. ``hist_gradient_boosting``: histogram gradient boosting (handles
    missing values natively). ``random_forest``: imputation then a random forest of 200 trees.

    Parameters
    ----------
    name : str
        One of :data:`PARAM_GRIDS`.
    seed : int, default 0
        Random state.
    n_jobs : int, optional
        Random-forest workers.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Last step named ``model``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if name == "logistic_regression":
        steps = [
            ("drop", DropUninformative()),
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("log", FunctionTransformer(_signed_log1p)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=1.0, max_iter=2000)),
        ]
    elif name == "hist_gradient_boosting":
        steps = [
            ("drop", DropUninformative()),
            (
                "model",
                HistGradientBoostingClassifier(
                    max_iter=200, learning_rate=0.1, early_stopping=False, random_state=seed
                ),
            ),
        ]
    elif name == "random_forest":
        steps = [
            ("drop", DropUninformative()),
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            (
                "model",
                RandomForestClassifier(
                    n_estimators=200, min_samples_leaf=20, max_features=0.3, random_state=seed, n_jobs=n_jobs
                ),
            ),
        ]
    else:
        raise ValueError(f"unknown classifier {name!r}; choose from {sorted(PARAM_GRIDS)}")
    return Pipeline(steps)


@dataclass
class FittedClassifier:
    """A tuned, refitted and calibrated classifier.

    Attributes
    ----------
    name : str
    pipeline : sklearn Pipeline
        Fitted on the whole training set with the chosen hyper-parameters.
    calibrated : sklearn estimator or None
        ``CalibratedClassifierCV`` on the frozen pipeline, fitted on the calibration (validation) window.
    best_params : dict
    cv_results : pandas.DataFrame
        Mean and per-fold validation log-loss of every grid point.
    features : list of str
    timings : dict
    """

    name: str
    pipeline: Any
    calibrated: Any
    best_params: dict
    cv_results: pd.DataFrame
    features: list[str]
    timings: dict = field(default_factory=dict)

    def predict_proba(self, X: pd.DataFrame, calibrated: bool = True) -> np.ndarray:
        """Probability of the positive class for each row."""
        if list(X.columns) != self.features:
            raise ValueError(
                f"{self.name}: feature columns differ from training ({len(X.columns)} vs "
                f"{len(self.features)}; first difference at "
                f"{next((a, b) for a, b in itertools.zip_longest(X.columns, self.features) if a != b)})"
            )
        est = self.calibrated if calibrated and self.calibrated is not None else self.pipeline
        return est.predict_proba(X.to_numpy())[:, 1]


def fit_classifier(
    name: str,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    horizon_days: float,
    X_cal: pd.DataFrame | None = None,
    y_cal: pd.Series | None = None,
    param_grid: dict[str, list] | None = None,
    n_splits: int = 3,
    calibration: str = "isotonic",
    seed: int = 0,
    n_jobs: int | None = None,
) -> FittedClassifier:
    """Tune by rolling-origin cross-validation, refit on all training rows, calibrate on a later window.

    Hyper-parameters are chosen by the mean validation log-loss over :func:`rolling_origin_splits` of
    the training rows (gap = ``horizon_days``), i.e. on validation windows only. The refitted pipeline
    is then frozen and its probabilities calibrated (isotonic or sigmoid) on ``X_cal, y_cal``, which
    must come after the training window.

    Parameters
    ----------
    name : str
        Pipeline name (:func:`make_pipeline`).
    X, y : pandas.DataFrame, pandas.Series
        Training rows indexed by (time, ...) (from :func:`quakelab.learn.grid_to_frame`).
    horizon_days : float
        Label horizon: the gap of the time-series splits.
    X_cal, y_cal : optional
        Calibration rows (no calibration when None).
    param_grid : dict, optional
        Grid (``PARAM_GRIDS[name]`` when None).
    n_splits : int, default 3
    calibration : {"isotonic", "sigmoid"}
    seed : int, default 0
    n_jobs : int, optional

    Returns
    -------
    FittedClassifier
    """
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.metrics import log_loss

    grid = PARAM_GRIDS[name] if param_grid is None else param_grid
    times = X.index.get_level_values(0)
    Xa, ya = X.to_numpy(), y.to_numpy()
    if ya.min() == ya.max():
        raise ValueError(f"{name}: the training labels are all {ya[0]}; nothing to learn")
    folds = rolling_origin_splits(times, n_splits=n_splits, gap_days=horizon_days)
    base = make_pipeline(name, seed=seed, n_jobs=n_jobs)
    rows = []
    t0 = _time.perf_counter()
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values, strict=True))
        losses = []
        for tr, va in folds:
            if ya[tr].min() == ya[tr].max():
                losses.append(np.nan)
                continue
            est = clone(base).set_params(**params).fit(Xa[tr], ya[tr])
            losses.append(
                log_loss(ya[va], np.clip(est.predict_proba(Xa[va])[:, 1], 1e-7, 1 - 1e-7), labels=[0, 1])
            )
        rows.append(
            {
                **params,
                "mean_log_loss": float(np.nanmean(losses)),
                **{f"fold{k}_log_loss": v for k, v in enumerate(losses)},
            }
        )
    cv = pd.DataFrame(rows).sort_values("mean_log_loss").reset_index(drop=True)
    best = {k: cv.loc[0, k] for k in keys}
    best = {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()}
    t1 = _time.perf_counter()
    pipe = clone(base).set_params(**best).fit(Xa, ya)
    t2 = _time.perf_counter()
    calibrated = None
    if X_cal is not None and y_cal is not None:
        if list(X_cal.columns) != list(X.columns):
            raise ValueError("calibration rows have different feature columns")
        if y_cal.min() == y_cal.max():
            raise ValueError(f"{name}: the calibration labels are all {y_cal.iloc[0]}; cannot calibrate")
        calibrated = CalibratedClassifierCV(FrozenEstimator(pipe), method=calibration).fit(
            X_cal.to_numpy(), y_cal.to_numpy()
        )
    return FittedClassifier(
        name=name,
        pipeline=pipe,
        calibrated=calibrated,
        best_params=best,
        cv_results=cv,
        features=list(X.columns),
        timings={"tuning_s": t1 - t0, "refit_s": t2 - t1, "calibration_s": _time.perf_counter() - t2},
    )


class _ProbabilityColumn(ClassifierMixin, BaseEstimator):
    """A fixed forecast as a classifier: its one input column is the probability of the positive class."""

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = np.clip(np.asarray(X, dtype=float)[:, 0], 0.0, 1.0)
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def calibrate_probabilities(p_cal, y_cal, p, *, method: str = "isotonic") -> np.ndarray:
    """Recalibrate a fixed forecast (e.g. ETAS's) on a calibration window, as :func:`fit_classifier` does.

    The forecast's probabilities are treated like a frozen classifier's output and calibrated with the same
    ``CalibratedClassifierCV(FrozenEstimator(...), method=method)`` on ``(p_cal, y_cal)``, so that a
    reference model gets exactly the recalibration the learned models get on the same window. Isotonic
    regression gives probability 0 on a step without a calibration positive (a later positive there then
    costs the scores' clip, about 20 nats): :func:`quakelab.learn.fit_recalibration` cannot, and is what
    ``03_learned_forecasters`` applies to every model.

    Parameters
    ----------
    p_cal, y_cal : arrays
        Forecast probabilities and 0/1 outcomes of the calibration (validation) bins.
    p : array
        Probabilities to map (e.g. the test bins').
    method : {"isotonic", "sigmoid"}, default "isotonic"
        The method of :func:`fit_classifier`'s ``calibration``.

    Returns
    -------
    numpy.ndarray
        Recalibrated probabilities of ``p``.

    Examples
    --------
    >>> calibrate_probabilities([0.2] * 5 + [0.4] * 5, [0, 0, 0, 0, 1] + [1, 1, 0, 0, 0], [0.2, 0.4]).tolist()
    [0.2, 0.4]
    >>> calibrate_probabilities([0.1] * 5 + [0.9] * 5, [1, 1, 0, 0, 0] + [0, 0, 0, 0, 1], [0.1, 0.9]).tolist()
    [0.3, 0.3]
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    y_cal = np.asarray(y_cal, dtype=int)
    if y_cal.min() == y_cal.max():
        raise ValueError(f"the calibration labels are all {y_cal[0]}; cannot calibrate")
    frozen = FrozenEstimator(_ProbabilityColumn().fit(None))
    cal = CalibratedClassifierCV(frozen, method=method).fit(np.asarray(p_cal, dtype=float)[:, None], y_cal)
    return cal.predict_proba(np.asarray(p, dtype=float)[:, None])[:, 1]
