"""Download catalogs from FDSN event services through ObsPy, in cached, resumable time chunks."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time as _time
from collections.abc import Callable
from pathlib import Path
from urllib.error import URLError

import pandas as pd

from quakelab.catalog.readers import catalog_from_obspy
from quakelab.catalog.schema import empty_catalog
from quakelab.catalog.store import read_parquet, write_parquet
from quakelab.catalog.validate import build_catalog
from quakelab.timeutils import utc as _utc

log = logging.getLogger(__name__)

#: Largest number of events the USGS service returns for one query.
USGS_ROW_LIMIT = 20_000


class FDSNFetchError(RuntimeError):
    """A chunk could not be downloaded after all retries; chunks already fetched stay cached."""


class MalformedResponseError(RuntimeError):
    """The service answered with a body that is not valid QuakeML (truncated or garbled)."""


def default_cache_dir() -> Path:
    """Cache folder: ``$QUAKELAB_CACHE`` or ``~/.cache/quakelab``."""
    return Path(os.environ.get("QUAKELAB_CACHE", Path.home() / ".cache" / "quakelab"))


def _make_client(provider: str, timeout_s: float):
    from obspy.clients.fdsn import Client

    # _discover_services=False: no extra round trip at construction, and works with any base URL.
    return Client(base_url=provider, timeout=timeout_s, _discover_services=False)


def _split(
    start: pd.Timestamp, end: pd.Timestamp, chunk: pd.Timedelta
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    out = []
    t = start
    while t < end:
        out.append((t, min(t + chunk, end)))
        t = t + chunk
    return out


def _transient_exceptions() -> tuple[type[BaseException], ...]:
    from obspy.clients.fdsn.header import (
        FDSNBadGatewayException,
        FDSNInternalServerException,
        FDSNServiceUnavailableException,
        FDSNTimeoutException,
        FDSNTooManyRequestsException,
    )

    return (
        FDSNInternalServerException,
        FDSNServiceUnavailableException,
        FDSNTimeoutException,
        FDSNTooManyRequestsException,
        FDSNBadGatewayException,
        socket.timeout,
        TimeoutError,
        URLError,
        ConnectionError,
        MalformedResponseError,
    )


def fetch_catalog(
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    provider: str = "USGS",
    min_magnitude: float | None = None,
    max_magnitude: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    min_depth_km: float | None = None,
    max_depth_km: float | None = None,
    event_type: str | None = None,
    chunk_days: float = 30.0,
    row_limit: int = USGS_ROW_LIMIT,
    max_retries: int = 4,
    backoff_s: float = 2.0,
    timeout_s: float = 120.0,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    client: object | None = None,
    sleep: Callable[[float], None] = _time.sleep,
) -> pd.DataFrame:
    """Download events from an FDSN event service into a canonical catalog, chunk by chunk.

    The window ``[start, end)`` is split into chunks of ``chunk_days``. A chunk that the service refuses
    as too large (HTTP 413) or that comes back with ``row_limit`` events or more (the service may
    truncate) is halved until it fits. Transient failures (HTTP 5xx, 429, time-outs, refused
    connections, malformed bodies) are retried up to ``max_retries`` times with exponential back-off. Each finished chunk
    is written to the cache as Parquet (atomically), so a re-run reads the cache and an interrupted
    download resumes where it stopped.

    Parameters
    ----------
    start, end : str or Timestamp
        UTC window (naive values are read as UTC).
    provider : str, default "USGS"
        An ObsPy FDSN provider name (``"USGS"``, ``"ISC"``, ...) or a base URL (``"http://host:port"``).
    min_magnitude, max_magnitude : float, optional
        Magnitude bounds passed to the service.
    bbox : (min_lon, max_lon, min_lat, max_lat), optional
        Geographic box passed to the service.
    min_depth_km, max_depth_km : float, optional
        Depth bounds passed to the service.
    event_type : str, optional
        FDSN ``eventtype`` filter (e.g. ``"earthquake"``); all types when None.
    chunk_days : float, default 30
        Initial chunk length.
    row_limit : int, default 20000
        The provider's maximum number of events per query.
    max_retries : int, default 4
        Retries per chunk for transient errors.
    backoff_s : float, default 2
        First back-off delay; doubled at each retry.
    timeout_s : float, default 120
        Socket time-out of one request.
    cache_dir : path-like, optional
        Cache root; :func:`default_cache_dir` when None.
    progress : bool, default True
        Show progress over chunks (:func:`quakelab.progress.progress`: a bar on a terminal, log lines
        otherwise).
    client : obspy.clients.fdsn.Client, optional
        A ready client (overrides ``provider`` and ``timeout_s``).
    sleep : callable
        Function used to wait between retries (``time.sleep``).

    Returns
    -------
    pandas.DataFrame
        Canonical catalog of the whole window, sorted by time, duplicates (chunk edges) removed.

    Raises
    ------
    FDSNFetchError
        When a chunk still fails after ``max_retries`` retries.

    Examples
    --------
    >>> cat = fetch_catalog("2019-07-04", "2019-07-12", min_magnitude=4.5,
    ...                     bbox=(-118.5, -116.5, 35, 36.5))  # doctest: +SKIP
    """
    from obspy import UTCDateTime
    from obspy.clients.fdsn.header import FDSNNoDataException, FDSNRequestTooLargeException

    t0, t1 = _utc(start), _utc(end)
    if not t0 < t1:
        raise ValueError(f"empty time window: start {t0} is not before end {t1}")
    query = {
        "min_magnitude": min_magnitude,
        "max_magnitude": max_magnitude,
        "bbox": bbox,
        "min_depth_km": min_depth_km,
        "max_depth_km": max_depth_km,
        "event_type": event_type,
    }
    base = str(getattr(client, "base_url", provider))
    key = hashlib.sha256(
        json.dumps({"base": base, **query}, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    chunk_dir = cache / "fdsn" / key
    chunk_dir.mkdir(parents=True, exist_ok=True)
    (chunk_dir / "query.json").write_text(json.dumps({"base": base, **query}, default=str, indent=1))
    transient = _transient_exceptions()
    fdsn = client

    kwargs = {}
    if min_magnitude is not None:
        kwargs["minmagnitude"] = min_magnitude
    if max_magnitude is not None:
        kwargs["maxmagnitude"] = max_magnitude
    if bbox is not None:
        kwargs.update(minlongitude=bbox[0], maxlongitude=bbox[1], minlatitude=bbox[2], maxlatitude=bbox[3])
    if min_depth_km is not None:
        kwargs["mindepth"] = min_depth_km
    if max_depth_km is not None:
        kwargs["maxdepth"] = max_depth_km
    if event_type is not None:
        kwargs["eventtype"] = event_type

    def chunk_path(a: pd.Timestamp, b: pd.Timestamp) -> Path:
        return chunk_dir / f"{a.strftime('%Y%m%dT%H%M%S%f')}_{b.strftime('%Y%m%dT%H%M%S%f')}.parquet"

    def fetch_one(a: pd.Timestamp, b: pd.Timestamp) -> list[pd.DataFrame]:
        nonlocal fdsn
        path = chunk_path(a, b)
        if path.exists():
            return [read_parquet(path)]
        if fdsn is None:
            fdsn = _make_client(provider, timeout_s)
        too_large = False
        for attempt in range(max_retries + 1):
            try:
                try:
                    events = fdsn.get_events(
                        starttime=UTCDateTime(a.to_pydatetime()),
                        endtime=UTCDateTime(b.to_pydatetime()),
                        orderby="time-asc",
                        **kwargs,
                    )
                except ValueError as exc:  # ObsPy could not parse the body
                    raise MalformedResponseError(f"malformed QuakeML response: {exc}") from exc
                raw = catalog_from_obspy(events, as_raw=True)
                break
            except FDSNNoDataException:
                raw = None
                break
            except FDSNRequestTooLargeException:
                too_large = True
                break
            except transient as exc:
                if attempt == max_retries:
                    raise FDSNFetchError(
                        f"{base}: chunk {a} .. {b} failed after {max_retries} retries: {exc!r}; "
                        f"{len(list(chunk_dir.glob('*.parquet')))} chunks are cached in {chunk_dir} "
                        "and a re-run resumes from them"
                    ) from exc
                delay = backoff_s * 2**attempt
                log.warning(
                    "chunk %s .. %s: %r; retry %d/%d in %.1f s", a, b, exc, attempt + 1, max_retries, delay
                )
                sleep(delay)
        if too_large or (raw is not None and len(raw) >= row_limit):
            if b - a <= pd.Timedelta(seconds=1):
                raise FDSNFetchError(f"{base}: more than {row_limit} events within one second at {a}")
            mid = a + (b - a) / 2
            mid = mid.floor("s") if mid.floor("s") > a else mid
            log.info("chunk %s .. %s too large; splitting", a, b)
            return fetch_one(a, mid) + fetch_one(mid, b)
        cat = (
            build_catalog(raw, source=f"{base} {a}..{b}", id_prefix="fdsn:")
            if raw is not None and len(raw)
            else empty_catalog()
        )
        write_parquet(cat, path)
        return [cat]

    chunks = _split(t0, t1, pd.Timedelta(days=chunk_days))
    parts: list[pd.DataFrame] = []
    from quakelab.progress import progress as show_progress

    for a, b in show_progress(chunks, desc="FDSN chunks", unit="chunk", quiet=not progress):
        parts.extend(fetch_one(a, b))
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_catalog()
    cat = pd.concat(parts, ignore_index=True)
    cat = cat[(cat["time"] >= t0) & (cat["time"] < t1)]  # FDSN end times are inclusive
    cat = cat.drop_duplicates("event_id", keep="first").sort_values("time", kind="mergesort")
    cat = cat.reset_index(drop=True)
    cat.attrs = {"source": f"{base} {t0}..{t1}", "n_read": len(cat)}
    return cat
