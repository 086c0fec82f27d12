"""The real catalogs of the RECAST benchmark: reader, published splits and published test scores.

RECAST (Dascher-Cousineau et al. 2023, GitHub ``keliankaz/recast``) ships four real catalogs as event
sequences of times and magnitudes only (no locations). ``../shared/data/recast/`` holds them as CSV files
(``time, magnitude, t_days, inter_time_days``); its README gives the provenance, the splits and the published
numbers that are transcribed here.

RECAST scores the *temporal* log-likelihood of the events of a scoring window ``(T0, T1)`` conditioned on all
events since the catalog start, divided by the window length in days: ``nll_test`` is in nats per day.
quakelab (and EarthquakeNPP) report the mean per scored event. :func:`published_per_event` converts:
``LL/event = -nll_test * days / n_events``, with the days and event counts of RECAST's test window below.
The two normalisations share the time unit (days) and the conditioning; they differ only by the compensator
after the last test event (RECAST integrates to ``T1``, the per-event score to the last event), a stretch of one
inter-event time, below 1e-3 nats per event on these catalogs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RecastCatalog:
    """One RECAST catalog: file, window, completeness, split dates, test counts and published NLLs.

    Attributes
    ----------
    name : str
        RECAST's catalog name.
    filename : str
        File under ``<shared data>/recast/``.
    sha256 : str
        Checksum of that file.
    n_events : int
        Rows of the file.
    start, end : str
        Catalog window ``[start, end)`` (UTC).
    mc : float
        Completeness: every magnitude is strictly above.
    train_start, val_start, test_start : str
        RECAST's split dates; scoring windows ``(train_start, val_start]``, ``(val_start, test_start]``,
        ``(test_start, end)``, each conditioned on everything since ``start``.
    n_test_events, test_days : int
        Events and days of the test scoring window (README hand counts).
    nll_test : dict
        Published ``nll_test`` (nats per day) per model, seeds 0–4.
    """

    name: str
    filename: str
    sha256: str
    n_events: int
    start: str
    end: str
    mc: float
    train_start: str
    val_start: str
    test_start: str
    n_test_events: int
    test_days: int
    nll_test: dict[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def splits(self) -> dict[str, str]:
        """The split dates by name (``auxiliary_start`` is the catalog start)."""
        return {
            "auxiliary_start": self.start,
            "train_start": self.train_start,
            "val_start": self.val_start,
            "test_start": self.test_start,
            "test_end": self.end,
        }


#: The four RECAST real catalogs (../shared/data/recast/README.md).
RECAST_CATALOGS: dict[str, RecastCatalog] = {
    c.name: c
    for c in [
        RecastCatalog(
            "White",
            "recast_White.csv",
            "6b8dbd2b1f3a331b4ad1300ee2ae04f920181de7599f6b87bff180481860486f",
            134_975,
            "2008-01-01",
            "2021-01-01",
            0.6,
            "2009-01-01",
            "2014-01-01",
            "2017-01-01",
            49_313,
            1461,
            {
                "ETAS": (-89.3092, -89.3059, -89.3074, -88.6721, -89.3189),
                "RecurrentTPP": (-89.4333, -89.6359, -89.5668, -89.5628, -89.5909),
            },
        ),
        RecastCatalog(
            "QTMSaltonSea",
            "recast_QTMSaltonSea.csv",
            "58f1a4737e9765ff95f4740f9b8fe7084171fa87e530e5af48a93e70d5f1b1fb",
            44_133,
            "2008-01-01",
            "2018-01-01",
            1.0,
            "2009-01-01",
            "2014-01-01",
            "2016-01-01",
            4_026,
            731,
            {
                "ETAS": (-13.0251, -13.0258, -13.0246, -13.0222, -13.0224),
                "RecurrentTPP": (-13.1092, -13.0764, -13.0893, -13.1027, -13.0860),
            },
        ),
        RecastCatalog(
            "QTMSanJacinto",
            "recast_QTMSanJacinto.csv",
            "26cd16b36ecefd4083c86889d16a307224e4426f4d560f668f84755685878468",
            20_790,
            "2008-01-01",
            "2018-01-01",
            1.0,
            "2009-01-01",
            "2014-01-01",
            "2016-01-01",
            4_311,
            731,
            {
                "ETAS": (-6.6726, -6.6726, -6.6726, -6.6728, -6.6726),
                "RecurrentTPP": (-6.7038, -6.7233, -6.7176, -6.7446, -6.7108),
            },
        ),
        RecastCatalog(
            "SCEDC",
            "recast_SCEDC.csv",
            "24e4e0c9d78c9e4b321e098a4302b7e101aa9b1e644d371d041f821bc7510178",
            125_421,
            "1981-01-01",
            "2020-01-01",
            2.0,
            "1985-01-01",
            "2005-01-01",
            "2014-01-01",
            12_545,
            2191,
            {
                "ETAS": (-14.2529, -14.2552, -14.2529, -14.2550, -14.2486),
                "RecurrentTPP": (-14.1682, -14.2204, -14.2219, -14.2609, -14.0827),
            },
        ),
    ]
}

_COLUMNS = ("time", "magnitude", "t_days", "inter_time_days")


def recast_catalog(name: str) -> RecastCatalog:
    """Look up a RECAST catalog by its name (``White``, ``QTMSaltonSea``, ``QTMSanJacinto``, ``SCEDC``),
    case-insensitively, or by its dataset name (``recast-white``, ...).

    Parameters
    ----------
    name : str

    Returns
    -------
    RecastCatalog
    """
    key = name.lower().removeprefix("recast-").replace("-", "").replace("_", "")
    for c in RECAST_CATALOGS.values():
        if c.name.lower() == key:
            return c
    raise KeyError(f"unknown RECAST catalog {name!r}; known: {sorted(RECAST_CATALOGS)}")


def read_recast_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a RECAST CSV (``time, magnitude, t_days, inter_time_days``) as a temporal catalog.

    RECAST stores no locations: ``latitude``, ``longitude`` and ``depth_km`` are NaN, so the result suits
    temporal models only (temporal ETAS, neural temporal point processes); spatial code must not use it.

    Parameters
    ----------
    path : path-like
        One of the four CSV files.

    Returns
    -------
    pandas.DataFrame
        Canonical columns (``event_id`` = ``recast:<file stem>:<row>``, ``time`` UTC, NaN locations,
        ``magnitude``, ``mag_type`` '') plus ``t_days`` and ``inter_time_days``; sorted by time (as stored).

    Raises
    ------
    ValueError
        Naming the file, line and field of the first bad value (missing column, unparseable time or
        number, times out of order).
    """
    path = Path(path)
    raw = pd.read_csv(path, dtype={"time": str})
    missing = [c for c in _COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"file {path}: missing column(s) {missing} (found {list(raw.columns)})")
    time = pd.to_datetime(raw["time"], format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(time.isna().to_numpy())
    if bad.size:
        raise ValueError(
            f"file {path}, line {bad[0] + 2}, field 'time': unparseable {raw['time'].iloc[bad[0]]!r}"
        )
    numbers = {}
    for col in ("magnitude", "t_days", "inter_time_days"):
        v = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            raise ValueError(
                f"file {path}, line {bad[0] + 2}, field {col!r}: not a number {raw[col].iloc[bad[0]]!r}"
            )
        numbers[col] = v
    back = np.flatnonzero(np.diff(numbers["t_days"]) < 0)
    if back.size:
        raise ValueError(f"file {path}, line {back[0] + 3}, field 't_days': earlier than the previous row")
    n = len(raw)
    out = pd.DataFrame(
        {
            "event_id": (f"recast:{path.stem}:" + pd.Series(np.arange(n)).astype(str)).to_numpy(),
            "time": time.astype("datetime64[ns, UTC]"),
            "latitude": np.full(n, np.nan),
            "longitude": np.full(n, np.nan),
            "depth_km": np.full(n, np.nan),
            "magnitude": numbers["magnitude"],
            "mag_type": "",
            "t_days": numbers["t_days"],
            "inter_time_days": numbers["inter_time_days"],
        }
    )
    out.attrs.update({"source": str(path), "n_read": n, "temporal_only": True})
    return out


def published_per_event() -> pd.DataFrame:
    """RECAST's published test scores converted to the log-likelihood per scored event.

    ``ll_per_event = -nll_test * test_days / n_test_events`` for each seed (nats per day times days gives the
    window's total log-likelihood; divided by RECAST's own count of scored test events). Time unit days
    in both; no magnitude shift enters a temporal likelihood.

    Returns
    -------
    pandas.DataFrame
        One row per (catalog, model): ``nll_test_mean, nll_test_sd`` (per day, 5 seeds),
        ``ll_per_event_mean, ll_per_event_sd, ll_per_event_min, ll_per_event_max`` (per event),
        ``n_test_events, test_days``.
    """
    rows = []
    for c in RECAST_CATALOGS.values():
        for model, nll in c.nll_test.items():
            nll_a = np.asarray(nll)
            per = -nll_a * c.test_days / c.n_test_events
            rows.append(
                {
                    "catalog": c.name,
                    "model": model,
                    "nll_test_mean": nll_a.mean(),
                    "nll_test_sd": nll_a.std(ddof=1),
                    "ll_per_event_mean": per.mean(),
                    "ll_per_event_sd": per.std(ddof=1),
                    "ll_per_event_min": per.min(),
                    "ll_per_event_max": per.max(),
                    "n_test_events": c.n_test_events,
                    "test_days": c.test_days,
                }
            )
    return pd.DataFrame(rows).set_index(["catalog", "model"])
