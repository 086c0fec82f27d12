"""Compiled loops of the statistics module (numba), imported only when used."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, parallel=True)
def nearest_neighbour(t, lat, lon, m, b, df, radius):
    """Zaliapin–Ben-Zion nearest neighbour of every event: (eta, parent index or -1); radians, days."""
    n = t.size
    eta = np.full(n, np.inf)
    parent = np.full(n, -1)
    for j in numba.prange(n):
        best = np.inf
        arg = -1
        for i in range(n):
            dt = t[j] - t[i]
            if dt <= 0.0:
                continue
            h = (
                np.sin((lat[j] - lat[i]) / 2) ** 2
                + np.cos(lat[i]) * np.cos(lat[j]) * np.sin((lon[j] - lon[i]) / 2) ** 2
            )
            r = 2 * radius * np.arcsin(np.sqrt(min(h, 1.0)))
            r = max(r, 1e-3)  # co-located events: 1 m floor
            val = dt / 365.25 * r**df * 10 ** (-b * m[i])
            if val < best:
                best = val
                arg = i
        eta[j] = best
        parent[j] = arg
    return eta, parent
