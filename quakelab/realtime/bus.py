"""A message bus between the monitor and its consumers: Redis Streams, or Kafka where a broker exists.

The monitor publishes what changed in its store; consumers keep downstream copies in sync. The Parquet
store stays the record of truth: the bus carries changes, and ``quakelab bus replay`` republishes the
store's current state whenever a consumer has to be rebuilt.

Streams
-------
``events``
    Every upserted event (key: event id, version: its ``updated`` time, payload: the store's row).
``deletions``
    Every deletion (key: event id, version: the deletion's ``updated`` time).
``forecasts``
    Every forecast the monitor writes (key: the forecast's name, version: its issue time).
``alerts``
    Every alert state change (key: ``"alert"``, version: the time of the change).
``products``
    Aftershock forecast products (key: the mainshock's id, version: the product's issue time).

Messages
--------
Each message is one JSON document, the *envelope*::

    {"schema": "quakelab.bus/1.0", "stream": "events", "key": "ci38457511",
     "version": "2019-07-06T03:52:10.125000+00:00", "published_utc": "...", "payload": {...}}

``schema`` changes its major number only when a consumer of the previous one could misread a message.
Delivery is at least once: a consumer sees a message again when it died before acknowledging it, and a
replay sends everything again. Consumers are therefore idempotent, keyed by ``(key, version)``: a version
older than or equal to the one already applied has no effect.

Redis Streams (:class:`RedisBus`)
---------------------------------
One stream per name (``<prefix><name>``, prefix ``quakelab:``). ``XADD`` with ``MAXLEN ~ maxlen``: Redis
trims a stream to about ``maxlen`` entries (whole macro nodes, so slightly more are kept), which bounds its
memory (an event message is about 0.5 kB, so 100 000 entries take some 50-80 MB). A consumer that falls
more than ``maxlen`` entries behind loses the trimmed entries; it recovers with a replay from the store.
Consumer groups (``XGROUP CREATE ... MKSTREAM``) give each downstream copy its own cursor; ``XREADGROUP``
delivers, ``XACK`` is sent only after the consumer committed its effect, and ``XAUTOCLAIM`` hands the
entries another consumer of the group left pending longer than ``claim_idle_s`` (it died) to a live one.

Kafka (:class:`KafkaBus`)
-------------------------
The same interface over confluent-kafka (extra ``kafka``): a topic per stream, the key as the Kafka key
(one partition per key keeps an event's versions in order), manual offset commits as the acknowledgement,
and the group rebalance in place of ``XAUTOCLAIM``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pandas as pd

log = logging.getLogger("quakelab.bus")

#: Schema of the message envelope.
SCHEMA = "quakelab.bus/1.0"
#: The streams the monitor and its companions publish to.
STREAMS = ("events", "deletions", "forecasts", "alerts", "products")


class BusError(RuntimeError):
    """The bus could not be reached or refused an operation (the message says which and where)."""


class MessageError(BusError):
    """A message on the bus is not a valid envelope (the message names the stream and entry id)."""


@dataclass(frozen=True)
class Message:
    """One message as a consumer receives it.

    Attributes
    ----------
    stream : str
        Stream name (one of :data:`STREAMS`), without the bus's prefix.
    id : str
        The broker's id of the entry (Redis: ``<ms>-<seq>``; Kafka: ``<partition>:<offset>``).
    key, version : str
        What the message is about and which version of it (an ISO 8601 UTC time for the monitor's streams).
    payload : dict
        The content.
    schema : str
        The envelope's schema.
    """

    stream: str
    id: str
    key: str
    version: str
    payload: dict
    schema: str = SCHEMA

    def envelope(self) -> dict:
        """The JSON document as published (without ``published_utc``)."""
        return {
            "schema": self.schema,
            "stream": self.stream,
            "key": self.key,
            "version": self.version,
            "payload": self.payload,
        }


def encode(stream: str, key: str, version: str, payload: dict) -> str:
    """The JSON envelope of a message.

    Examples
    --------
    >>> doc = json.loads(encode("events", "ci1", "2019-07-06T00:00:00+00:00", {"magnitude": 4.2}))
    >>> doc["schema"], doc["key"], doc["payload"]
    ('quakelab.bus/1.0', 'ci1', {'magnitude': 4.2})
    >>> json.loads(encode("forecasts", "f", "v", {"p": float("nan")}))["payload"]
    {'p': None}
    """
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; streams: {', '.join(STREAMS)}")
    if not isinstance(key, str) or not key:
        raise ValueError(f"stream {stream}: the key must be a non-empty string, got {key!r}")
    doc = {
        "schema": SCHEMA,
        "stream": stream,
        "key": key,
        "version": str(version),
        "published_utc": pd.Timestamp.now(tz="UTC").isoformat(),
        "payload": _finite(payload),
    }
    return json.dumps(doc, default=_json_default, allow_nan=False)


def _finite(obj):
    """NaN and infinities (not JSON) become null, in nested dicts and lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        return _finite(obj.item())
    return obj


def decode(stream: str, entry_id: str, data: str | bytes) -> Message:
    """Parse an envelope; :class:`MessageError` names the stream and entry when it is not one."""
    where = f"stream {stream}, entry {entry_id}"
    try:
        doc = json.loads(data)
    except (TypeError, ValueError) as e:
        raise MessageError(f"{where}: not JSON ({e})") from e
    if not isinstance(doc, dict):
        raise MessageError(f"{where}: not a JSON object")
    schema = doc.get("schema")
    if not isinstance(schema, str) or schema.split("/")[0] != SCHEMA.split("/")[0]:
        raise MessageError(f"{where}: field 'schema' = {schema!r}, expected {SCHEMA}")
    if schema.split("/")[1].split(".")[0] != SCHEMA.split("/")[1].split(".")[0]:
        raise MessageError(f"{where}: schema {schema} has another major version than {SCHEMA}")
    for field in ("key", "version"):
        if not isinstance(doc.get(field), str):
            raise MessageError(f"{where}: field {field!r} missing or not a string")
    if not isinstance(doc.get("payload"), dict):
        raise MessageError(f"{where}: field 'payload' missing or not an object")
    return Message(stream, entry_id, doc["key"], doc["version"], doc["payload"], schema)


def _json_default(obj):
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if obj is pd.NaT:
        return None
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


@runtime_checkable
class Publisher(Protocol):
    """What the monitor needs of a bus."""

    def publish(self, stream: str, key: str, version: str, payload: dict) -> str:
        """Append one message to ``stream``; return the broker's id of it."""
        ...


@runtime_checkable
class Consumer(Protocol):
    """One member of a consumer group."""

    group: str
    name: str

    def pending(self, count: int = 100) -> list[Message]:
        """Messages delivered to this consumer earlier and not acknowledged (oldest first)."""
        ...

    def read(self, count: int = 100, block_ms: int = 1000) -> list[Message]:
        """New messages (never delivered to the group), waiting up to ``block_ms`` for some."""
        ...

    def reclaim(self, min_idle_s: float | None = None, count: int = 100) -> list[Message]:
        """Take over messages that other consumers of the group left unacknowledged for ``min_idle_s``."""
        ...

    def ack(self, messages: Iterable[Message]) -> int:
        """Acknowledge messages (after their effect is committed); return how many were pending."""
        ...


def default_consumer_name() -> str:
    """``<host>`` (stable across restarts, so a restarted consumer finds its own pending messages)."""
    return os.environ.get("QUAKELAB_CONSUMER_NAME") or socket.gethostname() or "consumer"


class RedisBus:
    """Redis Streams publisher, and the factory of consumers (:meth:`consumer`).

    Parameters
    ----------
    url : str
        ``redis://[:password@]host:port/db`` (``rediss://`` for TLS).
    prefix : str, default ``"quakelab:"``
        Stream key prefix (several deployments can share one Redis).
    maxlen : int or None, default 100_000
        Approximate cap on each stream's length (``XADD MAXLEN ~``); None keeps everything (memory grows
        without bound).
    claim_idle_s : float, default 60
        A pending message idle this long is taken over by :meth:`RedisConsumer.reclaim`.
    timeout_s : float, default 10
        Connection and socket time-out (blocking reads add their block time).
    retries : int, default 3
        Connection errors are retried this often (exponential back-off, at most 1 s) before
        :class:`BusError`; 0 fails at once.

    Examples
    --------
    >>> bus = RedisBus("redis://127.0.0.1:6379/0")  # doctest: +SKIP
    >>> bus.publish("events", "ci1", "2019-07-06T00:00:00+00:00", {"magnitude": 4.2})  # doctest: +SKIP
    '1719999999999-0'
    >>> c = bus.consumer("copy", ["events", "deletions"])  # doctest: +SKIP
    >>> msgs = c.read(count=10, block_ms=100)  # doctest: +SKIP
    >>> c.ack(msgs)  # doctest: +SKIP
    1
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "quakelab:",
        maxlen: int | None = 100_000,
        claim_idle_s: float = 60.0,
        timeout_s: float = 10.0,
        retries: int = 3,
    ) -> None:
        from quakelab._optional import require

        redis = require("redis", "bus", purpose="the Redis Streams bus")
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        self.url, self.prefix = url, prefix
        self.maxlen = None if maxlen is None else int(maxlen)
        self.claim_idle_s = float(claim_idle_s)
        self.timeout_s = float(timeout_s)
        self._errors = (redis.exceptions.RedisError, OSError)
        self.client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), int(retries)),
        )

    def __repr__(self) -> str:
        return f"RedisBus({self._where()!r}, prefix={self.prefix!r}, maxlen={self.maxlen})"

    def _where(self) -> str:
        kw = self.client.connection_pool.connection_kwargs
        return f"redis://{kw.get('host', '?')}:{kw.get('port', '?')}/{kw.get('db', 0)}"

    def stream_key(self, stream: str) -> str:
        """The Redis key of a stream."""
        return self.prefix + stream

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except self._errors as e:
            raise BusError(f"{self._where()}: {what} failed: {e}") from e

    def publish(self, stream: str, key: str, version: str, payload: dict) -> str:
        """``XADD <prefix><stream> MAXLEN ~ maxlen * key <key> version <version> data <envelope>``."""
        data = encode(stream, key, version, payload)
        fields = {"key": key, "version": str(version), "data": data}
        kw = {"maxlen": self.maxlen, "approximate": True} if self.maxlen else {}
        return self._call(
            f"XADD {self.stream_key(stream)}", self.client.xadd, self.stream_key(stream), fields, **kw
        )

    def publish_many(self, messages: Iterable[tuple[str, str, str, dict]]) -> int:
        """Publish ``(stream, key, version, payload)`` tuples in order, pipelined; return how many."""
        pipe = self.client.pipeline(transaction=False)
        n = 0
        kw = {"maxlen": self.maxlen, "approximate": True} if self.maxlen else {}
        for stream, key, version, payload in messages:
            data = encode(stream, key, version, payload)
            pipe.xadd(self.stream_key(stream), {"key": key, "version": str(version), "data": data}, **kw)
            n += 1
            if n % 500 == 0:
                self._call("XADD (pipelined)", pipe.execute)
        self._call("XADD (pipelined)", pipe.execute)
        return n

    def length(self, stream: str) -> int:
        """Entries in a stream (``XLEN``)."""
        return int(self._call("XLEN", self.client.xlen, self.stream_key(stream)))

    def info(self) -> dict[str, dict]:
        """Per stream: ``length`` and ``groups`` (``name``, ``pending``, ``lag``, ``consumers``)."""
        redis = __import__("redis")
        out = {}
        for s in STREAMS:
            key = self.stream_key(s)
            try:
                groups = self._call("XINFO GROUPS", self.client.xinfo_groups, key)
            except BusError as e:
                if isinstance(e.__cause__, redis.exceptions.ResponseError):  # no such stream
                    groups = []
                else:
                    raise
            out[s] = {
                "length": self.length(s),
                "groups": [
                    {k: g.get(k) for k in ("name", "pending", "lag", "consumers", "last-delivered-id")}
                    for g in groups
                ],
            }
        return out

    def consumer(
        self,
        group: str,
        streams: Sequence[str] = STREAMS,
        *,
        name: str | None = None,
        start: str = "0",
    ) -> RedisConsumer:
        """A member of consumer group ``group`` on ``streams`` (groups are created when missing).

        ``start`` is where a new group begins: ``"0"`` (everything still in the stream) or ``"$"`` (only
        what comes next).
        """
        return RedisConsumer(self, group, streams, name=name or default_consumer_name(), start=start)

    def close(self) -> None:
        """Close the connections."""
        self.client.close()


class RedisConsumer:
    """A consumer of a Redis consumer group (made by :meth:`RedisBus.consumer`)."""

    def __init__(
        self, bus: RedisBus, group: str, streams: Sequence[str], *, name: str, start: str = "0"
    ) -> None:
        unknown = [s for s in streams if s not in STREAMS]
        if unknown:
            raise ValueError(f"unknown stream(s) {unknown}; streams: {', '.join(STREAMS)}")
        if not streams:
            raise ValueError("no stream to consume")
        self.bus, self.group, self.name = bus, group, name
        self.streams = list(streams)
        redis = __import__("redis")
        for s in self.streams:
            try:
                bus.client.xgroup_create(bus.stream_key(s), group, id=start, mkstream=True)
            except redis.exceptions.ResponseError as e:
                if "BUSYGROUP" not in str(e):
                    raise BusError(f"{bus._where()}: XGROUP CREATE {bus.stream_key(s)} {group}: {e}") from e
            except bus._errors as e:
                raise BusError(f"{bus._where()}: XGROUP CREATE {bus.stream_key(s)} {group}: {e}") from e

    def __repr__(self) -> str:
        return f"RedisConsumer(group={self.group!r}, name={self.name!r}, streams={self.streams})"

    def _messages(self, reply) -> list[Message]:
        out = []
        for skey, entries in reply or []:
            stream = skey[len(self.bus.prefix) :]
            for entry_id, fields in entries:
                if not fields:  # trimmed away while pending: nothing left to deliver
                    continue
                try:
                    out.append(decode(stream, entry_id, fields.get("data")))
                except MessageError as e:  # never deliverable: acknowledge it so it cannot block the group
                    log.error("bus: %s (acknowledged and skipped)", e)
                    self.bus.client.xack(skey, self.group, entry_id)
        return out

    def _read(self, ids: str, count: int, block_ms: int | None) -> list[Message]:
        keys = {self.bus.stream_key(s): ids for s in self.streams}
        reply = self.bus._call(
            f"XREADGROUP GROUP {self.group} {self.name}",
            self.bus.client.xreadgroup,
            self.group,
            self.name,
            keys,
            count=count,
            block=block_ms,
        )
        return self._messages(reply)

    def pending(self, count: int = 100) -> list[Message]:
        """This consumer's delivered, unacknowledged messages (``XREADGROUP ... STREAMS s 0``)."""
        return self._read("0", count, None)

    def read(self, count: int = 100, block_ms: int = 1000) -> list[Message]:
        """New messages (``XREADGROUP ... BLOCK block_ms STREAMS s >``)."""
        return self._read(">", count, int(block_ms) if block_ms else None)

    def reclaim(self, min_idle_s: float | None = None, count: int = 100) -> list[Message]:
        """``XAUTOCLAIM`` entries of the group pending for at least ``min_idle_s`` (default: the bus's
        ``claim_idle_s``) to this consumer. Entries trimmed from the stream meanwhile are acknowledged
        (they cannot be delivered any more)."""
        idle_ms = int(1000 * (self.bus.claim_idle_s if min_idle_s is None else min_idle_s))
        out: list[Message] = []
        for s in self.streams:
            skey, cursor = self.bus.stream_key(s), "0-0"
            while len(out) < count:
                reply = self.bus._call(
                    f"XAUTOCLAIM {skey} {self.group}",
                    self.bus.client.xautoclaim,
                    skey,
                    self.group,
                    self.name,
                    idle_ms,
                    start_id=cursor,
                    count=count - len(out),
                )
                cursor, entries = reply[0], reply[1]
                gone = reply[2] if len(reply) > 2 else []
                if gone:
                    self.bus.client.xack(skey, self.group, *gone)
                out += self._messages([(skey, entries)])
                if cursor in ("0-0", b"0-0"):
                    break
        return out

    def ack(self, messages: Iterable[Message]) -> int:
        """``XACK`` the messages; return how many were still pending."""
        by_stream: dict[str, list[str]] = {}
        for m in messages:
            by_stream.setdefault(m.stream, []).append(m.id)
        n = 0
        for s, ids in by_stream.items():
            n += int(self.bus._call("XACK", self.bus.client.xack, self.bus.stream_key(s), self.group, *ids))
        return n

    def n_pending(self) -> int:
        """Messages of the group (all consumers) delivered and not acknowledged (``XPENDING``)."""
        n = 0
        for s in self.streams:
            info = self.bus._call("XPENDING", self.bus.client.xpending, self.bus.stream_key(s), self.group)
            n += int(info["pending"])
        return n


class KafkaBus:
    """The bus interface over Apache Kafka (confluent-kafka; extra ``kafka``), for sites with a broker.

    A topic per stream (``<prefix><stream>``, ``.`` in place of ``:``), the message key as the Kafka key,
    manual offset commits as acknowledgements. Retention (``retention.ms``/``retention.bytes`` of the
    topics) plays the part of Redis's ``MAXLEN``; a consumer group's rebalance hands a dead consumer's
    partitions (and their uncommitted messages) to the others, so :meth:`KafkaConsumer.reclaim` has nothing
    to do.

    Parameters
    ----------
    bootstrap : str
        ``host:port[,host:port...]`` of the brokers.
    prefix : str, default ``"quakelab."``
    config : dict, optional
        Extra librdkafka settings (security, SASL, ...).
    """

    def __init__(self, bootstrap: str, *, prefix: str = "quakelab.", config: dict | None = None) -> None:
        from quakelab._optional import require

        ck = require("confluent_kafka", "kafka", purpose="the Kafka bus")
        self.bootstrap, self.prefix = bootstrap, prefix
        self.config = {"bootstrap.servers": bootstrap, **(config or {})}
        self._ck = ck
        self.producer = ck.Producer({**self.config, "enable.idempotence": True, "acks": "all"})

    def topic(self, stream: str) -> str:
        """The Kafka topic of a stream."""
        return self.prefix + stream

    def publish(self, stream: str, key: str, version: str, payload: dict) -> str:
        """Produce one message and wait for the broker's acknowledgement; return ``partition:offset``."""
        data = encode(stream, key, version, payload)
        result: dict = {}

        def done(err, msg):
            result["err"], result["msg"] = err, msg

        try:
            self.producer.produce(self.topic(stream), value=data.encode(), key=key.encode(), on_delivery=done)
            self.producer.flush(30)
        except self._ck.KafkaException as e:
            raise BusError(f"kafka {self.bootstrap}: produce to {self.topic(stream)} failed: {e}") from e
        if result.get("err") is not None or "msg" not in result:
            raise BusError(
                f"kafka {self.bootstrap}: produce to {self.topic(stream)} failed: {result.get('err')}"
            )
        return f"{result['msg'].partition()}:{result['msg'].offset()}"

    def consumer(
        self, group: str, streams: Sequence[str] = STREAMS, *, name: str | None = None, start: str = "0"
    ) -> KafkaConsumer:
        """A member of consumer group ``group``; ``start="0"`` reads a new group from the earliest offset."""
        return KafkaConsumer(self, group, streams, name=name or default_consumer_name(), start=start)

    def close(self) -> None:
        """Deliver what is queued."""
        self.producer.flush(30)


class KafkaConsumer:
    """A consumer of a Kafka consumer group (made by :meth:`KafkaBus.consumer`)."""

    def __init__(
        self, bus: KafkaBus, group: str, streams: Sequence[str], *, name: str, start: str = "0"
    ) -> None:
        self.bus, self.group, self.name, self.streams = bus, group, name, list(streams)
        self._consumer = bus._ck.Consumer(
            {
                **bus.config,
                "group.id": group,
                "client.id": name,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest" if start == "0" else "latest",
            }
        )
        self._consumer.subscribe([bus.topic(s) for s in self.streams])
        self._raw: dict[str, object] = {}
        self._unacked: dict[str, Message] = {}

    def pending(self, count: int = 100) -> list[Message]:
        """Messages this process read and did not acknowledge (after a restart, Kafka delivers the
        uncommitted ones again through :meth:`read`)."""
        return list(self._unacked.values())[:count]

    def read(self, count: int = 100, block_ms: int = 1000) -> list[Message]:
        """Up to ``count`` messages, waiting up to ``block_ms``."""
        out = []
        for raw in self._consumer.consume(num_messages=count, timeout=block_ms / 1000):
            if raw.error():
                if raw.error().code() == self.bus._ck.KafkaError._PARTITION_EOF:
                    continue
                raise BusError(f"kafka {self.bus.bootstrap}: {raw.error()}")
            stream = raw.topic()[len(self.bus.prefix) :]
            mid = f"{raw.partition()}:{raw.offset()}"
            self._raw[f"{stream}/{mid}"] = raw
            out.append(decode(stream, mid, raw.value()))
            self._unacked[f"{stream}/{mid}"] = out[-1]
        return out

    def reclaim(self, min_idle_s: float | None = None, count: int = 100) -> list[Message]:
        """Nothing to do: the group's rebalance moves a dead consumer's partitions to live members."""
        return []

    def ack(self, messages: Iterable[Message]) -> int:
        """Commit the offsets after these messages (synchronously)."""
        n = 0
        for m in messages:
            self._unacked.pop(f"{m.stream}/{m.id}", None)
            raw = self._raw.pop(f"{m.stream}/{m.id}", None)
            if raw is not None:
                self._consumer.commit(message=raw, asynchronous=False)
                n += 1
        return n

    def close(self) -> None:
        """Leave the group."""
        self._consumer.close()


def open_bus(url: str, **kwargs) -> RedisBus | KafkaBus:
    """A bus from a URL: ``redis://...``/``rediss://...``/``unix://...`` or ``kafka://host:port[,...]``.

    Examples
    --------
    >>> open_bus("amqp://localhost")
    Traceback (most recent call last):
    ...
    ValueError: bus URL 'amqp://localhost': expected redis://, rediss://, unix:// or kafka://
    """
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBus(url, **kwargs)
    if url.startswith("kafka://"):
        return KafkaBus(url[len("kafka://") :], **kwargs)
    raise ValueError(f"bus URL {url!r}: expected redis://, rediss://, unix:// or kafka://")


# ----------------------------------------------------------------------------------------------------------
# What the monitor publishes, and the replay of a store


def event_payload(row: dict) -> dict:
    """The ``events`` payload of a store row (times as ISO 8601 UTC, missing values as null)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, pd.Timestamp):
            out[k] = v.isoformat()
        elif v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            out[k] = None
        elif hasattr(v, "item"):
            out[k] = v.item()
        else:
            out[k] = v
    return out


def change_messages(changes: Iterable[tuple[str, dict]]) -> list[tuple[str, str, str, dict]]:
    """``(stream, key, version, payload)`` of store changes ``("event", row)``/``("delete", row)``."""
    out = []
    for kind, r in changes:
        version = pd.Timestamp(r["updated"]).isoformat()
        if kind == "delete":
            out.append(("deletions", r["event_id"], version, {"event_id": r["event_id"], "updated": version}))
        else:
            out.append(("events", r["event_id"], version, event_payload(r)))
    return out


def replay(store_dir: str | os.PathLike, bus: Publisher) -> dict[str, int]:
    """Publish a store's current state: every event, every tombstone, the current forecast and alert.

    Consumers are idempotent, so a replay brings a stale or rebuilt consumer to the store's state and
    changes nothing for one that is current.

    Returns
    -------
    dict
        Messages published per stream.
    """
    from pathlib import Path

    from quakelab.realtime.store import EventStore

    store = EventStore(store_dir, readonly=True)
    if not store.path.exists():
        raise FileNotFoundError(f"{store.path}: no event store here")
    changes = [("event", r) for r in store.events.to_dict("records")]
    changes += [
        ("delete", {"event_id": k, "updated": v}) for k, v in store.checkpoint.get("tombstones", {}).items()
    ]
    messages = change_messages(changes)
    fc = Path(store_dir) / "forecast.json"
    if fc.exists():
        doc = json.loads(fc.read_text())
        messages.append(("forecasts", "short-term", doc["time_utc"], doc))
        if "alert" in doc:
            messages.append(("alerts", "alert", doc["time_utc"], doc["alert"]))
    if hasattr(bus, "publish_many"):
        bus.publish_many(messages)
    else:
        for m in messages:
            bus.publish(*m)
    counts: dict[str, int] = {}
    for m in messages:
        counts[m[0]] = counts.get(m[0], 0) + 1
    return counts
