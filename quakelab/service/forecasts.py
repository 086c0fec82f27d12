"""Work done in the service's process pool: gridded ETAS forecasts and aftershock products.

Each worker process keeps the models it loaded (keyed by name and SHA-256, re-verified on load), so a
request only ships names and numbers. :func:`gridded_forecast` is the one place that produces a gridded
forecast; it returns an :class:`xarray.Dataset` today and is where the ``Forecast`` type of
``quakelab.forecast`` will be adopted.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pandas as pd

_CACHE: dict[tuple[str, str, str], Any] = {}


def _model(root: str, name: str, sha256: str):
    from quakelab.service.models import load_verified

    key = (root, name, sha256)
    if key not in _CACHE:
        _CACHE[key] = load_verified(root, name, expected_sha256=sha256)[0]
    return _CACHE[key]


def gridded_forecast(
    model,
    history: pd.DataFrame | None,
    start,
    end,
    *,
    n_simulations: int,
    cell_deg: float,
    seed: int | None = None,
):
    """A gridded forecast of ``model`` over ``[start, end)`` (the single switch point for the Forecast type).

    Returns
    -------
    xarray.Dataset
        ``expected_count (magnitude, latitude, longitude)`` as :meth:`quakelab.models.ETAS.forecast` gives.
    """
    return model.forecast(history, start, end, n_simulations=n_simulations, cell_deg=cell_deg, seed=seed)


def encode_forecast(ds, fmt: str) -> tuple[bytes, str]:
    """Serialise a gridded forecast: ``json`` (coords and values), ``netcdf`` (NetCDF3 bytes) or ``pycsep``
    (pycsep's ASCII gridded-forecast rows: lon_min lon_max lat_min lat_max depth_min depth_max mag_min mag_max
    rate flag)."""
    if fmt == "netcdf":
        clean = ds.drop_vars([v for v in ("n_events",) if v in ds]).drop_dims("simulation", errors="ignore")
        return bytes(clean.to_netcdf(engine="scipy")), "application/x-netcdf"
    rate = ds["expected_count"]
    mags = ds["magnitude"].to_numpy()
    lats = ds["latitude"].to_numpy()
    lons = ds["longitude"].to_numpy()
    cell = float(ds.attrs["cell_deg"])
    if fmt == "pycsep":
        dm = float(np.diff(mags).min()) if mags.size > 1 else 0.1
        buf = io.StringIO()
        vals = rate.transpose("latitude", "longitude", "magnitude").to_numpy()
        for i, la in enumerate(lats):
            for j, lo in enumerate(lons):
                for k, m in enumerate(mags):
                    buf.write(
                        f"{lo - cell / 2:.5f} {lo + cell / 2:.5f} {la - cell / 2:.5f} {la + cell / 2:.5f} "
                        f"0.0 30.0 {m:.2f} {m + dm:.2f} {vals[i, j, k]:.6e} 1\n"
                    )
        return buf.getvalue().encode(), "text/plain; charset=utf-8"
    doc = {
        "model": ds.attrs.get("model"),
        "start": ds.attrs.get("start"),
        "end": ds.attrs.get("end"),
        "cell_deg": cell,
        "n_simulations": int(ds.attrs.get("n_simulations", 0)),
        "units": rate.attrs.get("units"),
        "dims": list(rate.dims),
        "magnitude": mags.tolist(),
        "latitude": lats.tolist(),
        "longitude": lons.tolist(),
        "expected_count": np.round(rate.to_numpy(), 10).tolist(),
        "total_expected": float(rate.sum()),
        "n_events_quantiles": {
            "q025": ds.attrs.get("n_events_q025"),
            "median": ds.attrs.get("n_events_median"),
            "q975": ds.attrs.get("n_events_q975"),
        },
    }
    return json.dumps(doc).encode(), "application/json"


def run_gridded(
    root: str,
    name: str,
    sha256: str,
    history: pd.DataFrame | None,
    start: str,
    end: str,
    n_simulations: int,
    cell_deg: float,
    fmt: str,
    seed: int | None,
) -> tuple[bytes, str]:
    """Worker entry: load (cached, verified) model, forecast, encode."""
    model = _model(root, name, sha256)
    ds = gridded_forecast(
        model, history, start, end, n_simulations=n_simulations, cell_deg=cell_deg, seed=seed
    )
    return encode_forecast(ds, fmt)


def run_aftershock(
    mainshock: dict,
    catalog: pd.DataFrame | None,
    start: str,
    options: dict,
    etas: tuple[str, str, str] | None,
    fmt: str,
) -> tuple[bytes, str]:
    """Worker entry: the aftershock product as JSON, text or PNG."""
    from quakelab.aftershock import Mainshock, aftershock_forecast

    ms = Mainshock(**mainshock)
    etas_model = _model(*etas) if etas is not None else None
    fc = aftershock_forecast(ms, catalog, start, etas_model=etas_model, **options)
    if fmt == "text":
        return fc.to_text().encode(), "text/plain; charset=utf-8"
    if fmt == "png":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = fc.plot()
        buf = io.BytesIO()
        ax.figure.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(ax.figure)
        return buf.getvalue(), "image/png"
    return fc.to_json(indent=None).encode(), "application/json"


def sleep_work(seconds: float) -> tuple[bytes, str]:  # pragma: no cover - used by load tests
    """A CPU-bound stand-in of a slow forecast (busy loop for ``seconds``)."""
    import time

    t = time.perf_counter()
    x = 0
    while time.perf_counter() - t < seconds:
        x += 1
    return json.dumps({"spun": x}).encode(), "application/json"
