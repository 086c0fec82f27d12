"""Catalog explorer: dataset, region, time window, magnitudes and event types; map, magnitude–time, FMD, event table."""

from __future__ import annotations

import functools
from pathlib import Path

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from quakelab.dashboards.common import figure_output, fill, loading, table_html

SORT_COLUMNS = ["time", "magnitude", "depth_km", "latitude", "longitude"]


@functools.lru_cache(maxsize=8)
def _load(name: str) -> pd.DataFrame:
    from quakelab.catalog import open_catalog

    return open_catalog(name, config=_config_path())


def _config_path() -> Path | None:
    """The project's ``papermill_runs.yaml`` (its ``catalogs:`` entries are listed), or None."""
    from quakelab.paths import project_root

    path = project_root() / "papermill_runs.yaml"
    return path if path.is_file() else None


def configured_catalogs() -> list[str]:
    """Names of the ``catalogs:`` entries of the project's ``papermill_runs.yaml`` whose file is present."""
    from quakelab.catalog import load_catalog_entries

    try:
        entries = load_catalog_entries(_config_path())
    except Exception:  # a broken configuration must not take the explorer down; `quakelab run` reports it
        return []
    return [n for n, e in entries.items() if e.get("url") or (e.get("path") and Path(e["path"]).exists())]


def available_datasets() -> list[str]:
    """Catalogs that load offline here: bundled datasets, shared data when present, configured catalogs."""
    from quakelab.datasets import list_datasets

    t = list_datasets()
    names = [
        n for n, r in t.iterrows() if r["available"] and r["kind"] != "online" and n != "obspy-example-events"
    ]
    return names + [n for n in configured_catalogs() if n not in names]


def _month_options(cat: pd.DataFrame) -> list[tuple[str, pd.Timestamp]]:
    t0, t1 = cat["time"].min(), cat["time"].max()
    span = (t1 - t0) / pd.Timedelta(days=1)
    freq = "D" if span < 120 else ("MS" if span < 365 * 30 else "YS")
    edges = pd.date_range(t0.floor("D"), t1.ceil("D") + pd.Timedelta(days=1), freq=freq, tz="UTC")
    edges = edges.union(pd.DatetimeIndex([t0.floor("D"), t1.ceil("D") + pd.Timedelta(days=1)]))
    return [(e.strftime("%Y-%m-%d"), e) for e in edges]


def _png(draw) -> bytes:
    """Render the figure returned by ``draw()`` to PNG bytes (closed afterwards)."""
    import io

    fig = draw()
    fig = getattr(fig, "figure", fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _show_png(out: w.Output, png: bytes | None) -> None:
    from IPython.display import Image, display

    with out:
        out.clear_output(wait=True)
        if png is not None:
            display(Image(data=png, format="png"))


def map_figsize(extent: tuple[float, float, float, float], width: float = 6.5) -> tuple[float, float]:
    """Figure size of a PlateCarree map of ``extent`` whose height follows the data's aspect (3 to 8 inches).

    Examples
    --------
    >>> map_figsize((-118.2, -117.0, 35.2, 36.4))
    (6.5, 6.5)
    >>> map_figsize((-180, 180, -60, 60))
    (6.5, 3.0)
    """
    lon0, lon1, lat0, lat1 = extent
    aspect = (lat1 - lat0) / max(lon1 - lon0, 1e-9)
    return width, float(np.clip(round(width * aspect * 1.0, 2), 3.0, 8.0))


def describe_selection(sel: pd.DataFrame) -> str:
    """The status line: number of events and the largest one (the mainshock of a sequence).

    Examples
    --------
    >>> from quakelab.datasets import load
    >>> describe_selection(load("ridgecrest-2019-sample"))
    '<b>829</b> events selected · largest (★): M5.5 on 2019-07-06 03:47 UTC at 35.90°N, 117.75°W'
    """
    if len(sel) == 0:
        return "<b>0</b> events selected"
    big = sel.loc[sel["magnitude"].idxmax()]
    lat, lon = float(big["latitude"]), float(big["longitude"])
    where = f"{abs(lat):.2f}°{'N' if lat >= 0 else 'S'}, {abs(lon):.2f}°{'E' if lon >= 0 else 'W'}"
    return (
        f"<b>{len(sel):,}</b> events selected · largest (★): M{float(big['magnitude']):g} on "
        f"{big['time'].strftime('%Y-%m-%d %H:%M')} UTC at {where}"
    )


def _fmt_lon(x: float) -> str:
    return f"{abs(x):.2f}°{'E' if x >= 0 else 'W'}"


def _fmt_lat(y: float) -> str:
    return f"{abs(y):.2f}°{'N' if y >= 0 else 'S'}"


class CatalogExplorer:
    """The app's widgets and callbacks (``.widget`` is what is displayed).

    Every change recomputes the selection, renders all figures and the table, and only then replaces them
    together; meanwhile a busy indicator shows and the panels are dimmed, so old and new panels are never
    shown side by side as if they belonged together.
    """

    def __init__(self, dataset: str | None = None) -> None:
        names = available_datasets()
        self.dataset = w.Dropdown(
            options=names, value=dataset if dataset in names else names[0], description="dataset"
        )
        wide = w.Layout(width="460px")
        style = {"description_width": "80px"}
        self.mag = w.FloatRangeSlider(
            description="magnitude",
            step=0.1,
            continuous_update=False,
            readout_format=".1f",
            layout=wide,
            style=style,
        )
        self.lon = w.FloatRangeSlider(
            description="longitude",
            step=0.01,
            continuous_update=False,
            readout_format=".2f",
            layout=wide,
            style=style,
        )
        self.lat = w.FloatRangeSlider(
            description="latitude",
            step=0.01,
            continuous_update=False,
            readout_format=".2f",
            layout=wide,
            style=style,
        )
        self.period = w.SelectionRangeSlider(
            options=[("-", 0), ("-", 1)],
            index=(0, 1),
            description="time",
            continuous_update=False,
            layout=w.Layout(width="600px"),
            style=style,
        )
        self.event_types = w.SelectMultiple(
            description="event types", rows=3, style=style, layout=w.Layout(width="460px")
        )
        self.sort_by = w.Dropdown(options=SORT_COLUMNS, value="magnitude", description="sort by")
        self.descending = w.ToggleButtons(options=["descending", "ascending"], value="descending")
        self.readout = w.HTML()
        self.status = w.HTML()
        self.busy = w.HTML(
            "<span style='color:#a60'>⏳ updating all panels…</span>", layout=w.Layout(visibility="hidden")
        )
        self.map_out, self.mt_out, self.fmd_out = w.Output(), w.Output(), w.Output()
        self.table = w.HTML()
        for widget, css in (
            (self.dataset, "ql-dataset"),
            (self.mag, "ql-magnitude"),
            (self.lon, "ql-lon"),
            (self.lat, "ql-lat"),
            (self.period, "ql-period"),
            (self.sort_by, "ql-sort"),
            (self.event_types, "ql-event-types"),
            (self.readout, "ql-readout"),
            (self.map_out, "ql-map"),
            (self.mt_out, "ql-magtime"),
            (self.fmd_out, "ql-fmd"),
            (self.table, "ql-events"),
            (self.status, "ql-status"),
            (self.busy, "ql-busy"),
        ):
            widget.add_class(css)
        self._busy = False
        self._reset_ranges()
        self.dataset.observe(self._on_dataset, "value")
        for c in (self.mag, self.lon, self.lat, self.period, self.event_types):
            c.observe(self._on_filter, "value")
        self.sort_by.observe(self._on_sort, "value")
        self.descending.observe(self._on_sort, "value")
        self.figures = w.HBox([self.map_out, w.VBox([self.mt_out, self.fmd_out])])
        self.figures.add_class("ql-figures")
        self.update()
        controls = w.VBox(
            [
                self.dataset,
                self.period,
                w.HBox([self.mag, self.event_types]),
                w.HBox([self.lon, self.lat]),
                self.readout,
                w.HBox([self.status, self.busy]),
            ]
        )
        self.widget = w.VBox([controls, self.figures, w.HBox([self.sort_by, self.descending]), self.table])

    def _catalog(self) -> pd.DataFrame:
        return _load(self.dataset.value)

    def _reset_ranges(self) -> None:
        cat = self._catalog()
        self._busy = True
        try:
            m0, m1 = (
                float(np.floor(cat["magnitude"].min() * 10) / 10),
                float(np.ceil(cat["magnitude"].max() * 10) / 10),
            )
            self.mag.min, self.mag.max = -10, 10
            self.mag.min, self.mag.max, self.mag.value = m0, m1, (m0, m1)
            for s, col in ((self.lon, "longitude"), (self.lat, "latitude")):
                # the sliders span all events; the initial selection leaves out far outliers (0.5 % each side)
                lo, hi = float(np.floor(cat[col].min() * 10) / 10), float(np.ceil(cat[col].max() * 10) / 10)
                q0, q1 = np.quantile(cat[col], [0.005, 0.995]) if len(cat) > 200 else (lo, hi)
                pad = max((q1 - q0) * 0.05, 0.05)
                s.min, s.max = -1000, 1000
                s.min, s.max = lo, hi
                s.value = (
                    max(lo, float(np.floor((q0 - pad) * 10) / 10)),
                    min(hi, float(np.ceil((q1 + pad) * 10) / 10)),
                )
            opts = _month_options(cat)
            self.period.options = opts
            self.period.index = (0, len(opts) - 1)
            if "event_type" in cat.columns:
                counts = cat["event_type"].fillna("not reported").value_counts()
                self.event_types.options = [(f"{k} ({v:,})", k) for k, v in counts.items()]
                self.event_types.value = tuple(counts.index)
                self.event_types.disabled = False
                self.event_types.description = "event types"
            else:
                self.event_types.options = [("earthquake (no type column)", "earthquake")]
                self.event_types.value = ("earthquake",)
                self.event_types.disabled = True
        finally:
            self._busy = False

    def selection(self) -> pd.DataFrame:
        """Events inside the current selection."""
        cat = self._catalog()
        t0, t1 = self.period.value
        keep = (
            (cat["magnitude"] >= self.mag.value[0] - 1e-9)
            & (cat["magnitude"] <= self.mag.value[1] + 1e-9)
            & cat["longitude"].between(*self.lon.value)
            & cat["latitude"].between(*self.lat.value)
            & (cat["time"] >= t0)
            & (cat["time"] < t1)
        )
        if "event_type" in cat.columns and not self.event_types.disabled:
            keep &= cat["event_type"].fillna("not reported").isin(list(self.event_types.value))
        return cat[keep]

    def _on_dataset(self, _change) -> None:
        self._reset_ranges()
        self.update()

    def _on_filter(self, _change) -> None:
        if not self._busy:
            self.update()

    def _on_sort(self, _change) -> None:
        self._table(self.selection())

    def _table_html(self, sel: pd.DataFrame) -> str:
        cols = [
            c
            for c in [
                "time",
                "magnitude",
                "mag_type",
                "latitude",
                "longitude",
                "depth_km",
                "event_type",
                "event_id",
            ]
            if c in sel
        ]
        df = sel.sort_values(self.sort_by.value, ascending=self.descending.value == "ascending")[cols]
        return table_html(df.assign(time=df["time"].dt.strftime("%Y-%m-%d %H:%M:%S")))

    def _table(self, sel: pd.DataFrame) -> None:
        self.table.value = self._table_html(sel) if len(sel) else "<i>no events in the selection</i>"

    def _readout_html(self) -> str:
        (m0, m1), (x0, x1), (y0, y1) = self.mag.value, self.lon.value, self.lat.value
        t0, t1 = self.period.value
        days = (t1 - t0) / pd.Timedelta(days=1)
        types = "all types" if self.event_types.disabled else (", ".join(self.event_types.value) or "no type")
        return (
            f"<div style='font-family:monospace'>M {m0:.1f} to {m1:.1f} · longitude {_fmt_lon(x0)} to {_fmt_lon(x1)}"
            f" · latitude {_fmt_lat(y0)} to {_fmt_lat(y1)} · {t0:%Y-%m-%d} to {t1:%Y-%m-%d} ({days:g} days)"
            f" · {types}</div>"
        )

    def _set_busy(self, on: bool) -> None:
        self.busy.layout.visibility = "visible" if on else "hidden"
        self.figures.layout.opacity = "0.35" if on else "1"
        (self.busy.add_class if on else self.busy.remove_class)("ql-busy-on")

    def update(self) -> None:
        """Redraw the figures, the readouts and the table for the current selection, all together."""
        from quakelab import stats, viz
        from quakelab.viz.plots import _extent

        self._set_busy(True)
        try:
            sel = self.selection()
            readout = self._readout_html()
            if len(sel) == 0:
                pngs = (None, None, None)
                table = "<i>no events in the selection</i>"
            else:
                big = sel.loc[sel["magnitude"].idxmax()]
                extent = _extent(sel)  # the map follows the selected events

                def map_():
                    import cartopy.crs as ccrs

                    fig, ax = plt.subplots(
                        figsize=map_figsize(extent), subplot_kw={"projection": ccrs.PlateCarree()}
                    )
                    viz.epicentre_map(sel, ax=ax, extent=extent, title=f"{len(sel):,} events")
                    ax.scatter(
                        [big["longitude"]],
                        [big["latitude"]],
                        marker="*",
                        s=320,
                        c="gold",
                        edgecolors="k",
                        linewidths=0.8,
                        transform=ccrs.PlateCarree(),
                        zorder=5,
                        label=f"largest: M{float(big['magnitude']):g}",
                    )
                    ax.legend(loc="lower left", fontsize=8)
                    return ax

                def mt():
                    fig, ax = plt.subplots(figsize=(6, 2.8))
                    viz.magnitude_time(sel, ax=ax)
                    ax.scatter(
                        [big["time"]],
                        [big["magnitude"]],
                        marker="*",
                        s=220,
                        c="gold",
                        edgecolors="k",
                        linewidths=0.8,
                        zorder=5,
                    )
                    return ax

                def fmd():
                    fig, ax = plt.subplots(figsize=(6, 3.2))
                    mc = (
                        stats.magnitude_of_completeness(sel["magnitude"], method="maxc")
                        if len(sel) >= 50
                        else None
                    )
                    return viz.frequency_magnitude_plot(sel["magnitude"], ax=ax, mc=mc)

                pngs = (_png(map_), _png(mt), _png(fmd))
                table = self._table_html(sel)
            # everything is ready: replace all panels at once
            for out, png in zip((self.map_out, self.mt_out, self.fmd_out), pngs, strict=True):
                _show_png(out, png)
            self.table.value = table
            self.readout.value = readout
            self.status.value = describe_selection(sel)
        finally:
            self._set_busy(False)


def app(dataset: str | None = None) -> w.VBox:
    """Display-ready catalog explorer with a loading state (build happens inside)."""
    from IPython.display import display

    box = loading("Loading the catalog explorer…")
    display(box)
    fill(box, lambda: CatalogExplorer(dataset).widget)
    return box


__all__ = [
    "CatalogExplorer",
    "app",
    "available_datasets",
    "describe_selection",
    "figure_output",
    "map_figsize",
]
