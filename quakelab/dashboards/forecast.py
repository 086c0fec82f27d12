"""Forecast dashboard: model and horizon, rate map, P(M>=5) in 7 and 30 days for an area, leaderboards and CSEP tests.

Reads what the pipeline wrote under the reports folder: ETAS forecast runs (``etas_model.json`` with the
``history.parquet`` the forecast starts from, and ``aftershock_probabilities.csv``), ``leaderboard.csv``
and ``csep_tests.csv`` of evaluation runs. The only thing computed here is cheap: the ETAS expected count
over the chosen horizon on a grid (background + direct aftershocks of the history, no simulation).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from quakelab.dashboards.common import fill, loading, redraw, reports_dir, table_html


def forecast_runs(root: Path | None = None) -> dict[str, Path]:
    """Report folders holding an ETAS forecast the dashboard can use (model + history)."""
    root = root or reports_dir()
    return {
        p.parent.name: p.parent
        for p in sorted(root.glob("*/etas_model.json"))
        if _published(p.parent) and (p.parent / "history.parquet").exists()
    }


def _published(folder: Path) -> bool:
    """A finished report: not a run's staging folder (``.NAME.XXXX``) nor a kept failure (``failed/``)."""
    return not folder.name.startswith(".") and folder.name != "failed"


def table_runs(filename: str, root: Path | None = None) -> dict[str, Path]:
    """Report folders holding ``filename`` (e.g. ``leaderboard.csv``)."""
    root = root or reports_dir()
    return {p.parent.name: p for p in sorted(root.glob(f"*/{filename}")) if _published(p.parent)}


@functools.lru_cache(maxsize=8)
def _load_run(path: str):
    from quakelab.catalog import read_parquet
    from quakelab.models import ETAS

    p = Path(path)
    model = ETAS.load(p / "etas_model.json")
    history = read_parquet(p / "history.parquet")
    run = json.loads((p / "run.json").read_text()) if (p / "run.json").exists() else {}
    start = run.get("parameters", {}).get("forecast_start") or str(history["time"].max())
    probs = (
        pd.read_csv(p / "aftershock_probabilities.csv")
        if (p / "aftershock_probabilities.csv").exists()
        else None
    )
    return (
        model,
        history,
        pd.Timestamp(start, tz="UTC") if pd.Timestamp(start).tz is None else pd.Timestamp(start),
        probs,
    )


@functools.lru_cache(maxsize=32)
def _rate_grid(path: str, horizon_days: float):
    from quakelab.features import etas_expected_counts

    model, history, start, _ = _load_run(path)
    x0, x1, y0, y1 = model.region.bounds
    cell = max((x1 - x0), (y1 - y0)) / 48
    cell = float(np.round(cell, 3)) or 0.01
    lon_edges = np.round(np.arange(x0, x1 + cell / 2, cell), 10)
    lat_edges = np.round(np.arange(y0, y1 + cell / 2, cell), 10)
    expected, _ = etas_expected_counts(
        model, history, pd.DatetimeIndex([start]), lat_edges, lon_edges, horizon_days
    )
    return expected[0], lat_edges, lon_edges


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
        self.model = w.Dropdown(
            options=["ETAS", "Reasenberg-Jones generic", "Reasenberg-Jones sequence"], description="model"
        )
        self.horizon = w.ToggleButtons(
            options=[("7 days", 7.0), ("30 days", 30.0)], value=7.0, description="horizon"
        )
        wide = w.Layout(width="460px")
        self.lon = w.FloatRangeSlider(description="area lon", step=0.01, continuous_update=False, layout=wide)
        self.lat = w.FloatRangeSlider(description="area lat", step=0.01, continuous_update=False, layout=wide)
        self.summary = w.HTML()
        self.map_out = w.Output()
        self.probs = w.HTML()
        boards = table_runs("leaderboard.csv")
        csep = table_runs("csep_tests.csv")
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
        ):
            widget.add_class(css)
        self._reset_area()
        self.run.observe(lambda _: (self._reset_area(), self.update()), "value")
        for c in (self.model, self.horizon, self.lon, self.lat):
            c.observe(lambda _: self.update(), "value")
        self.board_run.observe(lambda _: self._board(), "value")
        self.csep_run.observe(lambda _: self._csep_plot(), "value")
        self.update()
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

    def area_probability(self, magnitude: float = 5.0, horizon_days: float | None = None) -> float:
        """ETAS P(at least one M >= magnitude) in the selected area over the horizon (direct triggering)."""
        model, *_ = _load_run(self.path)
        rate, lat_e, lon_e = _rate_grid(self.path, horizon_days or self.horizon.value)
        lat_c, lon_c = (lat_e[:-1] + lat_e[1:]) / 2, (lon_e[:-1] + lon_e[1:]) / 2
        inside = (
            (lat_c[:, None] >= self.lat.value[0])
            & (lat_c[:, None] <= self.lat.value[1])
            & (lon_c[None, :] >= self.lon.value[0])
            & (lon_c[None, :] <= self.lon.value[1])
        )
        share = np.exp(-model.beta_ * max(magnitude - model.delta_m / 2 - model.m_ref, 0.0))
        return float(-np.expm1(-rate[inside].sum() * share))

    def update(self) -> None:
        """Redraw the map and the probability table."""
        if getattr(self, "_busy", False):
            return
        model, history, start, probs = _load_run(self.path)
        h = self.horizon.value
        rate, lat_e, lon_e = _rate_grid(self.path, h)

        def draw():
            fig, ax = plt.subplots(figsize=(6.2, 5.2))
            mesh = ax.pcolormesh(lon_e, lat_e, np.log10(np.where(rate > 0, rate, np.nan)), cmap="magma_r")
            fig.colorbar(mesh, ax=ax, label=f"log10 expected M≥{model.mc:g} events per cell, {h:g} d")
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
            big = history[history["magnitude"] >= model.mc + 2]
            ax.scatter(
                big["longitude"], big["latitude"], s=4 * 2 ** big["magnitude"], fc="none", ec="k", lw=0.6
            )
            ax.set_title(f"ETAS rate from {start:%Y-%m-%d %H:%M} UTC, next {h:g} days")
            return fig

        redraw(self.map_out, draw)
        rows = [
            {
                "source": "ETAS, selected area: background + direct aftershocks of the history (a lower bound: "
                "aftershocks of forecast aftershocks are left out)",
                "P(M≥5) 7 d": self.area_probability(5.0, 7.0),
                "P(M≥5) 30 d": self.area_probability(5.0, 30.0),
            }
        ]
        if probs is not None:
            label = {
                "ETAS": "ETAS",
                "Reasenberg-Jones generic": "RJ generic California",
                "Reasenberg-Jones sequence": "RJ sequence-specific",
            }[self.model.value]
            sel = probs[(probs["model"] == label) & (probs["magnitude"] == 5.0)].set_index("duration_days")[
                "probability"
            ]
            rows.append(
                {
                    "source": f"{self.model.value}, whole sequence (pipeline report"
                    f"{', simulated' if label == 'ETAS' else ''})",
                    "P(M≥5) 7 d": float(sel.get(7.0, np.nan)),
                    "P(M≥5) 30 d": float(sel.get(30.0, np.nan)),
                }
            )
        self.probs.value = "<h4>Probability of M≥5</h4>" + table_html(pd.DataFrame(rows))
        self.summary.value = (
            f"<b>{self.run.value}</b>: {len(history):,} events in the history, ETAS branching ratio "
            f"{model.branching_ratio_:.2f}; total expected M≥{model.mc:g} in {h:g} d: {rate.sum():.1f}"
        )

    def _board(self) -> None:
        p = self._boards.get(self.board_run.value)
        self.board.value = (
            table_html(pd.read_csv(p).round(4)) if p else "<i>no leaderboard in the reports</i>"
        )

    def _csep_plot(self) -> None:
        p = self._csep.get(self.csep_run.value)
        if not p:
            self.csep_out.clear_output()
            with self.csep_out:
                print("no CSEP test results in the reports")
            return
        from quakelab import viz

        table = pd.read_csv(p)
        redraw(self.csep_out, lambda: viz.csep_test_plot(table, title=f"CSEP tests: {self.csep_run.value}"))


def app() -> w.VBox:
    """Display-ready forecast dashboard with a loading state."""
    from IPython.display import display

    box = loading("Loading forecasts from the pipeline reports…")
    display(box)
    fill(box, lambda: ForecastDashboard().widget)
    return box
