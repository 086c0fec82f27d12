"""Live ingestion: poll an FDSN event service or the USGS GeoJSON feed, upsert into a Parquet store with a
checkpoint, and update the short-term forecast after each batch (CLI: ``quakelab monitor``)."""

from quakelab.realtime.feeds import (
    FDSNEventFeed,
    FeedBatch,
    FeedError,
    MalformedFeedError,
    USGSGeoJSONFeed,
    parse_geojson,
)
from quakelab.realtime.forecast import short_term_forecast
from quakelab.realtime.monitor import Monitor, PollResult
from quakelab.realtime.store import EventStore

__all__ = [
    "EventStore",
    "FDSNEventFeed",
    "FeedBatch",
    "FeedError",
    "MalformedFeedError",
    "Monitor",
    "PollResult",
    "USGSGeoJSONFeed",
    "parse_geojson",
    "short_term_forecast",
]
