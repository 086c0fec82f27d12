"""Short-term forecast after each batch: generic Reasenberg–Jones aftershock rates, superposed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quakelab.models.reasenberg_jones import ReasenbergJones
from quakelab.timeutils import utc


def short_term_forecast(
    events: pd.DataFrame,
    now,
    *,
    magnitudes: tuple[float, ...] = (5.0,),
    durations_days: tuple[float, ...] = (7.0, 30.0),
    min_source_magnitude: float = 3.0,
    lookback_days: float = 365.0,
    background_per_day: dict[float, float] | None = None,
    params: ReasenbergJones | None = None,
) -> pd.DataFrame:
    """Probability of at least one event ``M >= m`` in the next ``d`` days, from the events so far.

    Every event ``M >= min_source_magnitude`` of the last ``lookback_days`` is treated as a mainshock with
    the generic California Reasenberg & Jones (1989) parameters (``a = -1.67, b = 0.91, p = 1.08, c = 0.05``)
    unless ``params`` gives others; the expected numbers are summed (aftershocks of aftershocks are thus
    counted as their own sequences, which the generic parameters were not fitted for: a conservative,
    cheap operational reading, not a substitute for an ETAS forecast). An optional background rate per
    magnitude threshold is added. Probabilities are ``1 - exp(-expected)``.

    Parameters
    ----------
    events : pandas.DataFrame
        ``time, magnitude`` (UTC).
    now : time-like
        Forecast start; only earlier events are used.
    magnitudes, durations_days : tuples
    min_source_magnitude, lookback_days : float
    background_per_day : dict magnitude -> events/day, optional
    params : ReasenbergJones, optional
        ``a, b, p, c`` to use (its mainshock magnitude is ignored).

    Returns
    -------
    pandas.DataFrame
        One row per (duration, magnitude): ``expected``, ``probability``, ``n_sources``,
        ``largest_source_magnitude``.

    Examples
    --------
    >>> ev = pd.DataFrame({"time": [pd.Timestamp("2020-01-01", tz="UTC")], "magnitude": [6.0]})
    >>> f = short_term_forecast(ev, "2020-01-02", durations_days=(7.0,))
    >>> round(float(f["probability"].iloc[0]), 3)  # 1 - exp(-10^(-1.67 + 0.91) * integral of (t + 0.05)^-1.08 over 1..8 d)
    0.278
    """
    t_now = utc(now)
    src = events[
        (events["time"] < t_now)
        & (events["time"] >= t_now - pd.Timedelta(days=lookback_days))
        & (events["magnitude"] >= min_source_magnitude - 1e-9)
    ]
    rows = []
    for d in durations_days:
        for m in magnitudes:
            expected = 0.0
            for t, mm in zip(src["time"], src["magnitude"], strict=True):
                base = params or ReasenbergJones.generic_california(mm)
                rj = ReasenbergJones(a=base.a, b=base.b, p=base.p, c=base.c, mainshock_magnitude=float(mm))
                t1 = (t_now - t) / pd.Timedelta(days=1)
                expected += rj.expected_number(m, t1, t1 + d)
            expected += (background_per_day or {}).get(m, 0.0) * d
            rows.append(
                {
                    "duration_days": d,
                    "magnitude": m,
                    "expected": expected,
                    "probability": float(-np.expm1(-expected)),
                    "n_sources": len(src),
                    "largest_source_magnitude": float(src["magnitude"].max()) if len(src) else np.nan,
                }
            )
    return pd.DataFrame(rows)
