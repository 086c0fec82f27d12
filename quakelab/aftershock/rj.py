"""Reasenberg–Jones models for the aftershock product: generic, sequence-specific (MLE) and Bayesian.

The rate of aftershocks ``M >= m`` at ``t`` days after a mainshock of magnitude ``Mm`` is
``lambda(t, m) = 10^(a + b (Mm - m)) (t + c)^-p`` (Reasenberg & Jones 1989). For fixed parameters the
number in a window is Poisson; with parameter uncertainty (the generic a-value spread, the Bayesian
posterior) it is a Poisson mixture, whose probabilities and quantiles :class:`PoissonMixture` computes
exactly from the mixture's cumulative distribution (no sampling).

Fitting uses only the events above the time-dependent completeness ``Mc(t)`` (Page et al. 2016): the
observed events form a Poisson process of intensity ``10^(a + b (Mm - Mc(t))) (t + c)^-p``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from quakelab.aftershock.generic import Completeness, GenericRJ

LN10 = math.log(10.0)


def omori_integral(c, p, t1: float, t2: float) -> np.ndarray:
    """Integral of ``(t + c)^-p`` over ``[t1, t2]`` days, vectorised over ``c`` and ``p``.

    Examples
    --------
    >>> round(float(omori_integral(0.05, 1.08, 1.0, 8.0)), 6)
    1.872263
    """
    c = np.asarray(c, dtype=float)
    p = np.asarray(p, dtype=float)
    one = np.abs(p - 1.0) < 1e-9
    q = np.where(one, 0.5, 1.0 - p)  # placeholder where p == 1
    general = ((t2 + c) ** q - (t1 + c) ** q) / q
    return np.where(one, np.log((t2 + c) / (t1 + c)), general)


@dataclass
class PoissonMixture:
    """The number of events when its Poisson mean is ``means[k]`` with probability ``weights[k]``.

    A single mean with weight 1 is the plain Poisson distribution.

    Examples
    --------
    >>> PoissonMixture.poisson(2.0).quantile(0.5)
    2
    >>> round(PoissonMixture.poisson(2.0).probability_any(), 4)
    0.8647
    """

    means: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        self.means = np.atleast_1d(np.asarray(self.means, dtype=float))
        w = np.broadcast_to(np.asarray(self.weights, dtype=float), self.means.shape).astype(float)
        keep = w > 0
        self.means, w = self.means[keep], w[keep]
        self.weights = w / w.sum()

    @classmethod
    def poisson(cls, mean: float) -> PoissonMixture:
        """A plain Poisson distribution."""
        return cls(np.array([mean]), np.array([1.0]))

    def mean(self) -> float:
        """Expected number."""
        return float(np.dot(self.weights, self.means))

    def probability_any(self) -> float:
        """P(N >= 1)."""
        return float(np.dot(self.weights, -np.expm1(-self.means)))

    def cdf(self, n: int) -> float:
        """P(N <= n)."""
        return float(np.dot(self.weights, special.pdtr(n, self.means))) if n >= 0 else 0.0

    def quantile(self, q: float) -> int:
        """Smallest ``n`` with ``P(N <= n) >= q`` (bisection on the exact mixture CDF)."""
        if self.cdf(0) >= q:
            return 0
        hi = int(max(1.0, self.means.max() + 12 * math.sqrt(self.means.max()) + 20))
        lo = 0  # cdf(lo) < q <= cdf(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.cdf(mid) >= q:
                hi = mid
            else:
                lo = mid
        return hi

    def summary(self) -> dict[str, float]:
        """``probability, expected, median, q025, q975``."""
        return {
            "probability": self.probability_any(),
            "expected": self.mean(),
            "median": self.quantile(0.5),
            "q025": self.quantile(0.025),
            "q975": self.quantile(0.975),
        }


# ----------------------------------------------------------------------------- parameter sets
@dataclass
class RJParameterSet:
    """Weighted Reasenberg–Jones parameter sets (one set with weight 1 for a point estimate).

    Attributes
    ----------
    a, p, c, weight : numpy arrays of equal length
    b : float
    mainshock_magnitude : float
    name : str
        Model name for the product.
    reference : str
        Source of the method and numbers.
    parameters : dict
        Summary shown in the product (point values, sigmas, fit statistics).
    """

    a: np.ndarray
    p: np.ndarray
    c: np.ndarray
    weight: np.ndarray
    b: float
    mainshock_magnitude: float
    name: str
    reference: str
    parameters: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.a, self.p, self.c, self.weight = (
            np.atleast_1d(np.asarray(x, dtype=float)) for x in (self.a, self.p, self.c, self.weight)
        )
        self.a, self.p, self.c, self.weight = np.broadcast_arrays(self.a, self.p, self.c, self.weight)
        self.weight = self.weight / self.weight.sum()

    def expected_means(self, magnitude: float, t1_days: float, t2_days: float) -> np.ndarray:
        """Poisson mean of the number ``M >= magnitude`` in ``[t1, t2]`` days, for each parameter set."""
        k = 10.0 ** (self.a + self.b * (self.mainshock_magnitude - magnitude))
        return k * omori_integral(self.c, self.p, t1_days, t2_days)

    def count_distribution(
        self, magnitude: float, t1_days: float, t2_days: float, mass: float = 1 - 1e-9
    ) -> PoissonMixture:
        """Distribution of the number ``M >= magnitude`` in ``[t1, t2]`` (components beyond ``mass`` dropped)."""
        means = self.expected_means(magnitude, t1_days, t2_days)
        w = self.weight
        if w.size > 1:
            order = np.argsort(w)[::-1]
            cum = np.cumsum(w[order])
            keep = order[: int(np.searchsorted(cum, mass) + 1)]
            means, w = means[keep], w[keep]
        return PoissonMixture(means, w)

    def expected_cumulative(self, magnitude: float, t_days: np.ndarray, t0_days: float) -> np.ndarray:
        """Expected number ``M >= magnitude`` between ``t0`` and each ``t``."""
        t = np.asarray(t_days, dtype=float)
        k = self.weight * 10.0 ** (self.a + self.b * (self.mainshock_magnitude - magnitude))
        pc, inv = np.unique(np.stack([self.p, self.c], axis=1), axis=0, return_inverse=True)
        kk = np.bincount(inv.ravel(), weights=k, minlength=len(pc))
        return kk @ omori_integral(pc[:, 1:2], pc[:, 0:1], t0_days, t[None, :])

    def pruned(self, mass: float = 1 - 1e-9) -> RJParameterSet:
        """The smallest subset of parameter sets holding ``mass`` of the weight (renormalised)."""
        order = np.argsort(self.weight)[::-1]
        keep = np.sort(order[: int(np.searchsorted(np.cumsum(self.weight[order]), mass) + 1)])
        return RJParameterSet(
            self.a[keep],
            self.p[keep],
            self.c[keep],
            self.weight[keep],
            self.b,
            self.mainshock_magnitude,
            self.name,
            self.reference,
            self.parameters,
        )


def generic_model(params: GenericRJ, mainshock_magnitude: float, *, n_a: int = 201) -> RJParameterSet:
    """The generic model: a-value Gaussian (Page et al. 2016 sigma(M)), p, c, b fixed.

    With ``a_sigma == 0`` (Reasenberg & Jones 1989) a single parameter set. The Gaussian is discretised
    on ``n_a`` points over +-5 sigma (weights from the normal density, renormalised).
    """
    sigma = params.sigma_a(mainshock_magnitude) if params.a_sigma > 0 else 0.0
    ref = params.source
    summary = {
        "a": params.a_mean,
        "b": params.b,
        "p": params.p,
        "c": params.c,
        "aSigma": sigma,
        "pSigma": 0.0,
        "magMain": mainshock_magnitude,
        "regime": params.regime,
    }
    if sigma == 0:
        return RJParameterSet(
            params.a_mean,
            params.p,
            params.c,
            1.0,
            params.b,
            mainshock_magnitude,
            "Reasenberg-Jones generic",
            ref,
            summary,
        )
    a = params.a_mean + sigma * np.linspace(-5, 5, n_a)
    w = stats.norm.pdf(a, params.a_mean, sigma)
    return RJParameterSet(
        a, params.p, params.c, w, params.b, mainshock_magnitude, "Reasenberg-Jones generic", ref, summary
    )


# ----------------------------------------------------------------------------- likelihood with Mc(t)
@functools.lru_cache(maxsize=8)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


@dataclass
class SequenceData:
    """Aftershocks used for fitting: times (days after the mainshock) above ``Mc(t)``, and the window."""

    t: np.ndarray
    magnitude: np.ndarray
    t_start: float
    t_end: float
    mainshock_magnitude: float
    completeness: Completeness

    @classmethod
    def select(
        cls,
        t_days,
        magnitudes,
        mainshock_magnitude: float,
        completeness: Completeness,
        t_start: float,
        t_end: float,
    ) -> SequenceData:
        """Keep events in ``[t_start, t_end)`` with ``M >= Mc(t)`` (a 1e-6 tolerance on binned magnitudes)."""
        t = np.asarray(t_days, dtype=float)
        m = np.asarray(magnitudes, dtype=float)
        ok = (t >= t_start) & (t < t_end) & (m >= completeness.mc(t, mainshock_magnitude) - 1e-6)
        return cls(t[ok], m[ok], float(t_start), float(t_end), float(mainshock_magnitude), completeness)

    @property
    def n(self) -> int:
        """Number of events used."""
        return int(self.t.size)

    def mc_of_events(self) -> np.ndarray:
        """``Mc(t_i)`` of the events used."""
        return self.completeness.mc(self.t, self.mainshock_magnitude)

    def productivity_integral(self, b: float, p, c, n_nodes: int = 96) -> np.ndarray:
        """``J(p, c) = integral of 10^(b (Mm - Mc(t))) (t + c)^-p dt`` over the window (vectorised).

        Exact (closed form) where ``Mc(t) = Mcat``; Gauss–Legendre in ``log t`` where ``Mc(t)`` is above it.
        """
        p = np.asarray(p, dtype=float)
        c = np.asarray(c, dtype=float)
        comp, mm = self.completeness, self.mainshock_magnitude
        s, e = max(self.t_start, 1e-9), self.t_end
        tc = min(max(comp.time_complete(mm), s), e)
        total = (
            10 ** (b * (mm - comp.mcat)) * omori_integral(c, p, tc, e)
            if tc < e
            else np.zeros(np.broadcast(p, c).shape)
        )
        if tc > s:
            x, wq = _gauss_legendre(n_nodes)
            u0, u1 = math.log(s), math.log(tc)
            u = 0.5 * (u1 - u0) * x + 0.5 * (u1 + u0)
            tt = np.exp(u)
            mc = comp.mc(tt, mm)
            f = 10 ** (b * (mm - mc)) * tt  # dt = t du
            pe, ce = p[..., None], c[..., None]
            total = total + 0.5 * (u1 - u0) * np.sum(wq * f * (tt + ce) ** (-pe), axis=-1)
        return total

    def log_likelihood(self, a, p, c, b: float) -> np.ndarray:
        """Log-likelihood of the observed times (vectorised over broadcastable ``a, p, c``)."""
        a, p, c = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, p, c)))
        mc_i = self.mc_of_events()
        const = b * LN10 * float(np.sum(self.mainshock_magnitude - mc_i))
        pc = np.stack([p.ravel(), c.ravel()], axis=1)
        uniq, inv = np.unique(pc, axis=0, return_inverse=True)
        slog = np.array([np.sum(np.log(self.t + cc)) for cc in uniq[:, 1]]) if self.n else np.zeros(len(uniq))
        j = self.productivity_integral(b, uniq[:, 0], uniq[:, 1])
        ll = (
            self.n * LN10 * a.ravel()
            + const
            - uniq[inv.ravel(), 0] * slog[inv.ravel()]
            - 10 ** a.ravel() * j[inv.ravel()]
        )
        return ll.reshape(a.shape)


def fit_sequence(
    data: SequenceData,
    b: float,
    *,
    p0: float = 1.0,
    c0: float = 0.018,
    c_bounds: tuple[float, float] = (1e-5, 2.0),
) -> RJParameterSet:
    """Maximum-likelihood a, p, c of the sequence above ``Mc(t)`` (b given).

    When ``Mc(t)`` equals ``Mcat`` over the whole fitting window the existing Omori–Utsu fit
    (:func:`quakelab.stats.omori_fit`, Ogata 1983) is used as is and ``a = log10 K - b (Mm - Mcat)``;
    otherwise ``a`` is profiled out (``10^a = N / J(p, c)``) and ``(p, log c)`` are optimised with the
    incompleteness-aware likelihood, started from the Omori fit of the complete part when it exists.

    Raises
    ------
    ValueError
        With fewer than 10 events.
    """
    from quakelab.stats import omori_fit

    if data.n < 10:
        raise ValueError(f"need at least 10 aftershocks above Mc(t) to fit a sequence, got {data.n}")
    comp, mm = data.completeness, data.mainshock_magnitude
    tc = comp.time_complete(mm)
    method = "omori_fit"
    if tc <= data.t_start:
        fit = omori_fit(data.t, t_start=data.t_start, t_end=data.t_end, p0=p0, c0=c0)
        a = math.log10(fit.K) - b * (mm - comp.mcat)
        p, c, ll = fit.p, fit.c, fit.log_likelihood
        p_std = fit.p_std
    else:
        method = "MLE with Mc(t) (Page et al. 2016)"

        const = b * LN10 * float(np.sum(mm - data.mc_of_events()))

        def nll(x: np.ndarray) -> float:
            pp, lc = float(x[0]), float(x[1])
            cc = math.exp(lc)
            j = float(data.productivity_integral(b, pp, cc))
            if not np.isfinite(j) or j <= 0:
                return np.inf
            # a profiled out: 10^a = N / J, so the integral term equals N
            return -(data.n * math.log(data.n / j) + const - pp * float(np.sum(np.log(data.t + cc))) - data.n)

        best = None
        for pstart, cstart in ((p0, c0), (1.1, 0.003)):
            res = optimize.minimize(
                nll,
                x0=[pstart, math.log(cstart)],
                method="L-BFGS-B",
                bounds=[(0.2, 2.5), (math.log(c_bounds[0]), math.log(c_bounds[1]))],
            )
            if best is None or res.fun < best.fun:
                best = res
        p, c = float(best.x[0]), float(math.exp(best.x[1]))
        a = math.log10(data.n / float(data.productivity_integral(b, p, c)))
        ll = -float(best.fun)
        h = 1e-3
        f0 = nll(best.x)
        fpp = (nll(best.x + [h, 0]) - 2 * f0 + nll(best.x - [h, 0])) / h**2
        p_std = float(1 / math.sqrt(fpp)) if fpp > 0 else math.nan
    params = {
        "a": a,
        "b": b,
        "p": p,
        "c": c,
        "aSigma": 0.0,
        "pSigma": p_std,
        "magMain": mm,
        "n_events": data.n,
        "fit_window_days": [data.t_start, data.t_end],
        "log_likelihood": ll,
        "method": method,
    }
    return RJParameterSet(
        a,
        p,
        c,
        1.0,
        b,
        mm,
        "Reasenberg-Jones sequence-specific",
        "Reasenberg & Jones (1989) model, maximum-likelihood fit above Mc(t) (Page et al. 2016)",
        params,
    )


def bayesian_model(
    data: SequenceData,
    generic: GenericRJ,
    *,
    p_sigma: float = 0.1,
    a_grid: np.ndarray | None = None,
    p_grid: np.ndarray | None = None,
) -> RJParameterSet:
    """Generic prior updated with the sequence (Page et al. 2016, section "Bayesian combination").

    Prior: ``a ~ Normal(a_mean, sigma(Mm))`` from the generic table; ``p ~ Normal(p_generic, p_sigma)``
    (``p_sigma = 0.1`` is a quakelab choice, not a published value); ``c`` and ``b`` fixed at the generic
    values (as the USGS generic model holds them). The posterior is evaluated on an ``(a, p)`` grid
    (``a`` from -4.5 to -0.5 by 0.01 as in the USGS implementation) with the likelihood above ``Mc(t)``;
    with no events it is the prior, with many it approaches the likelihood.
    """
    mm = data.mainshock_magnitude
    sig_a = generic.sigma_a(mm) if generic.a_sigma > 0 else 0.25
    a = (
        np.round(np.arange(-4.5, -0.5 + 1e-9, 0.01), 10)
        if a_grid is None
        else np.asarray(a_grid, dtype=float)
    )
    p = (
        np.linspace(max(0.3, generic.p - 5 * p_sigma), generic.p + 5 * p_sigma, 51)
        if p_grid is None
        else np.asarray(p_grid, dtype=float)
    )
    A, P = np.meshgrid(a, p, indexing="ij")
    logprior = stats.norm.logpdf(A, generic.a_mean, sig_a) + stats.norm.logpdf(P, generic.p, p_sigma)
    loglik = data.log_likelihood(A, P, np.full_like(A, generic.c), generic.b) if data.n else np.zeros_like(A)
    lp = logprior + loglik
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean_a, mean_p = float(np.sum(w * A)), float(np.sum(w * P))
    params = {
        "a": mean_a,
        "b": generic.b,
        "p": mean_p,
        "c": generic.c,
        "aSigma": float(math.sqrt(np.sum(w * (A - mean_a) ** 2))),
        "pSigma": float(math.sqrt(np.sum(w * (P - mean_p) ** 2))),
        "magMain": mm,
        "n_events": data.n,
        "prior": {
            "a_mean": generic.a_mean,
            "a_sigma": sig_a,
            "p_mean": generic.p,
            "p_sigma": p_sigma,
            "regime": generic.regime,
        },
        "fit_window_days": [data.t_start, data.t_end],
    }
    return RJParameterSet(
        A.ravel(),
        P.ravel(),
        generic.c,
        w.ravel(),
        generic.b,
        mm,
        "Reasenberg-Jones Bayesian",
        "Page et al. (2016) Bayesian combination of the generic prior with the sequence "
        "likelihood above Mc(t)",
        params,
    ).pruned()
