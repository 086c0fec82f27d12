"""The monitoring loop: poll, upsert, commit, forecast, alert — and survive a misbehaving feed."""

from __future__ import annotations

import json
import logging
import time as _time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from quakelab.catalog.store import write_text_atomic
from quakelab.realtime.feeds import FeedError, MalformedFeedError
from quakelab.realtime.forecast import short_term_forecast
from quakelab.realtime.store import EventStore

log = logging.getLogger("quakelab.monitor")


@dataclass
class PollResult:
    """Outcome of one poll."""

    ok: bool
    n_received: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    ignored: int = 0
    seconds: float = 0.0
    error: str = ""
    probability: float | None = None
    alert_changed: bool = False


class Monitor:
    """Poll a feed, keep an :class:`EventStore` current and write ``forecast.json`` after each batch.

    Parameters
    ----------
    feed : FDSNEventFeed or USGSGeoJSONFeed
        Anything with ``fetch(updated_after) -> FeedBatch``.
    directory : path-like
        Store directory (``events.parquet``, ``checkpoint.json``, ``forecast.json``, ``alerts.log``).
    interval_s : float, default 60
        Time between successful polls.
    threshold : float, default 0.1
        Alert when P(M >= ``alert_magnitude`` within ``alert_days``) reaches this.
    alert_magnitude, alert_days : float
    overlap_s : float, default 60
        ``updatedafter`` is moved back by this much (clock skew and late writers at the source; the
        upsert makes the overlap harmless).
    max_backoff_s : float, default 300
        Failed polls are retried after 1, 2, 4, ... seconds, at most this.
    now : callable, optional
        Forecast time (default: the current UTC time). Tests and replays pass the feed's clock.
    echo : callable, default print
        Where alert lines go (besides the log and ``alerts.log``).
    bus : Publisher, optional
        Where changes are published (:mod:`quakelab.realtime.bus`): every upserted event and deletion, the
        forecast and every alert state change. Events, deletions and alerts go through an outbox committed
        with the store (``bus_outbox`` in the checkpoint) and are published after the commit; what a failed
        or interrupted publish left behind is published again after the next successful poll (at least
        once; consumers are idempotent). ``bus_cursor.json`` records the last outbox published.
    """

    def __init__(
        self,
        feed,
        directory,
        *,
        interval_s: float = 60.0,
        threshold: float = 0.1,
        alert_magnitude: float = 5.0,
        alert_days: float = 7.0,
        overlap_s: float = 60.0,
        max_backoff_s: float = 300.0,
        now=None,
        echo=print,
        bus=None,
    ) -> None:
        self.feed = feed
        self.store = EventStore(directory)
        self.directory = Path(directory)
        self.interval_s, self.threshold = float(interval_s), float(threshold)
        self.alert_magnitude, self.alert_days = float(alert_magnitude), float(alert_days)
        self.overlap = pd.Timedelta(seconds=overlap_s)
        self.max_backoff_s = float(max_backoff_s)
        self.now = now or (lambda: pd.Timestamp.now(tz="UTC"))
        self.echo = echo
        self.failures = 0
        self.bus = bus
        self.bus_failures = 0

    def poll_once(self) -> PollResult:
        """One poll: fetch, apply, commit, forecast. Feed errors are logged and returned, never raised."""
        t0 = _time.perf_counter()
        since = self.store.updated_after
        try:
            batch = self.feed.fetch(since - self.overlap if since is not None else None)
        except MalformedFeedError as e:
            self.failures += 1
            log.warning("malformed feed response (batch skipped, checkpoint kept): %s", e)
            return PollResult(ok=False, error=f"malformed: {e}", seconds=_time.perf_counter() - t0)
        except FeedError as e:
            self.failures += 1
            log.warning("feed error (will retry): %s", e)
            return PollResult(ok=False, error=str(e), seconds=_time.perf_counter() - t0)
        self.failures = 0
        res = self.store.apply(batch)
        n_polls = int(self.store.checkpoint.get("n_polls", 0)) + 1
        fc = short_term_forecast(
            self.store.events,
            self.now(),
            magnitudes=(self.alert_magnitude,),
            durations_days=tuple(sorted({self.alert_days, 7.0, 30.0})),
        )
        p = float(fc.loc[(fc["duration_days"] == self.alert_days), "probability"].iloc[0])
        was = bool(self.store.checkpoint.get("alert_active", False))
        active = p >= self.threshold
        self.store.commit(
            n_polls=n_polls,
            n_batches=int(self.store.checkpoint.get("n_batches", 0)) + 1,
            last_poll=self.now().isoformat(),
            alert_active=active,
            **self._outbox(res.changes, None if active == was else self._alert_payload(p, active)),
        )
        self._flush_outbox()
        self._write_forecast(fc, p, active)
        changed = active != was
        if changed:
            self._alert(p, active)
        log.info(
            "poll %d: %d received, %d new, %d revised, %d deleted, %d ignored; P=%.3f",
            n_polls,
            len(batch.events) + len(batch.deleted),
            res.inserted,
            res.updated,
            res.deleted,
            res.ignored,
            p,
        )
        return PollResult(
            ok=True,
            n_received=len(batch.events) + len(batch.deleted),
            inserted=res.inserted,
            updated=res.updated,
            deleted=res.deleted,
            ignored=res.ignored,
            seconds=_time.perf_counter() - t0,
            probability=p,
            alert_changed=changed,
        )

    def _write_forecast(self, fc: pd.DataFrame, p: float, active: bool) -> None:
        ev = self.store.events
        latest = ev.sort_values("time").tail(1)
        doc = {
            "time_utc": self.now().isoformat(),
            "model": "Reasenberg-Jones generic California, superposed",
            "n_events": int(len(ev)),
            "latest_event": None
            if latest.empty
            else {
                "event_id": latest["event_id"].iloc[0],
                "time": latest["time"].iloc[0].isoformat(),
                "magnitude": float(latest["magnitude"].iloc[0]),
                "place": latest["place"].iloc[0],
            },
            "forecast": fc.to_dict(orient="records"),
            "alert": {
                "active": active,
                "probability": p,
                "threshold": self.threshold,
                "magnitude": self.alert_magnitude,
                "days": self.alert_days,
            },
        }
        write_text_atomic(self.directory / "forecast.json", json.dumps(doc, indent=2, default=str) + "\n")
        self._publish("forecasts", "short-term", doc["time_utc"], doc)

    def _publish(self, stream: str, key: str, version: str, payload: dict) -> None:
        """Publish one message to the bus (nothing without a bus); a bus failure is logged, not raised."""
        if self.bus is None:
            return
        from quakelab.realtime.bus import BusError

        try:
            self.bus.publish(stream, key, version, payload)
        except BusError as e:
            self.bus_failures += 1
            log.warning("bus: publishing to %s failed (%s)", stream, e)

    def _alert_payload(self, p: float, active: bool) -> dict:
        return {
            "active": active,
            "probability": p,
            "threshold": self.threshold,
            "magnitude": self.alert_magnitude,
            "days": self.alert_days,
            "time_utc": self.now().isoformat(),
        }

    def _unpublished(self) -> list:
        """Outbox messages of the store's checkpoint not yet published (``bus_cursor.json`` lags)."""
        seq = int(self.store.checkpoint.get("bus_outbox_seq", 0))
        cursor = self.directory / "bus_cursor.json"
        done = json.loads(cursor.read_text()).get("seq") if cursor.exists() else 0
        return [] if done == seq else list(self.store.checkpoint.get("bus_outbox", []))

    def _outbox(self, changes: list, alert: dict | None) -> dict:
        """Checkpoint entries holding what this batch must publish plus what is still unpublished."""
        if self.bus is None:
            return {}
        from quakelab.realtime.bus import change_messages

        new = [list(m) for m in change_messages(changes)]
        if alert is not None:
            new.append(["alerts", "alert", alert["time_utc"], alert])
        seq = int(self.store.checkpoint.get("bus_outbox_seq", 0)) + 1
        return {"bus_outbox": self._unpublished() + new, "bus_outbox_seq": seq}

    def _flush_outbox(self) -> None:
        """Publish the committed outbox, then advance ``bus_cursor.json``; on failure keep it for later."""
        if self.bus is None:
            return
        from quakelab.realtime.bus import BusError

        pending = self._unpublished()
        try:
            if hasattr(self.bus, "publish_many"):
                self.bus.publish_many(pending)
            else:
                for m in pending:
                    self.bus.publish(*m)
        except BusError as e:
            self.bus_failures += 1
            log.warning("bus: %d change(s) not published, kept for the next poll (%s)", len(pending), e)
            return
        seq = int(self.store.checkpoint.get("bus_outbox_seq", 0))
        write_text_atomic(
            self.directory / "bus_cursor.json", json.dumps({"seq": seq, "published": len(pending)}) + "\n"
        )

    def _alert(self, p: float, active: bool) -> None:
        state = "ALERT" if active else "ALERT CLEARED"
        line = (
            f"{state} {self.now().isoformat()} P(M>={self.alert_magnitude:g} within {self.alert_days:g} d) = "
            f"{p:.3f} {'>=' if active else '<'} threshold {self.threshold:g}"
        )
        log.warning(line)
        self.echo(line)
        with open(self.directory / "alerts.log", "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def next_delay(self, last: PollResult) -> float:
        """Seconds to wait before the next poll: the interval, or exponential back-off after failures."""
        if last.ok:
            return self.interval_s
        return min(self.max_backoff_s, 2.0 ** (self.failures - 1))

    def run(self, max_polls: int | None = None, sleep=_time.sleep) -> list[PollResult]:
        """Poll until ``max_polls`` polls were made (forever when None)."""
        results = []
        while max_polls is None or len(results) < max_polls:
            r = self.poll_once()
            results.append(r)
            if max_polls is not None and len(results) >= max_polls:
                break
            sleep(self.next_delay(r))
        return results
