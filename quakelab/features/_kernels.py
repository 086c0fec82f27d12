"""Compiled inner loop of the ETAS feature (imported lazily: numba compiles on first use)."""

from __future__ import annotations

import numba
import numpy as np

from quakelab.models._kernels import time_integral


@numba.njit(cache=True, parallel=True)
def horizon_integrals(tq, ts, horizon, c, omega, tau):
    """Omori-kernel integral over ``[tq_i, tq_i + horizon)`` of each source ``ts_j < tq_i`` (0 otherwise)."""
    out = np.zeros((tq.size, ts.size))
    for i in numba.prange(tq.size):
        for j in range(ts.size):
            if ts[j] < tq[i]:
                out[i, j] = time_integral(c, omega, tau, tq[i] - ts[j], tq[i] - ts[j] + horizon)
    return out
