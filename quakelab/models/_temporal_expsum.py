"""Temporal ETAS sums over *all* earlier events in O(N K): the Omori kernel as a sum of exponentials.

Private helpers of the temporal-only ETAS model (``spatial=False``, no lag cap). The kernel of a source at
lag ``x`` is ``e^{-x/tau} (x + c)^{-p}`` with ``p = 1 + omega``. Writing

    y^{-p} = 1 / Gamma(p) * integral over u of exp(p u - e^u y) du          (y = x + c > 0, p > 0)

and applying the trapezoidal rule with step ``h`` on ``u`` (spectrally accurate: this integrand is analytic
in a strip of half-width pi/2, so the relative error is about ``|Gamma(p + 2 pi i / h)| / Gamma(p)``,
``~ e^{-pi^2 / h}``) turns the kernel into ``sum_k w_k e^{-(s_k + 1/tau) x}`` with ``s_k = e^{u_k}``.
The nodes run from ``u_lo`` to ``u_hi``: above ``u_hi`` the integrand is below ``e^{-e^{u_hi} c}``; the part
below ``u_lo`` is ``y^{-p} gamma(p, e^{u_lo} y) / Gamma(p)``, whose leading term ``e^{p u_lo} / (p Gamma(p))``
does not depend on ``y`` and is kept (as the trapezoidal rule sees it) as one more node with ``s = 0``; the rest is at most
``(e^{u_lo} y)^{p+1} / ((p + 1) Gamma(p))`` relative, made small for every lag up to ``y_max``.

Each exponential obeys a one-step recursion over the time-sorted events, so ``lambda(t_i)`` for every
target, its gradient and Hessian (for Newton's method) and the compensator between consecutive events cost
``O(N K)`` instead of ``O(N^2)``, with ``K`` about 120-150 nodes. Every term is positive, so the relative
error of the approximated kernel (``<= tol`` at every lag, by default ``1e-10``; :func:`max_relative_error`
measures it) bounds the relative error of each intensity and each compensator: the error of a per-event
log-likelihood is at most ``tol (1 + Lambda_i)``.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy.special import gammaln, polygamma, psi

#: Relative accuracy of the exponential-sum kernel (at every lag up to the span of the events).
DEFAULT_TOL = 1e-10


def expsum_nodes(c: float, omega: float, y_max: float, *, tol: float = DEFAULT_TOL) -> dict[str, np.ndarray]:
    """Nodes and weights approximating ``(x + c)^{-(1 + omega)}`` for ``0 <= x <= y_max - c``.

    Parameters
    ----------
    c : float
        Omori ``c`` (days), > 0.
    omega : float
        Omori exponent minus one (> -1).
    y_max : float
        Largest ``x + c`` to approximate to ``tol`` (e.g. the span of the events plus ``c``).
    tol : float, default 1e-10
        Target relative accuracy.

    Returns
    -------
    dict
        ``s`` (decay rates per day, the last one 0: the tail node), ``w`` (weights, so that
        ``(x + c)^{-p} ~ sum w e^{-s x}``), ``dlogw_dp`` and ``d2logw_dp2`` (derivatives of ``log w`` with
        respect to ``p``), ``u`` (log rates; the tail node's is its lower limit).
    """
    p = 1.0 + float(omega)
    if not (p > 0 and c > 0 and y_max > 0):
        raise ValueError(f"need c > 0, omega > -1 and y_max > 0, got c={c}, omega={omega}, y_max={y_max}")
    y_max = max(float(y_max), float(c))
    h = math.pi**2 / (math.log(1.0 / tol) + 6.0)  # trapezoidal error ~ e^{-pi^2 / h}, with a margin
    lg = float(gammaln(p))
    # lower limit: the dropped part of the tail, (e^u y)^{p+1} / ((p+1) Gamma(p)), below tol at y_max
    u_lo = (math.log(tol) + math.log(p + 1.0) + lg) / (p + 1.0) - math.log(y_max)
    # upper limit: exp(p u - e^u c) relative to Gamma(p) c^{-p} below tol
    v_hi = math.log(math.log(1.0 / tol) + 4.0 * max(p, 1.0) + 8.0)
    u_hi = v_hi - math.log(c)
    k0, k1 = math.ceil(u_lo / h), math.floor(u_hi / h)  # nodes on a fixed lattice: smooth in c, omega
    u = np.arange(k0, k1 + 1, dtype=float) * h
    s = np.exp(u)
    logw = p * u + math.log(h) - s * c - lg
    dlogw = u - float(psi(p))
    d2logw = np.full(u.size, -float(polygamma(1, p)))
    # tail node: the lattice nodes below k0 with the leading term e^{p u} of the integrand (s = 0: no c
    # dependence), h sum_{k < k0} e^{p k h} = h e^{p (k0 - 1) h} / (1 - e^{-p h})
    u_tail = (k0 - 1) * h
    em = math.expm1(p * h)
    logw_tail = math.log(h) + p * u_tail - math.log(-math.expm1(-p * h)) - lg
    dlogw_tail = u_tail - h / em - float(psi(p))
    d2logw_tail = h * h * (em + 1.0) / (em * em) - float(polygamma(1, p))
    return {
        "u": np.append(u, u_tail),
        "s": np.append(s, 0.0),
        "w": np.exp(np.append(logw, logw_tail)),
        "dlogw_dp": np.append(dlogw, dlogw_tail),
        "d2logw_dp2": np.append(d2logw, d2logw_tail),
    }


def kernel_expsum(x: np.ndarray, c: float, omega: float, tau: float, nodes: dict) -> np.ndarray:
    """The exponential-sum approximation of ``e^{-x/tau} (x + c)^{-(1+omega)}`` at lags ``x``."""
    x = np.asarray(x, dtype=float)
    return np.exp(-np.multiply.outer(x, nodes["s"] + 1.0 / tau)) @ nodes["w"]


def max_relative_error(c: float, omega: float, y_max: float, *, tol: float = DEFAULT_TOL) -> float:
    """Largest relative error of :func:`expsum_nodes` on a dense logarithmic grid of lags in ``[0, y_max - c]``."""
    nodes = expsum_nodes(c, omega, y_max, tol=tol)
    x = np.concatenate([[0.0], np.geomspace(min(c, 1e-6) * 1e-3, max(y_max - c, 1e-9), 4000)])
    exact = (x + c) ** (-(1.0 + omega))
    approx = np.exp(-np.multiply.outer(x, nodes["s"])) @ nodes["w"]
    return float(np.max(np.abs(approx / exact - 1.0)))


@numba.njit(cache=True)
def expsum_target_pass(first_target, t, mprime, prod, c, beta, mu, s, w, dl, d2l, mode, lam):
    """``sum log lambda`` over the targets ``first_target..`` and its gradient / Hessian (``mode`` 1 / 2).

    Parameter order as :data:`quakelab.models.etas.PARAMETER_NAMES` (``log10_mu, log10_k0, a, log10_c,
    omega, log10_tau``; the spatial ones stay 0). ``prod``: each event's productivity ``k0 e^{a m'}``.
    Sources of target i: events with ``t_j < t_i``. ``lam`` receives the intensity at every target.
    """
    n = t.size
    K = s.size
    ln10 = 2.302585092994046
    r = s + beta
    A = np.zeros(K)
    B = np.zeros(K)
    C = np.zeros(K)
    D = np.zeros(K)
    E = np.zeros(K)
    F = np.zeros(K)
    ws = w * s
    wl = w * dl
    wss = w * s * s
    wsl = w * s * dl
    wll = w * (dl * dl + d2l)
    g_out = np.zeros(9)
    h_out = np.zeros((9, 9))
    nat = np.zeros(5)  # d lambda / d(kappa = ln k0, a, c, p, beta), natural variables (prod holds k0)
    nat2 = np.zeros((5, 5))
    jac = np.zeros(5)  # d natural / d theta (diagonal), theta = (log10_k0, a, log10_c, omega, log10_tau)
    jac[0] = ln10
    jac[1] = 1.0
    jac[2] = c * ln10
    jac[3] = 1.0
    jac[4] = -ln10 * beta
    curv = np.zeros(5)  # d2 natural / d theta2 (diagonal)
    curv[2] = c * ln10 * ln10
    curv[4] = ln10 * ln10 * beta
    dlam = np.zeros(9)
    sumlog = 0.0
    t_cur = t[0]
    pending = 0  # events 0..pending-1 are sources already in the state
    for i in range(n):
        ti = t[i]
        if ti > t_cur:
            # add the events at t_cur (lag 0), then move the state to ti
            while pending < i:
                qj = prod[pending]
                mj = mprime[pending]
                for k in range(K):
                    A[k] += qj
                    if mode >= 1:
                        B[k] += qj * mj
                        if mode == 2:
                            D[k] += qj * mj * mj
                pending += 1
            dt = ti - t_cur
            for k in range(K):
                e = math.exp(-r[k] * dt)
                if mode == 2:
                    F[k] = (F[k] + 2.0 * dt * C[k] + dt * dt * A[k]) * e
                    E[k] = (E[k] + dt * B[k]) * e
                    D[k] *= e
                if mode >= 1:
                    C[k] = (C[k] + dt * A[k]) * e
                    B[k] *= e
                A[k] *= e
            t_cur = ti
        if i < first_target:
            continue
        sA = 0.0
        for k in range(K):
            sA += w[k] * A[k]
        trig = sA
        lam_i = mu + trig
        lam[i - first_target] = lam_i
        sumlog += math.log(lam_i)
        if mode == 0:
            continue
        sB = 0.0
        sC = 0.0
        sAs = 0.0
        sAl = 0.0
        for k in range(K):
            sB += w[k] * B[k]
            sC += w[k] * C[k]
            sAs += ws[k] * A[k]
            sAl += wl[k] * A[k]
        nat[0] = trig
        nat[1] = sB
        nat[2] = -sAs
        nat[3] = sAl
        nat[4] = -sC
        dlam[0] = mu * ln10
        for q in range(5):
            dlam[q + 1] = nat[q] * jac[q]
        for q in range(6):
            g_out[q] += dlam[q] / lam_i
        if mode == 2:
            sD = 0.0
            sE = 0.0
            sF = 0.0
            sBs = 0.0
            sBl = 0.0
            sAss = 0.0
            sAsl = 0.0
            sAll = 0.0
            sCs = 0.0
            sCl = 0.0
            for k in range(K):
                sD += w[k] * D[k]
                sE += w[k] * E[k]
                sF += w[k] * F[k]
                sBs += ws[k] * B[k]
                sBl += wl[k] * B[k]
                sAss += wss[k] * A[k]
                sAsl += wsl[k] * A[k]
                sAll += wll[k] * A[k]
                sCs += ws[k] * C[k]
                sCl += wl[k] * C[k]
            # second derivatives in (kappa, a, c, p, beta); every term carries k0 (kappa row = first derivs)
            for q in range(5):
                nat2[0, q] = nat[q]
            nat2[1, 1] = sD
            nat2[1, 2] = -sBs
            nat2[1, 3] = sBl
            nat2[1, 4] = -sE
            nat2[2, 2] = sAss
            nat2[2, 3] = -sAsl
            nat2[2, 4] = sCs
            nat2[3, 3] = sAll
            nat2[3, 4] = -sCl
            nat2[4, 4] = sF
            inv = 1.0 / lam_i
            inv2 = inv * inv
            h_out[0, 0] += mu * ln10 * ln10 * inv
            for q1 in range(5):
                for q2 in range(q1, 5):
                    v = nat2[q1, q2] * jac[q1] * jac[q2]
                    if q1 == q2:
                        v += nat[q1] * curv[q1]
                    h_out[q1 + 1, q2 + 1] += v * inv
            for q1 in range(6):
                for q2 in range(q1, 6):
                    h_out[q1, q2] -= dlam[q1] * dlam[q2] * inv2
    for q1 in range(9):
        for q2 in range(q1):
            h_out[q1, q2] = h_out[q2, q1]
    return sumlog, g_out, h_out


@numba.njit(cache=True)
def expsum_scores(t, weight, beta, s, w, t0, first_test):
    """Triggered intensity at each test event and its integral since the previous event (or ``t0``).

    ``weight``: each event's productivity ``k0 e^{a m'}``; events ``first_test..`` are the test events
    (all events at or after ``t0``); sources of an event: those strictly earlier.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Triggered intensity at, and triggered integral up to, each test event.
    """
    n = t.size
    K = s.size
    r = s + beta
    A = np.zeros(K)
    n_test = n - first_test
    trig = np.empty(n_test)
    integ = np.empty(n_test)
    t_cur = t[0]
    pending = 0
    for i in range(n):
        ti = t[i]
        if i == first_test:
            # bring the state to t0 first: the first interval starts there
            while pending < i and t[pending] <= t_cur:
                for k in range(K):
                    A[k] += weight[pending]
                pending += 1
            dt = t0 - t_cur
            if dt > 0:
                for k in range(K):
                    A[k] *= math.exp(-r[k] * dt)
                t_cur = t0
        if ti > t_cur:
            while pending < i:
                for k in range(K):
                    A[k] += weight[pending]
                pending += 1
            dt = ti - t_cur
            integral = 0.0
            for k in range(K):
                e = math.exp(-r[k] * dt)
                integral += w[k] * A[k] * (-math.expm1(-r[k] * dt)) / r[k]
                A[k] *= e
            t_cur = ti
        else:
            integral = 0.0
        if i >= first_test:
            sA = 0.0
            for k in range(K):
                sA += w[k] * A[k]
            trig[i - first_test] = sA
            integ[i - first_test] = integral
    return trig, integ


def temporal_target_pass(
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
    """Drop-in for :func:`quakelab.models._kernels.target_pass` for the temporal model without a lag cap.

    Same arguments and results (``sum log lambda``, gradient, Hessian 9 x 9); the pair store, lag bounds,
    spatial arguments and thread count are unused: every earlier event is a source.
    """
    if spatial or bg_density.size:
        raise ValueError("the exponential-sum pass is for the temporal model with a uniform background")
    nodes = expsum_nodes(c, omega, float(t[-1] - t[0]) + c)
    return expsum_target_pass(
        int(first_target),
        t,
        mprime,
        np.ascontiguousarray(prod, dtype=float),
        float(c),
        1.0 / float(tau),
        float(mu),
        nodes["s"],
        nodes["w"],
        nodes["dlogw_dp"],
        nodes["d2logw_dp2"],
        int(mode),
        lam,
    )
