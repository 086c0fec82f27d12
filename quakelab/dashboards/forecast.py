"""Forecast dashboard: model and horizon, rate map, P(M>=5) in 7 and 30 days for an area, the aftershock
product of a mainshock, leaderboards and CSEP tests.

Reads the artifacts (:mod:`quakelab.artifacts`) the pipeline wrote under the reports folder, each with its
declared reader: ETAS forecast runs (``etas_model`` with the ``history`` the forecast starts from,
``aftershock_probabilities`` and ``metrics``), the ``leaderboard`` (long: one row per model and score, shown
one row per model) and ``test_results`` (CSEP tests) of evaluation runs. What is computed here is cheap: the expected
count of the chosen model over the chosen horizon on a grid (ETAS: background + direct aftershocks of the
history, no simulation; Reasenberg–Jones: the model's expected number spread evenly over the aftershock zone
of the largest event), and the aftershock product (:func:`quakelab.aftershock.aftershock_forecast`) of the
selected mainshock at the forecast start (:func:`run_product`).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from quakelab.artifacts import ArtifactError, artifact, find_runs, pivot_leaderboard, read_artifact
from quakelab.dashboards.common import fill, loading, redraw, reports_dir, table_html


def forecast_runs(root: Path | None = None) -> dict[str, Path]:
    """Report folders holding an ETAS forecast the dashboard can use (``etas_model`` + ``history``)."""
    return find_runs("etas_model", root or reports_dir(), also=("history",))


def table_runs(name: str, root: Path | None = None) -> dict[str, Path]:
    """Report folders holding the table artifact ``name`` (e.g. ``leaderboard``, ``test_results``)."""
    return find_runs(name, root or reports_dir())


@functools.lru_cache(maxsize=8)
def _load_run(path: str):
    p = Path(path)
    model = read_artifact("etas_model", p)
    history = read_artifact("history", p)
    run = json.loads((p / "run.json").read_text()) if (p / "run.json").exists() else {}
    start = run.get("parameters", {}).get("forecast_start") or str(history["time"].max())
    probs = (
        read_artifact("aftershock_probabilities", p)
        if artifact("aftershock_probabilities").path(p).exists()
        else None
    )
    return (
        model,
        history,
        pd.Timestamp(start, tz="UTC") if pd.Timestamp(start).tz is None else pd.Timestamp(start),
        probs,
    )


MODELS = ("ETAS", "Reasenberg-Jones generic", "Reasenberg-Jones sequence")
#: Simulations of the product's ETAS numbers (the run's fitted model; seeded).
PRODUCT_SIMULATIONS = 100
#: The colour scale of the map spans this many decades below the largest cell of the longest horizon.
COLOUR_DECADES = 5.0
HORIZONS = (7.0, 30.0)


def _grid_edges(model) -> tuple[np.ndarray, np.ndarray]:
    x0, x1, y0, y1 = model.region.bounds
    cell = max((x1 - x0), (y1 - y0)) / 48
    cell = float(np.round(cell, 3)) or 0.01
    lon_edges = np.round(np.arange(x0, x1 + cell / 2, cell), 10)
    lat_edges = np.round(np.arange(y0, y1 + cell / 2, cell), 10)
    return lat_edges, lon_edges


def _mainshock(history: pd.DataFrame) -> pd.Series:
    return history.loc[history["magnitude"].idxmax()]


def rj_model(path: str, name: str):
    """The Reasenberg–Jones model of the run's report: generic California, or the sequence-specific fit
    recorded in ``metrics.json`` (None when the run did not record one)."""
    from quakelab.models.reasenberg_jones import ReasenbergJones

    _, history, _, _ = _load_run(path)
    mm = float(_mainshock(history)["magnitude"])
    if name == "Reasenberg-Jones generic":
        return ReasenbergJones.generic_california(mm)
    metrics = read_artifact("metrics", path) if artifact("metrics").path(path).exists() else {}
    seq = metrics.get("reasenberg_jones_sequence")
    return ReasenbergJones(**seq) if seq else None


@functools.lru_cache(maxsize=64)
def _rate_grid(path: str, horizon_days: float, model_name: str = "ETAS"):
    """Expected number of ``M >= min_magnitude`` events per cell over the horizon for the chosen model.

    ETAS: background + direct aftershocks of the history. Reasenberg–Jones: the model's expected number after
    the largest event, spread evenly over the cells whose centre lies in its aftershock zone (one
    Wells–Coppersmith rupture length, as the aftershock product uses).
    """
    model, history, start, _ = _load_run(path)
    lat_edges, lon_edges = _grid_edges(model)
    if model_name == "ETAS":
        from quakelab.features import etas_expected_counts

        expected, _ = etas_expected_counts(
            model, history, pd.DatetimeIndex([start]), lat_edges, lon_edges, horizon_days
        )
        return expected[0], lat_edges, lon_edges
    rj = rj_model(path, model_name)
    rate = np.zeros((lat_edges.size - 1, lon_edges.size - 1))
    if rj is None:
        return rate * np.nan, lat_edges, lon_edges
    zone = _zone_cells(path, lat_edges, lon_edges)
    main = _mainshock(history)
    t1 = (start - main["time"]) / pd.Timedelta(days=1)
    total = rj.expected_number(model.min_magnitude, t1, t1 + horizon_days)
    rate[zone] = total / max(int(zone.sum()), 1)
    return rate, lat_edges, lon_edges


def _zone_cells(path: str, lat_edges: np.ndarray, lon_edges: np.ndarray) -> np.ndarray:
    from quakelab.aftershock import search_radius_km
    from quakelab.region import haversine_km

    _, history, _, _ = _load_run(path)
    main = _mainshock(history)
    lat_c, lon_c = (lat_edges[:-1] + lat_edges[1:]) / 2, (lon_edges[:-1] + lon_edges[1:]) / 2
    la, lo = np.meshgrid(lat_c, lon_c, indexing="ij")
    d = haversine_km(la.ravel(), lo.ravel(), float(main["latitude"]), float(main["longitude"]))
    return (d <= search_radius_km(float(main["magnitude"]))).reshape(la.shape)


def colour_limits(path: str, model_name: str) -> tuple[float, float]:
    """log10 limits of the map's colour scale for a run and model, the same for every horizon: the top is
    the largest cell of the longest horizon."""
    rate, _, _ = _rate_grid(path, max(HORIZONS), model_name)
    top = float(np.nanmax(rate)) if np.any(rate > 0) else 1.0
    hi = float(np.ceil(np.log10(top) * 2) / 2)
    return hi - COLOUR_DECADES, hi


def mainshocks(path: str, min_magnitude: float = 5.0) -> pd.DataFrame:
    """Events of the run's history at or above ``min_magnitude`` (largest first): the product's choices."""
    _, history, _, _ = _load_run(path)
    big = history[history["magnitude"] >= min_magnitude]
    if big.empty:
        big = history.nlargest(1, "magnitude")
    return big.sort_values(["magnitude", "time"], ascending=[False, True])


@functools.lru_cache(maxsize=16)
def run_product(path: str, event_id: str):
    """The aftershock product (:mod:`quakelab.aftershock`) of ``event_id`` at the run's forecast start: RJ
    generic, sequence and Bayesian from the history, ETAS from the run's fitted model
    (:data:`PRODUCT_SIMULATIONS` simulations, seed 0)."""
    from quakelab.aftershock import Mainshock, aftershock_forecast

    model, history, start, _ = _load_run(path)
    ms = Mainshock.from_catalog(history, event_id)
    return aftershock_forecast(
        ms,
        history[history["time"] < start],
        start,
        etas_model=model,
        etas_fit=False,
        n_simulations=PRODUCT_SIMULATIONS,
        seed=0,
    )


def product_cell(probability: float, median: float, q025: float, q975: float) -> str:
    """One cell of the product table: probability of one or more, median number and 95 % range.

    Examples
    --------
    >>> product_cell(0.2544, 0, 0, 2)
    '25.4% · 0 [0–2]'
    """
    return f"{100 * probability:.1f}% · {int(median)} [{int(q025)}–{int(q975)}]"


PRODUCT_MODEL_NAMES = {
    "rj_generic": "RJ generic",
    "rj_sequence": "RJ sequence",
    "rj_bayesian": "RJ Bayesian",
    "etas": "ETAS",
}


def product_table(fc) -> pd.DataFrame:
    """The product as shown: one row per model and threshold, one column per window."""
    tab = fc.table()
    tab["cell"] = [product_cell(r.probability, r.median, r.q025, r.q975) for r in tab.itertuples(index=False)]
    tab["model"] = tab["model"].map(PRODUCT_MODEL_NAMES)
    wide = tab.pivot_table(index=["model", "magnitude"], columns="window", values="cell", aggfunc="first")
    wide = wide[[w for w, _ in fc.windows]]
    wide.columns.name = None
    order = {v: i for i, v in enumerate(PRODUCT_MODEL_NAMES.values())}
    wide = wide.reset_index().sort_values(
        ["model", "magnitude"], key=lambda c: c.map(order) if c.name == "model" else c
    )
    wide["magnitude"] = wide["magnitude"].map(lambda m: f"M≥{m:g}")
    return wide.rename(columns={"magnitude": "threshold"}).reset_index(drop=True)


class ForecastDashboard:
    """Widgets and callbacks (``.widget`` is what is displayed)."""

    def __init__(self) -> None:
        runs = forecast_runs()
        self.runs = runs
        header = w.HTML("")
        if not runs:
            self.widget = w.VBox(
                [
                    header,
                    w.HTML(
                        f"<div class='ql-empty'>No forecast reports under {reports_dir()}. Run <code>quakelab run</code> "
                        "(the default runs include the Ridgecrest ETAS forecast), then reload.</div>"
                    ),
                ]
            )
            return
        self.run = w.Dropdown(options=list(runs), description="forecast")
        self.model = w.Dropdown(options=list(MODELS), description="model")
        self.horizon = w.ToggleButtons(
            options=[("7 days", 7.0), ("30 days", 30.0)], value=7.0, description="horizon"
        )
        wide = w.Layout(width="460px")
        self.lon = w.FloatRangeSlider(description="area lon", step=0.01, continuous_update=False, layout=wide)
        self.lat = w.FloatRangeSlider(description="area lat", step=0.01, continuous_update=False, layout=wide)
        self.summary = w.HTML()
        self.map_out = w.Output()
        self.probs = w.HTML()
        self.explain = w.HTML()
        self.mainshock = w.Dropdown(description="mainshock", layout=w.Layout(width="520px"))
        self.product = w.HTML()
        boards = table_runs("leaderboard")
        csep = table_runs("test_results")
        self.board_run = w.Dropdown(options=list(boards) or ["(none)"], description="leaderboard")
        self.board = w.HTML()
        self.csep_run = w.Dropdown(options=list(csep) or ["(none)"], description="CSEP tests")
        self.csep_out = w.Output()
        self._boards, self._csep = boards, csep
        for widget, css in (
            (self.run, "ql-run"),
            (self.model, "ql-model"),
            (self.horizon, "ql-horizon"),
            (self.map_out, "ql-map"),
            (self.probs, "ql-probabilities"),
            (self.board, "ql-leaderboard"),
            (self.csep_out, "ql-csep"),
            (self.summary, "ql-summary"),
            (self.explain, "ql-explain"),
            (self.mainshock, "ql-mainshock"),
            (self.product, "ql-product"),
        ):
            widget.add_class(css)
        self._reset_area()
        self._reset_mainshocks()
        self.run.observe(
            lambda _: (self._reset_area(), self._reset_mainshocks(), self.update(), self._product()), "value"
        )
        self.mainshock.observe(lambda _: self._product(), "value")
        for c in (self.model, self.horizon, self.lon, self.lat):
            c.observe(lambda _: self.update(), "value")
        self.board_run.observe(lambda _: self._board(), "value")
        self.csep_run.observe(lambda _: self._csep_plot(), "value")
        self.update()
        self._product()
        self._board()
        self._csep_plot()
        self.widget = w.VBox(
            [
                header,
                w.HBox([self.run, self.model]),
                self.horizon,
                w.HBox([self.lon, self.lat]),
                self.summary,
                self.map_out,
                self.probs,
                self.explain,
                w.HTML("<h3>Aftershock forecast product</h3>"),
                self.mainshock,
                self.product,
                w.HTML("<h3>Model leaderboards (latest pipeline reports)</h3>"),
                self.board_run,
                self.board,
                w.HTML("<h3>CSEP consistency tests</h3>"),
                self.csep_run,
                self.csep_out,
            ]
        )

    @property
    def path(self) -> str:
        return str(self.runs[self.run.value])

    def _reset_area(self) -> None:
        model, *_ = _load_run(self.path)
        x0, x1, y0, y1 = model.region.bounds
        self._busy = True
        try:
            for s, lo, hi in ((self.lon, x0, x1), (self.lat, y0, y1)):
                s.min, s.max = -1000.0, 1000.0
                s.min, s.max, s.value = lo, hi, (lo, hi)
        finally:
            self._busy = False

    def _reset_mainshocks(self) -> None:
        ms = mainshocks(self.path)
        self._busy = True
        try:
            self.mainshock.options = [
                (f"M{r.magnitude:.1f} {r.time:%Y-%m-%d %H:%M} UTC ({r.event_id})", str(r.event_id))
                for r in ms.itertuples(index=False)
            ]
            self.mainshock.value = str(ms["event_id"].iloc[0])
        finally:
            self._busy = False

    def area_probability(
        self, magnitude: float = 5.0, horizon_days: float | None = None, model_name: str | None = None
    ) -> float:
        """P(at least one M >= magnitude) in the selected area over the horizon, from the map of the model
        (ETAS: background + direct triggering; RJ: its expected number spread over the aftershock zone)."""
        model, *_ = _load_run(self.path)
        name = model_name or self.model.value
        rate, lat_e, lon_e = _rate_grid(self.path, horizon_days or self.horizon.value, name)
        lat_c, lon_c = (lat_e[:-1] + lat_e[1:]) / 2, (lon_e[:-1] + lon_e[1:]) / 2
        inside = (
            (lat_c[:, None] >= self.lat.value[0])
            & (lat_c[:, None] <= self.lat.value[1])
            & (lon_c[None, :] >= self.lon.value[0])
            & (lon_c[None, :] <= self.lon.value[1])
        )
        if name == "ETAS":
            share = np.exp(-model.beta_ * max(magnitude - model.magnitude_resolution / 2 - model.m_ref, 0.0))
        else:
            rj = rj_model(self.path, name)
            if rj is None:
                return float("nan")
            share = 10 ** (-rj.b * (magnitude - model.min_magnitude))
        return float(-np.expm1(-np.nansum(rate[inside]) * share))

    def update(self) -> None:
        """Redraw the map of the chosen model, the probability table and its explanation."""
        if getattr(self, "_busy", False):
            return
        model, history, start, probs = _load_run(self.path)
        h = self.horizon.value
        name = self.model.value
        rate, lat_e, lon_e = _rate_grid(self.path, h, name)
        vmin, vmax = colour_limits(self.path, name)
        main = _mainshock(history)

        def draw():
            from matplotlib.lines import Line2D

            fig, ax = plt.subplots(figsize=(6.6, 5.6))
            mesh = ax.pcolormesh(
                lon_e,
                lat_e,
                np.log10(np.where(rate > 0, rate, np.nan)),
                cmap="magma_r",
                vmin=vmin,
                vmax=vmax,
            )
            fig.colorbar(
                mesh,
                ax=ax,
                label=f"log10 expected M≥{model.min_magnitude:g} events per cell in {h:g} d (same scale for every horizon)",
            )
            ax.add_patch(
                plt.Rectangle(
                    (self.lon.value[0], self.lat.value[0]),
                    np.diff(self.lon.value)[0],
                    np.diff(self.lat.value)[0],
                    fill=False,
                    ec="tab:cyan",
                    lw=2,
                )
            )
            big = history[history["magnitude"] >= model.min_magnitude + 2]
            ax.scatter(
                big["longitude"], big["latitude"], s=4 * 2 ** big["magnitude"], fc="none", ec="k", lw=0.6
            )
            handles = [
                Line2D([], [], ls="", marker="o", mfc="none", mec="k", ms=np.sqrt(4 * 2**m), label=f"M{m:g}")
                for m in (model.min_magnitude + 2, 6.0, 7.0)
                if m >= model.min_magnitude + 2
            ]
            handles.append(Line2D([], [], color="tab:cyan", lw=2, label="selected area"))
            if name != "ETAS":
                from quakelab.aftershock import search_radius_km

                r_km = search_radius_km(float(main["magnitude"]))
                theta = np.linspace(0, 2 * np.pi, 181)
                dlat = r_km / 111.195
                dlon = dlat / np.cos(np.radians(float(main["latitude"])))
                ax.plot(
                    float(main["longitude"]) + dlon * np.cos(theta),
                    float(main["latitude"]) + dlat * np.sin(theta),
                    color="tab:blue",
                    lw=1.5,
                    ls="--",
                )
                handles.append(
                    Line2D([], [], color="tab:blue", ls="--", label=f"aftershock zone ({r_km:.0f} km)")
                )
            ax.legend(
                handles=handles,
                title=f"history events M≥{model.min_magnitude + 2:g}",
                fontsize=7,
                title_fontsize=7,
                loc="lower left",
            )
            ax.set_xlabel("longitude (°)")
            ax.set_ylabel("latitude (°)")
            ax.set_xlim(lon_e[0], lon_e[-1])
            ax.set_ylim(lat_e[0], lat_e[-1])
            ax.set_title(f"{name} rate from {start:%Y-%m-%d %H:%M} UTC, next {h:g} days", fontsize=10)
            return fig

        redraw(self.map_out, draw)
        area = {
            "source": f"{name}, selected area (the map)",
            "P(M≥5) 7 d": self.area_probability(5.0, 7.0, name),
            "P(M≥5) 30 d": self.area_probability(5.0, 30.0, name),
        }
        rows = [area]
        report = None
        if probs is not None:
            label = {
                "ETAS": "ETAS",
                "Reasenberg-Jones generic": "RJ generic California",
                "Reasenberg-Jones sequence": "RJ sequence-specific",
            }[name]
            sel = probs[(probs["model"] == label) & (probs["magnitude"] == 5.0)].set_index("duration_days")[
                "probability"
            ]
            report = {
                "source": f"{name}, whole sequence (pipeline report{', simulated' if name == 'ETAS' else ''})",
                "P(M≥5) 7 d": float(sel.get(7.0, np.nan)),
                "P(M≥5) 30 d": float(sel.get(30.0, np.nan)),
            }
            rows.append(report)
        self.probs.value = "<h4>Probability of M≥5</h4>" + table_html(pd.DataFrame(rows))
        self.explain.value = self._explanation(name, area, report)
        total = np.nansum(rate)
        self.summary.value = (
            f"<b>{self.run.value}</b>: {len(history):,} events in the history, ETAS branching ratio "
            f"{model.branching_ratio_:.2f}; map: {name}; total expected M≥{model.min_magnitude:g} in {h:g} d: {total:.1f}"
        )

    def _explanation(self, name: str, area: dict, report: dict | None) -> str:
        """Why the two probabilities shown for the area differ (or agree)."""
        if report is None:
            return ""
        a, r = area["P(M≥5) 7 d"], report["P(M≥5) 7 d"]
        if name == "ETAS":
            why = (
                "The first row adds up the map: background plus the <i>direct</i> aftershocks of the events so "
                "far, inside the selected rectangle only; aftershocks of the forecast's own aftershocks are left "
                "out, so it is a lower bound. The second row is the pipeline's simulation of whole cascades "
                "over the full forecast region. Cascades (and a larger area) make the second larger."
            )
        else:
            why = (
                f"Both rows use the same {name} model of the largest event's sequence. The map spreads its "
                "expected number evenly over the aftershock zone (dashed circle); the first row keeps the "
                "part of the zone inside the selected rectangle, the second is the whole sequence. They agree "
                "when the rectangle covers the whole zone and differ by the share of the zone left out."
            )
        return (
            f"<div class='ql-explain' style='font-size:.9em;color:#333;max-width:900px'><b>Why two numbers "
            f"for the same area ({100 * a:.1f}% and {100 * r:.1f}% for 7 days)?</b> {why}</div>"
        )

    def _product(self) -> None:
        if getattr(self, "_busy", False) or not self.mainshock.value:
            return
        fc = run_product(self.path, self.mainshock.value)
        ms = fc.mainshock
        etas_note = next((m.notes for m in fc.models if m.key == "etas"), [])
        self.product.value = (
            f"<div class='ql-product-head'>M{ms.magnitude:.1f} {ms.event_id} at {ms.time:%Y-%m-%d %H:%M} UTC; "
            f"forecast from {fc.start:%Y-%m-%d %H:%M} UTC ({fc.elapsed_days:.2f} days after it); regime "
            f"{fc.regime.regime}; Mc at the start "
            f"{float(fc.completeness.mc(fc.elapsed_days, ms.magnitude)):.2f}. Cells: probability of one or "
            f"more · median number [95 % range]. ETAS: the run's fitted model, {PRODUCT_SIMULATIONS} "
            f"simulations{'; ' + '; '.join(etas_note) if etas_note else ''}.</div>"
            + table_html(product_table(fc))
            + f"<div class='ql-commentary' style='font-size:.9em'>{fc.commentary()}</div>"
        )

    def _board(self) -> None:
        p = self._boards.get(self.board_run.value)
        if not p:
            self.board.value = "<i>no leaderboard in the reports</i>"
            return
        try:
            wide = pivot_leaderboard(read_artifact("leaderboard", p))
        except ArtifactError as exc:  # e.g. a report written before the long schema: rerun it
            self.board.value = f"<i>unreadable leaderboard: {exc}</i>"
            return
        self.board.value = table_html(wide.round(4).reset_index())

    def _csep_plot(self) -> None:
        p = self._csep.get(self.csep_run.value)
        if not p:
            self.csep_out.clear_output()
            with self.csep_out:
                print("no CSEP test results in the reports")
            return
        from quakelab import viz

        try:
            table = read_artifact("test_results", p)
        except ArtifactError as exc:
            self.csep_out.clear_output()
            with self.csep_out:
                print(f"unreadable CSEP test results: {exc}")
            return
        redraw(self.csep_out, lambda: viz.csep_test_plot(table, title=f"CSEP tests: {self.csep_run.value}"))


def app() -> w.VBox:
    """Display-ready forecast dashboard with a loading state."""
    from IPython.display import display

    box = loading("Loading forecasts from the pipeline reports…")
    display(box)
    fill(box, lambda: ForecastDashboard().widget)
    return box
