"""Plots of catalogs and their statistics. Each function takes ``ax=None``, draws, and returns the Axes."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from numpy.typing import ArrayLike

from quakelab._compat import renamed_kwargs
from quakelab.stats.gutenberg_richter import GutenbergRichter, b_value, frequency_magnitude
from quakelab.stats.omori import OmoriFit


def _marker_sizes(magnitude: np.ndarray, scale: float = 4.0) -> np.ndarray:
    m = np.asarray(magnitude, dtype=float)
    return scale * 2.0 ** (m - np.nanmin(m)) + 1.0


def _extent(catalog: pd.DataFrame, pad_fraction: float = 0.08) -> tuple[float, float, float, float]:
    lon, lat = catalog["longitude"], catalog["latitude"]
    dx = max(float(lon.max() - lon.min()), 0.2)
    dy = max(float(lat.max() - lat.min()), 0.2)
    return (
        max(float(lon.min()) - pad_fraction * dx, -180.0),
        min(float(lon.max()) + pad_fraction * dx, 180.0),
        max(float(lat.min()) - pad_fraction * dy, -90.0),
        min(float(lat.max()) + pad_fraction * dy, 90.0),
    )


def epicentre_map(
    catalog: pd.DataFrame,
    ax: Axes | None = None,
    *,
    extent: tuple[float, float, float, float] | None = None,
    color_by: str = "depth_km",
    cmap: str = "viridis_r",
    coastlines: bool = True,
    title: str | None = None,
) -> Axes:
    """Epicentre map on a cartopy PlateCarree axes with offline coastlines.

    Marker area grows by a factor 2 per magnitude unit; colour shows ``color_by`` (depth by default,
    ``"time"`` for days since the first event).

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    ax : cartopy GeoAxes, optional
        Axes to draw on; a new PlateCarree figure when None.
    extent : (min_lon, max_lon, min_lat, max_lat), optional
        Map extent; the catalog's extent with a margin when None.
    color_by : str, default "depth_km"
        Column to colour by, or ``"time"``.
    cmap : str, default "viridis_r"
        Colormap.
    coastlines : bool, default True
        Draw coastlines from offline data (:mod:`quakelab.viz.coastlines`).
    title : str, optional
        Axes title.

    Returns
    -------
    cartopy.mpl.geoaxes.GeoAxes
        The axes.
    """
    import cartopy.crs as ccrs

    from quakelab.viz.coastlines import coastline_geometries

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6), subplot_kw={"projection": ccrs.PlateCarree()})
    ext = extent if extent is not None else (_extent(catalog) if len(catalog) else (-180, 180, -90, 90))
    ax.set_extent(ext, crs=ccrs.PlateCarree())
    if coastlines:
        ax.add_geometries(
            coastline_geometries(ext),
            crs=ccrs.PlateCarree(),
            facecolor="#f2efe6",
            edgecolor="0.35",
            linewidth=0.6,
            zorder=0,
        )
    if len(catalog):
        if color_by == "time":
            values = ((catalog["time"] - catalog["time"].min()) / pd.Timedelta(days=1)).to_numpy()
            label = "days since first event"
        else:
            values = catalog[color_by].to_numpy(dtype=float)
            label = "depth (km)" if color_by == "depth_km" else color_by
        order = np.argsort(catalog["magnitude"].to_numpy())  # large events on top
        sc = ax.scatter(
            catalog["longitude"].to_numpy()[order],
            catalog["latitude"].to_numpy()[order],
            s=_marker_sizes(catalog["magnitude"].to_numpy())[order],
            c=values[order],
            cmap=cmap,
            edgecolors="k",
            linewidths=0.2,
            alpha=0.8,
            transform=ccrs.PlateCarree(),
            zorder=2,
        )
        if np.isfinite(values).any():
            ax.figure.colorbar(sc, ax=ax, shrink=0.7, label=label)
    gl = ax.gridlines(draw_labels=True, linewidth=0.3, color="0.6", alpha=0.6)
    gl.top_labels = gl.right_labels = False
    ax.set_title(title if title is not None else f"{len(catalog):,} epicentres")
    return ax


def magnitude_time(
    catalog: pd.DataFrame, ax: Axes | None = None, *, mc: float | None = None, title: str | None = None
) -> Axes:
    """Magnitude against time, one stem-less marker per event.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    ax : matplotlib Axes, optional
        Axes to draw on.
    mc : float, optional
        Draw the magnitude of completeness as a horizontal line.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    t = catalog["time"].dt.tz_convert(None)
    m = catalog["magnitude"].to_numpy()
    ax.scatter(t, m, s=_marker_sizes(m, 2.0), c="tab:blue", alpha=0.5, edgecolors="none")
    if mc is not None:
        ax.axhline(mc, color="tab:red", lw=1, ls="--", label=f"Mc = {mc:.1f}")
        ax.legend(loc="upper right")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("magnitude")
    ax.set_title(title or "Magnitude–time")
    ax.figure.autofmt_xdate()
    return ax


def cumulative_count(
    catalog: pd.DataFrame,
    ax: Axes | None = None,
    *,
    min_magnitude: float | None = None,
    title: str | None = None,
) -> Axes:
    """Cumulative number of events against time.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    ax : matplotlib Axes, optional
        Axes to draw on.
    min_magnitude : float, optional
        Count only events at or above this magnitude.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    cat = catalog if min_magnitude is None else catalog[catalog["magnitude"] >= min_magnitude - 1e-9]
    t = cat["time"].sort_values().dt.tz_convert(None)
    ax.step(t, np.arange(1, len(t) + 1), where="post", color="tab:blue")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("cumulative number" + (f" (M ≥ {min_magnitude:g})" if min_magnitude is not None else ""))
    ax.set_title(title or "Cumulative count")
    ax.figure.autofmt_xdate()
    return ax


@renamed_kwargs(delta_m="magnitude_resolution")
def frequency_magnitude_plot(
    magnitudes: ArrayLike | pd.Series,
    ax: Axes | None = None,
    *,
    mc: float | None = None,
    fit: GutenbergRichter | None = None,
    magnitude_resolution: float = 0.1,
    title: str | None = None,
) -> Axes:
    """Frequency–magnitude distribution (cumulative and per bin) with the Gutenberg–Richter fit.

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes.
    ax : matplotlib Axes, optional
        Axes to draw on.
    mc : float, optional
        Magnitude of completeness; the fit is computed above it when ``fit`` is None.
    fit : GutenbergRichter, optional
        A fit to draw (from :func:`quakelab.stats.b_value`).
    magnitude_resolution : float, default 0.1
        The magnitudes' resolution, also the bin width of the distribution (old name ``delta_m``,
        deprecated).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    fmd = frequency_magnitude(magnitudes, magnitude_resolution)
    mags = fmd.index.to_numpy()
    ax.semilogy(mags, fmd["cumulative"], "s", ms=4, color="k", mfc="none", label="cumulative N(≥M)")
    nz = fmd["count"] > 0
    ax.semilogy(mags[nz], fmd["count"][nz], "^", ms=4, color="0.5", label="per bin")
    if fit is None and mc is not None:
        fit = b_value(magnitudes, mc, magnitude_resolution)
    if fit is not None:
        mm = mags[mags >= fit.min_magnitude - 1e-9]
        ax.semilogy(
            mm,
            fit.expected_count(mm),
            "-",
            color="tab:red",
            label=f"b = {fit.b:.2f} ± {fit.b_std:.2f}, a = {fit.a:.2f}",
        )
        ax.axvline(fit.min_magnitude, color="tab:red", ls="--", lw=1, label=f"Mc = {fit.min_magnitude:.1f}")
    elif mc is not None:
        ax.axvline(mc, color="tab:red", ls="--", lw=1, label=f"Mc = {mc:.1f}")
    ax.set_xlabel("magnitude")
    ax.set_ylabel("number of events")
    ax.set_title(title or "Frequency–magnitude distribution")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def omori_decay(
    t_days: ArrayLike,
    ax: Axes | None = None,
    *,
    fit: OmoriFit | None = None,
    n_bins: int = 30,
    title: str | None = None,
) -> Axes:
    """Aftershock rate against time since the mainshock on log–log axes, with an Omori–Utsu fit.

    Parameters
    ----------
    t_days : array-like
        Event times in days after the mainshock (positive values are used).
    ax : matplotlib Axes, optional
        Axes to draw on.
    fit : OmoriFit, optional
        Fit to draw.
    n_bins : int, default 30
        Number of logarithmic time bins.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    t = np.asarray(t_days, dtype=float)
    t = t[t > 0]
    lo = fit.t_start if fit is not None and fit.t_start > 0 else max(t.min(), 1e-4)
    hi = fit.t_end if fit is not None else t.max()
    edges = np.geomspace(lo, hi, n_bins + 1)
    counts, _ = np.histogram(t, edges)
    mid = np.sqrt(edges[:-1] * edges[1:])
    rate = counts / np.diff(edges)
    nz = counts > 0
    ax.loglog(mid[nz], rate[nz], "o", color="k", mfc="none", label="observed")
    if fit is not None:
        tt = np.geomspace(lo, hi, 200)
        ax.loglog(
            tt,
            fit.rate(tt),
            "-",
            color="tab:red",
            label=f"Omori–Utsu p = {fit.p:.2f} ± {fit.p_std:.2f}, c = {fit.c:.3g} d",
        )
    ax.set_xlabel("time since mainshock (days)")
    ax.set_ylabel("rate (events/day)")
    ax.set_title(title or "Aftershock decay")
    ax.legend(loc="lower left", fontsize="small")
    return ax


def save_figure(ax_or_fig, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Save the figure of ``ax_or_fig`` to ``path`` atomically (temporary file, then rename).

    Parameters
    ----------
    ax_or_fig : matplotlib Axes or Figure
        What to save.
    path : path-like
        Destination (format from the extension).
    dpi : int, default 120
        Resolution.

    Returns
    -------
    pathlib.Path
        The destination.
    """
    from quakelab.catalog.store import atomic_path

    fig = (
        ax_or_fig.figure if hasattr(ax_or_fig, "figure") and not hasattr(ax_or_fig, "savefig") else ax_or_fig
    )
    final, tmp = atomic_path(path)
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=final.suffix.lstrip(".") or "png")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def csep_test_plot(
    table: pd.DataFrame, ax: Axes | None = None, *, alpha: float = 0.05, title: str | None = None
) -> Axes:
    """Quantile scores of CSEP consistency tests per model (from :func:`quakelab.evaluate.csep_tests`).

    One-sided tests fail below ``alpha`` (shaded); the N-test shows both delta1 and delta2, each failing
    below ``alpha / 2``.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``model, test, quantile, quantile_2``.
    ax : matplotlib Axes, optional
        Axes to draw on.
    alpha : float, default 0.05
        Significance level.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    tests = [t for t in ["N-test", "M-test", "S-test", "L-test", "CL-test"] if t in set(table["test"])]
    models = list(dict.fromkeys(table["model"]))
    width = 0.8 / max(len(models), 1)
    for k, model in enumerate(models):
        sub = table[table["model"] == model].set_index("test")
        x = np.arange(len(tests)) + (k - (len(models) - 1) / 2) * width
        q = [float(sub.loc[t, "quantile"]) if t in sub.index else np.nan for t in tests]
        bars = ax.bar(x, np.maximum(q, 0.005), width=width * 0.9, label=model)
        if "N-test" in sub.index and "N-test" in tests:
            ax.plot(
                x[tests.index("N-test")],
                float(sub.loc["N-test", "quantile_2"]),
                "v",
                color=bars.patches[0].get_facecolor(),
                ms=7,
            )
    ax.axhspan(0, alpha, color="tab:red", alpha=0.12, label=f"reject (< {alpha:g})")
    ax.set_xticks(np.arange(len(tests)), tests)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("quantile score (N-test: ▲ bar δ1, ▼ δ2)")
    ax.set_title(title or "CSEP consistency tests")
    ax.legend(fontsize="small", loc="upper right")
    return ax


def forecast_skill_plots(y: ArrayLike, forecasts: dict[str, ArrayLike], axes=None):
    """ROC, precision–recall, reliability and Molchan diagrams of occurrence forecasts on the same bins.

    Parameters
    ----------
    y : array of 0/1
        Outcome of each (time, cell) bin.
    forecasts : dict name -> probabilities
    axes : sequence of 4 Axes, optional

    Returns
    -------
    numpy array of 4 matplotlib Axes
    """
    from quakelab._optional import require

    require("sklearn", "ml", purpose="ROC and precision-recall curves")
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    from quakelab.learn.scores import molchan_alarms, reliability_table

    if axes is None:
        _, axes = plt.subplots(1, 4, figsize=(18, 4.4), constrained_layout=True)
    y = np.asarray(y).astype(int)
    a_roc, a_pr, a_rel, a_mol = axes
    for name, p in forecasts.items():
        p = np.asarray(p, dtype=float)
        fpr, tpr, _ = roc_curve(y, p)
        a_roc.plot(fpr, tpr, label=f"{name} ({auc(fpr, tpr):.3f})")
        prec, rec, _ = precision_recall_curve(y, p)
        a_pr.plot(rec, prec, label=name)
        rel = reliability_table(y, p, n_bins=10)
        a_rel.plot(rel["mean_forecast"], rel["observed_frequency"], "o-", ms=3, label=name)
        mol = molchan_alarms(y, p)
        a_mol.plot(mol["tau"], mol["nu"], label=f"{name} ({mol.attrs['area_skill_score']:.3f})")
    a_roc.plot([0, 1], [0, 1], "k--", lw=0.8)
    a_roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (AUC)")
    a_pr.axhline(y.mean(), color="k", ls="--", lw=0.8)
    a_pr.set(xlabel="recall", ylabel="precision", title="precision–recall")
    top = max(max(float(np.max(np.asarray(p))) for p in forecasts.values()), y.mean() * 2)
    a_rel.plot([0, top], [0, top], "k--", lw=0.8)
    a_rel.set(
        xlabel="forecast probability",
        ylabel="observed frequency",
        title="reliability (decile bins)",
        xscale="log",
        yscale="symlog",
    )
    a_rel.set_yscale("symlog", linthresh=1e-3)
    a_mol.plot([0, 1], [1, 0], "k--", lw=0.8)
    a_mol.set(
        xlabel="fraction of space-time alarmed",
        ylabel="fraction of events missed",
        title="Molchan (area skill score)",
    )
    for ax in axes:
        ax.legend(fontsize="x-small")
    return np.asarray(axes)
