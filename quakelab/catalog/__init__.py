"""Catalog data layer: readers, FDSN download, validation, selection and Parquet storage.

A catalog is a :class:`pandas.DataFrame` with the canonical columns of
:data:`~quakelab.catalog.schema.CANONICAL_COLUMNS` (``event_id, time, latitude, longitude, depth_km,
magnitude, mag_type``; ``time`` is ``datetime64[ns, UTC]``), an optional ``event_type`` and any extra
source columns after them. :func:`open_catalog` opens any source (a registered dataset, a file or URL in
any format of :func:`list_formats`, or a ``catalogs:`` entry of ``papermill_runs.yaml``).
"""

from quakelab.catalog.fetch import FDSNFetchError, MalformedResponseError, default_cache_dir, fetch_catalog
from quakelab.catalog.readers import (
    PRESETS,
    ReaderPreset,
    catalog_from_obspy,
    detect_format,
    read_catalog,
    read_header,
)
from quakelab.catalog.schema import (
    CANONICAL_COLUMNS,
    CatalogError,
    RejectedRowsWarning,
    empty_catalog,
    rejected_rows,
)
from quakelab.catalog.select import (
    select,
    select_box,
    select_depth,
    select_event_types,
    select_magnitude,
    select_polygon,
    select_time,
)
from quakelab.catalog.sources import (
    catalog_entry,
    list_formats,
    load_catalog_entries,
    open_catalog,
    resolve_source,
)
from quakelab.catalog.store import read_parquet, write_parquet, write_text_atomic
from quakelab.catalog.summary import summarize
from quakelab.catalog.validate import build_catalog

__all__ = [
    "CANONICAL_COLUMNS",
    "PRESETS",
    "CatalogError",
    "FDSNFetchError",
    "MalformedResponseError",
    "ReaderPreset",
    "RejectedRowsWarning",
    "build_catalog",
    "catalog_entry",
    "catalog_from_obspy",
    "default_cache_dir",
    "detect_format",
    "empty_catalog",
    "fetch_catalog",
    "list_formats",
    "load_catalog_entries",
    "open_catalog",
    "read_catalog",
    "read_header",
    "resolve_source",
    "read_parquet",
    "rejected_rows",
    "select",
    "select_box",
    "select_depth",
    "select_event_types",
    "select_magnitude",
    "select_polygon",
    "select_time",
    "summarize",
    "write_parquet",
    "write_text_atomic",
]
