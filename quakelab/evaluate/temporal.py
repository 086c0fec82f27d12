"""Temporal point-process comparisons: temporal ETAS against a neural temporal point process, honestly.

Both models are scored with the EarthquakeNPP temporal log-likelihood per test event (TLL, see
:mod:`quakelab.evaluate.likelihood`) on exactly the same test events, each conditioned on all earlier events.
The comparison is paired, event by event: ``gain_i = TLL_i(model) - TLL_i(reference)``.

Intervals respect clustering. Per-event gains are not independent: inside an aftershock sequence both
models are wrong (or right) together for days, so a t interval over events is far too narrow. The gains are
summed per UTC day and the days are resampled in **circular moving blocks of ``block_days`` consecutive days**
(Künsch 1989; Politis & Romano 1992); the statistic of each resample is the ratio
``sum of gains / number of events`` (the mean gain per event), and the interval is the percentile interval of
that ratio. The default block length is **30 days**: the per-day gains of the catalogs studied here lose their
autocorrelation within one to three weeks (the bulk of an Omori sequence's events, and of its effect on the
score, fall within its first weeks), so a 30-day block keeps nearly all the within-sequence dependence inside a
block, while a 2-year test window still holds about 24 blocks for the resampling to work with.
:func:`autocorrelation_length` measures the lag where the daily-gain autocorrelation first drops below
``2 / sqrt(days)``; report it beside the interval, and the sensitivity to the block length (e.g. 7, 30, 90 days).

"The largest sequence of the test window" is defined here as the **densest 21-day window**: among windows
``[t_k, t_k + 21 days)`` starting at a test event, the one holding most test events (earliest on a tie).
Results are reported with all test events and with the events of that window removed (the days of the window
are dropped from the bootstrap too).
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quakelab._compat import renamed_kwargs
from quakelab.timeutils import utc

#: Default block length (days) of the moving-block bootstrap; see the module docstring.
DEFAULT_BLOCK_DAYS = 30
#: Window (days) defining the largest sequence of a test window.
SEQUENCE_WINDOW_DAYS = 21.0


# ---------------------------------------------------------------------------------------------- bootstrap
def moving_block_indices(n: int, block_length: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Index arrays of circular moving-block resamples of a series of length ``n``.

    Parameters
    ----------
    n : int
        Series length.
    block_length : int
        Consecutive values per block (1: the ordinary bootstrap).
    n_boot : int
        Resamples.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        Shape ``(n_boot, n)``: each row the indices of one resample (``ceil(n / L)`` blocks with uniform
        starts, wrapped around the end, cut to ``n``).
    """
    if n < 1:
        raise ValueError("need a non-empty series")
    L = int(max(1, min(block_length, n)))
    k = math.ceil(n / L)
    starts = rng.integers(0, n, size=(n_boot, k))
    idx = (starts[:, :, None] + np.arange(L)[None, None, :]) % n
    return idx.reshape(n_boot, k * L)[:, :n]


def block_bootstrap_mean(
    values,
    *,
    weights=None,
    block_length: int = DEFAULT_BLOCK_DAYS,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, float]:
    """Mean of a serially dependent series with a circular moving-block bootstrap percentile interval.

    With ``weights`` (e.g. events per day, and ``values`` the per-day sums of per-event gains) the statistic
    is the ratio ``sum(values) / sum(weights)`` (the mean per event); without, the plain mean.

    Parameters
    ----------
    values : array-like
        The series, in time order (e.g. one value per day).
    weights : array-like, optional
        Same length; the denominator of the ratio statistic.
    block_length : int, default 30
        Block length in series steps.
    n_boot : int, default 2000
    alpha : float, default 0.05
        1 − coverage of the interval.
    seed : int, default 0

    Returns
    -------
    dict
        ``mean, ci_low, ci_high, se`` (standard deviation of the bootstrap statistic), ``block_length``,
        ``n`` (series length).
    """
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if x.shape != w.shape:
        raise ValueError("values and weights differ in length")
    if w.sum() <= 0:
        raise ValueError("nothing to average (total weight 0)")
    rng = np.random.default_rng(seed)
    idx = moving_block_indices(x.size, block_length, n_boot, rng)
    num, den = x[idx].sum(axis=1), w[idx].sum(axis=1)
    ok = den > 0
    stat = num[ok] / den[ok]
    return {
        "mean": float(x.sum() / w.sum()),
        "ci_low": float(np.quantile(stat, alpha / 2)),
        "ci_high": float(np.quantile(stat, 1 - alpha / 2)),
        "se": float(stat.std(ddof=1)),
        "block_length": int(block_length),
        "n": int(x.size),
    }


def daily_totals(times, values, *, start, end) -> pd.DataFrame:
    """Per UTC day of ``[start, end)``: the sum of ``values`` and the number of events (days without events: 0).

    Parameters
    ----------
    times : array-like of datetime
        Event times.
    values : array-like
        One value per event.
    start, end : time-like
        Window (days counted from ``start``).

    Returns
    -------
    pandas.DataFrame
        Index: day start; columns ``total``, ``n_events``.
    """
    t0, t1 = utc(start), utc(end)
    n_days = max(1, math.ceil((t1 - t0) / pd.Timedelta(days=1)))
    day = np.floor((pd.DatetimeIndex(times) - t0) / pd.Timedelta(days=1)).to_numpy().astype(int)
    if day.size and (day.min() < 0 or day.max() >= n_days):
        raise ValueError("event times outside the window")
    v = np.asarray(values, dtype=float)
    total = np.bincount(day, weights=v, minlength=n_days)
    count = np.bincount(day, minlength=n_days).astype(float)
    index = pd.date_range(t0, periods=n_days, freq="D")
    return pd.DataFrame({"total": total, "n_events": count}, index=index)


def autocorrelation_length(series, *, max_lag: int = 120) -> int:
    """First lag at which the autocorrelation of a series drops below ``2 / sqrt(n)`` (its noise level).

    Parameters
    ----------
    series : array-like
        E.g. per-day mean gains (days without events as 0).
    max_lag : int, default 120

    Returns
    -------
    int
        The lag (``max_lag`` when it never drops below).
    """
    x = np.asarray(series, dtype=float)
    x = x - x.mean()
    den = float(x @ x)
    if den == 0:
        return 1
    level = 2 / math.sqrt(x.size)
    for lag in range(1, min(max_lag, x.size - 1) + 1):
        if float(x[:-lag] @ x[lag:]) / den < level:
            return lag
    return max_lag


# ---------------------------------------------------------------------------------------------- sequences
def largest_sequence(
    times, *, window_days: float = SEQUENCE_WINDOW_DAYS
) -> tuple[pd.Timestamp, pd.Timestamp, int]:
    """The densest window of ``window_days`` among the given event times (the "largest sequence").

    Parameters
    ----------
    times : array-like of datetime
        Event times (any order).
    window_days : float, default 21

    Returns
    -------
    (start, end, n_events)
        ``[start, end)`` starts at an event; ``n_events`` inside it. The earliest such window on a tie.
    """
    t = pd.DatetimeIndex(times).sort_values()
    if t.size == 0:
        raise ValueError("no events")
    ns = t.asi8
    width = int(window_days * 86400e9)
    ends = np.searchsorted(ns, ns + width, side="left")
    counts = ends - np.arange(ns.size)
    k = int(np.argmax(counts))
    start = t[k]
    return start, start + pd.Timedelta(days=window_days), int(counts[k])


# ---------------------------------------------------------------------------------------------- scores
def etas_temporal_scores(
    model,
    catalog: pd.DataFrame,
    *,
    auxiliary_start,
    test_start,
    test_end,
    name: str = "temporal ETAS",
    method: str = "expsum",
):
    """Temporal ETAS scored per test event, with the PIT of each inter-event time.

    The EarthquakeNPP temporal score (:func:`quakelab.evaluate.etas_test_scores`) of a temporal ETAS model
    (``spatial=False``; a spatio-temporal one is scored on its temporal part), plus
    ``pit = 1 - exp(-compensator)``: the predicted probability of an event before the observed one, since the
    previous event (the test start for the first). Uniform on [0, 1] for a calibrated model.

    Parameters
    ----------
    model : quakelab.models.ETAS
        Fitted.
    catalog : pandas.DataFrame
    auxiliary_start, test_start, test_end : time-like
    name : str
    method : {"expsum", "pairs"}, default "expsum"
        For a temporal model, ``"expsum"`` sums over all earlier events in O(N K) with the Omori kernel as a
        sum of exponentials (relative error of every intensity and compensator <= 2e-10, see
        :mod:`quakelab.models._temporal_expsum`); ``"pairs"`` visits every pair (O(N^2): hours on 10^5
        events). A spatio-temporal model is always scored by :func:`quakelab.evaluate.etas_test_scores`.

    Returns
    -------
    quakelab.evaluate.LikelihoodScore
        ``per_event`` gains a ``pit`` column.
    """
    from quakelab.evaluate.likelihood import LikelihoodScore, etas_test_scores

    if method not in ("expsum", "pairs"):
        raise ValueError(f"method must be 'expsum' or 'pairs', got {method!r}")
    if model.spatial or method == "pairs":
        s = etas_test_scores(
            model,
            catalog,
            auxiliary_start=auxiliary_start,
            test_start=test_start,
            test_end=test_end,
            kernel_mc=model.m_ref,
            name=name,
        )
    else:
        from quakelab.models._temporal_expsum import expsum_nodes, expsum_scores

        model.check_is_fitted()
        t_aux, t_test0, t_test1 = utc(auxiliary_start), utc(test_start), utc(test_end)
        if not t_aux <= t_test0 < t_test1:
            raise ValueError(
                f"need auxiliary_start <= test_start < test_end, got {t_aux}, {t_test0}, {t_test1}"
            )
        ev = model.select_events(catalog, t_aux, t_test1)
        t = ((ev["time"] - t_aux) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        t0 = float((t_test0 - t_aux) / pd.Timedelta(days=1))
        first = int(np.searchsorted(t, t0, side="left"))
        if first >= t.size:
            raise ValueError(
                f"no test events with M >= {model.min_magnitude} between {t_test0} and {t_test1}"
            )
        p = model.params_.natural
        weight = p["k0"] * np.exp(p["a"] * (ev["magnitude"].to_numpy(dtype=float) - model.m_ref))
        nodes = expsum_nodes(p["c"], p["omega"], float(t[-1] - t[0]) + p["c"])
        trig, integ = expsum_scores(t, weight, 1.0 / p["tau"], nodes["s"], nodes["w"], t0, first)
        lam = p["mu"] + trig
        compensator = p["mu"] * np.diff(np.concatenate([[t0], t[first:]])) + integ
        tll = np.log(lam) - compensator
        per_event = pd.DataFrame(
            {
                "time": ev["time"].to_numpy()[first:],
                "magnitude": ev["magnitude"].to_numpy()[first:],
                "log_lambda": np.log(lam),
                "log_lambda_star": np.log(lam),
                "compensator": compensator,
                "ll": tll,
                "tll": tll,
                "sll": np.full(tll.size, np.nan),
            }
        )
        s = LikelihoodScore(
            model=name,
            ll=float(tll.mean()),
            tll=float(tll.mean()),
            sll=math.nan,
            n_test_events=int(tll.size),
            per_event=per_event,
        )
    s.per_event["pit"] = compensator_pit(s.per_event["compensator"])
    return s


def compensator_pit(compensator) -> np.ndarray:
    """PIT of each inter-event time from the compensator: ``PIT_i = 1 - exp(-Lambda(t_{i-1}, t_i))``.

    For a point process with conditional intensity ``lambda*``, the probability of the next event before ``t``
    given the history up to the previous event ``t_{i-1}`` is ``1 - exp(-integral of lambda* over
    [t_{i-1}, t))``: the PIT of the observed next-event time is that probability at ``t_i``. With the
    compensator of a causal score (:func:`quakelab.evaluate.etas_test_scores`, :func:`etas_temporal_scores`:
    each integral uses only the events before ``t_i``; the first test event's runs from the test start, i.e.
    conditioned on no event since then) the PITs of a calibrated model are independent and uniform on [0, 1]
    (the time-rescaling theorem). A spatio-temporal model's compensator (``lambda*`` integrated over the region)
    gives the PIT of its temporal part.

    Parameters
    ----------
    compensator : array-like, pandas.DataFrame or quakelab.evaluate.LikelihoodScore
        Compensators per event, or a per-event table (or score) with a ``compensator`` column.

    Returns
    -------
    numpy.ndarray
        One PIT per event, in [0, 1].

    Examples
    --------
    >>> compensator_pit([0.0, np.log(2.0)]).round(3).tolist()
    [0.0, 0.5]
    """
    per = getattr(compensator, "per_event", compensator)
    if isinstance(per, pd.DataFrame):
        if "compensator" not in per:
            raise ValueError("the per-event table has no 'compensator' column")
        per = per["compensator"]
    lam = np.asarray(per, dtype=float)
    if np.any(lam < 0) or not np.all(np.isfinite(lam)):
        raise ValueError("compensators must be finite and non-negative")
    return -np.expm1(-lam)


def pit_calibration(pits, *, bins: int = 20) -> pd.DataFrame:
    """Distance of each model's PITs from uniform: Kolmogorov-Smirnov statistic and p-value, histogram error.

    The p-value assumes independent PITs (true for a correct model); read it as a distance, not a test, when the
    model is wrong. ``max_bin_error`` is the largest ``|density - 1|`` of the histogram with ``bins`` equal bins;
    ``tail_low`` / ``tail_high`` the fractions of PITs under 0.05 / over 0.95 (0.05 each when calibrated: too
    many low PITs mean events come sooner than predicted).

    Parameters
    ----------
    pits : dict of str to array-like
        PITs per model.
    bins : int, default 20

    Returns
    -------
    pandas.DataFrame
        Index: model; ``n, ks_statistic, ks_pvalue, mean, tail_low, tail_high, max_bin_error``.
    """
    from scipy.stats import kstest

    rows = {}
    for name, values in pits.items():
        v = np.asarray(values, dtype=float)
        if v.size == 0 or np.any((v < 0) | (v > 1)):
            raise ValueError(f"PITs of {name!r} must be a non-empty array in [0, 1]")
        ks = kstest(v, "uniform")
        hist = np.histogram(v, bins=bins, range=(0.0, 1.0))[0] * bins / v.size
        rows[name] = {
            "n": int(v.size),
            "ks_statistic": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue),
            "mean": float(v.mean()),
            "tail_low": float((v < 0.05).mean()),
            "tail_high": float((v > 0.95).mean()),
            "max_bin_error": float(np.abs(hist - 1.0).max()),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "model"
    return out


def neural_tpp_pit(npp, events: pd.DataFrame, *, test_start, test_end) -> np.ndarray:
    """PIT of each test inter-event time under a fitted :class:`quakelab.learn.NeuralTPP`.

    ``F(tau_i | H_i)`` from the log-normal mixture; the first test event's is conditioned on no event between
    the previous event and the test start: ``(F(tau) - F(g)) / (1 - F(g))``, as its score is.

    Returns
    -------
    numpy.ndarray
        One value per test event, in time order.
    """
    from scipy.special import ndtr

    _, targets, tau, log_w, mu, sig, gap0 = npp.window_mixture(events, test_start, test_end)
    w = np.exp(log_w)

    def cdf(x, rows=slice(None)):
        z = ((np.log(x) - npp.log_tau_mean_) / npp.log_tau_std_)[:, None]
        return (w[rows] * ndtr((z - mu[rows]) / sig[rows])).sum(axis=1)

    pit = cdf(tau[targets])
    if gap0 > 0:
        f0 = float(cdf(np.array([gap0]), slice(0, 1))[0])
        pit[0] = (pit[0] - f0) / max(1 - f0, 1e-300)
    return np.clip(pit, 0.0, 1.0)


def seed_summary(values) -> dict[str, float]:
    """Mean, sample standard deviation, minimum and maximum over seeds."""
    v = np.asarray(values, dtype=float)
    return {
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
        "min": float(v.min()),
        "max": float(v.max()),
        "n_seeds": int(v.size),
    }


def paired_gain(
    times,
    tll_model,
    tll_reference,
    *,
    test_start,
    test_end,
    block_days: int = DEFAULT_BLOCK_DAYS,
    exclude: tuple[Any, Any] | None = None,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, float]:
    """Mean per-event gain ``TLL(model) - TLL(reference)`` with a moving-block bootstrap interval over days.

    Parameters
    ----------
    times : array-like of datetime
        Test event times (the same events for both models).
    tll_model, tll_reference : array-like
        Per-event temporal log-likelihoods.
    test_start, test_end : time-like
        The test window (its days are the bootstrap's series, empty days included).
    block_days : int, default 30
        Block length (see the module docstring for the choice).
    exclude : (start, end), optional
        Drop the events of ``[start, end)`` (e.g. :func:`largest_sequence`) and the days wholly inside it.
    n_boot, alpha, seed
        Bootstrap settings.

    Returns
    -------
    dict
        ``gain, ci_low, ci_high, se, n_events, n_days, block_days, acf_lag_days`` (the lag where the
        daily-gain autocorrelation reaches its noise level).
    """
    gain = np.asarray(tll_model, dtype=float) - np.asarray(tll_reference, dtype=float)
    times = pd.DatetimeIndex(times)
    if exclude is not None:
        a, b = utc(exclude[0]), utc(exclude[1])
        keep = np.asarray((times < a) | (times >= b))
        days = daily_totals(times[keep], gain[keep], start=test_start, end=test_end)
        day_end = days.index + pd.Timedelta(days=1)
        days = days[~((days.index >= a) & (day_end <= b))]  # days wholly inside the window leave the series
    else:
        days = daily_totals(times, gain, start=test_start, end=test_end)
    r = block_bootstrap_mean(
        days["total"].to_numpy(),
        weights=days["n_events"].to_numpy(),
        block_length=block_days,
        n_boot=n_boot,
        alpha=alpha,
        seed=seed,
    )
    per_day = np.where(days["n_events"] > 0, days["total"] / days["n_events"].clip(lower=1), 0.0)
    return {
        "gain": r["mean"],
        "ci_low": r["ci_low"],
        "ci_high": r["ci_high"],
        "se": r["se"],
        "n_events": int(days["n_events"].sum()),
        "n_days": int(len(days)),
        "block_days": int(block_days),
        "acf_lag_days": autocorrelation_length(per_day),
    }


# ---------------------------------------------------------------------------------------------- the run
@dataclass
class TemporalComparison:
    """Everything a temporal comparison produced (see :func:`compare_temporal`).

    Attributes
    ----------
    per_event : pandas.DataFrame
        One row per test event: ``time, magnitude, tll_etas, pit_etas``, ``tll_npp_<seed>``,
        ``pit_npp_<seed>`` and ``tll_npp_mean`` (mean over seeds), ``in_largest_sequence``.
    per_seed : pandas.DataFrame
        One row per seed: ``tll_npp, gain, ci_low, ci_high`` (all events) and the same ``*_excl`` without
        the largest sequence, ``epochs`` (run), ``best_epoch`` (whose weights were kept), ``max_epochs``,
        ``at_epoch_cap`` (training ran to the cap, validation never stopped it), ``seconds_per_epoch`` (median,
        the first epoch's compilation left out), ``train_seconds``.
    summary : pandas.DataFrame
        Rows ``all`` / ``without largest sequence``; mean TLL of each model, seed spread, the gain of the
        seed-mean per-event TLL with its interval.
    largest_sequence : tuple
        ``(start, end, n_events)``.
    info : dict
        ETAS parameters and fit information, settings and timings; ``npp_histories``: each seed's training
        history (``loss, val_loss, seconds`` per epoch).
    """

    per_event: pd.DataFrame
    per_seed: pd.DataFrame
    summary: pd.DataFrame
    largest_sequence: tuple
    info: dict = field(default_factory=dict)

    def leaderboard(self, *, catalog: str = "", test_start=None, test_end=None) -> pd.DataFrame:
        """The results in the schema of :mod:`quakelab.artifacts` (``leaderboard``): scores
        ``temporal_log_likelihood`` and ``temporal_information_gain`` (over ``temporal ETAS``) per test event; the
        scores without the largest sequence are rows of the model named ``... (without largest sequence)``.
        Each seed's log-likelihood row also carries its training's ``epochs, best_epoch, max_epochs,
        at_epoch_cap`` (extra columns)."""
        from quakelab.artifacts import ARTIFACTS

        rows = []
        n = len(self.per_event)
        common = {"n_events": n, "start": test_start, "end": test_end}
        for subset, row in self.summary.iterrows():
            suffix = "" if subset == "all" else " (without largest sequence)"
            common = {**common, "n_events": int(row["n_events"])}
            rows.append(
                {
                    "model": f"temporal ETAS{suffix}",
                    "score": "temporal_log_likelihood",
                    "value": row["tll_etas"],
                    **common,
                }
            )
            rows.append(
                {
                    "model": f"neural TPP ({self.info.get('n_seeds', '')} seeds, mean){suffix}",
                    "score": "temporal_log_likelihood",
                    "value": row["tll_npp_mean"],
                    "ci_low": row["tll_npp_min"],
                    "ci_high": row["tll_npp_max"],
                    **common,
                }
            )
            rows.append(
                {
                    "model": f"neural TPP (seed-mean per event){suffix}",
                    "score": "temporal_information_gain",
                    "value": row["gain"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "reference": f"temporal ETAS{suffix}",
                    **common,
                }
            )
        common = {**common, "n_events": n}
        for seed, row in self.per_seed.iterrows():
            stop = {k: row[k] for k in ("epochs", "best_epoch", "max_epochs", "at_epoch_cap") if k in row}
            rows.append(
                {
                    "model": f"neural TPP seed {seed}",
                    "score": "temporal_log_likelihood",
                    "value": row["tll_npp"],
                    **common,
                    **stop,
                }
            )
            rows.append(
                {
                    "model": f"neural TPP seed {seed}",
                    "score": "temporal_information_gain",
                    "value": row["gain"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "reference": "temporal ETAS",
                    **common,
                }
            )
        board = pd.DataFrame(rows)
        if catalog:
            board["model"] = board["model"] + f" [{catalog}]"
        return ARTIFACTS["leaderboard"].conform(board)


@renamed_kwargs(mc="min_magnitude")
def compare_temporal(
    events: pd.DataFrame,
    *,
    min_magnitude: float,
    auxiliary_start,
    train_start,
    val_start,
    test_start,
    test_end,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    etas=None,
    etas_kwargs: dict | None = None,
    npp_kwargs: dict | None = None,
    block_days: int = DEFAULT_BLOCK_DAYS,
    n_boot: int = 2000,
    verbose: bool = False,
) -> TemporalComparison:
    """Temporal ETAS against the neural TPP over several seeds, on the same test events.

    ETAS (``spatial=False``, Newton fit of the exact likelihood) is fitted on the targets of
    ``[train_start, test_start)`` (training and validation: it has no hyper-parameters to select) with the
    events from ``auxiliary_start`` as history, unless a fitted ``etas`` is given. The neural TPP trains on the
    intervals ending in ``[train_start, val_start)`` and stops early on ``[val_start, test_start)``, once per
    seed. Both are scored on the events of ``[test_start, test_end)``, conditioned on everything since
    ``auxiliary_start``.

    Parameters
    ----------
    events : pandas.DataFrame
        ``time, magnitude`` (and for ETAS ``latitude, longitude``, NaN allowed) of the events above
        ``min_magnitude``.
    min_magnitude : float
        Magnitude threshold, usually the completeness magnitude (events at or above are used; ETAS's kernel
        reference magnitude). Old name: ``mc`` (deprecated).
    auxiliary_start, train_start, val_start, test_start, test_end : time-like
        Splits.
    seeds : sequence of int, default 0..4
    etas : quakelab.models.ETAS, optional
        A fitted temporal ETAS to score instead of fitting one.
    etas_kwargs : dict, optional
        Extra arguments of :class:`quakelab.models.ETAS` (e.g. ``max_lag_days``); ``magnitude_resolution``
        defaults to 0
        (magnitudes used as given).
    npp_kwargs : dict, optional
        Arguments of :class:`quakelab.learn.NeuralTPP` (``seed`` is set per run).
    block_days : int, default 30
    n_boot : int, default 2000
    verbose : bool, default False

    Returns
    -------
    TemporalComparison
    """
    from quakelab.learn import NeuralTPP
    from quakelab.models import ETAS

    info: dict[str, Any] = {"n_seeds": len(seeds), "block_days": block_days}
    t_run = _time.perf_counter()
    ev = events[(events["time"] >= utc(auxiliary_start)) & (events["time"] < utc(test_end))]
    ev = (
        ev[ev["magnitude"] >= min_magnitude - 1e-9]
        .sort_values("time", kind="mergesort")
        .reset_index(drop=True)
    )
    if "latitude" not in ev:
        ev = ev.assign(latitude=np.nan, longitude=np.nan)
    if etas is None:
        kw = {"magnitude_resolution": 0.0, "spatial": False, **(etas_kwargs or {})}
        etas = ETAS(min_magnitude=min_magnitude, **kw)
        t0 = _time.perf_counter()
        etas.fit(
            ev, auxiliary_start=auxiliary_start, start=train_start, end=test_start, standard_errors=False
        )
        info["etas_fit_seconds"] = _time.perf_counter() - t0
        info["etas_fit_info"] = {k: v for k, v in etas.fit_info_.items() if k != "changes"}
    info["etas_params"] = etas.params_.to_dict()
    info["etas_max_lag_days"] = etas.max_lag_days
    es = etas_temporal_scores(
        etas, ev, auxiliary_start=auxiliary_start, test_start=test_start, test_end=test_end
    )
    per = pd.DataFrame(
        {
            "time": es.per_event["time"].to_numpy(),
            "magnitude": es.per_event["magnitude"].to_numpy(),
            "tll_etas": es.per_event["tll"].to_numpy(),
            "pit_etas": es.per_event["pit"].to_numpy(),
        }
    )
    seq = largest_sequence(per["time"])
    per["in_largest_sequence"] = np.asarray((per["time"] >= seq[0]) & (per["time"] < seq[1]))
    seed_rows = []
    for seed in seeds:
        npp = NeuralTPP(**{**(npp_kwargs or {}), "seed": int(seed)})
        t0 = _time.perf_counter()
        npp.fit(
            ev, min_magnitude=min_magnitude, train_start=train_start, train_end=val_start, val_end=test_start
        )
        secs = _time.perf_counter() - t0
        info.setdefault("npp_histories", {})[int(seed)] = npp.history_
        ns = npp.score(ev, test_start=test_start, test_end=test_end)
        if ns.n_test_events != len(per):
            raise RuntimeError(f"the models scored different events: {ns.n_test_events} vs {len(per)}")
        per[f"tll_npp_{seed}"] = ns.per_event["tll"].to_numpy()
        per[f"pit_npp_{seed}"] = neural_tpp_pit(npp, ev, test_start=test_start, test_end=test_end)
        kw = {"test_start": test_start, "test_end": test_end, "block_days": block_days, "n_boot": n_boot}
        g = paired_gain(per["time"], per[f"tll_npp_{seed}"], per["tll_etas"], **kw)
        gx = paired_gain(per["time"], per[f"tll_npp_{seed}"], per["tll_etas"], exclude=seq[:2], **kw)
        seed_rows.append(
            {
                "seed": int(seed),
                "tll_npp": ns.tll,
                "gain": g["gain"],
                "ci_low": g["ci_low"],
                "ci_high": g["ci_high"],
                "tll_npp_excl": float(per.loc[~per["in_largest_sequence"], f"tll_npp_{seed}"].mean()),
                "gain_excl": gx["gain"],
                "ci_low_excl": gx["ci_low"],
                "ci_high_excl": gx["ci_high"],
                "epochs": len(npp.history_),
                "best_epoch": int(npp.best_epoch_),
                "max_epochs": int(npp.epochs),
                "at_epoch_cap": not npp.stopped_early_,
                "seconds_per_epoch": float(npp.history_["seconds"].iloc[1:].median())
                if len(npp.history_) > 1
                else float(npp.history_["seconds"].iloc[0]),
                "train_seconds": secs,
            }
        )
        if verbose:
            print(
                f"seed {seed}: TLL {ns.tll:.4f}, gain {g['gain']:+.4f} [{g['ci_low']:+.4f}, {g['ci_high']:+.4f}], {secs:.0f} s"
            )
    per_seed = pd.DataFrame(seed_rows).set_index("seed")
    npp_cols = [f"tll_npp_{s}" for s in seeds]
    per["tll_npp_mean"] = per[npp_cols].mean(axis=1)
    rows = {}
    for label, mask, excl in (
        ("all", np.ones(len(per), dtype=bool), None),
        ("without largest sequence", ~per["in_largest_sequence"].to_numpy(), seq[:2]),
    ):
        g = paired_gain(
            per["time"],
            per["tll_npp_mean"],
            per["tll_etas"],
            test_start=test_start,
            test_end=test_end,
            block_days=block_days,
            exclude=excl,
            n_boot=n_boot,
        )
        s = seed_summary(per.loc[mask, npp_cols].mean(axis=0).to_numpy())
        rows[label] = {
            "n_events": int(mask.sum()),
            "tll_etas": float(per.loc[mask, "tll_etas"].mean()),
            "tll_npp_mean": s["mean"],
            "tll_npp_sd": s["sd"],
            "tll_npp_min": s["min"],
            "tll_npp_max": s["max"],
            "gain": g["gain"],
            "ci_low": g["ci_low"],
            "ci_high": g["ci_high"],
            "acf_lag_days": g["acf_lag_days"],
        }
    info["total_seconds"] = _time.perf_counter() - t_run
    return TemporalComparison(per, per_seed, pd.DataFrame(rows).T, seq, info)


# ---------------------------------------------------------------------------------------------- settings
_SPLIT_NAMES = ("auxiliary_start", "train_start", "val_start", "test_start", "test_end")


def temporal_setting(
    dataset: str,
    *,
    name: str | None = None,
    region: Sequence[float] | None = None,
    min_magnitude: float | None = None,
    auxiliary_start=None,
    train_start=None,
    val_start=None,
    test_start=None,
    test_end=None,
) -> dict[str, Any]:
    """The catalog setting of a temporal comparison: threshold, region and splits, from RECAST or given.

    For a RECAST dataset (``recast-white``, ...; :func:`quakelab.catalog.recast.recast_catalog`) every value
    left ``None`` is RECAST's (its completeness and published splits, history from the catalog start); for any
    other dataset ``min_magnitude`` and the five split dates must all be given.

    Parameters
    ----------
    dataset : str
        A dataset name (``quakelab datasets``).
    name : str, optional
        Catalog label of the results; default RECAST's catalog name, else ``dataset``.
    region : sequence of 4 float, optional
        ``(min_lon, max_lon, min_lat, max_lat)``: events outside are dropped (not allowed for RECAST's
        catalogs, which have no locations).
    min_magnitude : float, optional
    auxiliary_start, train_start, val_start, test_start, test_end : time-like, optional
        History start, training start, validation start, test window ``[test_start, test_end)``.

    Returns
    -------
    dict
        ``name, dataset, recast`` (the :class:`~quakelab.catalog.recast.RecastCatalog` or None),
        ``min_magnitude`` (float), ``region`` (tuple or None) and the five dates as given (RECAST's as
        ``YYYY-MM-DD`` strings).

    Raises
    ------
    ValueError
        Naming the missing values of a non-RECAST dataset, a region given for a RECAST catalog, or dates out
        of order.

    Examples
    --------
    >>> s = temporal_setting("recast-qtmsanjacinto")
    >>> s["name"], s["min_magnitude"], s["val_start"]
    ('QTMSanJacinto', 1.0, '2014-01-01')
    """
    from quakelab.catalog.recast import recast_catalog

    try:
        meta = recast_catalog(dataset) if dataset.lower().startswith("recast") else None
    except KeyError:
        meta = None
    given = dict(
        zip(_SPLIT_NAMES, (auxiliary_start, train_start, val_start, test_start, test_end), strict=True)
    )
    if meta is not None:
        if region is not None:
            raise ValueError(f"dataset {dataset!r} (RECAST) has no locations: a region cannot select from it")
        given = {k: meta.splits[k] if v is None else v for k, v in given.items()}
        min_magnitude = meta.mc if min_magnitude is None else min_magnitude
    missing = [k for k, v in {"min_magnitude": min_magnitude, **given}.items() if v is None]
    if missing:
        raise ValueError(f"dataset {dataset!r} is not a RECAST catalog: give {', '.join(missing)} explicitly")
    dates = {k: utc(v) for k, v in given.items()}
    order = [dates[k] for k in _SPLIT_NAMES]
    if not (order[0] <= order[1] < order[2] < order[3] < order[4]):
        raise ValueError(
            "need auxiliary_start <= train_start < val_start < test_start < test_end, got "
            + ", ".join(f"{k}={dates[k]}" for k in _SPLIT_NAMES)
        )
    if region is not None:
        region = tuple(float(v) for v in region)
        if len(region) != 4:
            raise ValueError(f"region must be (min_lon, max_lon, min_lat, max_lat), got {region}")
    return {
        "name": name or (meta.name if meta is not None else dataset),
        "dataset": dataset,
        "recast": meta,
        "min_magnitude": float(min_magnitude),
        "region": region,
        **given,
    }


def published_temporal_scores(benchmark: str) -> pd.DataFrame:
    """Published temporal log-likelihoods per test event of one benchmark catalog, with what they are.

    Parameters
    ----------
    benchmark : str
        ``"SanJac_10"`` (EarthquakeNPP, :data:`quakelab.evaluate.SANJAC_10_PUBLISHED`) or a RECAST catalog
        (name or dataset name; :func:`quakelab.catalog.recast.published_per_event`, converted from nats per
        day to nats per event).

    Returns
    -------
    pandas.DataFrame
        Index: the published model; ``ll_per_event_mean, ll_per_event_sd, ll_per_event_min,
        ll_per_event_max`` (over the published seeds; one value and NaN spread where one number is
        published), ``n_seeds``, ``n_test_events`` (the publication's count where known, else NaN),
        ``label`` (for a leaderboard row) and ``note`` (what the number is).

    Examples
    --------
    >>> float(published_temporal_scores("SanJac_10").loc["ETAS", "ll_per_event_mean"])
    1.133
    """
    if benchmark.lower().replace("-", "_") == "sanjac_10":
        from quakelab.evaluate.benchmarks import SANJAC_10_PUBLISHED

        notes = {
            "ETAS": "temporal part of a spatio-temporal ETAS (EM fit), not a temporal-only fit",
            "Poisson": "homogeneous Poisson, rate of the events from the history start to the test start",
        }
        tll = SANJAC_10_PUBLISHED["tll"].astype(float)
        out = pd.DataFrame(
            {
                "ll_per_event_mean": tll,
                "ll_per_event_sd": math.nan,
                "ll_per_event_min": tll,
                "ll_per_event_max": tll,
                "n_seeds": 1,
                "n_test_events": math.nan,
                "label": [f"{m} (EarthquakeNPP, published)" for m in tll.index],
                "note": [
                    notes.get(m, "temporal part of a spatio-temporal neural point process") for m in tll.index
                ],
            },
            index=tll.index,
        )
        return out
    from quakelab.catalog.recast import published_per_event, recast_catalog

    meta = recast_catalog(benchmark)
    pub = published_per_event().loc[meta.name]
    notes = {
        "ETAS": "temporal ETAS (RECAST's fit), converted from nats per day",
        "RecurrentTPP": "RECAST's neural TPP (GRU + log-normal mixture), converted from nats per day",
    }
    out = pub[["ll_per_event_mean", "ll_per_event_sd", "ll_per_event_min", "ll_per_event_max"]].copy()
    out["n_seeds"] = [len(meta.nll_test[m]) for m in out.index]
    out["n_test_events"] = float(meta.n_test_events)
    out["label"] = [f"{m} (RECAST, published)" for m in out.index]
    out["note"] = [notes.get(m, "") for m in out.index]
    out.index.name = "model"
    return out
