"""Live ingestion: poll an FDSN event service or the USGS GeoJSON feed, upsert into a Parquet store with a
checkpoint, and after each batch update the regional forecast (ETAS from a stored model, else the generic
Reasenberg–Jones rates), issue aftershock products and Prometheus metrics (CLI: ``quakelab monitor``)."""

from quakelab.realtime.feeds import (
    FDSNEventFeed,
    FeedBatch,
    FeedError,
    MalformedFeedError,
    USGSGeoJSONFeed,
    parse_geojson,
)
from quakelab.realtime.forecast import short_term_forecast
from quakelab.realtime.metrics import MonitorMetrics
from quakelab.realtime.monitor import Monitor, PollResult
from quakelab.realtime.regional import regional_forecast
from quakelab.realtime.store import EventStore

__all__ = [
    "EventStore",
    "FDSNEventFeed",
    "FeedBatch",
    "FeedError",
    "MalformedFeedError",
    "Monitor",
    "MonitorMetrics",
    "PollResult",
    "USGSGeoJSONFeed",
    "parse_geojson",
    "regional_forecast",
    "short_term_forecast",
]
