"""Live monitor: latest events from the feed, the short-term forecast after each batch, the alert state.

Reads the store of ``quakelab monitor`` (``events.parquet``, ``forecast.json``, ``checkpoint.json``) and
re-reads it on its own every few seconds when the files changed (a daemon thread of the kernel watches the
files and pushes the new state to the page).
"""

from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as w
import matplotlib.pyplot as plt
import pandas as pd

from quakelab.dashboards.common import fill, live_dir, loading, redraw, table_html


class LiveMonitor:
    """Widgets and callbacks (``.widget`` is what is displayed)."""

    def __init__(self, directory: Path | None = None, refresh_s: float = 3.0) -> None:
        self.directory = Path(directory or live_dir())
        self._stamp: tuple | None = None
        self.auto = w.Checkbox(value=True, description=f"refresh every {refresh_s:g} s", indent=False)
        self.now = w.Button(description="refresh now", icon="refresh")
        self.now.on_click(lambda _: self.refresh(force=True))
        self.refresh_s = float(refresh_s)
        self.alert = w.HTML()
        self.forecast = w.HTML()
        self.status = w.HTML()
        self.table = w.HTML()
        self.plot = w.Output()
        for widget, css in (
            (self.alert, "ql-alert-box"),
            (self.forecast, "ql-forecast"),
            (self.table, "ql-latest"),
            (self.plot, "ql-plot"),
            (self.auto, "ql-auto"),
        ):
            widget.add_class(css)
        self.refresh(force=True)
        self._start_watcher()
        self.widget = w.VBox(
            [
                w.HBox([self.auto, self.now, self.status]),
                self.alert,
                self.forecast,
                self.plot,
                w.HTML("<h3>Latest events</h3>"),
                self.table,
            ]
        )

    def _start_watcher(self) -> None:
        import threading
        import time

        def loop() -> None:
            while True:
                time.sleep(self.refresh_s)
                if self.auto.value:
                    try:
                        self.refresh()
                    except Exception as e:  # a half-visible store or a transient read error: try again later
                        self.status.value = (
                            f"<span class='ql-read-error'>could not read the store: {e}</span>"
                        )

        threading.Thread(target=loop, name="quakelab-live-monitor", daemon=True).start()

    def _files(self) -> list[Path]:
        return [self.directory / n for n in ("events.parquet", "forecast.json", "checkpoint.json")]

    def refresh(self, force: bool = False) -> bool:
        """Re-read the store if it changed; returns whether the display was updated."""
        stamp = tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in self._files())
        if stamp == self._stamp and not force:
            return False
        self._stamp = stamp
        ev_path, fc_path, ck_path = self._files()
        if not ev_path.exists() or not fc_path.exists():
            self.status.value = (
                f"<span class='ql-waiting'>waiting for <code>quakelab monitor</code> to write "
                f"{self.directory}</span>"
            )
            self.alert.value = self.forecast.value = self.table.value = ""
            return True
        from quakelab.realtime import EventStore

        events = EventStore(self.directory, readonly=True).events
        fc = json.loads(fc_path.read_text())
        ck = json.loads(ck_path.read_text()) if ck_path.exists() else {}
        a = fc["alert"]
        colour, word = ("#c62828", "ALERT") if a["active"] else ("#2e7d32", "no alert")
        self.alert.value = (
            f"<div class='ql-alert' data-active='{str(a['active']).lower()}' style='padding:.6em;"
            f"color:white;background:{colour};font-size:1.3em'>{word}: P(M≥{a['magnitude']:g} within "
            f"{a['days']:g} d) = {a['probability']:.3f} (threshold {a['threshold']:g})</div>"
        )
        rows = pd.DataFrame(fc["forecast"])
        rows = rows.assign(**{"P": rows["probability"].round(4)})[
            ["magnitude", "duration_days", "expected", "P"]
        ]
        self.forecast.value = (
            f"<h3>Short-term forecast at {fc['time_utc']}</h3><div>{fc['model']}</div>" + table_html(rows)
        )
        self.status.value = (
            f"<span class='ql-status'><b class='ql-n-events'>{len(events)}</b> events in the store; "
            f"{ck.get('n_polls', 0)} polls; last poll {ck.get('last_poll', '-')}</span>"
        )
        latest = events.sort_values("time", ascending=False).head(25)
        show = latest[
            [
                "time",
                "magnitude",
                "mag_type",
                "latitude",
                "longitude",
                "depth_km",
                "place",
                "status",
                "event_id",
            ]
        ]
        self.table.value = table_html(show.assign(time=show["time"].dt.strftime("%Y-%m-%d %H:%M:%S")))
        if len(events):

            def draw():
                fig, ax = plt.subplots(figsize=(9, 2.8))
                ax.scatter(events["time"], events["magnitude"], s=3 * 2 ** events["magnitude"], alpha=0.6)
                ax.set_ylabel("magnitude")
                ax.set_title("events in the store")
                fig.autofmt_xdate()
                return fig

            redraw(self.plot, draw)
        return True


def app(directory: str | None = None, refresh_s: float = 3.0) -> w.VBox:
    """Display-ready live monitor with a loading state."""
    from IPython.display import display

    box = loading("Connecting to the live store…")
    display(box)
    fill(box, lambda: LiveMonitor(Path(directory) if directory else None, refresh_s).widget)
    return box
