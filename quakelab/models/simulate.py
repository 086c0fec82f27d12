"""Branching simulation of ETAS catalogs, many at once, in parallel and reproducibly.

The simulation of one catalog is a compiled (numba) breadth-first branching process: background events
(Poisson in number, uniform in time, uniform in the region or drawn from a spatially variable background
object), direct aftershocks of the history events, then every event's own aftershocks, generation after
generation. Each simulation draws its random numbers from its own stream, seeded from
``numpy.random.SeedSequence(seed).spawn(n_simulations)[i]``, so the catalogs (and every statistic of
them) are identical whatever the number of threads, Dask workers or the chunking of the simulations.

Everything that depends on the history (its selection through the region polygon, the expected number
of aftershocks of each history event inside the window) is computed once per forecast in
:class:`SimulationSetup`, not once per simulation.

Caps (supercritical safety)
---------------------------
A simulation stops with :class:`SimulationCapError` as soon as it holds more than ``max_events`` events
(default :data:`DEFAULT_MAX_EVENTS`), or as soon as a single parent would receive more than that many
direct aftershocks, before any memory for them is allocated. A model with branching ratio >= 1 explodes
over long windows and hits the cap; over short windows it may still produce finite catalogs.

The simulations of one task (a chunk: ``chunk_size`` simulations, split over its threads) share one
buffer, so a second cap bounds the memory of a task whatever the number of simulations in it: a task
stops with :class:`SimulationCapError` as soon as its simulations together hold more than
``max_total_events`` events (default :data:`DEFAULT_MAX_TOTAL_EVENTS`, and never below ``max_events``;
about 72 bytes an event while a chunk is simulated, a few times that at its peak while it is reduced).
Lower ``chunk_size`` when many large catalogs are legitimately wanted. Both caps are checked before the
events are allocated, so an explosive model ends with the error, never by exhausting memory.
"""

from __future__ import annotations

import logging
import math
import os
import time as _time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd

from quakelab.models._kernels import time_integral, upper_gamma
from quakelab.region import Region

logger = logging.getLogger(__name__)

#: Default cap on the number of events of one simulated catalog (about 72 bytes each while it is built).
DEFAULT_MAX_EVENTS = 5_000_000
#: Default cap on the events of all the simulations of one task (chunk) together (see the module notes).
DEFAULT_MAX_TOTAL_EVENTS = 10_000_000


class SimulationCapError(RuntimeError):
    """A simulated catalog, or one task's simulations together, exceeded an event cap (an explosive process).

    Attributes
    ----------
    simulation : int
        Index of the simulation that reached the cap.
    n_events : int
        Events it held (or would have held) when it stopped; for the total cap of a task, the events of
        all that task's simulations.
    max_events : int
        The cap that was reached (``max_events`` or the task's share of ``max_total_events``).
    """

    def __init__(self, message: str, simulation: int, n_events: int, max_events: int) -> None:
        super().__init__(message)
        self.simulation = simulation
        self.n_events = n_events
        self.max_events = max_events

    def __reduce__(self):  # picklable across Dask workers
        return (SimulationCapError, (self.args[0], self.simulation, self.n_events, self.max_events))


# ---------------------------------------------------------------------------------------------- numba core
_U53 = 1.0 / 9007199254740992.0  # 2**-53


@numba.njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True)
def _uniform(s):
    """Next uniform in (0, 1) from the xoshiro256** state ``s`` (uint64[4]), updated in place."""
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3
    return (float(result >> np.uint64(11)) + 0.5) * _U53


@numba.njit(cache=True)
def _poisson(s, lam):
    """Poisson variate: inversion for small means, PTRS (Hörmann 1993) for large ones."""
    if lam <= 0.0:
        return 0
    if lam < 10.0:
        u = _uniform(s)
        k = 0
        p = math.exp(-lam)
        cdf = p
        while u > cdf and k < 1000:
            k += 1
            p *= lam / k
            cdf += p
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = _uniform(s) - 0.5
        v = _uniform(s)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -lam + k * loglam - math.lgamma(
            k + 1.0
        ):
            return int(k)


@numba.njit(cache=True)
def _gr_magnitude(s, beta, m_ref, delta_m, norm):
    m = m_ref - math.log(1.0 - norm * _uniform(s)) / beta
    if delta_m > 0.0:
        m = math.floor(m / delta_m + 0.5 + 1e-9) * delta_m
    return m


@numba.njit(cache=True)
def _omori_lag(s, lo, hi, c, omega, tau):
    """Lag in ``[lo, hi]`` with density ~ exp(-x/tau) (x + c)^-(1+omega), exactly.

    Rejection from the untapered Omori–Utsu law (inverted in closed form) with acceptance
    ``exp(-(x - lo)/tau)``; after 100 rejections, inversion of the tapered law by bisection.
    """
    la = math.log(lo + c)
    w = math.log(hi + c) - la
    for _ in range(100):
        u = _uniform(s)
        if omega == 0.0:
            x = la + u * w
        else:
            x = la - math.log1p(u * math.expm1(-omega * w)) / omega
        lag = min(max(math.exp(x) - c, lo), hi)
        if _uniform(s) <= math.exp(-(lag - lo) / tau):
            return lag
    y0 = (lo + c) / tau
    y1 = (hi + c) / tau
    g0 = upper_gamma(-omega, y0)
    g1 = upper_gamma(-omega, y1)
    target = g0 - _uniform(s) * (g0 - g1)
    left = math.log(y0)
    right = math.log(y1)
    for _ in range(64):
        mid = 0.5 * (left + right)
        if upper_gamma(-omega, math.exp(mid)) > target:
            left = mid
        else:
            right = mid
    return min(max(math.exp(0.5 * (left + right)) * tau - c, lo), hi)


@numba.njit(cache=True)
def _inside(lon, lat, plon, plat):
    """Even–odd rule point-in-polygon test in the lon/lat plane."""
    n = plon.size
    inside = False
    j = n - 1
    for i in range(n):
        yi = plat[i]
        yj = plat[j]
        if (yi > lat) != (yj > lat):
            x = plon[i] + (lat - yi) * (plon[j] - plon[i]) / (yj - yi)
            if lon < x:
                inside = not inside
        j = i
    return inside


@numba.njit(cache=True)
def _destination(lat0, lon0, r, theta, radius):
    """Point at distance ``r`` (km) and azimuth ``theta`` from (lat0, lon0) (radians); degrees out."""
    delta = r / radius
    lat_c = math.asin(math.sin(lat0) * math.cos(delta) + math.cos(lat0) * math.sin(delta) * math.cos(theta))
    lon_c = lon0 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(lat0), math.cos(delta) - math.sin(lat0) * math.sin(lat_c)
    )
    lon_deg = math.degrees(lon_c)
    return math.degrees(lat_c), lon_deg - 360.0 * math.floor((lon_deg + 180.0) / 360.0)


@numba.njit(cache=True)
def _grow(fbuf, ibuf, need):
    cap = fbuf.shape[0]
    if need <= cap:
        return fbuf, ibuf
    new_cap = max(2 * cap, need)
    f2 = np.empty((new_cap, fbuf.shape[1]))
    i2 = np.empty((new_cap, ibuf.shape[1]), dtype=np.int64)
    f2[:cap] = fbuf
    i2[:cap] = ibuf
    return f2, i2


# columns of the float and integer buffers
_T, _M, _LAT, _LON, _R, _THETA = 0, 1, 2, 3, 4, 5
_SIM, _GEN, _PARENT = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def _simulate_chunk(
    seeds,
    first_sim,
    window,
    n_bg_mean,
    k0,
    a,
    c,
    omega,
    tau,
    d,
    gamma,
    rho,
    beta,
    m_ref,
    delta_m,
    m_max,
    spatial,
    bg_uniform,
    plon,
    plat,
    bbox,
    radius,
    h_t,
    h_lat,
    h_lon,
    h_mp,
    h_cum,
    max_events,
    max_total,
):
    """Simulate ``len(seeds)`` catalogs in ``[0, window]`` days; returns buffers, count and a status.

    Float columns: t, magnitude, latitude, longitude, distance to parent (km), azimuth; integer
    columns: simulation index, generation, parent (index inside the simulation; -1 background, -2 child
    of a history event). Positions of background events are NaN unless ``bg_uniform`` (and so are those
    of their descendants: the caller places them). Status ``(0, 0, 0)``, ``(1, sim, n)`` when
    simulation ``sim`` reached ``n > max_events`` events, or ``(2, sim, n)`` when all the simulations of
    this call together would hold ``n > max_total`` events (checked before allocating them).
    """
    fbuf = np.empty((max(1024, 64 * seeds.shape[0]), 6))
    ibuf = np.empty((fbuf.shape[0], 3), dtype=np.int64)
    n = 0
    norm = 1.0 if m_max == np.inf else 1.0 - math.exp(-beta * (m_max - m_ref))
    x0, x1, y0, y1 = bbox[0], bbox[1], bbox[2], bbox[3]
    s0 = math.sin(math.radians(y0))
    s1 = math.sin(math.radians(y1))
    h_total = h_cum[-1] if h_cum.size else 0.0
    st = np.empty(4, dtype=np.uint64)
    for q in range(seeds.shape[0]):
        st[:] = seeds[q]
        sim = first_sim + q
        start = n
        # background
        nb = _poisson(st, n_bg_mean)
        if nb > max_events:
            return fbuf, ibuf, n, (1, sim, nb)
        if n + nb > max_total:
            return fbuf, ibuf, n, (2, sim, n + nb)
        fbuf, ibuf = _grow(fbuf, ibuf, n + nb)
        for _ in range(nb):
            fbuf[n, _T] = _uniform(st) * window
            fbuf[n, _M] = _gr_magnitude(st, beta, m_ref, delta_m, norm)
            if spatial and bg_uniform:
                while True:
                    lon = x0 + _uniform(st) * (x1 - x0)
                    lat = math.degrees(math.asin(s0 + _uniform(st) * (s1 - s0)))
                    if _inside(lon, lat, plon, plat):
                        break
                fbuf[n, _LAT] = lat
                fbuf[n, _LON] = lon
            else:
                fbuf[n, _LAT] = np.nan
                fbuf[n, _LON] = np.nan
            fbuf[n, _R] = 0.0
            fbuf[n, _THETA] = 0.0
            ibuf[n, _SIM] = sim
            ibuf[n, _GEN] = 0
            ibuf[n, _PARENT] = -1
            n += 1
        # direct aftershocks of the history: one Poisson total, parents by their share of it
        nh = _poisson(st, h_total) if h_total > 0.0 else 0
        if n - start + nh > max_events:
            return fbuf, ibuf, n, (1, sim, n - start + nh)
        if n + nh > max_total:
            return fbuf, ibuf, n, (2, sim, n + nh)
        fbuf, ibuf = _grow(fbuf, ibuf, n + nh)
        for _ in range(nh):
            j = min(np.searchsorted(h_cum, _uniform(st) * h_total, side="right"), h_cum.size - 1)
            tj = h_t[j]
            lag = _omori_lag(st, -tj, window - tj, c, omega, tau)
            fbuf[n, _T] = min(max(tj + lag, 0.0), window)
            fbuf[n, _M] = _gr_magnitude(st, beta, m_ref, delta_m, norm)
            if spatial:
                big_d = d * math.exp(gamma * h_mp[j])
                r = math.sqrt(big_d * (_uniform(st) ** (-1.0 / rho) - 1.0))
                theta = 2.0 * math.pi * _uniform(st)
                lat_c, lon_c = _destination(math.radians(h_lat[j]), math.radians(h_lon[j]), r, theta, radius)
                fbuf[n, _LAT] = lat_c
                fbuf[n, _LON] = lon_c
                fbuf[n, _R] = r
                fbuf[n, _THETA] = theta
            else:
                fbuf[n, _LAT] = h_lat[j]
                fbuf[n, _LON] = h_lon[j]
                fbuf[n, _R] = 0.0
                fbuf[n, _THETA] = 0.0
            ibuf[n, _SIM] = sim
            ibuf[n, _GEN] = 1
            ibuf[n, _PARENT] = -2
            n += 1
        # breadth-first branching over this simulation's events
        p = start
        while p < n:
            tp = fbuf[p, _T]
            rest = window - tp
            if rest > 0.0:
                mp = fbuf[p, _M] - m_ref
                expected = k0 * math.exp(a * mp) * time_integral(c, omega, tau, 0.0, rest)
                big_d = d * math.exp(gamma * mp)
                if spatial:
                    expected *= math.pi / (rho * big_d**rho)
                k = _poisson(st, expected)
                if k > 0:
                    if n - start + k > max_events:
                        return fbuf, ibuf, n, (1, sim, n - start + k)
                    if n + k > max_total:
                        return fbuf, ibuf, n, (2, sim, n + k)
                    fbuf, ibuf = _grow(fbuf, ibuf, n + k)
                    lat0 = math.radians(fbuf[p, _LAT])
                    lon0 = math.radians(fbuf[p, _LON])
                    gen = ibuf[p, _GEN] + 1
                    for _ in range(k):
                        lag = _omori_lag(st, 0.0, rest, c, omega, tau)
                        fbuf[n, _T] = min(tp + lag, window)
                        fbuf[n, _M] = _gr_magnitude(st, beta, m_ref, delta_m, norm)
                        if spatial:
                            r = math.sqrt(big_d * (_uniform(st) ** (-1.0 / rho) - 1.0))
                            theta = 2.0 * math.pi * _uniform(st)
                            lat_c, lon_c = _destination(lat0, lon0, r, theta, radius)
                            fbuf[n, _LAT] = lat_c
                            fbuf[n, _LON] = lon_c
                            fbuf[n, _R] = r
                            fbuf[n, _THETA] = theta
                        else:
                            fbuf[n, _LAT] = fbuf[p, _LAT]
                            fbuf[n, _LON] = fbuf[p, _LON]
                            fbuf[n, _R] = 0.0
                            fbuf[n, _THETA] = 0.0
                        ibuf[n, _SIM] = sim
                        ibuf[n, _GEN] = gen
                        ibuf[n, _PARENT] = p - start
                        n += 1
            p += 1
    return fbuf, ibuf, n, (0, 0, 0)


@numba.njit(cache=True)
def _history_weights(t, mp, window, k0, a, c, omega, tau, d, gamma, rho, spatial):
    """Expected number of direct aftershocks inside ``[0, window]`` of each history event (t < 0)."""
    out = np.empty(t.size)
    for j in range(t.size):
        lo = max(-t[j], 0.0)
        hi = window - t[j]
        if hi <= lo:
            out[j] = 0.0
            continue
        w = k0 * math.exp(a * mp[j]) * time_integral(c, omega, tau, lo, hi)
        if spatial:
            w *= math.pi / (rho * (d * math.exp(gamma * mp[j])) ** rho)
        out[j] = w
    return out


_M32 = np.uint64(0xFFFFFFFF)
# constants of numpy.random.SeedSequence (O'Neill's seed_seq_fe hash, as numpy implements it)
INIT_A, MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
INIT_B, MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
MIX_L, MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
XS = np.uint64(16)


@numba.njit(cache=True)
def _spawned_states(run_entropy, first, count):
    """``SeedSequence(entropy).spawn(n)[i].generate_state(4, np.uint64)`` for ``i`` in ``first .. first+count-1``.

    The same words as numpy computes (checked in the tests), about a thousand times faster than building
    ``count`` SeedSequence objects; ``run_entropy`` holds the 32-bit words of the integer entropy.
    """
    out = np.empty((count, 4), dtype=np.uint64)
    ent = np.zeros(max(run_entropy.size, 4) + 2, dtype=np.uint64)
    for q in range(count):
        i = first + q
        n_run = max(run_entropy.size, 4)
        ent[:] = 0
        ent[: run_entropy.size] = run_entropy
        # spawn key words (little-endian 32-bit)
        n = n_run
        if i == 0:
            ent[n] = 0
            n += 1
        else:
            v = np.uint64(i)
            while v > 0:
                ent[n] = v & _M32
                v = v >> np.uint64(32)
                n += 1
        mixer = np.zeros(4, dtype=np.uint64)
        hc = INIT_A
        for k in range(4):
            val = ent[k] if k < n else np.uint64(0)
            val = (val ^ hc) & _M32
            hc = (hc * MULT_A) & _M32
            val = (val * hc) & _M32
            val ^= val >> XS
            mixer[k] = val
        for s in range(4):
            for d in range(4):
                if s != d:
                    val = (mixer[s] ^ hc) & _M32
                    hc = (hc * MULT_A) & _M32
                    val = (val * hc) & _M32
                    val ^= val >> XS
                    r = (MIX_L * mixer[d] - MIX_R * val) & _M32
                    r ^= r >> XS
                    mixer[d] = r
        for s in range(4, n):
            for d in range(4):
                val = (ent[s] ^ hc) & _M32
                hc = (hc * MULT_A) & _M32
                val = (val * hc) & _M32
                val ^= val >> XS
                r = (MIX_L * mixer[d] - MIX_R * val) & _M32
                r ^= r >> XS
                mixer[d] = r
        hb = INIT_B
        words = np.empty(8, dtype=np.uint64)
        for k in range(8):
            val = (mixer[k % 4] ^ hb) & _M32
            hb = (hb * MULT_B) & _M32
            val = (val * hb) & _M32
            val ^= val >> XS
            words[k] = val
        for k in range(4):
            out[q, k] = words[2 * k] | (words[2 * k + 1] << np.uint64(32))
    return out


@numba.njit(cache=True)
def _inside_many(lon, lat, plon, plat, bbox):
    """Vector :func:`_inside` with a bounding-box shortcut."""
    out = np.zeros(lon.size, dtype=np.bool_)
    for i in range(lon.size):
        x, y = lon[i], lat[i]
        if bbox[0] <= x <= bbox[1] and bbox[2] <= y <= bbox[3]:
            out[i] = _inside(x, y, plon, plat)
    return out


def _entropy_words(entropy: int) -> np.ndarray:
    words = []
    x = int(entropy)
    while True:
        words.append(x & 0xFFFFFFFF)
        x >>= 32
        if x == 0:
            return np.array(words, dtype=np.uint64)


# ---------------------------------------------------------------------------------------------- set-up
@dataclass
class SimulationSetup:
    """Everything a batch of simulations needs, computed once (picklable, sent once to Dask workers).

    Build it with :meth:`from_model`. Times are in days since the forecast start ``origin``.
    """

    window: float
    n_bg_mean: float
    k0: float
    a: float
    c: float
    omega: float
    tau: float
    d: float
    gamma: float
    rho: float
    beta: float
    m_ref: float
    delta_m: float
    m_max: float
    spatial: bool
    region: Region | None
    earth_radius_km: float
    background: Any = None
    h_t: np.ndarray = field(default_factory=lambda: np.empty(0))
    h_lat: np.ndarray = field(default_factory=lambda: np.empty(0))
    h_lon: np.ndarray = field(default_factory=lambda: np.empty(0))
    h_mp: np.ndarray = field(default_factory=lambda: np.empty(0))
    h_cum: np.ndarray = field(default_factory=lambda: np.empty(0))
    max_events: int = DEFAULT_MAX_EVENTS
    branching_ratio: float = math.nan
    max_total_events: int = DEFAULT_MAX_TOTAL_EVENTS

    @classmethod
    def from_model(
        cls,
        model: Any,
        history: pd.DataFrame | None,
        window_days: float,
        *,
        m_max: float | None = None,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_total_events: int | None = None,
    ) -> SimulationSetup:
        """Set-up for simulating ``model`` over ``[0, window_days]`` after ``history``.

        Parameters
        ----------
        model : ETAS
            A fitted model (``params_``, ``beta_``, ``m_ref``, ``delta_m``, ``spatial``, ``region``,
            ``area_km2``, ``earth_radius_km`` and optionally ``background``).
        history : pandas.DataFrame or None
            Already selected history events with columns ``t`` (days, negative), ``latitude``,
            ``longitude``, ``magnitude``.
        window_days : float
            Window length in days.
        m_max : float, optional
            Upper magnitude truncation.
        max_events : int
            Cap on the events of one simulation.
        max_total_events : int, optional
            Cap on the events of all the simulations of one task together (default
            :data:`DEFAULT_MAX_TOTAL_EVENTS`); raised to ``max_events`` when below it.

        Returns
        -------
        SimulationSetup
        """
        p = model.params_.natural
        spatial = bool(model.spatial)
        window = float(window_days)
        background = getattr(model, "background", None)
        setup = cls(
            window=window,
            n_bg_mean=p["mu"] * (model.area_km2 if spatial else 1.0) * window,
            k0=p["k0"],
            a=p["a"],
            c=p["c"],
            omega=p["omega"],
            tau=p["tau"],
            d=p["d"],
            gamma=p["gamma"],
            rho=p["rho"],
            beta=float(model.beta_),
            m_ref=float(model.m_ref),
            delta_m=float(model.magnitude_resolution),
            m_max=math.inf if m_max is None else float(m_max),
            spatial=spatial,
            region=model.region if spatial else None,
            earth_radius_km=float(model.earth_radius_km),
            background=background if spatial else None,
            max_events=int(max_events),
            branching_ratio=float(getattr(model, "branching_ratio_", math.nan)),
            max_total_events=max(
                int(max_events),
                int(DEFAULT_MAX_TOTAL_EVENTS if max_total_events is None else max_total_events),
            ),
        )
        if history is not None and len(history):
            t = history["t"].to_numpy(dtype=float)
            mp = history["magnitude"].to_numpy(dtype=float) - setup.m_ref
            w = _history_weights(
                t,
                mp,
                window,
                setup.k0,
                setup.a,
                setup.c,
                setup.omega,
                setup.tau,
                setup.d,
                setup.gamma,
                setup.rho,
                spatial,
            )
            keep = w > 0
            setup.h_t = np.ascontiguousarray(t[keep])
            setup.h_lat = np.ascontiguousarray(history["latitude"].to_numpy(dtype=float)[keep])
            setup.h_lon = np.ascontiguousarray(history["longitude"].to_numpy(dtype=float)[keep])
            setup.h_mp = np.ascontiguousarray(mp[keep])
            setup.h_cum = np.cumsum(w[keep])
        return setup

    @property
    def expected_from_history(self) -> float:
        """Expected number of direct aftershocks of the history inside the window."""
        return float(self.h_cum[-1]) if self.h_cum.size else 0.0


def _seed_sequence(seed: int | np.random.SeedSequence | np.random.Generator | None) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63)))
    return np.random.SeedSequence(seed)


def _child(base: tuple, i: int, *extra: int) -> np.random.SeedSequence:
    """``SeedSequence(seed).spawn(n)[i]`` (and its own children), built without spawning the others."""
    entropy, spawn_key, pool_size = base
    return np.random.SeedSequence(entropy, spawn_key=(*spawn_key, i, *extra), pool_size=pool_size)


def _destination_np(lat_deg, lon_deg, r, theta, radius):
    lat0, lon0 = np.radians(lat_deg), np.radians(lon_deg)
    delta = r / radius
    lat_c = np.arcsin(np.sin(lat0) * np.cos(delta) + np.cos(lat0) * np.sin(delta) * np.cos(theta))
    lon_c = lon0 + np.arctan2(
        np.sin(theta) * np.sin(delta) * np.cos(lat0), np.cos(delta) - np.sin(lat0) * np.sin(lat_c)
    )
    return np.degrees(lat_c), (np.degrees(lon_c) + 180.0) % 360.0 - 180.0


def _polygon(setup: SimulationSetup) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not setup.spatial:
        return np.zeros(3), np.zeros(3), np.zeros(4)
    verts = np.asarray(setup.region.vertices, dtype=float)
    bbox = np.asarray(setup.region.bounds, dtype=float)
    return np.ascontiguousarray(verts[:, 0]), np.ascontiguousarray(verts[:, 1]), bbox


def _kernel_call(setup: SimulationSetup, seeds: np.ndarray, first: int, max_total: int):
    plon, plat, bbox = _polygon(setup)
    return _simulate_chunk(
        seeds,
        first,
        setup.window,
        setup.n_bg_mean,
        setup.k0,
        setup.a,
        setup.c,
        setup.omega,
        setup.tau,
        setup.d,
        setup.gamma,
        setup.rho,
        setup.beta,
        setup.m_ref,
        setup.delta_m,
        setup.m_max,
        setup.spatial,
        setup.background is None,
        plon,
        plat,
        bbox,
        setup.earth_radius_km,
        setup.h_t,
        setup.h_lat,
        setup.h_lon,
        setup.h_mp,
        setup.h_cum,
        setup.max_events,
        max_total,
    )


def simulate_events(
    setup: SimulationSetup, first: int, count: int, base: tuple, *, n_threads: int = 1
) -> dict[str, np.ndarray]:
    """Simulations ``first .. first + count - 1`` of the sequence seeded by ``base``, as arrays.

    Parameters
    ----------
    setup : SimulationSetup
        What to simulate.
    first, count : int
        Global indices of the simulations.
    base : tuple
        ``(entropy, spawn_key, pool_size)`` of the root ``SeedSequence``; simulation ``i`` uses its
        child ``i``, so results do not depend on how simulations are split.
    n_threads : int, default 1
        Threads (the compiled kernel releases the GIL); any number gives the same result.

    Returns
    -------
    dict of numpy.ndarray
        ``sim, t, magnitude, latitude, longitude, generation, parent, local_id, in_region`` for every
        event with ``t < window`` (``in_region``: inside the region, or True for the temporal model).

    Raises
    ------
    SimulationCapError
        When a simulation exceeds ``setup.max_events`` events, or all of them together exceed
        ``setup.max_total_events`` (each of the ``n_threads`` threads gets an equal share of it).
    """
    entropy, spawn_key, pool_size = base
    if isinstance(entropy, int) and entropy >= 0 and not spawn_key and pool_size == 4:
        seeds = _spawned_states(_entropy_words(entropy), first, count)
    else:
        seeds = np.empty((count, 4), dtype=np.uint64)
        for q in range(count):
            seeds[q] = _child(base, first + q).generate_state(4, np.uint64)
    n_threads = max(1, min(int(n_threads), count))
    bounds = np.linspace(0, count, n_threads + 1).astype(int)
    jobs = [(bounds[i], bounds[i + 1]) for i in range(n_threads) if bounds[i + 1] > bounds[i]]
    share = max(setup.max_total_events // len(jobs), 1)
    if len(jobs) == 1:
        results = [_kernel_call(setup, seeds, first, share)]
    else:
        with ThreadPoolExecutor(len(jobs)) as pool:
            results = list(
                pool.map(lambda j: _kernel_call(setup, seeds[j[0] : j[1]], first + j[0], share), jobs)
            )
    for _, _, _, status in results:
        if status[0] == 2:
            raise SimulationCapError(
                f"the {count:,} simulations of one task exceeded max_total_events={setup.max_total_events:,} "
                f"events together (a thread's share {share:,} reached at simulation {status[1]}, "
                f"{status[2]:,} events; branching ratio {setup.branching_ratio:.3g}): lower chunk_size, "
                "shorten the window or lower m_max",
                int(status[1]),
                int(status[2]),
                share,
            )
        if status[0]:
            ratio = setup.branching_ratio
            raise SimulationCapError(
                f"simulation {status[1]} exceeded max_events={setup.max_events:,} events ({status[2]:,}): the "
                f"process is explosive (branching ratio {ratio:.3g}"
                + ("; >= 1 is supercritical)" if ratio >= 1 else ")")
                + "; shorten the window, lower m_max or raise max_events",
                int(status[1]),
                int(status[2]),
                setup.max_events,
            )
    fl = np.concatenate([r[0][: r[2]] for r in results])
    il = np.concatenate([r[1][: r[2]] for r in results])
    sim = il[:, _SIM]
    starts = np.searchsorted(sim, np.arange(first, first + count))
    local_id = np.arange(sim.size) - starts[sim - first]
    lat, lon = fl[:, _LAT].copy(), fl[:, _LON].copy()
    gen, parent = il[:, _GEN], il[:, _PARENT]
    if setup.spatial and setup.background is not None and sim.size:
        _place_background(
            setup, base, first, count, sim, starts, gen, parent, lat, lon, fl[:, _R], fl[:, _THETA]
        )
    t = fl[:, _T]
    keep = t < setup.window
    mag = np.round(fl[:, _M], 10) if setup.delta_m > 0 else fl[:, _M]
    ev = {
        "sim": sim[keep],
        "t": t[keep],
        "magnitude": mag[keep],
        "latitude": lat[keep],
        "longitude": lon[keep],
        "generation": gen[keep],
        "parent": parent[keep],
        "local_id": local_id[keep],
    }
    if setup.spatial:
        plon, plat, bbox = _polygon(setup)
        ev["in_region"] = _inside_many(ev["longitude"], ev["latitude"], plon, plat, bbox)
    else:
        ev["in_region"] = np.ones(int(keep.sum()), dtype=bool)
    return ev


def _place_background(setup, base, first, count, sim, starts, gen, parent, lat, lon, r, theta) -> None:
    """Background positions from ``setup.background.sample(n, rng)``, then their descendants by generation."""
    is_bg = parent == -1
    n_bg = np.bincount(sim[is_bg] - first, minlength=count)
    for q in np.flatnonzero(n_bg):
        rng = np.random.default_rng(_child(base, first + q, 1))
        blon, blat = setup.background.sample(int(n_bg[q]), rng)
        rows = starts[q] + np.arange(n_bg[q])  # background events come first in each simulation
        lon[rows] = np.asarray(blon, dtype=float)
        lat[rows] = np.asarray(blat, dtype=float)
    for g in range(1, int(gen.max()) + 1 if gen.size else 0):
        rows = np.flatnonzero((gen == g) & (parent >= 0) & np.isnan(lat))  # descendants of the background
        if rows.size == 0:
            continue
        prow = starts[sim[rows] - first] + parent[rows]
        lat[rows], lon[rows] = _destination_np(
            lat[prow], lon[prow], r[rows], theta[rows], setup.earth_radius_km
        )


# ---------------------------------------------------------------------------------------------- reducers
class CatalogReducer:
    """Keeps the simulated events (those inside the region when ``region_only``) as a DataFrame."""

    def __init__(self, region_only: bool = True) -> None:
        self.region_only = region_only

    def map(self, ev: dict[str, np.ndarray], first: int, count: int) -> pd.DataFrame:
        """Events of one chunk, sorted by simulation then time."""
        keep = ev["in_region"] if self.region_only else np.ones(ev["t"].size, dtype=bool)
        order = np.lexsort((ev["t"][keep], ev["sim"][keep]))
        return pd.DataFrame(
            {
                k: ev[k][keep][order]
                for k in (
                    "sim",
                    "local_id",
                    "t",
                    "latitude",
                    "longitude",
                    "magnitude",
                    "generation",
                    "parent",
                )
            }
        )

    def combine(self, parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
        """All chunks in simulation order."""
        return pd.concat(parts, ignore_index=True)


class GridReducer:
    """Counts of triggered events per (magnitude, latitude, longitude) cell and events per simulation."""

    def __init__(self, magnitude_edges: np.ndarray, lat_edges: np.ndarray, lon_edges: np.ndarray) -> None:
        self.mags = np.asarray(magnitude_edges, dtype=float)
        self.lat_edges = np.asarray(lat_edges, dtype=float)
        self.lon_edges = np.asarray(lon_edges, dtype=float)

    def map(self, ev: dict[str, np.ndarray], first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(counts of triggered in-region events per cell, in-region events per simulation)."""
        inside = ev["in_region"]
        n_events = np.bincount(ev["sim"][inside] - first, minlength=count)
        shape = (self.mags.size, self.lat_edges.size - 1, self.lon_edges.size - 1)
        trig = inside & (ev["generation"] > 0)
        im = np.clip(np.searchsorted(self.mags, ev["magnitude"][trig] + 1e-9, side="right") - 1, 0, None)
        iy = np.clip(np.searchsorted(self.lat_edges, ev["latitude"][trig], side="right") - 1, 0, shape[1] - 1)
        ix = np.clip(
            np.searchsorted(self.lon_edges, ev["longitude"][trig], side="right") - 1, 0, shape[2] - 1
        )
        flat = np.bincount(np.ravel_multi_index((im, iy, ix), shape), minlength=int(np.prod(shape)))
        return flat.reshape(shape), n_events

    def combine(self, parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """Summed counts and concatenated events per simulation."""
        return sum(p[0] for p in parts), np.concatenate([p[1] for p in parts])


class ThresholdCountReducer:
    """Per simulation, the number of in-region events ``M >= m`` within ``duration`` days of the start."""

    def __init__(self, durations_days: Sequence[float], magnitudes: Sequence[float]) -> None:
        self.durations = np.asarray(durations_days, dtype=float)
        self.magnitudes = np.asarray(magnitudes, dtype=float)

    def map(self, ev: dict[str, np.ndarray], first: int, count: int) -> np.ndarray:
        """Array (simulation, duration, magnitude) of counts."""
        out = np.zeros((count, self.durations.size, self.magnitudes.size), dtype=np.int64)
        inside = ev["in_region"]
        for i, dur in enumerate(self.durations):
            for j, mag in enumerate(self.magnitudes):
                sel = inside & (ev["t"] < dur) & (ev["magnitude"] >= mag - 1e-9)
                out[:, i, j] = np.bincount(ev["sim"][sel] - first, minlength=count)
        return out

    def combine(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        """Concatenated along simulations."""
        return np.concatenate(parts, axis=0)


def _run_chunk(setup: SimulationSetup, first: int, count: int, base: tuple, reducer: Any, n_threads: int):
    """One task: simulate a chunk and reduce it (module level so that Dask workers can import it)."""
    return reducer.map(simulate_events(setup, first, count, base, n_threads=n_threads), first, count)


# ---------------------------------------------------------------------------------------------- driver
def run_simulations(
    setup: SimulationSetup,
    n_simulations: int,
    reducer: Any,
    *,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    scheduler: Any = None,
    chunk_size: int | None = None,
    n_threads: int | None = None,
    quiet: bool = False,
):
    """Run ``n_simulations`` simulations in chunks, in process or on Dask workers, and reduce them.

    Parameters
    ----------
    setup : SimulationSetup
        What to simulate.
    n_simulations : int
        Number of simulated catalogs.
    reducer : CatalogReducer or GridReducer or ThresholdCountReducer
        Turns each chunk into a small result (``map``) and joins them in simulation order (``combine``).
    seed : int or SeedSequence or Generator, optional
        Root seed; simulation ``i`` uses ``SeedSequence(seed).spawn(n_simulations)[i]``.
    scheduler : None, "local", str, distributed.Client or cluster, optional
        None: in this process (threads); otherwise :func:`quakelab.distributed.get_client`'s
        ``scheduler`` (``"local"``: a temporary ``LocalCluster`` with one worker process per core; an
        address such as ``"tcp://host:8786"`` or a cluster: a ``Client`` connected to it; a ``Client``:
        used as is). A worker lost mid-run is survived (its chunks rerun, each taken once).
    chunk_size : int, optional
        Simulations per task (default: 1000 in process; about four tasks per Dask worker thread).
    n_threads : int, optional
        Threads per task (default: all cores in process, 1 on Dask workers).
    quiet : bool, default False
        No progress log lines.

    Returns
    -------
    object
        ``reducer.combine`` of the chunks' results (identical for any chunking, threads or workers).
    """
    n_simulations = int(n_simulations)
    if n_simulations < 1:
        raise ValueError(f"n_simulations must be >= 1, got {n_simulations}")
    root = _seed_sequence(seed)
    base = (root.entropy, tuple(root.spawn_key), root.pool_size)
    t_start = _time.perf_counter()

    def log(done: int) -> None:
        if not quiet:
            logger.info(
                "ETAS simulations: %d/%d done (%.1f s)", done, n_simulations, _time.perf_counter() - t_start
            )

    if scheduler is None:
        size = int(chunk_size or 1000)
        threads = int(n_threads or numba.config.NUMBA_NUM_THREADS or os.cpu_count() or 1)
        parts = []
        for first in range(0, n_simulations, size):
            count = min(size, n_simulations - first)
            parts.append(_run_chunk(setup, first, count, base, reducer, threads))
            log(first + count)
        return reducer.combine(parts)

    from quakelab.distributed import get_client, map_ordered

    with get_client(scheduler) as client:
        n_workers_threads = max(1, sum(client.nthreads().values()))
        size = int(chunk_size or max(1, math.ceil(n_simulations / (4 * n_workers_threads))))
        chunks = [(first, min(size, n_simulations - first)) for first in range(0, n_simulations, size)]
        done = 0

        def progress(i: int, _result: Any) -> None:
            nonlocal done
            done += chunks[i][1]
            log(done)

        results = map_ordered(
            client,
            _run_chunk,
            [(first, count, base, reducer, int(n_threads or 1)) for first, count in chunks],
            shared=[setup],
            on_result=progress,
        )
        return reducer.combine(results)


def uniform_in_region(region: Region, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform on the sphere inside ``region`` (rejection from its lon/lat box)."""
    x0, x1, y0, y1 = region.bounds
    s0, s1 = math.sin(math.radians(y0)), math.sin(math.radians(y1))
    lons, lats = [], []
    need = n
    while need > 0:
        k = max(int(need * 1.5) + 16, 64)
        lon = rng.uniform(x0, x1, k)
        lat = np.degrees(np.arcsin(rng.uniform(s0, s1, k)))
        ok = region.contains(lon, lat)
        lons.append(lon[ok][:need])
        lats.append(lat[ok][:need])
        need -= int(min(ok.sum(), need))
    return np.concatenate(lons) if lons else np.empty(0), np.concatenate(lats) if lats else np.empty(0)


__all__ = [
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_MAX_TOTAL_EVENTS",
    "CatalogReducer",
    "GridReducer",
    "SimulationCapError",
    "SimulationSetup",
    "ThresholdCountReducer",
    "run_simulations",
    "simulate_events",
    "uniform_in_region",
]
