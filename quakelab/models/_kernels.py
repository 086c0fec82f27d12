"""Compiled inner loops of the ETAS model (numba). Private: use :mod:`quakelab.models.etas`."""

from __future__ import annotations

import math

import numba
import numpy as np

_EPS = 1e-15
_TINY = 1e-300


@numba.njit(cache=True)
def _gamma_q_series(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x) by its series (x < a + 1), a > 0."""
    ap = a
    s = 1.0 / a
    delta = s
    for _ in range(10000):
        ap += 1.0
        delta *= x / ap
        s += delta
        if abs(delta) < abs(s) * _EPS:
            break
    return s * math.exp(-x + a * math.log(x) - math.lgamma(a))


@numba.njit(cache=True)
def _gamma_q_cf(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) by Lentz's continued fraction (x >= a + 1)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


@numba.njit(cache=True)
def _e1(x: float) -> float:
    """Exponential integral E1(x) = Gamma(0, x), x > 0."""
    if x <= 1.0:
        s = 0.0
        term = 1.0
        for k in range(1, 200):
            term *= -x / k
            s -= term / k
            if abs(term / k) < _EPS * abs(s):
                break
        return -0.5772156649015329 - math.log(x) + s
    # continued fraction (modified Lentz) for x > 1
    b = x + 1.0
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 10000):
        an = -float(i * i)
        b += 2.0
        d = 1.0 / (an * d + b)
        c = b + an / c
        delta = c * d
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h * math.exp(-x)


@numba.njit(cache=True)
def upper_gamma(a: float, x: float) -> float:
    """Non-regularised upper incomplete gamma Gamma(a, x) for a > -1 and x > 0."""
    if a > 0.0:
        if x < a + 1.0:
            return math.gamma(a) * (1.0 - _gamma_q_series(a, x))
        return math.gamma(a) * _gamma_q_cf(a, x)
    if a == 0.0:
        return _e1(x)
    # a in (-1, 0): Gamma(a, x) = (Gamma(a + 1, x) - x^a e^-x) / a
    return (upper_gamma(a + 1.0, x) - math.exp(a * math.log(x) - x)) / a


@numba.njit(cache=True)
def time_integral(c: float, omega: float, tau: float, x0: float, x1: float) -> float:
    """Integral of exp(-t/tau) / (t + c)^(1 + omega) for t from x0 to x1 (x0 <= x1, x0 >= 0)."""
    if x1 <= x0:
        return 0.0
    pre = math.exp(c / tau) * tau ** (-omega)
    return pre * (upper_gamma(-omega, (x0 + c) / tau) - upper_gamma(-omega, (x1 + c) / tau))


@numba.njit(cache=True, parallel=True)
def time_integrals(c: float, omega: float, tau: float, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Vector form of :func:`time_integral`."""
    out = np.empty(x0.size)
    for i in numba.prange(x0.size):
        out[i] = time_integral(c, omega, tau, x0[i], x1[i])
    return out


@numba.njit(cache=True, parallel=True)
def pair_triggering(src, dt, r2, mprime, k0, a, c, omega, tau, d, gamma, rho, spatial):
    """Triggering density g_ij of every (source, target) pair."""
    n = src.size
    g = np.empty(n)
    for p in numba.prange(n):
        m = mprime[src[p]]
        val = k0 * math.exp(a * m) * math.exp(-dt[p] / tau) / (dt[p] + c) ** (1.0 + omega)
        if spatial:
            val /= (r2[p] + d * math.exp(gamma * m)) ** (1.0 + rho)
        g[p] = val
    return g


@numba.njit(cache=True, parallel=True, fastmath=True)
def mstep_pair_sums(prob, src, dt, r2, big_d, mprime, c, spatial):
    """Sums over pairs needed by the M-step objective and its gradient.

    Returns ``(sum P log(dt + c), sum P / (dt + c), sum P log(r2 + D), sum P D / (r2 + D),
    sum P m' D / (r2 + D))`` with ``D = big_d[source]`` (``d exp(gamma m')``).
    """
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    s5 = 0.0
    for p in numba.prange(src.size):
        w = prob[p]
        x = dt[p] + c
        s1 += w * math.log(x)
        s2 += w / x
        if spatial:
            j = src[p]
            dj = big_d[j]
            y = r2[p] + dj
            q = w * dj / y
            s3 += w * math.log(y)
            s4 += q
            s5 += q * mprime[j]
    return s1, s2, s3, s4, s5


@numba.njit(cache=True, parallel=True)
def time_integrals_with_derivatives(c, omega, tau, x0, x1, h_omega):
    """T = integral of exp(-s/tau) (s + c)^-(1+omega) over [x0, x1] and its derivatives in c, tau, omega.

    dT/dc = T / tau + f(x1) - f(x0) with f(s) = exp(-s/tau) (s + c)^-(1+omega);
    dT/dtau = (T(omega - 1) - c T) / tau^2; dT/domega by a central difference of step ``h_omega``.
    """
    n = x0.size
    t_val = np.empty(n)
    d_c = np.empty(n)
    d_tau = np.empty(n)
    d_om = np.empty(n)
    for i in numba.prange(n):
        a0 = x0[i]
        a1 = x1[i]
        if a1 <= a0:
            t_val[i] = 0.0
            d_c[i] = 0.0
            d_tau[i] = 0.0
            d_om[i] = 0.0
            continue
        tv = time_integral(c, omega, tau, a0, a1)
        f1 = math.exp(-a1 / tau) * (a1 + c) ** (-(1.0 + omega))
        f0 = math.exp(-a0 / tau) * (a0 + c) ** (-(1.0 + omega))
        t_val[i] = tv
        d_c[i] = tv / tau + f1 - f0
        d_tau[i] = (time_integral(c, omega - 1.0, tau, a0, a1) - c * tv) / (tau * tau)
        d_om[i] = (time_integral(c, omega + h_omega, tau, a0, a1)
                   - time_integral(c, omega - h_omega, tau, a0, a1)) / (2.0 * h_omega)
    return t_val, d_c, d_tau, d_om


@numba.njit(cache=True)
def _haversine2(lat1, lon1, lat2, lon2, radius):
    h = math.sin((lat2 - lat1) / 2.0) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2.0) ** 2
    if h > 1.0:
        h = 1.0
    dist = 2.0 * radius * math.asin(math.sqrt(h))
    return dist * dist


@numba.njit(cache=True, parallel=True)
def full_intensities(target_idx, t, lat_rad, lon_rad, mprime, mu, area, k0, a, c, omega, tau, d, gamma, rho,
                     radius, spatial):
    """lambda(t_i, x_i) and lambda*(t_i) summed over *all* earlier events (no truncation).

    Events are sorted by time; for target i, sources are events 0..i-1 with t_j < t_i.
    """
    n = target_idx.size
    lam = np.empty(n)
    lam_star = np.empty(n)
    for q in numba.prange(n):
        i = target_idx[q]
        s_full = 0.0
        s_time = 0.0
        for j in range(i):
            dtj = t[i] - t[j]
            if dtj <= 0.0:
                continue
            m = mprime[j]
            prod = k0 * math.exp(a * m) * math.exp(-dtj / tau) / (dtj + c) ** (1.0 + omega)
            if spatial:
                big_d = d * math.exp(gamma * m)
                s_time += prod * math.pi / (rho * big_d**rho)
                r2 = _haversine2(lat_rad[j], lon_rad[j], lat_rad[i], lon_rad[i], radius)
                s_full += prod / (r2 + big_d) ** (1.0 + rho)
            else:
                s_time += prod
                s_full += prod
        if spatial:
            lam[q] = mu + s_full
            lam_star[q] = mu * area + s_time
        else:
            lam[q] = mu + s_full
            lam_star[q] = mu + s_full
    return lam, lam_star


@numba.njit(cache=True, parallel=True)
def cumulative_triggered(query_times, t, weight, c, omega, tau):
    """sum_j weight_j * integral_0^{T - t_j} of the time kernel, over events with t_j < T, for each T.

    ``t`` must be sorted. The triggered part of the compensator between two times is the difference of
    two values of this function.
    """
    n = query_times.size
    out = np.empty(n)
    pre = math.exp(c / tau) * tau ** (-omega)
    g0 = upper_gamma(-omega, c / tau)
    for q in numba.prange(n):
        big_t = query_times[q]
        s = 0.0
        for j in range(t.size):
            if t[j] >= big_t:
                break
            s += weight[j] * (g0 - upper_gamma(-omega, (big_t - t[j] + c) / tau))
        out[q] = pre * s
    return out


@numba.njit(cache=True, parallel=True)
def sample_times(lo, hi, u, c, omega, tau):
    """Draw lags from the density ~ exp(-s/tau) (s + c)^-(1+omega) truncated to [lo, hi] by inversion.

    Solves Gamma(-omega, y) = Gamma(-omega, y_lo) - u (Gamma(-omega, y_lo) - Gamma(-omega, y_hi)) for
    y = (s + c)/tau by bisection on log y (Gamma(a, .) is decreasing).
    """
    n = lo.size
    out = np.empty(n)
    a = -omega
    for i in numba.prange(n):
        y0 = (lo[i] + c) / tau
        y1 = (hi[i] + c) / tau
        g0 = upper_gamma(a, y0)
        g1 = upper_gamma(a, y1)
        target = g0 - u[i] * (g0 - g1)
        left = math.log(y0)
        right = math.log(y1)
        for _ in range(64):
            mid = 0.5 * (left + right)
            if upper_gamma(a, math.exp(mid)) > target:
                left = mid
            else:
                right = mid
        out[i] = math.exp(0.5 * (left + right)) * tau - c
    return out
