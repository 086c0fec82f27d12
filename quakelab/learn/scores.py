"""Scores of probabilistic occurrence forecasts over (time, cell) bins, with bootstrap intervals.

Every forecast is a probability ``p`` that a bin (a cell over the coming horizon) holds at least one
target event; ``y`` is 1 when it did. Reference models enter the same way (Poisson: ``1 - exp(-rate h)``;
ETAS: ``1 - exp(-Lambda)``), so one table ranks them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

_EPS = 1e-9


def _bernoulli_ll(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.where(y > 0, np.log(p), np.log1p(-p))


def information_gain_per_positive_bin(y, p, p_ref) -> float:
    """Binary log-likelihood gain over a reference per positive bin: ``(LL(p) - LL(p_ref)) / sum(y)``.

    The denominator is the number of bins that hold at least one target event, not the number of target
    events (a bin may hold several): this is a gain per positive bin, not the "information gain per
    earthquake" of the CSEP T-test (which divides a count likelihood's difference by the number of events).

    Examples
    --------
    >>> round(information_gain_per_positive_bin([1, 0], [0.5, 0.5], [0.25, 0.25]), 4)  # log 2 + log(0.5/0.75)
    0.2877
    """
    y, p, q = (np.asarray(a, dtype=float) for a in (y, p, p_ref))
    n = (y > 0).sum()
    return float((_bernoulli_ll(y, p).sum() - _bernoulli_ll(y, q).sum()) / n) if n > 0 else float("nan")


def information_gain_per_bin(y, p, p_ref) -> float:
    """Binary log-likelihood gain over a reference per bin: ``(LL(p) - LL(p_ref)) / n_bins``.

    Examples
    --------
    >>> round(information_gain_per_bin([1, 0], [0.5, 0.5], [0.25, 0.25]), 4)
    0.1438
    """
    y, p, q = (np.asarray(a, dtype=float) for a in (y, p, p_ref))
    return float(np.mean(_bernoulli_ll(y, p) - _bernoulli_ll(y, q))) if y.size else float("nan")


def binary_scores(y, p, references: Mapping[str, np.ndarray] | None = None) -> pd.Series:
    """ROC AUC, average precision (PR AUC), Brier score and skill, log-loss, and information gains.

    Parameters
    ----------
    y : array of 0/1
    p : array of probabilities
    references : mapping name -> probabilities, optional
        Adds ``ig_per_positive_bin_vs_<name>`` and ``ig_per_bin_vs_<name>`` for each
        (:func:`information_gain_per_positive_bin`, :func:`information_gain_per_bin`).

    Returns
    -------
    pandas.Series
        ``n_bins, n_positive, base_rate, roc_auc, pr_auc, brier, brier_skill`` (vs the constant base
        rate of these bins), ``log_loss`` and the information gains.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    base = y.mean()
    both = 0 < y.sum() < y.size
    brier = float(np.mean((p - y) ** 2))
    out = {
        "n_bins": int(y.size),
        "n_positive": int(y.sum()),
        "base_rate": float(base),
        "roc_auc": float(roc_auc_score(y, p)) if both else np.nan,
        "pr_auc": float(average_precision_score(y, p)) if both else np.nan,
        "brier": brier,
        "brier_skill": 1 - brier / (base * (1 - base)) if both else np.nan,
        "log_loss": float(-_bernoulli_ll(y, p).mean()),
    }
    for name, q in (references or {}).items():
        out[f"ig_per_positive_bin_vs_{name}"] = information_gain_per_positive_bin(y, p, q)
        out[f"ig_per_bin_vs_{name}"] = information_gain_per_bin(y, p, q)
    return pd.Series(out)


def bootstrap_scores(
    y,
    p,
    groups,
    references: Mapping[str, np.ndarray] | None = None,
    *,
    n_boot: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Scores with percentile bootstrap intervals, resampling whole groups (time steps) with replacement.

    Bins of the same time step share one earthquake sequence, so they are resampled together (a block
    bootstrap over time).

    Returns
    -------
    pandas.DataFrame
        Index: score names; columns ``value, ci_low, ci_high``.
    """
    y = np.asarray(y)
    p = np.asarray(p, dtype=float)
    refs = {k: np.asarray(v, dtype=float) for k, v in (references or {}).items()}
    point = binary_scores(y, p, refs)
    codes, _ = pd.factorize(np.asarray(groups))
    members = pd.Series(np.arange(y.size)).groupby(codes).apply(np.asarray).to_list()
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(members), len(members))
        idx = np.concatenate([members[k] for k in pick])
        draws.append(binary_scores(y[idx], p[idx], {k: v[idx] for k, v in refs.items()}))
    boot = pd.DataFrame(draws)
    lo, hi = boot.quantile(alpha / 2), boot.quantile(1 - alpha / 2)
    return pd.DataFrame({"value": point, "ci_low": lo, "ci_high": hi})


def gain_interval(
    y,
    p,
    p_ref,
    groups,
    *,
    keep=None,
    n_boot: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.Series:
    """Information gain per positive bin over a reference, with its block-bootstrap interval, on a subset.

    The statistic and the resampling are those of :func:`bootstrap_scores` (``ig_per_positive_bin_vs_...``:
    whole groups drawn with replacement, the gain of a resample being its summed log-likelihood difference
    over its summed positive bins; the same ``seed`` gives the same draws), computed from per-group sums, so
    it costs little for many models. ``keep`` scores a subset of the bins (e.g. without the time steps of the
    largest sequence): groups are formed from the kept bins only.

    Parameters
    ----------
    y : array of 0/1
    p, p_ref : arrays of probabilities
        The model's and the reference's, on the same bins.
    groups : array
        Bootstrap block of each bin (consecutive time steps).
    keep : array of bool, optional
        Bins scored (all when None).
    n_boot : int, default 200
    alpha : float, default 0.05
    seed : int, default 0

    Returns
    -------
    pandas.Series
        ``gain, ci_low, ci_high, n_bins, n_positive``.

    Examples
    --------
    >>> g = gain_interval([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5], [0.25, 0.25, 0.25, 0.25], [0, 0, 1, 1], n_boot=10)
    >>> g.round(4).to_dict()
    {'gain': 0.2877, 'ci_low': 0.2877, 'ci_high': 0.2877, 'n_bins': 4.0, 'n_positive': 2.0}
    """
    y = np.asarray(y)
    d = _bernoulli_ll(y, np.asarray(p, dtype=float)) - _bernoulli_ll(y, np.asarray(p_ref, dtype=float))
    pos = (y > 0).astype(float)
    groups = np.asarray(groups)
    if keep is not None:
        keep = np.asarray(keep, dtype=bool)
        y, d, pos, groups = y[keep], d[keep], pos[keep], groups[keep]
    codes, _ = pd.factorize(groups)
    g_d = np.bincount(codes, weights=d, minlength=codes.max() + 1 if codes.size else 0)
    g_n = np.bincount(codes, weights=pos, minlength=g_d.size)
    n_pos = float(pos.sum())
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    with np.errstate(invalid="ignore", divide="ignore"):
        for b in range(n_boot):
            pick = rng.integers(0, g_d.size, g_d.size)
            draws[b] = g_d[pick].sum() / g_n[pick].sum() if g_n[pick].sum() > 0 else np.nan
    ok = draws[np.isfinite(draws)]
    lo, hi = np.quantile(ok, [alpha / 2, 1 - alpha / 2]) if ok.size else (np.nan, np.nan)
    return pd.Series(
        {
            "gain": float(d.sum() / n_pos) if n_pos > 0 else np.nan,
            "ci_low": float(lo),
            "ci_high": float(hi),
            "n_bins": float(y.size),
            "n_positive": n_pos,
        }
    )


def reliability_table(y, p, n_bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Reliability diagram data: mean forecast probability vs observed frequency per probability bin.

    Returns
    -------
    pandas.DataFrame
        ``mean_forecast, observed_frequency, n`` per bin (quantile bins by default: the forecasts of rare
        events crowd near zero).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    else:
        edges = np.linspace(0, 1, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(edges.size - 2, 0))
    df = pd.DataFrame({"bin": idx, "p": p, "y": y}).groupby("bin")
    return pd.DataFrame(
        {"mean_forecast": df["p"].mean(), "observed_frequency": df["y"].mean(), "n": df.size()}
    )


def molchan_alarms(y, p) -> pd.DataFrame:
    """Molchan diagram of alarms switched on from the highest probability down, over (time, cell) bins.

    ``tau`` is the fraction of space-time bins under alarm, ``nu`` the fraction of positive bins missed;
    ``attrs["area_skill_score"]`` is 0.5 for an uninformative forecast (see
    :func:`quakelab.evaluate.molchan`).
    """
    from quakelab.evaluate import molchan

    return molchan(np.asarray(p, dtype=float), np.flatnonzero(np.asarray(y) > 0))


def leaderboard(
    y,
    forecasts: Mapping[str, np.ndarray],
    groups,
    *,
    references: tuple[str, ...] = ("Poisson", "ETAS", "ETAS recalibrated"),
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per forecast on the same test bins, ranked by mean binary log-likelihood.

    Columns: ``log_likelihood_per_bin`` (mean binary log-likelihood; the ranking score), ROC AUC,
    PR AUC, Brier score and skill, Molchan area skill score, information gain per positive bin and per bin
    (``ig_per_positive_bin_vs_<ref>``, ``ig_per_bin_vs_<ref>``) against each forecast named in
    ``references`` (that are present), each with its bootstrap interval
    (``_lo``/``_hi``; block bootstrap over ``groups``).

    Parameters
    ----------
    y : array of 0/1
    forecasts : mapping name -> probabilities
    groups : array
        Time step of each bin.
    references : tuple of str
        Names in ``forecasts`` to compute information gains against.

    Returns
    -------
    pandas.DataFrame
        Indexed by model name, sorted by log-likelihood.
    """
    refs = {r: np.asarray(forecasts[r], dtype=float) for r in references if r in forecasts}
    rows = {}
    for k, (name, p) in enumerate(forecasts.items()):
        b = bootstrap_scores(y, p, groups, refs, n_boot=n_boot, seed=seed + k)
        row = {
            "log_likelihood_per_bin": -b.loc["log_loss", "value"],
            "log_likelihood_per_bin_lo": -b.loc["log_loss", "ci_high"],
            "log_likelihood_per_bin_hi": -b.loc["log_loss", "ci_low"],
        }
        for s in ["roc_auc", "pr_auc", "brier", "brier_skill"] + [
            f"ig_per_{u}_vs_{r}" for r in refs for u in ("positive_bin", "bin")
        ]:
            row[s], row[f"{s}_lo"], row[f"{s}_hi"] = (
                b.loc[s, "value"],
                b.loc[s, "ci_low"],
                b.loc[s, "ci_high"],
            )
        row["molchan_ass"] = molchan_alarms(y, p).attrs["area_skill_score"]
        row["n_bins"], row["n_positive"] = int(b.loc["n_bins", "value"]), int(b.loc["n_positive", "value"])
        rows[name] = row
    out = pd.DataFrame.from_dict(rows, orient="index").sort_values("log_likelihood_per_bin", ascending=False)
    out.index.name = "model"
    return out


def leakage_check(
    fit_predict: Callable[[np.ndarray], np.ndarray],
    y_train,
    y_test,
    groups_test,
    *,
    seed: int = 0,
    n_boot: int = 200,
    tolerance: float = 0.05,
) -> pd.Series:
    """Refit a pipeline on permuted training labels and score it on the true test labels.

    The labels are shuffled across all training rows (times and cells), which destroys any relation
    between features and labels. A pipeline without leakage (no test information in its features,
    splits or scoring) then forecasts no better than chance, i.e. than the constant training base rate:
    its information gain per positive bin over that constant stays below ``tolerance`` (nats).

    What it detects: test information reaching the predictions other than through the training labels (test
    rows in the training set, a split or scoring bug). What it cannot detect: a leaking *feature* (one that
    reads the future, e.g. the next window's count), since a model fitted to permuted labels learns nothing
    from any feature; :func:`quakelab.learn.truncation_leakage_check` detects those.

    Rank scores are reported but not used: a model fitted to noise still ranks bins by whatever feature
    its small, random coefficients weight, and an informative feature then gives an AUC far from 0.5 in
    either direction while the probabilities stay at the base rate.

    Parameters
    ----------
    fit_predict : callable
        ``fit_predict(y_train_shuffled) -> test probabilities``: the same pipeline, features and
        splits as the real model.
    y_train, y_test : arrays of 0/1
    groups_test : array
        Time step of each test bin (bootstrap blocks).
    tolerance : float, default 0.05

    Returns
    -------
    pandas.Series
        ``ig_per_positive_bin_vs_constant`` with ``_lo``/``_hi``, ``brier_skill``, ``roc_auc``, ``passed``.
    """
    rng = np.random.default_rng(seed)
    y_train = np.asarray(y_train)
    shuffled = rng.permutation(y_train)
    p = fit_predict(shuffled)
    const = np.full(np.asarray(y_test).size, y_train.mean())
    b = bootstrap_scores(y_test, p, groups_test, {"constant": const}, n_boot=n_boot, seed=seed)
    ig = b.loc["ig_per_positive_bin_vs_constant"]
    return pd.Series(
        {
            "ig_per_positive_bin_vs_constant": ig["value"],
            "ig_per_positive_bin_vs_constant_lo": ig["ci_low"],
            "ig_per_positive_bin_vs_constant_hi": ig["ci_high"],
            "brier_skill": b.loc["brier_skill", "value"],
            "roc_auc": b.loc["roc_auc", "value"],
            "passed": bool(ig["value"] < tolerance),
        }
    )


def leaderboard_long(board: pd.DataFrame, **common) -> pd.DataFrame:
    """The wide table of :func:`leaderboard` in the ``leaderboard`` artifact's long schema.

    Scores are named as in :data:`quakelab.artifacts.SCORES`: ``log_likelihood_per_bin``, ``roc_auc``,
    ``pr_auc``, ``brier``, ``brier_skill``, ``molchan_area_skill_score`` and, for each
    ``ig_per_positive_bin_vs_<name>`` / ``ig_per_bin_vs_<name>`` column, ``information_gain_per_positive_bin`` /
    ``information_gain_per_bin`` with ``reference`` ``<name>`` (divided by the number of bins holding a target
    event — not by the number of earthquakes — or by all bins). Intervals go to ``ci_low``/``ci_high``.

    Parameters
    ----------
    board : pandas.DataFrame
        Output of :func:`leaderboard`.
    **common
        ``n_events``, ``start``, ``end`` shared by every row.

    Returns
    -------
    pandas.DataFrame
        One row per (model, score).
    """
    from quakelab.artifacts import leaderboard_from_wide

    scores: dict[str, str | tuple[str, str]] = {"molchan_ass": "molchan_area_skill_score"}
    for c in board.columns:
        if c.endswith(("_lo", "_hi")):
            continue
        for prefix, score in (
            ("ig_per_positive_bin_vs_", "information_gain_per_positive_bin"),
            ("ig_per_bin_vs_", "information_gain_per_bin"),
        ):
            if c.startswith(prefix):
                scores[c] = (score, c.removeprefix(prefix))
    return leaderboard_from_wide(board, scores=scores, drop=("n_bins", "n_positive"), **common)
