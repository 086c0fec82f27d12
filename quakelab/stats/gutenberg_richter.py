"""Frequency–magnitude statistics: magnitude of completeness, b-value, Gutenberg–Richter a and b."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quakelab._compat import renamed_attribute, renamed_kwargs

LOG10_E = np.log10(np.e)


@dataclass(frozen=True)
class GutenbergRichter:
    """A Gutenberg–Richter fit ``log10 N(>=M) = a - b M`` above ``min_magnitude``.

    Attributes
    ----------
    b : float
        b-value (maximum likelihood on binned magnitudes, :func:`estimate_beta`).
    b_std : float
        Shi & Bolt (1982) standard error of ``b``.
    a : float
        a-value: ``log10`` of the number of events with ``M >= 0`` implied by the fit
        (``log10 N(>=min_magnitude) + b * min_magnitude``).
    min_magnitude : float
        Magnitude threshold of the fit (usually an estimated magnitude of completeness). The old name
        ``mc`` still reads it (deprecated).
    n : int
        Number of events with ``M >= min_magnitude``.
    magnitude_resolution : float
        Resolution the magnitudes were binned to (0 for continuous magnitudes). The old name ``delta_m``
        still reads it (deprecated).
    """

    b: float
    b_std: float
    a: float
    min_magnitude: float
    n: int
    magnitude_resolution: float

    mc = renamed_attribute("min_magnitude")
    delta_m = renamed_attribute("magnitude_resolution")

    def to_series(self) -> pd.Series:
        """The fit as a :class:`pandas.Series`."""
        return pd.Series(asdict(self))

    def expected_count(self, magnitude: float | ArrayLike) -> np.ndarray:
        """Expected number of events with ``M >= magnitude`` (magnitudes on the bin grid, >= min_magnitude)."""
        return 10 ** (self.a - self.b * np.asarray(magnitude, dtype=float))


def _mags(magnitudes: ArrayLike | pd.Series) -> np.ndarray:
    m = np.asarray(magnitudes, dtype=float)
    m = m[np.isfinite(m)]
    if m.size == 0:
        raise ValueError("no finite magnitudes")
    return m


@renamed_kwargs(delta_m="magnitude_resolution")
def bin_magnitudes(magnitudes: ArrayLike, magnitude_resolution: float = 0.1) -> np.ndarray:
    """Round magnitudes to bins of width ``r = magnitude_resolution`` (bin centres), free of float noise.

    quakelab's one binning. Halves round up, so the bin labelled ``m`` holds ``[m - r/2, m + r/2)``: a
    magnitude threshold ``min_magnitude`` on binned magnitudes is the cut ``M >= min_magnitude - r/2`` on the
    original ones
    (the CSEP convention: bin 5.0 of a CSEP forecast is ``[4.95, 5.05)``). See ``docs/glossary.md``.

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes.
    magnitude_resolution : float, default 0.1
        Bin width; 0 returns the input unchanged.

    Returns
    -------
    numpy.ndarray
        Binned magnitudes.

    Examples
    --------
    >>> bin_magnitudes([2.04, 2.05, 2.149], 0.1).tolist()
    [2.0, 2.1, 2.1]
    """
    m = np.asarray(magnitudes, dtype=float)
    if magnitude_resolution <= 0:
        return m
    return np.round(np.floor(m / magnitude_resolution + 0.5 + 1e-9) * magnitude_resolution, 10)


@renamed_kwargs(delta_m="magnitude_resolution")
def estimate_beta(
    magnitudes: ArrayLike | pd.Series, min_magnitude: float, magnitude_resolution: float = 0.1
) -> float:
    """Maximum-likelihood Gutenberg–Richter ``beta`` (``= b ln 10``) above ``min_magnitude``: quakelab's one estimator.

    The binning convention (see ``docs/glossary.md``): magnitudes are first binned to ``r = magnitude_resolution``
    with :func:`bin_magnitudes` (round half up), so the bin labelled ``m`` holds ``[m - r/2, m + r/2)``;
    events whose *binned* magnitude is ``>= min_magnitude`` are kept, i.e. the cut on the original magnitudes is
    ``min_magnitude - r/2``. On binned magnitudes the exact maximum-likelihood estimate is the one of
    the discrete exponential (Tinti & Mulargia 1987): ``beta = ln(1 + r / mean_excess) / r`` with
    ``mean_excess = mean(M_binned - min_magnitude)``; ``r = 0`` gives the continuous ``1 / mean_excess``.

    ``r`` is the step at which the magnitudes are reported (their resolution): 0.01 for two-decimal
    catalogs such as QTM. Cutting two-decimal magnitudes at ``min_magnitude`` and applying a 0.1-bin correction, or
    rounding them to 0.1 when the catalog itself starts at ``min_magnitude``, leaves the lowest bin half filled and
    biases beta low (``tests/stats``; ``benchmarks/bench_binning.py``).

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes (any resolution; NaN are ignored).
    min_magnitude : float
        Magnitude threshold, on the bin grid (the centre of the lowest bin).
    magnitude_resolution : float, default 0.1
        Resolution of the magnitudes (0 for continuous magnitudes, no binning).

    Returns
    -------
    float
        beta (natural-log rate of the exponential magnitude distribution).

    Raises
    ------
    ValueError
        With fewer than 2 events at or above the threshold, or all of them in the lowest bin.

    Examples
    --------
    >>> round(float(estimate_beta([1.0, 1.0, 1.1, 1.3, 1.0, 1.2], 1.0, 0.1) / np.log(10)), 4)  # log10(2) / 0.1
    3.0103
    """
    m = _mags(magnitudes)
    if magnitude_resolution > 0:
        m = bin_magnitudes(m, magnitude_resolution)
    m = m[m >= min_magnitude - 1e-9]
    if m.size < 2:
        raise ValueError(f"need at least 2 events with M >= {min_magnitude} to estimate b, got {m.size}")
    excess = float(np.mean(m - min_magnitude))
    if excess <= 1e-12:
        raise ValueError(f"all {m.size} magnitudes are in the lowest bin {min_magnitude}: beta is unbounded")
    if magnitude_resolution > 0:
        return float(np.log1p(magnitude_resolution / excess) / magnitude_resolution)
    return 1.0 / excess


def magnitude_bin_fractions(
    magnitudes: ArrayLike, beta: float, min_magnitude: float, delta_m: float = 0.1
) -> np.ndarray:
    """Share of Gutenberg–Richter events in each magnitude bin, relative to the events at or above ``min_magnitude``.

    The bin labelled ``m`` holds the magnitudes from ``m`` to the next label (the last bin is open above), the
    labels being on the same footing as ``min_magnitude`` (both reported values, whatever the catalog's
    resolution): the share is ``exp(-beta (m - min_magnitude)) - exp(-beta (m + delta_m - min_magnitude))``.
    A bin below ``min_magnitude`` gets the Gutenberg–Richter extrapolation (shares then sum above 1).

    Parameters
    ----------
    magnitudes : array-like
        Bin centres, increasing, regularly spaced by ``delta_m``.
    beta : float
        Gutenberg–Richter beta (:func:`estimate_beta`).
    min_magnitude : float
        Threshold the rate refers to.
    delta_m : float, default 0.1
        Bin width.

    Returns
    -------
    numpy.ndarray
        Share per bin.

    Examples
    --------
    >>> magnitude_bin_fractions([2.0, 2.1], beta=np.log(10), min_magnitude=2.0).round(4).tolist()
    [0.2057, 0.7943]
    """
    m = np.asarray(magnitudes, dtype=float)
    surv = np.exp(-beta * (m - min_magnitude))
    return surv - np.append(surv[1:], 0.0)


@renamed_kwargs(mc="min_magnitude", delta_m="magnitude_resolution")
def b_value(
    magnitudes: ArrayLike | pd.Series, min_magnitude: float, magnitude_resolution: float = 0.1
) -> GutenbergRichter:
    """Maximum-likelihood b-value above ``min_magnitude`` with the Shi–Bolt uncertainty.

    ``b = estimate_beta(...) / ln 10`` (:func:`estimate_beta`: magnitudes binned to ``r = magnitude_resolution``
    first, the cut at ``min_magnitude - r/2`` on the original magnitudes, Tinti & Mulargia 1987 for binned data) and
    ``sigma_b = 2.3 b^2 sqrt(sum((M - mean)^2) / (n (n - 1)))`` (Shi & Bolt 1982) on the binned magnitudes.

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes (binned to ``magnitude_resolution`` here; continuous with ``magnitude_resolution=0``).
    min_magnitude : float
        Magnitude of completeness on the bin grid; events whose binned magnitude is ``>= min_magnitude`` are used.
    magnitude_resolution : float, default 0.1
        Magnitude bin width.

    Returns
    -------
    GutenbergRichter
        b, its standard error, a, min_magnitude, n.

    Raises
    ------
    ValueError
        With fewer than 2 events above ``min_magnitude``.

    Examples
    --------
    >>> fit = b_value([1.0, 1.0, 1.1, 1.3, 1.0, 1.2], min_magnitude=1.0)
    >>> round(fit.b, 4)
    3.0103
    """
    m = _mags(magnitudes)
    if magnitude_resolution > 0:
        m = bin_magnitudes(m, magnitude_resolution)
    m = m[m >= min_magnitude - 1e-9]
    n = m.size
    if n < 2:
        raise ValueError(f"need at least 2 events with M >= {min_magnitude} to estimate b, got {n}")
    mean = m.mean()
    if mean - min_magnitude <= 1e-12:
        raise ValueError(f"mean magnitude {mean:.3f} does not exceed min_magnitude = {min_magnitude:.3f}")
    b = estimate_beta(m, min_magnitude, magnitude_resolution) / np.log(10)
    b_std = 2.3 * b**2 * np.sqrt(np.sum((m - mean) ** 2) / (n * (n - 1)))
    a = np.log10(n) + b * min_magnitude
    return GutenbergRichter(
        b=float(b),
        b_std=float(b_std),
        a=float(a),
        min_magnitude=float(min_magnitude),
        n=int(n),
        magnitude_resolution=float(magnitude_resolution),
    )


@renamed_kwargs(delta_m="magnitude_resolution")
def frequency_magnitude(magnitudes: ArrayLike | pd.Series, magnitude_resolution: float = 0.1) -> pd.DataFrame:
    """Non-cumulative and cumulative frequency–magnitude distribution.

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes.
    magnitude_resolution : float, default 0.1
        Bin width.

    Returns
    -------
    pandas.DataFrame
        Index ``magnitude`` (bin centres from min to max), columns ``count`` (events in the bin) and
        ``cumulative`` (events with ``M >=`` the bin).
    """
    m = bin_magnitudes(_mags(magnitudes), magnitude_resolution)
    lo, hi = m.min(), m.max()
    centres = np.round(np.arange(lo, hi + magnitude_resolution / 2, magnitude_resolution), 10)
    idx = np.clip(np.rint((m - lo) / magnitude_resolution).astype(int), 0, centres.size - 1)
    counts = np.bincount(idx, minlength=centres.size)
    cum = counts[::-1].cumsum()[::-1]
    return pd.DataFrame({"count": counts, "cumulative": cum}, index=pd.Index(centres, name="magnitude"))


@renamed_kwargs(delta_m="magnitude_resolution")
def mc_maxc(
    magnitudes: ArrayLike | pd.Series, magnitude_resolution: float = 0.1, correction: float = 0.2
) -> float:
    """Maximum-curvature magnitude of completeness (Wiemer & Wyss 2000) plus a correction.

    The maximum-curvature estimate is the most populated magnitude bin; it underestimates Mc for
    gradually curved distributions, hence the customary +0.2 (Woessner & Wiemer 2005).

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes.
    magnitude_resolution : float, default 0.1
        Bin width.
    correction : float, default 0.2
        Added to the maximum-curvature estimate.

    Returns
    -------
    float
        Mc.
    """
    fmd = frequency_magnitude(magnitudes, magnitude_resolution)
    return float(np.round(fmd["count"].idxmax() + correction, 10))


@renamed_kwargs(delta_m="magnitude_resolution")
def mc_goodness_of_fit(
    magnitudes: ArrayLike | pd.Series,
    magnitude_resolution: float = 0.1,
    levels: tuple[float, ...] = (95.0, 90.0),
    min_events: int = 50,
) -> float:
    """Goodness-of-fit magnitude of completeness (Wiemer & Wyss 2000).

    For each trial Mc the Gutenberg–Richter fit above it predicts the cumulative counts; the residual
    ``R = 100 - 100 * sum|observed - predicted| / sum(observed)`` is the percentage of data explained.
    The first Mc reaching the first level in ``levels`` (95 %, then 90 %) is returned; when none does,
    the maximum-curvature estimate (+0.2) is returned.

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes.
    magnitude_resolution : float, default 0.1
        Bin width.
    levels : tuple of float, default (95, 90)
        Acceptance levels tried in order.
    min_events : int, default 50
        Trial Mc values leaving fewer events are not considered.

    Returns
    -------
    float
        Mc.
    """
    m = bin_magnitudes(_mags(magnitudes), magnitude_resolution)
    fmd = frequency_magnitude(m, magnitude_resolution)
    trials = fmd.index.to_numpy()
    residuals = np.full(trials.size, np.nan)
    for i, mc in enumerate(trials):
        above = m[m >= mc - 1e-9]
        if above.size < min_events:
            break
        fit = b_value(above, mc, magnitude_resolution)
        obs = fmd["cumulative"].to_numpy()[i:]
        pred = above.size * 10 ** (-fit.b * (trials[i:] - mc))
        residuals[i] = 100 - 100 * np.abs(obs - pred).sum() / obs.sum()
    for level in levels:
        ok = np.flatnonzero(residuals >= level)
        if ok.size:
            return float(trials[ok[0]])
    return mc_maxc(m, magnitude_resolution)


@renamed_kwargs(delta_m="magnitude_resolution")
def mc_b_stability(
    magnitudes: ArrayLike | pd.Series,
    magnitude_resolution: float = 0.1,
    window: float = 0.5,
    min_events: int = 50,
) -> float:
    """b-value-stability magnitude of completeness (Cao & Gao 2002; Woessner & Wiemer 2005).

    Mc is the first trial magnitude at which the mean b-value over ``[Mc, Mc + window]`` differs from
    b(Mc) by no more than the Shi–Bolt uncertainty of b(Mc).

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes.
    magnitude_resolution : float, default 0.1
        Bin width.
    window : float, default 0.5
        Magnitude range averaged.
    min_events : int, default 50
        Trial Mc values leaving fewer events are not considered.

    Returns
    -------
    float
        Mc (the maximum-curvature estimate + 0.2 when no trial is stable).
    """
    m = bin_magnitudes(_mags(magnitudes), magnitude_resolution)
    trials = frequency_magnitude(m, magnitude_resolution).index.to_numpy()
    bs, sds = [], []
    for mc in trials:
        above = m[m >= mc - 1e-9]
        if above.size < min_events:
            break
        fit = b_value(above, mc, magnitude_resolution)
        bs.append(fit.b)
        sds.append(fit.b_std)
    k = int(round(window / magnitude_resolution))
    for i in range(len(bs) - k):
        if abs(np.mean(bs[i : i + k + 1]) - bs[i]) <= sds[i]:
            return float(trials[i])
    return mc_maxc(m, magnitude_resolution)


McMethod = Literal["maxc", "gft", "mbs"]


@renamed_kwargs(delta_m="magnitude_resolution")
def magnitude_of_completeness(
    magnitudes: ArrayLike | pd.Series, method: McMethod = "maxc", magnitude_resolution: float = 0.1
) -> float:
    """Magnitude of completeness by maximum curvature (+0.2), goodness of fit, or b-value stability.

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes.
    method : {"maxc", "gft", "mbs"}, default "maxc"
        See :func:`mc_maxc`, :func:`mc_goodness_of_fit`, :func:`mc_b_stability`.
    magnitude_resolution : float, default 0.1
        Bin width.

    Returns
    -------
    float
        Mc.
    """
    funcs = {"maxc": mc_maxc, "gft": mc_goodness_of_fit, "mbs": mc_b_stability}
    if method not in funcs:
        raise ValueError(f"unknown Mc method {method!r}; choose one of {sorted(funcs)}")
    return funcs[method](magnitudes, magnitude_resolution=magnitude_resolution)


@renamed_kwargs(mc="min_magnitude", delta_m="magnitude_resolution")
def simulate_gutenberg_richter(
    n: int,
    b: float = 1.0,
    min_magnitude: float = 2.0,
    magnitude_resolution: float = 0.1,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Draw ``n`` Gutenberg–Richter magnitudes ``>= min_magnitude`` (binned to ``r = magnitude_resolution``).

    Continuous magnitudes start at ``min_magnitude - r/2`` so that after binning the smallest bin is
    ``min_magnitude`` (continuous magnitudes from ``min_magnitude`` when ``r = 0``).

    Parameters
    ----------
    n : int
        Number of events.
    b : float, default 1.0
        b-value.
    min_magnitude : float, default 2.0
        Smallest magnitude bin.
    magnitude_resolution : float, default 0.1
        Bin width (0 for continuous magnitudes starting at ``min_magnitude``).
    seed : int or Generator, optional
        Random seed.

    Returns
    -------
    numpy.ndarray
        Magnitudes.
    """
    rng = np.random.default_rng(seed)
    m = min_magnitude - magnitude_resolution / 2 + rng.exponential(LOG10_E / b, size=n)
    return bin_magnitudes(m, magnitude_resolution)
