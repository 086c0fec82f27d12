"""Catalog explorer: dataset, region, time window and magnitude range; map, magnitude–time, FMD, event table."""

from __future__ import annotations

import functools

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from quakelab.dashboards.common import figure_output, fill, loading, redraw, table_html

SORT_COLUMNS = ["time", "magnitude", "depth_km", "latitude", "longitude"]


@functools.lru_cache(maxsize=8)
def _load(name: str) -> pd.DataFrame:
    from quakelab import datasets

    return datasets.load(name)


def available_datasets() -> list[str]:
    """Datasets that load offline on this machine (bundled, or shared data present)."""
    from quakelab.datasets import list_datasets

    t = list_datasets()
    return [n for n, r in t.iterrows() if r["available"] and r["kind"] != "online" and n != "obspy-example-events"]


def _month_options(cat: pd.DataFrame) -> list[tuple[str, pd.Timestamp]]:
    t0, t1 = cat["time"].min(), cat["time"].max()
    span = (t1 - t0) / pd.Timedelta(days=1)
    freq = "D" if span < 120 else ("MS" if span < 365 * 30 else "YS")
    edges = pd.date_range(t0.floor("D"), t1.ceil("D") + pd.Timedelta(days=1), freq=freq, tz="UTC")
    edges = edges.union(pd.DatetimeIndex([t0.floor("D"), t1.ceil("D") + pd.Timedelta(days=1)]))
    return [(e.strftime("%Y-%m-%d"), e) for e in edges]


class CatalogExplorer:
    """The app's widgets and callbacks (``.widget`` is what is displayed)."""

    def __init__(self, dataset: str | None = None) -> None:
        names = available_datasets()
        self.dataset = w.Dropdown(options=names, value=dataset if dataset in names else names[0], description="dataset")
        self.mag = w.FloatRangeSlider(description="magnitude", step=0.1, continuous_update=False, readout_format=".1f")
        wide = w.Layout(width="460px")
        self.mag.layout = wide
        self.lon = w.FloatRangeSlider(description="longitude", step=0.01, continuous_update=False, layout=wide)
        self.lat = w.FloatRangeSlider(description="latitude", step=0.01, continuous_update=False, layout=wide)
        self.period = w.SelectionRangeSlider(options=[("-", 0), ("-", 1)], index=(0, 1), description="time",
                                             continuous_update=False, layout=w.Layout(width="600px"))
        self.sort_by = w.Dropdown(options=SORT_COLUMNS, value="magnitude", description="sort by")
        self.descending = w.ToggleButtons(options=["descending", "ascending"], value="descending")
        self.status = w.HTML()
        self.map_out, self.mt_out, self.fmd_out = w.Output(), w.Output(), w.Output()
        self.table = w.HTML()
        for widget, css in ((self.dataset, "ql-dataset"), (self.mag, "ql-magnitude"), (self.lon, "ql-lon"),
                            (self.lat, "ql-lat"), (self.period, "ql-period"), (self.sort_by, "ql-sort"),
                            (self.map_out, "ql-map"), (self.mt_out, "ql-magtime"), (self.fmd_out, "ql-fmd"),
                            (self.table, "ql-events"), (self.status, "ql-status")):
            widget.add_class(css)
        self._reset_ranges()
        self.dataset.observe(self._on_dataset, "value")
        for c in (self.mag, self.lon, self.lat, self.period):
            c.observe(self._on_filter, "value")
        self.sort_by.observe(self._on_sort, "value")
        self.descending.observe(self._on_sort, "value")
        self.update()
        controls = w.VBox([self.dataset, self.period, w.HBox([self.mag]), w.HBox([self.lon, self.lat]), self.status])
        figs = w.HBox([self.map_out, w.VBox([self.mt_out, self.fmd_out])])
        self.widget = w.VBox([controls, figs,
                              w.HBox([self.sort_by, self.descending]), self.table])

    def _reset_ranges(self) -> None:
        cat = _load(self.dataset.value)
        self._busy = True
        try:
            m0, m1 = float(np.floor(cat["magnitude"].min() * 10) / 10), float(np.ceil(cat["magnitude"].max() * 10) / 10)
            self.mag.min, self.mag.max = -10, 10
            self.mag.min, self.mag.max, self.mag.value = m0, m1, (m0, m1)
            for s, col in ((self.lon, "longitude"), (self.lat, "latitude")):
                # the sliders span all events; the initial selection leaves out far outliers (0.5 % each side)
                lo, hi = float(np.floor(cat[col].min() * 10) / 10), float(np.ceil(cat[col].max() * 10) / 10)
                q0, q1 = np.quantile(cat[col], [0.005, 0.995]) if len(cat) > 200 else (lo, hi)
                pad = max((q1 - q0) * 0.05, 0.05)
                s.min, s.max = -1000, 1000
                s.min, s.max = lo, hi
                s.value = (max(lo, float(np.floor((q0 - pad) * 10) / 10)), min(hi, float(np.ceil((q1 + pad) * 10) / 10)))
            opts = _month_options(cat)
            self.period.options = opts
            self.period.index = (0, len(opts) - 1)
        finally:
            self._busy = False

    def selection(self) -> pd.DataFrame:
        """Events inside the current selection."""
        cat = _load(self.dataset.value)
        t0, t1 = self.period.value
        keep = ((cat["magnitude"] >= self.mag.value[0] - 1e-9) & (cat["magnitude"] <= self.mag.value[1] + 1e-9)
                & cat["longitude"].between(*self.lon.value) & cat["latitude"].between(*self.lat.value)
                & (cat["time"] >= t0) & (cat["time"] < t1))
        return cat[keep]

    def _on_dataset(self, _change) -> None:
        self._reset_ranges()
        self.update()

    def _on_filter(self, _change) -> None:
        if not self._busy:
            self.update()

    def _on_sort(self, _change) -> None:
        self._table(self.selection())

    def _table(self, sel: pd.DataFrame) -> None:
        cols = [c for c in ["time", "magnitude", "mag_type", "latitude", "longitude", "depth_km", "event_id"] if c in sel]
        df = sel.sort_values(self.sort_by.value, ascending=self.descending.value == "ascending")[cols]
        self.table.value = table_html(df.assign(time=df["time"].dt.strftime("%Y-%m-%d %H:%M:%S")))

    def update(self) -> None:
        """Redraw the figures and the table for the current selection."""
        from quakelab import stats, viz

        sel = self.selection()
        self.status.value = f"<b>{len(sel):,}</b> events selected"
        extent = (*self.lon.value, *self.lat.value)
        if len(sel) == 0:
            for o in (self.map_out, self.mt_out, self.fmd_out):
                o.clear_output()
            self.table.value = "<i>no events in the selection</i>"
            return
        redraw(self.map_out, lambda: viz.epicentre_map(sel, extent=extent, title=f"{len(sel):,} events"))

        def mt():
            fig, ax = plt.subplots(figsize=(6, 2.8))
            return viz.magnitude_time(sel, ax=ax)

        def fmd():
            fig, ax = plt.subplots(figsize=(6, 3.2))
            mc = stats.magnitude_of_completeness(sel["magnitude"], method="maxc") if len(sel) >= 50 else None
            return viz.frequency_magnitude_plot(sel["magnitude"], ax=ax, mc=mc)

        redraw(self.mt_out, mt)
        redraw(self.fmd_out, fmd)
        self._table(sel)


def app(dataset: str | None = None) -> w.VBox:
    """Display-ready catalog explorer with a loading state (build happens inside)."""
    from IPython.display import display

    box = loading("Loading the catalog explorer…")
    display(box)
    fill(box, lambda: CatalogExplorer(dataset).widget)
    return box


__all__ = ["CatalogExplorer", "app", "available_datasets", "figure_output"]
