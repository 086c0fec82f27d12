"""Prometheus metrics of the monitor: feed lag, poll duration, batch size, failures, freshness, alert state.

The monitor keeps its own :class:`prometheus_client.CollectorRegistry`; it can serve it on
``127.0.0.1:<port>`` (``quakelab monitor --metrics-port``) and writes it after each poll to
``<store>/metrics.prom`` (text exposition format), which ``quakelab serve`` adds to its ``/metrics``. The
file holds absolute times (``*_timestamp_seconds``) so that it stays true however late it is read; the
live endpoint also computes the ages (``*_age_seconds``, ``seconds_since_last_success``) at scrape time.
"""

from __future__ import annotations

import os
import re
import time

#: Failure kinds counted by ``quakelab_monitor_failures_total{kind=...}``.
FAILURE_KINDS = ("http", "timeout", "connection", "malformed", "forecast", "product")


def failure_kind(message: str, malformed: bool = False) -> str:
    """Classify a failed poll from its error.

    Examples
    --------
    >>> failure_kind("http://x: HTTP 500 Internal Server Error")
    'http'
    >>> failure_kind("http://x: timed out")
    'timeout'
    >>> failure_kind("http://x: [Errno 111] Connection refused")
    'connection'
    """
    if malformed:
        return "malformed"
    if re.search(r"HTTP \d{3}", message):
        return "http"
    if "timed out" in message.lower() or "timeout" in message.lower():
        return "timeout"
    return "connection"


class MonitorMetrics:
    """The monitor's metrics in their own registry (no global state: several monitors may run in a process).

    Parameters
    ----------
    clock : callable, optional
        Wall-clock seconds (default :func:`time.time`).
    """

    def __init__(self, clock=time.time) -> None:
        from quakelab._optional import require

        require("prometheus_client", purpose="the monitor's metrics", load=False)
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.clock = clock
        self.registry = r = CollectorRegistry()
        self.last_success = float("nan")
        self.forecast_time = float("nan")
        self.feed_lag = Gauge(
            "quakelab_monitor_feed_lag_seconds",
            "Wall-clock time of the last successful poll minus the newest 'updated' time the feed has given",
            registry=r,
        )
        self.poll_duration = Histogram(
            "quakelab_monitor_poll_duration_seconds",
            "Duration of a poll (fetch, apply, commit, forecasts, products)",
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.batch_size = Gauge(
            "quakelab_monitor_batch_size",
            "Events and deletions received in the last successful poll",
            registry=r,
        )
        self.batch_sizes = Histogram(
            "quakelab_monitor_batch_events",
            "Events and deletions received per successful poll",
            registry=r,
            buckets=(0, 1, 10, 100, 1000, 10000),
        )
        self.polls = Counter("quakelab_monitor_polls", "Polls made", ["outcome"], registry=r)
        self.failures = Counter("quakelab_monitor_failures", "Failures by kind", ["kind"], registry=r)
        for k in FAILURE_KINDS:
            self.failures.labels(k)
        self.events = Gauge("quakelab_monitor_store_events", "Events in the store", registry=r)
        self.last_success_ts = Gauge(
            "quakelab_monitor_last_success_timestamp_seconds",
            "Unix time of the last successful poll",
            registry=r,
        )
        self.since_success = Gauge(
            "quakelab_monitor_seconds_since_last_success",
            "Seconds since the last successful poll (NaN before the first)",
            registry=r,
        )
        self.since_success.set_function(lambda: self.clock() - self.last_success)
        self.forecast_ts = Gauge(
            "quakelab_monitor_forecast_timestamp_seconds", "Unix time forecast.json was written", registry=r
        )
        self.forecast_age = Gauge(
            "quakelab_monitor_forecast_age_seconds", "Seconds since forecast.json was written", registry=r
        )
        self.forecast_age.set_function(lambda: self.clock() - self.forecast_time)
        self.forecast_fallback = Gauge(
            "quakelab_monitor_forecast_fallback",
            "1 when the forecast fell back to the generic Reasenberg-Jones rates (no stored model covers the region)",
            registry=r,
        )
        self.alert_active = Gauge("quakelab_monitor_alert_active", "1 while the alert is on", registry=r)
        self.alert_probability = Gauge(
            "quakelab_monitor_alert_probability",
            "The probability the alert compares with its threshold",
            registry=r,
        )
        self.products = Counter("quakelab_monitor_products", "Aftershock products issued", registry=r)
        self._server = None

    # ------------------------------------------------------------------ updates
    def poll_failed(self, kind: str, seconds: float) -> None:
        """Count a failed poll."""
        self.polls.labels("failure").inc()
        self.failures.labels(kind).inc()
        self.poll_duration.observe(seconds)

    def poll_succeeded(
        self, n_received: int, seconds: float, newest_updated_s: float | None, n_events: int
    ) -> None:
        """Record a successful poll (``newest_updated_s``: the checkpoint's Unix time)."""
        now = self.clock()
        self.polls.labels("success").inc()
        self.poll_duration.observe(seconds)
        self.batch_size.set(n_received)
        self.batch_sizes.observe(n_received)
        self.last_success = now
        self.last_success_ts.set(now)
        self.events.set(n_events)
        if newest_updated_s is not None:
            self.feed_lag.set(now - newest_updated_s)

    def forecast_written(self, fallback: bool, active: bool, probability: float) -> None:
        """Record a new forecast and the alert state."""
        self.forecast_time = self.clock()
        self.forecast_ts.set(self.forecast_time)
        self.forecast_fallback.set(1.0 if fallback else 0.0)
        self.alert_active.set(1.0 if active else 0.0)
        self.alert_probability.set(probability)

    # ------------------------------------------------------------------ exposition
    def text(self, *, file: bool = False) -> str:
        """The registry in the text exposition format (``file=True``: without the scrape-time ages)."""
        from prometheus_client import generate_latest

        body = generate_latest(self.registry).decode()
        if not file:
            return body
        drop = ("quakelab_monitor_seconds_since_last_success", "quakelab_monitor_forecast_age_seconds")
        return "".join(line + "\n" for line in body.splitlines() if not any(d in line for d in drop))

    def write(self, path: str | os.PathLike) -> None:
        """Write :meth:`text` (``file=True``) atomically, for ``quakelab serve`` to include."""
        from quakelab.catalog.store import write_text_atomic

        write_text_atomic(path, self.text(file=True))

    def serve(self, port: int, addr: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``addr:port`` in a daemon thread; returns the bound port (0 picks one)."""
        from prometheus_client import start_http_server

        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        self._server = server
        return int(server.server_address[1])

    def close(self) -> None:
        """Stop the HTTP endpoint if one was started."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
