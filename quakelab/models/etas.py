"""Epidemic-Type Aftershock Sequence (ETAS) model: fit by EM, log-likelihood, simulation, forecasts.

The parametrisation is that of Mizrahi et al. (2021) and the EarthquakeNPP benchmark (Stockman, Lawson
& Werner 2024). With ``m' = m - m_ref``, times in days and distances in km, the conditional intensity is

    lambda(t, x) = mu + sum_{t_j < t} k0 e^{a m'_j} * e^{-(t - t_j)/tau} / (t - t_j + c)^(1 + omega)
                                       * (r_j(x)^2 + d e^{gamma m'_j})^-(1 + rho)

(``mu`` in events/day/km²); the temporal-only variant drops the spatial factor (``mu`` in events/day).
Magnitudes follow Gutenberg–Richter with ``beta = b ln 10`` above ``m_ref``.

Fitting is the expectation–maximisation scheme of Veen & Schoenberg (2008) as used by Mizrahi et al.
(2021): the E-step computes for every target the probability that each earlier event (or the
background) triggered it; the M-step sets ``mu`` in closed form and maximises the expected complete-data
log-likelihood over the eight triggering parameters. EM is chosen over direct optimisation because each
M-step is a smooth, well-conditioned problem (no sums inside logarithms) and because it yields the
stochastic declustering (background probabilities) for free. The inner sums over source–target pairs are
compiled with numba and pairs are found with a k-d tree, so the cost grows with the number of pairs
inside the spatial truncation radius, not with N².
"""

from __future__ import annotations

import json
import math
import os
import time as _time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from quakelab.region import EARTH_RADIUS_KM, Region, as_region, cell_area_km2
from quakelab.timeutils import utc as _utc

PARAMETER_NAMES = ("log10_mu", "log10_k0", "a", "log10_c", "omega", "log10_tau", "log10_d", "gamma", "rho")
#: Bounds of the parameters during fitting (those of Mizrahi et al.'s reference implementation).
PARAMETER_BOUNDS = {
    "log10_mu": (-10.0, 0.0), "log10_k0": (-4.0, 0.0), "a": (0.01, 5.0), "log10_c": (-8.0, 0.0),
    "omega": (-0.99, 1.0), "log10_tau": (0.01, 5.0), "log10_d": (-4.0, 3.0), "gamma": (0.01, 5.0),
    "rho": (0.01, 5.0),
}
DEFAULT_THETA0 = {"log10_mu": -5.8, "log10_k0": -2.6, "a": 1.8, "log10_c": -2.5, "omega": -0.02,
                  "log10_tau": 3.5, "log10_d": -0.85, "gamma": 1.3, "rho": 0.66}


class ETASError(ValueError):
    """Input that the ETAS model cannot work with (found before any heavy computation)."""


class ETASConvergenceError(RuntimeError):
    """The EM iterations did not converge; ``state`` holds the last parameters and step size."""

    def __init__(self, message: str, state: dict[str, Any]) -> None:
        super().__init__(message)
        self.state = state


@dataclass(frozen=True)
class ETASParameters:
    """ETAS parameters in the fitted (log10) parametrisation."""

    log10_mu: float
    log10_k0: float
    a: float
    log10_c: float
    omega: float
    log10_tau: float
    log10_d: float
    gamma: float
    rho: float

    @classmethod
    def from_array(cls, theta: np.ndarray) -> ETASParameters:
        """From an array in :data:`PARAMETER_NAMES` order."""
        return cls(*[float(v) for v in theta])

    def to_array(self) -> np.ndarray:
        """As an array in :data:`PARAMETER_NAMES` order."""
        return np.array([getattr(self, n) for n in PARAMETER_NAMES])

    def to_dict(self) -> dict[str, float]:
        """As a plain dict."""
        return asdict(self)

    @property
    def natural(self) -> dict[str, float]:
        """``mu, k0, c, tau, d`` on their natural scale (others unchanged)."""
        return {"mu": 10**self.log10_mu, "k0": 10**self.log10_k0, "a": self.a, "c": 10**self.log10_c,
                "omega": self.omega, "tau": 10**self.log10_tau, "d": 10**self.log10_d, "gamma": self.gamma,
                "rho": self.rho}


def branching_ratio(params: ETASParameters, beta: float, spatial: bool = True) -> float:
    """Expected number of direct aftershocks per event, averaged over the GR magnitude distribution.

    ``eta = beta k0 [pi d^-rho / rho] tau^-omega e^{c/tau} Gamma(-omega, c/tau) / (beta - a + gamma rho)``
    (Mizrahi et al. 2021); the spatial factor and ``gamma rho`` drop out in the temporal variant.
    Infinite when ``beta <= a - gamma rho`` (an explosive process).

    Parameters
    ----------
    params : ETASParameters
        Parameters.
    beta : float
        Gutenberg–Richter ``beta = b ln 10``.
    spatial : bool, default True
        Spatio-temporal (True) or temporal-only parametrisation.

    Returns
    -------
    float
        Branching ratio.
    """
    from quakelab.models._kernels import upper_gamma

    p = params.natural
    denom = beta - p["a"] + (p["gamma"] * p["rho"] if spatial else 0.0)
    if denom <= 0:
        return math.inf
    time_part = math.exp(p["c"] / p["tau"]) * p["tau"] ** (-p["omega"]) * upper_gamma(-p["omega"], p["c"] / p["tau"])
    space_part = math.pi * p["d"] ** (-p["rho"]) / p["rho"] if spatial else 1.0
    return float(beta * p["k0"] * space_part * time_part / denom)


def estimate_beta(magnitudes: np.ndarray, mc: float, delta_m: float) -> float:
    """Tinti & Mulargia (1987) maximum-likelihood ``beta`` for binned magnitudes above ``mc``."""
    m = np.asarray(magnitudes, dtype=float)
    mean_excess = float(np.mean(m - mc))
    if delta_m > 0:
        return float(1 / delta_m * np.log(1 + delta_m / mean_excess))
    return 1.0 / mean_excess


def coppersmith_ssrl_km(magnitude: np.ndarray) -> np.ndarray:
    """Subsurface rupture length (km) of Wells & Coppersmith (1994), all slip types: 10^(0.59 M - 2.44)."""
    return 10 ** (0.59 * np.asarray(magnitude, dtype=float) - 2.44)


def round_half_up(x: np.ndarray, delta: float) -> np.ndarray:
    """Round to the grid ``delta`` with halves rounded up (as the reference implementation does)."""
    return np.floor(np.asarray(x, dtype=float) / delta + 0.5 + 1e-9) * delta


@dataclass
class _Prepared:
    """Events and source–target pairs of a fit, in time order."""

    t: np.ndarray  # days since auxiliary start
    lat_rad: np.ndarray
    lon_rad: np.ndarray
    mprime: np.ndarray  # m - m_ref
    is_target: np.ndarray
    src: np.ndarray
    tgt: np.ndarray  # index into events
    dt: np.ndarray
    r2: np.ndarray
    t_start: float
    t_end: float
    event_id: np.ndarray
    radius_km: np.ndarray | None  # pair truncation radius of each source (None: no truncation)


class ETAS:
    """Spatio-temporal (or temporal-only) ETAS model in the scikit-learn spirit.

    Parameters
    ----------
    mc : float
        Magnitude of completeness; events below it are ignored.
    delta_m : float, default 0.1
        Magnitude bin width (magnitudes are rounded half up to it).
    region : Region or bbox or vertices, optional
        Study region (required for the spatio-temporal model).
    spatial : bool, default True
        False for the temporal-only variant.
    m_ref : float, optional
        Reference magnitude of the kernels; ``mc - delta_m / 2`` when None (Mizrahi et al.).
    coppersmith_multiplier : float, default 100
        Pairs further apart than this many Wells–Coppersmith rupture lengths of the source are not
        considered during the fit (the neglected kernel mass is reported in ``fit_info_``).
    max_lag_days : float, optional
        Time truncation of pairs during the fit (None: none).
    earth_radius_km : float, default 6378.1
        Sphere radius for distances and area.
    theta0 : dict, optional
        Starting parameters.
    max_iter : int, default 200
        Maximum EM iterations.
    tol : float, default 1e-3
        Convergence when the summed absolute change of the parameters in one EM step is below ``tol``.
    fixed : dict, optional
        Triggering parameters held at given values (e.g. ``{"log10_tau": 3.5}`` when a short sequence
        cannot constrain the taper); their standard errors are NaN.
    accelerate : bool, default True
        SQUAREM acceleration of EM (Varadhan & Roland 2008) once the steps are small; the fixed point
        is the same as plain EM's (``False`` reproduces the reference implementation step by step).

    Attributes
    ----------
    params_ : ETASParameters
        Fitted parameters.
    std_errors_ : dict
        Standard errors from the observed information of the (truncated) log-likelihood.
    beta_ : float
        Gutenberg–Richter beta of the target events.
    branching_ratio_ : float
        Expected direct aftershocks per event.
    log_likelihood_ : float
        Log-likelihood of the targets at the fitted parameters (no truncation).
    background_probability_ : pandas.Series
        Probability that each target event is a background event (stochastic declustering).
    fit_info_ : dict
        Iterations, timings, numbers of events and pairs, truncated kernel mass, area.

    Examples
    --------
    >>> model = ETAS(mc=1.0, region=(-117, -116, 33, 34))  # doctest: +SKIP
    >>> model.fit(catalog, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01")  # doctest: +SKIP
    """

    def __init__(self, mc: float, *, delta_m: float = 0.1, region: Region | Any = None, spatial: bool = True,
                 m_ref: float | None = None, coppersmith_multiplier: float | None = 100.0,
                 max_lag_days: float | None = None, earth_radius_km: float = EARTH_RADIUS_KM,
                 theta0: dict[str, float] | None = None, max_iter: int = 200, tol: float = 1e-3,
                 accelerate: bool = True, fixed: dict[str, float] | None = None) -> None:
        self.mc = float(mc)
        self.delta_m = float(delta_m)
        self.region = as_region(region) if region is not None else None
        self.spatial = bool(spatial)
        if self.spatial and self.region is None:
            raise ETASError("the spatio-temporal ETAS model needs a region (polygon or bbox)")
        self.m_ref = float(m_ref) if m_ref is not None else self.mc - self.delta_m / 2
        self.coppersmith_multiplier = coppersmith_multiplier
        self.max_lag_days = max_lag_days
        self.earth_radius_km = float(earth_radius_km)
        self.theta0 = {**DEFAULT_THETA0, **(theta0 or {})}
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.accelerate = bool(accelerate)
        self.fixed = dict(fixed or {})
        unknown = set(self.fixed) - set(PARAMETER_NAMES[1:])
        if unknown:
            raise ETASError(f"cannot fix {sorted(unknown)}; fixable: {list(PARAMETER_NAMES[1:])}")
        self.theta0.update(self.fixed)
        self.params_: ETASParameters | None = None

    # ------------------------------------------------------------------ preparation
    @property
    def area_km2(self) -> float:
        """Area of the region on the sphere (1 for the temporal-only model)."""
        return self.region.area_km2(self.earth_radius_km) if self.spatial else 1.0

    def _events(self, catalog: pd.DataFrame, auxiliary_start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        for col in ("time", "latitude", "longitude", "magnitude"):
            if col not in catalog.columns:
                raise ETASError(f"catalog has no {col!r} column")
        cat = catalog[(catalog["time"] >= auxiliary_start) & (catalog["time"] < end)].copy()
        cat["magnitude"] = round_half_up(cat["magnitude"].to_numpy(), self.delta_m) if self.delta_m > 0 \
            else cat["magnitude"]
        cat = cat[cat["magnitude"] >= self.mc - 1e-9]
        if self.spatial:
            inside = self.region.contains(cat["longitude"].to_numpy(), cat["latitude"].to_numpy())
            cat = cat[inside]
        return cat.sort_values("time", kind="mergesort").reset_index(drop=True)

    def select_events(self, catalog: pd.DataFrame, start, end) -> pd.DataFrame:
        """The events this model sees in ``[start, end)``: magnitudes binned, ``M >= mc``, inside the region.

        The same selection as fitting and :func:`quakelab.evaluate.etas_test_scores`, so other models
        (e.g. a neural point process) can be scored on exactly the same events.
        """
        return self._events(catalog, _utc(start), _utc(end))

    def _prepare(self, catalog: pd.DataFrame, auxiliary_start, start, end, min_targets: int = 50) -> _Prepared:
        from scipy.spatial import cKDTree

        t_aux, t_start, t_end = (_utc(auxiliary_start), _utc(start), _utc(end))
        if not t_aux <= t_start < t_end:
            raise ETASError(f"need auxiliary_start <= start < end, got {t_aux}, {t_start}, {t_end}")
        if self.spatial:
            outside = ~self.region.contains(catalog["longitude"].to_numpy(), catalog["latitude"].to_numpy())
            n_out = int(outside.sum())
        else:
            n_out = 0
        cat = self._events(catalog, t_aux, t_end)
        t = ((cat["time"] - t_aux) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        t0 = (t_start - t_aux) / pd.Timedelta(days=1)
        t1 = (t_end - t_aux) / pd.Timedelta(days=1)
        is_target = t >= t0
        n_targets = int(is_target.sum())
        if n_targets == 0:
            raise ETASError(f"no events with M >= {self.mc} in the target window {t_start} .. {t_end}"
                            + (f" inside the region ({n_out} catalog events lie outside it)" if n_out else ""))
        if n_targets < min_targets:
            raise ETASError(f"only {n_targets} events with M >= {self.mc} in the target window; at least "
                            f"{min_targets} are needed to fit ETAS")
        lat = np.radians(cat["latitude"].to_numpy(dtype=float))
        lon = np.radians(cat["longitude"].to_numpy(dtype=float))
        mprime = cat["magnitude"].to_numpy(dtype=float) - self.m_ref
        n = len(cat)
        target_rows = np.flatnonzero(is_target)
        if self.spatial:
            xyz = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
            xyz *= self.earth_radius_km
            if self.coppersmith_multiplier is None:
                radius = np.full(n, math.pi * self.earth_radius_km)
            else:
                radius = np.minimum(coppersmith_ssrl_km(cat["magnitude"].to_numpy()) * self.coppersmith_multiplier,
                                    math.pi * self.earth_radius_km)
            chord = 2 * self.earth_radius_km * np.sin(radius / (2 * self.earth_radius_km)) * (1 + 1e-9)
            tree = cKDTree(xyz[target_rows])
            hits = tree.query_ball_point(xyz, r=chord, return_sorted=False)
            lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=n)
            src = np.repeat(np.arange(n, dtype=np.int64), lengths)
            tgt = target_rows[np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])] if lengths.sum() \
                else np.empty(0, dtype=np.int64)
            keep = t[tgt] > t[src]
            src, tgt = src[keep], tgt[keep]
            dphi = lat[tgt] - lat[src]
            dlmb = lon[tgt] - lon[src]
            h = np.sin(dphi / 2) ** 2 + np.cos(lat[src]) * np.cos(lat[tgt]) * np.sin(dlmb / 2) ** 2
            r2 = (2 * self.earth_radius_km * np.arcsin(np.sqrt(np.clip(h, 0, 1)))) ** 2
            keep = r2 <= radius[src] ** 2
            src, tgt, r2 = src[keep], tgt[keep], r2[keep]
        else:
            radius = None
            # all earlier events, optionally limited in lag: pairs from sorted times
            starts = np.zeros(len(target_rows), dtype=np.int64)
            if self.max_lag_days is not None:
                starts = np.searchsorted(t, t[target_rows] - self.max_lag_days, side="left")
            ends = np.searchsorted(t, t[target_rows], side="left")
            counts = ends - starts
            if counts.sum() > 50_000_000:
                raise ETASError(f"{counts.sum():,} source-target pairs: too many for the temporal model without "
                                "a time truncation; pass max_lag_days (e.g. 365)")
            tgt = np.repeat(target_rows, counts)
            offs = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
            src = np.arange(counts.sum()) + offs
            r2 = np.zeros(0)
        dt = t[tgt] - t[src]
        if self.max_lag_days is not None and self.spatial:
            keep = dt <= self.max_lag_days
            src, tgt, dt, r2 = src[keep], tgt[keep], dt[keep], r2[keep]
        order = np.argsort(tgt, kind="stable")
        src, tgt, dt = src[order], tgt[order], dt[order]
        r2 = r2[order] if self.spatial else np.zeros(src.size)
        keep_radius = radius if (self.spatial and self.coppersmith_multiplier is not None) else None
        return _Prepared(t=t, lat_rad=lat, lon_rad=lon, mprime=mprime, is_target=is_target,
                         src=src.astype(np.int64), tgt=tgt.astype(np.int64), dt=dt, r2=r2, t_start=float(t0),
                         t_end=float(t1), event_id=cat["event_id"].astype(str).to_numpy() if "event_id" in cat
                         else np.arange(n).astype(str), radius_km=keep_radius)

    # ------------------------------------------------------------------ likelihood pieces
    def _expected_aftershocks(self, theta8: np.ndarray, prep: _Prepared) -> np.ndarray:
        """G_j: expected number of aftershocks of every event inside the target window (full plane)."""
        from quakelab.models._kernels import time_integrals

        log10_k0, a, log10_c, omega, log10_tau, log10_d, gamma, rho = theta8
        k0, c, tau, d = 10**log10_k0, 10**log10_c, 10**log10_tau, 10**log10_d
        x0 = np.clip(prep.t_start - prep.t, 0, None)
        x1 = prep.t_end - prep.t
        tint = time_integrals(c, omega, tau, x0, x1)
        g = k0 * np.exp(a * prep.mprime) * tint
        if self.spatial:
            g = g * math.pi / (rho * (d * np.exp(gamma * prep.mprime)) ** rho)
        return g

    def _mstep(self, theta: np.ndarray, prep: _Prepared, prob: np.ndarray, l_hat: np.ndarray,
               n_hat: float) -> np.ndarray:
        """Closed-form mu, then L-BFGS-B on the expected complete-data log-likelihood (analytic gradient)."""
        from scipy.special import gammaln

        from quakelab.models._kernels import mstep_pair_sums, time_integrals_with_derivatives, upper_gamma

        area, length = self.area_km2, prep.t_end - prep.t_start
        mu_hat = n_hat / (area * length)
        p_total = float(prob.sum())
        m_src_weight = float(np.dot(l_hat, prep.mprime))  # sum_ij P_ij m'_j
        dt_weight = float(np.dot(prob, prep.dt))
        lg_sum = float(gammaln(l_hat + 1).sum())
        spatial = self.spatial
        ln10 = math.log(10)
        x0 = np.clip(prep.t_start - prep.t, 0, None)
        x1 = prep.t_end - prep.t
        mp = prep.mprime

        def scalar_terms(th: np.ndarray) -> float:
            log10_k0, a, log10_c, omega, log10_tau, log10_d, gamma, rho = th
            c, tau = 10**log10_c, 10**log10_tau
            val = p_total * (omega * math.log(tau) - math.log(upper_gamma(-omega, c / tau)) - c / tau)
            if spatial:
                val += p_total * (math.log(rho) - math.log(math.pi)) + rho * (
                    p_total * log10_d * ln10 + gamma * m_src_weight)
            return val

        def objective(th: np.ndarray) -> tuple[float, np.ndarray]:
            log10_k0, a, log10_c, omega, log10_tau, log10_d, gamma, rho = th
            c, tau, d = 10**log10_c, 10**log10_tau, 10**log10_d
            big_d = d * np.exp(gamma * mp)
            s1, s2, s3, s4, s5 = mstep_pair_sums(prob, prep.src, prep.dt, prep.r2, big_d, mp, c, spatial)
            grad = np.zeros(8)
            # pair part: sum P [-(1+omega) log(dt+c) - dt/tau - (1+rho) log(r2 + D)]
            total = -(1 + omega) * s1 - dt_weight / tau - ((1 + rho) * s3 if spatial else 0.0)
            grad[2] = -(1 + omega) * s2 * c * ln10
            grad[3] = -s1
            grad[4] = dt_weight / tau * ln10
            if spatial:
                grad[5] = -(1 + rho) * s4 * ln10
                grad[6] = -(1 + rho) * s5
                grad[7] = -s3
            # per-source part: sum_j l_j log G_j - G_j - log(l_j!)
            tv, dc, dtau, dom = time_integrals_with_derivatives(c, omega, tau, x0, x1, 1e-6)
            log_g = log10_k0 * ln10 + a * mp + np.log(tv)
            if spatial:
                log_g = log_g + math.log(math.pi / rho) - rho * np.log(big_d)
            g = np.exp(log_g)
            total += float(np.dot(l_hat, log_g) - g.sum()) - lg_sum
            w = l_hat - g
            grad[0] += w.sum() * ln10
            grad[1] += np.dot(w, mp)
            grad[2] += np.dot(w, dc / tv) * c * ln10
            grad[3] += np.dot(w, dom / tv)
            grad[4] += np.dot(w, dtau / tv) * tau * ln10
            if spatial:
                grad[5] += -rho * ln10 * w.sum()
                grad[6] += -rho * np.dot(w, mp)
                grad[7] += np.dot(w, -1.0 / rho - np.log(big_d))
            # scalar part (cheap): numerical gradient
            total += scalar_terms(th)
            h = 1e-7
            for k in (2, 3, 4, 5, 6, 7):
                e = np.zeros(8)
                e[k] = h
                grad[k] += (scalar_terms(th + e) - scalar_terms(th - e)) / (2 * h)
            return -total, -grad

        bounds = [(self.fixed[n], self.fixed[n]) if n in self.fixed else PARAMETER_BOUNDS[n]
                  for n in PARAMETER_NAMES[1:]]
        if not spatial:
            bounds[5:] = [(theta[6], theta[6]), (theta[7], theta[7]), (theta[8], theta[8])]
        res = optimize.minimize(objective, x0=np.clip(theta[1:], [b[0] for b in bounds], [b[1] for b in bounds]),
                                jac=True, method="L-BFGS-B", bounds=bounds,
                                options={"maxiter": 500, "ftol": 1e-10, "gtol": 1e-6})
        self._mstep_evals = getattr(self, "_mstep_evals", 0) + res.nfev
        return np.concatenate([[math.log10(mu_hat)], res.x])

    def _estep(self, theta: np.ndarray, prep: _Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        from quakelab.models._kernels import pair_triggering

        log10_mu, log10_k0, a, log10_c, omega, log10_tau, log10_d, gamma, rho = theta
        mu = 10**log10_mu
        g = pair_triggering(prep.src, prep.dt, prep.r2, prep.mprime, 10**log10_k0, a, 10**log10_c, omega,
                            10**log10_tau, 10**log10_d, gamma, rho, self.spatial)
        n = prep.t.size
        lam = mu + np.bincount(prep.tgt, weights=g, minlength=n)
        prob = g / lam[prep.tgt]
        l_hat = np.bincount(prep.src, weights=prob, minlength=n)
        p0 = np.where(prep.is_target, mu / lam, 0.0)
        return prob, l_hat, p0, float(p0.sum())

    def _loglik(self, theta: np.ndarray, prep: _Prepared) -> float:
        """Log-likelihood of the targets with the fit's pair truncation."""
        from quakelab.models._kernels import pair_triggering

        log10_mu, log10_k0, a, log10_c, omega, log10_tau, log10_d, gamma, rho = theta
        mu = 10**log10_mu
        g = pair_triggering(prep.src, prep.dt, prep.r2, prep.mprime, 10**log10_k0, a, 10**log10_c, omega,
                            10**log10_tau, 10**log10_d, gamma, rho, self.spatial)
        lam = mu + np.bincount(prep.tgt, weights=g, minlength=prep.t.size)
        return float(np.sum(np.log(lam[prep.is_target])) - mu * self.area_km2 * (prep.t_end - prep.t_start)
                     - self._expected_aftershocks(theta[1:], prep).sum())

    # ------------------------------------------------------------------ public API
    def fit(self, catalog: pd.DataFrame, *, auxiliary_start, start, end, standard_errors: bool = True,
            verbose: bool = False) -> ETAS:
        """Fit by expectation–maximisation.

        Events in ``[auxiliary_start, start)`` trigger but are not targets; events in ``[start, end)``
        are targets and sources (EarthquakeNPP / Mizrahi et al. 2021 convention).

        Parameters
        ----------
        catalog : pandas.DataFrame
            Canonical catalog (events outside the region or below ``mc`` are ignored).
        auxiliary_start, start, end : time-like
            Auxiliary history start, target window start and end (UTC).
        standard_errors : bool, default True
            Compute standard errors from a numerical Hessian of the log-likelihood.
        verbose : bool, default False
            Print one line per EM iteration.

        Returns
        -------
        ETAS
            ``self``, fitted.

        Raises
        ------
        ETASError
            Before any heavy work, for an empty or too small target set or bad windows.
        ETASConvergenceError
            When EM does not converge within ``max_iter`` iterations.
        """
        t0 = _time.perf_counter()
        prep = self._prepare(catalog, auxiliary_start, start, end)
        t_prep = _time.perf_counter() - t0
        target_mags = prep.mprime[prep.is_target] + self.m_ref
        self.beta_ = estimate_beta(target_mags, self.mc, self.delta_m)
        theta = np.array([self.theta0[n] for n in PARAMETER_NAMES], dtype=float)
        if not self.spatial:
            theta[0] = math.log10(max(prep.is_target.sum() / (2 * (prep.t_end - prep.t_start)), 1e-10))
        history: list[float] = []
        lo = np.array([PARAMETER_BOUNDS[n][0] for n in PARAMETER_NAMES])
        hi = np.array([PARAMETER_BOUNDS[n][1] for n in PARAMETER_NAMES])

        def em_step(th: np.ndarray) -> np.ndarray:
            prob, l_hat, _, n_hat = self._estep(th, prep)
            return self._mstep(th, prep, prob, l_hat, n_hat)

        diff = math.inf
        it = 0
        while diff >= self.tol:
            if it >= self.max_iter:
                state = {"iteration": it, "params": dict(zip(PARAMETER_NAMES, theta, strict=True)),
                         "last_change": diff}
                raise ETASConvergenceError(
                    f"EM did not converge in {self.max_iter} iterations (last summed change {diff:.3g} >= "
                    f"tol {self.tol}); last parameters: {state['params']}", state)
            if self.accelerate and diff < 1.0:
                # SQUAREM (Varadhan & Roland 2008, scheme S3): two EM steps, an extrapolation, and a
                # stabilising EM step; fall back to the plain step when the likelihood would drop.
                th1 = em_step(theta)
                th2 = em_step(th1)
                r = th1 - theta
                v = th2 - th1 - r
                nv = float(np.linalg.norm(v))
                alpha = -float(np.linalg.norm(r)) / nv if nv > 0 else -1.0
                alpha = min(alpha, -1.0)
                th_x = np.clip(theta - 2 * alpha * r + alpha**2 * v, lo, hi)
                if alpha < -1.0 and self._loglik(th_x, prep) < self._loglik(th2, prep):
                    th_x = th2
                new = em_step(th_x)
                diff = float(np.sum(np.abs(new - th_x)))
                it += 3
            else:
                new = em_step(theta)
                diff = float(np.sum(np.abs(new - theta)))
                it += 1
            theta = new
            history.append(diff)
            if verbose:
                print(f"EM iteration {it}: change {diff:.3g}")
        prob, l_hat, p0, n_hat = self._estep(theta, prep)
        self.params_ = ETASParameters.from_array(theta)
        self.branching_ratio_ = branching_ratio(self.params_, self.beta_, self.spatial)
        t_fit = _time.perf_counter() - t0
        self.background_probability_ = pd.Series(p0[prep.is_target], index=prep.event_id[prep.is_target],
                                                 name="background_probability")
        self.log_likelihood_truncated_ = self._loglik(theta, prep)
        self.std_errors_ = self._standard_errors(theta, prep) if standard_errors else {}
        self.fit_info_ = {
            "n_iterations": it, "n_targets": int(prep.is_target.sum()), "n_sources": int(prep.t.size),
            "n_pairs": int(prep.src.size), "area_km2": self.area_km2, "beta": self.beta_,
            "n_background_expected": n_hat, "prepare_s": round(t_prep, 3), "fit_s": round(t_fit, 3),
            "total_s": round(_time.perf_counter() - t0, 3), "changes": history,
            **self._truncation_report(prep),
            "auxiliary_start": str(_utc(auxiliary_start)), "start": str(_utc(start)), "end": str(_utc(end)),
        }
        self.log_likelihood_ = self.log_likelihood_truncated_
        return self

    def _truncation_report(self, prep: _Prepared) -> dict[str, float]:
        """Spatial kernel mass outside the pair radius at the fitted parameters (0 without truncation).

        The fraction of source j's kernel beyond radius R_j is ``(D_j / (R_j² + D_j))^rho``; reported as
        the maximum over sources and the mean weighted by expected aftershocks.
        """
        if prep.radius_km is None:
            return {"max_truncated_spatial_mass": 0.0, "mean_truncated_spatial_mass": 0.0}
        p = self.params_.natural
        big_d = p["d"] * np.exp(p["gamma"] * prep.mprime)
        frac = (big_d / (prep.radius_km**2 + big_d)) ** p["rho"]
        w = p["k0"] * np.exp(p["a"] * prep.mprime) / big_d ** p["rho"]
        return {"max_truncated_spatial_mass": float(frac.max()),
                "mean_truncated_spatial_mass": float(np.sum(frac * w) / np.sum(w))}

    def _standard_errors(self, theta: np.ndarray, prep: _Prepared) -> dict[str, float]:
        k = theta.size
        h = np.full(k, 1e-4)
        f0 = self._loglik(theta, prep)
        hess = np.zeros((k, k))
        for i in range(k):
            ei = np.zeros(k)
            ei[i] = h[i]
            fp, fm = self._loglik(theta + ei, prep), self._loglik(theta - ei, prep)
            hess[i, i] = (fp - 2 * f0 + fm) / h[i] ** 2
            for j in range(i + 1, k):
                ej = np.zeros(k)
                ej[j] = h[j]
                val = (self._loglik(theta + ei + ej, prep) - self._loglik(theta + ei - ej, prep)
                       - self._loglik(theta - ei + ej, prep) + self._loglik(theta - ei - ej, prep)) / (4 * h[i] * h[j])
                hess[i, j] = hess[j, i] = val
        idx = [i for i in (range(k) if self.spatial else range(6)) if PARAMETER_NAMES[i] not in self.fixed]
        sub = -hess[np.ix_(idx, idx)]
        try:
            cov = np.linalg.inv(sub)
            sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        except np.linalg.LinAlgError:
            sd = np.full(len(idx), np.nan)
        out = {n: math.nan for n in PARAMETER_NAMES}
        for pos, i in enumerate(idx):
            out[PARAMETER_NAMES[i]] = float(sd[pos])
        return out

    def parameter_table(self) -> pd.DataFrame:
        """Fitted parameters with standard errors, as a table.

        ``at_bound`` flags estimates on a bound of the search range (poorly constrained by the data);
        ``fixed`` marks parameters held at given values.
        """
        self._check_fitted()
        p = self.params_.to_dict()
        at_bound = {k: (k not in self.fixed and k != "log10_mu"
                        and min(abs(v - PARAMETER_BOUNDS[k][0]), abs(v - PARAMETER_BOUNDS[k][1])) < 1e-6)
                    for k, v in p.items()}
        return pd.DataFrame({"value": p, "std_error": {k: self.std_errors_.get(k, math.nan) for k in p},
                             "fixed": {k: k in self.fixed for k in p}, "at_bound": at_bound})

    def _check_fitted(self) -> None:
        if self.params_ is None:
            raise ETASError("the model is not fitted: call fit(...) or set params_ first")

    # ------------------------------------------------------------------ simulation and forecasts
    def _history(self, history: pd.DataFrame | None, origin: pd.Timestamp) -> pd.DataFrame | None:
        """History events the model sees before ``origin`` (selected once per forecast), times in days."""
        if history is None or len(history) == 0:
            return None
        ev = self._events(history, history["time"].min(), origin)
        if ev.empty:
            return None
        return pd.DataFrame({"t": ((ev["time"] - origin) / pd.Timedelta(days=1)).to_numpy(dtype=float),
                             "latitude": ev["latitude"].to_numpy(dtype=float),
                             "longitude": ev["longitude"].to_numpy(dtype=float),
                             "magnitude": ev["magnitude"].to_numpy(dtype=float)})

    def _simulation_setup(self, history: pd.DataFrame | None, start, end, m_max: float | None,
                          max_events: int):
        """Set-up of a batch of simulations over ``[start, end)``: the history is selected only here."""
        from quakelab.models.simulate import SimulationSetup

        self._check_fitted()
        t0, t1 = _utc(start), _utc(end)
        days = (t1 - t0) / pd.Timedelta(days=1)
        if not days > 0:
            raise ETASError(f"need start < end, got {t0} .. {t1}")
        return SimulationSetup.from_model(self, self._history(history, t0), float(days), m_max=m_max,
                                          max_events=max_events)

    @staticmethod
    def _simulated_frame(sims: pd.DataFrame, t0: pd.Timestamp) -> pd.DataFrame:
        """Canonical catalog columns for simulated events (``sim:<index in its catalog>`` ids)."""
        return pd.DataFrame({
            "event_id": "sim:" + pd.Series(sims["local_id"].to_numpy()).astype(str),
            "time": t0 + pd.to_timedelta(sims["t"].to_numpy(), unit="D"),
            "latitude": sims["latitude"].to_numpy(), "longitude": sims["longitude"].to_numpy(),
            "depth_km": np.nan, "magnitude": sims["magnitude"].to_numpy(), "mag_type": "",
            "generation": sims["generation"].to_numpy(), "parent": sims["parent"].to_numpy(),
        })

    def simulate(self, start, end, *, history: pd.DataFrame | None = None,
                 seed: int | np.random.Generator | np.random.SeedSequence | None = None,
                 m_max: float | None = None, region_only: bool = True,
                 max_events: int | None = None) -> pd.DataFrame:
        """Simulate a catalog in ``[start, end)`` by branching, optionally continuing a history.

        Background events are uniform in the region (or drawn from ``self.background`` when the model
        has a spatially variable background); every event (and every history event) triggers Poisson
        numbers of aftershocks with Omori–Utsu times and power-law distances; magnitudes are
        Gutenberg–Richter with the model's ``beta`` above ``m_ref``, rounded to ``delta_m``.
        ``simulate(..., seed=s)`` is catalog 0 of ``catalog_forecast(..., seed=s)``.

        Parameters
        ----------
        start, end : time-like
            Window (UTC).
        history : pandas.DataFrame, optional
            Earlier events (canonical catalog) whose aftershocks may fall in the window.
        seed : int or Generator or SeedSequence, optional
            Random seed.
        m_max : float, optional
            Upper magnitude truncation.
        region_only : bool, default True
            Drop events that fall outside the region (they still trigger during the simulation).
        max_events : int, optional
            Cap on the simulated events (default
            :data:`quakelab.models.simulate.DEFAULT_MAX_EVENTS`).

        Returns
        -------
        pandas.DataFrame
            Canonical catalog with extra columns ``generation`` (0 = background) and ``parent`` (index
            of the parent in the simulated catalog, -1 for background, -2 for aftershocks of the history).

        Raises
        ------
        quakelab.models.simulate.SimulationCapError
            When the catalog exceeds ``max_events`` (an explosive process).
        """
        from quakelab.models.simulate import DEFAULT_MAX_EVENTS, CatalogReducer, run_simulations

        setup = self._simulation_setup(history, start, end, m_max, max_events or DEFAULT_MAX_EVENTS)
        sims = run_simulations(setup, 1, CatalogReducer(region_only), seed=seed, n_threads=1, quiet=True)
        return self._simulated_frame(sims, _utc(start))

    def catalog_forecast(self, history: pd.DataFrame | None, start, end, *, n_simulations: int = 1000,
                         seed: int | np.random.SeedSequence | None = None, m_max: float | None = None,
                         scheduler: Any = None, chunk_size: int | None = None, n_threads: int | None = None,
                         max_events: int | None = None, quiet: bool = False) -> pd.DataFrame:
        """Simulate ``n_simulations`` continuations of ``history`` over ``[start, end)``.

        Simulation ``i`` is seeded by ``numpy.random.SeedSequence(seed).spawn(n_simulations)[i]``, so the
        result is identical for any ``scheduler``, ``chunk_size`` and ``n_threads``.

        Parameters
        ----------
        history : pandas.DataFrame or None
            Events before ``start``.
        start, end : time-like
            Window.
        n_simulations : int, default 1000
            Number of catalogs.
        seed : int or SeedSequence, optional
            Root seed.
        m_max : float, optional
            Upper magnitude truncation.
        scheduler : None, "local", address, distributed.Client or cluster, optional
            Where to run (see :func:`quakelab.models.simulate.run_simulations`); None: this process.
        chunk_size : int, optional
            Simulations per task.
        n_threads : int, optional
            Threads per task.
        max_events : int, optional
            Cap on the events of one simulated catalog.
        quiet : bool, default False
            No progress log lines.

        Returns
        -------
        pandas.DataFrame
            All simulated events with a ``catalog_id`` column (0 .. n_simulations - 1); catalogs with no
            event simply do not appear (see :func:`quakelab.models.forecast_counts`).
        """
        from quakelab.models.simulate import DEFAULT_MAX_EVENTS, CatalogReducer, run_simulations

        setup = self._simulation_setup(history, start, end, m_max, max_events or DEFAULT_MAX_EVENTS)
        sims = run_simulations(setup, n_simulations, CatalogReducer(True), seed=seed, scheduler=scheduler,
                               chunk_size=chunk_size, n_threads=n_threads, quiet=quiet)
        out = self._simulated_frame(sims, _utc(start))
        out.insert(0, "catalog_id", sims["sim"].to_numpy())
        out.attrs["n_simulations"] = n_simulations
        return out

    def forecast(self, history: pd.DataFrame | None, start, end, *, n_simulations: int = 1000,
                 cell_deg: float = 0.1, magnitude_bins: np.ndarray | None = None, seed: int | None = None,
                 m_max: float | None = None, scheduler: Any = None, chunk_size: int | None = None,
                 n_threads: int | None = None, max_events: int | None = None, quiet: bool = False):
        """Gridded forecast: expected number of events per (magnitude, latitude, longitude) cell.

        Computed from ``n_simulations`` simulated continuations of ``history`` (the standard way for
        ETAS: the expected rate given the history has no closed form once aftershocks of aftershocks
        count). The background part enters with its exact expectation rather than its simulated sample,
        so every cell of the region has a positive rate (the triggered part is the Monte Carlo mean).
        With a spatially variable background (``self.background``), the expected background count
        ``mu * area * T`` is spread over the cells in proportion to ``background.density`` at the cell
        centres times the in-region cell area. The simulations are reduced chunk by chunk (no catalog
        of all simulated events is built), in process or on Dask workers.

        Parameters
        ----------
        history : pandas.DataFrame or None
            Events before ``start``.
        start, end : time-like
            Forecast window.
        n_simulations : int, default 1000
            Number of simulated catalogs.
        cell_deg : float, default 0.1
            Cell size in degrees.
        magnitude_bins : array, optional
            Lower edges of magnitude bins (the last bin is open); ``mc .. mc + 4`` by ``delta_m`` (by 0.1
            for continuous magnitudes, ``delta_m = 0``) when None.
        seed : int, optional
            Random seed.
        m_max : float, optional
            Upper magnitude truncation of the simulations.
        scheduler, chunk_size, n_threads, max_events, quiet
            As in :meth:`catalog_forecast`.

        Returns
        -------
        xarray.Dataset
            ``expected_count`` (magnitude, latitude, longitude), ``n_events`` (simulation), and attrs
            with the window, the model, and quantiles of the total number of events.
        """
        import xarray as xr

        from quakelab.models.simulate import DEFAULT_MAX_EVENTS, GridReducer, run_simulations

        if not self.spatial:
            raise ETASError("a gridded forecast needs the spatio-temporal model")
        setup = self._simulation_setup(history, start, end, m_max, max_events or DEFAULT_MAX_EVENTS)
        x0, x1, y0, y1 = self.region.bounds
        lon_edges = np.round(np.arange(x0, x1 + cell_deg / 2, cell_deg), 10)
        lat_edges = np.round(np.arange(y0, y1 + cell_deg / 2, cell_deg), 10)
        if magnitude_bins is None:
            step = self.delta_m if self.delta_m > 0 else 0.1
            magnitude_bins = np.round(np.arange(self.mc, self.mc + 4.0 + 1e-9, step), 10)
        mags = np.asarray(magnitude_bins, dtype=float)
        counts, n_events = run_simulations(setup, n_simulations, GridReducer(mags, lat_edges, lon_edges), seed=seed,
                                           scheduler=scheduler, chunk_size=chunk_size, n_threads=n_threads,
                                           quiet=quiet)
        # background: its expectation (rate x cell area inside the region x GR), not its sample,
        # so that every cell of the region has a positive rate and Monte Carlo noise is smaller
        lat_c = (lat_edges[:-1] + lat_edges[1:]) / 2
        lon_c = (lon_edges[:-1] + lon_edges[1:]) / 2
        glon, glat = np.meshgrid(lon_c, lat_c)
        inside = self.region.contains(glon.ravel(), glat.ravel()).reshape(glon.shape)
        cell_area = cell_area_km2(glat, cell_deg, self.earth_radius_km) * inside
        days = setup.window
        background_total = self.params_.natural["mu"] * self.area_km2 * days
        density_model = getattr(self, "background", None)
        if density_model is not None:
            dens = np.asarray(density_model.density(glon.ravel(), glat.ravel()), dtype=float).reshape(glon.shape)
            weight = np.clip(dens, 0, None) * cell_area
        else:
            weight = cell_area
        spatial_share = weight / weight.sum() if weight.sum() > 0 else weight
        lower = np.clip(mags - self.delta_m / 2 - self.m_ref, 0, None)
        surv = np.exp(-self.beta_ * lower)
        if m_max is not None:  # truncated GR, as simulated
            tail = math.exp(-self.beta_ * (m_max - self.m_ref))
            surv = np.clip((surv - tail) / (1 - tail), 0, None)
        frac = surv - np.append(surv[1:], 0.0)
        background = frac[:, None, None] * spatial_share[None] * background_total
        q = np.quantile(n_events, [0.025, 0.5, 0.975])
        ds = xr.Dataset(
            {"expected_count": (("magnitude", "latitude", "longitude"), counts / n_simulations + background,
                                {"units": "events per cell over the window", "long_name": "expected number of events"}),
             "n_events": (("simulation",), n_events, {"long_name": "events in the region per simulated catalog"})},
            coords={"magnitude": mags, "latitude": lat_c, "longitude": lon_c,
                    "simulation": np.arange(n_simulations)},
            attrs={"model": "ETAS", "start": str(_utc(start)), "end": str(_utc(end)), "cell_deg": cell_deg,
                   "n_simulations": n_simulations, "mean_n_events": float(n_events.mean()),
                   "n_events_q025": float(q[0]), "n_events_median": float(q[1]), "n_events_q975": float(q[2]),
                   "region": json.dumps(self.region.to_dict())},
        )
        return ds

    def aftershock_probabilities(self, history: pd.DataFrame | None, start, *,
                                 durations_days: tuple[float, ...] = (1.0, 7.0, 30.0),
                                 magnitudes: tuple[float, ...] = (5.0, 6.0, 7.0), n_simulations: int = 1000,
                                 seed: int | None = None, m_max: float | None = 8.5, scheduler: Any = None,
                                 chunk_size: int | None = None, n_threads: int | None = None,
                                 max_events: int | None = None, quiet: bool = False) -> pd.DataFrame:
        """Probability of at least one event ``M >= m`` in the next day, week and month (by simulation).

        As operational aftershock forecasts publish them: for each window and magnitude threshold, the
        probability of one or more events, the expected number and a 95 % range of the number.

        Parameters
        ----------
        history : pandas.DataFrame or None
            The catalog up to ``start`` (the sequence so far).
        start : time-like
            Forecast start.
        durations_days : tuple of float
            Windows starting at ``start``.
        magnitudes : tuple of float
            Thresholds.
        n_simulations : int, default 1000
            Simulated continuations.
        seed : int, optional
            Random seed.
        m_max : float, optional
            Upper magnitude truncation of the simulated magnitudes (8.5 by default).
        scheduler, chunk_size, n_threads, max_events, quiet
            As in :meth:`catalog_forecast`.

        Returns
        -------
        pandas.DataFrame
            Columns ``duration_days, magnitude, probability, expected_number, n_q025, n_q975``.
        """
        from quakelab.models.simulate import DEFAULT_MAX_EVENTS, ThresholdCountReducer, run_simulations

        t0 = _utc(start)
        longest = max(durations_days)
        setup = self._simulation_setup(history, t0, t0 + pd.Timedelta(days=longest), m_max,
                                       max_events or DEFAULT_MAX_EVENTS)
        counts = run_simulations(setup, n_simulations, ThresholdCountReducer(durations_days, magnitudes), seed=seed,
                                 scheduler=scheduler, chunk_size=chunk_size, n_threads=n_threads, quiet=quiet)
        rows = []
        for i, dur in enumerate(durations_days):
            for j, mag in enumerate(magnitudes):
                c = counts[:, i, j]
                rows.append({"duration_days": dur, "magnitude": mag, "probability": float((c > 0).mean()),
                             "expected_number": float(c.mean()),
                             "n_q025": float(np.quantile(c, 0.025)), "n_q975": float(np.quantile(c, 0.975))})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (configuration and fitted values)."""
        d = {"mc": self.mc, "delta_m": self.delta_m, "spatial": self.spatial, "m_ref": self.m_ref,
             "region": self.region.to_dict() if self.region else None,
             "coppersmith_multiplier": self.coppersmith_multiplier, "max_lag_days": self.max_lag_days,
             "earth_radius_km": self.earth_radius_km, "theta0": self.theta0, "max_iter": self.max_iter,
             "tol": self.tol, "accelerate": self.accelerate, "fixed": self.fixed}
        if self.params_ is not None:
            d["params"] = self.params_.to_dict()
            for attr in ("beta_", "branching_ratio_", "log_likelihood_", "std_errors_", "fit_info_"):
                if hasattr(self, attr):
                    d[attr.rstrip("_")] = getattr(self, attr)
        return d

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model as JSON (atomically)."""
        from quakelab.catalog.store import write_text_atomic

        return write_text_atomic(path, json.dumps({"model": "ETAS", "version": 1, **self.to_dict()}, indent=2,
                                                  default=float))

    @classmethod
    def load(cls, path: str | os.PathLike) -> ETAS:
        """Read a model written by :meth:`save`."""
        d = json.loads(Path(path).read_text())
        if d.get("model") != "ETAS":
            raise ETASError(f"{path}: not an ETAS model file")
        region = Region.from_dict(d["region"]) if d.get("region") else None
        m = cls(d["mc"], delta_m=d["delta_m"], region=region, spatial=d["spatial"], m_ref=d["m_ref"],
                coppersmith_multiplier=d["coppersmith_multiplier"], max_lag_days=d["max_lag_days"],
                earth_radius_km=d["earth_radius_km"], theta0=d["theta0"], max_iter=d["max_iter"], tol=d["tol"],
                accelerate=d.get("accelerate", True), fixed=d.get("fixed"))
        if "params" in d:
            m.params_ = ETASParameters(**d["params"])
            for attr in ("beta", "branching_ratio", "log_likelihood", "std_errors", "fit_info"):
                if attr in d:
                    setattr(m, attr + "_", d[attr])
        return m

    def set_params(self, params: ETASParameters | dict[str, float], beta: float) -> ETAS:
        """Use given parameters (e.g. published ones) instead of fitting."""
        self.params_ = params if isinstance(params, ETASParameters) else ETASParameters(**params)
        self.beta_ = float(beta)
        self.branching_ratio_ = branching_ratio(self.params_, self.beta_, self.spatial)
        self.std_errors_ = {}
        return self


def time_integral_python(c: float, omega: float, tau: float, x0: float, x1: float) -> float:
    """Integral of ``exp(-s/tau) / (s + c)^(1 + omega)`` over ``[x0, x1]`` (days), exact.

    Examples
    --------
    >>> round(time_integral_python(0.01, 0.0, 1e9, 0.0, 1.0), 6)  # ~ log((1 + c) / c) without taper
    4.615121
    """
    from quakelab.models._kernels import time_integral

    return float(time_integral(float(c), float(omega), float(tau), float(x0), float(x1)))




__all__ = ["ETAS", "ETASConvergenceError", "ETASError", "ETASParameters", "PARAMETER_NAMES", "branching_ratio",
           "estimate_beta"]
