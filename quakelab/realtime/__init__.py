"""Live ingestion: poll an FDSN event service or the USGS GeoJSON feed, upsert into a Parquet store with a
checkpoint, and update the short-term forecast after each batch (CLI: ``quakelab monitor``); publish the
changes to a message bus (:mod:`quakelab.realtime.bus`) and keep downstream copies in sync
(:mod:`quakelab.realtime.consume`, CLI: ``quakelab consume``).

The names below are imported on first use, so that a bus consumer does not pay for the forecasting models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> submodule that defines it.
_WHERE = {
    "EventStore": "store",
    "FDSNEventFeed": "feeds",
    "FeedBatch": "feeds",
    "FeedError": "feeds",
    "MalformedFeedError": "feeds",
    "Monitor": "monitor",
    "PollResult": "monitor",
    "USGSGeoJSONFeed": "feeds",
    "parse_geojson": "feeds",
    "short_term_forecast": "forecast",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"quakelab.realtime.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'quakelab.realtime' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from quakelab.realtime.feeds import (  # noqa: F401
        FDSNEventFeed,
        FeedBatch,
        FeedError,
        MalformedFeedError,
        USGSGeoJSONFeed,
        parse_geojson,
    )
    from quakelab.realtime.forecast import short_term_forecast  # noqa: F401
    from quakelab.realtime.monitor import Monitor, PollResult  # noqa: F401
    from quakelab.realtime.store import EventStore  # noqa: F401
