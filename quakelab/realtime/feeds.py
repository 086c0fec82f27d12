"""Event feeds: the USGS GeoJSON summary feeds and FDSN event services (``updatedafter``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from quakelab.timeutils import utc

#: Columns of a feed batch: the canonical catalog columns plus the feed's bookkeeping.
FEED_COLUMNS = [
    "event_id",
    "time",
    "latitude",
    "longitude",
    "depth_km",
    "magnitude",
    "mag_type",
    "event_type",
    "updated",
    "status",
    "place",
]


class FeedError(RuntimeError):
    """A poll failed (HTTP error, time-out, refused connection); the monitor backs off and retries."""


class MalformedFeedError(FeedError):
    """The feed answered with a body that is not a valid feed; the message says where."""


@dataclass
class FeedBatch:
    """One poll's result.

    Attributes
    ----------
    events : pandas.DataFrame
        Current versions of the events (:data:`FEED_COLUMNS`), ``updated`` in UTC.
    deleted : pandas.DataFrame
        ``event_id, updated`` of events the source deleted.
    source : str
        The URL polled.
    """

    events: pd.DataFrame
    deleted: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {"event_id": pd.Series(dtype=str), "updated": pd.Series(dtype="datetime64[ns, UTC]")}
        )
    )
    source: str = ""

    @property
    def max_updated(self) -> pd.Timestamp | None:
        """Latest ``updated`` time in the batch (events and deletions)."""
        times = pd.concat([self.events["updated"], self.deleted["updated"]])
        return None if times.empty else times.max()


def _ms(value, where: str) -> pd.Timestamp:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise MalformedFeedError(f"{where}: expected milliseconds since 1970, got {value!r}")
    return pd.Timestamp(int(value), unit="ms", tz="UTC")


def parse_geojson(body: bytes | str, source: str = "<feed>") -> FeedBatch:
    """Parse a USGS GeoJSON FeatureCollection (summary feed or FDSN ``format=geojson``).

    Features whose ``properties.status`` is ``"deleted"`` are deletions. Any structural error raises
    :class:`MalformedFeedError` naming the feature index and the field; nothing of the batch is used then.

    Examples
    --------
    >>> body = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "ci1", "properties": '
    ...         '{"mag": 4.2, "magType": "ml", "time": 1562383193040, "updated": 1562383300000, '
    ...         '"status": "reviewed", "type": "earthquake", "place": "Ridgecrest"}, '
    ...         '"geometry": {"type": "Point", "coordinates": [-117.6, 35.77, 8.0]}}]}')
    >>> b = parse_geojson(body)
    >>> b.events[["event_id", "magnitude", "depth_km"]].values.tolist()
    [['ci1', 4.2, 8.0]]
    """
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise MalformedFeedError(f"{source}: not JSON ({e})") from e
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(doc.get("features"), list)
    ):
        raise MalformedFeedError(f"{source}: not a GeoJSON FeatureCollection")
    rows, deleted = [], []
    for k, f in enumerate(doc["features"]):
        where = f"{source}: feature {k}"
        if not isinstance(f, dict) or not isinstance(f.get("properties"), dict):
            raise MalformedFeedError(f"{where}: no properties")
        p = f["properties"]
        eid = f.get("id")
        if not isinstance(eid, str) or not eid:
            raise MalformedFeedError(f"{where}: field 'id' missing or not a string")
        updated = _ms(p.get("updated"), f"{where} ({eid}), field 'updated'")
        if p.get("status") == "deleted":
            deleted.append({"event_id": eid, "updated": updated})
            continue
        try:
            lon, lat, depth = (list(f["geometry"]["coordinates"]) + [None])[:3]
        except (KeyError, TypeError) as e:
            raise MalformedFeedError(f"{where} ({eid}): field 'geometry.coordinates' missing") from e
        vals = {}
        for name, v, lo, hi in (("latitude", lat, -90, 90), ("longitude", lon, -180, 180)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise MalformedFeedError(
                    f"{where} ({eid}): field '{name}' = {v!r} is not a number in [{lo}, {hi}]"
                )
            vals[name] = float(v)
        mag = p.get("mag")
        if mag is not None and (isinstance(mag, bool) or not isinstance(mag, (int, float))):
            raise MalformedFeedError(f"{where} ({eid}): field 'mag' = {mag!r} is not a number")
        rows.append(
            {
                "event_id": eid,
                "time": _ms(p.get("time"), f"{where} ({eid}), field 'time'"),
                **vals,
                "depth_km": float(depth) if isinstance(depth, (int, float)) else np.nan,
                "magnitude": float(mag) if mag is not None else np.nan,
                "mag_type": str(p.get("magType") or "").lower(),
                "event_type": str(p.get("type") or "earthquake"),
                "updated": updated,
                "status": str(p.get("status") or ""),
                "place": str(p.get("place") or ""),
            }
        )
    events = pd.DataFrame(rows, columns=FEED_COLUMNS)
    for c in ("time", "updated"):
        events[c] = pd.to_datetime(events[c], utc=True)
    for c in ("latitude", "longitude", "depth_km", "magnitude"):
        events[c] = events[c].astype(float)
    dele = pd.DataFrame(deleted, columns=["event_id", "updated"])
    dele["updated"] = pd.to_datetime(dele["updated"], utc=True)
    return FeedBatch(events=events, deleted=dele, source=source)


def _get(url: str, timeout_s: float) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"User-Agent": "quakelab-monitor"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as r:  # noqa: S310 - http(s) URLs given by the user
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        if e.code == 204:
            return 204, b""
        raise FeedError(f"{url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
        raise FeedError(f"{url}: {getattr(e, 'reason', e)}") from e


class USGSGeoJSONFeed:
    """A USGS GeoJSON summary feed (e.g. ``.../summary/all_hour.geojson``): the events of a recent window.

    Deletions are reported by the FDSN service (``FDSNEventFeed``), not by summary feeds; an event
    that drops out of a summary window is not deleted from the store.

    Parameters
    ----------
    url : str
    timeout_s : float, default 10
    """

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self.url, self.timeout_s = url, float(timeout_s)

    def fetch(self, updated_after: pd.Timestamp | None = None) -> FeedBatch:
        """Poll once; events not updated after ``updated_after`` are dropped from the batch."""
        _, body = _get(self.url, self.timeout_s)
        batch = parse_geojson(body, self.url)
        if updated_after is not None:
            batch.events = batch.events[batch.events["updated"] > updated_after].reset_index(drop=True)
            batch.deleted = batch.deleted[batch.deleted["updated"] > updated_after].reset_index(drop=True)
        return batch


class FDSNEventFeed:
    """An FDSN event service polled with ``updatedafter`` (GeoJSON output and deletions as USGS serves them).

    Parameters
    ----------
    base_url : str
        Service root, e.g. ``https://earthquake.usgs.gov`` (``/fdsnws/event/1/query`` is appended).
    min_magnitude : float, optional
    bbox : (min_lon, max_lon, min_lat, max_lat), optional
    starttime : time-like, optional
        Only events after this origin time (the first poll would otherwise ask for everything).
    timeout_s : float, default 10
    """

    def __init__(
        self,
        base_url: str,
        *,
        min_magnitude: float | None = None,
        bbox: tuple | None = None,
        starttime=None,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.min_magnitude, self.bbox, self.timeout_s = min_magnitude, bbox, float(timeout_s)
        self.starttime = utc(starttime) if starttime is not None else None

    def url(self, updated_after: pd.Timestamp | None) -> str:
        """The query URL of a poll."""
        q = {"format": "geojson", "orderby": "time-asc", "includedeleted": "true"}
        if updated_after is not None:
            q["updatedafter"] = updated_after.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        if self.starttime is not None:
            q["starttime"] = self.starttime.strftime("%Y-%m-%dT%H:%M:%S")
        if self.min_magnitude is not None:
            q["minmagnitude"] = f"{self.min_magnitude:g}"
        if self.bbox is not None:
            q.update(
                minlongitude=self.bbox[0],
                maxlongitude=self.bbox[1],
                minlatitude=self.bbox[2],
                maxlatitude=self.bbox[3],
            )
        return f"{self.base_url}/fdsnws/event/1/query?{urllib.parse.urlencode(q)}"

    def fetch(self, updated_after: pd.Timestamp | None = None) -> FeedBatch:
        """Poll once (HTTP 204 is an empty batch)."""
        url = self.url(updated_after)
        status, body = _get(url, self.timeout_s)
        if status == 204 or not body.strip():
            return parse_geojson(b'{"type": "FeatureCollection", "features": []}', url)
        return parse_geojson(body, url)
