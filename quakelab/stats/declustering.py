"""Declustering: Gardner–Knopoff windows, Zaliapin–Ben-Zion nearest neighbours, ETAS stochastic declustering.

Each method returns a :class:`pandas.DataFrame` indexed like the catalog with ``cluster_id`` (events of
one cluster share it; singletons have their own) and ``is_mainshock`` (the largest event of each cluster;
singletons are mainshocks), plus method-specific columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quakelab.region import EARTH_RADIUS_KM


def _days(catalog: pd.DataFrame) -> np.ndarray:
    t = catalog["time"]
    return ((t - t.min()) / pd.Timedelta(days=1)).to_numpy(dtype=float)


def _labels(
    parent: np.ndarray, magnitude: np.ndarray, index: pd.Index, extra: dict | None = None
) -> pd.DataFrame:
    """Clusters from a parent forest (parent = -1 for roots): cluster id = root, mainshock = largest."""
    n = parent.size
    root = np.where(parent < 0, np.arange(n), parent)
    while True:  # pointer jumping until every event points at its cluster's root
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    frame = pd.DataFrame({"c": root, "m": magnitude, "i": np.arange(n)})
    first = (
        frame.sort_values(["c", "m", "i"], ascending=[True, False, True]).drop_duplicates("c")["i"].to_numpy()
    )
    is_main = np.zeros(n, dtype=bool)
    is_main[first] = True
    out = pd.DataFrame({"cluster_id": root, "is_mainshock": is_main}, index=index)
    for k, v in (extra or {}).items():
        out[k] = v
    return out


def gardner_knopoff(catalog: pd.DataFrame) -> pd.DataFrame:
    """Gardner & Knopoff (1974) window declustering.

    Events are taken from the largest magnitude down; each not-yet-assigned event opens a space–time
    window ``L(M) = 10^(0.1238 M + 0.983)`` km and ``T(M) = 10^(0.5409 M - 0.547)`` days
    (``10^(0.032 M + 2.7389)`` for M >= 6.5) around it (after it for aftershocks, and the same window
    before it for foreshocks); the unassigned events inside join its cluster.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.

    Returns
    -------
    pandas.DataFrame
        ``cluster_id``, ``is_mainshock`` per event (catalog index).

    Examples
    --------
    >>> import pandas as pd
    >>> cat = pd.DataFrame({"time": pd.to_datetime(["2020-01-01", "2020-01-02", "2021-06-01"], utc=True),
    ...                     "latitude": [35.0, 35.05, 35.0], "longitude": [-117.0, -117.0, -117.0],
    ...                     "magnitude": [6.0, 4.0, 4.5]})
    >>> gardner_knopoff(cat)["is_mainshock"].tolist()
    [True, False, True]
    """
    from quakelab.region import haversine_km

    n = len(catalog)
    t = _days(catalog)
    m = catalog["magnitude"].to_numpy(dtype=float)
    lat = catalog["latitude"].to_numpy(dtype=float)
    lon = catalog["longitude"].to_numpy(dtype=float)
    window_km = 10 ** (0.1238 * m + 0.983)
    window_days = np.where(m >= 6.5, 10 ** (0.032 * m + 2.7389), 10 ** (0.5409 * m - 0.547))
    cluster = np.full(n, -1)
    order = np.lexsort((t, -m))  # largest first, earliest first among equals
    for i in order:
        if cluster[i] >= 0:
            continue
        cluster[i] = i
        near_t = np.flatnonzero((np.abs(t - t[i]) <= window_days[i]) & (cluster < 0))
        if near_t.size:
            d = haversine_km(lat[i], lon[i], lat[near_t], lon[near_t])
            cluster[near_t[d <= window_km[i]]] = i
    parent = np.where(cluster == np.arange(n), -1, cluster)
    return _labels(parent, m, catalog.index, {"window_km": window_km, "window_days": window_days})


def zaliapin_ben_zion(
    catalog: pd.DataFrame,
    *,
    b_value: float = 1.0,
    fractal_dimension: float = 1.6,
    log10_eta0: float | None = None,
) -> pd.DataFrame:
    """Nearest-neighbour declustering of Zaliapin & Ben-Zion (2013).

    For every event j its nearest neighbour is the earlier event i minimising
    ``eta_ij = t_ij * r_ij^df * 10^(-b m_i)`` (years, km). Links with ``eta < eta0`` are cluster links;
    clusters are the connected components; ``eta0`` separates the two modes of ``log10 eta``: by default
    the boundary of a two-component Gaussian mixture fitted to it.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog (sorted by time or not).
    b_value, fractal_dimension : float
        Gutenberg–Richter b and epicentre fractal dimension.
    log10_eta0 : float, optional
        Threshold; estimated from the data when None.

    Returns
    -------
    pandas.DataFrame
        ``cluster_id``, ``is_mainshock``, ``log10_eta`` (of the nearest neighbour), ``parent`` (index
        label of the nearest neighbour or -1), ``is_clustered`` (its link is below the threshold);
        ``attrs["log10_eta0"]``.
    """
    from quakelab.stats._kernels import nearest_neighbour

    order = np.argsort(catalog["time"].to_numpy(), kind="stable")
    cat = catalog.iloc[order]
    t = _days(cat)
    m = cat["magnitude"].to_numpy(dtype=float)
    eta, parent = nearest_neighbour(
        t,
        np.radians(cat["latitude"].to_numpy(dtype=float)),
        np.radians(cat["longitude"].to_numpy(dtype=float)),
        m,
        b_value,
        fractal_dimension,
        EARTH_RADIUS_KM,
    )
    with np.errstate(divide="ignore"):
        log_eta = np.log10(eta)
    finite = np.isfinite(log_eta)
    if log10_eta0 is None:
        log10_eta0 = _mixture_boundary(log_eta[finite])
    clustered = finite & (log_eta < log10_eta0)
    link = np.where(clustered, parent, -1)
    labels = _labels(
        link,
        m,
        cat.index,
        {
            "log10_eta": log_eta,
            "parent": np.where(parent >= 0, cat.index.to_numpy()[np.maximum(parent, 0)], -1),
            "is_clustered": clustered,
        },
    )
    labels["cluster_id"] = cat.index.to_numpy()[labels["cluster_id"].to_numpy()]
    out = labels.loc[catalog.index]
    out.attrs["log10_eta0"] = float(log10_eta0)
    return out


def _mixture_boundary(x: np.ndarray) -> float:
    """Point between the two means where a 2-component 1-D Gaussian mixture switches component (EM fit)."""
    x = np.asarray(x, dtype=float)
    mu = np.quantile(x, [0.2, 0.8])
    sd = np.array([x.std(), x.std()]) / 2
    w = np.array([0.5, 0.5])
    for _ in range(500):
        dens = w / (sd * np.sqrt(2 * np.pi)) * np.exp(-0.5 * ((x[:, None] - mu) / sd) ** 2)
        resp = dens / np.maximum(dens.sum(axis=1, keepdims=True), 1e-300)
        nk = resp.sum(axis=0)
        new_mu = (resp * x[:, None]).sum(axis=0) / nk
        sd = np.sqrt((resp * (x[:, None] - new_mu) ** 2).sum(axis=0) / nk) + 1e-9
        w = nk / x.size
        if np.allclose(new_mu, mu, atol=1e-9):
            mu = new_mu
            break
        mu = new_mu
    grid = np.linspace(mu.min(), mu.max(), 2001)
    d = w / sd * np.exp(-0.5 * ((grid[:, None] - mu) / sd) ** 2)
    lo = int(np.argmin(mu))
    switch = np.flatnonzero(d[:, 1 - lo] > d[:, lo])
    return float(grid[switch[0]]) if switch.size else float(mu.mean())


def reasenberg(
    catalog: pd.DataFrame,
    *,
    tau_min_days: float = 1.0,
    tau_max_days: float = 10.0,
    p_confidence: float = 0.95,
    xk: float = 0.5,
    xmeff: float | None = None,
    rfact: float = 10.0,
    use_depth: bool = True,
) -> pd.DataFrame:
    """Reasenberg (1985) cluster analysis.

    Events are processed in time order. An event not in a cluster looks ahead ``tau_min`` days; an
    event in a cluster looks ahead ``tau = -ln(1 - P) t / 10^(2 (dM - 1) / 3)`` days (clipped to
    ``[tau_min, tau_max]``), with ``t`` the time since the cluster's largest event and
    ``dM = (1 - xk) M_largest - xmeff``. Later events inside the look-ahead window join the cluster
    when they lie within ``rfact`` crack radii of the current event or within one crack radius of the
    cluster's largest event; the crack radius is ``0.011 * 10^(0.4 M)`` km. Clusters that touch merge.
    Location errors are not subtracted from distances.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    tau_min_days, tau_max_days : float
        Look-ahead bounds (defaults 1 and 10 days).
    p_confidence : float
        Probability of observing the next event of a sequence (0.95).
    xk : float
        Raise of the effective cut-off during clusters (0.5).
    xmeff : float, optional
        Effective magnitude cut-off; the catalog's smallest magnitude when None.
    rfact : float
        Interaction radius factor (10).
    use_depth : bool
        Hypocentral distances when depths are present.

    Returns
    -------
    pandas.DataFrame
        ``cluster_id``, ``is_mainshock`` (catalog index).
    """
    order = np.argsort(catalog["time"].to_numpy(), kind="stable")
    cat = catalog.iloc[order]
    n = len(cat)
    t = _days(cat)
    m = cat["magnitude"].to_numpy(dtype=float)
    lat = np.radians(cat["latitude"].to_numpy(dtype=float))
    lon = np.radians(cat["longitude"].to_numpy(dtype=float))
    z = cat["depth_km"].to_numpy(dtype=float) if (use_depth and "depth_km" in cat) else np.zeros(n)
    z = np.where(np.isfinite(z), z, 0.0)
    xmeff = float(np.min(m)) if xmeff is None else float(xmeff)
    r_crack = 0.011 * 10 ** (0.4 * m)
    r_inter = rfact * r_crack
    clus = np.full(n, -1)
    big_event: dict[int, int] = {}
    next_id = 0

    def dist(i: int, js: np.ndarray) -> np.ndarray:
        h = (
            np.sin((lat[js] - lat[i]) / 2) ** 2
            + np.cos(lat[i]) * np.cos(lat[js]) * np.sin((lon[js] - lon[i]) / 2) ** 2
        )
        d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
        return np.sqrt(d**2 + (z[js] - z[i]) ** 2)

    for i in range(n - 1):
        k = clus[i]
        if k >= 0:
            b = big_event[k]
            if m[i] >= m[b]:
                big_event[k] = i
                tau = tau_min_days
            else:
                dm = max((1 - xk) * m[b] - xmeff, 0.0)
                tau = -np.log(1 - p_confidence) * (t[i] - t[b]) / 10 ** (2 * (dm - 1) / 3)
                tau = min(max(tau, tau_min_days), tau_max_days)
        else:
            tau = tau_min_days
        hi = np.searchsorted(t, t[i] + tau, side="right")
        cand = np.arange(i + 1, hi)
        if k >= 0:
            cand = cand[clus[cand] != k]
        if cand.size == 0:
            continue
        near = dist(i, cand) <= r_inter[i]
        if k >= 0 and tau > tau_min_days:
            near |= dist(big_event[k], cand) <= r_crack[big_event[k]]
        linked = cand[near]
        if linked.size == 0:
            continue
        in_clusters = np.unique(clus[linked][clus[linked] >= 0])
        if k < 0 and in_clusters.size == 0:
            k = next_id
            next_id += 1
            clus[i] = k
            big_event[k] = i
        elif in_clusters.size:
            target = min(in_clusters.min(), k) if k >= 0 else int(in_clusters.min())
            for other in set(in_clusters.tolist()) | ({k} if k >= 0 else set()):
                if other != target:
                    clus[clus == other] = target
                    if m[big_event[other]] > m[big_event[target]]:
                        big_event[target] = big_event[other]
                    big_event.pop(other, None)
            if clus[i] < 0:
                clus[i] = target
            k = target
        clus[linked[clus[linked] < 0]] = k
        for j in linked:
            if m[j] > m[big_event[k]]:
                big_event[k] = j
    singles = clus < 0
    parent = np.full(n, -1)
    first_of: dict[int, int] = {}
    for i in range(n):
        if not singles[i]:
            first = first_of.setdefault(int(clus[i]), i)
            if first != i:
                parent[i] = first
    labels = _labels(parent, m, cat.index)
    labels["cluster_id"] = cat.index.to_numpy()[labels["cluster_id"].to_numpy()]
    return labels.loc[catalog.index]


def etas_declustering(
    model, catalog: pd.DataFrame, *, threshold: float | None = 0.5, seed: int | None = None
) -> pd.DataFrame:
    """ETAS stochastic declustering (Zhuang et al. 2002) from a fitted :class:`~quakelab.models.ETAS`.

    Parameters
    ----------
    model : ETAS
        Fitted model (its ``background_probability_`` covers the target events).
    catalog : pandas.DataFrame
        The catalog the model was fitted on.
    threshold : float or None, default 0.5
        Background when the probability is at least ``threshold``; with None, one random
        declustered catalog is drawn (each event background with its probability).
    seed : int, optional
        Seed of the random draw.

    Returns
    -------
    pandas.DataFrame
        For the target events: ``background_probability``, ``is_mainshock`` (background), ``cluster_id``
        (own id for background events, -1 for triggered events whose parent is not resolved).
    """
    p = model.background_probability_
    ids = catalog["event_id"].astype(str)
    rows = catalog.index[ids.isin(p.index)]
    prob = p.reindex(ids.loc[rows].to_numpy()).to_numpy()
    if threshold is None:
        bg = np.random.default_rng(seed).uniform(size=prob.size) < prob
    else:
        bg = prob >= threshold
    return pd.DataFrame(
        {"background_probability": prob, "is_mainshock": bg, "cluster_id": np.where(bg, rows.to_numpy(), -1)},
        index=rows,
    )
