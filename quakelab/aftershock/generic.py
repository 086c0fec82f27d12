"""Generic Reasenberg–Jones parameters by tectonic regime, time-dependent completeness, and the regime look-up.

Sources of the numbers (every value below carries its source in :attr:`GenericRJ.source`):

* **Page et al. (2016)**, "Three ingredients for improved global aftershock forecasts: tectonic region,
  time-dependent catalog incompleteness, and intersequence variability", BSSA 106(5), 2290–2301.
  Their generic parameters per Garcia et al. (2012) tectonic regime (mean and standard deviation of the
  a-value, p; b = 1 and c = 0.018 days for all), as the USGS operational aftershock forecast (opensha-oaf,
  public domain) publishes them in ``GenericRJ_ParametersFetch.json``. The a-value standard deviation
  depends on the mainshock magnitude, ``sigma(M) = sqrt(sigma0^2 + sigma1^2 / 10^max(M, 6))``.
* **Hardebeck, Llenos, Michael, Page & van der Elst (2019)**, "Updated California aftershock parameters",
  SRL 90(1), 262–270: the California regions (SCSN, NCSS, Mendocino, hydrothermal) used by the USGS since
  2019, same table; their polygons are the USGS ones (vertices in :data:`CALIFORNIA_REGIONS`).
* **Reasenberg & Jones (1989)**, "Earthquake hazard after a mainshock in California", Science 243,
  1173–1176: the original generic California sequence (a = -1.67, b = 0.91, p = 1.08, c = 0.05 d); it
  published no a-value spread, so :data:`RJ1989_CALIFORNIA` has ``a_sigma = 0``.

Completeness after the mainshock (Page et al. 2016, eq. 15; the same form as Helmstetter et al. 2006):
``Mc(t) = max(Mcat, F * Mmain - G - H * log10(t_days))``. Page et al.'s global values are
F = 0.5, G = 0.25, H = 1.0 (with the global catalogue floor Mcat = 4.6); for California the USGS uses
Helmstetter, Kagan & Jackson (2006, BSSA 96(1)) F = 1.0, G = 4.5, H = 0.75 with Mcat = 3.0.

Regionalisation, honestly stated: the Garcia et al. (2012) regime of a point needs the STREC global grid,
which quakelab does not ship. :func:`regime_for` therefore (1) returns the California regime when the
epicentre lies inside one of the USGS California polygons, (2) otherwise returns the regime the caller
names, or (3) falls back to ``ANSR-SHALCON`` (active shallow crust, the most common regime of damaging
events) and says so in :attr:`RegimeChoice.method`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

PAGE2016 = (
    "Page et al. (2016) BSSA 106(5) 2290-2301, generic parameters per Garcia et al. (2012) regime, "
    "as published by the USGS operational aftershock forecast (opensha-oaf GenericRJ_ParametersFetch.json)"
)
HARDEBECK2019 = (
    "Hardebeck et al. (2019) SRL 90(1) 262-270, updated California aftershock parameters, "
    "as used by the USGS operational aftershock forecast (opensha-oaf GenericRJ_ParametersFetch.json)"
)
RJ1989 = "Reasenberg & Jones (1989) Science 243 1173-1176, generic California sequence"


@dataclass(frozen=True)
class GenericRJ:
    """Generic Reasenberg–Jones parameters of one tectonic regime.

    Attributes
    ----------
    regime : str
        Regime code (Garcia et al. 2012, or a California region, or ``RJ1989-CALIFORNIA``).
    a_mean, a_sigma : float
        Mean and magnitude-independent standard deviation of the a-value (log10 of the productivity of
        aftershocks ``M >= Mmain`` per day at ``t + c = 1`` day).
    a_sigma0, a_sigma1 : float
        Magnitude-dependent standard deviation ``sqrt(sigma0^2 + sigma1^2 / 10^max(M, 6))``.
    b, p, c : float
        Gutenberg–Richter b, Omori p and c (days).
    source : str
        Where the numbers come from.
    """

    regime: str
    a_mean: float
    a_sigma: float
    a_sigma0: float
    a_sigma1: float
    b: float
    p: float
    c: float
    source: str

    def sigma_a(self, mainshock_magnitude: float) -> float:
        """Standard deviation of the a-value for a mainshock of this magnitude (Page et al. 2016).

        Examples
        --------
        >>> round(GENERIC_RJ["ANSR-SHALCON"].sigma_a(7.0), 3)
        0.522
        """
        m = max(float(mainshock_magnitude), 6.0)
        return math.sqrt(self.a_sigma0**2 + self.a_sigma1**2 / 10**m)

    def to_dict(self) -> dict:
        """The parameters as a dict."""
        return asdict(self)


def _page(regime: str, p: float, a_mean: float, a_sigma: float, a_sigma1: float) -> GenericRJ:
    return GenericRJ(regime, a_mean, a_sigma, 0.49, a_sigma1, 1.0, p, 0.018, PAGE2016)


def _cal(regime: str, p: float, a_mean: float, a_sigma: float, c: float) -> GenericRJ:
    return GenericRJ(regime, a_mean, a_sigma, a_sigma, 0.0, 1.0, p, c, HARDEBECK2019)


#: Generic parameters by regime code (see the module docstring for the sources).
GENERIC_RJ: dict[str, GenericRJ] = {
    g.regime: g
    for g in (
        _page("ANSR-ABSLDEC", 1.01, -2.29, 0.63, 560.0),
        _page("ANSR-ABSLOCB", 0.64, -2.82, 0.80, 890.0),
        _page("ANSR-ABSLSHC", 1.06, -2.85, 0.75, 800.0),
        _page("ANSR-DEEPCON", 0.98, -2.13, 0.52, 250.0),
        _page("ANSR-HOTSPOT", 1.12, -3.00, 0.68, 680.0),
        _page("ANSR-OCEANBD", 1.08, -3.19, 0.60, 500.0),
        _page("ANSR-SHALCON", 0.98, -2.42, 0.63, 570.0),
        _page("SCR-GENERIC", 0.73, -2.85, 0.78, 870.0),
        _page("SCR-ABVSLAB", 0.73, -2.85, 0.78, 870.0),
        _page("SOR-GENERIC", 0.97, -3.04, 0.67, 650.0),
        _page("SOR-ABVSLAB", 0.97, -3.04, 0.67, 650.0),
        _page("SZ-GENERIC", 0.88, -2.47, 0.63, 570.0),
        _page("SZ-INLBACK", 0.86, -2.43, 0.66, 640.0),
        _page("SZ-ONSHORE", 0.81, -2.34, 0.60, 500.0),
        _page("SZ-OUTERTR", 0.92, -2.42, 0.64, 540.0),
        _cal("CAL-SCSN", 0.83, -2.30, 0.50, 0.0033),
        _cal("CAL-NCSS", 0.96, -2.64, 0.48, 0.012),
        _cal("CAL-MENDOCINO", 1.15, -3.18, 0.47, 0.050),
        _cal("CAL-HYDROTHERMAL", 0.94, -1.79, 0.29, 0.026),
        GenericRJ("RJ1989-CALIFORNIA", -1.67, 0.0, 0.0, 0.0, 0.91, 1.08, 0.05, RJ1989),
    )
}

#: Default regime outside California when the caller names none (see :func:`regime_for`).
DEFAULT_REGIME = "ANSR-SHALCON"


@dataclass(frozen=True)
class Completeness:
    """Time-dependent magnitude of completeness ``Mc(t) = max(Mcat, F * Mmain - G - H * log10(t))``.

    Attributes
    ----------
    mcat : float
        Catalogue completeness long after the mainshock.
    F, G, H : float
        Page et al. (2016) coefficients (``t`` in days).
    source : str
        Where the coefficients come from.
    """

    mcat: float
    F: float
    G: float
    H: float
    source: str

    def mc(self, t_days, mainshock_magnitude: float) -> np.ndarray:
        """``Mc`` at ``t_days`` after a mainshock of magnitude ``mainshock_magnitude``.

        Examples
        --------
        >>> c = COMPLETENESS["CALIFORNIA"]
        >>> [float(x) for x in c.mc([0.01, 1.0, 100.0], 7.1)]
        [4.1, 3.0, 3.0]
        """
        t = np.maximum(np.asarray(t_days, dtype=float), 1e-12)
        return np.round(
            np.maximum(self.mcat, self.F * mainshock_magnitude - self.G - self.H * np.log10(t)), 10
        )

    def time_complete(self, mainshock_magnitude: float) -> float:
        """Days after which ``Mc(t) == Mcat`` (0 when the catalogue is complete from the start)."""
        if self.H <= 0:
            return 0.0 if self.F * mainshock_magnitude - self.G <= self.mcat else math.inf
        return float(10 ** ((self.F * mainshock_magnitude - self.G - self.mcat) / self.H))

    def with_mcat(self, mcat: float) -> Completeness:
        """The same coefficients with another catalogue floor."""
        return Completeness(float(mcat), self.F, self.G, self.H, self.source)

    def to_dict(self) -> dict:
        """As a dict (``Mcat, F, G, H`` named as in the USGS product)."""
        return {"Mcat": self.mcat, "F": self.F, "G": self.G, "H": self.H, "source": self.source}


#: Completeness coefficients: Page et al. (2016) global; Helmstetter et al. (2006) California (USGS usage).
COMPLETENESS: dict[str, Completeness] = {
    "WORLD": Completeness(
        4.6,
        0.5,
        0.25,
        1.0,
        "Page et al. (2016) eq. 15, global values F=0.5, G=0.25, H=1.0; "
        "Mcat 4.6 (global catalogue, USGS operational value)",
    ),
    "CALIFORNIA": Completeness(
        3.0,
        1.0,
        4.5,
        0.75,
        "Helmstetter, Kagan & Jackson (2006) BSSA 96(1) for California, "
        "F=1.0, G=4.5, H=0.75 in the Page et al. (2016) form; Mcat 3.0 (USGS operational value)",
    ),
}

#: USGS California regions (Hardebeck et al. 2019) as (lon, lat) rings; earlier entries take precedence.
CALIFORNIA_REGIONS: list[tuple[str, tuple[tuple[float, float], ...]]] = [
    ("CAL-HYDROTHERMAL", ((-119.25, 37.25), (-118.25, 37.25), (-118.25, 37.825), (-119.25, 37.825))),
    ("CAL-HYDROTHERMAL", ((-115.3, 32.9), (-115.3, 33.3), (-116.0, 33.3), (-116.0, 32.9))),
    ("CAL-HYDROTHERMAL", ((-117.5, 35.55), (-117.5, 36.3), (-118.2, 36.3), (-118.2, 35.55))),
    ("CAL-MENDOCINO", ((-125.3, 39.75), (-123.0, 39.75), (-123.0, 42.1), (-125.0, 43.0), (-125.5, 40.0))),
    (
        "CAL-NCSS",
        (
            (-121.25, 34.5),
            (-118.0167, 37.2167),
            (-118.25, 37.75),
            (-119.5, 37.75),
            (-120.75, 39.5),
            (-121.4167, 42.0),
            (-122.7, 42.0),
            (-123.0, 42.1),
            (-123.0, 39.75),
            (-125.3, 39.75),
        ),
    ),
    (
        "CAL-SCSN",
        (
            (-116.4, 35.8),
            (-114.4717, 34.0815),
            (-114.3333, 32.0),
            (-120.5, 32.0),
            (-121.25, 34.5),
            (-118.0167, 37.2167),
            (-117.793, 36.6847),
        ),
    ),
]


@dataclass(frozen=True)
class RegimeChoice:
    """The regime chosen for a mainshock, its parameters and completeness, and how it was chosen."""

    regime: str
    params: GenericRJ
    completeness: Completeness
    method: str

    def to_dict(self) -> dict:
        """As a dict for the product."""
        return {
            "regime": self.regime,
            "method": self.method,
            "parameters": self.params.to_dict(),
            "completeness": self.completeness.to_dict(),
        }


def _point_in_ring(lon: float, lat: float, ring) -> bool:
    import shapely

    return bool(shapely.Polygon(ring).covers(shapely.Point(lon, lat)))


def regime_for(latitude: float, longitude: float, *, regime: str | None = None) -> RegimeChoice:
    """The generic parameters for a mainshock at ``(latitude, longitude)``.

    Parameters
    ----------
    latitude, longitude : float
        Epicentre (degrees).
    regime : str, optional
        A regime code of :data:`GENERIC_RJ` to use outside California (or anywhere, for
        ``RJ1989-CALIFORNIA`` and the ``CAL-*`` codes, which override the polygon look-up).

    Returns
    -------
    RegimeChoice

    Raises
    ------
    ValueError
        For an unknown regime code.

    Examples
    --------
    >>> regime_for(35.77, -117.6).regime  # Ridgecrest 2019 M7.1: the Coso hydrothermal polygon
    'CAL-HYDROTHERMAL'
    >>> regime_for(35.3, -118.0).regime
    'CAL-SCSN'
    >>> regime_for(38.0, 142.0).method.startswith("default")
    True
    """
    if regime is not None and regime not in GENERIC_RJ:
        raise ValueError(f"unknown regime {regime!r}; known: {sorted(GENERIC_RJ)}")
    lon = ((float(longitude) + 180.0) % 360.0) - 180.0
    if regime is not None and (regime.startswith("CAL-") or regime.startswith("RJ1989")):
        return RegimeChoice(regime, GENERIC_RJ[regime], COMPLETENESS["CALIFORNIA"], "given by the caller")
    for name, ring in CALIFORNIA_REGIONS:
        if _point_in_ring(lon, float(latitude), ring):
            return RegimeChoice(
                name,
                GENERIC_RJ[name],
                COMPLETENESS["CALIFORNIA"],
                f"epicentre inside the USGS {name} polygon (Hardebeck et al. 2019)",
            )
    if regime is not None:
        return RegimeChoice(regime, GENERIC_RJ[regime], COMPLETENESS["WORLD"], "given by the caller")
    return RegimeChoice(
        DEFAULT_REGIME,
        GENERIC_RJ[DEFAULT_REGIME],
        COMPLETENESS["WORLD"],
        "default (ANSR-SHALCON): outside California no tectonic regionalisation grid "
        "(STREC / Garcia et al. 2012) is available offline; pass regime= to choose another",
    )
