"""Per-window waveform features as xarray, and probabilistic power spectral densities (ObsPy PPSD)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from quakelab.waveforms.io import WaveformError

DEFAULT_BANDS_HZ: tuple[tuple[float, float], ...] = ((0.5, 2.0), (2.0, 8.0), (8.0, 20.0))


def _window_features(
    x: np.ndarray, fs: float, bands: Sequence[tuple[float, float]], sta_s: float, lta_s: float
) -> dict[str, float]:
    from obspy.signal.filter import envelope
    from obspy.signal.trigger import classic_sta_lta
    from scipy import stats

    x = x - x.mean()
    n = x.size
    spec = np.abs(np.fft.rfft(x * np.hanning(n))) ** 2
    freqs = np.fft.rfftfreq(n, 1 / fs)
    total = spec[1:].sum()
    out: dict[str, float] = {}
    for lo, hi in bands:
        sel = (freqs >= lo) & (freqs < hi)
        out[f"energy_{lo:g}_{hi:g}hz"] = float(spec[sel].sum() / total) if total > 0 else np.nan
    out["dominant_frequency_hz"] = float(freqs[1:][np.argmax(spec[1:])]) if n > 2 else np.nan
    out["centroid_frequency_hz"] = float((freqs[1:] * spec[1:]).sum() / total) if total > 0 else np.nan
    env = envelope(x)
    k = int(np.argmax(env))
    out["envelope_peak"] = float(env[k])
    above = np.flatnonzero(env[: k + 1] < 0.1 * env[k])
    out["rise_time_s"] = float((k - (above[-1] + 1 if above.size else 0)) / fs)
    out["kurtosis"] = float(stats.kurtosis(x))
    nsta, nlta = int(sta_s * fs), int(lta_s * fs)
    out["stalta_max"] = float(classic_sta_lta(x, nsta, nlta)[nlta:].max()) if 0 < nsta < nlta < n else np.nan
    return out


def window_features(
    stream,
    *,
    window_s: float = 30.0,
    step_s: float | None = None,
    bands_hz: Sequence[tuple[float, float]] = DEFAULT_BANDS_HZ,
    sta_s: float = 0.5,
    lta_s: float = 5.0,
):
    """Features of consecutive windows of every trace, ready for scikit-learn.

    Per window: relative band energies, dominant and centroid frequency, envelope peak and rise time
    (from 10 % of the peak), kurtosis, maximum classic STA/LTA.

    Parameters
    ----------
    stream : obspy.Stream
        Traces (one per station/channel; merge gaps first).
    window_s : float, default 30
        Window length.
    step_s : float, optional
        Step between window starts; ``window_s`` when None.
    bands_hz : sequence of (low, high)
        Frequency bands of the energy features.
    sta_s, lta_s : float
        STA/LTA windows of the ``stalta_max`` feature.

    Returns
    -------
    xarray.DataArray
        Dims ``(station, window, feature)`` — one ``station`` entry per trace, labelled by its SEED id
        (``NET.STA.LOC.CHA``); coords ``window_start`` (station, window) and ``feature``; NaN where a
        trace has no full window.
    """
    import xarray as xr

    if len(stream) == 0:
        raise WaveformError("empty stream: no features")
    step_s = step_s or window_s
    per_trace, starts, names = [], [], None
    for tr in stream:
        if np.ma.isMaskedArray(tr.data) and np.ma.is_masked(tr.data):
            raise WaveformError(
                f"{tr.id}: trace has masked gaps; apply a gap policy ('fill' or 'split') first"
            )
        fs = tr.stats.sampling_rate
        nwin, nstep = int(window_s * fs), int(step_s * fs)
        data = np.asarray(tr.data, dtype=float)
        rows, t0s = [], []
        for i0 in range(0, data.size - nwin + 1, nstep):
            feats = _window_features(data[i0 : i0 + nwin], fs, bands_hz, sta_s, lta_s)
            names = names or list(feats)
            rows.append([feats[k] for k in names])
            t0s.append(pd.Timestamp((tr.stats.starttime + i0 / fs).datetime, tz="UTC"))
        per_trace.append(rows)
        starts.append(t0s)
    if names is None:
        raise WaveformError(f"no trace is longer than one window of {window_s} s")
    n_win = max(len(r) for r in per_trace)
    arr = np.full((len(stream), n_win, len(names)), np.nan)
    start_arr = np.full((len(stream), n_win), np.datetime64("NaT"), dtype="datetime64[ns]")
    for i, (rows, t0s) in enumerate(zip(per_trace, starts, strict=True)):
        if rows:
            arr[i, : len(rows)] = rows
            start_arr[i, : len(t0s)] = pd.DatetimeIndex(t0s).tz_convert(None).to_numpy()
    return xr.DataArray(
        arr,
        dims=("station", "window", "feature"),
        coords={
            "station": [tr.id for tr in stream],
            "feature": names,
            "window_start": (("station", "window"), start_arr),
        },
        attrs={"window_s": window_s, "step_s": step_s, "bands_hz": str(list(bands_hz))},
    )


def ppsd(trace, metadata, *, ppsd_length_s: float = 3600.0, overlap: float = 0.5):
    """Probabilistic power spectral density of a trace (ObsPy's ``PPSD``; McNamara & Buland 2004).

    Parameters
    ----------
    trace : obspy.Trace
        Data with an instrument response available in ``metadata``.
    metadata : obspy.Inventory or obspy.io.xseed.Parser
        Station metadata.
    ppsd_length_s : float
        Segment length.
    overlap : float
        Segment overlap fraction.

    Returns
    -------
    tuple of (obspy.signal.PPSD, pandas.DataFrame)
        The PPSD (its ``plot`` draws the New High/Low Noise Models) and a table of the 5th, 50th and 95th
        percentile (dB) and the NLNM/NHNM per period.

    Raises
    ------
    WaveformError
        When the response cannot be found for the trace.
    """
    from obspy.signal import PPSD
    from obspy.signal.spectral_estimation import get_nhnm, get_nlnm

    try:
        p = PPSD(trace.stats, metadata=metadata, ppsd_length=ppsd_length_s, overlap=overlap)
        added = p.add(trace)
    except Exception as exc:  # noqa: BLE001
        raise WaveformError(f"{trace.id}: PPSD failed ({type(exc).__name__}: {exc})") from exc
    if not added or len(p.times_processed) == 0:
        raise WaveformError(f"{trace.id}: no segment of {ppsd_length_s} s could be processed")
    periods = np.asarray(p.period_bin_centers)
    table = pd.DataFrame({"period_s": periods})
    for q in (5, 50, 95):
        per, vals = p.get_percentile(percentile=q)
        table[f"p{q}_db"] = np.interp(periods, per, vals)
    for name, (mp, mv) in (("nlnm_db", get_nlnm()), ("nhnm_db", get_nhnm())):
        order = np.argsort(mp)  # the models come in decreasing period
        table[name] = np.interp(
            np.log(periods), np.log(np.asarray(mp)[order]), np.asarray(mv)[order], left=np.nan, right=np.nan
        )
    return p, table
