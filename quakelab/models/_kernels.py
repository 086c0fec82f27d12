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
def estep_pass(
    first_target,
    ptr,
    src,
    r2,
    lo,
    hi,
    implicit,
    t,
    prod,
    big_d,
    mu,
    c,
    omega,
    tau,
    rho,
    spatial,
    bg_density,
    area,
    prob,
    lam,
    n_threads,
):
    """E-step over the compact pair store, in parallel over targets (no per-pair temporaries).

    Writes into ``prob`` (float32, one entry per pair, in pair-store order: ``ptr`` for the spatial
    model; for the implicit temporal store ``ptr[i]`` is the offset of target ``i``'s first pair) the
    probability that the pair's source triggered its target, and into ``lam`` the intensity at every
    target. ``bg_density`` as in :func:`target_pass`. Returns ``(n_hat, sum P dt)``: the expected number
    of background targets and the probability-weighted sum of lags.
    """
    n = t.size
    n_tg = n - first_target
    n_chunk = min(max(n_tg, 1), 256)  # fixed: sums do not depend on the thread count
    acc_bg = np.zeros(n_chunk)
    acc_dt = np.zeros(n_chunk)
    for ch in numba.prange(n_chunk):
        q0 = ch * n_tg // n_chunk
        q1 = (ch + 1) * n_tg // n_chunk
        for q in range(q0, q1):
            i = first_target + q
            ti = t[i]
            base = ptr[i]
            if implicit:
                j0 = lo[i]
                n_src = hi[i] - lo[i]
            else:
                j0 = 0
                n_src = ptr[i + 1] - ptr[i]
            s0 = 0.0
            for k in range(n_src):
                p = base + k
                j = j0 + k if implicit else src[p]
                dt = ti - t[j]
                val = prod[j] * math.exp(-dt / tau - (1.0 + omega) * math.log(dt + c))
                if spatial:
                    val *= math.exp(-(1.0 + rho) * math.log(r2[p] + big_d[j]))
                prob[p] = val
                s0 += val
            mu_i = mu * bg_density[q] * area if bg_density.size > 0 else mu
            lam_i = mu_i + s0
            lam[q] = lam_i
            inv = 1.0 / lam_i
            sdt = 0.0
            for k in range(n_src):
                p = base + k
                j = j0 + k if implicit else src[p]
                w = prob[p] * inv
                prob[p] = w
                sdt += w * (ti - t[j])
            acc_bg[ch] += mu_i * inv
            acc_dt[ch] += sdt
    return acc_bg.sum(), acc_dt.sum()


@numba.njit(cache=True)
def source_sums(first_target, ptr, src, lo, hi, implicit, prob, n):
    """Expected number of aftershocks of every event among the targets: sum of ``prob`` by source.

    A scatter by source index, serial (one cheap pass; a parallel scatter would race).
    """
    out = np.zeros(n)
    for i in range(first_target, n):
        base = ptr[i]
        if implicit:
            for k in range(hi[i] - lo[i]):
                out[lo[i] + k] += prob[base + k]
        else:
            for p in range(base, ptr[i + 1]):
                out[src[p]] += prob[p]
    return out


@numba.njit(cache=True)
def _haversine2(lat1, lon1, lat2, lon2, radius):
    h = (
        math.sin((lat2 - lat1) / 2.0) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2.0) ** 2
    )
    if h > 1.0:
        h = 1.0
    dist = 2.0 * radius * math.asin(math.sqrt(h))
    return dist * dist


@numba.njit(cache=True, parallel=True)
def full_intensities(
    target_idx,
    t,
    lat_rad,
    lon_rad,
    mprime,
    mu,
    area,
    k0,
    a,
    c,
    omega,
    tau,
    d,
    gamma,
    rho,
    radius,
    spatial,
    spatial_int,
):
    """lambda(t_i, x_i) and lambda*(t_i) summed over *all* earlier events (no truncation).

    Events are sorted by time; for target i, sources are events 0..i-1 with t_j < t_i. ``spatial_int``:
    each source's spatial kernel integral (plane or region) used in lambda*.
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
                s_time += prod * spatial_int[j]
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


# ---------------------------------------------------------------------------------------------------------
# Pair store: for every target, the indices of its earlier sources within the source's truncation radius,
# built in two parallel passes (count, fill) from a magnitude-class / lat-lon cell index. Memory: an int64
# pointer per event plus int32 source index and float32 squared distance per pair (8 bytes a pair).


@numba.njit(cache=True)
def _cells_of_target(lat_i, lon_i, cell, ang, nlat_c, nlon_c):
    """Cell index ranges (lat rows, lon columns and whether all columns) around a point for radius ``ang``."""
    half_pi = 0.5 * math.pi
    ilat0 = int(math.floor((lat_i - ang + half_pi) / cell))
    ilat1 = int(math.floor((lat_i + ang + half_pi) / cell))
    if ilat0 < 0:
        ilat0 = 0
    if ilat1 > nlat_c - 1:
        ilat1 = nlat_c - 1
    top = abs(lat_i) + ang
    all_lon = False
    ilon0 = 0
    ilon1 = nlon_c - 1
    if top >= half_pi - 1e-9:
        all_lon = True
    else:
        dlon = 1.01 * ang / math.cos(top) + cell
        if dlon >= math.pi:
            all_lon = True
        else:
            ilon0 = int(math.floor((lon_i - dlon + math.pi) / cell))
            ilon1 = int(math.floor((lon_i + dlon + math.pi) / cell))
            if ilon1 - ilon0 + 1 >= nlon_c:
                all_lon = True
                ilon0 = 0
                ilon1 = nlon_c - 1
    return ilat0, ilat1, ilon0, ilon1, all_lon


# ---------------------------------------------------------------------------------------------------------
# Likelihood passes over targets. Parameters are ordered log10_mu, log10_k0, a, log10_c, omega, log10_tau,
# log10_d, gamma, rho; derivatives are with respect to these.


@numba.njit(cache=True, parallel=True)
def target_pass(
    first_target,
    ptr,
    src,
    r2,
    lo,
    hi,
    implicit,
    t,
    mprime,
    prod,
    big_d,
    mu,
    c,
    omega,
    tau,
    rho,
    spatial,
    mode,
    lam,
    n_threads,
    bg_density,
    area,
):
    """Fill ``lam`` (intensity at every target) and return the gradient / Hessian of sum log lam.

    ``prod = k0 e^{a m'}`` and ``big_d = d e^{gamma m'}`` per event. ``implicit``: the sources of target i
    are events ``lo[i] .. hi[i] - 1`` (temporal model, no pair store); otherwise ``src[ptr[i]:ptr[i+1]]``
    with squared distances ``r2``. ``mode`` 0: intensities only; 1: + gradient; 2: + Hessian.
    ``bg_density``: the background density f (per km², normalised over the region) at every target
    (length ``n - first_target``), so that the background rate there is ``mu * area * f``; an empty
    array means uniform (``f = 1 / area``: the rate is ``mu``).
    """
    n = t.size
    n_tg = n - first_target
    n_chunk = min(n_tg, 256)  # fixed: sums do not depend on the thread count
    if n_chunk < 1:
        n_chunk = 1
    grad = np.zeros((n_chunk, 9))
    hdim = 9 if mode == 2 else 1
    hess = np.zeros((n_chunk, hdim, hdim))
    sumlog = np.zeros(n_chunk)
    ln10 = 2.302585092994046
    nk = 8 if spatial else 5  # the temporal model has no spatial derivatives
    for ch in numba.prange(n_chunk):
        q0 = ch * n_tg // n_chunk
        q1 = (ch + 1) * n_tg // n_chunk
        s1 = np.zeros(8)
        s2 = np.zeros((8, 8))
        dl = np.zeros(9)
        lvec = np.zeros(8)
        for q in range(q0, q1):
            i = first_target + q
            ti = t[i]
            s0 = 0.0
            if mode >= 1:
                s1[:] = 0.0
                if mode == 2:
                    s2[:, :] = 0.0
            if implicit:
                p0 = lo[i]
                p1 = hi[i]
            else:
                p0 = ptr[i]
                p1 = ptr[i + 1]
            for p in range(p0, p1):
                if implicit:
                    j = p
                else:
                    j = src[p]
                dt = ti - t[j]
                x = dt + c
                lx = math.log(x)
                logg = -dt / tau - (1.0 + omega) * lx
                if spatial:
                    dj = big_d[j]
                    y = r2[p] + dj
                    ly = math.log(y)
                    logg -= (1.0 + rho) * ly
                g = prod[j] * math.exp(logg)
                s0 += g
                if mode >= 1:
                    m = mprime[j]
                    lvec[0] = ln10
                    lvec[1] = m
                    lvec[2] = -(1.0 + omega) * c * ln10 / x
                    lvec[3] = -lx
                    lvec[4] = dt / tau * ln10
                    if spatial:
                        qq = dj / y
                        lvec[5] = -(1.0 + rho) * qq * ln10
                        lvec[6] = -(1.0 + rho) * qq * m
                        lvec[7] = -ly
                    else:
                        lvec[5] = 0.0
                        lvec[6] = 0.0
                        lvec[7] = 0.0
                    for k in range(nk):
                        s1[k] += g * lvec[k]
                    if mode == 2:
                        for k in range(nk):
                            gk = g * lvec[k]
                            for l2 in range(k, nk):
                                s2[k, l2] += gk * lvec[l2]
                        s2[2, 2] += g * (-(1.0 + omega) * ln10 * ln10 * c * dt / (x * x))
                        s2[2, 3] += g * (-c * ln10 / x)
                        s2[4, 4] += g * (-dt / tau * ln10 * ln10)
                        if spatial:
                            e = qq * (1.0 - qq)
                            s2[5, 5] += g * (-(1.0 + rho) * ln10 * ln10 * e)
                            s2[5, 6] += g * (-(1.0 + rho) * ln10 * m * e)
                            s2[6, 6] += g * (-(1.0 + rho) * m * m * e)
                            s2[5, 7] += g * (-qq * ln10)
                            s2[6, 7] += g * (-qq * m)
            mu_i = mu * bg_density[q] * area if bg_density.size > 0 else mu
            lam_i = mu_i + s0
            lam[q] = lam_i
            sumlog[ch] += math.log(lam_i)
            if mode >= 1:
                dl[0] = mu_i * ln10
                for k in range(8):
                    dl[k + 1] = s1[k]
                for k in range(9):
                    grad[ch, k] += dl[k] / lam_i
                if mode == 2:
                    inv2 = 1.0 / (lam_i * lam_i)
                    hess[ch, 0, 0] += mu_i * ln10 * ln10 / lam_i
                    for k in range(8):
                        for l2 in range(k, 8):
                            hess[ch, k + 1, l2 + 1] += s2[k, l2] / lam_i
                    for k in range(9):
                        for l2 in range(k, 9):
                            hess[ch, k, l2] -= dl[k] * dl[l2] * inv2
    g_out = np.zeros(9)
    h_out = np.zeros((hdim, hdim))
    total = 0.0
    for ch in range(n_chunk):
        total += sumlog[ch]
        for k in range(9):
            g_out[k] += grad[ch, k]
        for k in range(hdim):
            for l2 in range(hdim):
                h_out[k, l2] += hess[ch, k, l2]
    if mode == 2:
        for k in range(9):
            for l2 in range(k):
                h_out[k, l2] = h_out[l2, k]
    return total, g_out, h_out


@numba.njit(cache=True)
def _region_mass(dj, rho, qptr0, qptr1, qcoef, qr2):
    """Integral of (r^2 + D)^-(1+rho) over the region for one source, and its derivatives in D and rho.

    From the ray table: ``S = (2 pi D^-rho - sum_e coef_e (r_e^2 + D)^-rho) / (2 rho)``.
    """
    ld = math.log(dj)
    dr = math.exp(-rho * ld)
    b = 2.0 * math.pi * dr
    b_d = -2.0 * math.pi * rho * dr / dj
    b_r = -2.0 * math.pi * ld * dr
    for e in range(qptr0, qptr1):
        u = qr2[e] + dj
        lu = math.log(u)
        ur = math.exp(-rho * lu)
        co = qcoef[e]
        b -= co * ur
        b_d += co * rho * ur / u
        b_r += co * lu * ur
    s = b / (2.0 * rho)
    return s, b_d / (2.0 * rho), -s / rho + b_r / (2.0 * rho)


# ---------------------------------------------------------------------------------------------------------
# Ray table of the region for the exact spatial integral: for each source, Gauss–Legendre nodes in each
# angular sector between polygon vertices (seen from the source), and the distances at which the ray
# leaves (coefficient +w) or re-enters (-w) the polygon. Local equirectangular projection at the source.


@numba.njit(cache=True)
def _ray_entries(xs, ys, nodes, weights, out_coef, out_r2, write, start):
    """Entries of one source (vertex coordinates ``xs, ys`` relative to it, km); returns their number."""
    nv = xs.size
    ang = np.empty(nv)
    for v in range(nv):
        ang[v] = math.atan2(ys[v], xs[v])
    ang = np.sort(ang)
    cnt = 0
    rs = np.empty(nv)
    for s in range(nv):
        a0 = ang[s]
        a1 = ang[s + 1] if s + 1 < nv else ang[0] + 2.0 * math.pi
        width = a1 - a0
        if width <= 1e-14:
            continue
        for q in range(nodes.size):
            th = a0 + 0.5 * width * (nodes[q] + 1.0)
            w = 0.5 * width * weights[q]
            ct = math.cos(th)
            st = math.sin(th)
            nr = 0
            for v in range(nv):
                x1 = xs[v]
                y1 = ys[v]
                x2 = xs[(v + 1) % nv]
                y2 = ys[(v + 1) % nv]
                ex = x2 - x1
                ey = y2 - y1
                den = ct * ey - st * ex
                if den == 0.0:
                    continue
                # r (ct, st) = (x1, y1) + u (ex, ey)
                r = (x1 * ey - y1 * ex) / den
                u = (x1 * st - y1 * ct) / den
                if r > 0.0 and 0.0 <= u < 1.0:
                    rs[nr] = r
                    nr += 1
            rr = np.sort(rs[:nr])
            # an odd number of crossings: the ray starts inside; an even number (a point on the boundary,
            # ray pointing out): it leaves at r = 0
            off = 1 if nr % 2 == 0 else 0
            if off == 1:
                if write:
                    out_coef[start + cnt] = w
                    out_r2[start + cnt] = 0.0
                cnt += 1
            for k in range(nr):
                if write:
                    out_coef[start + cnt] = w if (k + off) % 2 == 0 else -w
                    out_r2[start + cnt] = rr[k] * rr[k]
                cnt += 1
    return cnt


@numba.njit(cache=True, parallel=True)
def region_ray_table(lat, lon, vlat, vlon, nodes, weights, earth_radius, fill, qptr, qcoef, qr2):
    """Count (``fill`` False) or fill the ray-table entries of every source (angles in radians)."""
    n = lat.size
    counts = np.zeros(n, dtype=np.int64)
    for j in numba.prange(n):
        cl = math.cos(lat[j])
        xs = np.empty(vlat.size)
        ys = np.empty(vlat.size)
        for v in range(vlat.size):
            dlon = vlon[v] - lon[j]
            if dlon > math.pi:
                dlon -= 2.0 * math.pi
            elif dlon < -math.pi:
                dlon += 2.0 * math.pi
            xs[v] = earth_radius * cl * dlon
            ys[v] = earth_radius * (vlat[v] - lat[j])
        start = qptr[j] if fill else 0
        counts[j] = _ray_entries(xs, ys, nodes, weights, qcoef, qr2, fill, start)
    return counts


@numba.njit(cache=True, parallel=True)
def region_masses(big_d, rho, qptr, qcoef, qr2):
    """Region integral of the kernel for every source from its ray table (see ``_region_mass``)."""
    n = big_d.size
    out = np.empty(n)
    for j in numba.prange(n):
        out[j] = _region_mass(big_d[j], rho, qptr[j], qptr[j + 1], qcoef, qr2)[0]
    return out
