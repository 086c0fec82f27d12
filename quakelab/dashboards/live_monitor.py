"""Live monitor: latest events from the feed, the short-term forecast after each batch, the alert state.

Reads the store of ``quakelab monitor`` (``events.parquet``, ``forecast.json``, ``checkpoint.json``,
``status.json``, ``products/``) and re-reads it on its own every few seconds when the files changed (a daemon
thread of the kernel watches the files and pushes the new state to the page). The age of the store and of the
monitor's last poll are recomputed at every check: when the monitor has not polled for more than
:data:`STALE_INTERVALS` of its intervals the page says "monitor not running" instead of showing the last
(stale) alert state as if it were current.
"""

from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as w
import matplotlib.pyplot as plt
import pandas as pd

from quakelab.dashboards.common import fill, live_dir, loading, redraw, table_html

#: The monitor counts as not running when its last poll is older than this many polling intervals.
STALE_INTERVALS = 3


def _age(seconds: float) -> str:
    """A short human age.

    Examples
    --------
    >>> _age(42), _age(150), _age(7300), _age(200000)
    ('42 s', '2.5 min', '2.0 h', '2.3 d')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def liveness(directory: Path, now: float | None = None) -> dict:
    """Whether the monitor writing ``directory`` is running, from wall-clock times on disk.

    The monitor's ``status.json`` gives its last poll attempt (successful or not) and its interval; a store
    written by an older monitor without it is judged by the modification time of ``events.parquet`` with a
    60 s interval.

    Returns
    -------
    dict
        ``running`` (bool), ``poll_age_s`` (since the last attempt), ``store_age_s`` (since the last commit of
        ``events.parquet``, None when absent), ``interval_s``, ``last_error``.
    """
    import time

    now = time.time() if now is None else now
    ev = directory / "events.parquet"
    store_age = now - ev.stat().st_mtime if ev.exists() else None
    st_path = directory / "status.json"
    status = {}
    if st_path.exists():
        try:
            status = json.loads(st_path.read_text())
        except ValueError:  # being replaced: judged at the next check
            status = {}
    interval = float(status.get("interval_s") or 60.0)
    if status.get("last_attempt"):
        poll_age = now - pd.Timestamp(status["last_attempt"]).timestamp()
    else:
        poll_age = store_age
    running = poll_age is not None and poll_age <= STALE_INTERVALS * max(interval, 1.0)
    return {
        "running": bool(running),
        "poll_age_s": poll_age,
        "store_age_s": store_age,
        "interval_s": interval,
        "last_error": status.get("last_error"),
        "consecutive_failures": int(status.get("consecutive_failures") or 0),
    }


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
        return [
            self.directory / n for n in ("events.parquet", "forecast.json", "checkpoint.json", "status.json")
        ]

    def refresh(self, force: bool = False) -> bool:
        """Re-read the store if it changed, and re-judge whether the monitor runs; returns whether the
        display was updated."""
        stamp = tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in self._files())
        changed = stamp != self._stamp or force
        self._stamp = stamp
        ev_path, fc_path, ck_path, _ = self._files()
        if not ev_path.exists() or not fc_path.exists():
            if changed:
                self.status.value = (
                    f"<span class='ql-waiting'>waiting for <code>quakelab monitor</code> to write "
                    f"{self.directory}</span>"
                )
                self.alert.value = self.forecast.value = self.table.value = ""
            return changed
        if changed:
            self._reload(ev_path, fc_path, ck_path)
        return self._show_state() or changed

    def _reload(self, ev_path: Path, fc_path: Path, ck_path: Path) -> None:
        from quakelab.realtime import EventStore

        events = EventStore(self.directory, readonly=True).events
        fc = json.loads(fc_path.read_text())
        ck = json.loads(ck_path.read_text()) if ck_path.exists() else {}
        self._events, self._fc, self._ck = events, fc, ck
        self._state_html = None
        rows = pd.DataFrame(fc["forecast"])
        cols = [
            c for c in ("magnitude", "duration_days", "expected", "probability", "q025", "q975") if c in rows
        ]
        rows = rows[cols].rename(columns={"probability": "P"})
        fallback = fc.get("fallback_reason")
        model_line = f"<div class='ql-model'>model: <b>{fc['model']}</b></div>" + (
            f"<div class='ql-fallback' style='color:#8a5a00'>fallback to the generic rates: {fallback}</div>"
            if fallback
            else ""
        )
        products = sorted((self.directory / "products").glob("*.json"))
        prod = (
            "<div class='ql-products'>aftershock products: "
            + ", ".join(f"<code>{p.stem}</code>" for p in products[-10:])
            + "</div>"
            if products
            else ""
        )
        self.forecast.value = (
            f"<h3>Short-term forecast at {fc['time_utc']}</h3>"
            + model_line
            + table_html(rows.round(4))
            + prod
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
                ax.set_xlabel("origin time (UTC)")
                ax.set_title("events in the store (circle area grows with magnitude)")
                fig.autofmt_xdate()
                return fig

            redraw(self.plot, draw)

    def _show_state(self) -> bool:
        """Alert box and status line from the last reload and the current liveness; True when they changed."""
        live = liveness(self.directory)
        a, ck, events = self._fc["alert"], self._ck, self._events
        prob = f"P(M≥{a['magnitude']:g} within {a['days']:g} d) = {a['probability']:.3f} (threshold {a['threshold']:g})"
        if not live["running"]:
            since = _age(live["poll_age_s"]) if live["poll_age_s"] is not None else "ever"
            alert = (
                f"<div class='ql-alert ql-not-running' data-active='stale' style='padding:.6em;color:#333;"
                f"background:#d6d6d6;font-size:1.3em'>monitor not running: no poll for {since} (more than "
                f"{STALE_INTERVALS} polling intervals of {live['interval_s']:g} s). The last forecast, "
                f"{'with' if a['active'] else 'without'} an alert, is stale: {prob}</div>"
            )
        else:
            colour, word = ("#c62828", "ALERT") if a["active"] else ("#2e7d32", "no alert")
            alert = (
                f"<div class='ql-alert' data-active='{str(a['active']).lower()}' style='padding:.6em;"
                f"color:white;background:{colour};font-size:1.3em'>{word}: {prob}</div>"
            )
        failing = (
            f"; <span class='ql-failing' style='color:#b00'>{live['consecutive_failures']} failed poll(s) in a "
            f"row: {live['last_error']}</span>"
            if live["consecutive_failures"]
            else ""
        )
        store_age = _age(live["store_age_s"]) if live["store_age_s"] is not None else "-"
        status = (
            f"<span class='ql-status'><b class='ql-n-events'>{len(events)}</b> events in the store; "
            f"{ck.get('n_polls', 0)} polls; store written <span class='ql-store-age'>{store_age}</span> ago; "
            f"last poll {_age(live['poll_age_s']) if live['poll_age_s'] is not None else '-'} ago "
            f"({'monitor running' if live['running'] else 'monitor not running'}){failing}</span>"
        )
        html = (alert, status)
        if html == getattr(self, "_state_html", None):
            return False
        self._state_html = html
        self.alert.value, self.status.value = html
        return True


def app(directory: str | None = None, refresh_s: float = 3.0) -> w.VBox:
    """Display-ready live monitor with a loading state."""
    from IPython.display import display

    box = loading("Connecting to the live store…")
    display(box)
    fill(box, lambda: LiveMonitor(Path(directory) if directory else None, refresh_s).widget)
    return box
