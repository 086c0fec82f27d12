"""The monitor's regional forecast: a stored fitted ETAS model for the region of the events, simulated.

A model of the store used by ``quakelab serve`` (:mod:`quakelab.service.models`, ``<root>/<name>/model.json``
with its checksum in ``metadata.json``) *covers* a set of events when its region contains them: the model's own
region for a spatio-temporal model, else the ``region`` (a :class:`~quakelab.region.Region` dictionary) or
``bbox`` (``[min_lon, max_lon, min_lat, max_lat]``) of its metadata, i.e. the area of the catalogue it was fitted
to. A temporal-only model forecasts the number of events in that area, so only the events inside it are its
history. When no stored model covers the events, :func:`regional_forecast` says why and the monitor falls back
to the generic Reasenberg–Jones rates (:func:`quakelab.realtime.short_term_forecast`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quakelab.timeutils import utc


@dataclass
class RegionalModel:
    """A verified stored model and the region it covers.

    Attributes
    ----------
    name : str
        Name in the store.
    model : quakelab.models.ETAS
        The fitted model.
    region : quakelab.region.Region
        Area the model stands for.
    sha256 : str
        Checksum of the model file.
    metadata : dict
    """

    name: str
    model: object
    region: object
    sha256: str
    metadata: dict


def model_region(model, metadata: dict):
    """The region a stored model stands for (None when neither the model nor its metadata gives one).

    Examples
    --------
    >>> model_region(None, {"bbox": [-117.0, -116.0, 33.0, 34.0]}).bounds
    (-117.0, -116.0, 33.0, 34.0)
    """
    from quakelab.region import Region

    region = getattr(model, "region", None)
    if region is not None:
        return region
    if metadata.get("region"):
        return Region.from_dict(metadata["region"])
    bbox = metadata.get("bbox")
    if bbox:
        return Region.from_bbox(*(float(v) for v in bbox))
    return None


def covering_models(root) -> tuple[list[RegionalModel], list[str]]:
    """Verified models of a store that state a region, and why the others were passed over.

    Parameters
    ----------
    root : path-like or quakelab.service.models.ModelStore
        The store (an open one is refreshed: models are reloaded only when their files changed).
    """
    from quakelab.service.models import ModelStore

    if isinstance(root, ModelStore):
        store = root
        store.refresh()
    else:
        if not Path(root).is_dir():
            return [], [f"model store {root} does not exist"]
        store = ModelStore(Path(root))
    usable, skipped = [], []
    for name, entry in sorted(store.models.items()):
        if entry.error is not None:
            skipped.append(f"{name}: {entry.error}")
            continue
        region = model_region(entry.model, entry.metadata)
        if region is None:
            skipped.append(f"{name}: states no region")
            continue
        usable.append(RegionalModel(name, entry.model, region, str(entry.sha256), entry.metadata))
    return usable, skipped


def choose_model(
    models: list[RegionalModel], longitude: np.ndarray, latitude: np.ndarray, *, min_share: float = 0.9
) -> tuple[RegionalModel | None, str]:
    """The model whose region contains at least ``min_share`` of the epicentres (the smallest such region).

    Returns
    -------
    (RegionalModel or None, str)
        The model (None when none covers the events) and a sentence saying why.
    """
    lon, lat = np.asarray(longitude, float), np.asarray(latitude, float)
    if lon.size == 0:
        return None, "no recent events to locate the region"
    if not models:
        return None, "no stored model states a region"
    best, best_area, shares = None, np.inf, []
    for m in models:
        share = float(np.mean(m.region.contains(lon, lat)))
        shares.append(f"{m.name} {100 * share:.0f}%")
        if share >= min_share:
            area = m.region.area_km2()
            if area < best_area:
                best, best_area = m, area
    if best is None:
        return None, (
            f"no stored model covers the region of the events (share of the {lon.size} recent epicentres "
            f"inside each model's region: {', '.join(shares)}; {100 * min_share:.0f}% needed)"
        )
    return best, f"stored model {best.name!r} covers the region of the events"


def simulated_probabilities(
    model,
    history: pd.DataFrame,
    now,
    *,
    magnitudes: tuple[float, ...],
    durations_days: tuple[float, ...],
    n_simulations: int,
    seed: int | None,
) -> pd.DataFrame:
    """P(at least one M >= m within d days) and count quantiles from simulated continuations of ``history``.

    Returns
    -------
    pandas.DataFrame
        One row per (duration, magnitude): ``duration_days, magnitude, expected, probability, median, q025,
        q975`` (numbers of events per simulated catalogue).
    """
    t0 = utc(now)
    longest = max(durations_days)
    m_top = float(history["magnitude"].max()) if len(history) else model.min_magnitude
    sims = model.catalog_forecast(
        history if len(history) else None,
        t0,
        t0 + pd.Timedelta(days=longest),
        n_simulations=n_simulations,
        seed=seed,
        m_max=min(9.5, max(8.5, m_top + 1.0)),
        quiet=True,
    )
    lag = ((sims["time"] - t0) / pd.Timedelta(days=1)).to_numpy(float) if len(sims) else np.empty(0)
    cid = sims["catalog_id"].to_numpy(int) if len(sims) else np.empty(0, int)
    mags = sims["magnitude"].to_numpy(float) if len(sims) else np.empty(0)
    rows = []
    for d in durations_days:
        for m in magnitudes:
            counts = np.bincount(cid[(lag < d) & (mags >= m - 1e-9)], minlength=n_simulations)
            rows.append(
                {
                    "duration_days": float(d),
                    "magnitude": float(m),
                    "expected": float(counts.mean()),
                    "probability": float((counts > 0).mean()),
                    "median": float(np.quantile(counts, 0.5, method="inverted_cdf")),
                    "q025": float(np.quantile(counts, 0.025, method="inverted_cdf")),
                    "q975": float(np.quantile(counts, 0.975, method="inverted_cdf")),
                }
            )
    return pd.DataFrame(rows)


def regional_forecast(
    events: pd.DataFrame,
    now,
    model_root,
    *,
    magnitudes: tuple[float, ...] = (5.0,),
    durations_days: tuple[float, ...] = (7.0, 30.0),
    lookback_days: float = 365.0,
    n_simulations: int = 200,
    seed: int | None = 0,
) -> tuple[pd.DataFrame | None, dict]:
    """ETAS forecast from the stored model covering the recent events, or None and the reason.

    Parameters
    ----------
    events : pandas.DataFrame
        The store's events (``time, latitude, longitude, magnitude``).
    now : time-like
        Forecast start; only earlier events are history.
    model_root : path-like, ModelStore or None
        The model store (None: no store, always the fallback).
    magnitudes, durations_days : tuples
    lookback_days : float
        Events of this window locate the region.
    n_simulations : int
        Simulated continuations (the budget).
    seed : int, optional

    Returns
    -------
    (pandas.DataFrame or None, dict)
        The table of :func:`simulated_probabilities` plus ``n_sources`` (None on fall-back) and a description:
        ``model`` (store name or None), ``sha256``, ``region`` (bounds), ``n_history``, ``fallback_reason``.
    """
    t0 = utc(now)
    past = events[events["time"] < t0]
    recent = past[past["time"] >= t0 - pd.Timedelta(days=lookback_days)]
    info: dict = {"model": None, "fallback_reason": None}
    if model_root is None:
        info["fallback_reason"] = "no model store configured"
        return None, info
    models, skipped = covering_models(model_root)
    chosen, why = choose_model(models, recent["longitude"], recent["latitude"])
    if chosen is None:
        info["fallback_reason"] = why + (f" [{'; '.join(skipped)}]" if skipped else "")
        return None, info
    model = chosen.model
    inside = chosen.region.contains(past["longitude"].to_numpy(float), past["latitude"].to_numpy(float))
    history = past[inside & (past["magnitude"].to_numpy(float) >= model.min_magnitude - 1e-9)]
    history = history[["event_id", "time", "latitude", "longitude", "depth_km", "magnitude"]].reset_index(
        drop=True
    )
    table = simulated_probabilities(
        model,
        history,
        t0,
        magnitudes=magnitudes,
        durations_days=durations_days,
        n_simulations=n_simulations,
        seed=seed,
    )
    table["n_sources"] = len(history)
    table["largest_source_magnitude"] = float(history["magnitude"].max()) if len(history) else np.nan
    info.update(
        model=chosen.name,
        sha256=chosen.sha256,
        region=list(chosen.region.bounds),
        spatial=bool(getattr(model, "spatial", False)),
        min_magnitude=float(model.min_magnitude),
        n_history=int(len(history)),
        n_simulations=int(n_simulations),
        seed=seed,
        description=str(chosen.metadata.get("description", "")),
    )
    return table, info
