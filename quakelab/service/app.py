"""The forecast service (FastAPI): aftershock products, gridded forecasts, models, events, health, metrics.

Expensive work (ETAS simulations, the aftershock product) runs in a process pool so that the cheap
endpoints stay responsive; every size a client controls is capped (:class:`ServiceConfig`). Binding to an
address other than loopback requires a bearer token (TLS is terminated by a reverse proxy in front).
"""

from __future__ import annotations

import asyncio
import hmac
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass
class ServiceConfig:
    """Settings of the service.

    Attributes
    ----------
    model_root : path
        Store of fitted ETAS models (:mod:`quakelab.service.models`).
    event_store : path, optional
        Live event store directory (:class:`quakelab.realtime.EventStore`), read only.
    catalog : pandas.DataFrame, optional
        An extra catalog to look events up in (e.g. a replayed sequence).
    token : str, optional
        Bearer token required on every request except ``/health`` when set.
    workers : int
        Processes for expensive forecasts.
    max_simulations, max_days, max_cells, max_page : int
        Caps on what one request may ask for.
    """

    model_root: str | os.PathLike = "models/etas"
    event_store: str | os.PathLike | None = "data/live"
    catalog: pd.DataFrame | None = None
    token: str | None = None
    workers: int = 2
    max_simulations: int = 2000
    max_days: float = 365.0
    max_cells: int = 200_000
    max_page: int = 1000
    forecast_timeout_s: float = 300.0
    enable_test_endpoints: bool = False


_EVENTS_CACHE: dict[tuple, pd.DataFrame] = {}


def _events_frame(cfg: ServiceConfig) -> tuple[pd.DataFrame, float | None]:
    """Events of the live store (plus the extra catalog) and the store's age in seconds.

    The merged frame is cached until the store file changes (its modification time and size).
    """
    parts = []
    age = None
    key: tuple = (id(cfg),)
    if cfg.event_store is not None:
        p = Path(cfg.event_store) / "events.parquet"
        if p.is_file():
            st = p.stat()
            age = time.time() - st.st_mtime
            key = (id(cfg), st.st_mtime_ns, st.st_size)
            if key in _EVENTS_CACHE:
                return _EVENTS_CACHE[key], age
            from quakelab.realtime.store import EventStore

            parts.append(EventStore(cfg.event_store, readonly=True).events)
    elif key in _EVENTS_CACHE:
        return _EVENTS_CACHE[key], age
    if cfg.catalog is not None:
        parts.append(cfg.catalog)
    if not parts:
        return pd.DataFrame(
            {
                "event_id": pd.Series(dtype=object),
                "time": pd.Series(dtype="datetime64[ns, UTC]"),
                "latitude": pd.Series(dtype=float),
                "longitude": pd.Series(dtype=float),
                "depth_km": pd.Series(dtype=float),
                "magnitude": pd.Series(dtype=float),
            }
        ), age
    df = pd.concat(parts, ignore_index=True)
    df = (
        df.drop_duplicates("event_id", keep="first")
        .sort_values("time", kind="mergesort")
        .reset_index(drop=True)
    )
    _EVENTS_CACHE.clear()
    _EVENTS_CACHE[key] = df
    return df, age


def create_app(cfg: ServiceConfig):
    """The FastAPI application for ``cfg`` (see ``GET /docs`` for the OpenAPI description)."""
    from quakelab._optional import require

    require("fastapi", purpose="the forecast service (quakelab serve)", load=False)
    require("prometheus_client", purpose="the service's /metrics endpoint", load=False)
    from fastapi import FastAPI, HTTPException, Query, Request
    from fastapi.responses import JSONResponse, PlainTextResponse, Response
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    from quakelab.service import forecasts
    from quakelab.service.models import ModelStore, ModelStoreError

    app = FastAPI(
        title="quakelab forecast service",
        version="1.0.0",
        description="Aftershock forecast products, gridded ETAS forecasts, the model store and the live "
        "event store of quakelab.",
    )
    store = ModelStore(Path(cfg.model_root))
    pool = ProcessPoolExecutor(max_workers=max(1, int(cfg.workers)))
    registry = CollectorRegistry()
    m_requests = Counter(
        "quakelab_http_requests_total", "HTTP requests", ["endpoint", "status"], registry=registry
    )
    m_latency = Histogram(
        "quakelab_http_request_seconds",
        "Request latency",
        ["endpoint"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    )
    m_inflight = Gauge(
        "quakelab_forecasts_in_flight", "Expensive forecasts running or queued", registry=registry
    )
    m_models = Gauge("quakelab_models_loaded", "Verified models in the store", registry=registry)
    m_reloads = Counter("quakelab_model_store_reloads_total", "Model store reloads", registry=registry)
    m_store_age = Gauge(
        "quakelab_event_store_age_seconds", "Age of the live event store file", registry=registry
    )
    started = time.time()
    app.state.store = store
    app.state.pool = pool
    app.state.config = cfg

    @app.on_event("shutdown")
    def _shutdown() -> None:  # pragma: no cover - exercised by the subprocess tests
        pool.shutdown(wait=False, cancel_futures=True)

    @app.middleware("http")
    async def _auth_and_metrics(request: Request, call_next):
        path = request.url.path
        endpoint = (
            path
            if path
            in {
                "/health",
                "/metrics",
                "/v1/models",
                "/v1/events",
                "/v1/forecast",
                "/v1/aftershock-forecast",
                "/docs",
                "/openapi.json",
            }
            else "other"
        )
        t0 = time.perf_counter()
        if cfg.token and path != "/health":
            auth = request.headers.get("authorization", "")
            if not (
                auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), cfg.token.encode())
            ):
                m_requests.labels(endpoint, "401").inc()
                return JSONResponse(
                    {"detail": "missing or wrong bearer token (header 'Authorization')"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        response = await call_next(request)
        m_requests.labels(endpoint, str(response.status_code)).inc()
        m_latency.labels(endpoint).observe(time.perf_counter() - t0)
        return response

    def refresh_store() -> None:
        if store.refresh():
            m_reloads.inc()
        m_models.set(sum(1 for e in store.models.values() if e.error is None))

    async def in_pool(fn, *args):
        m_inflight.inc()
        try:
            loop = asyncio.get_running_loop()
            return await asyncio.wait_for(loop.run_in_executor(pool, fn, *args), cfg.forecast_timeout_s)
        except TimeoutError as exc:
            raise HTTPException(504, f"forecast took longer than {cfg.forecast_timeout_s:g} s") from exc
        except RuntimeError as exc:  # e.g. an explosive stored model: the server's fault, said plainly
            raise HTTPException(500, f"forecast failed: {exc}") from exc
        finally:
            m_inflight.dec()

    def parse_time(value: str | None, param: str) -> pd.Timestamp | None:
        if value is None:
            return None
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise HTTPException(422, f"parameter '{param}': not a time: {value!r}") from exc
        if ts is pd.NaT:
            raise HTTPException(422, f"parameter '{param}': not a time: {value!r}")
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")

    @app.get("/health", summary="Liveness and a summary of what is loaded")
    def health() -> dict[str, Any]:
        refresh_store()
        events, age = _events_frame(cfg)
        if age is not None:
            m_store_age.set(age)
        return {
            "status": "ok",
            "uptime_s": time.time() - started,
            "models": sum(1 for e in store.models.values() if e.error is None),
            "models_rejected": sum(1 for e in store.models.values() if e.error is not None),
            "events": int(len(events)),
            "event_store_age_s": age,
        }

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse, response_model=None)
    def metrics():
        refresh_store()
        body = generate_latest(registry)
        if cfg.event_store is not None:  # the live monitor's metrics, written after each of its polls
            prom = Path(cfg.event_store) / "metrics.prom"
            if prom.is_file():
                body += prom.read_bytes()
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", summary="The model store: metadata, SHA-256 and verification state")
    def models() -> dict[str, Any]:
        refresh_store()
        return {
            "root": str(Path(cfg.model_root).name),
            "reloads": store.reloads,
            "models": [e.describe() for e in store.models.values()],
        }

    @app.get("/v1/events", summary="Events of the live store, filtered and paginated")
    def events(
        start: str | None = Query(None, description="earliest origin time (UTC, ISO 8601)"),
        end: str | None = Query(None, description="latest origin time, exclusive"),
        min_magnitude: float | None = Query(None, ge=-2, le=10),
        max_magnitude: float | None = Query(None, ge=-2, le=10),
        bbox: str | None = Query(None, description="min_lon,max_lon,min_lat,max_lat"),
        limit: int = Query(100, ge=1, description="page size (capped by the server)"),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        if limit > cfg.max_page:
            raise HTTPException(422, f"parameter 'limit': at most {cfg.max_page}, got {limit}")
        df, _ = _events_frame(cfg)
        t0, t1 = parse_time(start, "start"), parse_time(end, "end")
        keep = np.ones(len(df), bool)
        if t0 is not None:
            keep &= (df["time"] >= t0).to_numpy()
        if t1 is not None:
            keep &= (df["time"] < t1).to_numpy()
        if min_magnitude is not None:
            keep &= (df["magnitude"] >= min_magnitude).to_numpy()
        if max_magnitude is not None:
            keep &= (df["magnitude"] <= max_magnitude).to_numpy()
        if bbox is not None:
            try:
                x0, x1, y0, y1 = (float(v) for v in bbox.split(","))
            except ValueError as exc:
                raise HTTPException(
                    422, "parameter 'bbox': expected min_lon,max_lon,min_lat,max_lat"
                ) from exc
            if not (x0 < x1 and y0 < y1 and -90 <= y0 and y1 <= 90):
                raise HTTPException(
                    422, "parameter 'bbox': need min_lon < max_lon and -90 <= min_lat < max_lat <= 90"
                )
            lon, lat = df["longitude"].to_numpy(float), df["latitude"].to_numpy(float)
            keep &= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        sel = df[keep]
        page = sel.iloc[offset : offset + limit]
        cols = [
            c
            for c in ("event_id", "time", "latitude", "longitude", "depth_km", "magnitude", "mag_type")
            if c in page.columns
        ]
        out = page[cols].copy()
        out["time"] = out["time"].map(lambda t: t.isoformat())
        recs = [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in out.to_dict("records")
        ]
        return {"total": int(len(sel)), "offset": offset, "limit": limit, "events": recs}

    @app.get(
        "/v1/forecast",
        summary="Gridded forecast of a stored ETAS model (simulation-based)",
        response_model=None,
    )
    async def forecast(
        model: str = Query(..., description="name of a stored model (GET /v1/models)"),
        start: str = Query(..., description="forecast start (UTC, ISO 8601)"),
        days: float = Query(7.0, gt=0, description="window length in days"),
        format: str = Query("json", pattern="^(json|netcdf|pycsep)$"),
        n_simulations: int = Query(100, ge=1),
        cell_deg: float = Query(0.1, gt=0.0),
        seed: int | None = Query(None),
    ):
        refresh_store()
        if days > cfg.max_days:
            raise HTTPException(422, f"parameter 'days': at most {cfg.max_days:g}, got {days:g}")
        if n_simulations > cfg.max_simulations:
            raise HTTPException(
                422, f"parameter 'n_simulations': at most {cfg.max_simulations}, got {n_simulations}"
            )
        try:
            entry = store.get(model)
        except ModelStoreError as exc:
            raise HTTPException(404 if "unknown" in str(exc) else 422, f"parameter 'model': {exc}") from exc
        m = entry.model
        if not m.spatial or m.region is None:
            raise HTTPException(
                422,
                f"parameter 'model': {model!r} is temporal-only; a gridded forecast needs a "
                "spatio-temporal model",
            )
        x0, x1, y0, y1 = m.region.bounds
        n_cells = int(
            np.ceil((x1 - x0) / cell_deg)
            * np.ceil((y1 - y0) / cell_deg)
            * round(4.0 / m.magnitude_resolution + 1)
        )
        if n_cells > cfg.max_cells:
            raise HTTPException(
                422,
                f"parameter 'cell_deg': {n_cells} grid cells x magnitude bins exceed the cap "
                f"{cfg.max_cells}; use a larger cell",
            )
        t0 = parse_time(start, "start")
        t1 = t0 + pd.Timedelta(days=days)
        ev, _ = _events_frame(cfg)
        history = ev[ev["time"] < t0] if len(ev) else None
        body, media = await in_pool(
            forecasts.run_gridded,
            str(Path(cfg.model_root)),
            model,
            entry.sha256,
            history,
            t0.isoformat(),
            t1.isoformat(),
            n_simulations,
            cell_deg,
            format,
            seed,
        )
        return Response(body, media_type=media)

    @app.get(
        "/v1/aftershock-forecast",
        summary="The aftershock forecast product for a mainshock",
        response_model=None,
    )
    async def aftershock(
        event: str | None = Query(None, description="event id in the live store or catalog"),
        time_: str | None = Query(None, alias="time", description="mainshock time when no event"),
        latitude: float | None = Query(None, ge=-90, le=90),
        longitude: float | None = Query(None, ge=-180, le=360),
        magnitude: float | None = Query(None, gt=0, lt=10),
        start: str | None = Query(None, description="forecast start (default: now or end of data)"),
        models: str = Query("rj_generic,rj_sequence,rj_bayesian,etas"),
        regime: str | None = Query(None),
        etas_model: str | None = Query(None),
        etas_fit: bool = Query(False, description="try a sequence-specific ETAS fit (slow)"),
        n_simulations: int = Query(200, ge=1),
        format: str = Query("json", pattern="^(json|text|png)$"),
        seed: int | None = Query(0),
    ):
        from quakelab.aftershock import GENERIC_RJ, MODEL_KEYS

        refresh_store()
        if n_simulations > cfg.max_simulations:
            raise HTTPException(
                422, f"parameter 'n_simulations': at most {cfg.max_simulations}, got {n_simulations}"
            )
        wanted = [m.strip() for m in models.split(",") if m.strip()]
        bad = sorted(set(wanted) - set(MODEL_KEYS))
        if bad or not wanted:
            raise HTTPException(422, f"parameter 'models': unknown {bad}; known {list(MODEL_KEYS)}")
        if regime is not None and regime not in GENERIC_RJ:
            raise HTTPException(422, f"parameter 'regime': unknown {regime!r}")
        ev, _ = _events_frame(cfg)
        if event is not None:
            hit = ev[ev["event_id"].astype(str) == event]
            if hit.empty:
                raise HTTPException(404, f"parameter 'event': no event {event!r} in the store")
            r = hit.iloc[0]
            ms = {
                "time": r["time"].isoformat(),
                "latitude": float(r["latitude"]),
                "longitude": float(r["longitude"]),
                "magnitude": float(r["magnitude"]),
                "depth_km": float(r.get("depth_km", np.nan)),
                "event_id": event,
            }
        else:
            missing = [
                n
                for n, v in (
                    ("time", time_),
                    ("latitude", latitude),
                    ("longitude", longitude),
                    ("magnitude", magnitude),
                )
                if v is None
            ]
            if missing:
                raise HTTPException(
                    422,
                    f"parameter 'event' or all of time, latitude, longitude, magnitude: missing {missing}",
                )
            ms = {
                "time": parse_time(time_, "time").isoformat(),
                "latitude": latitude,
                "longitude": longitude,
                "magnitude": magnitude,
            }
        t_main = pd.Timestamp(ms["time"])
        if start is None:
            t_start = min(
                pd.Timestamp.now(tz="UTC"), ev["time"].max() if len(ev) else pd.Timestamp.now(tz="UTC")
            )
        else:
            t_start = parse_time(start, "start")
        if t_start <= t_main:
            raise HTTPException(422, f"parameter 'start': {t_start} is not after the mainshock ({t_main})")
        etas = None
        if etas_model is not None:
            try:
                entry = store.get(etas_model)
            except ModelStoreError as exc:
                raise HTTPException(
                    404 if "unknown" in str(exc) else 422, f"parameter 'etas_model': {exc}"
                ) from exc
            etas = (str(Path(cfg.model_root)), etas_model, entry.sha256)
        catalog = ev[ev["time"] < t_start + pd.Timedelta(days=366)] if len(ev) else None
        options = {
            "models": wanted,
            "regime": regime,
            "n_simulations": n_simulations,
            "seed": seed,
            "etas_fit": etas_fit,
            "max_simulations": cfg.max_simulations,
        }
        try:
            body, media = await in_pool(
                forecasts.run_aftershock, ms, catalog, t_start.isoformat(), options, etas, format
            )
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return Response(body, media_type=media)

    if cfg.enable_test_endpoints:

        @app.get("/v1/_slow", include_in_schema=False, response_model=None)
        async def slow(seconds: float = Query(1.0, gt=0, le=30)):
            body, media = await in_pool(forecasts.sleep_work, seconds)
            return Response(body, media_type=media)

    return app


def _load_catalog(source: str) -> pd.DataFrame:
    """Any catalog source: dataset name, ``catalogs:`` entry of ./papermill_runs.yaml, file, folder or URL."""
    from quakelab.catalog import open_catalog

    return open_catalog(source)


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback address without a token.

    Examples
    --------
    >>> check_bind("127.0.0.1", None)
    >>> check_bind("0.0.0.0", None)
    Traceback (most recent call last):
    ...
    ValueError: binding to 0.0.0.0 (not loopback) requires a bearer token (--token or QUAKELAB_TOKEN)
    """
    if host not in LOOPBACK and not token:
        raise ValueError(
            f"binding to {host} (not loopback) requires a bearer token (--token or QUAKELAB_TOKEN)"
        )


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    model_root: str | os.PathLike = "models/etas",
    event_store: str | os.PathLike | None = "data/live",
    token: str | None = None,
    workers: int = 2,
    catalog: str | None = None,
    max_simulations: int = 2000,
    test_endpoints: bool = False,
) -> int:
    """Run the service with uvicorn until interrupted (``quakelab serve``)."""
    from quakelab._optional import require

    uvicorn = require("uvicorn", purpose="the forecast service (quakelab serve)")

    token = token or os.environ.get("QUAKELAB_TOKEN") or None
    check_bind(host, token)
    cat = _load_catalog(catalog) if catalog else None
    cfg = ServiceConfig(
        model_root=model_root,
        event_store=event_store,
        token=token,
        workers=workers,
        catalog=cat,
        max_simulations=max_simulations,
        enable_test_endpoints=test_endpoints,
    )
    app = create_app(cfg)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return 0
