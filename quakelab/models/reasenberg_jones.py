"""Reasenberg & Jones (1989) aftershock forecasts: generic California and sequence-specific parameters."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from quakelab._compat import renamed_kwargs


@dataclass(frozen=True)
class ReasenbergJones:
    """Aftershock rate ``lambda(t, M) = 10^(a + b (Mm - M)) (t + c)^-p`` (events/day with magnitude >= M).

    Attributes
    ----------
    a, b, p, c : float
        Parameters; the defaults of :meth:`generic_california` are Reasenberg & Jones (1989):
        a = -1.67, b = 0.91, p = 1.08, c = 0.05 days.
    mainshock_magnitude : float
        Mm.
    """

    a: float
    b: float
    p: float
    c: float
    mainshock_magnitude: float

    @classmethod
    def generic_california(cls, mainshock_magnitude: float) -> ReasenbergJones:
        """The generic California sequence (Reasenberg & Jones 1989)."""
        return cls(a=-1.67, b=0.91, p=1.08, c=0.05, mainshock_magnitude=float(mainshock_magnitude))

    @classmethod
    @renamed_kwargs(mc="min_magnitude", delta_m="magnitude_resolution")
    def fit_sequence(
        cls,
        t_days: np.ndarray,
        magnitudes: np.ndarray,
        mainshock_magnitude: float,
        min_magnitude: float,
        *,
        t_start: float = 0.0,
        t_end: float | None = None,
        magnitude_resolution: float = 0.1,
        b: float | None = None,
    ) -> ReasenbergJones:
        """Sequence-specific parameters: Omori (K, c, p) by maximum likelihood above ``min_magnitude``, b by
        Aki–Utsu (or given), and ``a = log10 K - b (Mm - min_magnitude)``.

        Parameters
        ----------
        t_days : array
            Aftershock times in days after the mainshock.
        magnitudes : array
            Their magnitudes.
        mainshock_magnitude : float
            Mm.
        min_magnitude : float
            Magnitude threshold (completeness) of the aftershocks used. Old name: ``mc`` (deprecated).
        t_start, t_end : float
            Fitting window (days).
        magnitude_resolution : float
            The catalog's magnitude resolution. Old name: ``delta_m`` (deprecated).
        b : float, optional
            Use this b-value instead of estimating it.

        Returns
        -------
        ReasenbergJones
            Fitted parameters.
        """
        from quakelab.stats import b_value, omori_fit

        t = np.asarray(t_days, dtype=float)
        m = np.asarray(magnitudes, dtype=float)
        keep = m >= min_magnitude - 1e-9
        fit = omori_fit(t[keep], t_start=t_start, t_end=t_end)
        bb = b if b is not None else b_value(m[keep], min_magnitude, magnitude_resolution).b
        a = math.log10(fit.K) - bb * (mainshock_magnitude - min_magnitude)
        return cls(a=float(a), b=float(bb), p=fit.p, c=fit.c, mainshock_magnitude=float(mainshock_magnitude))

    def expected_number(self, magnitude: float, t1_days: float, t2_days: float) -> float:
        """Expected number of aftershocks with magnitude >= ``magnitude`` between ``t1`` and ``t2`` days."""
        from quakelab.stats.omori import _omori_integral

        k = 10 ** (self.a + self.b * (self.mainshock_magnitude - magnitude))
        return float(k * _omori_integral(self.c, self.p, t1_days, t2_days))

    def probabilities(
        self,
        elapsed_days: float,
        *,
        durations_days: tuple[float, ...] = (1.0, 7.0, 30.0),
        magnitudes: tuple[float, ...] = (5.0, 6.0, 7.0),
    ) -> pd.DataFrame:
        """P(at least one M >= m) in windows starting ``elapsed_days`` after the mainshock.

        Poisson in the expected number N: ``P = 1 - exp(-N)``; the 95 % range is the Poisson one.

        Returns
        -------
        pandas.DataFrame
            ``duration_days, magnitude, probability, expected_number, n_q025, n_q975``.
        """
        rows = []
        for dur in durations_days:
            for mag in magnitudes:
                n = self.expected_number(mag, elapsed_days, elapsed_days + dur)
                rows.append(
                    {
                        "duration_days": dur,
                        "magnitude": mag,
                        "probability": 1 - math.exp(-n),
                        "expected_number": n,
                        "n_q025": float(stats.poisson.ppf(0.025, n)),
                        "n_q975": float(stats.poisson.ppf(0.975, n)),
                    }
                )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, float]:
        """Parameters as a dict."""
        return asdict(self)
