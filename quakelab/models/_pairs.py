"""Pair construction of the ETAS fit (numba). Private: use :mod:`quakelab.models.etas`.

For every target, the indices of its earlier sources within the source's truncation radius, built in two
parallel passes over targets (count, then fill into preallocated int32 / float32 arrays: nothing per pair
is held beyond the final store). Sources are indexed by radius band (radii within a factor of two share a
band) and, per band, by lon/lat cells of the band's largest radius; within a cell, events are in time
order. A target visits, per band, the rows of cells around it: one binary search per row finds its first
non-empty cell, the next non-empty cells follow in key order, and one binary search per cell finds the
events earlier than the target. Memory: O(events) for the index, 8 bytes a pair for the store.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from quakelab.models._kernels import _cells_of_target


@numba.njit(cache=True, parallel=True)
def banded_pairs(
    t,
    lat,
    lon,
    coslat,
    r2max,
    hmax,
    band_ang,
    band_cell,
    band_nlat,
    band_nlon,
    band_offset,
    ukeys,
    ustart,
    uend,
    perm,
    first_target,
    max_lag,
    earth_radius,
    fill,
    ptr,
    src_out,
    r2_out,
):
    """Count (``fill`` False: returns the counts per target) or fill the pairs of every target.

    Sources of target ``i`` are events ``j`` with ``t_j < t_i``, ``t_i - t_j <= max_lag`` and squared
    great-circle distance at most ``r2max[j]``. Candidates are screened first by their latitude
    difference (the distance is at least ``earth_radius * |dlat|``) and by the haversine ``h`` against
    ``hmax[j]`` (slightly above ``sin²(r_j / 2R)``), so that the arc sine is taken only near or inside
    the radius; the final test is on the squared distance. ``perm`` lists events sorted by cell key (band, lat row,
    lon column) and, within a cell, by time; ``ukeys/ustart/uend`` are the non-empty cells and their
    ranges in ``perm``. ``band_ang``: the band's largest radius in radians (the search radius).
    """
    n = t.size
    n_tg = n - first_target
    counts = np.zeros(n_tg, dtype=np.int64)
    n_band = band_cell.size
    finite_lag = max_lag < np.inf
    n_keys = ukeys.size
    for q in numba.prange(n_tg):
        i = first_target + q
        ti = t[i]
        lat_i = lat[i]
        lon_i = lon[i]
        cos_i = coslat[i]
        pos = ptr[i] if fill else 0
        cnt = 0
        tmin = ti - max_lag
        for k in range(n_band):
            nlon_c = band_nlon[k]
            ilat0, ilat1, ilon0, ilon1, all_lon = _cells_of_target(
                lat_i, lon_i, band_cell[k], band_ang[k], band_nlat[k], nlon_c
            )
            for ia in range(ilat0, ilat1 + 1):
                row = band_offset[k] + ia * nlon_c
                # the columns ilon0 .. ilon1 (modulo nlon_c) as up to three contiguous segments
                for seg in range(3):
                    if all_lon:
                        if seg > 0:
                            break
                        c0 = 0
                        c1 = nlon_c - 1
                    elif seg == 0:
                        c0 = ilon0 + nlon_c
                        c1 = min(ilon1, -1) + nlon_c
                    elif seg == 1:
                        c0 = max(ilon0, 0)
                        c1 = min(ilon1, nlon_c - 1)
                    else:
                        c0 = max(ilon0, nlon_c) - nlon_c
                        c1 = ilon1 - nlon_c
                    if c1 < c0:
                        continue
                    last = row + c1
                    u = np.searchsorted(ukeys, row + c0)
                    while u < n_keys and ukeys[u] <= last:
                        lo = ustart[u]
                        hi = uend[u]
                        u += 1
                        # events in the cell are in time order: keep t_j in [t_i - max_lag, t_i)
                        a_ = lo
                        b_ = hi
                        while a_ < b_:
                            mid = (a_ + b_) // 2
                            if t[perm[mid]] < ti:
                                a_ = mid + 1
                            else:
                                b_ = mid
                        stop = a_
                        a_ = lo
                        if finite_lag:
                            b_ = stop
                            while a_ < b_:
                                mid = (a_ + b_) // 2
                                if t[perm[mid]] < tmin:
                                    a_ = mid + 1
                                else:
                                    b_ = mid
                        for pp in range(a_, stop):
                            j = perm[pp]
                            dlat = lat_i - lat[j]
                            dl = earth_radius * dlat
                            if dl * dl > r2max[j]:
                                continue
                            h = (
                                math.sin(dlat / 2.0) ** 2
                                + cos_i * coslat[j] * math.sin((lon_i - lon[j]) / 2.0) ** 2
                            )
                            if h > hmax[j]:
                                continue
                            if h > 1.0:
                                h = 1.0
                            dist = 2.0 * earth_radius * math.asin(math.sqrt(h))
                            d2 = dist * dist
                            if d2 <= r2max[j]:
                                if fill:
                                    src_out[pos] = j
                                    r2_out[pos] = d2
                                    pos += 1
                                cnt += 1
        counts[q] = cnt
    return counts


@numba.njit(cache=True)
def _cosines(x):
    """``cos`` of every element with the compiled (libm) cosine, as the pair kernels compute it."""
    out = np.empty(x.size)
    for i in range(x.size):
        out[i] = math.cos(x[i])
    return out


def build_pairs(
    t: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    radius_km: np.ndarray,
    first_target: int,
    max_lag: float,
    earth_radius_km: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The compact pair store of events sorted by time.

    Parameters
    ----------
    t : numpy.ndarray
        Event times (days), sorted.
    lat, lon : numpy.ndarray
        Positions in radians.
    radius_km : numpy.ndarray
        Truncation radius of every event as a source (km).
    first_target : int
        Index of the first target (the targets are the events from it on).
    max_lag : float
        Largest source–target lag (days; ``inf`` for none).
    earth_radius_km : float
        Sphere radius.

    Returns
    -------
    ptr : numpy.ndarray
        int64, ``n + 1``: the pairs of target ``i`` are ``ptr[i] .. ptr[i + 1] - 1``.
    src : numpy.ndarray
        int32 source index of every pair.
    r2 : numpy.ndarray
        float32 squared distance (km²) of every pair.
    """
    n = t.size
    radius = np.asarray(radius_km, dtype=np.float64)
    r_min = max(float(radius.min()), 1e-9) if n else 1.0
    band = np.floor(np.log2(radius / r_min)).astype(np.int64) if n else np.zeros(0, np.int64)
    bands, band_of = np.unique(band, return_inverse=True)
    band_max = np.zeros(bands.size)
    np.maximum.at(band_max, band_of, radius)
    band_ang = band_max / earth_radius_km
    band_cell = np.maximum(band_ang, 1e-5)
    band_nlat = (np.floor(math.pi / band_cell) + 1).astype(np.int64)
    band_nlon = (np.floor(2 * math.pi / band_cell) + 1).astype(np.int64)
    band_offset = np.concatenate([[0], np.cumsum(band_nlat * band_nlon)[:-1]]).astype(np.int64)
    cell = band_cell[band_of]
    ilat = np.minimum(np.floor((lat + math.pi / 2) / cell).astype(np.int64), band_nlat[band_of] - 1)
    ilon = np.minimum(np.floor((lon + math.pi) / cell).astype(np.int64), band_nlon[band_of] - 1)
    key = band_offset[band_of] + ilat * band_nlon[band_of] + ilon
    del cell, ilat, ilon
    perm = np.argsort(key, kind="stable").astype(np.int64)  # stable: time order within a cell
    skey = key[perm]
    del key
    ukeys, ustart = np.unique(skey, return_index=True)
    uend = np.append(ustart[1:], skey.size).astype(np.int64)
    del skey
    # screening bound on the haversine: sin²(r / 2R), loosened so that no pair at the radius is lost
    hmax = np.where(
        radius < math.pi * earth_radius_km,
        np.sin(np.minimum(radius / (2 * earth_radius_km), math.pi / 2)) ** 2 * (1 + 1e-6) + 1e-15,
        2.0,
    )
    args = (
        t,
        lat,
        lon,
        _cosines(lat),
        radius * radius,
        hmax,
        band_ang,
        band_cell,
        band_nlat,
        band_nlon,
        band_offset,
        ukeys,
        ustart.astype(np.int64),
        uend,
        perm,
        int(first_target),
        float(max_lag),
        float(earth_radius_km),
    )
    counts = banded_pairs(*args, False, np.zeros(1, np.int64), np.zeros(1, np.int32), np.zeros(1, np.float32))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[first_target + 1 :])
    del counts
    src = np.empty(int(ptr[-1]), dtype=np.int32)
    r2 = np.empty(int(ptr[-1]), dtype=np.float32)
    banded_pairs(*args, True, ptr, src, r2)
    return ptr, src, r2
