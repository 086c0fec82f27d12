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
log-likelihood over the eight triggering parameters (a few Newton steps with the objective's analytic
gradient and Hessian, warm-started from the last parameters). EM is chosen over direct optimisation because each
M-step is a smooth, well-conditioned problem (no sums inside logarithms) and because it yields the
stochastic declustering (background probabilities) for free. The inner sums over source–target pairs are
compiled with numba and run in parallel over targets; pairs are found from a time-sorted cell index and
written straight into a compact store (int32 source, float32 squared distance; the reference EM adds a
float32 probability), so memory grows with the number of pairs inside the spatial truncation radius at
8–12 bytes a pair, and no per-pair Python or 64-bit temporaries are built.
"""

from __future__ import annotations

import json
import math
import os
import time as _time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quakelab import QuakelabWarning
from quakelab._compat import renamed_attribute, renamed_kwargs
from quakelab.region import EARTH_RADIUS_KM, Region, as_region, cell_area_km2
from quakelab.timeutils import utc as _utc

_LN10 = math.log(10.0)
PARAMETER_NAMES = ("log10_mu", "log10_k0", "a", "log10_c", "omega", "log10_tau", "log10_d", "gamma", "rho")
#: Bounds of the parameters during fitting (those of Mizrahi et al.'s reference implementation).
PARAMETER_BOUNDS = {
    "log10_mu": (-10.0, 0.0),
    "log10_k0": (-4.0, 0.0),
    "a": (0.01, 5.0),
    "log10_c": (-8.0, 0.0),
    "omega": (-0.99, 1.0),
    "log10_tau": (0.01, 5.0),
    "log10_d": (-4.0, 3.0),
    "gamma": (0.01, 5.0),
    "rho": (0.01, 5.0),
}
DEFAULT_THETA0 = {
    "log10_mu": -5.8,
    "log10_k0": -2.6,
    "a": 1.8,
    "log10_c": -2.5,
    "omega": -0.02,
    "log10_tau": 3.5,
    "log10_d": -0.85,
    "gamma": 1.3,
    "rho": 0.66,
}


#: Options of the adaptive background estimate (see :class:`ETAS`).
BACKGROUND_DEFAULTS: dict[str, Any] = {
    "k_neighbours": 10,
    "min_bandwidth_km": 0.5,
    "bandwidth": "background",
    "leave_one_out": True,
    "uniform_fraction": 0.0,
    "max_updates": 10,
    "tol": 0.01,
}


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
        return {
            "mu": 10**self.log10_mu,
            "k0": 10**self.log10_k0,
            "a": self.a,
            "c": 10**self.log10_c,
            "omega": self.omega,
            "tau": 10**self.log10_tau,
            "d": 10**self.log10_d,
            "gamma": self.gamma,
            "rho": self.rho,
        }


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
    time_part = (
        math.exp(p["c"] / p["tau"]) * p["tau"] ** (-p["omega"]) * upper_gamma(-p["omega"], p["c"] / p["tau"])
    )
    space_part = math.pi * p["d"] ** (-p["rho"]) / p["rho"] if spatial else 1.0
    return float(beta * p["k0"] * space_part * time_part / denom)


@renamed_kwargs(mc="min_magnitude", delta_m="magnitude_resolution")
def estimate_beta(magnitudes: np.ndarray, min_magnitude: float, magnitude_resolution: float) -> float:
    """Tinti & Mulargia (1987) maximum-likelihood ``beta`` for binned magnitudes above ``min_magnitude``."""
    m = np.asarray(magnitudes, dtype=float)
    mean_excess = float(np.mean(m - min_magnitude))
    r = magnitude_resolution
    if r > 0:
        return float(1 / r * np.log(1 + r / mean_excess))
    return 1.0 / mean_excess


def coppersmith_ssrl_km(magnitude: np.ndarray) -> np.ndarray:
    """Subsurface rupture length (km) of Wells & Coppersmith (1994), all slip types: 10^(0.59 M - 2.44)."""
    return 10 ** (0.59 * np.asarray(magnitude, dtype=float) - 2.44)


def round_half_up(x: np.ndarray, delta: float, *, exact_halves: bool = True) -> np.ndarray:
    """Round to the grid ``delta`` with halves rounded up.

    With ``exact_halves`` (default) a value that is a half in decimal (``1.15`` with ``delta = 0.1``)
    goes up even though its binary representation lies just below the half (a ``1e-9`` is added before
    flooring). ``exact_halves=False`` floors ``x / delta + 0.5`` in binary floating point as the reference
    implementation (lmizrahi/etas) does, which sends such values down: on SanJac_10 536 target
    magnitudes differ and beta is 2.2393 instead of 2.2217.
    """
    eps = 1e-9 if exact_halves else 0.0
    return np.floor(np.asarray(x, dtype=float) / delta + 0.5 + eps) * delta


MODEL_FILE_VERSION = 3
"""Version of the ETAS model file :meth:`ETAS.save` writes (3: glossary names ``min_magnitude`` and
``magnitude_resolution`` instead of ``mc`` and ``delta_m``; 2: background; 1: first)."""

_RENAMED_FILE_KEYS = {"mc": "min_magnitude", "delta_m": "magnitude_resolution"}


class ETASSupercriticalWarning(QuakelabWarning):
    """A fitted ETAS model has branching ratio >= 1: every simulated sequence explodes."""


class ETASFallbackWarning(QuakelabWarning):
    """A Newton fit left the physical region and the reference EM was used instead."""


@dataclass
class _Prepared:
    """Events of a fit in time order and their source–target pairs (compact store).

    Targets are the events ``first_target .. n - 1``. The sources of target ``i`` are either
    ``src[ptr[i]:ptr[i + 1]]`` with squared distances ``r2`` (spatial model, int32 + float32 per pair) or
    the events ``lo[i] .. hi[i] - 1`` (temporal model: all earlier events, nothing stored per pair).
    ``qptr, qcoef, qr2`` hold the region ray table of every source for the exact spatial integral.
    ``bg_density``: the background density relative to the uniform one (``A f(x)``, f normalised over
    the region) at every target, or empty for a uniform background; the likelihood and E-step passes use
    it unless given another.
    """

    t: np.ndarray  # days since auxiliary start
    lat_rad: np.ndarray
    lon_rad: np.ndarray
    mprime: np.ndarray  # m - m_ref
    is_target: np.ndarray
    first_target: int
    ptr: np.ndarray
    src: np.ndarray
    r2: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    implicit: bool
    t_start: float
    t_end: float
    event_id: np.ndarray
    radius_km: np.ndarray | None  # pair truncation radius of each source (None: no truncation)
    qptr: np.ndarray
    qcoef: np.ndarray
    qr2: np.ndarray
    # background density relative to the uniform one (A f(x)) at every target; empty: uniform
    bg_density: np.ndarray = field(default_factory=lambda: np.empty(0))
    # window ends of every source's time integral, sorted, and their indices (see _time_grid)
    time_grid: tuple | None = None
    # the last table of time moments and the (c, omega, tau) it was made at (see _source_terms)
    moment_cache: tuple | None = None

    @property
    def n_pairs(self) -> int:
        """Number of source–target pairs."""
        if self.implicit:
            return int(np.sum(self.hi[self.first_target :] - self.lo[self.first_target :]))
        return int(self.ptr[-1])

    def pair_pointer(self) -> np.ndarray:
        """Offset of every target's first pair in per-pair arrays (``ptr``; built for the implicit store)."""
        if not self.implicit:
            return self.ptr
        ptr = np.zeros(self.t.size + 1, dtype=np.int64)
        counts = (self.hi - self.lo)[self.first_target :]
        np.cumsum(counts, out=ptr[self.first_target + 1 :])
        return ptr


def _bg_array(bg_density: np.ndarray | None, n_targets: int) -> np.ndarray:
    """The kernels' form of a per-target background density: float64, empty for uniform."""
    if bg_density is None or np.size(bg_density) == 0:
        return np.empty(0)
    f = np.ascontiguousarray(bg_density, dtype=np.float64)
    if f.shape != (n_targets,):
        raise ETASError(f"bg_density must hold one value per target ({n_targets}), got shape {f.shape}")
    if not np.all(np.isfinite(f) & (f > 0)):
        raise ETASError("bg_density must be finite and positive at every target")
    return f


def _time_grid(prep: _Prepared) -> tuple:
    """``(x0, x1, xb, i0, i1, i_zero)``: each source's time-integral window ``[x0, x1]`` (days after it),
    the sorted distinct ends ``xb`` and the indices of ``x0``, ``x1`` and 0 in it (built once per fit)."""
    if prep.time_grid is None:
        x0 = np.clip(prep.t_start - prep.t, 0.0, None)
        x1 = np.maximum(prep.t_end - prep.t, x0)
        xb = np.unique(np.concatenate([[0.0], x0, x1]))
        prep.time_grid = (
            x0,
            x1,
            xb,
            np.searchsorted(xb, x0).astype(np.int64),
            np.searchsorted(xb, x1).astype(np.int64),
            int(np.searchsorted(xb, 0.0)),
        )
    return prep.time_grid


def _n_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(int(n))


def _covers_globe(region: Region | None) -> bool:
    """Whether ``region`` is the whole sphere (360° of longitude, pole to pole)."""
    if region is None:
        return False
    lon0, lon1, lat0, lat1 = region.bounds
    return lon1 - lon0 >= 360.0 - 1e-9 and lat0 <= -90.0 + 1e-9 and lat1 >= 90.0 - 1e-9


def _check_exact_region(region: Region) -> None:
    """Refuse the in-region integral where its local projection at each source does not hold."""
    lon0, lon1, lat0, lat1 = region.bounds
    if lon1 - lon0 >= 180.0 or max(abs(lat0), abs(lat1)) >= 85.0:
        raise ETASError(
            f"region_integral='exact' needs a regional polygon (under 180 degrees of longitude, within 85 degrees "
            f"of the equator); this region spans {lon0:g}..{lon1:g} E, {lat0:g}..{lat1:g} N. "
            "Use region_integral='plane' (a region covering the whole sphere needs no edge correction)"
        )


def region_ray_table(
    region: Region,
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    *,
    nodes: int = 16,
    earth_radius_km: float = EARTH_RADIUS_KM,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ray table of ``region`` seen from every point (for :func:`region_kernel_integral`).

    For each point, the angle around it is split into the sectors between the polygon's vertices; each
    sector gets ``nodes`` Gauss–Legendre directions, and each direction the squared distances at which the
    ray leaves (+weight) or re-enters (-weight) the polygon (local equirectangular projection at the
    point). Returns ``(ptr, coef, r2)`` in CSR form.
    """
    from quakelab.models import _kernels as K

    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    verts = np.asarray(region.vertices, dtype=float)
    if np.allclose(verts[0], verts[-1]):
        verts = verts[:-1]
    vlon, vlat = np.radians(verts[:, 0]), np.radians(verts[:, 1])
    x, w = _gauss_legendre(nodes)
    empty_i = np.zeros(1, dtype=np.int64)
    empty_f = np.zeros(1)
    counts = K.region_ray_table(
        lat, lon, vlat, vlon, x, w, float(earth_radius_km), False, empty_i, empty_f, empty_f
    )
    ptr = np.zeros(lat.size + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    coef = np.empty(int(ptr[-1]))
    r2 = np.empty(int(ptr[-1]))
    K.region_ray_table(lat, lon, vlat, vlon, x, w, float(earth_radius_km), True, ptr, coef, r2)
    return ptr, coef, r2


def region_kernel_integral(
    region: Region,
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    big_d: np.ndarray,
    rho: float,
    *,
    nodes: int = 16,
    earth_radius_km: float = EARTH_RADIUS_KM,
) -> np.ndarray:
    """Integral over ``region`` (km²) of the kernel ``(r² + D)^-(1+rho)`` centred at each point.

    Exact in the radial direction (closed form) and by Gauss–Legendre quadrature in angle, sector by
    sector between the polygon's vertices (so the integrand is smooth in every sector). The plane value
    is ``pi / (rho D^rho)``; a point far inside gives nearly that, a point on a straight edge half, a
    point in a square's corner a quarter.

    Parameters
    ----------
    region : Region
        Polygon (lon/lat degrees).
    lat_deg, lon_deg : array
        Kernel centres (inside the region).
    big_d : array or float
        ``D = d e^{gamma m'}`` of each centre (km²).
    rho : float
        Spatial decay exponent.
    nodes : int, default 16
        Quadrature nodes per angular sector.
    earth_radius_km : float
        Sphere radius.

    Returns
    -------
    numpy.ndarray
        The integral for each centre.
    """
    from quakelab.models._kernels import region_masses

    lat = np.atleast_1d(np.asarray(lat_deg, dtype=float))
    lon = np.atleast_1d(np.asarray(lon_deg, dtype=float))
    big_d = np.ascontiguousarray(np.broadcast_to(np.asarray(big_d, dtype=float), lat.shape))
    ptr, coef, r2 = region_ray_table(region, lat, lon, nodes=nodes, earth_radius_km=earth_radius_km)
    return region_masses(big_d, float(rho), ptr, coef, r2)


class ETAS:
    """Spatio-temporal (or temporal-only) ETAS model in the scikit-learn spirit.

    Parameters
    ----------
    min_magnitude : float
        Magnitude threshold (usually the magnitude of completeness); events below it are ignored. Old
        name: ``mc`` (deprecated, also as an attribute).
    magnitude_resolution : float, default 0.1
        The catalog's magnitude resolution: magnitudes are rounded half up to it, decimal halves included
        (``1.15`` goes to ``1.2``, see :func:`round_half_up`), except with ``method="em-reference"``, which
        rounds as the reference implementation does (in binary floating point: ``1.15`` goes to ``1.1``; on
        SanJac_10 beta is then 2.2393, the reference's, instead of 2.2217). 0: continuous magnitudes, not
        binned. Old name: ``delta_m`` (deprecated, also as an attribute).
    region : Region or bbox or vertices, optional
        Study region (required for the spatio-temporal model).
    spatial : bool, default True
        False for the temporal-only variant.
    m_ref : float, optional
        Reference magnitude of the kernels; ``min_magnitude - magnitude_resolution / 2`` when None
        (Mizrahi et al.).
    coppersmith_multiplier : float, default 100
        Pairs further apart than this many Wells–Coppersmith rupture lengths of the source are not
        considered in the triggering sums of the fit (the neglected kernel mass is reported in
        ``fit_info_``); None: no truncation.
    max_lag_days : float, optional
        Time truncation of pairs during the fit (None: none). The temporal model without a cap sums over
        every earlier event in O(N K) (Omori kernel as ~130 exponentials, relative error < 2e-10; see
        ``quakelab/models/_temporal_expsum.py``) instead of visiting the O(N^2) pairs.
    earth_radius_km : float, default 6378.1
        Sphere radius for distances (the region's area is its true area on the WGS84 ellipsoid, see
        :meth:`quakelab.region.Region.area_km2`).
    theta0 : dict, optional
        Starting parameters.
    max_iter : int, default 200
        Maximum iterations (Newton steps, or EM steps for ``method="em-reference"``).
    tol : float, default 1e-5
        Convergence when the log-likelihood rises by less than ``tol`` (nats) in one iteration and the
        Newton step predicts no larger gain (``method="newton"``); for ``"em-reference"`` the summed
        absolute parameter change of one EM step.
    accelerate : bool, default True
        SQUAREM acceleration of the reference EM (Varadhan & Roland 2008): the same fixed point in
        fewer EM steps (each cycle ends with a plain EM step, which decides convergence). With
        ``False`` the iterates are the reference implementation's own (lmizrahi/etas stops its plain EM
        with the same rule, so on SanJac_10 both stop after 23 steps at the same parameters, to 4e-5).
        The reference stops short of its own fixed point: on SanJac_10 the accelerated fit (12 steps)
        lands closer to it and so differs from the reference's published values by up to 1.1e-3
        (``gamma``; the fixed point itself is 1.03e-3 away); use ``accelerate=False`` to reproduce them.
    fixed : dict, optional
        Triggering parameters held at given values (e.g. ``{"log10_tau": 3.5}`` when a short sequence
        cannot constrain the taper); their standard errors are NaN.
    region_integral : {"exact", "plane"}, optional
        Default ``"exact"`` (``"plane"`` when ``method="em-reference"`` is asked for).
        How each source's expected number of aftershocks counts space: ``"exact"`` integrates its spatial
        kernel over the region polygon (the likelihood of a catalog observed only inside the region; used
        in the likelihood, the fit and the branching ratio in the region); ``"plane"`` over the infinite
        plane (the convention of Mizrahi et al. 2021 and EarthquakeNPP: pass it, with the default
        ``method="em-reference"`` it implies, to reproduce published numbers). ``"exact"`` needs
        ``method="newton"``. Models saved without the key load as ``"plane"`` (what they were fitted with).
    method : {"em-reference", "newton"}, optional
        Default: ``"em-reference"`` for the spatial model with ``region_integral="plane"``, ``"newton"``
        otherwise (the exact region integral, and the temporal model, whose reference-EM estimates are
        biased: mu 5 standard errors off on the simulated recovery test).
        ``"newton"`` maximises the exact log-likelihood (the one reported) by damped Newton steps with
        its analytic gradient and Hessian; the background probabilities are the E-step at the optimum.
        ``"em-reference"`` runs the EM of the reference implementation (lmizrahi/etas), whose M-step
        normalises the time kernel over ``[0, inf)`` and so stops short of the likelihood's maximum; kept
        to reproduce published numbers (plane integral only, where it is the default). The Newton fit
        recovers simulated parameters and reaches the likelihood's maximum on SanJac_10, but from the
        default starting point it can climb into a degenerate corner of the bounds on catalogs with
        near-coincident events (seen on the global significant-earthquakes catalog at Mc 5.7): check
        :meth:`parameter_table` (or fix ``log10_tau``) on such catalogs. A Newton estimate that is
        supercritical or puts a triggering parameter on a bound of its search range is replaced, with
        the plane integral (or the temporal model), by the reference EM's (an
        :class:`ETASFallbackWarning` is issued and ``fit_info_["newton_fallback"]`` says why).
        Memory: the pairs are held in a compact store (int32 source and float32 squared distance,
        8 bytes a pair; the reference EM adds a float32 probability, 12 bytes a pair); the temporal
        model stores nothing per pair.
    quadrature_nodes : int, default 16
        Gauss–Legendre nodes per angular sector of the exact region integral.
    background : {"uniform", "adaptive"} or background object, default "uniform"
        Spatial density ``f`` of the background: the background intensity at ``x`` is ``mu A f(x)``
        (``mu`` stays the mean rate per km² per day). ``"uniform"``: ``f = 1/A``. ``"adaptive"``: the
        estimate of Zhuang et al. (2002) made jointly with the fit: the background probabilities of
        the E-step weight adaptive Gaussian kernels at the target events
        (:class:`~quakelab.models.background.KernelBackground`), the density is normalised over the
        region, and the fit is repeated from the last parameters until the density at the targets
        changes by less than ``background_options["tol"]`` (mean relative change). An object with
        ``density(lon, lat)``, ``sample(n, rng)`` and ``to_dict()`` (e.g.
        :class:`~quakelab.models.background.GridBackground`): a fixed density given by the user.
        Spatial model only.
    background_options : dict, optional
        For ``"adaptive"``: ``k_neighbours`` (10), ``bandwidth`` (``"background"``: the bandwidth of
        an event is the distance at which the background probabilities of the other targets sum to
        ``k_neighbours``, i.e. the k-th nearest neighbour among the background events, so kernels do
        not shrink to the size of aftershock clusters; ``"events"``: the k-th nearest target whatever
        its probability, as in Zhuang et al. 2002; the first estimate always uses the events' own
        spacing), ``leave_one_out`` (True: the density at each target, in the likelihood and the
        E-step, leaves out the target's own kernel, which would otherwise feed its background
        probability back into itself), ``min_bandwidth_km`` (0.5), ``uniform_fraction`` (0: share of a
        uniform density mixed in), ``max_updates`` (10) and ``tol`` (0.01). ``"events"`` without
        leave-one-out is the estimate of Zhuang et al. (2002); it biases ``mu`` up and ``k0`` down.

    Attributes
    ----------
    params_ : ETASParameters
        Fitted parameters.
    std_errors_ : dict
        Standard errors from the observed information (the analytic Hessian of the log-likelihood: one
        pass over the pairs and one over the sources).
    beta_ : float
        Gutenberg–Richter beta of the target events.
    branching_ratio_ : float
        Expected direct aftershocks per event over the infinite plane and time (the process's own
        branching ratio); ``fit_info_["branching_ratio_in_region"]`` counts only aftershocks inside the
        region.
    log_likelihood_ : float
        Log-likelihood of the targets at the fitted parameters (with the fit's pair truncation).
    background_probability_ : pandas.Series
        Probability that each target event is a background event (stochastic declustering).
    fit_info_ : dict
        Iterations, timings, numbers of events and pairs, truncated kernel mass, area, gradient norm;
        with the adaptive background, ``background_updates`` and ``background_changes``.
    background : background object or None
        The spatial background density (None: uniform); estimated by :meth:`fit` with
        ``background="adaptive"``.

    Examples
    --------
    >>> model = ETAS(min_magnitude=1.0, region=(-117, -116, 33, 34))  # doctest: +SKIP
    >>> model.fit(catalog, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01")  # doctest: +SKIP
    """

    mc = renamed_attribute("min_magnitude")
    delta_m = renamed_attribute("magnitude_resolution")

    @renamed_kwargs(mc="min_magnitude", delta_m="magnitude_resolution")
    def __init__(
        self,
        min_magnitude: float,
        *,
        magnitude_resolution: float = 0.1,
        region: Region | Any = None,
        spatial: bool = True,
        m_ref: float | None = None,
        coppersmith_multiplier: float | None = 100.0,
        max_lag_days: float | None = None,
        earth_radius_km: float = EARTH_RADIUS_KM,
        theta0: dict[str, float] | None = None,
        max_iter: int = 200,
        tol: float | None = None,
        accelerate: bool = True,
        fixed: dict[str, float] | None = None,
        region_integral: str | None = None,
        method: str | None = None,
        quadrature_nodes: int = 16,
        background: str | Any = "uniform",
        background_options: dict[str, Any] | None = None,
    ) -> None:
        self.min_magnitude = float(min_magnitude)
        self.magnitude_resolution = float(magnitude_resolution)
        self.region = as_region(region) if region is not None else None
        self.spatial = bool(spatial)
        if self.spatial and self.region is None:
            raise ETASError("the spatio-temporal ETAS model needs a region (polygon or bbox)")
        self.m_ref = float(m_ref) if m_ref is not None else self.min_magnitude - self.magnitude_resolution / 2
        self.coppersmith_multiplier = coppersmith_multiplier
        self.max_lag_days = max_lag_days
        self.earth_radius_km = float(earth_radius_km)
        self.theta0 = {**DEFAULT_THETA0, **(theta0 or {})}
        self.max_iter = int(max_iter)
        if region_integral is None:  # exact, except for the reference EM, which only has the plane
            region_integral = "plane" if method == "em-reference" else "exact"
        if region_integral not in ("exact", "plane"):
            raise ETASError(f"region_integral must be 'exact' or 'plane', got {region_integral!r}")
        if method is None:  # the reference EM for the spatial model with the plane integral, else Newton
            method = "em-reference" if (self.spatial and region_integral == "plane") else "newton"
        if method not in ("newton", "em-reference"):
            raise ETASError(f"method must be 'newton' or 'em-reference', got {method!r}")
        if method == "em-reference" and region_integral == "exact" and self.spatial:
            raise ETASError(
                "method='em-reference' reproduces the reference implementation, which integrates "
                "the spatial kernel over the infinite plane: use region_integral='plane'"
            )
        self.region_integral = region_integral
        self.method = method
        self.quadrature_nodes = int(quadrature_nodes)
        self.tol = float(tol) if tol is not None else (1e-3 if method == "em-reference" else 1e-5)
        self.accelerate = bool(accelerate)
        self.fixed = dict(fixed or {})
        unknown = set(self.fixed) - set(PARAMETER_NAMES[1:])
        if unknown:
            raise ETASError(f"cannot fix {sorted(unknown)}; fixable: {list(PARAMETER_NAMES[1:])}")
        self.theta0.update(self.fixed)
        self.params_: ETASParameters | None = None
        self.background: Any = None
        if isinstance(background, str):
            if background not in ("uniform", "adaptive"):
                raise ETASError(
                    f"background must be 'uniform', 'adaptive' or a background object, got {background!r}"
                )
            self.background_mode = background
        else:
            for attr in ("density", "sample", "to_dict"):
                if not callable(getattr(background, attr, None)):
                    raise ETASError(
                        f"a background object needs a {attr}() method, got {type(background).__name__}"
                    )
            self.background_mode = "given"
            self.background = background
        if self.background_mode != "uniform" and not self.spatial:
            raise ETASError("a spatially variable background needs the spatio-temporal model (spatial=True)")
        self.background_options = {**BACKGROUND_DEFAULTS, **(background_options or {})}
        unknown_bg = set(self.background_options) - set(BACKGROUND_DEFAULTS)
        if unknown_bg:
            raise ETASError(
                f"unknown background_options {sorted(unknown_bg)}; known: {sorted(BACKGROUND_DEFAULTS)}"
            )
        if self.background_options["bandwidth"] not in ("background", "events"):
            raise ETASError(
                "background_options['bandwidth'] must be 'background' or 'events', "
                f"got {self.background_options['bandwidth']!r}"
            )

    @property
    def _exact(self) -> bool:
        # a region covering the whole sphere has no edge: each kernel's mass in it is the plane integral's
        return self.spatial and self.region_integral == "exact" and not _covers_globe(self.region)

    # ------------------------------------------------------------------ preparation
    @property
    def area_km2(self) -> float:
        """True (WGS84) area of the region, km² (1 for the temporal-only model)."""
        return self.region.area_km2() if self.spatial else 1.0

    def _events(
        self, catalog: pd.DataFrame, auxiliary_start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        for col in ("time", "latitude", "longitude", "magnitude"):
            if col not in catalog.columns:
                raise ETASError(f"catalog has no {col!r} column")
        cat = catalog[(catalog["time"] >= auxiliary_start) & (catalog["time"] < end)].copy()
        cat["magnitude"] = (
            round_half_up(
                cat["magnitude"].to_numpy(),
                self.magnitude_resolution,
                exact_halves=self.method != "em-reference",
            )
            if self.magnitude_resolution > 0
            else cat["magnitude"]
        )
        cat = cat[cat["magnitude"] >= self.min_magnitude - 1e-9]
        if self.spatial:
            inside = self.region.contains(cat["longitude"].to_numpy(), cat["latitude"].to_numpy())
            cat = cat[inside]
        return cat.sort_values("time", kind="mergesort").reset_index(drop=True)

    def select_events(self, catalog: pd.DataFrame, start, end) -> pd.DataFrame:
        """The events this model sees in ``[start, end)``: magnitudes binned, ``M >= min_magnitude``, inside the region.

        The same selection as fitting and :func:`quakelab.evaluate.etas_test_scores`, so other models
        (e.g. a neural point process) can be scored on exactly the same events.
        """
        return self._events(catalog, _utc(start), _utc(end))

    def _prepare(
        self, catalog: pd.DataFrame, auxiliary_start, start, end, min_targets: int = 50
    ) -> _Prepared:
        from quakelab.models._pairs import build_pairs

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
            raise ETASError(
                f"no events with M >= {self.min_magnitude} in the target window {t_start} .. {t_end}"
                + (f" inside the region ({n_out} catalog events lie outside it)" if n_out else "")
            )
        if n_targets < min_targets:
            raise ETASError(
                f"only {n_targets} events with M >= {self.min_magnitude} in the target window; at least "
                f"{min_targets} are needed to fit ETAS"
            )
        lat = np.radians(cat["latitude"].to_numpy(dtype=float))
        lon = np.radians(cat["longitude"].to_numpy(dtype=float))
        mags = cat["magnitude"].to_numpy(dtype=float)
        mprime = mags - self.m_ref
        n = len(cat)
        first_target = int(np.argmax(is_target))  # times are sorted: the targets are a suffix
        max_lag = math.inf if self.max_lag_days is None else float(self.max_lag_days)
        empty_i = np.zeros(1, dtype=np.int64)
        if self.spatial:
            if self.coppersmith_multiplier is None:
                radius = np.full(n, math.pi * self.earth_radius_km)
            else:
                radius = np.minimum(
                    coppersmith_ssrl_km(mags) * self.coppersmith_multiplier, math.pi * self.earth_radius_km
                )
            # compact store (int32 source, float32 squared distance) from a radius-band / lon-lat cell index
            ptr, src, r2 = build_pairs(t, lat, lon, radius, first_target, max_lag, self.earth_radius_km)
            lo = hi = empty_i
            implicit = False
            keep_radius = radius if self.coppersmith_multiplier is not None else None
        else:
            ptr = empty_i
            src = np.zeros(1, dtype=np.int32)
            r2 = np.zeros(1, dtype=np.float32)
            lo = np.searchsorted(t, t - max_lag, side="left").astype(np.int64)
            hi = np.searchsorted(t, t, side="left").astype(np.int64)
            implicit = True
            keep_radius = None
        if self._exact:
            _check_exact_region(self.region)
            qptr, qcoef, qr2 = region_ray_table(
                self.region,
                np.degrees(lat),
                np.degrees(lon),
                nodes=self.quadrature_nodes,
                earth_radius_km=self.earth_radius_km,
            )
        else:
            qptr, qcoef, qr2 = empty_i, np.zeros(1), np.zeros(1)
        return _Prepared(
            t=t,
            lat_rad=lat,
            lon_rad=lon,
            mprime=mprime,
            is_target=is_target,
            first_target=first_target,
            ptr=ptr,
            src=src,
            r2=r2,
            lo=lo,
            hi=hi,
            implicit=implicit,
            t_start=float(t0),
            t_end=float(t1),
            event_id=cat["event_id"].astype(str).to_numpy()
            if "event_id" in cat
            else np.arange(n).astype(str),
            radius_km=keep_radius,
            qptr=qptr,
            qcoef=qcoef,
            qr2=qr2,
        )

    # ------------------------------------------------------------------ likelihood
    def _compensator(
        self, theta: np.ndarray, prep: _Prepared, want_grad: bool
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Sum of G_j (expected aftershocks of each source in the window and region), its gradient, G_j."""
        total, grad, _, expected, _ = self._source_terms(theta, prep, 1 if want_grad else 0)
        return total, grad, expected

    def _source_terms(
        self, theta: np.ndarray, prep: _Prepared, mode: int, l_hat: np.ndarray | None = None
    ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, tuple]:
        """Expected-count term with analytic gradient and Hessian (``mode`` 0/1/2), G_j, and the
        ``sum_j l_j log T_j`` term of the reference M-step (when ``l_hat`` is given) with the moment
        table: ``(sum G, grad, hess, G_j, (sum l log T, grad, hess, table))``."""
        from quakelab.models import _em_kernels as EK

        _, log10_k0, a, log10_c, omega, log10_tau, log10_d, gamma, rho = (float(v) for v in theta)
        c, tau = 10**log10_c, 10**log10_tau
        x0, x1, xb, i0, i1, _ = _time_grid(prep)
        key = (c, omega, tau)
        if prep.moment_cache is not None and prep.moment_cache[0] == key:
            cum = prep.moment_cache[1]  # the likelihood and the M-step ask at the same parameters
        else:
            cum = EK.time_moment_table(c, omega, tau, xb, EK._GL_X, EK._GL_W, EK._HMAX)
            prep.moment_cache = (key, cum)
        expected = np.empty(prep.t.size)
        total, grad, hess, lt_v, lt_g, lt_h = EK.source_pass(
            prep.mprime,
            x0,
            x1,
            i0,
            i1,
            cum,
            10**log10_k0,
            a,
            c,
            omega,
            tau,
            10**log10_d,
            gamma,
            rho,
            self.spatial,
            self._exact,
            prep.qptr,
            prep.qcoef,
            prep.qr2,
            np.empty(0) if l_hat is None else l_hat,
            mode,
            expected,
        )
        return total, grad, hess, expected, (lt_v, lt_g, lt_h, cum)

    def _evaluate(
        self, theta: np.ndarray, prep: _Prepared, mode: int = 0, bg_density: np.ndarray | None = None
    ) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray]:
        """Log-likelihood (mode 0), its gradient (1) and Hessian (2), and the intensity at every target.

        ``bg_density``: background density relative to the uniform one (``A f(x)``) at every target;
        ``prep.bg_density`` when None (empty: uniform).

        Gradient and Hessian are analytic: one pass over the pairs and one over the sources (whose time
        integrals and their derivatives come from one table of moments, see ``_em_kernels``).
        """
        from quakelab.models._kernels import target_pass
        from quakelab.models._temporal_expsum import temporal_target_pass

        log10_mu, log10_k0, a, log10_c, omega, log10_tau, log10_d, gamma, rho = (float(v) for v in theta)
        mu = 10**log10_mu
        prod = 10**log10_k0 * np.exp(a * prep.mprime)
        big_d = 10**log10_d * np.exp(gamma * prep.mprime)
        n_tg = prep.t.size - prep.first_target
        lam = np.empty(n_tg)
        bg = _bg_array(bg_density if bg_density is not None else prep.bg_density, n_tg)
        # temporal model without a lag cap: the same sums in O(N K) by exponential sums (_temporal_expsum)
        uncapped_temporal = prep.implicit and self.max_lag_days is None and bg.size == 0
        sumlog, g_pairs, h_pairs = (temporal_target_pass if uncapped_temporal else target_pass)(
            prep.first_target,
            prep.ptr,
            prep.src,
            prep.r2,
            prep.lo,
            prep.hi,
            prep.implicit,
            prep.t,
            prep.mprime,
            prod,
            big_d,
            mu,
            10**log10_c,
            omega,
            10**log10_tau,
            rho,
            self.spatial,
            mode,
            lam,
            _n_threads(),
            bg,
            1.0,  # bg holds A f(x) (relative to uniform), so no area factor
        )
        background = mu * self.area_km2 * (prep.t_end - prep.t_start)
        comp, g_comp, h_comp, _, _ = self._source_terms(theta, prep, mode)
        ll = float(sumlog - background - comp)
        if mode == 0:
            return ll, np.zeros(9), None, lam
        grad = g_pairs - g_comp
        grad[0] -= background * _LN10
        if mode == 1:
            return ll, grad, None, lam
        hess = h_pairs - h_comp
        hess[0, 0] -= background * _LN10**2
        if not self.spatial:
            hess[6:, :] = 0.0
            hess[:, 6:] = 0.0
        return ll, grad, hess, lam

    def _free_indices(self) -> list[int]:
        n_par = 9 if self.spatial else 6
        return [k for k in range(n_par) if PARAMETER_NAMES[k] not in self.fixed]

    def _loglik(self, theta: np.ndarray, prep: _Prepared) -> float:
        """Log-likelihood of the targets (with the fit's pair truncation and region integral)."""
        return self._evaluate(np.asarray(theta, dtype=float), prep, 0)[0]

    def _expected_aftershocks(self, theta8: np.ndarray, prep: _Prepared) -> np.ndarray:
        """G_j: expected number of aftershocks of every event inside the target window (and region)."""
        return self._compensator(np.concatenate([[0.0], theta8]), prep, False)[2]

    # ------------------------------------------------------------------ reference EM (lmizrahi/etas)
    def _mstep_objective(
        self,
        th: np.ndarray,
        prep: _Prepared,
        pptr: np.ndarray,
        prob: np.ndarray,
        l_hat: np.ndarray,
        dt_weight: float,
        pair_sums: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """The reference M-step's objective (expected complete-data log-likelihood, up to a constant),
        its gradient and Hessian in the nine parameters (index 0, log10_mu, unused).

        ``Q = sum_j [l_j log G_j - G_j] + sum_pairs P [log f_time + log f_space]`` with the time kernel
        normalised over ``[0, inf)`` (``T_inf``) and the spatial one over the plane, as in lmizrahi/etas.
        The ``l_j log S_j`` part of the first sum cancels the spatial normalisation of the second, so
        ``Q = L log k0 + a sum_j l_j m'_j + sum_j l_j log T_j - sum_j G_j - L log T_inf - sum P dt / tau
        - (1 + omega) sum P log(dt + c) - (1 + rho) sum P log(r^2 + D_j)`` (``L = sum_j l_j``): one pass
        over the pairs (nine weighted sums; ``pair_sums`` when the E-step already made them at ``th``) and
        one over the sources per evaluation.
        """
        from quakelab.models._em_kernels import _time_derivs, mstep_pair_pass

        _, log10_k0, a, log10_c, omega, log10_tau, log10_d, gamma, rho = (float(v) for v in th)
        c, tau = 10**log10_c, 10**log10_tau
        spatial = self.spatial
        big_d = 10**log10_d * np.exp(gamma * prep.mprime) if spatial else prep.mprime
        s = (
            pair_sums
            if pair_sums is not None
            else mstep_pair_pass(
                prep.first_target,
                pptr,
                prep.src,
                prep.r2,
                prep.lo,
                prep.implicit,
                prep.t,
                prob,
                prep.mprime,
                big_d,
                c,
                spatial,
            )
        )
        total, g_g, h_g, _, (lt_v, lt_g, lt_h, cum) = self._source_terms(th, prep, 2, l_hat)
        big_l = float(l_hat.sum())
        lm = float(np.dot(l_hat, prep.mprime))
        td = np.empty(10)
        _time_derivs(c, omega, tau, 0.0, 0.0, cum, _time_grid(prep)[5], cum.shape[0] - 1, td)
        t_inf = td[0]
        v = td[1:4] / t_inf  # d log T_inf / d (log10_c, omega, log10_tau)
        h_inf = np.array([[td[4], td[5], td[6]], [td[5], td[7], td[8]], [td[6], td[8], td[9]]]) / t_inf
        h_inf -= np.outer(v, v)
        q = (
            big_l * log10_k0 * _LN10
            + a * lm
            + lt_v
            - total
            - big_l * math.log(t_inf)
            - dt_weight / tau
            - (1 + omega) * s[0]
        )
        grad = lt_g - g_g
        hess = lt_h - h_g
        grad[1] += big_l * _LN10
        grad[2] += lm
        grad[3:6] -= big_l * v
        hess[3:6, 3:6] -= big_l * h_inf
        grad[5] += dt_weight / tau * _LN10
        hess[5, 5] -= dt_weight / tau * _LN10**2
        a_lc = c * _LN10 * s[1]
        grad[3] -= (1 + omega) * a_lc
        grad[4] -= s[0]
        hess[3, 3] -= (1 + omega) * _LN10**2 * (c * s[1] - c * c * s[2])
        hess[3, 4] -= a_lc
        hess[4, 3] -= a_lc
        if spatial:
            q -= (1 + rho) * s[3]
            b_ld, b_g = _LN10 * s[4], s[5]
            grad[6] -= (1 + rho) * b_ld
            grad[7] -= (1 + rho) * b_g
            grad[8] -= s[3]
            hess[6, 6] -= (1 + rho) * _LN10**2 * s[6]
            hess[6, 7] -= (1 + rho) * _LN10 * s[7]
            hess[7, 6] -= (1 + rho) * _LN10 * s[7]
            hess[7, 7] -= (1 + rho) * s[8]
            hess[6, 8] -= b_ld
            hess[8, 6] -= b_ld
            hess[7, 8] -= b_g
            hess[8, 7] -= b_g
        return float(q), grad, hess

    def _mstep(
        self,
        theta: np.ndarray,
        prep: _Prepared,
        pptr: np.ndarray,
        prob: np.ndarray,
        l_hat: np.ndarray,
        n_hat: float,
        dt_weight: float,
        pair_sums: np.ndarray | None = None,
    ) -> np.ndarray:
        """Reference M-step: closed-form mu, then Newton ascent of the reference's complete-data objective.

        Starts from the last parameters (as the reference's L-BFGS-B does); each step solves with the
        analytic Hessian on the free parameters not held at a bound by their gradient (eigenvalues made
        negative where the objective is not concave there), capped at one unit per parameter and halved
        until the objective does not fall. Stops after a step that moves no parameter by more than
        ``tol`` (the EM's tolerance), taken without a new evaluation: Newton's error after a step of size
        ``s`` is ``O(s²)`` (about ``s²`` here, so below ``1e-6`` for the default ``tol``). Each evaluation is
        one pass over the pairs; the first comes from the E-step when ``pair_sums`` is given, so that a
        late EM step (whose M-step starts within ``tol`` of its optimum) costs one pass in all.
        """
        area, length = self.area_km2, prep.t_end - prep.t_start
        mu_hat = n_hat / (area * length)
        n_par = 9 if self.spatial else 6
        free = np.zeros(9, dtype=bool)
        free[[k for k in self._free_indices() if 0 < k < n_par]] = True
        lo = np.array([PARAMETER_BOUNDS[n][0] for n in PARAMETER_NAMES])
        hi = np.array([PARAMETER_BOUNDS[n][1] for n in PARAMETER_NAMES])
        th = np.clip(np.asarray(theta, dtype=float), lo, hi)
        for k, name in enumerate(PARAMETER_NAMES):
            if name in self.fixed:
                th[k] = self.fixed[name]
        xtol = self.tol
        if pair_sums is not None and not np.array_equal(th[1:], np.asarray(theta, dtype=float)[1:]):
            pair_sums = None  # made at other parameters (clipped or fixed here)
        q, grad, hess = self._mstep_objective(th, prep, pptr, prob, l_hat, dt_weight, pair_sums)
        n_eval = 1
        for _ in range(100):
            act = free & ~((th <= lo + 1e-12) & (grad < 0)) & ~((th >= hi - 1e-12) & (grad > 0))
            idx = np.flatnonzero(act)
            if idx.size == 0:
                break
            evals, evecs = np.linalg.eigh(-hess[np.ix_(idx, idx)])
            floor = max(float(np.max(np.abs(evals))) * 1e-10, 1e-12)
            step = evecs @ ((evecs.T @ grad[idx]) / np.maximum(np.abs(evals), floor))
            big = float(np.max(np.abs(step)))
            if big > 1.0:
                step = step / big
            if big < xtol:  # a Newton step this small leaves an O(big²) error: take it without checking
                th[idx] = np.clip(th[idx] + step, lo[idx], hi[idx])
                break
            alpha = 1.0
            for _ in range(40):
                trial = th.copy()
                trial[idx] = np.clip(th[idx] + alpha * step, lo[idx], hi[idx])
                q_t, g_t, h_t = self._mstep_objective(trial, prep, pptr, prob, l_hat, dt_weight)
                n_eval += 1
                if np.isfinite(q_t) and q_t >= q - 1e-12 * abs(q):
                    break
                alpha *= 0.5
            else:
                break
            th, q, grad, hess = trial, q_t, g_t, h_t
        self._mstep_evaluations = getattr(self, "_mstep_evaluations", 0) + n_eval
        return np.concatenate([[math.log10(mu_hat)], th[1:]])

    def _estep(
        self,
        theta: np.ndarray,
        prep: _Prepared,
        pptr: np.ndarray,
        prob: np.ndarray,
        bg_density: np.ndarray | None = None,
        pair_sums: bool = False,
    ) -> tuple:
        """E-step on the compact pair store: fills ``prob`` (float32 per pair) in place.

        Returns ``(l_hat, n_hat, dt_weight, lam)``: expected aftershocks of every event among the targets,
        expected background targets, probability-weighted sum of lags, intensity at every target.
        ``bg_density`` as in :meth:`_evaluate`. ``pair_sums``: also return, from the same pass, the
        M-step's pair sums at ``theta`` (see ``_em_kernels.mstep_pair_pass``) as a fifth element.
        """
        from quakelab.models._em_kernels import estep_with_pair_sums
        from quakelab.models._kernels import estep_pass, source_sums

        log10_mu, log10_k0, a, log10_c, omega, log10_tau, log10_d, gamma, rho = (float(v) for v in theta)
        n = prep.t.size
        n_tg = n - prep.first_target
        lam = np.empty(n_tg)
        bg = _bg_array(bg_density if bg_density is not None else prep.bg_density, n_tg)
        if pair_sums:
            n_hat, dt_weight, sums = estep_with_pair_sums(
                prep.first_target,
                pptr,
                prep.src,
                prep.r2,
                prep.lo,
                prep.hi,
                prep.implicit,
                prep.t,
                prep.mprime,
                10**log10_k0 * np.exp(a * prep.mprime),
                10**log10_d * np.exp(gamma * prep.mprime) if self.spatial else prep.mprime,
                10**log10_mu,
                10**log10_c,
                omega,
                10**log10_tau,
                rho,
                self.spatial,
                bg,
                prob,
                lam,
            )
            l_hat = source_sums(prep.first_target, pptr, prep.src, prep.lo, prep.hi, prep.implicit, prob, n)
            return l_hat, float(n_hat), float(dt_weight), lam, sums
        n_hat, dt_weight = estep_pass(
            prep.first_target,
            pptr,
            prep.src,
            prep.r2,
            prep.lo,
            prep.hi,
            prep.implicit,
            prep.t,
            10**log10_k0 * np.exp(a * prep.mprime),
            10**log10_d * np.exp(gamma * prep.mprime),
            10**log10_mu,
            10**log10_c,
            omega,
            10**log10_tau,
            rho,
            self.spatial,
            bg,
            1.0,  # bg holds A f(x) (relative to uniform), so no area factor
            prob,
            lam,
            _n_threads(),
        )
        l_hat = source_sums(prep.first_target, pptr, prep.src, prep.lo, prep.hi, prep.implicit, prob, n)
        return l_hat, float(n_hat), float(dt_weight), lam

    def _fit_em_reference(
        self, theta: np.ndarray, prep: _Prepared, verbose: bool
    ) -> tuple[np.ndarray, int, list[float]]:
        pptr = prep.pair_pointer()
        prob = np.empty(max(int(pptr[-1]), 1), dtype=np.float32)  # the only per-pair array of the EM
        lo = np.array([PARAMETER_BOUNDS[n][0] for n in PARAMETER_NAMES])
        hi = np.array([PARAMETER_BOUNDS[n][1] for n in PARAMETER_NAMES])

        length = prep.t_end - prep.t_start

        def em_step(th: np.ndarray) -> tuple[np.ndarray, float]:
            """One EM step from ``th`` and the log-likelihood at ``th`` (its pair part comes free with the
            E-step's intensities)."""
            # the fused E-step also makes the M-step's pair sums at ``th`` (its first evaluation): one pass
            # over the pairs fewer per EM step
            l_hat, n_hat, dt_weight, lam, sums = self._estep(th, prep, pptr, prob, pair_sums=True)
            ll = float(np.log(lam).sum()) - 10 ** th[0] * self.area_km2 * length
            ll -= self._compensator(th, prep, False)[0]
            return self._mstep(th, prep, pptr, prob, l_hat, n_hat, dt_weight, sums), ll

        history: list[float] = []
        diff = math.inf
        it = 0
        while diff >= self.tol:
            if it >= self.max_iter:
                state = {
                    "iteration": it,
                    "params": dict(zip(PARAMETER_NAMES, theta, strict=True)),
                    "last_change": diff,
                }
                raise ETASConvergenceError(
                    f"EM did not converge in {self.max_iter} iterations (last summed change {diff:.3g} >= "
                    f"tol {self.tol}); last parameters: {state['params']}",
                    state,
                )
            if self.accelerate and diff < 1.0:
                # SQUAREM (Varadhan & Roland 2008, S3): two EM steps, an extrapolation along them, and an
                # EM step from the extrapolated point, which also decides convergence, so that the fixed
                # point is the EM's. An extrapolation that lowers the log-likelihood below the cycle's
                # start is replaced by the second EM step's result.
                th1, ll0 = em_step(theta)
                th2, _ = em_step(th1)
                r = th1 - theta
                v = th2 - th1 - r
                nv = float(np.linalg.norm(v))
                alpha = min(-float(np.linalg.norm(r)) / nv if nv > 0 else -1.0, -1.0)
                th_x = np.clip(theta - 2 * alpha * r + alpha**2 * v, lo, hi)
                new, ll_x = em_step(th_x)
                it += 3
                if alpha < -1.0 and not ll_x >= ll0:
                    th_x = th2
                    new, _ = em_step(th_x)
                    it += 1
                diff = float(np.sum(np.abs(new - th_x)))
            else:
                new, _ = em_step(theta)
                diff = float(np.sum(np.abs(new - theta)))
                it += 1
            theta = new
            history.append(diff)
            if verbose:
                print(f"EM iteration {it}: change {diff:.3g}")
        return theta, it, history

    # ------------------------------------------------------------------ Newton fit of the exact likelihood
    def _fit_newton(
        self, theta: np.ndarray, prep: _Prepared, verbose: bool
    ) -> tuple[np.ndarray, int, list[float]]:
        """Newton ascent of the log-likelihood inside the parameter bounds, with a line search.

        Each step uses the analytic gradient and Hessian on the free parameters (not fixed, not held at
        a bound by their gradient); where the Hessian is not negative definite its eigenvalues are
        replaced by their absolute values (so the step still ascends with a sensible scale), steps are
        capped at one unit per parameter, and halved until the log-likelihood rises. Converged when the
        log-likelihood rose by less than ``tol`` and a Newton step predicts a gain below ``tol``.
        """
        lo = np.array([PARAMETER_BOUNDS[n][0] for n in PARAMETER_NAMES])
        hi = np.array([PARAMETER_BOUNDS[n][1] for n in PARAMETER_NAMES])
        if not self.spatial:
            hi[0] = 5.0  # mu in events per day, not per km² per day
        free = np.zeros(9, dtype=bool)
        free[self._free_indices()] = True
        theta = np.clip(theta, lo, hi)
        ll, grad, hess, _ = self._evaluate(theta, prep, 2)
        if not np.isfinite(ll):
            raise ETASError("the log-likelihood is not finite at the starting parameters; pass theta0")
        history: list[float] = []
        it = 0
        change = math.inf
        small = 0
        while True:
            act = free & ~((theta <= lo + 1e-12) & (grad < 0)) & ~((theta >= hi - 1e-12) & (grad > 0))
            idx = np.flatnonzero(act)
            if idx.size == 0:  # every free parameter held at a bound by its gradient: a corner maximum
                history.append(0.0)
                break
            a_mat = -hess[np.ix_(idx, idx)]
            g_act = grad[idx]
            evals, evecs = np.linalg.eigh(a_mat)
            floor = max(float(np.max(np.abs(evals))) * 1e-10, 1e-12)
            mod = np.maximum(np.abs(evals), floor)
            step = evecs @ ((evecs.T @ g_act) / mod)
            gain = 0.5 * float(g_act @ step)
            small = small + 1 if change < self.tol else 0
            if small and (gain < self.tol or small >= 3):
                # the log-likelihood stopped rising and a Newton step predicts no more (or it stopped
                # rising three times running: a flat direction where the quadratic model is poor)
                break
            if it >= self.max_iter:
                state = {
                    "iteration": it,
                    "params": dict(zip(PARAMETER_NAMES, theta, strict=True)),
                    "last_change": change,
                    "gradient": dict(zip(PARAMETER_NAMES, grad, strict=True)),
                }
                raise ETASConvergenceError(
                    f"the fit did not converge in {self.max_iter} iterations (last log-likelihood change "
                    f"{change:.3g}, tol {self.tol}); last parameters: {state['params']}",
                    state,
                )
            big = float(np.max(np.abs(step)))
            if big > 1.0:
                step = step / big
            alpha = 1.0
            accepted = False
            for _ in range(40):
                trial = theta.copy()
                trial[idx] += alpha * step
                trial = np.clip(trial, lo, hi)
                ll_t = self._evaluate(trial, prep, 0)[0]
                if np.isfinite(ll_t) and ll_t >= ll:
                    accepted = True
                    break
                alpha *= 0.5
            it += 1
            if not accepted:  # no ascent along the step: the maximum to machine precision
                history.append(0.0)
                break
            change = ll_t - ll
            theta = trial
            ll, grad, hess, _ = self._evaluate(theta, prep, 2)
            history.append(change)
            if verbose:
                print(f"Newton iteration {it}: log-likelihood {ll:.6f} (+{change:.3g}), step {alpha:g}")
        return theta, it, history

    # ------------------------------------------------------------------ public API
    def fit(
        self,
        catalog: pd.DataFrame,
        *,
        auxiliary_start,
        start,
        end,
        standard_errors: bool = True,
        verbose: bool = False,
    ) -> ETAS:
        """Fit by maximum likelihood (or the reference EM, see ``method``).

        Events in ``[auxiliary_start, start)`` trigger but are not targets; events in ``[start, end)``
        are targets and sources (EarthquakeNPP / Mizrahi et al. 2021 convention).

        Parameters
        ----------
        catalog : pandas.DataFrame
            Canonical catalog (events outside the region or below ``min_magnitude`` are ignored).
        auxiliary_start, start, end : time-like
            Auxiliary history start, target window start and end (UTC).
        standard_errors : bool, default True
            Compute standard errors from the Hessian of the log-likelihood.
        verbose : bool, default False
            Print one line per iteration.

        Returns
        -------
        ETAS
            ``self``, fitted.

        Raises
        ------
        ETASError
            Before any heavy work, for an empty or too small target set or bad windows.
        ETASConvergenceError
            When the fit does not converge within ``max_iter`` iterations.
        """
        t0 = _time.perf_counter()
        prep = self._prepare(catalog, auxiliary_start, start, end)
        t_prep = _time.perf_counter() - t0
        target_mags = prep.mprime[prep.is_target] + self.m_ref
        self.beta_ = estimate_beta(target_mags, self.min_magnitude, self.magnitude_resolution)
        theta = np.array([self.theta0[n] for n in PARAMETER_NAMES], dtype=float)
        if not self.spatial:
            theta[0] = math.log10(max(prep.is_target.sum() / (2 * (prep.t_end - prep.t_start)), 1e-10))
        if self.background_mode == "given":
            prep.bg_density = self._relative_density(self.background, prep)
        start_theta = theta.copy()
        theta, it, history = self._fit_parameters(theta, prep, verbose)
        fallback = None
        unphysical_kept = None
        if self.method != "em-reference":
            fallback = self._unphysical(theta)
            if fallback is not None and prep.implicit and self.max_lag_days is None:
                # uncapped temporal model: the reference EM would visit all O(N^2) pairs per iteration;
                # keep the maximum of the exact likelihood and say so
                warnings.warn(
                    f"ETAS Newton fit {fallback}; kept (the maximum-likelihood estimate)",
                    ETASFallbackWarning,
                    stacklevel=2,
                )
                unphysical_kept, fallback = fallback, None
            elif fallback is not None and not self._exact:
                # the exact likelihood's maximum left the physical region: the reference EM (whose
                # M-step normalises the time kernel over [0, inf) and so keeps tau finite) instead
                warnings.warn(
                    f"ETAS Newton fit {fallback}; fitted by the reference EM instead",
                    ETASFallbackWarning,
                    stacklevel=2,
                )
                theta, it_em, history_em = self._fit_em_reference(start_theta, prep, verbose)
                it += it_em
                history = history + history_em
            else:
                fallback = None
        bg_info: dict[str, Any] = {}
        if self.background_mode == "adaptive":
            theta, it_bg, bg_info = self._fit_adaptive_background(theta, prep, verbose)
            it += it_bg
        ll, grad, hess, lam = self._evaluate(theta, prep, 2 if standard_errors else 1)
        mu = 10 ** theta[0]
        p0 = mu * (prep.bg_density if prep.bg_density.size else 1.0) / lam
        self.params_ = ETASParameters.from_array(theta)
        self.branching_ratio_ = branching_ratio(self.params_, self.beta_, self.spatial)
        t_fit = _time.perf_counter() - t0
        self.background_probability_ = pd.Series(
            p0, index=prep.event_id[prep.is_target], name="background_probability"
        )
        self.log_likelihood_truncated_ = ll
        self.std_errors_ = self._standard_errors_from_hessian(hess) if standard_errors else {}
        self.fit_info_ = {
            "n_iterations": it,
            "n_targets": int(prep.is_target.sum()),
            "n_sources": int(prep.t.size),
            "n_pairs": prep.n_pairs,
            "pair_store_bytes": int(
                (0 if prep.implicit else prep.src.nbytes + prep.r2.nbytes)
                + (4 * prep.n_pairs if self.method == "em-reference" or fallback is not None else 0)
            ),
            "area_km2": self.area_km2,
            "beta": self.beta_,
            "n_background_expected": float(p0.sum()),
            "prepare_s": round(t_prep, 3),
            "fit_s": round(t_fit, 3),
            "total_s": round(_time.perf_counter() - t0, 3),
            "changes": history,
            "method": self.method if fallback is None else "em-reference (fallback)",
            "newton_fallback": fallback,
            "unphysical_estimate_kept": unphysical_kept,
            "region_integral": self.region_integral if self.spatial else "none",
            "gradient_norm": self._active_gradient_norm(theta, grad),
            "branching_ratio_in_region": self._branching_ratio_in_region(prep),
            **self._truncation_report(prep),
            "auxiliary_start": str(_utc(auxiliary_start)),
            "start": str(_utc(start)),
            "end": str(_utc(end)),
            "background": self.background_mode,
            **bg_info,
        }
        self.log_likelihood_ = ll
        self._warn_if_supercritical()
        return self

    def _unphysical(self, theta: np.ndarray) -> str | None:
        """Why a Newton estimate is outside the physical region (None when it is inside).

        Supercritical (branching ratio >= 1 over the plane and all time) or a free triggering parameter
        on a bound of its search range (the likelihood still rising beyond it: a degenerate corner).
        """
        eta = branching_ratio(ETASParameters.from_array(theta), self.beta_, self.spatial)
        if not eta < 1:
            return f"is supercritical (branching ratio {eta:.3g})"
        for k in self._free_indices():
            name = PARAMETER_NAMES[k]
            lo, hi = PARAMETER_BOUNDS[name]
            if k > 0 and min(abs(theta[k] - lo), abs(theta[k] - hi)) < 1e-6:
                return f"put {name} on its bound ({theta[k]:.4g})"
        return None

    def _fit_parameters(
        self, theta: np.ndarray, prep: _Prepared, verbose: bool
    ) -> tuple[np.ndarray, int, list[float]]:
        if self.method == "em-reference":
            return self._fit_em_reference(theta, prep, verbose)
        return self._fit_newton(theta, prep, verbose)

    def _relative_density(self, background: Any, prep: _Prepared) -> np.ndarray:
        """``A f(x_i)`` at every target (1 everywhere for the uniform density)."""
        tg = prep.is_target
        dens = np.asarray(
            background.density(np.degrees(prep.lon_rad[tg]), np.degrees(prep.lat_rad[tg])), dtype=float
        )
        return np.ascontiguousarray(dens * self.area_km2)

    def _fit_adaptive_background(
        self, theta: np.ndarray, prep: _Prepared, verbose: bool
    ) -> tuple[np.ndarray, int, dict[str, Any]]:
        """Zhuang et al. (2002): kernels weighted by background probabilities, refit, until stable.

        The density enters the likelihood at the targets leave-one-out (each target's own kernel left
        out) and, after the first update, with bandwidths from the background events' weighted
        neighbour counts (``background_options``); the stored ``self.background`` is the full estimate
        (every kernel), which is what forecasts and the test-window likelihood use.
        """
        from quakelab.models.background import KernelBackground, weighted_neighbour_bandwidths

        opt = self.background_options
        tg = prep.is_target
        lon, lat = np.degrees(prep.lon_rad[tg]), np.degrees(prep.lat_rad[tg])
        background = None
        changes: list[float] = []
        lls: list[float] = []
        it = 0
        for _ in range(int(opt["max_updates"])):
            lam = self._evaluate(theta, prep, 0)[3]
            p0 = 10 ** theta[0] * (prep.bg_density if prep.bg_density.size else 1.0) / lam
            if background is None:
                background = KernelBackground.estimate(
                    self.region,
                    lon,
                    lat,
                    p0,
                    k_neighbours=int(opt["k_neighbours"]),
                    min_bandwidth_km=float(opt["min_bandwidth_km"]),
                    uniform_fraction=float(opt["uniform_fraction"]),
                    earth_radius_km=self.earth_radius_km,
                    quadrature_nodes=self.quadrature_nodes,
                )
            else:
                background.set_weights(p0)
            if opt["bandwidth"] == "background" and changes:
                # k-th neighbour among the background events (weights p0), not among all events; the first
                # estimate keeps the events' own spacing, since the fit with a uniform background can put
                # almost every event in clusters (p0 ~ 0) and the weights would then spread every kernel
                background.set_bandwidths(
                    weighted_neighbour_bandwidths(
                        lon,
                        lat,
                        p0,
                        float(opt["k_neighbours"]),
                        float(opt["min_bandwidth_km"]),
                        self.earth_radius_km,
                    )
                )
            old = prep.bg_density if prep.bg_density.size else np.ones(int(tg.sum()))
            new = np.ascontiguousarray(
                background.density_at_centres(bool(opt["leave_one_out"])) * self.area_km2
            )
            change = float(np.mean(np.abs(new - old) / old))
            prep.bg_density = new
            theta, it_k, _ = self._fit_parameters(theta, prep, verbose)
            it += it_k
            changes.append(change)
            lls.append(self._evaluate(theta, prep, 0)[0])
            if verbose:
                print(
                    f"background update {len(changes)}: mean relative change {change:.3g}, log-likelihood {lls[-1]:.3f}"
                )
            if change < float(opt["tol"]):
                break
        self.background = background
        return (
            theta,
            it,
            {
                "background_updates": len(changes),
                "background_changes": changes,
                "background_log_likelihoods": lls,
                "background_converged": bool(changes and changes[-1] < float(opt["tol"])),
            },
        )

    def _active_gradient_norm(self, theta: np.ndarray, grad: np.ndarray) -> float:
        """Largest gradient component over the free parameters not held at a bound by their gradient."""
        out = 0.0
        for k in self._free_indices():
            lo, hi = PARAMETER_BOUNDS[PARAMETER_NAMES[k]]
            if (theta[k] <= lo + 1e-12 and grad[k] < 0) or (theta[k] >= hi - 1e-12 and grad[k] > 0):
                continue
            out = max(out, abs(float(grad[k])))
        return out

    def _branching_ratio_in_region(self, prep: _Prepared) -> float:
        """Mean over the fit's events of their expected direct aftershocks inside the region, all time."""
        if not self.spatial:
            return self.branching_ratio_
        lat, lon = np.degrees(prep.lat_rad), np.degrees(prep.lon_rad)
        mags = prep.mprime + self.m_ref
        return float(
            np.mean(self.expected_direct_aftershocks(mags, lat, lon, region_integral=self.region_integral))
        )

    def _warn_if_supercritical(self) -> None:
        if self.branching_ratio_ >= 1:
            warnings.warn(
                f"ETAS branching ratio {self.branching_ratio_:.3f} >= 1: the model is supercritical "
                "(every simulated sequence explodes)",
                ETASSupercriticalWarning,
                stacklevel=3,
            )

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
        return {
            "max_truncated_spatial_mass": float(frac.max()),
            "mean_truncated_spatial_mass": float(np.sum(frac * w) / np.sum(w)),
        }

    def _standard_errors_from_hessian(self, hess: np.ndarray) -> dict[str, float]:
        idx = self._free_indices()
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
        ``fixed`` marks parameters held at given values; ``supercritical`` (the same in every row, and in
        ``attrs``) is True when the branching ratio is >= 1.
        """
        self.check_is_fitted()
        p = self.params_.to_dict()
        at_bound = {
            k: (
                k not in self.fixed
                and k != "log10_mu"
                and min(abs(v - PARAMETER_BOUNDS[k][0]), abs(v - PARAMETER_BOUNDS[k][1])) < 1e-6
            )
            for k, v in p.items()
        }
        eta = float(getattr(self, "branching_ratio_", math.nan))
        table = pd.DataFrame(
            {
                "value": p,
                "std_error": {k: self.std_errors_.get(k, math.nan) for k in p},
                "fixed": {k: k in self.fixed for k in p},
                "at_bound": at_bound,
                "supercritical": {k: bool(eta >= 1) for k in p},
            }
        )
        table.attrs["branching_ratio"] = eta
        table.attrs["supercritical"] = bool(eta >= 1)
        return table

    def check_is_fitted(self) -> None:
        """Raise :class:`ETASError` unless the model has parameters (fitted or :meth:`set_params`)."""
        if self.params_ is None:
            raise ETASError("the model is not fitted: call fit(...) or set params_ first")

    _check_fitted = check_is_fitted

    def productivity(self, magnitudes: np.ndarray | float) -> np.ndarray:
        """``k0 e^{a (m - m_ref)}``: the magnitude factor of the triggering kernel.

        Parameters
        ----------
        magnitudes : array or float
            Source magnitudes.

        Returns
        -------
        numpy.ndarray
            Productivity per source (same shape).
        """
        self.check_is_fitted()
        p = self.params_.natural
        return p["k0"] * np.exp(p["a"] * (np.asarray(magnitudes, dtype=float) - self.m_ref))

    def spatial_integral(
        self,
        magnitudes: np.ndarray | float,
        latitude: np.ndarray | float | None = None,
        longitude: np.ndarray | float | None = None,
        *,
        region_integral: str | None = None,
    ) -> np.ndarray:
        """Integral (km²) of each source's spatial kernel ``(r² + D)^-(1+rho)``, ``D = d e^{gamma m'}``.

        Parameters
        ----------
        magnitudes : array or float
            Source magnitudes.
        latitude, longitude : array or float, optional
            Source locations (degrees); needed for ``region_integral="exact"``.
        region_integral : {"exact", "plane"}, optional
            Over the region polygon or the infinite plane (``pi / (rho D^rho)``); the model's setting
            when None.

        Returns
        -------
        numpy.ndarray
            The integrals (ones for the temporal-only model).
        """
        self.check_is_fitted()
        m = np.asarray(magnitudes, dtype=float)
        if not self.spatial:
            return np.ones_like(m)
        p = self.params_.natural
        big_d = p["d"] * np.exp(p["gamma"] * (m - self.m_ref))
        mode = region_integral or self.region_integral
        if mode == "plane":
            return math.pi / (p["rho"] * big_d ** p["rho"])
        if latitude is None or longitude is None:
            raise ETASError("the exact region integral needs the sources' latitude and longitude")
        lat, lon = np.broadcast_arrays(np.asarray(latitude, dtype=float), np.asarray(longitude, dtype=float))
        big_d = np.broadcast_to(big_d, lat.shape)
        out = region_kernel_integral(
            self.region,
            lat.ravel(),
            lon.ravel(),
            big_d.ravel(),
            p["rho"],
            nodes=self.quadrature_nodes,
            earth_radius_km=self.earth_radius_km,
        )
        return out.reshape(lat.shape)

    def expected_direct_aftershocks(
        self,
        magnitudes: np.ndarray | float,
        latitude: np.ndarray | float | None = None,
        longitude: np.ndarray | float | None = None,
        *,
        start_lag_days: float = 0.0,
        end_lag_days: float = math.inf,
        region_integral: str | None = None,
    ) -> np.ndarray:
        """Expected number of direct aftershocks of each source between two lags after it.

        ``productivity(m) * time integral over [start_lag, end_lag] * spatial_integral(...)`` (inside the
        region with the exact integral, anywhere with ``"plane"``).

        Parameters
        ----------
        magnitudes : array or float
            Source magnitudes.
        latitude, longitude : array or float, optional
            Source locations (degrees); needed for the exact region integral.
        start_lag_days, end_lag_days : float
            Lag window after each source (days); all time by default.
        region_integral : {"exact", "plane"}, optional
            See :meth:`spatial_integral`.

        Returns
        -------
        numpy.ndarray
            Expected counts.
        """
        from quakelab.models._kernels import time_integral

        self.check_is_fitted()
        p = self.params_.natural
        end = end_lag_days if math.isfinite(end_lag_days) else 1e12 * max(p["tau"], 1.0)
        tint = float(time_integral(p["c"], p["omega"], p["tau"], float(start_lag_days), float(end)))
        return (
            self.productivity(magnitudes)
            * tint
            * self.spatial_integral(magnitudes, latitude, longitude, region_integral=region_integral)
        )

    # ------------------------------------------------------------------ simulation and forecasts
    def _history(self, history: pd.DataFrame | None, origin: pd.Timestamp) -> pd.DataFrame | None:
        """History events the model sees before ``origin`` (selected once per forecast), times in days."""
        if history is None or len(history) == 0:
            return None
        ev = self._events(history, history["time"].min(), origin)
        if ev.empty:
            return None
        return pd.DataFrame(
            {
                "t": ((ev["time"] - origin) / pd.Timedelta(days=1)).to_numpy(dtype=float),
                "latitude": ev["latitude"].to_numpy(dtype=float),
                "longitude": ev["longitude"].to_numpy(dtype=float),
                "magnitude": ev["magnitude"].to_numpy(dtype=float),
            }
        )

    def _simulation_setup(
        self, history: pd.DataFrame | None, start, end, m_max: float | None, max_events: int
    ):
        """Set-up of a batch of simulations over ``[start, end)``: the history is selected only here."""
        from quakelab.models.simulate import SimulationSetup

        self._check_fitted()
        t0, t1 = _utc(start), _utc(end)
        days = (t1 - t0) / pd.Timedelta(days=1)
        if not days > 0:
            raise ETASError(f"need start < end, got {t0} .. {t1}")
        return SimulationSetup.from_model(
            self, self._history(history, t0), float(days), m_max=m_max, max_events=max_events
        )

    @staticmethod
    def _simulated_frame(sims: pd.DataFrame, t0: pd.Timestamp) -> pd.DataFrame:
        """Canonical catalog columns for simulated events (``sim:<index in its catalog>`` ids)."""
        return pd.DataFrame(
            {
                "event_id": "sim:" + pd.Series(sims["local_id"].to_numpy()).astype(str),
                "time": t0 + pd.to_timedelta(sims["t"].to_numpy(), unit="D"),
                "latitude": sims["latitude"].to_numpy(),
                "longitude": sims["longitude"].to_numpy(),
                "depth_km": np.nan,
                "magnitude": sims["magnitude"].to_numpy(),
                "mag_type": "",
                "generation": sims["generation"].to_numpy(),
                "parent": sims["parent"].to_numpy(),
            }
        )

    def simulate(
        self,
        start,
        end,
        *,
        history: pd.DataFrame | None = None,
        seed: int | np.random.Generator | np.random.SeedSequence | None = None,
        m_max: float | None = None,
        region_only: bool = True,
        max_events: int | None = None,
    ) -> pd.DataFrame:
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

    def catalog_forecast(
        self,
        history: pd.DataFrame | None,
        start,
        end,
        *,
        n_simulations: int = 1000,
        seed: int | np.random.SeedSequence | None = None,
        m_max: float | None = None,
        scheduler: Any = None,
        chunk_size: int | None = None,
        n_threads: int | None = None,
        max_events: int | None = None,
        quiet: bool = False,
    ) -> pd.DataFrame:
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
            Cap on the events of one simulated catalog (default
            :data:`quakelab.models.simulate.DEFAULT_MAX_EVENTS`); the simulations of one task together
            are capped at :data:`quakelab.models.simulate.DEFAULT_MAX_TOTAL_EVENTS` (or ``max_events``
            when larger), so that an explosive model stops with
            :class:`~quakelab.models.simulate.SimulationCapError` rather than exhausting memory.
        quiet : bool, default False
            No progress log lines.

        Returns
        -------
        pandas.DataFrame
            All simulated events with a ``catalog_id`` column (0 .. n_simulations - 1); catalogs with no
            event simply do not appear (see :func:`quakelab.models.forecast_counts`).

        Raises
        ------
        quakelab.models.simulate.SimulationCapError
            When a simulation, or one task's simulations together, exceed their event cap.
        """
        from quakelab.models.simulate import DEFAULT_MAX_EVENTS, CatalogReducer, run_simulations

        setup = self._simulation_setup(history, start, end, m_max, max_events or DEFAULT_MAX_EVENTS)
        sims = run_simulations(
            setup,
            n_simulations,
            CatalogReducer(True),
            seed=seed,
            scheduler=scheduler,
            chunk_size=chunk_size,
            n_threads=n_threads,
            quiet=quiet,
        )
        out = self._simulated_frame(sims, _utc(start))
        out.insert(0, "catalog_id", sims["sim"].to_numpy())
        out.attrs["n_simulations"] = n_simulations
        return out

    def forecast(
        self,
        history: pd.DataFrame | None,
        start,
        end,
        *,
        n_simulations: int = 1000,
        cell_deg: float = 0.1,
        magnitude_bins: np.ndarray | None = None,
        seed: int | None = None,
        m_max: float | None = None,
        scheduler: Any = None,
        chunk_size: int | None = None,
        n_threads: int | None = None,
        max_events: int | None = None,
        quiet: bool = False,
    ):
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
            Lower edges of magnitude bins (the last bin is open); ``min_magnitude .. min_magnitude + 4`` by
            ``magnitude_resolution`` (by 0.1 for continuous magnitudes, resolution 0) when None.
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
            step = self.magnitude_resolution if self.magnitude_resolution > 0 else 0.1
            magnitude_bins = np.round(
                np.arange(self.min_magnitude, self.min_magnitude + 4.0 + 1e-9, step), 10
            )
        mags = np.asarray(magnitude_bins, dtype=float)
        counts, n_events = run_simulations(
            setup,
            n_simulations,
            GridReducer(mags, lat_edges, lon_edges),
            seed=seed,
            scheduler=scheduler,
            chunk_size=chunk_size,
            n_threads=n_threads,
            quiet=quiet,
        )
        # background: its expectation (rate x cell area inside the region x GR), not its sample,
        # so that every cell of the region has a positive rate and Monte Carlo noise is smaller
        lat_c = (lat_edges[:-1] + lat_edges[1:]) / 2
        lon_c = (lon_edges[:-1] + lon_edges[1:]) / 2
        glon, glat = np.meshgrid(lon_c, lat_c)
        inside = self.region.contains(glon.ravel(), glat.ravel()).reshape(glon.shape)
        cell_area = cell_area_km2(glat, cell_deg) * inside
        days = setup.window
        background_total = self.params_.natural["mu"] * self.area_km2 * days
        density_model = getattr(self, "background", None)
        if density_model is not None and hasattr(density_model, "cell_integrals"):
            # the background's probability of each cell (narrow kernels are not sampled at cell centres)
            weight = np.clip(
                np.asarray(density_model.cell_integrals(lon_edges, lat_edges), dtype=float), 0, None
            )
            weight = weight * inside
        elif density_model is not None:
            dens = np.asarray(density_model.density(glon.ravel(), glat.ravel()), dtype=float).reshape(
                glon.shape
            )
            weight = np.clip(dens, 0, None) * cell_area
        else:
            weight = cell_area
        spatial_share = weight / weight.sum() if weight.sum() > 0 else weight
        lower = np.clip(mags - self.magnitude_resolution / 2 - self.m_ref, 0, None)
        surv = np.exp(-self.beta_ * lower)
        if m_max is not None:  # truncated GR, as simulated
            tail = math.exp(-self.beta_ * (m_max - self.m_ref))
            surv = np.clip((surv - tail) / (1 - tail), 0, None)
        frac = surv - np.append(surv[1:], 0.0)
        background = frac[:, None, None] * spatial_share[None] * background_total
        q = np.quantile(n_events, [0.025, 0.5, 0.975])
        ds = xr.Dataset(
            {
                "expected_count": (
                    ("magnitude", "latitude", "longitude"),
                    counts / n_simulations + background,
                    {"units": "events per cell over the window", "long_name": "expected number of events"},
                ),
                "n_events": (
                    ("simulation",),
                    n_events,
                    {"long_name": "events in the region per simulated catalog"},
                ),
            },
            coords={
                "magnitude": mags,
                "latitude": lat_c,
                "longitude": lon_c,
                "simulation": np.arange(n_simulations),
            },
            attrs={
                "model": "ETAS",
                "start": str(_utc(start)),
                "end": str(_utc(end)),
                "cell_deg": cell_deg,
                "n_simulations": n_simulations,
                "mean_n_events": float(n_events.mean()),
                "n_events_q025": float(q[0]),
                "n_events_median": float(q[1]),
                "n_events_q975": float(q[2]),
                "region": json.dumps(self.region.to_dict()),
            },
        )
        return ds

    def aftershock_probabilities(
        self,
        history: pd.DataFrame | None,
        start,
        *,
        durations_days: tuple[float, ...] = (1.0, 7.0, 30.0),
        magnitudes: tuple[float, ...] = (5.0, 6.0, 7.0),
        n_simulations: int = 1000,
        seed: int | None = None,
        m_max: float | None = 8.5,
        scheduler: Any = None,
        chunk_size: int | None = None,
        n_threads: int | None = None,
        max_events: int | None = None,
        quiet: bool = False,
    ) -> pd.DataFrame:
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
        setup = self._simulation_setup(
            history, t0, t0 + pd.Timedelta(days=longest), m_max, max_events or DEFAULT_MAX_EVENTS
        )
        counts = run_simulations(
            setup,
            n_simulations,
            ThresholdCountReducer(durations_days, magnitudes),
            seed=seed,
            scheduler=scheduler,
            chunk_size=chunk_size,
            n_threads=n_threads,
            quiet=quiet,
        )
        rows = []
        for i, dur in enumerate(durations_days):
            for j, mag in enumerate(magnitudes):
                c = counts[:, i, j]
                rows.append(
                    {
                        "duration_days": dur,
                        "magnitude": mag,
                        "probability": float((c > 0).mean()),
                        "expected_number": float(c.mean()),
                        "n_q025": float(np.quantile(c, 0.025)),
                        "n_q975": float(np.quantile(c, 0.975)),
                    }
                )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (configuration and fitted values)."""
        d = {
            "min_magnitude": self.min_magnitude,
            "magnitude_resolution": self.magnitude_resolution,
            "spatial": self.spatial,
            "m_ref": self.m_ref,
            "region": self.region.to_dict() if self.region else None,
            "coppersmith_multiplier": self.coppersmith_multiplier,
            "max_lag_days": self.max_lag_days,
            "earth_radius_km": self.earth_radius_km,
            "theta0": self.theta0,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "accelerate": self.accelerate,
            "fixed": self.fixed,
            "region_integral": self.region_integral,
            "method": self.method,
            "quadrature_nodes": self.quadrature_nodes,
            "background_mode": self.background_mode,
            "background_options": self.background_options,
            "background": self.background.to_dict() if self.background is not None else None,
        }
        if self.params_ is not None:
            d["params"] = self.params_.to_dict()
            for attr in ("beta_", "branching_ratio_", "log_likelihood_", "std_errors_", "fit_info_"):
                if hasattr(self, attr):
                    d[attr.rstrip("_")] = getattr(self, attr)
        return d

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model as JSON (atomically), file format version :data:`MODEL_FILE_VERSION`."""
        from quakelab.catalog.store import write_text_atomic

        return write_text_atomic(
            path,
            json.dumps(
                {"model": "ETAS", "version": MODEL_FILE_VERSION, **self.to_dict()}, indent=2, default=float
            ),
        )

    @classmethod
    def load(cls, path: str | os.PathLike, *, storage_options: dict[str, Any] | None = None) -> ETAS:
        """Read a model written by :meth:`save` from a path or an fsspec URL (``s3://bucket/model.json``).

        Files of versions 1 and 2 (written before the glossary names) keep ``mc`` and ``delta_m``; they
        are read as ``min_magnitude`` and ``magnitude_resolution`` (:meth:`from_dict`).

        ``storage_options`` are the fsspec filesystem's options (see :func:`quakelab.storage.filesystem`).
        """
        from quakelab.storage import read_text

        d = json.loads(read_text(path, storage_options))
        if d.get("model") != "ETAS":
            raise ETASError(f"{path}: not an ETAS model file")
        if int(d.get("version", 1)) > MODEL_FILE_VERSION:
            raise ETASError(
                f"{path}: ETAS model file version {d['version']} is newer than this quakelab reads "
                f"({MODEL_FILE_VERSION})"
            )
        try:
            return cls.from_dict(d)
        except KeyError as exc:
            raise ETASError(f"{path}: field {exc.args[0]!r} missing") from exc
        except ETASError as exc:
            raise ETASError(f"{path}: {exc}") from exc

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ETAS:
        """The model of :meth:`to_dict` (also the older keys ``mc`` and ``delta_m`` of file versions 1-2).

        Examples
        --------
        >>> old = ETAS(min_magnitude=2.0, spatial=False).to_dict()
        >>> old["mc"], old["delta_m"] = old.pop("min_magnitude"), old.pop("magnitude_resolution")
        >>> ETAS.from_dict(old).min_magnitude
        2.0
        """
        d = dict(d)
        for old, new in _RENAMED_FILE_KEYS.items():
            if old in d and new not in d:
                d[new] = d.pop(old)
        region = Region.from_dict(d["region"]) if d.get("region") else None
        background = None
        if d.get("background"):
            from quakelab.models.background import background_from_dict

            try:
                background = background_from_dict(d["background"])
            except (KeyError, ValueError) as exc:
                raise ETASError(f"field 'background': {exc}") from exc
        mode = d.get("background_mode", "uniform")
        m = cls(
            d["min_magnitude"],
            magnitude_resolution=d["magnitude_resolution"],
            region=region,
            spatial=d["spatial"],
            m_ref=d["m_ref"],
            coppersmith_multiplier=d["coppersmith_multiplier"],
            max_lag_days=d["max_lag_days"],
            earth_radius_km=d["earth_radius_km"],
            theta0=d["theta0"],
            max_iter=d["max_iter"],
            tol=d["tol"],
            accelerate=d.get("accelerate", True),
            fixed=d.get("fixed"),
            region_integral=d.get("region_integral", "plane"),
            method=d.get("method"),
            quadrature_nodes=d.get("quadrature_nodes", 16),
            background=background if mode == "given" else mode,
            background_options=d.get("background_options"),
        )
        m.background = background
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


__all__ = [
    "ETAS",
    "ETASConvergenceError",
    "ETASError",
    "ETASParameters",
    "ETASFallbackWarning",
    "ETASSupercriticalWarning",
    "PARAMETER_NAMES",
    "branching_ratio",
    "estimate_beta",
    "region_kernel_integral",
    "region_ray_table",
]
