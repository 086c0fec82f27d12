"""Omori–Utsu aftershock decay: maximum-likelihood fit and simulation; inter-event time statistics."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize


@dataclass(frozen=True)
class OmoriFit:
    """Modified Omori law ``n(t) = K / (t + c)^p`` (events per day, ``t`` in days after the mainshock).

    Attributes
    ----------
    K, c, p : float
        Productivity (events/day^(1-p)), time offset (days) and decay exponent.
    K_std, c_std, p_std : float
        Standard errors from the inverse observed Fisher information.
    n : int
        Events used (``t_start <= t <= t_end``).
    t_start, t_end : float
        Fitting window in days after the mainshock.
    log_likelihood : float
        Maximised log-likelihood.
    """

    K: float
    c: float
    p: float
    K_std: float
    c_std: float
    p_std: float
    n: int
    t_start: float
    t_end: float
    log_likelihood: float

    def to_series(self) -> pd.Series:
        """The fit as a :class:`pandas.Series`."""
        return pd.Series(asdict(self))

    def rate(self, t_days: ArrayLike) -> np.ndarray:
        """Rate (events/day) at ``t_days`` after the mainshock."""
        return self.K / (np.asarray(t_days, dtype=float) + self.c) ** self.p

    def expected_count(self, t1_days: float, t2_days: float) -> float:
        """Expected number of events between ``t1_days`` and ``t2_days``."""
        return float(self.K * _omori_integral(self.c, self.p, t1_days, t2_days))


def _omori_integral(c: float, p: float, s: float, t: float) -> float:
    """Integral of (u + c)^-p from s to t."""
    if abs(p - 1.0) < 1e-9:
        return float(np.log(t + c) - np.log(s + c))
    return float(((t + c) ** (1 - p) - (s + c) ** (1 - p)) / (1 - p))


def _neg_loglik(theta: np.ndarray, t: np.ndarray, s: float, e: float) -> float:
    log_k, log_c, p = theta
    k, c = np.exp(log_k), np.exp(log_c)
    return -(t.size * log_k - p * np.sum(np.log(t + c)) - k * _omori_integral(c, p, s, e))


def omori_fit(
    t_days: ArrayLike | pd.Series,
    t_start: float = 0.0,
    t_end: float | None = None,
    p0: float = 1.1,
    c0: float = 0.05,
) -> OmoriFit:
    """Maximum-likelihood fit of the modified Omori (Omori–Utsu) law (Ogata 1983).

    The log-likelihood of event times ``t_i`` in ``[S, T]`` is
    ``sum log(K (t_i + c)^-p) - K * integral_S^T (t + c)^-p dt``. ``K`` is profiled out
    (``K = N / integral``), ``(log c, p)`` are optimised, and standard errors come from a numerical
    Hessian of the full three-parameter negative log-likelihood in ``(log K, log c, p)`` (delta method
    for ``K`` and ``c``).

    Parameters
    ----------
    t_days : array-like
        Event times in days after the mainshock (events outside the window are ignored).
    t_start : float, default 0
        Start of the fitting window (days); a small positive value skips the incomplete first minutes.
    t_end : float, optional
        End of the window; the last event time when None.
    p0, c0 : float
        Starting values.

    Returns
    -------
    OmoriFit
        Parameters, standard errors, number of events and log-likelihood.

    Raises
    ------
    ValueError
        With fewer than 10 events in the window, or when the optimiser fails.

    Examples
    --------
    >>> t = simulate_omori(K=50, c=0.05, p=1.1, t_end_days=100, seed=1)
    >>> fit = omori_fit(t, t_end=100)
    >>> abs(fit.p - 1.1) < 3 * fit.p_std
    True
    """
    t = np.asarray(t_days, dtype=float)
    t = t[np.isfinite(t)]
    e = float(t.max()) if t_end is None else float(t_end)
    t = t[(t >= t_start) & (t <= e)]
    if t.size < 10:
        raise ValueError(
            f"need at least 10 events to fit the Omori law, got {t.size} in [{t_start}, {e}] days"
        )

    def profile(x: np.ndarray) -> float:
        log_c, p = x
        integral = _omori_integral(np.exp(log_c), p, t_start, e)
        if not np.isfinite(integral) or integral <= 0:
            return np.inf
        return _neg_loglik(np.array([np.log(t.size / integral), log_c, p]), t, t_start, e)

    best = None
    for lc in (np.log(c0), np.log(0.005), np.log(0.5)):
        res = optimize.minimize(
            profile, x0=[lc, p0], method="L-BFGS-B", bounds=[(np.log(1e-6), np.log(30.0)), (0.05, 3.0)]
        )
        if best is None or res.fun < best.fun:
            best = res
    if best is None or not np.isfinite(best.fun):
        raise ValueError("Omori fit did not converge")
    log_c, p = best.x
    c = float(np.exp(log_c))
    k = t.size / _omori_integral(c, p, t_start, e)
    theta = np.array([np.log(k), log_c, p])
    hess = _numerical_hessian(lambda x: _neg_loglik(x, t, t_start, e), theta)
    try:
        cov = np.linalg.inv(hess)
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        sd = np.full(3, np.nan)
    return OmoriFit(
        K=float(k),
        c=c,
        p=float(p),
        K_std=float(k * sd[0]),
        c_std=float(c * sd[1]),
        p_std=float(sd[2]),
        n=int(t.size),
        t_start=float(t_start),
        t_end=e,
        log_likelihood=float(-best.fun),
    )


def _numerical_hessian(f, x: np.ndarray, rel_step: float = 1e-4) -> np.ndarray:
    n = x.size
    h = rel_step * np.maximum(np.abs(x), 1.0)
    hess = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.zeros(n), np.zeros(n)
            ei[i], ej[j] = h[i], h[j]
            val = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
            hess[i, j] = hess[j, i] = val
    return hess


def simulate_omori(
    K: float,
    c: float,
    p: float,
    t_end_days: float,
    t_start_days: float = 0.0,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Simulate aftershock times (days) of a modified Omori process on ``[t_start, t_end]``.

    The count is Poisson with mean ``K * integral``; times are drawn by inverting the normalised
    cumulative rate.

    Parameters
    ----------
    K, c, p : float
        Omori parameters (``p != 1`` or ``p == 1``).
    t_end_days, t_start_days : float
        Window in days.
    seed : int or Generator, optional
        Random seed.

    Returns
    -------
    numpy.ndarray
        Sorted event times.
    """
    rng = np.random.default_rng(seed)
    total = K * _omori_integral(c, p, t_start_days, t_end_days)
    n = rng.poisson(total)
    u = rng.uniform(size=n)
    if abs(p - 1.0) < 1e-9:
        t = (t_start_days + c) * ((t_end_days + c) / (t_start_days + c)) ** u - c
    else:
        a, b = (t_start_days + c) ** (1 - p), (t_end_days + c) ** (1 - p)
        t = (a + u * (b - a)) ** (1 / (1 - p)) - c
    return np.sort(t)


def days_since(catalog: pd.DataFrame, origin: pd.Timestamp | str) -> np.ndarray:
    """Times of a catalog in days after ``origin`` (UTC).

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    origin : Timestamp or str
        Reference time (naive values are read as UTC).

    Returns
    -------
    numpy.ndarray
        Days (float), negative before ``origin``.
    """
    ts = pd.Timestamp(origin)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ((catalog["time"] - ts) / pd.Timedelta(days=1)).to_numpy(dtype=float)


def interevent_times(catalog: pd.DataFrame) -> pd.Series:
    """Inter-event times in days, in time order.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.

    Returns
    -------
    pandas.Series
        ``len(catalog) - 1`` values named ``interevent_days``.
    """
    t = catalog["time"].sort_values(kind="mergesort")
    dt = (t.diff().dropna() / pd.Timedelta(days=1)).reset_index(drop=True)
    return dt.rename("interevent_days")


def interevent_statistics(catalog: pd.DataFrame) -> pd.Series:
    """Summary of inter-event times: count, mean, median, coefficient of variation, burstiness.

    The coefficient of variation ``CV = std / mean`` is 1 for a Poisson process, above 1 for clustered
    seismicity; burstiness ``B = (CV - 1) / (CV + 1)`` (Goh & Barabási 2008) is 0 for Poisson.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog with at least 3 events.

    Returns
    -------
    pandas.Series
        ``n_intervals, mean_days, median_days, std_days, cv, burstiness``.

    Examples
    --------
    >>> import pandas as pd
    >>> cat = pd.DataFrame({"time": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-04"], utc=True)})
    >>> float(interevent_statistics(cat)["mean_days"])
    1.5
    """
    dt = interevent_times(catalog).to_numpy()
    if dt.size < 2:
        raise ValueError("need at least 3 events for inter-event statistics")
    mean, std = dt.mean(), dt.std(ddof=1)
    cv = std / mean if mean > 0 else np.nan
    return pd.Series(
        {
            "n_intervals": dt.size,
            "mean_days": mean,
            "median_days": float(np.median(dt)),
            "std_days": std,
            "cv": cv,
            "burstiness": (cv - 1) / (cv + 1),
        }
    )
