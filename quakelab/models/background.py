"""Spatially variable background densities for ETAS: adaptive kernel estimate or a user grid.

A background object describes where background (independent) events occur: a probability density
``f(lon, lat)`` per km² that integrates to 1 over the model's region. The ETAS background rate at a point
is then ``mu * A * f(x)`` (``mu`` the mean rate per km² per day, ``A`` the region's area), so the uniform
density ``f = 1 / A`` gives back the homogeneous background and the expected number of background events
stays ``mu A T``. Every background offers

* ``density(lon, lat)`` — per km², 0 outside the region;
* ``sample(n, rng)`` — ``(lon, lat)`` of ``n`` independent points drawn from the density;
* ``cell_integrals(lon_edges, lat_edges)`` — the probability of each lon/lat cell (inside the region);
* ``to_dict()`` / :func:`background_from_dict` — JSON-serialisable state.

:class:`KernelBackground` is the estimate of Zhuang, Ogata & Vere-Jones (2002, JASA 97, 369–380): each
event ``i`` carries a Gaussian kernel whose bandwidth is the distance to its ``k``-th nearest neighbour
(not below a floor), weighted by its probability of being a background event from the stochastic
declustering (the E-step of the ETAS fit); the ETAS fit takes the bandwidths from the background events
alone (:func:`weighted_neighbour_bandwidths`) and evaluates the density at the events leave-one-out
(:meth:`KernelBackground.density_at_centres`), which removes the bias of the plain estimate (its kernels
shrink to aftershock clusters and each event's own kernel raises its background probability, so the
background absorbs part of the clustering: ``mu`` too high, ``k0`` too low). Each kernel's mass inside the
region polygon is integrated exactly in the radial direction and by Gauss–Legendre quadrature in angle (the ray table of
:func:`quakelab.models.etas.region_ray_table`), so the density is normalised over the region even where
kernels near the boundary spill outside it. :class:`GridBackground` is piecewise constant on lon/lat
cells (e.g. a smoothed-seismicity map or a forecast given by the user).

Units: densities are per true km² (on the WGS84 ellipsoid, as every area in :mod:`quakelab.region`: the
region's, the cells', the uniform part ``1 / A``). Kernel distances are great-circle distances on the sphere
of ``earth_radius_km``; a kernel's density there is converted to true km² by the ratio of the two area
elements (:func:`quakelab.region.sphere_to_true_area`, 1.0026 at 33.5°N), so it still integrates to its mass.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from quakelab.region import EARTH_RADIUS_KM, Region, as_region, band_area_km2, sphere_to_true_area

#: Kernels are cut at this many bandwidths when evaluated (their mass beyond is below 1e-13).
_CUT = 8.0


class BackgroundError(ValueError):
    """A background density that cannot be built from the given input."""


# ---------------------------------------------------------------------------------------------- numba core
@numba.njit(cache=True, parallel=True)
def _kernel_sum(lat_q, lon_q, lat_c, lon_c, weight, bw, radius):
    """Sum over centres of ``weight_i exp(-r²/2h_i²) / (2 pi h_i²)`` at every query point (radians, km)."""
    nq = lat_q.size
    nc = lat_c.size
    out = np.zeros(nq)
    two_pi = 2.0 * math.pi
    for q in numba.prange(nq):
        la = lat_q[q]
        lo = lon_q[q]
        cq = math.cos(la)
        s = 0.0
        for i in range(nc):
            w = weight[i]
            if w <= 0.0:
                continue
            h = bw[i]
            if abs(la - lat_c[i]) * radius > _CUT * h:
                continue
            hv = (
                math.sin((la - lat_c[i]) / 2.0) ** 2
                + cq * math.cos(lat_c[i]) * math.sin((lo - lon_c[i]) / 2.0) ** 2
            )
            if hv > 1.0:
                hv = 1.0
            r = 2.0 * radius * math.asin(math.sqrt(hv))
            if r > _CUT * h:
                continue
            s += w * math.exp(-0.5 * (r / h) ** 2) / (two_pi * h * h)
        out[q] = s
    return out


@numba.njit(cache=True)
def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@numba.njit(cache=True)
def _kernel_cells(lat_c, lon_c, weight, bw, lat_edges, lon_edges, radius):
    """Mass of every weighted kernel in every lon/lat cell (local equirectangular projection, erf products)."""
    nla = lat_edges.size - 1
    nlo = lon_edges.size - 1
    out = np.zeros((nla, nlo))
    for i in range(lat_c.size):
        w = weight[i]
        if w <= 0.0:
            continue
        h = bw[i]
        la = lat_c[i]
        lo = lon_c[i]
        ky = radius * math.pi / 180.0
        kx = ky * math.cos(math.radians(la))
        span_y = _CUT * h / ky
        span_x = _CUT * h / max(kx, 1e-9)
        a0 = np.searchsorted(lat_edges, la - span_y) - 1
        a1 = np.searchsorted(lat_edges, la + span_y)
        b0 = np.searchsorted(lon_edges, lo - span_x) - 1
        b1 = np.searchsorted(lon_edges, lo + span_x)
        a0 = max(a0, 0)
        b0 = max(b0, 0)
        a1 = min(a1, nla)
        b1 = min(b1, nlo)
        for a in range(a0, a1):
            py = _phi((lat_edges[a + 1] - la) * ky / h) - _phi((lat_edges[a] - la) * ky / h)
            if py <= 0.0:
                continue
            for b in range(b0, b1):
                px = _phi((lon_edges[b + 1] - lo) * kx / h) - _phi((lon_edges[b] - lo) * kx / h)
                out[a, b] += w * px * py
    return out


# ---------------------------------------------------------------------------------------------- helpers
def _radians(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    shape = lon_a.shape
    return np.radians(lon_a.ravel()), np.radians(lat_a.ravel()), shape


def _uniform_in_cells(
    rng: np.random.Generator, lon0: np.ndarray, lon1: np.ndarray, lat0: np.ndarray, lat1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One point uniform on the sphere in each lon/lat cell."""
    lon = rng.uniform(lon0, lon1)
    s0, s1 = np.sin(np.radians(lat0)), np.sin(np.radians(lat1))
    lat = np.degrees(np.arcsin(rng.uniform(s0, s1)))
    return lon, lat


def _region_cell_fraction(
    region: Region, lon_edges: np.ndarray, lat_edges: np.ndarray, sub: int = 16
) -> np.ndarray:
    """Fraction of every lon/lat cell inside ``region`` (``sub`` × ``sub`` sub-cell centres per cell)."""
    nla, nlo = lat_edges.size - 1, lon_edges.size - 1
    frac = np.zeros((nla, nlo))
    u = (np.arange(sub) + 0.5) / sub
    lon_s = (lon_edges[:-1, None] + np.diff(lon_edges)[:, None] * u[None, :]).ravel()  # (nlo*sub)
    for a in range(nla):
        lat_s = lat_edges[a] + (lat_edges[a + 1] - lat_edges[a]) * u
        glon, glat = np.meshgrid(lon_s, lat_s)
        inside = region.contains(glon.ravel(), glat.ravel()).reshape(sub, nlo, sub)
        frac[a] = inside.mean(axis=(0, 2))
    return frac


def nearest_neighbour_bandwidths(
    longitude: np.ndarray,
    latitude: np.ndarray,
    k_neighbours: int,
    min_bandwidth_km: float,
    earth_radius_km: float = EARTH_RADIUS_KM,
) -> np.ndarray:
    """Distance (km, chord) from every point to its ``k``-th nearest other point, not below the floor.

    Parameters
    ----------
    longitude, latitude : array
        Points (degrees).
    k_neighbours : int
        Neighbour rank (coincident points count).
    min_bandwidth_km : float
        Lower limit (location errors).
    earth_radius_km : float
        Sphere radius.

    Returns
    -------
    numpy.ndarray
        Bandwidths in km.
    """
    from scipy.spatial import cKDTree

    lat = np.radians(np.asarray(latitude, dtype=float))
    lon = np.radians(np.asarray(longitude, dtype=float))
    xyz = earth_radius_km * np.column_stack(
        [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]
    )
    k = min(int(k_neighbours), max(lat.size - 1, 1))
    dist, _ = cKDTree(xyz).query(xyz, k=k + 1)
    d = dist[:, -1] if dist.ndim == 2 else dist
    return np.maximum(np.asarray(d, dtype=float), float(min_bandwidth_km))


def weighted_neighbour_bandwidths(
    longitude: np.ndarray,
    latitude: np.ndarray,
    weights: np.ndarray,
    k_neighbours: float,
    min_bandwidth_km: float,
    earth_radius_km: float = EARTH_RADIUS_KM,
    max_neighbours: int = 2000,
) -> np.ndarray:
    """Distance (km, chord) from every point at which the summed weights of the other points reach ``k``.

    With background probabilities as weights this is the nearest-neighbour bandwidth of the background
    events alone: inside an aftershock cluster the neighbours carry little weight, so the kernels stay as
    wide as the background's own spacing instead of shrinking to the cluster's size.

    Parameters
    ----------
    longitude, latitude : array
        Points (degrees).
    weights : array
        Non-negative weight of each point.
    k_neighbours : float
        Summed weight of the neighbours (the point itself excluded) that sets the bandwidth.
    min_bandwidth_km : float
        Lower limit.
    earth_radius_km : float
        Sphere radius.
    max_neighbours : int, default 2000
        Most neighbours searched; a point whose neighbours do not reach ``k`` within them gets the
        distance to the farthest one searched.

    Returns
    -------
    numpy.ndarray
        Bandwidths in km.
    """
    from scipy.spatial import cKDTree

    lat = np.radians(np.asarray(latitude, dtype=float))
    lon = np.radians(np.asarray(longitude, dtype=float))
    w = np.asarray(weights, dtype=float).ravel()
    if w.size != lat.size:
        raise BackgroundError(f"{w.size} weights for {lat.size} points")
    xyz = earth_radius_km * np.column_stack(
        [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]
    )
    n = lat.size
    tree = cKDTree(xyz)
    out = np.empty(n)
    todo = np.arange(n)
    m = min(max(int(4 * k_neighbours) + 1, 32), n)
    while todo.size:
        dist, idx = tree.query(xyz[todo], k=m)
        dist = dist.reshape(todo.size, -1)[:, 1:]  # the point itself first
        idx = idx.reshape(todo.size, -1)[:, 1:]
        cum = np.cumsum(w[np.minimum(idx, n - 1)] * (idx < n), axis=1)
        hit = cum[:, -1] >= k_neighbours
        last = m >= min(n, max_neighbours)
        done = hit | last
        pos = np.argmax(cum >= k_neighbours, axis=1)
        pos = np.where(hit, pos, dist.shape[1] - 1)
        out[todo[done]] = dist[done, pos[done]] if dist.shape[1] else 0.0
        todo = todo[~done]
        m = min(4 * m, n, max_neighbours)
    return np.maximum(out, float(min_bandwidth_km))


# ---------------------------------------------------------------------------------------------- kernel estimate
class KernelBackground:
    """Weighted adaptive Gaussian kernel density, normalised over a region (Zhuang et al. 2002).

    ``f(x) = (1 - u) sum_i w_i K_{h_i}(x - x_i) / sum_i w_i M_i + u / A`` inside the region (0 outside),
    with ``K_h(r) = exp(-r²/2h²) / (2 pi h²)`` of the great-circle distance, ``M_i`` the mass of kernel
    ``i`` inside the region and ``u`` an optional uniform share.

    Parameters
    ----------
    region : Region or bbox or vertices
        The region the density is normalised over.
    longitude, latitude : array
        Kernel centres (degrees), inside the region.
    bandwidth_km : array or float
        Kernel bandwidth of each centre (km).
    weights : array, optional
        Non-negative weight of each centre (e.g. background probabilities); ones when None.
    uniform_fraction : float, default 0
        Share ``u`` of a uniform density mixed in (a floor far from every centre).
    earth_radius_km : float
        Sphere radius.
    quadrature_nodes : int, default 16
        Gauss–Legendre nodes per angular sector of the in-region kernel masses.

    Examples
    --------
    >>> bg = KernelBackground((-117, -116, 33, 34), [-116.5], [33.5], 5.0)
    >>> # the Gaussian's peak 1 / (2 pi h²) per sphere km², times the sphere-to-WGS84 area ratio there
    >>> round(float(bg.density(-116.5, 33.5)[()] * 2 * 3.14159265 * 25), 4)
    1.0026
    """

    kind = "adaptive-kernel"

    def __init__(
        self,
        region: Region | Any,
        longitude: Any,
        latitude: Any,
        bandwidth_km: Any,
        weights: Any = None,
        *,
        uniform_fraction: float = 0.0,
        earth_radius_km: float = EARTH_RADIUS_KM,
        quadrature_nodes: int = 16,
    ) -> None:
        self.region = as_region(region)
        self.longitude = np.ascontiguousarray(np.asarray(longitude, dtype=float).ravel())
        self.latitude = np.ascontiguousarray(np.asarray(latitude, dtype=float).ravel())
        n = self.longitude.size
        if n == 0 or self.latitude.size != n:
            raise BackgroundError(
                f"need as many latitudes as longitudes (>= 1), got {n} and {self.latitude.size}"
            )
        self.bandwidth_km = np.ascontiguousarray(
            np.broadcast_to(np.asarray(bandwidth_km, dtype=float), (n,)).copy()
        )
        if not np.all(self.bandwidth_km > 0):
            raise BackgroundError("kernel bandwidths must be positive")
        if not np.all(self.region.contains(self.longitude, self.latitude)):
            raise BackgroundError("every kernel centre must lie inside the region")
        self.uniform_fraction = float(uniform_fraction)
        if not 0.0 <= self.uniform_fraction <= 1.0:
            raise BackgroundError(f"uniform_fraction must be in [0, 1], got {uniform_fraction}")
        self.earth_radius_km = float(earth_radius_km)
        self.quadrature_nodes = int(quadrature_nodes)
        self.area_km2 = self.region.area_km2()
        self._table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.masses = self._masses()
        self.set_weights(np.ones(n) if weights is None else weights)

    @classmethod
    def estimate(
        cls,
        region: Region | Any,
        longitude: Any,
        latitude: Any,
        weights: Any = None,
        *,
        k_neighbours: int = 10,
        min_bandwidth_km: float = 0.5,
        uniform_fraction: float = 0.0,
        earth_radius_km: float = EARTH_RADIUS_KM,
        quadrature_nodes: int = 16,
    ) -> KernelBackground:
        """Kernels at the given events with nearest-neighbour bandwidths (Zhuang et al. 2002).

        Parameters
        ----------
        region : Region or bbox or vertices
            Region.
        longitude, latitude : array
            Events (degrees), inside the region.
        weights : array, optional
            Background probabilities of the events (ones when None).
        k_neighbours : int, default 10
            The bandwidth of an event is the distance to its ``k``-th nearest neighbour.
        min_bandwidth_km : float, default 0.5
            Bandwidth floor.
        uniform_fraction, earth_radius_km, quadrature_nodes
            As in the constructor.

        Returns
        -------
        KernelBackground
        """
        bw = nearest_neighbour_bandwidths(
            longitude, latitude, k_neighbours, min_bandwidth_km, earth_radius_km
        )
        out = cls(
            region,
            longitude,
            latitude,
            bw,
            weights,
            uniform_fraction=uniform_fraction,
            earth_radius_km=earth_radius_km,
            quadrature_nodes=quadrature_nodes,
        )
        out.k_neighbours = int(k_neighbours)
        out.min_bandwidth_km = float(min_bandwidth_km)
        return out

    def _masses(self) -> np.ndarray:
        """Mass of every (unit) kernel inside the region: sum over ray-table entries of coef F(r)."""
        if self._table is None:
            from quakelab.models.etas import region_ray_table

            ptr, coef, r2 = region_ray_table(
                self.region,
                self.latitude,
                self.longitude,
                nodes=self.quadrature_nodes,
                earth_radius_km=self.earth_radius_km,
            )
            owner = np.repeat(np.arange(self.longitude.size), np.diff(ptr))
            self._table = (owner, coef, r2)
        owner, coef, r2 = self._table
        h = self.bandwidth_km[owner]
        contrib = coef * -np.expm1(-r2 / (2 * h * h)) / (2 * math.pi)
        return np.clip(np.bincount(owner, weights=contrib, minlength=self.longitude.size), 0.0, 1.0)

    def set_bandwidths(self, bandwidth_km: Any) -> KernelBackground:
        """Replace the kernels' bandwidths (km), renormalising; returns ``self``."""
        bw = np.ascontiguousarray(
            np.broadcast_to(np.asarray(bandwidth_km, dtype=float), self.longitude.shape).copy()
        )
        if not np.all(bw > 0):
            raise BackgroundError("kernel bandwidths must be positive")
        self.bandwidth_km = bw
        self.masses = self._masses()
        return self.set_weights(self.weights)

    def density_at_centres(self, leave_one_out: bool = True) -> np.ndarray:
        """Density per km² at the kernel centres, each centre's own kernel left out when asked.

        The leave-one-out value ``f_{-i}(x_i)`` is the estimate at an event from all the other events:
        used in the likelihood of the events the kernels are built on, an event's own kernel would
        otherwise raise its background probability, which raises its weight, and so on, so that the
        background absorbs part of the clustering.

        Parameters
        ----------
        leave_one_out : bool, default True
            Remove each centre's own (weighted, normalised) kernel ``w_i K_{h_i}(0)``.

        Returns
        -------
        numpy.ndarray
            One density per centre (km⁻²).
        """
        dens = np.asarray(self.density(self.longitude, self.latitude), dtype=float)
        if leave_one_out:
            own = (
                self._scaled
                / (2 * math.pi * self.bandwidth_km**2)
                * sphere_to_true_area(self.latitude, self.earth_radius_km)
            )
            dens = dens - own
            # cancellation leaves ~1e-16 relative noise; floor at a millionth of the uniform density
            dens = np.maximum(dens, max(self.uniform_fraction, 1e-6) / self.area_km2)
        return dens

    def set_weights(self, weights: Any) -> KernelBackground:
        """Replace the centres' weights (e.g. new background probabilities); returns ``self``."""
        w = np.ascontiguousarray(np.asarray(weights, dtype=float).ravel())
        if w.size != self.longitude.size:
            raise BackgroundError(f"{w.size} weights for {self.longitude.size} kernel centres")
        if np.any(w < 0) or not np.all(np.isfinite(w)):
            raise BackgroundError("weights must be finite and non-negative")
        norm = float(np.dot(w, self.masses))
        if not norm > 0:
            raise BackgroundError("the weighted kernels have no mass inside the region")
        self.weights = w
        self._scaled = np.ascontiguousarray(w * (1.0 - self.uniform_fraction) / norm)
        return self

    def density(self, lon: Any, lat: Any) -> np.ndarray:
        """Density per km² at the given points (0 outside the region); integrates to 1 over the region.

        Parameters
        ----------
        lon, lat : array or float
            Points (degrees).

        Returns
        -------
        numpy.ndarray
            Density, shaped like the broadcast inputs.
        """
        rlon, rlat, shape = _radians(lon, lat)
        val = _kernel_sum(
            rlat,
            rlon,
            np.radians(self.latitude),
            np.radians(self.longitude),
            self._scaled,
            self.bandwidth_km,
            self.earth_radius_km,
        )
        val *= sphere_to_true_area(np.degrees(rlat), self.earth_radius_km)  # per true (WGS84) km²
        val += self.uniform_fraction / self.area_km2
        inside = self.region.contains(np.degrees(rlon), np.degrees(rlat))
        return np.where(inside, val, 0.0).reshape(shape)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points from the density: a kernel drawn by weight, a Gaussian step, rejected outside.

        Parameters
        ----------
        n : int
            Number of points.
        rng : numpy.random.Generator
            Random generator.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            Longitudes and latitudes (degrees).
        """
        from quakelab.models.simulate import _destination_np, uniform_in_region

        n = int(n)
        n_uniform = int(rng.binomial(n, self.uniform_fraction)) if self.uniform_fraction > 0 else 0
        p = self.weights / self.weights.sum()
        lons, lats = [], []
        need = n - n_uniform
        while need > 0:
            k = max(int(need * 1.3) + 16, 64)
            idx = rng.choice(p.size, size=k, p=p)
            h = self.bandwidth_km[idx]
            r = h * np.sqrt(-2.0 * np.log1p(-rng.random(k)))
            theta = rng.uniform(0.0, 2 * math.pi, k)
            lat, lon = _destination_np(
                self.latitude[idx], self.longitude[idx], r, theta, self.earth_radius_km
            )
            ok = self.region.contains(lon, lat)
            take = min(int(ok.sum()), need)
            lons.append(lon[ok][:take])
            lats.append(lat[ok][:take])
            need -= take
        if n_uniform:
            ulon, ulat = uniform_in_region(self.region, n_uniform, rng)
            lons.append(ulon)
            lats.append(ulat)
        lon_all = np.concatenate(lons) if lons else np.empty(0)
        lat_all = np.concatenate(lats) if lats else np.empty(0)
        if n_uniform and lon_all.size > 1:
            order = rng.permutation(lon_all.size)
            lon_all, lat_all = lon_all[order], lat_all[order]
        return lon_all, lat_all

    def cell_integrals(self, lon_edges: Any, lat_edges: Any) -> np.ndarray:
        """Probability of every lon/lat cell (latitude, longitude), counting only the region's part.

        Kernel masses per cell are products of normal distribution functions in the local projection of
        each centre; cells cut by the region's boundary are integrated on a 16 × 16 sub-grid of the density.

        Parameters
        ----------
        lon_edges, lat_edges : array
            Increasing cell edges (degrees).

        Returns
        -------
        numpy.ndarray
            ``(n_lat, n_lon)`` probabilities (sum ≈ 1 when the cells cover the region).
        """
        lon_e = np.asarray(lon_edges, dtype=float)
        lat_e = np.asarray(lat_edges, dtype=float)
        frac = _region_cell_fraction(self.region, lon_e, lat_e, sub=4)
        out = _kernel_cells(
            self.latitude, self.longitude, self._scaled, self.bandwidth_km, lat_e, lon_e, self.earth_radius_km
        )
        dlon = np.diff(lon_e)
        full_area = band_area_km2(lat_e[:-1, None], lat_e[1:, None], dlon[None, :])
        out = out + self.uniform_fraction / self.area_km2 * full_area
        edge = (frac > 0) & (frac < 1)
        for a, b in zip(*np.nonzero(edge), strict=True):
            sub = 16
            u = (np.arange(sub) + 0.5) / sub
            glon, glat = np.meshgrid(lon_e[b] + dlon[b] * u, lat_e[a] + (lat_e[a + 1] - lat_e[a]) * u)
            out[a, b] = float(self.density(glon.ravel(), glat.ravel()).mean()) * full_area[a, b]
        out[frac == 0] = 0.0
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state."""
        return {
            "kind": self.kind,
            "version": 1,
            "region": self.region.to_dict(),
            "longitude": self.longitude.tolist(),
            "latitude": self.latitude.tolist(),
            "bandwidth_km": self.bandwidth_km.tolist(),
            "weights": self.weights.tolist(),
            "uniform_fraction": self.uniform_fraction,
            "earth_radius_km": self.earth_radius_km,
            "quadrature_nodes": self.quadrature_nodes,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KernelBackground:
        """Inverse of :meth:`to_dict`."""
        return cls(
            Region.from_dict(d["region"]),
            d["longitude"],
            d["latitude"],
            d["bandwidth_km"],
            d["weights"],
            uniform_fraction=d.get("uniform_fraction", 0.0),
            earth_radius_km=d.get("earth_radius_km", EARTH_RADIUS_KM),
            quadrature_nodes=d.get("quadrature_nodes", 16),
        )


# ---------------------------------------------------------------------------------------------- grid
class GridBackground:
    """Piecewise-constant density on lon/lat cells, normalised over the region.

    Parameters
    ----------
    region : Region or bbox or vertices
        The region the density is normalised over.
    lon_edges, lat_edges : array
        Increasing cell edges (degrees).
    counts : array (n_lat, n_lon)
        Non-negative relative rate of each cell (e.g. expected numbers of events); only ratios matter.
        The density in a cell is its share of the total divided by the cell's (true, WGS84) area inside the
        region.
    earth_radius_km : float
        Kept with the background's state; cell areas are true (WGS84) areas.

    Examples
    --------
    >>> bg = GridBackground((0, 2, 0, 1), [0, 1, 2], [0, 1], [[1.0, 3.0]])
    >>> bool(bg.density(1.5, 0.5) > bg.density(0.5, 0.5))
    True
    """

    kind = "grid"

    def __init__(
        self,
        region: Region | Any,
        lon_edges: Any,
        lat_edges: Any,
        counts: Any,
        *,
        earth_radius_km: float = EARTH_RADIUS_KM,
    ) -> None:
        self.region = as_region(region)
        self.lon_edges = np.asarray(lon_edges, dtype=float)
        self.lat_edges = np.asarray(lat_edges, dtype=float)
        c = np.asarray(counts, dtype=float)
        shape = (self.lat_edges.size - 1, self.lon_edges.size - 1)
        if c.shape != shape:
            raise BackgroundError(f"counts have shape {c.shape}, the cells {shape} (latitude, longitude)")
        if np.any(np.diff(self.lon_edges) <= 0) or np.any(np.diff(self.lat_edges) <= 0):
            raise BackgroundError("cell edges must increase")
        c = np.nan_to_num(c, nan=0.0)
        if np.any(c < 0):
            raise BackgroundError("cell counts must be non-negative")
        self.earth_radius_km = float(earth_radius_km)
        frac = _region_cell_fraction(self.region, self.lon_edges, self.lat_edges)
        c = np.where(frac > 0, c, 0.0)
        total = float(c.sum())
        if not total > 0:
            raise BackgroundError("the grid has no positive count inside the region")
        self.counts = c
        self.fraction_inside = frac
        full_area = band_area_km2(
            self.lat_edges[:-1, None], self.lat_edges[1:, None], np.diff(self.lon_edges)[None, :]
        )
        area_in = full_area * frac
        with np.errstate(divide="ignore", invalid="ignore"):
            self.cell_density = np.where(area_in > 0, c / total / area_in, 0.0)
        self.probabilities = c / total

    @classmethod
    def from_forecast(cls, ds: Any, region: Region | Any | None = None) -> GridBackground:
        """From a gridded forecast (``expected_count`` over magnitude, latitude, longitude).

        Parameters
        ----------
        ds : xarray.Dataset
            Forecast with regular ``latitude``/``longitude`` cell centres.
        region : Region, optional
            The region; the forecast's ``region`` attribute (JSON) when None.

        Returns
        -------
        GridBackground
        """
        import json

        if region is None:
            if "region" not in ds.attrs:
                raise BackgroundError("the forecast has no 'region' attribute: pass region=")
            reg = ds.attrs["region"]
            region = Region.from_dict(json.loads(reg) if isinstance(reg, str) else reg)
        counts = ds["expected_count"]
        if "magnitude" in counts.dims:
            counts = counts.sum("magnitude")
        counts = counts.transpose("latitude", "longitude").to_numpy()
        return cls(
            region,
            _edges(ds["longitude"].to_numpy()),
            _edges(ds["latitude"].to_numpy()),
            counts,
        )

    @classmethod
    def from_grid(cls, spec: Any, counts: Any) -> GridBackground:
        """From an array over the cells of a :class:`quakelab.forecast.GridSpec` (latitude, longitude)."""
        return cls(spec.region, _edges(spec.longitudes), _edges(spec.latitudes), counts)

    def _cells(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ix = np.searchsorted(self.lon_edges, lon, side="right") - 1
        iy = np.searchsorted(self.lat_edges, lat, side="right") - 1
        ok = (ix >= 0) & (ix < self.lon_edges.size - 1) & (iy >= 0) & (iy < self.lat_edges.size - 1)
        return np.clip(iy, 0, self.lat_edges.size - 2), np.clip(ix, 0, self.lon_edges.size - 2), ok

    def density(self, lon: Any, lat: Any) -> np.ndarray:
        """Density per km² at the given points (0 outside the region and the grid)."""
        lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        shape = lon_a.shape
        lo, la = lon_a.ravel(), lat_a.ravel()
        iy, ix, ok = self._cells(lo, la)
        val = np.where(ok, self.cell_density[iy, ix], 0.0)
        val = np.where(self.region.contains(lo, la), val, 0.0)
        return val.reshape(shape)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points: a cell drawn by probability, a uniform point in it, redrawn while outside the region."""
        n = int(n)
        p = self.probabilities.ravel()
        cells = rng.choice(p.size, size=n, p=p / p.sum())
        iy, ix = np.divmod(cells, self.lon_edges.size - 1)
        lon = np.empty(n)
        lat = np.empty(n)
        todo = np.arange(n)
        for _ in range(10000):
            if todo.size == 0:
                break
            a, b = iy[todo], ix[todo]
            lo, la = _uniform_in_cells(
                rng, self.lon_edges[b], self.lon_edges[b + 1], self.lat_edges[a], self.lat_edges[a + 1]
            )
            ok = self.region.contains(lo, la)
            lon[todo[ok]] = lo[ok]
            lat[todo[ok]] = la[ok]
            todo = todo[~ok]
        return lon, lat

    def cell_integrals(self, lon_edges: Any, lat_edges: Any) -> np.ndarray:
        """Probability of every lon/lat cell of another grid (16 × 16 sub-grid of the density)."""
        lon_e = np.asarray(lon_edges, dtype=float)
        lat_e = np.asarray(lat_edges, dtype=float)
        if lon_e.shape == self.lon_edges.shape and lat_e.shape == self.lat_edges.shape:
            if np.allclose(lon_e, self.lon_edges) and np.allclose(lat_e, self.lat_edges):
                return self.probabilities.copy()
        sub = 16
        u = (np.arange(sub) + 0.5) / sub
        nla, nlo = lat_e.size - 1, lon_e.size - 1
        lon_s = (lon_e[:-1, None] + np.diff(lon_e)[:, None] * u[None, :]).ravel()
        out = np.zeros((nla, nlo))
        for a in range(nla):
            lat_s = lat_e[a] + (lat_e[a + 1] - lat_e[a]) * u
            glon, glat = np.meshgrid(lon_s, lat_s)
            dens = self.density(glon.ravel(), glat.ravel()).reshape(sub, nlo, sub).mean(axis=(0, 2))
            area = band_area_km2(lat_e[a], lat_e[a + 1], np.diff(lon_e))  # true (WGS84) cell areas
            out[a] = dens * area
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state."""
        return {
            "kind": self.kind,
            "version": 1,
            "region": self.region.to_dict(),
            "lon_edges": self.lon_edges.tolist(),
            "lat_edges": self.lat_edges.tolist(),
            "counts": self.counts.tolist(),
            "earth_radius_km": self.earth_radius_km,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GridBackground:
        """Inverse of :meth:`to_dict`."""
        return cls(
            Region.from_dict(d["region"]),
            d["lon_edges"],
            d["lat_edges"],
            d["counts"],
            earth_radius_km=d.get("earth_radius_km", EARTH_RADIUS_KM),
        )


def _edges(centres: np.ndarray) -> np.ndarray:
    """Edges of regular cells from their centres."""
    c = np.asarray(centres, dtype=float)
    if c.size < 2:
        raise BackgroundError("need at least two cell centres along each axis to infer the cell size")
    step = float(np.median(np.diff(c)))
    return np.round(np.append(c - step / 2, c[-1] + step / 2), 10)


def background_from_dict(d: dict[str, Any]) -> KernelBackground | GridBackground:
    """A background object from its :meth:`to_dict` state (dispatch on ``kind``).

    Parameters
    ----------
    d : dict
        State written by ``to_dict``.

    Returns
    -------
    KernelBackground or GridBackground
    """
    kinds = {KernelBackground.kind: KernelBackground, GridBackground.kind: GridBackground}
    kind = d.get("kind")
    if kind not in kinds:
        raise BackgroundError(f"unknown background kind {kind!r}; known: {sorted(kinds)}")
    return kinds[kind].from_dict(d)


__all__ = [
    "BackgroundError",
    "GridBackground",
    "KernelBackground",
    "background_from_dict",
    "nearest_neighbour_bandwidths",
    "weighted_neighbour_bandwidths",
]
