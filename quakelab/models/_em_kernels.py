"""Compiled sums of the ETAS fit with analytic first and second derivatives (numba). Private.

Used by :mod:`quakelab.models.etas` for the expected-count (compensator) term of the log-likelihood and
for the M-step of the reference EM. Parameters are ordered ``log10_mu, log10_k0, a, log10_c, omega,
log10_tau, log10_d, gamma, rho`` (index 0 to 8); derivatives are with respect to these.

Time integrals. Every source's expected count needs ``T = int_{x0}^{x1} e^{-s/tau} (s + c)^-(1+omega) ds``
over its part of the fit window, and its derivatives in ``c, omega, tau`` up to second order. With
``u = log(s + c)``, ``T = e^{c/tau} int_{u0}^{u1} E(u) du`` where ``E(u) = exp(-e^u / tau - omega u)``;
the derivatives are closed-form combinations of ``T``, the integrand at the ends and six moments
``int {1, u, u^2, e^u, e^{2u}, u e^u} E(u) du``. The moments are integrated once per parameter value
for all sources together: the window ends of all sources are sorted (once per fit), each interval
between consecutive ends (split into pieces of at most ``_HMAX`` in ``u``) gets a Gauss–Legendre rule,
and cumulative sums from the top give every source's moments by one difference. ``E`` is below
``e^-50`` of its scale beyond ``u = log(50 tau)``, where the integration stops.

Reductions use a fixed number of chunks (``_N_CHUNK``) summed in order, so results do not depend on the
number of threads. Only the pair passes run in parallel: the per-source work (tens of thousands of
sources) is cheaper than starting threads on a shared machine.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_N_CHUNK = 256
_HMAX = 0.25  # largest piece of the u axis per Gauss–Legendre rule
_LN10 = 2.302585092994046
_GL_X, _GL_W = np.polynomial.legendre.leggauss(10)


@numba.njit(cache=True)
def time_moment_table(c, omega, tau, xb, gl_x, gl_w, hmax):
    """Moments ``int_{u_k}^{u_max} {1, u, u^2, e^u, e^{2u}, u e^u} E(u) du`` at ``u_k = log(xb[k] + c)``.

    ``xb`` ascending (window ends of the sources, days). Returns an array ``(xb.size + 1, 6)``; the last
    row (index ``xb.size``) is zero and stands for an infinite end.
    """
    nb = xb.size
    u_max = math.log(tau) + math.log(50.0)
    piece = np.zeros((nb + 1, 6))
    for k in range(nb):
        ua = math.log(xb[k] + c)
        ub = u_max if k == nb - 1 else math.log(xb[k + 1] + c)
        if ub > u_max:
            ub = u_max
        if ua >= ub:
            continue
        n_sub = int(math.ceil((ub - ua) / hmax))
        h = (ub - ua) / n_sub
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        s4 = 0.0
        s5 = 0.0
        for r in range(n_sub):
            lo = ua + r * h
            for q in range(gl_x.size):
                u = lo + 0.5 * h * (gl_x[q] + 1.0)
                eu = math.exp(u)
                w = 0.5 * h * gl_w[q] * math.exp(-eu / tau - omega * u)
                s0 += w
                s1 += w * u
                s2 += w * u * u
                s3 += w * eu
                s4 += w * eu * eu
                s5 += w * u * eu
        piece[k, 0] = s0
        piece[k, 1] = s1
        piece[k, 2] = s2
        piece[k, 3] = s3
        piece[k, 4] = s4
        piece[k, 5] = s5
    cum = np.zeros((nb + 1, 6))
    for k in range(nb - 1, -1, -1):
        for r in range(6):
            cum[k, r] = cum[k + 1, r] + piece[k, r]
    return cum


@numba.njit(cache=True)
def _time_derivs(c, omega, tau, x0, x1, cum, i0, i1, out):
    """T over [x0, x1] and its derivatives in (log10_c, omega, log10_tau) into ``out`` (10 values).

    ``out``: T, T_lc, T_om, T_lt, T_lclc, T_lcom, T_lclt, T_omom, T_omlt, T_ltlt. ``i1`` may be the
    table's last row (an infinite end; ``x1`` is then ignored).
    """
    ect = math.exp(c / tau)
    m0 = cum[i0, 0] - cum[i1, 0]
    mu = cum[i0, 1] - cum[i1, 1]
    muu = cum[i0, 2] - cum[i1, 2]
    me = cum[i0, 3] - cum[i1, 3]
    mee = cum[i0, 4] - cum[i1, 4]
    mue = cum[i0, 5] - cum[i1, 5]
    tv = ect * m0
    # integrand f(x) = e^{-x/tau} (x + c)^-(1+omega) at the ends and its derivatives in c, omega, tau
    l0 = math.log(x0 + c)
    f0 = math.exp(-x0 / tau - (1.0 + omega) * l0)
    f0_c = -(1.0 + omega) * f0 / (x0 + c)
    f0_o = -l0 * f0
    f0_t = f0 * x0 / (tau * tau)
    if i1 == cum.shape[0] - 1:
        f1 = 0.0
        f1_c = 0.0
        f1_o = 0.0
        f1_t = 0.0
    else:
        l1 = math.log(x1 + c)
        f1 = math.exp(-x1 / tau - (1.0 + omega) * l1)
        f1_c = -(1.0 + omega) * f1 / (x1 + c)
        f1_o = -l1 * f1
        f1_t = f1 * x1 / (tau * tau)
    t2 = tau * tau
    t_c = tv / tau + f1 - f0
    t_o = -ect * mu
    t_t = -c / t2 * tv + ect * me / t2
    t_cc = t_c / tau + f1_c - f0_c
    t_co = t_o / tau + f1_o - f0_o
    t_ct = t_t / tau - tv / t2 + f1_t - f0_t
    t_oo = ect * muu
    t_ot = -c / t2 * t_o - ect * mue / t2
    t_tt = 2.0 * c / (t2 * tau) * tv - c / t2 * t_t - c / t2 * ect * me / t2 - 2.0 * ect * me / (t2 * tau)
    t_tt += ect * mee / (t2 * t2)
    lc = c * _LN10
    lt = tau * _LN10
    out[0] = tv
    out[1] = lc * t_c
    out[2] = t_o
    out[3] = lt * t_t
    out[4] = lc * lc * t_cc + _LN10 * lc * t_c
    out[5] = lc * t_co
    out[6] = lc * lt * t_ct
    out[7] = t_oo
    out[8] = lt * t_ot
    out[9] = lt * lt * t_tt + _LN10 * lt * t_t


@numba.njit(cache=True)
def region_mass_derivs(dj, rho, qptr0, qptr1, qcoef, qr2, out):
    """Region integral S of (r^2 + D)^-(1+rho) and its derivatives: S, S_D, S_rho, S_DD, S_Drho, S_rhorho.

    ``S = b / (2 rho)`` with ``b = 2 pi D^-rho - sum_e coef_e (r_e^2 + D)^-rho`` (ray table).
    """
    ld = math.log(dj)
    dr = math.exp(-rho * ld)
    b = 2.0 * math.pi * dr
    b_d = -2.0 * math.pi * rho * dr / dj
    b_r = -2.0 * math.pi * ld * dr
    b_dd = 2.0 * math.pi * rho * (rho + 1.0) * dr / (dj * dj)
    b_rr = 2.0 * math.pi * ld * ld * dr
    b_dr = 2.0 * math.pi * (rho * ld - 1.0) * dr / dj
    for e in range(qptr0, qptr1):
        u = qr2[e] + dj
        lu = math.log(u)
        ur = math.exp(-rho * lu)
        co = qcoef[e]
        b -= co * ur
        b_d += co * rho * ur / u
        b_r += co * lu * ur
        b_dd -= co * rho * (rho + 1.0) * ur / (u * u)
        b_rr -= co * lu * lu * ur
        b_dr += co * (1.0 - rho * lu) * ur / u
    s = b / (2.0 * rho)
    s_r = b_r / (2.0 * rho) - s / rho
    out[0] = s
    out[1] = b_d / (2.0 * rho)
    out[2] = s_r
    out[3] = b_dd / (2.0 * rho)
    out[4] = b_dr / (2.0 * rho) - b_d / (2.0 * rho * rho)
    out[5] = b_rr / (2.0 * rho) - b_r / (2.0 * rho * rho) - s_r / rho + s / (rho * rho)


@numba.njit(cache=True)
def source_pass(
    mprime,
    x0,
    x1,
    i0,
    i1,
    cum,
    k0,
    a,
    c,
    omega,
    tau,
    d,
    gamma,
    rho,
    spatial,
    exact,
    qptr,
    qcoef,
    qr2,
    l_hat,
    mode,
    expected,
):
    """Sums over sources of the expected count G_j and of ``l_j log T_j``, with derivatives.

    ``G_j = k0 e^{a m'_j} S_j T_j`` with ``T_j`` the time integral over ``[x0_j, x1_j]`` (table rows
    ``i0_j, i1_j``) and ``S_j`` the spatial kernel's integral (plane ``pi / (rho D^rho)``, region by the
    ray table when ``exact``, 1 for the temporal model). ``l_hat`` (may be empty): weights of
    ``sum_j l_j log T_j`` (the reference M-step). ``mode`` 0: values; 1: + gradient; 2: + Hessian.
    ``expected`` receives G_j. Returns ``(sum G, grad, hess, sum l log T, its grad, its hess)`` (9 and
    9 x 9 arrays; index 0, log10_mu, is 0).
    """
    n = mprime.size
    n_chunk = min(max(n, 1), _N_CHUNK)
    have_l = l_hat.size > 0
    acc_g = np.zeros((n_chunk, 9))
    acc_h = np.zeros((n_chunk, 9, 9))
    acc_lt = np.zeros((n_chunk, 4))  # sum l log T and its gradient in lc, om, lt
    acc_lth = np.zeros((n_chunk, 3, 3))
    acc_v = np.zeros(n_chunk)
    log_pi = math.log(math.pi)
    for ch in range(n_chunk):
        j0 = ch * n // n_chunk
        j1 = (ch + 1) * n // n_chunk
        td = np.zeros(10)
        sd = np.zeros(6)
        v = np.zeros(9)
        hl = np.zeros((9, 9))
        for j in range(j0, j1):
            if x1[j] <= x0[j]:
                expected[j] = 0.0
                continue
            m = mprime[j]
            _time_derivs(c, omega, tau, x0[j], x1[j], cum, i0[j], i1[j], td)
            tv = td[0]
            if tv <= 0.0:
                # the window lies so far in the kernel's exponential tail (lag >> tau) that the table difference
                # cancels to 0: the source's expected count and its derivatives are 0 to double precision
                expected[j] = 0.0
                continue
            # log T derivatives (lc, om, lt at positions 3, 4, 5)
            g3 = td[1] / tv
            g4 = td[2] / tv
            g5 = td[3] / tv
            if have_l:
                lj = l_hat[j]
                acc_lt[ch, 0] += lj * math.log(tv)
                if mode >= 1:
                    acc_lt[ch, 1] += lj * g3
                    acc_lt[ch, 2] += lj * g4
                    acc_lt[ch, 3] += lj * g5
                if mode == 2:
                    acc_lth[ch, 0, 0] += lj * (td[4] / tv - g3 * g3)
                    acc_lth[ch, 0, 1] += lj * (td[5] / tv - g3 * g4)
                    acc_lth[ch, 0, 2] += lj * (td[6] / tv - g3 * g5)
                    acc_lth[ch, 1, 1] += lj * (td[7] / tv - g4 * g4)
                    acc_lth[ch, 1, 2] += lj * (td[8] / tv - g4 * g5)
                    acc_lth[ch, 2, 2] += lj * (td[9] / tv - g5 * g5)
            log_d = 0.0
            if spatial:
                log_d = math.log(d) + gamma * m
                dj = math.exp(log_d)
                if exact:
                    region_mass_derivs(dj, rho, qptr[j], qptr[j + 1], qcoef, qr2, sd)
                    log_s = math.log(sd[0])
                else:
                    log_s = log_pi - math.log(rho) - rho * log_d
            else:
                log_s = 0.0
            gj = math.exp(math.log(k0) + a * m + log_s + math.log(tv))
            expected[j] = gj
            acc_v[ch] += gj
            if mode == 0:
                continue
            v[:] = 0.0
            v[1] = _LN10
            v[2] = m
            v[3] = g3
            v[4] = g4
            v[5] = g5
            if spatial:
                if exact:
                    sig = dj * sd[1] / sd[0]
                    v[6] = _LN10 * sig
                    v[7] = m * sig
                    v[8] = sd[2] / sd[0]
                else:
                    v[6] = -rho * _LN10
                    v[7] = -rho * m
                    v[8] = -1.0 / rho - log_d
            for k in range(9):
                acc_g[ch, k] += gj * v[k]
            if mode == 2:
                hl[:, :] = 0.0
                hl[3, 3] = td[4] / tv - g3 * g3
                hl[3, 4] = td[5] / tv - g3 * g4
                hl[3, 5] = td[6] / tv - g3 * g5
                hl[4, 4] = td[7] / tv - g4 * g4
                hl[4, 5] = td[8] / tv - g4 * g5
                hl[5, 5] = td[9] / tv - g5 * g5
                if spatial:
                    if exact:
                        s_ = sd[0]
                        sig = dj * sd[1] / s_
                        tdd = sig + dj * dj * sd[3] / s_ - sig * sig
                        chi = dj * sd[4] / s_ - sig * sd[2] / s_
                        hl[6, 6] = _LN10 * _LN10 * tdd
                        hl[6, 7] = _LN10 * m * tdd
                        hl[7, 7] = m * m * tdd
                        hl[6, 8] = _LN10 * chi
                        hl[7, 8] = m * chi
                        hl[8, 8] = sd[5] / s_ - (sd[2] / s_) ** 2
                    else:
                        hl[6, 8] = -_LN10
                        hl[7, 8] = -m
                        hl[8, 8] = 1.0 / (rho * rho)
                for k in range(1, 9):
                    for l2 in range(k, 9):
                        acc_h[ch, k, l2] += gj * (v[k] * v[l2] + hl[k, l2])
    tot = 0.0
    g = np.zeros(9)
    h = np.zeros((9, 9))
    lt_v = 0.0
    lt_g = np.zeros(9)
    lt_h = np.zeros((9, 9))
    for ch in range(n_chunk):
        tot += acc_v[ch]
        lt_v += acc_lt[ch, 0]
        for k in range(9):
            g[k] += acc_g[ch, k]
            for l2 in range(9):
                h[k, l2] += acc_h[ch, k, l2]
        for k in range(3):
            lt_g[3 + k] += acc_lt[ch, 1 + k]
            for l2 in range(3):
                lt_h[3 + k, 3 + l2] += acc_lth[ch, k, l2]
    for k in range(9):
        for l2 in range(k):
            h[k, l2] = h[l2, k]
            lt_h[k, l2] = lt_h[l2, k]
    return tot, g, h, lt_v, lt_g, lt_h


@numba.njit(cache=True, parallel=True, fastmath=True)
def mstep_pair_pass(first_target, ptr, src, r2, lo, implicit, t, prob, mprime, big_d, c, spatial):
    """Probability-weighted pair sums of the reference M-step and their derivatives (one pass).

    With ``x = dt + c``, ``y = r2 + D_j`` (``big_d``: ``D_j = d e^{gamma m'_j}`` per source), ``q = D_j / y``: returns
    ``[sum P log x, sum P / x, sum P / x^2, sum P log y, sum P q, sum P m' q, sum P q (1 - q),
    sum P m' q (1 - q), sum P m'^2 q (1 - q)]``. Pair layout as in :func:`estep_pass`.
    """
    n = t.size
    n_tg = n - first_target
    n_chunk = min(max(n_tg, 1), _N_CHUNK)
    acc = np.zeros((n_chunk, 9))
    for ch in numba.prange(n_chunk):
        q0 = ch * n_tg // n_chunk
        q1 = (ch + 1) * n_tg // n_chunk
        s = np.zeros(9)
        for qi in range(q0, q1):
            i = first_target + qi
            ti = t[i]
            base = ptr[i]
            for p in range(base, ptr[i + 1]):
                j = lo[i] + (p - base) if implicit else src[p]
                w = prob[p]
                x = ti - t[j] + c
                ix = 1.0 / x
                s[0] += w * math.log(x)
                s[1] += w * ix
                s[2] += w * ix * ix
                if spatial:
                    m = mprime[j]
                    dj = big_d[j]
                    y = r2[p] + dj
                    qq = dj / y
                    e = w * qq * (1.0 - qq)
                    s[3] += w * math.log(y)
                    s[4] += w * qq
                    s[5] += w * qq * m
                    s[6] += e
                    s[7] += e * m
                    s[8] += e * m * m
        for k in range(9):
            acc[ch, k] = s[k]
    out = np.zeros(9)
    for ch in range(n_chunk):
        for k in range(9):
            out[k] += acc[ch, k]
    return out


@numba.njit(cache=True, parallel=True, fastmath=True)
def estep_with_pair_sums(
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
    bg_density,
    prob,
    lam,
):
    """The E-step of ``_kernels.estep_pass`` and, in the same pass, the sums of :func:`mstep_pair_pass`
    at the same parameters with the new probabilities (the M-step's first evaluation).

    Per pair, ``x = dt + c`` and ``y = r2 + D_j`` and their logarithms are computed once (kept for the
    target's pairs in a scratch buffer) and serve both the kernel value
    ``k_j exp(-dt / tau - (1 + omega) log x - (1 + rho) log y)`` and the M-step's sums: one exponential
    and two logarithms a pair in all. ``bg_density``: ``A f(x)`` at every target (empty: uniform).
    Returns ``(n_hat, sum P dt, sums)``.
    """
    n = t.size
    n_tg = n - first_target
    n_chunk = min(max(n_tg, 1), _N_CHUNK)
    max_src = 1
    for i in range(first_target, n):
        k = hi[i] - lo[i] if implicit else ptr[i + 1] - ptr[i]
        if k > max_src:
            max_src = k
    acc = np.zeros((n_chunk, 11))
    for ch in numba.prange(n_chunk):
        q0 = ch * n_tg // n_chunk
        q1 = (ch + 1) * n_tg // n_chunk
        s = np.zeros(11)
        lx = np.empty(max_src)
        ly = np.empty(max_src)
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
                lxk = math.log(dt + c)
                arg = -dt / tau - (1.0 + omega) * lxk
                lx[k] = lxk
                if spatial:
                    lyk = math.log(r2[p] + big_d[j])
                    ly[k] = lyk
                    arg -= (1.0 + rho) * lyk
                val = prod[j] * math.exp(arg)
                prob[p] = val
                s0 += val
            mu_i = mu * bg_density[q] if bg_density.size > 0 else mu
            lam_i = mu_i + s0
            lam[q] = lam_i
            inv = 1.0 / lam_i
            for k in range(n_src):
                p = base + k
                j = j0 + k if implicit else src[p]
                prob[p] = prob[p] * inv
                w = float(prob[p])  # the stored (float32) probability, as the M-step reads it
                dt = ti - t[j]
                ix = 1.0 / (dt + c)
                s[0] += w * lx[k]
                s[1] += w * ix
                s[2] += w * ix * ix
                s[10] += w * dt
                if spatial:
                    m = mprime[j]
                    dj = big_d[j]
                    qq = dj / (r2[p] + dj)
                    e = w * qq * (1.0 - qq)
                    s[3] += w * ly[k]
                    s[4] += w * qq
                    s[5] += w * qq * m
                    s[6] += e
                    s[7] += e * m
                    s[8] += e * m * m
            s[9] += mu_i * inv
        for k in range(11):
            acc[ch, k] = s[k]
    out = np.zeros(11)
    for ch in range(n_chunk):
        for k in range(11):
            out[k] += acc[ch, k]
    return out[9], out[10], out[:9].copy()
