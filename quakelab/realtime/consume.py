"""Consumers of the bus that keep a downstream copy in sync (CLI: ``quakelab consume``).

A consumer takes messages from its group, applies them to a *target* and acknowledges them only after the
target committed their effect. Delivery is at least once, so targets are idempotent, keyed by
``(key, version)``:

:class:`StoreTarget`
    A second :class:`~quakelab.realtime.store.EventStore` (``events`` and ``deletions``). Upserts keep the
    newest version of each event, deletions leave tombstones, so a repeated or late older message changes
    nothing. Each batch is committed in one atomic write together with the consumer's bookkeeping: the
    ids of the batch (a batch committed and not acknowledged when the consumer died comes back pending
    after the restart and is recognised and skipped) and counters of the messages applied
    (``n_messages``: applied, ``n_skipped``: recognised as already applied, ``n_effects``: changes made).
:class:`WebhookTarget`
    POSTs each message (its JSON envelope) to a URL with an ``Idempotency-Key: <stream>:<key>:<version>``
    header, skipping versions not newer than those already delivered (kept in a small state file written
    atomically after each batch). A message is acknowledged after the receiver answered 2xx.

Run one consumer per store target (the target is its group's downstream copy); several consumers of one
group share the messages between them, which suits a webhook.
"""

from __future__ import annotations

import json
import logging
import os
import time as _time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from quakelab.catalog.store import write_text_atomic
from quakelab.realtime.bus import BusError, Consumer, Message

log = logging.getLogger("quakelab.consume")


class TargetError(RuntimeError):
    """The target could not take a batch (it stays pending and is retried)."""


@dataclass
class ConsumeStats:
    """What a :func:`run_consumer` call did."""

    batches: int = 0
    messages: int = 0
    reclaimed: int = 0
    failures: int = 0
    errors: list = field(default_factory=list)


class StoreTarget:
    """Keep an :class:`EventStore` in ``directory`` equal to the monitor's store (streams ``events``,
    ``deletions``).

    Parameters
    ----------
    directory : path-like
        The downstream store (created when missing).
    """

    streams = ("events", "deletions")

    def __init__(self, directory: str | os.PathLike) -> None:
        from quakelab.realtime.store import EventStore

        self.store = EventStore(directory)

    @property
    def bookkeeping(self) -> dict:
        """The consumer's section of the store checkpoint: ``last_batch``, ``n_messages``, ``n_skipped``,
        ``n_effects``, ``n_batches``."""
        return dict(self.store.checkpoint.get("consumer", {}))

    def process(self, messages: list[Message]) -> dict:
        """Apply a batch and commit it (with its ids) in one atomic write; return the bookkeeping."""
        from quakelab.realtime.feeds import FEED_COLUMNS, FeedBatch

        ck = self.bookkeeping
        done = set(ck.get("last_batch", []))
        fresh = [m for m in messages if f"{m.stream}/{m.id}" not in done and m.stream in self.streams]
        rows, gone = [], []
        for m in fresh:
            if m.stream == "events":
                missing = [c for c in FEED_COLUMNS if c not in m.payload]
                if missing:
                    raise TargetError(f"stream events, entry {m.id} ({m.key}): payload lacks {missing}")
                rows.append({c: m.payload[c] for c in FEED_COLUMNS})
            else:
                gone.append({"event_id": m.key, "updated": pd.Timestamp(m.version)})
        events = pd.DataFrame(rows, columns=FEED_COLUMNS)
        for c in ("time", "updated"):
            events[c] = pd.to_datetime(events[c], utc=True, format="ISO8601")
        for c in ("latitude", "longitude", "depth_km", "magnitude"):
            events[c] = events[c].astype(float)
        deleted = pd.DataFrame(gone, columns=["event_id", "updated"])
        deleted["updated"] = pd.to_datetime(deleted["updated"], utc=True)
        res = self.store.apply(FeedBatch(events, deleted, source="bus"))
        ck.update(
            last_batch=[f"{m.stream}/{m.id}" for m in messages],
            n_messages=int(ck.get("n_messages", 0)) + len(fresh),
            n_skipped=int(ck.get("n_skipped", 0)) + len(messages) - len(fresh),
            n_effects=int(ck.get("n_effects", 0)) + res.inserted + res.updated + res.deleted,
            n_batches=int(ck.get("n_batches", 0)) + 1,
        )
        self.store.commit(consumer=ck)
        return ck


def _version_key(version: str):
    try:
        return (0, pd.Timestamp(version).value, "")
    except (ValueError, TypeError):
        return (1, 0, version)


class WebhookTarget:
    """POST each message to ``url``; remember delivered versions in ``<state_dir>/webhook_state.json``.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` endpoint; any 2xx answer is a delivery.
    state_dir : path-like
        Where the delivered versions are kept.
    timeout_s : float, default 10
    headers : dict, optional
        Extra request headers (e.g. ``Authorization``).
    """

    def __init__(
        self,
        url: str,
        state_dir: str | os.PathLike,
        *,
        timeout_s: float = 10.0,
        headers: dict | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL {url!r}: expected http:// or https://")
        self.url, self.timeout_s = url, float(timeout_s)
        self.headers = dict(headers or {})
        self.state_path = Path(state_dir) / "webhook_state.json"
        self.state = (
            json.loads(self.state_path.read_text())
            if self.state_path.exists()
            else {"url": url, "versions": {}, "n_posted": 0, "n_skipped": 0}
        )

    @staticmethod
    def _slot(m: Message) -> str:
        return ("event:" if m.stream in ("events", "deletions") else m.stream + ":") + m.key

    def _is_new(self, m: Message) -> bool:
        cur = self.state["versions"].get(self._slot(m))
        if cur is None:
            return True
        old_version, old_stream = cur
        a, b = _version_key(m.version), _version_key(old_version)
        if a != b:
            return a > b
        return m.stream == "deletions" and old_stream != "deletions"  # a deletion at the same time wins

    def process(self, messages: list[Message]) -> dict:
        """POST the newest version of each key in the batch, in version order (older ones are skipped);
        the state is saved even when a POST fails midway."""
        order = sorted(messages, key=lambda m: (_version_key(m.version), m.stream == "deletions"))
        newest = {self._slot(m): m for m in order}
        try:
            for m in order:
                if newest[self._slot(m)] is not m or not self._is_new(m):
                    self.state["n_skipped"] += 1
                    continue
                self._post(m)
                self.state["versions"][self._slot(m)] = [m.version, m.stream]
                self.state["n_posted"] += 1
        finally:
            write_text_atomic(self.state_path, json.dumps(self.state) + "\n")
        return self.state

    def _post(self, m: Message) -> None:
        body = json.dumps(m.envelope()).encode()
        req = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": f"{m.stream}:{m.key}:{m.version}",
                **self.headers,
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                r.read()
        except urllib.error.HTTPError as e:
            raise TargetError(f"webhook {self.url}: HTTP {e.code} for {m.stream} {m.key}") from e
        except (urllib.error.URLError, OSError) as e:
            raise TargetError(f"webhook {self.url}: {e} (for {m.stream} {m.key})") from e


def run_consumer(
    consumer: Consumer,
    target,
    *,
    batch: int = 100,
    block_ms: int = 1000,
    claim_idle_s: float | None = None,
    claim_every_s: float = 30.0,
    exit_when_idle_s: float | None = None,
    max_backoff_s: float = 60.0,
    sleep=_time.sleep,
) -> ConsumeStats:
    """Consume until interrupted (or idle for ``exit_when_idle_s``): pending first, then reclaimed, then new.

    On start the consumer's own pending messages (delivered before a crash, maybe applied) are processed,
    then messages of dead members of the group idle for ``claim_idle_s`` (``XAUTOCLAIM``; again every
    ``claim_every_s``), then new ones. Each batch is acknowledged after ``target.process`` returned; when it
    raises :class:`TargetError`, or the bus fails (:class:`~quakelab.realtime.bus.BusError`, e.g. Redis
    restarting), the batch stays pending and is retried after a back-off (1, 2, 4, ... s, at most
    ``max_backoff_s``).

    Parameters
    ----------
    consumer : Consumer
        From ``bus.consumer(group, streams)``.
    target : StoreTarget or WebhookTarget
        Anything with ``process(messages)``.
    batch : int
        Messages read per stream and call.
    exit_when_idle_s : float, optional
        Return once nothing was pending or new for this long (default: run until interrupted).

    Returns
    -------
    ConsumeStats
    """
    stats = ConsumeStats()
    last_claim = -float("inf")
    idle_since = _time.monotonic()
    failures = 0
    while True:
        msgs: list[Message] = []
        try:
            msgs = consumer.pending(batch)
            if not msgs and _time.monotonic() - last_claim >= claim_every_s:
                last_claim = _time.monotonic()
                msgs = consumer.reclaim(claim_idle_s, batch)
                stats.reclaimed += len(msgs)
                if msgs:
                    log.info("reclaimed %d message(s) left pending by another consumer", len(msgs))
            if not msgs:
                msgs = consumer.read(batch, block_ms)
            if not msgs:
                if exit_when_idle_s is not None and _time.monotonic() - idle_since >= exit_when_idle_s:
                    return stats
                continue
            idle_since = _time.monotonic()
            target.process(msgs)
            consumer.ack(msgs)
        except (TargetError, BusError) as e:
            failures += 1
            stats.failures += 1
            stats.errors.append(str(e))
            delay = min(max_backoff_s, 2.0 ** (failures - 1))
            log.warning("%s; %d message(s) stay pending, retry in %g s", e, len(msgs), delay)
            sleep(delay)
            continue
        failures = 0
        stats.batches += 1
        stats.messages += len(msgs)
