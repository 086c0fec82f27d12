"""Waveforms and station metadata from FDSN services through ObsPy, in cached, resumable time chunks."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time as _time
from collections.abc import Callable
from pathlib import Path
from urllib.error import URLError

import pandas as pd

from quakelab.timeutils import utc as _utc
from quakelab.waveforms.io import WaveformError

log = logging.getLogger(__name__)


def _write_atomic(path: Path, data: bytes) -> None:
    from quakelab.catalog.store import atomic_path

    final, tmp = atomic_path(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def fetch_waveforms(
    network: str,
    station: str,
    location: str,
    channel: str,
    start,
    end,
    *,
    provider: str = "IRIS",
    chunk_hours: float = 1.0,
    cache_dir: str | os.PathLike | None = None,
    with_response: bool = True,
    max_retries: int = 4,
    backoff_s: float = 2.0,
    timeout_s: float = 120.0,
    progress: bool = True,
    client: object | None = None,
    sleep: Callable[[float], None] = _time.sleep,
):
    """Download waveforms (dataselect) and station metadata (station, level=response) with a disk cache.

    The window is split into chunks of ``chunk_hours``; each chunk's miniSEED is written atomically to
    the cache (a ``.nodata`` marker for HTTP 204), so re-runs read the cache and an interrupted download
    resumes. Transient failures (HTTP 5xx, 429, time-outs, refused connections) are retried with
    exponential back-off. Gaps are left in the stream: apply :func:`quakelab.waveforms.apply_gap_policy`.

    Parameters
    ----------
    network, station, location, channel : str
        SEED codes (wildcards allowed by FDSN services).
    start, end : time-like
        UTC window.
    provider : str, default "IRIS"
        ObsPy provider name or base URL (``"http://host:port"``).
    chunk_hours : float, default 1
        Chunk length.
    cache_dir : path-like, optional
        Cache root (``$QUAKELAB_CACHE`` or ``~/.cache/quakelab`` when None).
    with_response : bool, default True
        Also fetch (and cache) the StationXML with responses.
    max_retries, backoff_s, timeout_s
        Retry policy and socket time-out.
    progress : bool, default True
        Show a progress bar.
    client : obspy.clients.fdsn.Client, optional
        Ready client.
    sleep : callable
        Wait function between retries.

    Returns
    -------
    tuple of (obspy.Stream, obspy.Inventory or None)
        Data of all chunks (not merged) and the metadata.

    Raises
    ------
    WaveformError
        When a chunk still fails after the retries (cached chunks are kept).
    """
    import obspy
    from obspy.clients.fdsn.header import (
        FDSNException,
        FDSNNoDataException,
    )

    from quakelab.catalog.fetch import default_cache_dir

    t0, t1 = _utc(start), _utc(end)
    if not t0 < t1:
        raise WaveformError(f"empty time window {t0} .. {t1}")
    base = str(getattr(client, "base_url", provider))
    nslc = f"{network}.{station}.{location}.{channel}"
    key = hashlib.sha256(json.dumps([base, nslc]).encode()).hexdigest()[:16]
    root = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / "waveforms" / key
    root.mkdir(parents=True, exist_ok=True)
    fdsn = client

    def get_client():
        nonlocal fdsn
        if fdsn is None:
            from obspy.clients.fdsn import Client

            fdsn = Client(base_url=provider, timeout=timeout_s, _discover_services=False)
        return fdsn

    def with_retries(what: str, call):
        for attempt in range(max_retries + 1):
            try:
                return call()
            except FDSNNoDataException:
                return None
            except (FDSNException, TimeoutError, URLError, ConnectionError) as exc:
                if "No data" in str(exc) and "204" in str(exc):
                    return None
                if attempt == max_retries:
                    raise WaveformError(
                        f"{base} {nslc}: {what} failed after {max_retries} retries ({exc!r}); "
                        f"cached chunks are kept in {root}"
                    ) from exc
                delay = backoff_s * 2**attempt
                log.warning(
                    "%s %s: %r; retry %d/%d in %.1f s", nslc, what, exc, attempt + 1, max_retries, delay
                )
                sleep(delay)
        return None

    from tqdm.auto import tqdm

    chunks = []
    t = t0
    step = pd.Timedelta(hours=chunk_hours)
    while t < t1:
        chunks.append((t, min(t + step, t1)))
        t = t + step
    stream = obspy.Stream()
    for a, b in tqdm(chunks, desc=f"{nslc} chunks", unit="chunk", disable=not progress):
        stem = f"{a.strftime('%Y%m%dT%H%M%S%f')}_{b.strftime('%Y%m%dT%H%M%S%f')}"
        data_path, nodata_path = root / f"{stem}.mseed", root / f"{stem}.nodata"
        if data_path.exists():
            stream += obspy.read(str(data_path))
            continue
        if nodata_path.exists():
            continue

        def call(a=a, b=b):
            buf = io.BytesIO()
            get_client().get_waveforms(
                network,
                station,
                location,
                channel,
                obspy.UTCDateTime(a.to_pydatetime()),
                obspy.UTCDateTime(b.to_pydatetime()),
                filename=buf,
            )
            return buf.getvalue()

        raw = with_retries(f"chunk {a} .. {b}", call)
        if not raw:
            _write_atomic(nodata_path, b"")
            continue
        try:
            chunk = obspy.read(io.BytesIO(raw), format="MSEED")
        except Exception as exc:  # noqa: BLE001
            raise WaveformError(f"{base} {nslc}: chunk {a} .. {b} is not valid miniSEED ({exc})") from exc
        _write_atomic(data_path, raw)
        stream += chunk
    inventory = None
    if with_response:
        inv_path = root / "station.xml"
        if inv_path.exists():
            inventory = obspy.read_inventory(str(inv_path))
        else:

            def call_inv():
                buf = io.BytesIO()
                get_client().get_stations(
                    network=network,
                    station=station,
                    location=location,
                    channel=channel,
                    starttime=obspy.UTCDateTime(t0.to_pydatetime()),
                    endtime=obspy.UTCDateTime(t1.to_pydatetime()),
                    level="response",
                    filename=buf,
                )
                return buf.getvalue()

            raw = with_retries("station metadata", call_inv)
            if raw:
                _write_atomic(inv_path, raw)
                inventory = obspy.read_inventory(str(inv_path))
    return stream, inventory
