"""quakelab's models behind the :class:`~quakelab.forecast.ForecastModel` protocol.

Every adapter takes the same vocabulary (``docs/glossary.md``): ``region``, ``min_magnitude`` (threshold on the
reported magnitudes), ``magnitude_resolution`` (step at which the catalog reports magnitudes: 0.1 for most CSEP
catalogs, 0.01 for QTM); rounds magnitudes to it with :func:`quakelab.stats.bin_magnitudes`, keeps ``M >=
min_magnitude`` (the continuous cut ``min_magnitude - magnitude_resolution/2``), estimates Gutenberg–Richter beta
with :func:`quakelab.stats.estimate_beta` at that resolution and spreads counts over the grid's magnitude bins with
:func:`quakelab.stats.magnitude_bin_fractions`. Wrapped models are called through their public methods only.
"""

from __future__ import annotations

import base64
import json
import math
import pickle
import string
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quakelab.forecast.catalog import CatalogForecast
from quakelab.forecast.grid import ForecastError, GridSpec, GridSpecError
from quakelab.forecast.gridded import VARIABLE, from_array, grid_spec
from quakelab.forecast.protocol import BaseForecastModel
from quakelab.region import Region, as_region, haversine_km
from quakelab.timeutils import utc


def select_events(
    catalog: pd.DataFrame | None,
    start: Any,
    end: Any,
    *,
    region: Region | None,
    min_magnitude: float,
    magnitude_resolution: float,
) -> pd.DataFrame:
    """Events in ``[start, end)`` (either may be None), inside ``region``, with magnitude >= ``min_magnitude`` once
    rounded to ``magnitude_resolution``.

    The returned copy has its ``magnitude`` column rounded (:func:`quakelab.stats.bin_magnitudes`).
    """
    from quakelab.stats import bin_magnitudes

    if catalog is None or len(catalog) == 0:
        return pd.DataFrame(columns=["event_id", "time", "latitude", "longitude", "depth_km", "magnitude"])
    keep = np.ones(len(catalog), dtype=bool)
    if start is not None:
        keep &= (catalog["time"] >= utc(start)).to_numpy()
    if end is not None:
        keep &= (catalog["time"] < utc(end)).to_numpy()
    cat = catalog[keep].copy()
    cat["magnitude"] = bin_magnitudes(cat["magnitude"].to_numpy(dtype=float), magnitude_resolution)
    cat = cat[cat["magnitude"].to_numpy() >= min_magnitude - 1e-9]
    if region is not None and len(cat):
        cat = cat[region.contains(cat["longitude"].to_numpy(), cat["latitude"].to_numpy())]
    return cat.sort_values("time", kind="mergesort").reset_index(drop=True)


def _days(start: Any, end: Any) -> float:
    return float((utc(end) - utc(start)) / pd.Timedelta(days=1))


def _window_grid(grid: GridSpec, start: Any, end: Any) -> GridSpec:
    if not isinstance(grid, GridSpec):
        raise GridSpecError(f"grid must be a GridSpec, got {type(grid).__name__}")
    return grid.with_window(start, end)


def _magnitude_shares(grid: GridSpec, beta: float, min_magnitude: float) -> np.ndarray:
    from quakelab.stats import magnitude_bin_fractions

    return magnitude_bin_fractions(grid.magnitudes, beta, min_magnitude, grid.delta_m)


def _region_dict(region: Region) -> dict:
    return region.to_dict()


class _RegionModel(BaseForecastModel):
    """Common settings: region, magnitude threshold, magnitude resolution of the catalog."""

    def __init__(
        self, region: Region | Any, min_magnitude: float, *, magnitude_resolution: float = 0.1
    ) -> None:
        self.region = as_region(Region.from_dict(region) if isinstance(region, dict) else region)
        self.min_magnitude = float(min_magnitude)
        self.magnitude_resolution = float(magnitude_resolution)

    def _config(self) -> dict[str, Any]:
        return {
            "region": _region_dict(self.region),
            "min_magnitude": self.min_magnitude,
            "magnitude_resolution": self.magnitude_resolution,
        }

    def _events(self, catalog: pd.DataFrame | None, start: Any, end: Any) -> pd.DataFrame:
        return select_events(
            catalog,
            start,
            end,
            region=self.region,
            min_magnitude=self.min_magnitude,
            magnitude_resolution=self.magnitude_resolution,
        )


# ---------------------------------------------------------------------------------------------- Poisson
class PoissonForecaster(_RegionModel):
    """Homogeneous Poisson: :class:`quakelab.models.PoissonModel`'s rate per day and km², Gutenberg–Richter magnitudes.

    ``expected_count = mu * cell area * window days * share of the magnitude bin`` (shares from the fitted beta).
    """

    name = "Poisson"

    def fit(self, catalog: pd.DataFrame, start: Any, end: Any) -> PoissonForecaster:
        """Rate and beta from the events in ``[start, end)``."""
        from quakelab.models import PoissonModel
        from quakelab.stats import estimate_beta

        events = self._events(catalog, start, end)
        if len(events) < 2:
            raise ForecastError(
                f"Poisson: {len(events)} events with M >= {self.min_magnitude} in the region between "
                f"{start} and {end}; need at least 2"
            )
        # the catalog handed to PoissonModel is already binned, so its own rounding is a no-op
        model = PoissonModel(
            self.min_magnitude, self.region, magnitude_resolution=self.magnitude_resolution
        ).fit(events, start=start, end=end)
        self.mu_per_day_km2_ = float(model.mu_)
        self.beta_ = estimate_beta(events["magnitude"], self.min_magnitude, self.magnitude_resolution)
        self.n_events_ = int(model.n_events_)
        self.fitted_ = True
        return self

    def forecast(self, history: pd.DataFrame | None, start: Any, end: Any, grid: GridSpec):
        """Uniform in space per km², Gutenberg–Richter over the grid's bins (the history is not used)."""
        self.check_is_fitted()
        g = _window_grid(grid, start, end)
        counts = (
            _magnitude_shares(g, self.beta_, self.min_magnitude)[:, None, None]
            * g.cell_areas_km2()[None]
            * self.mu_per_day_km2_
            * g.duration_days
        )
        return from_array(counts, g, model=self.name)

    def _state(self) -> dict[str, Any]:
        return {"mu_per_day_km2": self.mu_per_day_km2_, "beta": self.beta_, "n_events": self.n_events_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.mu_per_day_km2_ = float(state["mu_per_day_km2"])
        self.beta_ = float(state["beta"])
        self.n_events_ = int(state["n_events"])


# ---------------------------------------------------------------------------------------------- smoothed seismicity
class SmoothedSeismicityForecaster(_RegionModel):
    """Smoothed seismicity (:class:`quakelab.models.SmoothedSeismicity`) evaluated at the grid's cell centres.

    ``expected_count = rate per day * window days * (kernel density * cell area, normalised over the grid) * share
    of the magnitude bin``.
    """

    name = "smoothed seismicity"

    def __init__(
        self,
        region: Region | Any,
        min_magnitude: float,
        *,
        magnitude_resolution: float = 0.1,
        kernel: str = "power_law",
        bandwidth_km: float | None = None,
        k_neighbours: int = 5,
        min_bandwidth_km: float = 0.5,
    ) -> None:
        super().__init__(region, min_magnitude, magnitude_resolution=magnitude_resolution)
        self.kernel = kernel
        self.bandwidth_km = bandwidth_km
        self.k_neighbours = int(k_neighbours)
        self.min_bandwidth_km = float(min_bandwidth_km)

    def _config(self) -> dict[str, Any]:
        return {
            **super()._config(),
            "kernel": self.kernel,
            "bandwidth_km": self.bandwidth_km,
            "k_neighbours": self.k_neighbours,
            "min_bandwidth_km": self.min_bandwidth_km,
        }

    def _model(self):
        from quakelab.models import SmoothedSeismicity

        return SmoothedSeismicity(
            self.min_magnitude,
            self.region,
            kernel=self.kernel,
            bandwidth_km=self.bandwidth_km,
            k_neighbours=self.k_neighbours,
            min_bandwidth_km=self.min_bandwidth_km,
        )

    def fit(self, catalog: pd.DataFrame, start: Any, end: Any) -> SmoothedSeismicityForecaster:
        """Smooth the events of ``[start, end)`` (binned magnitudes, one beta estimator)."""
        from quakelab.stats import estimate_beta

        events = self._events(catalog, start, end)
        if len(events) < 2:
            raise ForecastError(f"smoothed seismicity: {len(events)} events with M >= {self.min_magnitude}")
        beta = estimate_beta(events["magnitude"], self.min_magnitude, self.magnitude_resolution)
        self.model_ = self._model().fit(events, start=start, end=end, b_value=beta / math.log(10))
        self.beta_ = beta
        self.fitted_ = True
        return self

    def forecast(self, history: pd.DataFrame | None, start: Any, end: Any, grid: GridSpec):
        """Time-independent map scaled to the window (the history is not used)."""
        self.check_is_fitted()
        g = _window_grid(grid, start, end)
        glon, glat = np.meshgrid(g.longitudes, g.latitudes)
        dens = np.zeros(g.cell_mask.shape)
        dens[g.cell_mask] = self.model_.density(glon[g.cell_mask], glat[g.cell_mask])
        spatial = dens * g.cell_areas_km2()
        if spatial.sum() <= 0:
            raise ForecastError("smoothed seismicity: zero density over the whole grid")
        spatial = spatial / spatial.sum()
        counts = (
            _magnitude_shares(g, self.beta_, self.min_magnitude)[:, None, None]
            * spatial[None]
            * self.model_.rate_per_day_
            * g.duration_days
        )
        return from_array(counts, g, model=self.name)

    def _state(self) -> dict[str, Any]:
        ev = self.model_.events_
        return {
            "longitude": ev["longitude"].tolist(),
            "latitude": ev["latitude"].tolist(),
            "bandwidths_km": np.asarray(self.model_.bandwidths_km_).tolist(),
            "rate_per_day": self.model_.rate_per_day_,
            "beta": self.beta_,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        m = self._model()
        m.events_ = pd.DataFrame(
            {
                "longitude": np.asarray(state["longitude"], dtype=float),
                "latitude": np.asarray(state["latitude"], dtype=float),
            }
        )
        m.bandwidths_km_ = np.asarray(state["bandwidths_km"], dtype=float)
        m.rate_per_day_ = float(state["rate_per_day"])
        m.b_value_ = float(state["beta"]) / math.log(10)
        self.model_ = m
        self.beta_ = float(state["beta"])


# ---------------------------------------------------------------------------------------------- ETAS
class ETASForecaster(_RegionModel):
    """ETAS (:class:`quakelab.models.ETAS`), spatio-temporal or temporal, through its public methods.

    ``fit`` calls ``ETAS.fit`` (the first ``auxiliary_days`` of the window only trigger); ``forecast`` simulates
    ``n_simulations`` continuations of the history with ``ETAS.catalog_forecast`` and averages the triggered events
    per bin; the background enters with its expectation (``mu`` x cell area x days x magnitude share, or the
    model's ``background.density`` when it has one) so every cell is positive. The temporal model's expected counts
    per magnitude bin are spread over the cells by area. ``simulate`` returns the catalogs themselves.

    With ``parameters`` (an :class:`~quakelab.models.ETASParameters` or its dict, e.g. published values or a fit
    made elsewhere), ``fit`` only estimates beta from the window's events and calls ``ETAS.set_params``: the way
    to refit parameters less often than every window.
    """

    name = "ETAS"

    def __init__(
        self,
        region: Region | Any,
        min_magnitude: float,
        *,
        magnitude_resolution: float = 0.1,
        spatial: bool = True,
        auxiliary_days: float = 0.0,
        n_simulations: int = 200,
        seed: int = 0,
        fit_options: dict[str, Any] | None = None,
        parameters: dict[str, float] | None = None,
    ) -> None:
        super().__init__(region, min_magnitude, magnitude_resolution=magnitude_resolution)
        self.parameters = (
            None
            if parameters is None
            else {
                k: float(v)
                for k, v in dict(
                    parameters.to_dict() if hasattr(parameters, "to_dict") else parameters
                ).items()
            }
        )
        self.spatial = bool(spatial)
        self.auxiliary_days = float(auxiliary_days)
        self.n_simulations = int(n_simulations)
        self.seed = int(seed)
        self.fit_options = dict(fit_options or {})
        self.name = "ETAS" if self.spatial else "ETAS (temporal)"

    def _config(self) -> dict[str, Any]:
        return {
            **super()._config(),
            "spatial": self.spatial,
            "auxiliary_days": self.auxiliary_days,
            "n_simulations": self.n_simulations,
            "seed": self.seed,
            "fit_options": self.fit_options,
            "parameters": self.parameters,
        }

    def _catalog(self, catalog: pd.DataFrame | None) -> pd.DataFrame | None:
        if catalog is None or self.spatial:
            return catalog
        return catalog[self.region.contains(catalog["longitude"].to_numpy(), catalog["latitude"].to_numpy())]

    def fit(self, catalog: pd.DataFrame, start: Any, end: Any) -> ETASForecaster:
        """``ETAS.fit(catalog, auxiliary_start=start, start=start + auxiliary_days, end=end)``."""
        from quakelab.models import ETAS
        from quakelab.stats import estimate_beta

        model = ETAS(
            self.min_magnitude,
            magnitude_resolution=self.magnitude_resolution,
            region=self.region if self.spatial else None,
            spatial=self.spatial,
            **{k: v for k, v in self.fit_options.items() if k != "standard_errors"},
        )
        if self.parameters is not None:
            events = self._events(catalog, start, end)
            self.model_ = model.set_params(
                self.parameters,
                estimate_beta(events["magnitude"], self.min_magnitude, self.magnitude_resolution),
            )
            self.fitted_ = True
            return self
        t0 = utc(start)
        model.fit(
            self._catalog(catalog),
            auxiliary_start=t0,
            start=t0 + pd.Timedelta(days=self.auxiliary_days),
            end=utc(end),
            standard_errors=bool(self.fit_options.get("standard_errors", False)),
        )
        self.model_ = model
        self.fitted_ = True
        return self

    def set_model(self, model: Any) -> ETASForecaster:
        """Use an already fitted (or ``set_params``) ETAS model instead of fitting."""
        if getattr(model, "params_", None) is None:
            raise ForecastError("the ETAS model has no parameters (fit it or call set_params)")
        self.model_ = model
        self.spatial = bool(model.spatial)
        self.fitted_ = True
        return self

    def simulate(
        self,
        history: pd.DataFrame | None,
        start: Any,
        end: Any,
        grid: GridSpec,
        *,
        n_catalogs: int | None = None,
        seed: int | None = None,
    ) -> CatalogForecast:
        """``ETAS.catalog_forecast`` as a :class:`CatalogForecast` on ``grid``'s window."""
        self.check_is_fitted()
        g = _window_grid(grid, start, end)
        n = self.n_simulations if n_catalogs is None else int(n_catalogs)
        sims = self.model_.catalog_forecast(
            self._catalog(history), g.start, g.end, n_simulations=n, seed=self.seed if seed is None else seed
        )
        return CatalogForecast.from_simulations(sims, n_catalogs=n, spec=g, model=self.name)

    def forecast(self, history: pd.DataFrame | None, start: Any, end: Any, grid: GridSpec):
        """Mean simulated triggered counts per bin plus the background's expectation."""
        self.check_is_fitted()
        g = _window_grid(grid, start, end)
        cf = self.simulate(history, start, end, g)
        ev = cf.events
        if self.spatial and "generation" in ev:
            ev = ev[ev["generation"].to_numpy() > 0]
        shares = _magnitude_shares(g, self.model_.beta_, self.model_.min_magnitude)
        mu = self.model_.params_.natural["mu"]
        if self.spatial:
            triggered = CatalogForecast(ev, cf.n_catalogs, g).expected_counts(g)[VARIABLE].to_numpy()
            background = getattr(self.model_, "background", None)
            area = g.cell_areas_km2()
            if background is not None:  # spatially variable background: density per km², 1 over the region
                total = mu * self.model_.area_km2 * g.duration_days
                if hasattr(background, "cell_integrals"):
                    step = g.cell_deg
                    lon_e = np.round(np.append(g.longitudes - step / 2, g.longitudes[-1] + step / 2), 10)
                    lat_e = np.round(np.append(g.latitudes - step / 2, g.latitudes[-1] + step / 2), 10)
                    prob = np.asarray(background.cell_integrals(lon_e, lat_e), dtype=float) * g.cell_mask
                else:
                    glon, glat = np.meshgrid(g.longitudes, g.latitudes)
                    prob = np.zeros(area.shape)
                    prob[g.cell_mask] = (
                        background.density(glon[g.cell_mask], glat[g.cell_mask]) * area[g.cell_mask]
                    )
                spatial_bg = total * prob
            else:
                spatial_bg = mu * area * g.duration_days
            counts = np.nan_to_num(triggered) + shares[:, None, None] * spatial_bg[None]
        else:
            mags = ev["magnitude"].to_numpy(dtype=float) if len(ev) else np.empty(0)
            im = g.magnitude_index(mags)
            per_mag = np.bincount(im[im >= 0], minlength=g.n_magnitudes) / max(cf.n_catalogs, 1)
            # background events of the temporal model are in the simulation; add nothing, spread over area
            area = g.cell_areas_km2()
            counts = per_mag[:, None, None] * (area / area.sum())[None]
            floor = (
                shares * mu * g.duration_days
            )  # background expectation as a floor against empty simulations
            counts = np.maximum(counts, floor[:, None, None] * (area / area.sum())[None])
        return from_array(counts, g, model=self.name, attrs={"n_simulations": cf.n_catalogs})

    def _state(self) -> dict[str, Any]:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            path = self.model_.save(Path(d) / "etas.json")
            return {"etas": json.loads(Path(path).read_text())}

    def _set_state(self, state: dict[str, Any]) -> None:
        import tempfile

        from quakelab.models import ETAS

        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "etas.json"
            p.write_text(json.dumps(state["etas"]))
            self.model_ = ETAS.load(p)


# ---------------------------------------------------------------------------------------------- Reasenberg-Jones
class ReasenbergJonesForecaster(_RegionModel):
    """Reasenberg & Jones (1989) aftershock rates around the largest event, spread in space by a power-law kernel.

    ``fit`` takes the largest event of ``[start, end)`` in the region as mainshock and fits the sequence after it
    (:meth:`quakelab.models.ReasenbergJones.fit_sequence`; the generic California parameters when it has fewer than
    ``min_aftershocks`` events or ``generic=True``). ``forecast`` uses the largest event of the history when it is
    larger than the fitted one (a new mainshock, generic parameters). Expected counts per bin are
    ``N(>=m) - N(>=m + delta_m)`` of the Reasenberg–Jones rate over the window; in space they follow
    ``d / (2 pi (r² + d²)^1.5)`` around the epicentre, ``d`` = half the Wells–Coppersmith rupture length (at least
    one cell), normalised over the grid.
    """

    name = "Reasenberg-Jones"

    def __init__(
        self,
        region: Region | Any,
        min_magnitude: float,
        *,
        magnitude_resolution: float = 0.1,
        generic: bool = False,
        min_aftershocks: int = 20,
    ) -> None:
        super().__init__(region, min_magnitude, magnitude_resolution=magnitude_resolution)
        self.generic = bool(generic)
        self.min_aftershocks = int(min_aftershocks)

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "generic": self.generic, "min_aftershocks": self.min_aftershocks}

    def fit(self, catalog: pd.DataFrame, start: Any, end: Any) -> ReasenbergJonesForecaster:
        """Mainshock and sequence parameters from ``[start, end)``."""
        from quakelab.models import ReasenbergJones

        events = self._events(catalog, start, end)
        if events.empty:
            raise ForecastError(f"Reasenberg-Jones: no event with M >= {self.min_magnitude} in the window")
        k = int(events["magnitude"].to_numpy().argmax())
        main = events.iloc[k]
        after = events.iloc[k + 1 :]
        t = ((after["time"] - main["time"]) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        params = None
        if not self.generic and len(after) >= self.min_aftershocks:
            try:
                params = ReasenbergJones.fit_sequence(
                    t,
                    after["magnitude"].to_numpy(),
                    float(main["magnitude"]),
                    self.min_magnitude,
                    t_end=_days(main["time"], end),
                    magnitude_resolution=self.magnitude_resolution,
                )
            except (ValueError, RuntimeError):
                params = None
        self.generic_used_ = params is None
        self.params_ = params or ReasenbergJones.generic_california(float(main["magnitude"]))
        self.mainshock_ = {
            "time": utc(main["time"]).isoformat(),
            "longitude": float(main["longitude"]),
            "latitude": float(main["latitude"]),
            "magnitude": float(main["magnitude"]),
        }
        self.fitted_ = True
        return self

    def forecast(self, history: pd.DataFrame | None, start: Any, end: Any, grid: GridSpec):
        """Aftershock counts of the (latest largest) mainshock over ``[start, end)``."""
        from quakelab.models import ReasenbergJones
        from quakelab.models.etas import coppersmith_ssrl_km

        self.check_is_fitted()
        g = _window_grid(grid, start, end)
        main, params = dict(self.mainshock_), self.params_
        past = self._events(history, None, start)
        if len(past) and past["magnitude"].max() > main["magnitude"] + 1e-9:
            row = past.iloc[int(past["magnitude"].to_numpy().argmax())]
            main = {
                "time": utc(row["time"]).isoformat(),
                "longitude": float(row["longitude"]),
                "latitude": float(row["latitude"]),
                "magnitude": float(row["magnitude"]),
            }
            params = ReasenbergJones.generic_california(main["magnitude"])
        t1 = _days(main["time"], g.start)
        t2 = _days(main["time"], g.end)
        if t2 <= 0:
            return from_array(np.zeros(g.shape), g, model=self.name)
        t1 = max(t1, 0.0)
        edges = np.append(g.magnitudes, g.magnitudes[-1] + g.delta_m)
        n_ge = np.array([params.expected_number(float(m), t1, t2) for m in edges])
        per_mag = np.append(n_ge[:-2] - n_ge[1:-1], n_ge[-2])
        glon, glat = np.meshgrid(g.longitudes, g.latitudes)
        cell_km = g.cell_deg * 111.2
        d = max(0.5 * float(coppersmith_ssrl_km(main["magnitude"])), cell_km)
        r = haversine_km(main["latitude"], main["longitude"], glat, glon)
        w = d / (2 * math.pi * (r**2 + d**2) ** 1.5) * g.cell_areas_km2()
        spatial = w / w.sum()
        counts = np.clip(per_mag, 0, None)[:, None, None] * spatial[None]
        return from_array(counts, g, model=self.name)

    def _state(self) -> dict[str, Any]:
        return {
            "params": self.params_.to_dict(),
            "mainshock": self.mainshock_,
            "generic_used": self.generic_used_,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        from quakelab.models import ReasenbergJones

        self.params_ = ReasenbergJones(**state["params"])
        self.mainshock_ = dict(state["mainshock"])
        self.generic_used_ = bool(state["generic_used"])


# ---------------------------------------------------------------------------------------------- learned forecasters
def counts_from_probabilities(
    probability: Any,
    grid: GridSpec,
    *,
    magnitude: float,
    beta: float,
    horizon_days: float,
    model: str = "learned",
):
    """A gridded forecast from per-cell probabilities of at least one event ``M >= magnitude`` in ``horizon_days``.

    Under a Poisson reading, ``p = 1 - exp(-N)`` so ``N = -log(1 - p)`` (p clipped below 1 - 1e-12); ``N`` is scaled
    linearly from the horizon to the window length and spread over the magnitude bins by Gutenberg–Richter with
    ``beta`` relative to ``magnitude`` (bins below ``magnitude`` get the extrapolation).

    Parameters
    ----------
    probability : array (latitude, longitude)
        Probability per lattice cell (ignored outside the grid).
    grid : GridSpec
        Grid with its window.
    magnitude : float
        Threshold of the probabilities.
    beta : float
        Gutenberg–Richter beta.
    horizon_days : float
        Horizon of the probabilities.
    model : str
        Model name.

    Returns
    -------
    xarray.Dataset
    """
    p = np.asarray(probability, dtype=float)
    if p.shape != grid.cell_mask.shape:
        raise GridSpecError(f"probabilities have shape {p.shape}; the grid has {grid.cell_mask.shape} cells")
    if np.any((p[grid.cell_mask] < 0) | (p[grid.cell_mask] > 1)) or not np.all(
        np.isfinite(p[grid.cell_mask])
    ):
        raise ForecastError("probabilities must be finite and in [0, 1]")
    n = -np.log1p(-np.clip(p, 0.0, 1 - 1e-12)) * grid.duration_days / float(horizon_days)
    counts = _magnitude_shares(grid, beta, magnitude)[:, None, None] * np.where(grid.cell_mask, n, 0.0)[None]
    return from_array(counts, grid, model=model)


class LearnedForecaster(_RegionModel):
    """A scikit-learn forecaster of quakelab.learn on causal feature grids, as expected counts.

    ``fit`` builds :func:`quakelab.features.build_feature_grid` over ``[start, end)`` (time step = horizon) on a
    lattice of ``cell_deg`` anchored at the region's south-west corner, and tunes :func:`quakelab.learn.fit_classifier`
    on the label "at least one ``M >= target_magnitude`` in the next ``horizon_days``". ``forecast`` computes the
    features at ``start`` from the history, predicts a probability per cell and converts it with
    :func:`counts_from_probabilities` (``N = -log(1 - p)``). The grid must use the same cells.
    """

    name = "learned"

    def __init__(
        self,
        region: Region | Any,
        min_magnitude: float,
        *,
        magnitude_resolution: float = 0.1,
        cell_deg: float = 0.1,
        target_magnitude: float | None = None,
        horizon_days: float = 7.0,
        estimator: str = "logistic_regression",
        lookbacks_days: tuple[float, ...] = (7.0, 30.0),
        param_grid: dict[str, list] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(region, min_magnitude, magnitude_resolution=magnitude_resolution)
        self.cell_deg = float(cell_deg)
        self.target_magnitude = float(min_magnitude if target_magnitude is None else target_magnitude)
        self.horizon_days = float(horizon_days)
        self.estimator = estimator
        self.lookbacks_days = tuple(float(v) for v in lookbacks_days)
        self.param_grid = param_grid
        self.seed = int(seed)
        self.name = f"learned ({estimator})"

    def _config(self) -> dict[str, Any]:
        return {
            **super()._config(),
            "cell_deg": self.cell_deg,
            "target_magnitude": self.target_magnitude,
            "horizon_days": self.horizon_days,
            "estimator": self.estimator,
            "lookbacks_days": list(self.lookbacks_days),
            "param_grid": self.param_grid,
            "seed": self.seed,
        }

    def _grid(self, catalog: pd.DataFrame, start: Any, end: Any):
        from quakelab.features import build_feature_grid

        cat = select_events(
            catalog,
            None,
            end,
            region=None,
            min_magnitude=self.min_magnitude,
            magnitude_resolution=self.magnitude_resolution,
        )
        return build_feature_grid(
            cat,
            region=self.region,
            cell_deg=self.cell_deg,
            start=start,
            end=end,
            step_days=self.horizon_days,
            lookbacks_days=self.lookbacks_days,
            horizon_days=self.horizon_days,
            target_magnitude=self.target_magnitude,
            min_magnitude=self.min_magnitude,
            magnitude_resolution=self.magnitude_resolution,
            pa_events=None,
        )

    def fit(self, catalog: pd.DataFrame, start: Any, end: Any) -> LearnedForecaster:
        """Features and labels at every horizon step of ``[start + 2 x longest look-back, end - horizon)``."""
        from quakelab.learn import feature_names, fit_classifier, grid_to_frame
        from quakelab.stats import estimate_beta

        t0 = utc(start) + pd.Timedelta(days=2 * max(self.lookbacks_days))
        t1 = utc(end) - pd.Timedelta(days=self.horizon_days)
        if t1 <= t0:
            raise ForecastError(
                f"learned: window {start}..{end} is shorter than twice the longest look-back plus the horizon"
            )
        ds = self._grid(catalog, t0, t1)
        self.features_ = feature_names(ds)
        X, y = grid_to_frame(ds, self.features_)
        grid = self.param_grid if self.param_grid is not None else {"model__C": [0.1, 1.0]}
        self.classifier_ = fit_classifier(
            self.estimator, X, y, horizon_days=self.horizon_days, param_grid=grid, n_splits=2, seed=self.seed
        )
        events = self._events(catalog, start, end)
        self.beta_ = estimate_beta(events["magnitude"], self.min_magnitude, self.magnitude_resolution)
        self.fitted_ = True
        return self

    def probabilities(self, history: pd.DataFrame | None, start: Any) -> np.ndarray:
        """Probability per lattice cell of at least one target event in the horizon after ``start``."""
        from quakelab.learn import grid_to_frame

        self.check_is_fitted()
        t0 = utc(start)
        hist = (
            history
            if history is not None
            else pd.DataFrame(columns=["time", "latitude", "longitude", "magnitude"])
        )
        ds = self._grid(
            hist[hist["time"] < t0] if len(hist) else hist, t0, t0 + pd.Timedelta(days=self.horizon_days)
        )
        X, _ = grid_to_frame(ds.isel(time=[0]), self.features_)
        p = self.classifier_.predict_proba(X, calibrated=False)
        return p.reshape(ds.sizes["latitude"], ds.sizes["longitude"])

    def forecast(self, history: pd.DataFrame | None, start: Any, end: Any, grid: GridSpec):
        """Cell probabilities at ``start`` converted to expected counts over ``[start, end)``."""
        self.check_is_fitted()
        g = _window_grid(grid, start, end)
        p = self.probabilities(history, start)
        if p.shape != g.cell_mask.shape or abs(g.cell_deg - self.cell_deg) > 1e-9:
            raise GridSpecError(
                f"learned: the model's lattice ({p.shape} cells of {self.cell_deg} deg) differs from "
                f"the grid's ({g.cell_mask.shape} of {g.cell_deg} deg)"
            )
        return counts_from_probabilities(
            p,
            g,
            magnitude=self.target_magnitude,
            beta=self.beta_,
            horizon_days=self.horizon_days,
            model=self.name,
        )

    def _state(self) -> dict[str, Any]:
        blob = base64.b64encode(pickle.dumps(self.classifier_)).decode("ascii")
        return {"features": self.features_, "beta": self.beta_, "classifier_pickle_b64": blob}

    def _set_state(self, state: dict[str, Any]) -> None:
        # pickle: load only model files you trust (as with any scikit-learn model file)
        self.classifier_ = pickle.loads(base64.b64decode(state["classifier_pickle_b64"]))  # noqa: S301
        self.features_ = list(state["features"])
        self.beta_ = float(state["beta"])


# ---------------------------------------------------------------------------------------------- file-based
class FileForecaster(BaseForecastModel):
    """Precomputed forecasts read from files (CSEP ASCII ``.dat``, XML, NetCDF, GeoJSON): how forecasts made
    elsewhere enter an experiment.

    ``path`` is either one file per window, a template formatted with the window (``{start}`` and ``{end}`` as
    ``datetime`` objects, e.g. ``"fc/{start:%Y-%m-%d}.xml"``), or a single file for all windows: a time-independent
    forecast whose counts are scaled by the window length over the file's own window (``duration_days`` when the
    file has none). The file's cells and bins must cover the grid's; they are picked by cell centre and magnitude.
    """

    name = "file"

    def __init__(self, path: str, *, duration_days: float | None = None, name: str | None = None) -> None:
        self.path = str(path)
        self.duration_days = None if duration_days is None else float(duration_days)
        if name:
            self.name = name
        fields = {f for _, f, _, _ in string.Formatter().parse(self.path) if f is not None}
        if fields - {"start", "end"}:
            raise ForecastError(
                f"file forecaster: unknown template fields {sorted(fields - {'start', 'end'})} in "
                f"{self.path!r} (use {{start}} and {{end}})"
            )
        self.templated = bool(fields)

    def _config(self) -> dict[str, Any]:
        return {"path": self.path, "duration_days": self.duration_days, "name": self.name}

    def fit(self, catalog: pd.DataFrame, start: Any, end: Any) -> FileForecaster:
        """Nothing to learn: the forecasts exist already."""
        self.fitted_ = True
        return self

    def file_for(self, start: Any, end: Any) -> Path | str:
        """The file of the window ``[start, end)`` (a string for an fsspec URL such as ``s3://...``)."""
        from quakelab.storage import is_remote

        text = self.path
        if self.templated:
            text = self.path.format(start=utc(start).to_pydatetime(), end=utc(end).to_pydatetime())
        return text if is_remote(text) else Path(text)

    def forecast(self, history: pd.DataFrame | None, start: Any, end: Any, grid: GridSpec):
        """The file's forecast on the grid (scaled to the window when one file serves all windows)."""
        from quakelab.forecast.io import read_forecast

        self.check_is_fitted()
        g = _window_grid(grid, start, end)
        src = read_forecast(self.file_for(start, end))
        spec = grid_spec(src)
        scale = 1.0
        if not self.templated:
            if spec.start is not None and spec.end is not None:
                scale = g.duration_days / spec.duration_days
            elif self.duration_days is not None:
                scale = g.duration_days / self.duration_days
            else:
                raise ForecastError(f"{self.path}: the file has no window; give duration_days to scale it")
        try:
            sub = src[VARIABLE].sel(
                magnitude=g.magnitudes,
                latitude=g.latitudes,
                longitude=g.longitudes,
                method="nearest",
                tolerance=1e-6,
            )
        except KeyError as exc:
            raise GridSpecError(
                f"{self.file_for(start, end)}: the file's cells or magnitude bins do not cover the grid "
                f"({exc})"
            ) from exc
        arr = np.asarray(sub.values, dtype=float)
        if np.isnan(arr[:, g.cell_mask]).any():
            raise GridSpecError(
                f"{self.file_for(start, end)}: {int(np.isnan(arr[:, g.cell_mask]).any(axis=0).sum())} "
                "grid cells are missing from the file"
            )
        return from_array(arr * scale, g, model=self.name)

    def _state(self) -> dict[str, Any]:
        return {}

    def _set_state(self, state: dict[str, Any]) -> None:
        pass


#: adapters by the names experiment definitions use
ADAPTERS: dict[str, type[BaseForecastModel]] = {
    "poisson": PoissonForecaster,
    "smoothed": SmoothedSeismicityForecaster,
    "etas": ETASForecaster,
    "reasenberg_jones": ReasenbergJonesForecaster,
    "learned": LearnedForecaster,
    "file": FileForecaster,
}
