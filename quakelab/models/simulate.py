"""Branching simulation of ETAS catalogs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from quakelab.region import Region


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


def gr_magnitudes(n: int, beta: float, m_low: float, delta_m: float, rng: np.random.Generator,
                  m_max: float | None = None) -> np.ndarray:
    """Gutenberg–Richter magnitudes above ``m_low`` (continuous), rounded to ``delta_m`` when positive."""
    u = rng.uniform(size=n)
    norm = 1.0 if m_max is None else 1 - math.exp(-beta * (m_max - m_low))
    m = m_low - np.log(1 - norm * u) / beta
    if delta_m > 0:
        m = np.round(np.floor(m / delta_m + 0.5 + 1e-9) * delta_m, 10)
    return m


def simulate_branching(*, mu: float, k0: float, a: float, c: float, omega: float, tau: float, d: float,
                       gamma: float, rho: float, beta: float, m_ref: float, delta_m: float, start: float,
                       end: float, region: Region | None, spatial: bool, area_km2: float,
                       history: pd.DataFrame | None, rng: np.random.Generator, earth_radius_km: float,
                       m_max: float | None = None, max_events: int = 5_000_000) -> pd.DataFrame:
    """Simulate events in ``[start, end]`` (days) generation by generation.

    ``history`` (columns ``t, latitude, longitude, magnitude``) holds earlier events whose aftershocks
    fall in the window. Returns columns ``t, latitude, longitude, magnitude, generation, parent, sim_id``
    (``parent`` is the parent's ``sim_id``, -1 for background, -2 for children of history events).
    """
    from quakelab.models._kernels import sample_times, time_integrals

    n_bg = rng.poisson(mu * (area_km2 if spatial else 1.0) * (end - start))
    t_bg = rng.uniform(start, end, n_bg)
    if spatial:
        lon_bg, lat_bg = uniform_in_region(region, n_bg, rng)
    else:
        lon_bg = lat_bg = np.full(n_bg, np.nan)
    m_bg = gr_magnitudes(n_bg, beta, m_ref, delta_m, rng, m_max)
    parts = [pd.DataFrame({"t": t_bg, "latitude": lat_bg, "longitude": lon_bg, "magnitude": m_bg,
                           "generation": 0, "parent": -1, "sim_id": np.arange(n_bg)})]
    if history is not None and len(history):
        parents = history[["t", "latitude", "longitude", "magnitude"]].copy()
        parents["id"] = -2
        gen_children_of_history = True
    else:
        parents = parts[0].assign(id=np.arange(n_bg))
        gen_children_of_history = False
    total = n_bg
    generation = 0
    offset = n_bg
    while len(parents):
        generation += 1
        tp = parents["t"].to_numpy(dtype=float)
        mp = parents["magnitude"].to_numpy(dtype=float) - m_ref
        lo = np.clip(start - tp, 0, None)
        hi = end - tp
        ok = hi > lo
        expected = np.zeros(len(parents))
        tint = time_integrals(c, omega, tau, lo[ok], hi[ok])
        weight = k0 * np.exp(a * mp[ok]) * tint
        if spatial:
            weight = weight * math.pi / (rho * (d * np.exp(gamma * mp[ok])) ** rho)
        expected[ok] = weight
        n_child = rng.poisson(expected)
        idx = np.repeat(np.arange(len(parents)), n_child)
        k = idx.size
        if k == 0:
            if gen_children_of_history:
                gen_children_of_history = False
                parents = parts[0].assign(id=np.arange(n_bg))
                generation = 0
                continue
            break
        lags = sample_times(lo[idx], hi[idx], rng.uniform(size=k), c, omega, tau)
        t_child = tp[idx] + lags
        if spatial:
            big_d = d * np.exp(gamma * mp[idx])
            r = np.sqrt(big_d * (rng.uniform(size=k) ** (-1.0 / rho) - 1.0))
            theta = rng.uniform(0, 2 * math.pi, k)
            lat0 = np.radians(parents["latitude"].to_numpy(dtype=float)[idx])
            lon0 = np.radians(parents["longitude"].to_numpy(dtype=float)[idx])
            delta = r / earth_radius_km  # destination point on the sphere
            lat_c = np.arcsin(np.sin(lat0) * np.cos(delta) + np.cos(lat0) * np.sin(delta) * np.cos(theta))
            lon_c = lon0 + np.arctan2(np.sin(theta) * np.sin(delta) * np.cos(lat0),
                                      np.cos(delta) - np.sin(lat0) * np.sin(lat_c))
            lat_child = np.degrees(lat_c)
            lon_child = (np.degrees(lon_c) + 180.0) % 360.0 - 180.0
        else:
            lat_child = parents["latitude"].to_numpy(dtype=float)[idx]
            lon_child = parents["longitude"].to_numpy(dtype=float)[idx]
        m_child = gr_magnitudes(k, beta, m_ref, delta_m, rng, m_max)
        parent_id = parents["id"].to_numpy()[idx]
        children = pd.DataFrame({"t": t_child, "latitude": lat_child, "longitude": lon_child, "magnitude": m_child,
                                 "generation": generation, "parent": parent_id,
                                 "sim_id": np.arange(offset, offset + k)})
        parts.append(children)
        total += k
        if total > max_events:
            raise RuntimeError(f"simulation exceeded {max_events:,} events: the process looks explosive "
                               "(branching ratio >= 1?)")
        parents = children.assign(id=children["sim_id"].to_numpy())
        offset += k
        if gen_children_of_history:
            # children of the history are done: continue with them plus the background as parents
            parents = pd.concat([parents, parts[0].assign(id=np.arange(n_bg))], ignore_index=True)
            gen_children_of_history = False
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values("t", kind="mergesort").reset_index(drop=True)
