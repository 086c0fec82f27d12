"""The space–magnitude–time grid of a forecast (:class:`GridSpec`) and the forecast package's errors.

Vocabulary (``docs/glossary.md``): ``region`` (a :class:`quakelab.region.Region`), ``cell_deg`` (cell side in
degrees), ``min_magnitude`` (magnitude threshold = centre of the lowest magnitude bin), ``delta_m`` (magnitude bin
width), ``start`` / ``end`` (the half-open UTC window ``[start, end)``), ``expected_count`` (expected number of
events per bin over the window).

Binning convention: a catalog reports magnitudes on a grid of step ``magnitude_resolution`` (0.1 for most CSEP
catalogs, 0.01 for QTM); a reported value ``m`` stands for ``[m - res/2, m + res/2)``. Magnitude bin ``k`` of a
forecast is labelled ``min_magnitude + k * delta_m`` and holds the reported values from its label up to the next
label, i.e. the continuous magnitudes ``[label - res/2, label + delta_m - res/2)``; the last bin is open above.
So bin edges sit at ``min_magnitude - res/2 + k * delta_m``: with ``res = delta_m`` this is the CSEP convention (bin
5.0 is ``[4.95, 5.05)``); for two-decimal magnitudes binned by 0.1 from 1.0 the bin 1.0 holds 1.00-1.09, never a
half-filled lowest bin. Magnitudes are first rounded to ``res`` with :func:`quakelab.stats.bin_magnitudes`. Spatial cells are ``[lon0, lon0 + cell_deg) x [lat0, lat0 + cell_deg)``, labelled
by their centre; a cell belongs to the grid when its centre lies in the region (or, for grids read from files,
when the file lists it: ``cell_mask``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quakelab.region import Region, as_region, cell_area_km2
from quakelab.timeutils import utc

#: Version of the serialised GridSpec (``GridSpec.to_dict``); readers refuse newer versions.
GRID_SPEC_VERSION = 1
#: The one declared magnitude-bin convention (stored in every forecast's attrs).
MAGNITUDE_CONVENTION = (
    "label m = min_magnitude + k delta_m holds reported magnitudes in [m, m + delta_m); edges at "
    "m - magnitude_resolution/2; last bin open"
)
#: Units of ``expected_count``.
EXPECTED_COUNT_UNITS = "expected number of events per bin over the window"


class ForecastError(ValueError):
    """Base class of the forecast package's errors (invalid grids, forecasts, files, model files)."""


class GridSpecError(ForecastError):
    """An invalid or mismatched grid specification."""


class ForecastFormatError(ForecastError):
    """A forecast or model file that cannot be read (names the file, line and field)."""


def _r(x: float) -> float:
    """Round to 10 decimals, correctly rounded (Python's round), to remove float noise from grid values."""
    return round(float(x), 10)


def _clean(a: ArrayLike) -> np.ndarray:
    return np.array([_r(v) for v in np.ravel(np.asarray(a, dtype=float))])


@dataclass(frozen=True, eq=False)
class GridSpec:
    """Where, when and which magnitudes a forecast covers.

    Parameters
    ----------
    region : Region or bbox or vertices
        The study region (polygon in lon/lat).
    cell_deg : float
        Cell side in degrees.
    min_magnitude : float
        Magnitude threshold: centre of the lowest magnitude bin (events with binned magnitude >= it count).
    max_magnitude : float
        Centre of the highest magnitude bin, which is open above.
    delta_m : float, default 0.1
        Magnitude bin width.
    start, end : time-like, optional
        The window ``[start, end)`` (UTC); None for a grid not yet tied to a window.
    origin : (lon, lat), optional
        South-west corner of the cell lattice; the region's south-west bounding-box corner when None.
    cell_mask : bool array (latitude, longitude), optional
        Cells of the lattice that belong to the grid; when None, the cells whose centre lies in the region.
    magnitude_resolution : float, optional
        Step at which the catalog reports magnitudes (``delta_m`` when None, the CSEP case).

    Examples
    --------
    >>> spec = GridSpec((-117, -116, 33, 34), cell_deg=0.5, min_magnitude=2.0, max_magnitude=3.0)
    >>> spec.shape, spec.magnitudes.tolist()
    ((11, 2, 2), [2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0])
    >>> spec.magnitude_lower_edges[:2].tolist()
    [1.95, 2.05]
    """

    region: Region
    cell_deg: float
    min_magnitude: float
    max_magnitude: float
    delta_m: float = 0.1
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    origin: tuple[float, float] | None = None
    cell_mask: np.ndarray | None = field(default=None, repr=False)
    magnitude_resolution: float | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        try:
            set_(self, "region", as_region(self.region))
        except Exception as exc:  # noqa: BLE001 - re-raised with the field named
            raise GridSpecError(f"GridSpec.region: {exc}") from exc
        for name in ("cell_deg", "min_magnitude", "max_magnitude", "delta_m"):
            v = getattr(self, name)
            try:
                v = float(v)
            except (TypeError, ValueError) as exc:
                raise GridSpecError(f"GridSpec.{name} must be a number, got {v!r}") from exc
            if not math.isfinite(v):
                raise GridSpecError(f"GridSpec.{name} must be finite, got {v}")
            set_(self, name, _r(v))
        if self.cell_deg <= 0:
            raise GridSpecError(f"GridSpec.cell_deg must be positive, got {self.cell_deg}")
        if self.delta_m <= 0:
            raise GridSpecError(f"GridSpec.delta_m must be positive, got {self.delta_m}")
        res = self.delta_m if self.magnitude_resolution is None else float(self.magnitude_resolution)
        if not (0 < res <= self.delta_m + 1e-12):
            raise GridSpecError(
                f"GridSpec.magnitude_resolution must be in (0, delta_m={self.delta_m}], got {res}"
            )
        set_(self, "magnitude_resolution", _r(res))
        n = (self.max_magnitude - self.min_magnitude) / self.delta_m
        if n < -1e-9 or abs(n - round(n)) > 1e-6:
            raise GridSpecError(
                f"GridSpec: max_magnitude {self.max_magnitude} is not min_magnitude "
                f"{self.min_magnitude} plus a whole number of bins of {self.delta_m}"
            )
        for name in ("start", "end"):
            v = getattr(self, name)
            if v is not None:
                try:
                    set_(self, name, utc(v))
                except (TypeError, ValueError) as exc:
                    raise GridSpecError(f"GridSpec.{name}: cannot read {v!r} as a time") from exc
        if self.start is not None and self.end is not None and not self.start < self.end:
            raise GridSpecError(f"GridSpec: window start {self.start} is not before end {self.end}")
        x0, x1, y0, y1 = self.region.bounds
        if self.origin is None:
            set_(self, "origin", (_r(x0), _r(y0)))
        else:
            set_(self, "origin", (_r(self.origin[0]), _r(self.origin[1])))
        nx = max(1, math.ceil((x1 - self.origin[0]) / self.cell_deg - 1e-9))
        ny = max(1, math.ceil((y1 - self.origin[1]) / self.cell_deg - 1e-9))
        if self.cell_mask is None:
            lon, lat = self._centres(nx, ny)
            glon, glat = np.meshgrid(lon, lat)
            mask = self.region.contains(glon.ravel(), glat.ravel()).reshape(glon.shape)
        else:
            mask = np.asarray(self.cell_mask, dtype=bool)
            if mask.ndim != 2:
                raise GridSpecError(
                    f"GridSpec.cell_mask must be 2-D (latitude, longitude), got shape {mask.shape}"
                )
            ny, nx = mask.shape
        if not mask.any():
            raise GridSpecError(
                f"GridSpec: no cell of {self.cell_deg} deg has its centre in region {self.region.bounds}"
            )
        mask = mask.copy()
        mask.setflags(write=False)
        set_(self, "cell_mask", mask)

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_window(
        cls,
        region: Region | Any,
        *,
        cell_deg: float,
        min_magnitude: float,
        max_magnitude: float,
        start,
        end,
        delta_m: float = 0.1,
    ) -> GridSpec:
        """Keyword-only constructor (the form experiment definitions use)."""
        return cls(region, cell_deg, min_magnitude, max_magnitude, delta_m, start, end)

    def with_window(self, start, end) -> GridSpec:
        """The same grid over another window."""
        return GridSpec(
            self.region,
            self.cell_deg,
            self.min_magnitude,
            self.max_magnitude,
            self.delta_m,
            start,
            end,
            self.origin,
            self.cell_mask,
            self.magnitude_resolution,
        )

    def _centres(self, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
        lon = _clean(self.origin[0] + (np.arange(nx) + 0.5) * self.cell_deg)
        lat = _clean(self.origin[1] + (np.arange(ny) + 0.5) * self.cell_deg)
        return lon, lat

    # ------------------------------------------------------------------ derived grid
    @property
    def n_magnitudes(self) -> int:
        """Number of magnitude bins."""
        return int(round((self.max_magnitude - self.min_magnitude) / self.delta_m)) + 1

    @property
    def magnitudes(self) -> np.ndarray:
        """Bin labels (the ``magnitude`` coordinate): ``min_magnitude + k * delta_m``."""
        return _clean(self.min_magnitude + np.arange(self.n_magnitudes) * self.delta_m)

    @property
    def magnitude_lower_edges(self) -> np.ndarray:
        """Lower bin edges ``m - magnitude_resolution/2`` (what pycsep calls a forecast's ``magnitudes``)."""
        return _clean(self.magnitudes - self.magnitude_resolution / 2)

    @property
    def longitudes(self) -> np.ndarray:
        """Cell-centre longitudes of the lattice."""
        return self._centres(self.cell_mask.shape[1], 1)[0]

    @property
    def latitudes(self) -> np.ndarray:
        """Cell-centre latitudes of the lattice."""
        return self._centres(1, self.cell_mask.shape[0])[1]

    @property
    def lon_edges(self) -> np.ndarray:
        """Cell edges in longitude (``nx + 1``)."""
        return _clean(self.origin[0] + np.arange(self.cell_mask.shape[1] + 1) * self.cell_deg)

    @property
    def lat_edges(self) -> np.ndarray:
        """Cell edges in latitude (``ny + 1``)."""
        return _clean(self.origin[1] + np.arange(self.cell_mask.shape[0] + 1) * self.cell_deg)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(magnitude, latitude, longitude)`` sizes."""
        return (self.n_magnitudes, *self.cell_mask.shape)

    @property
    def n_cells(self) -> int:
        """Number of spatial cells in the grid (mask True)."""
        return int(self.cell_mask.sum())

    @property
    def duration_days(self) -> float:
        """Window length in days."""
        if self.start is None or self.end is None:
            raise GridSpecError("this GridSpec has no window (start/end)")
        return float((self.end - self.start) / pd.Timedelta(days=1))

    def cell_areas_km2(self, radius_km: float | None = None) -> np.ndarray:
        """True (WGS84) area of every lattice cell, 0 outside the grid, shape (latitude, longitude).

        ``radius_km``: the area on a sphere of this radius instead."""
        area = cell_area_km2(self.latitudes, self.cell_deg, radius_km)[:, None] * np.ones(
            self.cell_mask.shape[1]
        )
        return np.where(self.cell_mask, area, 0.0)

    # ------------------------------------------------------------------ look-ups (vectorised)
    def magnitude_index(self, magnitudes: ArrayLike) -> np.ndarray:
        """Bin index of each magnitude (rounded half up to the resolution first); -1 below the threshold; the last
        bin is open."""
        from quakelab.stats import bin_magnitudes

        m = bin_magnitudes(np.asarray(magnitudes, dtype=float), self.magnitude_resolution)
        k = np.floor(np.round((m - self.min_magnitude) / self.delta_m, 9))
        k = np.where(np.isfinite(k), k, -1).astype(np.int64)
        return np.where(k < 0, -1, np.minimum(k, self.n_magnitudes - 1))

    def cell_index(self, lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """(latitude index, longitude index) of the cell holding each point; -1 for points outside the grid.

        Cells are closed below and open above (``[lon0, lon0 + cell_deg)``), as in pycsep.
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        ny, nx = self.cell_mask.shape
        with np.errstate(invalid="ignore"):
            ix = np.floor(np.round((lon - self.origin[0]) / self.cell_deg, 9)).astype(np.float64)
            iy = np.floor(np.round((lat - self.origin[1]) / self.cell_deg, 9)).astype(np.float64)
        ok = np.isfinite(ix) & np.isfinite(iy) & (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        ix = np.where(ok, ix, 0).astype(np.int64)
        iy = np.where(ok, iy, 0).astype(np.int64)
        ok &= self.cell_mask[iy, ix]
        return np.where(ok, iy, -1), np.where(ok, ix, -1)

    def bin_index(self, lon: ArrayLike, lat: ArrayLike, magnitude: ArrayLike) -> np.ndarray:
        """``(n, 3)`` array of (magnitude, latitude, longitude) indices; rows with -1 fall outside the grid."""
        iy, ix = self.cell_index(lon, lat)
        im = self.magnitude_index(magnitude)
        out = np.column_stack([im, iy, ix])
        out[(im < 0) | (iy < 0)] = -1
        return out

    def count_events(self, catalog: pd.DataFrame) -> np.ndarray:
        """Observed events per (magnitude, latitude, longitude) bin, within the window when it has one."""
        cat = catalog
        if self.start is not None and self.end is not None and "time" in cat:
            cat = cat[(cat["time"] >= self.start) & (cat["time"] < self.end)]
        idx = self.bin_index(
            cat["longitude"].to_numpy(), cat["latitude"].to_numpy(), cat["magnitude"].to_numpy()
        )
        idx = idx[idx[:, 0] >= 0]
        out = np.zeros(self.shape)
        np.add.at(out, (idx[:, 0], idx[:, 1], idx[:, 2]), 1.0)
        return out

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the mask as rows of 0/1 strings)."""
        return {
            "version": GRID_SPEC_VERSION,
            "region": self.region.to_dict(),
            "cell_deg": self.cell_deg,
            "min_magnitude": self.min_magnitude,
            "max_magnitude": self.max_magnitude,
            "delta_m": self.delta_m,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "origin": list(self.origin),
            "magnitude_resolution": self.magnitude_resolution,
            "magnitude_convention": MAGNITUDE_CONVENTION,
            "cell_mask": ["".join("1" if v else "0" for v in row) for row in self.cell_mask],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GridSpec:
        """Inverse of :meth:`to_dict`; refuses a newer version."""
        version = d.get("version")
        if version != GRID_SPEC_VERSION:
            raise GridSpecError(
                f"GridSpec version {version!r} is not supported (this quakelab reads "
                f"version {GRID_SPEC_VERSION})"
            )
        try:
            mask = np.array([[c == "1" for c in row] for row in d["cell_mask"]], dtype=bool)
            return cls(
                Region.from_dict(d["region"]),
                d["cell_deg"],
                d["min_magnitude"],
                d["max_magnitude"],
                d["delta_m"],
                d.get("start"),
                d.get("end"),
                tuple(d["origin"]),
                mask,
                d.get("magnitude_resolution"),
            )
        except KeyError as exc:
            raise GridSpecError(f"GridSpec: missing field {exc.args[0]!r}") from exc

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string (how forecasts carry their grid in attrs)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> GridSpec:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GridSpec):
            return NotImplemented
        return (
            self.region == other.region
            and self.cell_deg == other.cell_deg
            and self.min_magnitude == other.min_magnitude
            and self.max_magnitude == other.max_magnitude
            and self.delta_m == other.delta_m
            and self.start == other.start
            and self.end == other.end
            and self.origin == other.origin
            and np.array_equal(self.cell_mask, other.cell_mask)
            and self.magnitude_resolution == other.magnitude_resolution
        )

    def same_grid(self, other: GridSpec) -> bool:
        """True when the cells and magnitude bins are identical (windows may differ)."""
        return (
            self.cell_deg == other.cell_deg
            and self.origin == other.origin
            and self.min_magnitude == other.min_magnitude
            and self.max_magnitude == other.max_magnitude
            and self.delta_m == other.delta_m
            and self.magnitude_resolution == other.magnitude_resolution
            and np.array_equal(self.cell_mask, other.cell_mask)
        )

    __hash__ = None  # type: ignore[assignment]
