"""The aftershock forecast product: the table operators publish after a significant earthquake.

For a mainshock and a forecast start: windows of 1 day, 1 week, 1 month and 1 year; magnitude thresholds
M >= 3, 4, 5, 6, 7 and the mainshock's magnitude; for each, the probability of at least one event, the
median number and the 95 % range, from each model (Reasenberg–Jones generic, sequence-specific and
Bayesian; ETAS). The JSON document follows the USGS aftershock forecast product (see
``docs/aftershock_product.md``): schema ``quakelab.aftershock-forecast``, version :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quakelab.aftershock.generic import Completeness, RegimeChoice, regime_for
from quakelab.aftershock.rj import RJParameterSet, SequenceData, bayesian_model, fit_sequence, generic_model
from quakelab.timeutils import utc

log = logging.getLogger(__name__)

SCHEMA = "quakelab.aftershock-forecast"
SCHEMA_VERSION = "1.0.0"
WINDOWS: tuple[tuple[str, float], ...] = (
    ("1 Day", 1.0),
    ("1 Week", 7.0),
    ("1 Month", 30.0),
    ("1 Year", 365.0),
)
MAGNITUDES: tuple[float, ...] = (3.0, 4.0, 5.0, 6.0, 7.0)
MODEL_KEYS = ("rj_generic", "rj_sequence", "rj_bayesian", "etas")


class ProductError(ValueError):
    """Bad input for the product (names the field)."""


@dataclass(frozen=True)
class Mainshock:
    """The mainshock: origin time (UTC), epicentre, depth and magnitude.

    Examples
    --------
    >>> ms = Mainshock("2019-07-06 03:19:53", 35.770, -117.599, 7.1, event_id="ci38457511")
    >>> ms.magnitude
    7.1
    """

    time: pd.Timestamp | str
    latitude: float
    longitude: float
    magnitude: float
    depth_km: float = float("nan")
    event_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", utc(self.time))
        for name in ("latitude", "longitude", "magnitude", "depth_km"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not -90 <= self.latitude <= 90:
            raise ProductError(f"mainshock latitude {self.latitude} is outside [-90, 90]")
        if not -360 <= self.longitude <= 360:
            raise ProductError(f"mainshock longitude {self.longitude} is outside [-360, 360]")
        if not 0 < self.magnitude < 10:
            raise ProductError(f"mainshock magnitude {self.magnitude} is outside (0, 10)")

    @classmethod
    def from_catalog(cls, catalog: pd.DataFrame, event_id: str) -> Mainshock:
        """The event ``event_id`` of a canonical catalog (or the live store's events)."""
        rows = catalog[catalog["event_id"].astype(str) == str(event_id)]
        if rows.empty:
            raise ProductError(f"event {event_id!r} is not in the catalog ({len(catalog)} events)")
        r = rows.iloc[0]
        return cls(
            r["time"],
            r["latitude"],
            r["longitude"],
            r["magnitude"],
            r.get("depth_km", float("nan")),
            str(r["event_id"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """As in the product."""
        return {
            "id": self.event_id,
            "time": _ms(self.time),
            "timeISO": self.time.isoformat(),
            "latitude": self.latitude,
            "longitude": self.longitude,
            "depth": None if math.isnan(self.depth_km) else self.depth_km,
            "magnitude": self.magnitude,
        }


def _ms(t: pd.Timestamp) -> int:
    return int(utc(t).value // 1_000_000)


def search_radius_km(magnitude: float) -> float:
    """Aftershock zone radius: one Wells & Coppersmith (1994) subsurface rupture length, clipped to 10..2000 km
    (the USGS operational choice, ``radiusMult = 1, radiusMin = 10, radiusMax = 2000``).

    Examples
    --------
    >>> round(search_radius_km(7.1), 1)
    56.1
    """
    length = 10 ** (-2.44 + 0.59 * float(magnitude))
    return float(min(max(length, 10.0), 2000.0))


def select_sequence(
    catalog: pd.DataFrame,
    mainshock: Mainshock,
    *,
    radius_km: float | None = None,
    before_days: float = 0.0,
    end=None,
) -> pd.DataFrame:
    """Events within ``radius_km`` of the epicentre from ``before_days`` before the mainshock to ``end``.

    The mainshock itself (same time within 1 s and magnitude within 0.05) is removed.
    """
    from quakelab.region import haversine_km

    for col in ("time", "latitude", "longitude", "magnitude"):
        if col not in catalog.columns:
            raise ProductError(f"catalog lacks the column {col!r}")
    r = search_radius_km(mainshock.magnitude) if radius_km is None else float(radius_km)
    dist = haversine_km(
        catalog["latitude"].to_numpy(float),
        catalog["longitude"].to_numpy(float),
        mainshock.latitude,
        mainshock.longitude,
    )
    t = catalog["time"]
    keep = (dist <= r) & (t >= mainshock.time - pd.Timedelta(days=before_days))
    if end is not None:
        keep &= t < utc(end)
    is_main = ((t - mainshock.time).abs() <= pd.Timedelta(seconds=1)) & (
        (catalog["magnitude"] - mainshock.magnitude).abs() <= 0.05
    )
    return catalog[keep & ~is_main].sort_values("time", kind="mergesort").reset_index(drop=True)


# ----------------------------------------------------------------------------- results
@dataclass
class ModelForecast:
    """One model's forecast: a table and what produced it.

    Attributes
    ----------
    key : str
        ``rj_generic``, ``rj_sequence``, ``rj_bayesian`` or ``etas``.
    name, reference : str
    parameters : dict
    table : pandas.DataFrame
        ``window, duration_days, magnitude, probability, expected, median, q025, q975``.
    curve_days, curve_expected : numpy arrays
        Expected cumulative number ``M >= curve_magnitude`` after the forecast start (for the figure).
    curve_magnitude : float
    notes : list of str
    """

    key: str
    name: str
    reference: str
    parameters: dict
    table: pd.DataFrame
    curve_days: np.ndarray
    curve_expected: np.ndarray
    curve_magnitude: float
    notes: list[str] = field(default_factory=list)


@dataclass
class AftershockForecast:
    """The product: mainshock, forecast start, completeness, observations and the forecasts of each model."""

    mainshock: Mainshock
    start: pd.Timestamp
    regime: RegimeChoice
    completeness: Completeness
    observations: pd.DataFrame
    models: list[ModelForecast]
    magnitudes: tuple[float, ...]
    windows: tuple[tuple[str, float], ...]
    data_end: pd.Timestamp
    observed_curve: tuple[np.ndarray, np.ndarray]
    notes: list[str] = field(default_factory=list)
    creation_time: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC"))
    thresholds: tuple[float, ...] = MAGNITUDES

    @property
    def elapsed_days(self) -> float:
        """Days from the mainshock to the forecast start."""
        return float((self.start - self.mainshock.time) / pd.Timedelta(days=1))

    def table(self) -> pd.DataFrame:
        """All models' rows: ``model, window, duration_days, magnitude, probability, expected, median, q025, q975``."""
        parts = [m.table.assign(model=m.key) for m in self.models]
        df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        cols = [
            "model",
            "window",
            "duration_days",
            "magnitude",
            "probability",
            "expected",
            "median",
            "q025",
            "q975",
        ]
        return df[cols] if len(df) else df

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The JSON document (schema ``quakelab.aftershock-forecast`` 1.0.0, see docs/aftershock_product.md)."""
        mm = self.mainshock.magnitude
        longest = max(d for _, d in self.windows)
        models = []
        for m in self.models:
            fc = []
            for label, dur in self.windows:
                rows = m.table[m.table["window"] == label]
                bins = []
                above = None
                for _, r in rows.iterrows():
                    b = {
                        "magnitude": float(r["magnitude"]),
                        "probability": float(r["probability"]),
                        "median": int(r["median"]),
                        "p95minimum": int(r["q025"]),
                        "p95maximum": int(r["q975"]),
                        "expected": float(r["expected"]),
                    }
                    if np.isclose(r["magnitude"], mm):
                        above = {"magnitude": float(r["magnitude"]), "probability": float(r["probability"])}
                    if any(np.isclose(r["magnitude"], t) for t in self.thresholds):
                        bins.append(b)
                if above is None:
                    hit = rows[np.isclose(rows["magnitude"], mm)]
                    above = {
                        "magnitude": mm,
                        "probability": float(hit["probability"].iloc[0]) if len(hit) else None,
                    }
                fc.append(
                    {
                        "label": label,
                        "timeStart": _ms(self.start),
                        "timeEnd": _ms(self.start + pd.Timedelta(days=dur)),
                        "bins": bins,
                        "aboveMainshockMag": above,
                    }
                )
            models.append(
                {
                    "key": m.key,
                    "name": m.name,
                    "reference": m.reference,
                    "parameters": _jsonable(m.parameters),
                    "forecast": fc,
                    "notes": list(m.notes),
                }
            )
        return {
            "schema": SCHEMA,
            "schemaVersion": SCHEMA_VERSION,
            "creationTime": _ms(self.creation_time),
            "expireTime": _ms(self.start + pd.Timedelta(days=longest)),
            "advisoryTimeFrame": "1 Week",
            "template": "Mainshock",
            "mainshock": self.mainshock.to_dict(),
            "forecastStart": _ms(self.start),
            "forecastStartISO": self.start.isoformat(),
            "elapsedDays": self.elapsed_days,
            "dataEndISO": self.data_end.isoformat(),
            "observations": [
                {"magnitude": float(r["magnitude"]), "count": int(r["count"])}
                for _, r in self.observations.iterrows()
            ],
            "regionalisation": _jsonable(
                {k: v for k, v in self.regime.to_dict().items() if k != "completeness"}
            ),
            "completeness": _jsonable(
                {
                    **self.completeness.to_dict(),
                    "form": "Mc(t) = max(Mcat, F*Mmain - G - H*log10(t_days))",
                    "mcAtStart": float(self.completeness.mc(self.elapsed_days, mm)),
                    "daysUntilComplete": self.completeness.time_complete(mm),
                }
            ),
            "models": models,
            "commentary": self.commentary(),
            "notes": list(self.notes),
        }

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int = 2) -> str:
        """The JSON text; written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            from quakelab.catalog.store import write_text_atomic

            write_text_atomic(path, text + "\n")
        return text

    # ------------------------------------------------------------------ text
    def to_text(self) -> str:
        """A human-readable table, one block per model (probability, median and 95 % range)."""
        ms = self.mainshock
        lines = [
            f"Aftershock forecast for M{ms.magnitude:.1f} {ms.event_id or ''} at {ms.time:%Y-%m-%d %H:%M:%S} UTC "
            f"({ms.latitude:.3f}, {ms.longitude:.3f})",
            f"Forecast start {self.start:%Y-%m-%d %H:%M:%S} UTC ({self.elapsed_days:.2f} days after the mainshock); "
            f"regime {self.regime.regime}; Mc at start {float(self.completeness.mc(self.elapsed_days, ms.magnitude)):.2f}",
        ]
        labels = [w for w, _ in self.windows]
        for m in self.models:
            lines += ["", f"{m.name} ({m.key})"]
            head = f"{'':8s}" + "".join(f"{w:>24s}" for w in labels)
            lines.append(head)
            for mag in sorted(m.table["magnitude"].unique()):
                cells = []
                for w in labels:
                    r = m.table[(m.table["window"] == w) & np.isclose(m.table["magnitude"], mag)].iloc[0]
                    cells.append(
                        f"{_pct(r['probability']):>6s} {int(r['median']):>5d} [{int(r['q025'])}-{int(r['q975'])}]"
                    )
                lines.append(f"M>={mag:<4.1f} " + "".join(f"{c:>24s}" for c in cells))
            for n in m.notes:
                lines.append(f"  note: {n}")
        lines += [
            "",
            "(cells: probability of one or more, median number [95 % range])",
            "",
            self.commentary(),
        ]
        return "\n".join(lines)

    def commentary(self) -> str:
        """Short plain-language commentary in the style of the USGS forecast text."""
        if not self.models:
            return "No model could produce a forecast."
        pref = next((m for m in self.models if m.key == "rj_bayesian"), self.models[0])
        tab = pref.table
        week = (
            tab[tab["window"] == "1 Week"]
            if (tab["window"] == "1 Week").any()
            else tab[tab["window"] == tab["window"].iloc[0]]
        )
        wlabel = week["window"].iloc[0].lower()

        def row(mag):
            hit = week[np.isclose(week["magnitude"], mag)]
            return hit.iloc[0] if len(hit) else None

        parts = [
            f"According to the {pref.name.lower()} model, over the next {wlabel[2:] if wlabel.startswith('1 ') else wlabel}"
        ]
        r3 = row(3.0)
        if r3 is not None:
            parts.append(
                f" the number of magnitude 3 or larger aftershocks is most likely to be between "
                f"{int(r3['q025'])} and {int(r3['q975'])} (median {int(r3['median'])})."
            )
        else:
            parts.append(".")
        for mag in (5.0, 6.0, 7.0):
            r = row(mag)
            if r is not None:
                parts.append(f" The chance of a magnitude {mag:g} or larger is {_pct(r['probability'])}.")
        rm = row(self.mainshock.magnitude)
        if rm is not None:
            parts.append(
                f" The chance of an earthquake as large as or larger than the mainshock "
                f"(M{self.mainshock.magnitude:.1f}) is {_pct(rm['probability'])}."
            )
        others = [m.name for m in self.models if m is not pref]
        if others:
            parts.append(
                f" The table also gives the {', '.join(o.lower() for o in others)} model"
                f"{'s' if len(others) > 1 else ''} for comparison."
            )
        parts.append(" Aftershock numbers decrease with time, but larger earthquakes remain possible.")
        return "".join(parts)

    # ------------------------------------------------------------------ figure
    def plot(self, ax=None, *, horizon_days: float | None = None, observed: pd.DataFrame | None = None):
        """Expected cumulative number vs time for each model, with the observed count.

        The observed cumulative number of events ``M >= m`` (``m`` the models' curve magnitude) is drawn
        from the mainshock to the forecast start; each model's expected number is drawn from the forecast
        start, added to the count observed by then. ``observed`` (a catalog reaching past the start) adds
        what happened next, dashed. Returns the Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.2))
        t_obs, n_obs = self.observed_curve
        t0 = self.elapsed_days
        n_at_start = int(np.sum(t_obs < t0))
        mag = self.models[0].curve_magnitude if self.models else MAGNITUDES[0]
        ax.step(
            np.r_[0.0, t_obs], np.r_[0, n_obs], where="post", color="k", lw=1.5, label=f"observed M≥{mag:g}"
        )
        if observed is not None and len(observed):
            seq = select_sequence(observed, self.mainshock)
            t_all = ((seq["time"] - self.mainshock.time) / pd.Timedelta(days=1)).to_numpy(float)
            t_next = np.sort(
                t_all[
                    (t_all >= t0)
                    & (seq["magnitude"].to_numpy(float) >= mag - 1e-9)
                    & (t_all <= t0 + (horizon_days or np.inf))
                ]
            )
            ax.step(
                np.r_[t0, t_next],
                n_at_start + np.arange(t_next.size + 1),
                where="post",
                color="k",
                lw=1.2,
                ls="--",
                label="observed after the start",
            )
        for m in self.models:
            keep = m.curve_days <= (horizon_days or np.inf)
            ax.plot(t0 + m.curve_days[keep], n_at_start + m.curve_expected[keep], lw=1.4, label=m.name)
        ax.axvline(t0, color="0.5", ls=":", lw=1)
        ax.text(t0, ax.get_ylim()[1] * 0.97, " forecast start", va="top", fontsize=8, color="0.3")
        ax.set_xlabel("days after the mainshock")
        ax.set_ylabel(f"cumulative number of M≥{mag:g} aftershocks")
        ax.set_title(
            f"M{self.mainshock.magnitude:.1f} {self.mainshock.time:%Y-%m-%d}: expected vs observed",
            fontsize=10,
        )
        ax.legend(fontsize=8, loc="upper left")
        return ax


def _pct(p: float) -> str:
    if p >= 0.995:
        return ">99%"
    if p < 0.01:
        return "<1%"
    return f"{100 * p:.0f}%"


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


# ----------------------------------------------------------------------------- the computation
def _rj_forecast(
    key: str, model: RJParameterSet, t0: float, windows, magnitudes, curve_mag: float, curve_days: np.ndarray
) -> ModelForecast:
    rows = []
    for label, dur in windows:
        for mag in magnitudes:
            s = model.count_distribution(mag, t0, t0 + dur).summary()
            rows.append({"window": label, "duration_days": dur, "magnitude": mag, **s})
    curve = model.expected_cumulative(curve_mag, t0 + curve_days, t0)
    return ModelForecast(
        key, model.name, model.reference, model.parameters, pd.DataFrame(rows), curve_days, curve, curve_mag
    )


def _etas_forecast(
    mainshock: Mainshock,
    sequence: pd.DataFrame,
    start: pd.Timestamp,
    completeness: Completeness,
    windows,
    magnitudes,
    curve_mag: float,
    curve_days: np.ndarray,
    *,
    etas_model=None,
    min_events: int,
    n_simulations: int,
    seed: int | None,
    fit: bool = True,
    fit_max_iter: int = 100,
) -> ModelForecast | str:
    """ETAS: a temporal sequence fit when enough events, else the given fitted model; numbers by simulation."""
    from quakelab.models.etas import ETAS

    mm = mainshock.magnitude
    mc = completeness.mcat
    t_complete = mainshock.time + pd.Timedelta(days=completeness.time_complete(mm))
    hist = sequence[sequence["time"] < start]
    main_row = pd.DataFrame(
        {
            "event_id": [mainshock.event_id or "mainshock"],
            "time": [mainshock.time],
            "latitude": [mainshock.latitude],
            "longitude": [mainshock.longitude],
            "depth_km": [mainshock.depth_km],
            "magnitude": [mm],
            "mag_type": [""],
        }
    )
    hist = pd.concat([hist[[c for c in main_row.columns if c in hist.columns]], main_row], ignore_index=True)
    hist["time"] = pd.to_datetime(hist["time"], utc=True)  # concat of ns and us resolutions gives objects
    hist = hist.sort_values("time", kind="mergesort").reset_index(drop=True)
    n_targets = int(((hist["time"] >= t_complete) & (hist["magnitude"] >= mc - 1e-9)).sum())
    notes: list[str] = []
    model = None
    source = ""
    if not fit:
        notes.append("sequence-specific ETAS fit not requested")
    elif n_targets >= min_events and t_complete < start:
        cand = ETAS(min_magnitude=mc, spatial=False, fixed={"log10_tau": 3.5}, max_iter=fit_max_iter)
        try:
            cand.fit(
                hist, auxiliary_start=hist["time"].min(), start=t_complete, end=start, standard_errors=False
            )
            if not cand.branching_ratio_ < 0.95:
                raise RuntimeError(f"fitted branching ratio {cand.branching_ratio_:.2f} >= 0.95 (explosive)")
            model, source = (
                cand,
                "sequence-specific temporal ETAS fit (quakelab.models.ETAS, EM; tau fixed at 10^3.5 d)",
            )
            notes.append(
                f"fitted to {n_targets} events M>={mc:g} from {t_complete:%Y-%m-%d %H:%M} (Mc(t) <= Mcat) "
                f"to the forecast start; earlier events trigger but are not fitted"
            )
        except Exception as exc:  # convergence or data problems: fall back, and say so
            notes.append(f"sequence ETAS fit failed ({type(exc).__name__}: {str(exc)[:160]})")
    else:
        notes.append(
            f"only {n_targets} events M>={mc:g} after the catalogue became complete "
            f"(< {min_events}): no sequence-specific ETAS fit"
        )
    if model is None:
        if etas_model is None:
            return "; ".join(notes + ["no fitted regional ETAS model was given: ETAS omitted"])
        model = etas_model
        source = "fitted regional ETAS model (given)"
        notes.append("using the given fitted regional ETAS model")
    longest = max(d for _, d in windows)
    sims = model.catalog_forecast(
        hist,
        start,
        start + pd.Timedelta(days=longest),
        n_simulations=n_simulations,
        seed=seed,
        m_max=min(9.5, max(8.5, mm + 1.0)),
    )
    lag = ((sims["time"] - start) / pd.Timedelta(days=1)).to_numpy() if len(sims) else np.empty(0)
    cid = sims["catalog_id"].to_numpy() if len(sims) else np.empty(0, int)
    mags = sims["magnitude"].to_numpy() if len(sims) else np.empty(0)
    rows = []
    for label, dur in windows:
        for mag in magnitudes:
            sel = (lag < dur) & (mags >= mag - 1e-9)
            counts = np.bincount(cid[sel], minlength=n_simulations)
            rows.append(
                {
                    "window": label,
                    "duration_days": dur,
                    "magnitude": mag,
                    "probability": float((counts > 0).mean()),
                    "expected": float(counts.mean()),
                    "median": int(np.floor(np.quantile(counts, 0.5, method="inverted_cdf"))),
                    "q025": int(np.quantile(counts, 0.025, method="inverted_cdf")),
                    "q975": int(np.quantile(counts, 0.975, method="inverted_cdf")),
                }
            )
    sel = mags >= curve_mag - 1e-9
    curve = np.array([np.sum(sel & (lag < d)) / n_simulations for d in curve_days])
    p = model.params_.natural
    params = {
        **{k: float(v) for k, v in p.items()},
        "beta": float(model.beta_),
        "mc": model.min_magnitude,
        "branching_ratio": float(getattr(model, "branching_ratio_", float("nan"))),
        "n_simulations": n_simulations,
        "source": source,
    }
    if model.min_magnitude > min(magnitudes):
        notes.append(
            f"the model's magnitude floor is {model.min_magnitude:g}: thresholds below it are not simulated"
        )
    return ModelForecast(
        "etas",
        "ETAS",
        "Ogata (1988) ETAS; simulation-based numbers (ETAS.catalog_forecast)",
        params,
        pd.DataFrame(rows),
        curve_days,
        curve,
        curve_mag,
        notes,
    )


def aftershock_forecast(
    mainshock: Mainshock,
    catalog: pd.DataFrame | None,
    start,
    *,
    models: Sequence[str] = MODEL_KEYS,
    regime: str | None = None,
    mcat: float | None = None,
    windows: Sequence[tuple[str, float]] = WINDOWS,
    magnitudes: Sequence[float] = MAGNITUDES,
    radius_km: float | None = None,
    etas_model=None,
    etas_fit: bool = True,
    etas_min_events: int = 100,
    n_simulations: int = 500,
    max_simulations: int = 5000,
    seed: int | None = 0,
    b: float | None = None,
    quiet: bool = True,
) -> AftershockForecast:
    """Compute the aftershock forecast product.

    Parameters
    ----------
    mainshock : Mainshock
        From :meth:`Mainshock.from_catalog` or given by hand.
    catalog : pandas.DataFrame or None
        Canonical catalog holding the sequence (events after ``start`` are ignored for fitting and used
        only for the observed curve); None for a generic-only forecast.
    start : time-like
        Forecast start (UTC), after the mainshock.
    models : sequence of str
        Any of ``rj_generic, rj_sequence, rj_bayesian, etas``.
    regime : str, optional
        Tectonic regime code (see :func:`quakelab.aftershock.regime_for`).
    mcat : float, optional
        Catalogue completeness floor; the regime's operational value when None.
    windows, magnitudes : sequences
        Forecast windows ``(label, days)`` and thresholds; the mainshock magnitude is always added.
    radius_km : float, optional
        Aftershock zone radius (Wells & Coppersmith length when None).
    etas_model : ETAS, optional
        Fitted regional model used when the sequence is too short for its own fit.
    etas_fit : bool, default True
        Try a sequence-specific ETAS fit (EM; can take minutes) before using ``etas_model``.
    etas_min_events : int, default 100
        Events above ``Mcat`` after the catalogue became complete needed for a sequence ETAS fit.
    n_simulations : int, default 500
        ETAS simulations (at most ``max_simulations``).
    seed : int, optional
    b : float, optional
        b-value for the sequence fits (the regime's generic value when None).
    quiet : bool, default True
        No log lines per model when True.

    Returns
    -------
    AftershockForecast

    Examples
    --------
    >>> ms = Mainshock("2019-07-06 03:19:53", 35.770, -117.599, 7.1)
    >>> fc = aftershock_forecast(ms, None, "2019-07-07 03:19:53", models=["rj_generic"])
    >>> fc.table().shape[0]  # 4 windows x 6 thresholds
    24
    """
    unknown = set(models) - set(MODEL_KEYS)
    if unknown:
        raise ProductError(f"unknown model(s) {sorted(unknown)}; known: {list(MODEL_KEYS)}")
    if not 1 <= n_simulations <= max_simulations:
        raise ProductError(f"n_simulations must be in 1..{max_simulations}, got {n_simulations}")
    t_start = utc(start)
    t0 = (t_start - mainshock.time) / pd.Timedelta(days=1)
    if t0 <= 0:
        raise ProductError(f"forecast start {t_start} is not after the mainshock ({mainshock.time})")
    windows = tuple((str(w), float(d)) for w, d in windows)
    if not windows or any(d <= 0 or d > 3650 for _, d in windows):
        raise ProductError("windows must be 1..N (label, days) pairs with 0 < days <= 3650")
    mags = tuple(float(m) for m in magnitudes)
    all_mags = tuple(sorted(set(mags) | {round(mainshock.magnitude, 2)}))
    choice = regime_for(mainshock.latitude, mainshock.longitude, regime=regime)
    comp = choice.completeness if mcat is None else choice.completeness.with_mcat(mcat)
    generic = choice.params
    bb = generic.b if b is None else float(b)
    notes: list[str] = []
    if catalog is not None and len(catalog):
        seq_all = select_sequence(catalog, mainshock, radius_km=radius_km, before_days=30.0)
        seq = seq_all[seq_all["time"] >= mainshock.time]
        data_end = catalog["time"].max()
    else:
        seq_all = seq = pd.DataFrame(
            {"time": pd.Series(dtype="datetime64[ns, UTC]"), "magnitude": pd.Series(dtype=float)}
        )
        data_end = t_start
    t_seq = ((seq["time"] - mainshock.time) / pd.Timedelta(days=1)).to_numpy(float)
    m_seq = seq["magnitude"].to_numpy(float)
    data = SequenceData.select(t_seq, m_seq, mainshock.magnitude, comp, 0.0, float(t0))
    obs = pd.DataFrame(
        {"magnitude": all_mags, "count": [int(np.sum((t_seq < t0) & (m_seq >= m - 1e-9))) for m in all_mags]}
    )
    curve_mag = min(all_mags)
    longest = max(d for _, d in windows)
    curve_days = np.unique(np.r_[np.geomspace(1e-3, longest, 120), [d for _, d in windows]])
    sel = m_seq >= curve_mag - 1e-9
    observed_curve = (t_seq[sel], np.arange(1, int(sel.sum()) + 1))

    out: list[ModelForecast] = []
    if "rj_generic" in models:
        out.append(
            _rj_forecast(
                "rj_generic",
                generic_model(generic, mainshock.magnitude),
                t0,
                windows,
                all_mags,
                curve_mag,
                curve_days,
            )
        )
    if "rj_sequence" in models:
        try:
            fit = fit_sequence(data, bb)
            out.append(_rj_forecast("rj_sequence", fit, t0, windows, all_mags, curve_mag, curve_days))
        except (ValueError, FloatingPointError) as exc:
            notes.append(f"RJ sequence-specific model omitted: {exc}")
    if "rj_bayesian" in models:
        out.append(
            _rj_forecast(
                "rj_bayesian", bayesian_model(data, generic), t0, windows, all_mags, curve_mag, curve_days
            )
        )
    if "etas" in models:
        res = _etas_forecast(
            mainshock,
            seq_all,
            t_start,
            comp,
            windows,
            all_mags,
            curve_mag,
            curve_days,
            etas_model=etas_model,
            min_events=etas_min_events,
            n_simulations=n_simulations,
            seed=seed,
            fit=etas_fit,
        )
        if isinstance(res, str):
            notes.append(f"ETAS omitted: {res}")
        else:
            out.append(res)
    if not quiet:
        for m in out:
            log.info("aftershock forecast: %s done", m.key)
    notes.append(
        f"{data.n} aftershocks above Mc(t) between the mainshock and the forecast start were used for fitting"
    )
    return AftershockForecast(
        mainshock,
        t_start,
        choice,
        comp,
        obs,
        out,
        all_mags,
        windows,
        utc(data_end),
        observed_curve,
        notes,
        thresholds=mags,
    )


def compare_with_observed(
    product: AftershockForecast, catalog: pd.DataFrame, *, radius_km: float | None = None
) -> pd.DataFrame:
    """What happened next: observed counts per window and threshold beside each model's 95 % range.

    Returns
    -------
    pandas.DataFrame
        The product's table plus ``observed``, ``complete_window`` (the catalog covers the whole window)
        and ``inside`` (``q025 <= observed <= q975``; NaN where the window is not fully observed).
    """
    ms = product.mainshock
    seq = select_sequence(catalog, ms, radius_km=radius_km)
    lag = ((seq["time"] - product.start) / pd.Timedelta(days=1)).to_numpy(float)
    mags = seq["magnitude"].to_numpy(float)
    end = (catalog["time"].max() - product.start) / pd.Timedelta(days=1)
    tab = product.table()
    tab["observed"] = [
        int(np.sum((lag >= 0) & (lag < d) & (mags >= m - 1e-9)))
        for d, m in zip(tab["duration_days"], tab["magnitude"], strict=True)
    ]
    tab["complete_window"] = tab["duration_days"] <= end + 1e-9
    inside = (tab["observed"] >= tab["q025"]) & (tab["observed"] <= tab["q975"])
    tab["inside"] = inside.astype(object).where(tab["complete_window"], np.nan)
    return tab
