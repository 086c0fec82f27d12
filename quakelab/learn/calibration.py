"""Recalibration of a fixed probability forecast on a later window, never to probabilities of exactly 0 or 1.

Every model of a gridded comparison (learned, Poisson, ETAS) gives a probability ``p`` that a bin holds at
least one target event. Recalibrating each on the same validation window with the same method makes the
comparison fair; a method that can return 0 (isotonic regression on a step that saw no positive) makes a
single later positive cost ``log(0)`` (about 20 nats at the scores' clip), which says nothing about the
model. The methods here cannot:

``"platt"``
    Logistic regression on the logit of the forecast, ``q = expit(a logit(p) + b)``, fitted by maximum
    likelihood with Platt's (1999) target smoothing (positives count as ``(N+ + 1) / (N+ + 2)``, negatives as
    ``1 / (N- + 2)``), which keeps ``a, b`` finite even when the validation bins are separable. A calibrated
    forecast gives ``a = 1, b = 0``; a forecast whose odds are off by a constant factor ``k`` gives
    ``a = 1, b = -log k``.
``"rate"``
    One rate factor for a count forecast: ``q = 1 - exp(-c Lambda)`` with ``Lambda = -log(1 - p)`` the forecast's
    expected count, ``c`` by maximum likelihood. A forecast whose expected counts are off by a factor ``k``
    gives ``c = 1 / k``.
``"isotonic"``
    Isotonic regression whose steps are Beta-smoothed: a step holding ``k`` positives among ``n`` validation bins
    gives ``(k + a) / (n + a + b)``, with the prior ``a = 1, b = (1 - m) / m`` (``m`` the validation base rate:
    one pseudo-positive at the base rate), steps merged until the smoothed values increase.

Every output is kept inside ``[PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR]`` as a guard against floating-point
underflow; the fitted maps themselves stay strictly inside (0, 1) for finite inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Smallest probability any recalibration returns (and 1 minus the largest).
PROBABILITY_FLOOR = 1e-12

METHODS = ("platt", "rate", "isotonic")


def _as_probability(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.size and (not np.isfinite(p).all() or p.min() < 0 or p.max() > 1):
        raise ValueError("probabilities must be finite and in [0, 1]")
    return np.clip(p, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)


@dataclass(frozen=True)
class Recalibration:
    """A fitted recalibration map (:func:`fit_recalibration`); call it on probabilities.

    Attributes
    ----------
    method : str
        ``"platt"``, ``"rate"`` or ``"isotonic"``.
    params : dict
        ``a, b`` (platt), ``c`` (rate), or ``edges, values`` (isotonic: the lower edge of each step in the
        forecast's probability and the step's smoothed probability).
    n_calibration, n_positive : int
        Validation bins and positive bins it was fitted on.
    """

    method: str
    params: dict = field(default_factory=dict)
    n_calibration: int = 0
    n_positive: int = 0

    def __call__(self, p) -> np.ndarray:
        """Recalibrated probabilities of ``p`` (array of probabilities), strictly inside (0, 1)."""
        from scipy.special import expit, logit

        p = _as_probability(p)
        if self.method == "platt":
            q = expit(self.params["a"] * logit(p) + self.params["b"])
        elif self.method == "rate":
            q = -np.expm1(self.params["c"] * np.log1p(-p))
        else:
            edges = np.asarray(self.params["edges"], dtype=float)
            values = np.asarray(self.params["values"], dtype=float)
            q = values[np.clip(np.searchsorted(edges, p, side="right") - 1, 0, values.size - 1)]
        return np.clip(q, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)

    def to_dict(self) -> dict:
        """Plain-JSON form (method, parameters, counts)."""
        params = {
            k: (np.asarray(v).tolist() if isinstance(v, np.ndarray | list) else float(v))
            for k, v in self.params.items()
        }
        return {
            "method": self.method,
            "params": params,
            "n_calibration": self.n_calibration,
            "n_positive": self.n_positive,
        }


def _fit_platt(p: np.ndarray, y: np.ndarray) -> dict:
    from scipy.optimize import minimize
    from scipy.special import expit, logit

    z = logit(p)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    t = np.where(y > 0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(theta):
        s = theta[0] * z + theta[1]
        # -[t log expit(s) + (1 - t) log expit(-s)]
        value = np.sum(t * np.logaddexp(0.0, -s) + (1 - t) * np.logaddexp(0.0, s))
        r = expit(s) - t
        return value, np.array([np.sum(r * z), np.sum(r)])

    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="BFGS", options={"gtol": 1e-8})
    if not np.isfinite(res.x).all():
        raise RuntimeError(f"Platt recalibration did not converge: {res.message}")
    return {"a": float(res.x[0]), "b": float(res.x[1])}


def _fit_rate(p: np.ndarray, y: np.ndarray) -> dict:
    from scipy.optimize import brentq

    lam = -np.log1p(-p)
    pos, neg_total = lam[y > 0], float(lam[y == 0].sum())
    if neg_total <= 0:
        raise ValueError("every calibration bin is positive: the rate factor is unbounded")

    def score(log_c):  # derivative of the log-likelihood in c, times c: decreasing in c
        x = np.exp(log_c) * pos
        return float(np.sum(x / np.expm1(x))) - np.exp(log_c) * neg_total

    lo, hi = -1.0, 1.0
    while score(lo) <= 0:
        lo -= 2.0
    while score(hi) >= 0:
        hi += 2.0
    return {"c": float(np.exp(brentq(score, lo, hi, xtol=1e-12)))}


def _fit_isotonic(p: np.ndarray, y: np.ndarray, prior_positives: float) -> dict:
    from sklearn.isotonic import IsotonicRegression

    order = np.argsort(p, kind="stable")
    ps, ys = p[order], y[order].astype(float)
    fitted = IsotonicRegression(increasing=True).fit_transform(ps, ys)
    # steps: runs of equal fitted value (ties in p share one value by construction)
    starts = np.r_[0, np.flatnonzero(np.diff(fitted) != 0) + 1]
    k = list(np.add.reduceat(ys, starts))
    n = list(np.diff(np.r_[starts, ps.size]).astype(float))
    lower = list(ps[starts])
    m = ys.mean()
    a, b = prior_positives, prior_positives * (1 - m) / m

    def value(i):
        return (k[i] + a) / (n[i] + a + b)

    i = 0
    while i < len(k) - 1:  # merge adjacent steps until the smoothed values increase
        if value(i) >= value(i + 1):
            k[i] += k.pop(i + 1)
            n[i] += n.pop(i + 1)
            lower.pop(i + 1)
            i = max(i - 1, 0)
        else:
            i += 1
    values = [value(i) for i in range(len(k))]
    lower[0] = 0.0
    return {"edges": np.asarray(lower), "values": np.asarray(values), "a": a, "b": b}


def fit_recalibration(p_cal, y_cal, *, method: str = "platt", prior_positives: float = 1.0) -> Recalibration:
    """Fit a recalibration of a forecast on calibration (validation) bins.

    Parameters
    ----------
    p_cal : array
        The forecast's probabilities on the calibration bins.
    y_cal : array of 0/1
        Their outcomes (1: at least one target event).
    method : {"platt", "rate", "isotonic"}, default "platt"
        See the module's documentation.
    prior_positives : float, default 1
        ``"isotonic"`` only: the Beta prior's weight in positives (``a``), at the validation base rate.

    Returns
    -------
    Recalibration
        Callable on the probabilities to map (e.g. the test bins').

    Raises
    ------
    ValueError
        Unknown method, probabilities outside [0, 1], mismatched lengths, or calibration labels without a
        positive or without a negative (nothing to calibrate against).

    Examples
    --------
    >>> y = [1] * 10 + [0] * 90
    >>> round(float(fit_recalibration([0.05] * 100, y, method="rate")([0.05])[0]), 6)  # 1 - 0.95 ** c = 0.1
    0.1
    """
    if method not in METHODS:
        raise ValueError(f"unknown recalibration method {method!r}; one of {', '.join(METHODS)}")
    p = _as_probability(p_cal)
    y = np.asarray(y_cal)
    if y.shape != p.shape:
        raise ValueError(f"p_cal and y_cal differ in length ({p.size} vs {y.size})")
    y = (y > 0).astype(int)
    if y.size == 0 or y.min() == y.max():
        raise ValueError(f"the calibration labels are all {y[0] if y.size else 'missing'}; cannot calibrate")
    if method == "platt":
        params = _fit_platt(p, y)
    elif method == "rate":
        params = _fit_rate(p, y)
    else:
        params = _fit_isotonic(p, y, prior_positives)
    return Recalibration(method, params, int(y.size), int(y.sum()))


def recalibrate(p_cal, y_cal, p, *, method: str = "platt") -> np.ndarray:
    """Fit :func:`fit_recalibration` on ``(p_cal, y_cal)`` and apply it to ``p``.

    Returns
    -------
    numpy.ndarray
        Recalibrated probabilities of ``p``, strictly inside (0, 1).
    """
    return fit_recalibration(p_cal, y_cal, method=method)(p)
