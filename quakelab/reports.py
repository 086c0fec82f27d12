"""Plain-language caveats for report numbers that the diagnostics contradict, and correctly labelled tables.

A headline number (a b-value, an ETAS parameter, a CSEP ranking) is only as good as its diagnostics. Each
helper here checks one diagnostic and returns zero or more sentences a reader can act on; :func:`caveats`
runs those that its inputs allow and :func:`caveats_markdown` turns them into a Markdown block for a
notebook. :func:`label_csep_table` names each CSEP statistic for what it is (a T-test's t statistic is not a
quantile score) and says whether the test passes.

Examples
--------
>>> caveats(mc={"maxc": 1.8, "mbs": 3.4})[0][:60]
'Mc depends on the method: maximum curvature (+0.2) gives 1.8'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quakelab._compat import renamed_kwargs

#: Readable names of the Mc methods of :func:`quakelab.stats.magnitude_of_completeness`.
MC_METHOD_NAMES: dict[str, str] = {
    "maxc": "maximum curvature (+0.2)",
    "gft": "goodness of fit",
    "mbs": "b-value stability",
}
#: What each CSEP test checks, in words.
CSEP_TEST_MEANING: dict[str, str] = {
    "N-test": "the number of events",
    "M-test": "the magnitude distribution",
    "S-test": "the spatial distribution",
    "L-test": "the joint likelihood of the observed events",
    "CL-test": "the likelihood given the observed number of events",
}
CONSISTENCY_TESTS = tuple(CSEP_TEST_MEANING)


def _fmt_list(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@renamed_kwargs(delta_m="magnitude_resolution")
def mc_caveats(
    mc: Mapping[str, float],
    *,
    magnitudes: ArrayLike | None = None,
    magnitude_resolution: float = 0.1,
    tolerance: float = 0.25,
) -> list[str]:
    """A caveat when the Mc methods disagree by more than ``tolerance``.

    Parameters
    ----------
    mc : mapping
        Method name (``maxc``, ``gft``, ``mbs`` or any label) -> Mc.
    magnitudes : array-like, optional
        The magnitudes; when given, the caveat quotes the b-value above the lowest and the highest Mc.
    magnitude_resolution : float, default 0.1
        The magnitudes' resolution (old name ``delta_m``, deprecated).
    tolerance : float, default 0.25
        Largest spread of the Mc estimates that is not reported (a little over two bins of 0.1).

    Returns
    -------
    list of str
        Empty, or one sentence.

    Examples
    --------
    >>> mc_caveats({"maxc": 2.0, "gft": 2.1})
    []
    >>> print(mc_caveats({"maxc": 1.8, "gft": 2.4, "mbs": 3.4})[0])  # doctest: +NORMALIZE_WHITESPACE
    Mc depends on the method: maximum curvature (+0.2) gives 1.8, b-value stability gives 3.4. Numbers
    computed above the lower Mc include magnitudes at which the catalog may be incomplete, which biases
    b low.
    """
    vals = {k: float(v) for k, v in mc.items() if v is not None and math.isfinite(float(v))}
    if len(vals) < 2:
        return []
    lo_k = min(vals, key=vals.get)
    hi_k = max(vals, key=vals.get)
    if vals[hi_k] - vals[lo_k] <= tolerance + 1e-9:
        return []
    text = (
        f"Mc depends on the method: {MC_METHOD_NAMES.get(lo_k, lo_k)} gives {vals[lo_k]:.1f}, "
        f"{MC_METHOD_NAMES.get(hi_k, hi_k)} gives {vals[hi_k]:.1f}. Numbers computed above the lower Mc "
        "include magnitudes at which the catalog may be incomplete, which biases b low."
    )
    if magnitudes is not None:
        from quakelab.stats import b_value

        try:
            r = magnitude_resolution
            lo, hi = b_value(magnitudes, vals[lo_k], r), b_value(magnitudes, vals[hi_k], r)
        except ValueError:
            return [text]
        text += (
            f" Above Mc {vals[lo_k]:.1f}: b = {lo.b:.2f} ± {lo.b_std:.2f} ({lo.n:,} events); above Mc "
            f"{vals[hi_k]:.1f}: b = {hi.b:.2f} ± {hi.b_std:.2f} ({hi.n:,} events)."
        )
    return [text]


@renamed_kwargs(delta_m="magnitude_resolution")
def gr_fit_caveats(
    magnitudes: ArrayLike,
    mc: float,
    *,
    magnitude_resolution: float = 0.1,
    min_expected: float = 5.0,
    p_threshold: float = 0.01,
) -> list[str]:
    """A caveat when the Gutenberg–Richter line fitted above ``mc`` misses the data at larger magnitudes.

    For each magnitude bin ``M`` above ``mc`` where the line predicts at least ``min_expected`` events
    ``>= M``, the observed cumulative count is compared with the prediction (two-sided Poisson tail); the
    first magnitude where the data depart from the line with probability below ``p_threshold`` is reported.

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes.
    mc : float
        Magnitude of completeness of the fit.
    magnitude_resolution : float, default 0.1
        The magnitudes' resolution (old name ``delta_m``, deprecated).
    min_expected : float, default 5
        Bins where the line predicts fewer events are not checked (too few to tell).
    p_threshold : float, default 0.01
        Two-sided Poisson probability below which the departure is reported.

    Returns
    -------
    list of str
        Empty, or one sentence.

    Examples
    --------
    >>> from quakelab.stats import simulate_gutenberg_richter
    >>> gr_fit_caveats(simulate_gutenberg_richter(5000, b=1.0, min_magnitude=2.0, seed=1), 2.0)
    []
    """
    from scipy import stats as sps

    from quakelab.stats import b_value

    m = np.asarray(magnitudes, dtype=float)
    m = m[np.isfinite(m)]
    try:
        fit = b_value(m, mc, magnitude_resolution)
    except ValueError:
        return []
    r = magnitude_resolution
    grid = np.round(np.arange(mc + r, m.max() + r / 2, r), 10)
    for mag in grid:
        expected = float(fit.expected_count(mag))
        if expected < min_expected:
            break
        observed = int(np.sum(m >= mag - 1e-9))  # counted as the fit counts N(>= mc)
        p = 2 * min(sps.poisson.cdf(observed, expected), sps.poisson.sf(observed - 1, expected))
        if p < p_threshold:
            word = "fewer" if observed < expected else "more"
            return [
                f"The Gutenberg–Richter line fitted above Mc {mc:.1f} (b = {fit.b:.2f}) misses the data from "
                f"M{mag:.1f}: it predicts {expected:,.0f} events of M{mag:.1f} or larger, the catalog has "
                f"{observed:,} ({word}). A single b-value does not describe this distribution; check Mc."
            ]
    return []


def bound_caveats(
    parameter_table: pd.DataFrame, bounds: Mapping[str, tuple[float, float]] | None = None
) -> list[str]:
    """A caveat naming the ETAS parameters estimated on a bound of their search range.

    Parameters
    ----------
    parameter_table : pandas.DataFrame
        :meth:`quakelab.models.ETAS.parameter_table` (index: parameter names; columns ``value`` and
        ``at_bound``).
    bounds : mapping, optional
        Search ranges (default :data:`quakelab.models.etas.PARAMETER_BOUNDS`), quoted in the sentence.

    Returns
    -------
    list of str
        Empty, or one sentence.

    Examples
    --------
    >>> t = pd.DataFrame({"value": [0.01, 1.2], "at_bound": [True, False]}, index=["gamma", "a"])
    >>> print(bound_caveats(t, {"gamma": (0.01, 5.0)})[0])  # doctest: +NORMALIZE_WHITESPACE
    ETAS parameter gamma = 0.01 (0.01 .. 5) sits on the edge of its search range: the data do not constrain it,
    its standard error means little, and forecasts inherit the bound rather than the data.
    """
    if "at_bound" not in parameter_table.columns:
        return []
    hit = parameter_table.index[parameter_table["at_bound"].astype(bool)]
    if len(hit) == 0:
        return []
    if bounds is None:
        from quakelab.models.etas import PARAMETER_BOUNDS as bounds
    parts = []
    for name in hit:
        v = float(parameter_table.loc[name, "value"])
        rng = f" ({bounds[name][0]:g} .. {bounds[name][1]:g})" if name in bounds else ""
        parts.append(f"{name} = {v:.3g}" + rng)
    noun = "parameter" if len(parts) == 1 else "parameters"
    verb = "sits" if len(parts) == 1 else "sit"
    pron = ("it", "its") if len(parts) == 1 else ("them", "their")
    return [
        f"ETAS {noun} {_fmt_list(parts)} {verb} on the edge of {pron[1]} search range"
        f"{'' if len(parts) == 1 else 's'}: the data do not constrain {pron[0]}, {pron[1]} standard "
        f"error{'' if len(parts) == 1 else 's'} mean{'s' if len(parts) == 1 else ''} little, and forecasts "
        "inherit the bound rather than the data."
    ]


def branching_caveats(branching_ratio: float) -> list[str]:
    """A caveat when the fitted ETAS branching ratio is 1 or more (supercritical).

    Parameters
    ----------
    branching_ratio : float
        Expected number of direct aftershocks per event.

    Returns
    -------
    list of str
        Empty, or one sentence.

    Examples
    --------
    >>> branching_caveats(0.8)
    []
    >>> branching_caveats(1.2)[0][:48]
    'The fitted branching ratio is 1.20 (1 or more: a'
    """
    n = float(branching_ratio)
    if not math.isfinite(n):
        return [f"The fitted branching ratio is {n}: the fit is not usable for forecasts."]
    if n < 1.0:
        return []
    return [
        f"The fitted branching ratio is {n:.2f} (1 or more: a supercritical process). Simulated sequences "
        "grow without bound, so forecasts and probabilities from this fit are not meaningful; this usually "
        "means the window is too short, Mc too low, or triggering from outside the window or region is "
        "missing."
    ]


def _csep_passes(row: pd.Series, alpha: float) -> bool | None:
    test = row["test"]
    q = float(row["quantile"])
    if test == "N-test":
        q2 = float(row.get("quantile_2", np.nan))
        return bool(q >= alpha / 2 and (not math.isfinite(q2) or q2 >= alpha / 2))
    if test in CONSISTENCY_TESTS:
        return bool(q >= alpha)
    return None


def csep_caveats(table: pd.DataFrame, *, alpha: float = 0.05) -> list[str]:
    """A caveat naming the CSEP consistency tests that every model fails.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of :func:`quakelab.evaluate.csep_tests` for one or more models (columns ``model``, ``test``,
        ``quantile``, ``quantile_2``).
    alpha : float, default 0.05
        Significance level (the N-test is two-sided: each tail at ``alpha / 2``).

    Returns
    -------
    list of str
        Empty, or one sentence.

    Examples
    --------
    >>> t = pd.DataFrame({"model": ["A", "B", "A", "B"], "test": ["S-test", "S-test", "M-test", "M-test"],
    ...                   "quantile": [0.0, 0.01, 0.0, 0.6], "quantile_2": [np.nan] * 4})
    >>> print(csep_caveats(t)[0])  # doctest: +NORMALIZE_WHITESPACE
    Every model fails the S-test (the spatial distribution) at the 5% level: none of them is consistent with
    what was observed there, so their ranking compares models that are all rejected.
    """
    if table is None or len(table) == 0:
        return []
    t = table.copy()
    if "model" not in t.columns:
        t["model"] = "model"
    t["passes"] = [_csep_passes(r, alpha) for _, r in t.iterrows()]
    failed = []
    for test in CONSISTENCY_TESTS:
        sub = t[t["test"] == test]
        if len(sub) and not sub["passes"].any():
            failed.append(test)
    if not failed:
        return []
    models = list(dict.fromkeys(t["model"]))
    who = "The model fails" if len(models) == 1 else "Every model fails"
    what = _fmt_list([f"{x} ({CSEP_TEST_MEANING[x]})" for x in failed])
    return [
        f"{who} the {what} at the {alpha:.0%} level: "
        + (
            "it is not consistent with what was observed there."
            if len(models) == 1
            else "none of them is consistent with what was observed there, so their ranking compares models that "
            "are all rejected."
        )
    ]


def label_csep_table(table: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """CSEP results with each statistic named for what it is and a verdict per test.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of :func:`quakelab.evaluate.csep_tests` (columns ``test``, ``quantile``, ``quantile_2`` and
        optionally ``model``, ``information_gain``, ``ig_low``, ``ig_high``).
    alpha : float, default 0.05
        Significance level.

    Returns
    -------
    pandas.DataFrame
        Columns ``model, test, statistic, value, statistic_2, value_2, result``: consistency tests give their
        quantile score (N-test: δ1 and δ2) and ``pass``/``fail``; the T-test gives its t statistic and critical
        value, with ``better``/``worse``/``no significant difference`` from the information-gain interval; the
        W-test gives its p-value.

    Examples
    --------
    >>> t = pd.DataFrame({"model": ["A"], "test": ["T-test"], "quantile": [4.2], "quantile_2": [1.96],
    ...                   "ig_low": [0.1], "ig_high": [0.5]})
    >>> label_csep_table(t)[["statistic", "result"]].iloc[0].tolist()
    ['t statistic', 'better than the reference']
    """
    rows = []
    for _, r in table.iterrows():
        test = r["test"]
        out = {
            "model": r.get("model", ""),
            "test": test,
            "statistic": "",
            "value": float(r["quantile"]),
            "statistic_2": "",
            "value_2": float(r.get("quantile_2", np.nan)),
            "result": "",
        }
        if test == "N-test":
            out.update(statistic="quantile δ1 (P(N ≥ observed))", statistic_2="quantile δ2 (P(N ≤ observed))")
        elif test in CONSISTENCY_TESTS:
            out.update(statistic="quantile score")
        elif test == "T-test":
            out.update(statistic="t statistic", statistic_2="critical t")
            lo, hi = float(r.get("ig_low", np.nan)), float(r.get("ig_high", np.nan))
            if math.isfinite(lo) and lo > 0:
                out["result"] = "better than the reference"
            elif math.isfinite(hi) and hi < 0:
                out["result"] = "worse than the reference"
            else:
                out["result"] = "no significant difference"
        elif test == "W-test":
            out.update(statistic="p-value")
            out["result"] = (
                "median difference significant" if out["value"] < alpha else "no significant difference"
            )
        else:
            out.update(statistic="value")
        verdict = _csep_passes(r, alpha)
        if verdict is not None:
            out["result"] = "pass" if verdict else "fail"
        rows.append(out)
    return pd.DataFrame(
        rows, columns=["model", "test", "statistic", "value", "statistic_2", "value_2", "result"]
    )


@renamed_kwargs(delta_m="magnitude_resolution")
def caveats(
    *,
    mc: Mapping[str, float] | None = None,
    magnitudes: ArrayLike | None = None,
    mc_used: float | None = None,
    magnitude_resolution: float = 0.1,
    parameter_table: pd.DataFrame | None = None,
    branching_ratio: float | None = None,
    csep_table: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> list[str]:
    """All caveats that the given diagnostics support, in reading order.

    Parameters
    ----------
    mc : mapping, optional
        Mc by method (:func:`mc_caveats`).
    magnitudes : array-like, optional
        Magnitudes (quoted b-values; with ``mc_used``, the fit check of :func:`gr_fit_caveats`).
    mc_used : float, optional
        The Mc of the headline b-value.
    magnitude_resolution : float, default 0.1
        The magnitudes' resolution (old name ``delta_m``, deprecated).
    parameter_table : pandas.DataFrame, optional
        ETAS parameter table (:func:`bound_caveats`).
    branching_ratio : float, optional
        ETAS branching ratio (:func:`branching_caveats`).
    csep_table : pandas.DataFrame, optional
        CSEP results of one or more models (:func:`csep_caveats`).
    alpha : float, default 0.05
        Significance level of the CSEP tests.

    Returns
    -------
    list of str
        Plain-language caveats (empty when the diagnostics raise none).

    Examples
    --------
    >>> caveats(branching_ratio=0.5, mc={"maxc": 2.0, "mbs": 2.1})
    []
    >>> len(caveats(branching_ratio=1.5, mc={"maxc": 1.8, "mbs": 3.4}))
    2
    """
    out: list[str] = []
    if mc is not None:
        out += mc_caveats(mc, magnitudes=magnitudes, magnitude_resolution=magnitude_resolution)
    if magnitudes is not None and mc_used is not None:
        out += gr_fit_caveats(magnitudes, mc_used, magnitude_resolution=magnitude_resolution)
    if parameter_table is not None:
        out += bound_caveats(parameter_table)
    if branching_ratio is not None:
        out += branching_caveats(branching_ratio)
    if csep_table is not None:
        out += csep_caveats(csep_table, alpha=alpha)
    return out


def caveats_markdown(items: Sequence[str], *, none: str = "") -> str:
    """Caveats as a Markdown block for a notebook (``none`` when there are none).

    Parameters
    ----------
    items : sequence of str
        From :func:`caveats`.
    none : str, default ""
        Text when ``items`` is empty.

    Returns
    -------
    str
        Markdown.

    Examples
    --------
    >>> caveats_markdown(["b is biased."])
    '**Caveat.** b is biased.'
    >>> caveats_markdown(["one", "two"]).splitlines()
    ['**Caveats.**', '', '- one', '- two']
    """
    items = list(items)
    if not items:
        return none
    if len(items) == 1:
        return f"**Caveat.** {items[0]}"
    return "\n".join(["**Caveats.**", "", *[f"- {c}" for c in items]])


__all__ = [
    "CONSISTENCY_TESTS",
    "CSEP_TEST_MEANING",
    "MC_METHOD_NAMES",
    "bound_caveats",
    "branching_caveats",
    "caveats",
    "caveats_markdown",
    "csep_caveats",
    "gr_fit_caveats",
    "label_csep_table",
    "mc_caveats",
]
