"""The monitoring loop: poll, upsert, commit, forecast, alert — and survive a misbehaving feed.

After each batch the monitor writes ``forecast.json`` (an ETAS forecast from the stored fitted model whose
region contains the events, or the generic Reasenberg–Jones rates when no stored model covers them, saying
why), issues the aftershock forecast product (:mod:`quakelab.aftershock`) of every new event at or above
``product_magnitude`` to ``products/<event_id>.json`` and re-issues it when its sequence changes, updates its
Prometheus metrics (:mod:`quakelab.realtime.metrics`) and ``status.json`` (wall-clock times of the last poll
attempt and success, read by the live dashboard to tell a stopped monitor from a quiet feed).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from quakelab.catalog.store import write_text_atomic
from quakelab.realtime.feeds import FeedError, MalformedFeedError
from quakelab.realtime.forecast import short_term_forecast
from quakelab.realtime.store import EventStore

log = logging.getLogger("quakelab.monitor")

#: What ``forecast.json`` says its model is when it falls back to the generic rates.
RJ_FALLBACK_MODEL = "Reasenberg-Jones generic California, superposed"
#: Mainshocks are followed (their product re-issued when the sequence changes) for this long.
PRODUCT_FOLLOW_DAYS = 365.0


def product_filename(event_id: str) -> str:
    """File name of an event's product (characters other than letters, digits, ``_.:-`` become ``_``).

    Examples
    --------
    >>> product_filename("ci38457511")
    'ci38457511.json'
    >>> product_filename("../x y")
    '_.._x_y.json'
    """
    name = re.sub(r"[^A-Za-z0-9_.:-]", "_", str(event_id)) or "_"
    return ("_" + name if name.startswith(".") else name) + ".json"


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
    model: str | None = None
    fallback_reason: str | None = None
    products: list[str] = field(default_factory=list)


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
    echo : callable or None, default print
        Where alert lines (and a line when the forecast model changes) go, besides ``alerts.log``. When
        None they go to the log (logger ``quakelab.monitor``) instead: each line is written once.
    model_root : path-like, optional
        Store of fitted ETAS models (:mod:`quakelab.service.models`, e.g. ``data/models/etas``); None: the
        generic Reasenberg–Jones rates only.
    n_simulations : int, default 200
        Simulation budget of the regional ETAS forecast (and of the products' ETAS numbers).
    seed : int, optional
        Seed of the simulations (default 0: a forecast is reproducible from the store).
    product_magnitude : float, optional
        Issue the aftershock product for every new event at or above this magnitude (None, the default of
        the class: no products; ``quakelab monitor`` uses 5.0).
    product_models : tuple of str
        Models of the product (``rj_generic, rj_sequence, rj_bayesian, etas``; ETAS numbers come from the
        stored regional model covering the mainshock and are omitted, with a note, when none covers it).
    product_simulations : int, optional
        ETAS simulations per product (default ``n_simulations``).
    metrics : bool, optional
        Keep Prometheus metrics (needs ``prometheus-client``) and write ``metrics.prom`` after each poll
        (default: when ``prometheus-client`` is installed).
    metrics_port : int, optional
        Also serve them on ``127.0.0.1:metrics_port/metrics`` (0 picks a free port; see ``metrics_url``).
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
        model_root: str | os.PathLike | None = None,
        n_simulations: int = 200,
        seed: int | None = 0,
        product_magnitude: float | None = None,
        product_models: tuple[str, ...] = ("rj_generic", "rj_sequence", "rj_bayesian", "etas"),
        product_simulations: int | None = None,
        metrics: bool | None = None,
        metrics_port: int | None = None,
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
        self.model_root = Path(model_root) if model_root is not None else None
        self._model_store = None
        self.n_simulations, self.seed = int(n_simulations), seed
        self.product_magnitude = None if product_magnitude is None else float(product_magnitude)
        self.product_models = tuple(product_models)
        self.product_simulations = int(product_simulations or n_simulations)
        self.products_dir = self.directory / "products"
        self._last_model: str | None = None
        self.last_success_wall: float | None = None
        self.metrics = None
        self.metrics_url: str | None = None
        if metrics is None:
            import importlib.util

            metrics = importlib.util.find_spec("prometheus_client") is not None
        if metrics or metrics_port is not None:
            from quakelab.realtime.metrics import MonitorMetrics

            self.metrics = MonitorMetrics()
            if metrics_port is not None:
                port = self.metrics.serve(int(metrics_port))
                self.metrics_url = f"http://127.0.0.1:{port}/metrics"

    def close(self) -> None:
        """Stop the metrics endpoint, if one was started."""
        if self.metrics is not None:
            self.metrics.close()

    def poll_once(self) -> PollResult:
        """One poll: fetch, apply, forecast, products, commit. Errors are logged and returned, never raised."""
        t0 = _time.perf_counter()
        since = self.store.updated_after
        try:
            batch = self.feed.fetch(since - self.overlap if since is not None else None)
        except FeedError as e:
            from quakelab.realtime.metrics import failure_kind

            self.failures += 1
            malformed = isinstance(e, MalformedFeedError)
            if malformed:
                log.warning("malformed feed response (batch skipped, checkpoint kept): %s", e)
            else:
                log.warning("feed error (will retry): %s", e)
            res = PollResult(
                ok=False, error=f"malformed: {e}" if malformed else str(e), seconds=_time.perf_counter() - t0
            )
            if self.metrics is not None:
                self.metrics.poll_failed(failure_kind(str(e), malformed), res.seconds)
            self._write_status(res)
            return res
        self.failures = 0
        now = self.now()
        before = self.store.events[["event_id", "time", "latitude", "longitude", "magnitude", "updated"]]
        res = self.store.apply(batch)
        n_polls = int(self.store.checkpoint.get("n_polls", 0)) + 1
        durations = tuple(sorted({self.alert_days, 7.0, 30.0}))
        fc, info = self._forecast(now, durations)
        p = float(
            fc.loc[
                (fc["duration_days"] == self.alert_days) & np.isclose(fc["magnitude"], self.alert_magnitude),
                "probability",
            ].iloc[0]
        )
        was = bool(self.store.checkpoint.get("alert_active", False))
        active = p >= self.threshold
        issued, followed = self._products(now, before)
        self.store.commit(
            n_polls=n_polls,
            n_batches=int(self.store.checkpoint.get("n_batches", 0)) + 1,
            last_poll=now.isoformat(),
            alert_active=active,
            products=followed,
            **self._outbox(res.changes, None if active == was else self._alert_payload(p, active)),
        )
        self._flush_outbox()
        doc = self._write_forecast(fc, p, active, info, now)
        changed = active != was
        if changed:
            self._alert(p, active)
        if info["label"] != self._last_model:
            self._say(
                f"forecast model: {info['label']}"
                + (f" (fallback: {info['fallback_reason']})" if info["fallback_reason"] else "")
            )
            self._last_model = info["label"]
        n_received = len(batch.events) + len(batch.deleted)
        log.info(
            "poll %d: %d received, %d new, %d revised, %d deleted, %d ignored; P=%.3f (%s); %d product(s)",
            n_polls,
            n_received,
            res.inserted,
            res.updated,
            res.deleted,
            res.ignored,
            p,
            info["model"] or "RJ fallback",
            len(issued),
        )
        out = PollResult(
            ok=True,
            n_received=n_received,
            inserted=res.inserted,
            updated=res.updated,
            deleted=res.deleted,
            ignored=res.ignored,
            seconds=_time.perf_counter() - t0,
            probability=p,
            alert_changed=changed,
            model=info["model"],
            fallback_reason=info["fallback_reason"],
            products=issued,
        )
        self.last_success_wall = _time.time()
        if self.metrics is not None:
            ua = self.store.updated_after
            self.metrics.poll_succeeded(
                n_received, out.seconds, ua.timestamp() if ua is not None else None, len(self.store.events)
            )
            self.metrics.forecast_written(info["fallback_reason"] is not None, active, p)
            try:
                self.metrics.write(self.directory / "metrics.prom")
            except OSError as e:  # metrics must never stop the monitor
                log.warning("could not write metrics.prom: %s", e)
        self._write_status(out)
        self._publish("forecasts", "regional", doc["time_utc"], doc)
        return out

    # ------------------------------------------------------------------ forecast
    def _forecast(self, now: pd.Timestamp, durations: tuple[float, ...]) -> tuple[pd.DataFrame, dict]:
        """The regional ETAS forecast, or the generic RJ rates with the reason for falling back."""
        from quakelab.realtime.regional import regional_forecast

        mags = tuple(sorted({self.alert_magnitude, 5.0}))
        table, info = None, {"model": None, "fallback_reason": "no model store configured"}
        if self.model_root is not None:
            try:
                if self._model_store is None:
                    from quakelab.service.models import ModelStore

                    if self.model_root.is_dir():
                        self._model_store = ModelStore(self.model_root)
                store = self._model_store if self._model_store is not None else self.model_root
                table, info = regional_forecast(
                    self.store.events,
                    now,
                    store,
                    magnitudes=mags,
                    durations_days=durations,
                    n_simulations=self.n_simulations,
                    seed=self.seed,
                )
            except Exception as exc:  # a broken model must not stop the monitor: fall back, and say so
                log.warning("regional ETAS forecast failed, falling back to the generic rates: %s", exc)
                if self.metrics is not None:
                    self.metrics.failures.labels("forecast").inc()
                table = None
                info = {
                    "model": None,
                    "fallback_reason": f"the ETAS forecast failed ({type(exc).__name__}: {str(exc)[:200]})",
                }
        if table is None:
            table = short_term_forecast(self.store.events, now, magnitudes=mags, durations_days=durations)
            info["label"] = RJ_FALLBACK_MODEL
        else:
            info["label"] = (
                f"ETAS, stored regional model {info['model']} ({info['n_simulations']} simulations)"
            )
        return table, info

    def _write_forecast(self, fc: pd.DataFrame, p: float, active: bool, info: dict, now) -> dict:
        ev = self.store.events
        latest = ev.sort_values("time").tail(1)
        doc = {
            "time_utc": now.isoformat(),
            "model": info["label"],
            "model_name": info.get("model"),
            "fallback_reason": info.get("fallback_reason"),
            "model_info": {k: v for k, v in info.items() if k not in ("label", "fallback_reason")},
            "n_events": int(len(ev)),
            "latest_event": None
            if latest.empty
            else {
                "event_id": latest["event_id"].iloc[0],
                "time": latest["time"].iloc[0].isoformat(),
                "magnitude": float(latest["magnitude"].iloc[0]),
                "place": latest["place"].iloc[0],
            },
            "forecast": json.loads(fc.to_json(orient="records")),
            "alert": {
                "active": active,
                "probability": p,
                "threshold": self.threshold,
                "magnitude": self.alert_magnitude,
                "days": self.alert_days,
            },
        }
        write_text_atomic(self.directory / "forecast.json", json.dumps(doc, indent=2, default=str) + "\n")
        return doc

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

    # ------------------------------------------------------------------ products
    def _products(self, now: pd.Timestamp, before: pd.DataFrame) -> tuple[list[str], dict]:
        """Issue products for new events >= ``product_magnitude`` and re-issue those whose sequence changed.

        Returns the ids issued in this batch and the followed mainshocks (id -> issue time, for the checkpoint).
        """
        followed = dict(self.store.checkpoint.get("products", {}))
        if self.product_magnitude is None:
            return [], followed
        from quakelab.aftershock import search_radius_km
        from quakelab.region import haversine_km

        ev = self.store.events
        after = ev[["event_id", "time", "latitude", "longitude", "magnitude", "updated"]]
        merged = before.merge(after, on="event_id", how="outer", suffixes=("_old", ""), indicator=True)
        changed = merged[(merged["_merge"] != "both") | (merged["updated_old"] != merged["updated"])]
        # where a change happened: the new version, or the old one of a deleted event
        ch_time = changed["time"].fillna(changed["time_old"])
        ch_lat = changed["latitude"].fillna(changed["latitude_old"]).to_numpy(float)
        ch_lon = changed["longitude"].fillna(changed["longitude_old"]).to_numpy(float)
        horizon = now - pd.Timedelta(days=PRODUCT_FOLLOW_DAYS)
        cands = ev[
            (ev["magnitude"] >= self.product_magnitude - 1e-9) & (ev["time"] < now) & (ev["time"] >= horizon)
        ]
        issued = []
        for r in cands.itertuples(index=False):
            eid = str(r.event_id)
            if eid in followed:
                near = haversine_km(ch_lat, ch_lon, r.latitude, r.longitude) <= search_radius_km(r.magnitude)
                if not np.any(near & (ch_time >= r.time).to_numpy()):
                    continue  # nothing changed in its sequence: the product stands
            try:
                doc = self._issue_product(eid, now)
            except Exception as exc:  # a product must not stop the monitor
                log.warning("aftershock product for %s failed: %s", eid, exc)
                if self.metrics is not None:
                    self.metrics.failures.labels("product").inc()
                continue
            followed[eid] = now.isoformat()
            issued.append(eid)
            self._publish("products", eid, now.isoformat(), doc)
        # stop following mainshocks older than the longest window, and deleted ones
        alive = set(ev["event_id"].astype(str))
        followed = {
            k: v
            for k, v in followed.items()
            if k in alive and ev.loc[ev["event_id"] == k, "time"].iloc[0] >= horizon
        }
        if issued and self.metrics is not None:
            self.metrics.products.inc(len(issued))
        return issued, followed

    def _issue_product(self, event_id: str, now: pd.Timestamp) -> dict:
        """Compute and write ``products/<event_id>.json`` (atomically); returns the document."""
        from quakelab.aftershock import Mainshock, aftershock_forecast

        ev = self.store.events
        ms = Mainshock.from_catalog(ev, event_id)
        etas_model, models, note = None, list(self.product_models), None
        if "etas" in models:
            etas_model, note = self._product_etas_model(ms)
            if etas_model is None:
                models.remove("etas")
        fc = aftershock_forecast(
            ms,
            ev[ev["time"] < now],
            now,
            models=models,
            etas_model=etas_model,
            etas_fit=False,
            n_simulations=self.product_simulations,
            max_simulations=max(5000, self.product_simulations),
            seed=self.seed,
        )
        fc.creation_time = now
        if note:
            fc.notes.append(note)
        doc = fc.to_dict()
        doc["issuedBy"] = "quakelab monitor"
        self.products_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(
            self.products_dir / product_filename(event_id), json.dumps(doc, indent=2, allow_nan=False) + "\n"
        )
        return doc

    def _product_etas_model(self, ms) -> tuple[object | None, str]:
        """The stored model whose region contains the mainshock, or None and a note saying so."""
        if self.model_root is None:
            return None, "ETAS omitted: no model store configured"
        from quakelab.realtime.regional import choose_model, covering_models

        store = self._model_store if self._model_store is not None else self.model_root
        models, _ = covering_models(store)
        chosen, why = choose_model(models, np.array([ms.longitude]), np.array([ms.latitude]), min_share=1.0)
        if chosen is None:
            return None, f"ETAS omitted: {why}"
        return chosen.model, f"ETAS numbers from the stored regional model {chosen.name!r}"

    # ------------------------------------------------------------------ status and alerts
    def _write_status(self, last: PollResult) -> None:
        """``status.json``: wall-clock times of the last attempt and success (the dashboard's liveness test)."""
        doc = {
            "pid": os.getpid(),
            "interval_s": self.interval_s,
            "last_attempt": pd.Timestamp.now(tz="UTC").isoformat(),
            "last_attempt_ok": bool(last.ok),
            "last_success": pd.Timestamp(self.last_success_wall, unit="s", tz="UTC").isoformat()
            if self.last_success_wall is not None
            else None,
            "consecutive_failures": self.failures,
            "last_error": last.error or None,
        }
        try:
            write_text_atomic(self.directory / "status.json", json.dumps(doc, indent=2) + "\n")
        except OSError as e:
            log.warning("could not write status.json: %s", e)

    def _say(self, line: str) -> None:
        if self.echo is None:
            log.warning(line)
        else:
            self.echo(line)

    def _alert(self, p: float, active: bool) -> None:
        state = "ALERT" if active else "ALERT CLEARED"
        line = (
            f"{state} {self.now().isoformat()} P(M>={self.alert_magnitude:g} within {self.alert_days:g} d) = "
            f"{p:.3f} {'>=' if active else '<'} threshold {self.threshold:g}"
        )
        self._say(line)  # once: to the console when there is one, else to the log
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
