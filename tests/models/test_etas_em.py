"""ETAS fit internals: analytic derivatives against differences, the reference EM's M-step and its
acceleration, sums that do not depend on the thread count."""

import math

import numba
import numpy as np
import pytest

from quakelab.models import ETAS, branching_ratio
from quakelab.models._em_kernels import _GL_W, _GL_X, _HMAX, _time_derivs, time_moment_table
from quakelab.models._kernels import time_integral
from quakelab.models.etas import ETASParameters

BOX = (-117.0, -116.0, 33.0, 34.0)
WINDOW = ("2000-01-01", "2000-03-01", "2001-01-01")


@pytest.fixture(scope="module")
def small():
    """A small simulated catalog (branching ratio 0.5, about a thousand events) and the truth."""
    truth = dict(
        log10_mu=-4.0,
        log10_k0=0.0,
        a=1.2,
        log10_c=-2.5,
        omega=0.1,
        log10_tau=2.0,
        log10_d=-1.0,
        gamma=0.8,
        rho=0.7,
    )
    truth["log10_k0"] = math.log10(0.5 / branching_ratio(ETASParameters(**truth), 2.3))
    cat = (
        ETAS(min_magnitude=2.0, region=BOX).set_params(truth, beta=2.3).simulate(WINDOW[0], WINDOW[2], seed=4)
    )
    assert 300 < len(cat) < 3000
    return cat, np.array(list(truth.values()))


def _fd_hessian_check(model, prep, theta, idx, rtol):
    _, grad, hess, _ = model._evaluate(theta, prep, 2)
    h = 1e-5
    for k in idx:
        e = np.zeros(9)
        e[k] = h
        gp = model._evaluate(theta + e, prep, 1)[1]
        gm = model._evaluate(theta - e, prep, 1)[1]
        num = (gp - gm) / (2 * h)
        scale = np.abs(hess[np.ix_(idx, idx)]).max()
        np.testing.assert_allclose(hess[idx, k], num[idx], rtol=rtol, atol=1e-6 * scale, err_msg=str(k))
        lp = model._evaluate(theta + e, prep, 0)[0]
        lm = model._evaluate(theta - e, prep, 0)[0]
        assert grad[k] == pytest.approx((lp - lm) / (2 * h), rel=1e-5, abs=1e-4 * np.abs(grad).max()), k


def test_time_integral_moments_match_the_incomplete_gamma_and_its_differences():
    """T over [x0, x1] from the moment table equals the incomplete-gamma value; its nine derivatives in
    (log10_c, omega, log10_tau) equal central differences of that value."""
    rng = np.random.default_rng(1)
    for c, omega, tau in [(10**-2.5, 0.1, 100.0), (10**-4.4, -0.18, 10**3.0), (1e-3, 0.6, 30.0)]:
        x0 = np.concatenate([[0.0, 0.0], rng.uniform(0, 50, 5)])
        x1 = x0 + np.concatenate([[1e-3, 400.0], rng.uniform(0.01, 3000, 5)])
        xb = np.unique(np.concatenate([[0.0], x0, x1]))
        i0, i1 = np.searchsorted(xb, x0), np.searchsorted(xb, x1)

        def value(lc, om, lt, a, b):
            return time_integral(10**lc, om, 10**lt, a, b)

        lc, lt = math.log10(c), math.log10(tau)
        cum = time_moment_table(c, omega, tau, xb, _GL_X, _GL_W, _HMAX)
        out = np.empty(10)
        for j in range(x0.size):
            _time_derivs(c, omega, tau, x0[j], x1[j], cum, i0[j], i1[j], out)
            tv = value(lc, omega, lt, x0[j], x1[j])
            assert out[0] == pytest.approx(tv, rel=1e-11)
            h = 1e-5
            p = np.array([lc, omega, lt])
            grads = []
            for k in range(3):
                e = np.zeros(3)
                e[k] = h
                grads.append((value(*(p + e), x0[j], x1[j]) - value(*(p - e), x0[j], x1[j])) / (2 * h))
            np.testing.assert_allclose(out[1:4], grads, rtol=1e-6, atol=1e-9 * tv)
            h = 1e-4
            hess = np.array([[out[4], out[5], out[6]], [out[5], out[7], out[8]], [out[6], out[8], out[9]]])
            for k in range(3):
                e = np.zeros(3)
                e[k] = h
                col = [
                    (
                        value(*(p + e + f), x0[j], x1[j])
                        - value(*(p + e - f), x0[j], x1[j])
                        - value(*(p - e + f), x0[j], x1[j])
                        + value(*(p - e - f), x0[j], x1[j])
                    )
                    / (4 * h * h)
                    for f in np.eye(3) * h
                ]
                np.testing.assert_allclose(
                    hess[:, k], col, rtol=1e-4, atol=1e-6 * max(tv, np.abs(hess).max())
                )
        # an infinite end: the normalisation of the time kernel over [0, inf)
        _time_derivs(c, omega, tau, 0.0, 0.0, cum, 0, cum.shape[0] - 1, out)
        assert out[0] == pytest.approx(value(lc, omega, lt, 0.0, 1e7), rel=1e-11)


@pytest.mark.parametrize("variant", ["plane", "temporal"])
def test_analytic_hessian_matches_differences_of_the_gradient(small, variant):
    """The log-likelihood's Hessian (pair sums and expected-count term) is analytic and matches central
    differences of the analytic gradient, which matches differences of the log-likelihood (the exact
    region integral: test_fit_is_a_stationary_point_of_the_reported_likelihood)."""
    cat, truth = small
    if variant == "plane":
        model = ETAS(min_magnitude=2.0, region=BOX, region_integral="plane")
        idx = list(range(9))
    else:
        model = ETAS(min_magnitude=2.0, spatial=False)
        truth = truth.copy()
        truth[0] = 0.0
        idx = list(range(6))
    prep = model._prepare(cat, *WINDOW)
    theta = truth + np.array([0.05, -0.05, 0.1, 0.1, -0.05, 0.1, 0.1, -0.1, 0.05])
    _fd_hessian_check(model, prep, theta, idx, rtol=1e-5)


def test_mstep_objective_derivatives_and_newton_mstep(small):
    """The reference M-step's objective: analytic gradient and Hessian against differences; the Newton
    M-step ends where the gradient vanishes (free parameters), in a few passes over the pairs."""
    cat, truth = small
    model = ETAS(min_magnitude=2.0, region=BOX, method="em-reference")
    prep = model._prepare(cat, *WINDOW)
    pptr = prep.pair_pointer()
    prob = np.empty(int(pptr[-1]), dtype=np.float32)
    l_hat, n_hat, dtw, _ = model._estep(truth, prep, pptr, prob)
    th = truth + np.array([0.0, -0.05, 0.1, 0.1, -0.05, 0.1, 0.1, -0.1, 0.05])
    q, g, hess = model._mstep_objective(th, prep, pptr, prob, l_hat, dtw)
    h = 1e-5
    for k in range(1, 9):
        e = np.zeros(9)
        e[k] = h
        qp, gp, _ = model._mstep_objective(th + e, prep, pptr, prob, l_hat, dtw)
        qm, gm, _ = model._mstep_objective(th - e, prep, pptr, prob, l_hat, dtw)
        assert g[k] == pytest.approx((qp - qm) / (2 * h), rel=1e-5, abs=1e-6 * np.abs(g).max()), k
        np.testing.assert_allclose(
            hess[1:, k], (gp - gm)[1:] / (2 * h), rtol=1e-5, atol=1e-7 * np.abs(hess).max()
        )
    # the E-step's own pair sums (one pass for both) give the same objective
    fused = model._estep(truth, prep, pptr, prob, pair_sums=True)
    assert fused[1] == pytest.approx(n_hat, rel=1e-12) and fused[2] == pytest.approx(dtw, rel=1e-6)
    direct = model._mstep_objective(truth, prep, pptr, prob, l_hat, dtw)
    reused = model._mstep_objective(truth, prep, pptr, prob, l_hat, dtw, fused[4])
    assert reused[0] == pytest.approx(direct[0], rel=1e-12)
    np.testing.assert_allclose(reused[1], direct[1], rtol=1e-9, atol=1e-9 * np.abs(direct[1]).max())
    model._mstep_evaluations = 0
    new = model._mstep(truth, prep, pptr, prob, l_hat, n_hat, dtw)
    assert model._mstep_evaluations <= 8
    _, g_new, _ = model._mstep_objective(new, prep, pptr, prob, l_hat, dtw)
    assert np.abs(g_new[1:]).max() < 1e-6 * np.abs(g[1:]).max()
    assert new[0] == pytest.approx(math.log10(n_hat / (model.area_km2 * (prep.t_end - prep.t_start))))


def test_accelerated_em_reaches_the_plain_em_fixed_point(small):
    """SQUAREM changes the path, not the fixed point: both EMs, run to a tight tolerance, agree to 1e-4."""
    cat, truth = small
    fits = {}
    for accelerate in (False, True):
        model = ETAS(
            min_magnitude=2.0,
            region=BOX,
            method="em-reference",
            accelerate=accelerate,
            tol=1e-6,
            max_iter=500,
        )
        theta0 = dict(zip(model.theta0, truth + 0.2 * np.array([0, 1, -1, 1, -1, 1, -1, 1, -1]), strict=True))
        model.theta0 = theta0
        model.fit(cat, auxiliary_start=WINDOW[0], start=WINDOW[1], end=WINDOW[2], standard_errors=False)
        fits[accelerate] = model
    np.testing.assert_allclose(fits[True].params_.to_array(), fits[False].params_.to_array(), atol=1e-4)


def test_pair_sums_do_not_depend_on_the_thread_count(small):
    cat, truth = small
    model = ETAS(min_magnitude=2.0, region=BOX, method="em-reference")
    prep = model._prepare(cat, *WINDOW)
    pptr = prep.pair_pointer()
    results = []
    before = numba.get_num_threads()
    try:
        for n in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(n)
            prob = np.empty(int(pptr[-1]), dtype=np.float32)
            l_hat, n_hat, dtw, lam, sums = model._estep(truth, prep, pptr, prob, pair_sums=True)
            q, g, hess = model._mstep_objective(truth, prep, pptr, prob, l_hat, dtw)
            ll, grad, _, _ = model._evaluate(truth, prep, 2)
            results.append((n_hat, dtw, q, ll, *g, *grad))
    finally:
        numba.set_num_threads(before)
    for r in results[1:]:
        np.testing.assert_array_equal(np.array(r), np.array(results[0]))
