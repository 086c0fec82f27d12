"""Detection and picking through ObsPy, with results as DataFrames, and detection scoring."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from quakelab.waveforms.io import WaveformError

StaLtaMethod = Literal["classic", "recursive", "delayed"]
DETECTION_COLUMNS = ["trace_id", "station", "channel", "time_on", "time_off", "duration_s", "peak_ratio"]


def characteristic_function(
    trace, *, method: StaLtaMethod = "recursive", sta_s: float = 1.0, lta_s: float = 10.0
) -> np.ndarray:
    """STA/LTA characteristic function of a trace (ObsPy's ``classic_sta_lta``, ``recursive_sta_lta``
    or ``delayed_sta_lta``).

    Parameters
    ----------
    trace : obspy.Trace
        Input trace.
    method : {"classic", "recursive", "delayed"}
        Which STA/LTA.
    sta_s, lta_s : float
        Window lengths in seconds.

    Returns
    -------
    numpy.ndarray
        The characteristic function, one value per sample; zero during the warm-up (the first LTA
        window, two for the delayed variant), where the ratio is not meaningful and produces spurious
        peaks.
    """
    from obspy.signal import trigger

    if trace.stats.npts == 0:
        raise WaveformError(f"{trace.id}: empty trace")
    df = trace.stats.sampling_rate
    nsta, nlta = int(round(sta_s * df)), int(round(lta_s * df))
    if not 0 < nsta < nlta <= trace.stats.npts:
        raise WaveformError(
            f"{trace.id}: need 0 < STA < LTA <= trace length; got STA {nsta}, LTA {nlta}, "
            f"{trace.stats.npts} samples"
        )
    data = np.asarray(trace.data, dtype=np.float64)
    funcs = {
        "classic": trigger.classic_sta_lta,
        "recursive": trigger.recursive_sta_lta,
        "delayed": trigger.delayed_sta_lta,
    }
    if method not in funcs:
        raise WaveformError(f"unknown STA/LTA method {method!r}; use {sorted(funcs)}")
    cft = np.asarray(funcs[method](data, nsta, nlta), dtype=float)
    warm_up = 2 * nlta if method == "delayed" else nlta  # the delayed LTA settles over two windows
    cft[:warm_up] = 0.0
    return cft


def detect(
    stream,
    *,
    method: StaLtaMethod = "recursive",
    sta_s: float = 1.0,
    lta_s: float = 10.0,
    on: float = 3.5,
    off: float = 1.0,
) -> pd.DataFrame:
    """STA/LTA triggers on every trace (ObsPy's ``trigger_onset``).

    Parameters
    ----------
    stream : obspy.Stream
        Traces (processed as wanted beforehand).
    method, sta_s, lta_s
        See :func:`characteristic_function`.
    on, off : float
        Trigger on and off thresholds.

    Returns
    -------
    pandas.DataFrame
        One row per trigger: ``trace_id, station, channel, time_on, time_off, duration_s, peak_ratio``
        (UTC timestamps).
    """
    from obspy.signal.trigger import trigger_onset

    rows = []
    for tr in stream:
        cft = characteristic_function(tr, method=method, sta_s=sta_s, lta_s=lta_s)
        t0 = pd.Timestamp(tr.stats.starttime.datetime, tz="UTC")
        dt = tr.stats.delta
        for i_on, i_off in trigger_onset(cft, on, off):
            rows.append(
                {
                    "trace_id": tr.id,
                    "station": tr.stats.station,
                    "channel": tr.stats.channel,
                    "time_on": t0 + pd.Timedelta(seconds=i_on * dt),
                    "time_off": t0 + pd.Timedelta(seconds=i_off * dt),
                    "duration_s": (i_off - i_on) * dt,
                    "peak_ratio": float(np.max(cft[i_on : i_off + 1])),
                }
            )
    return pd.DataFrame(rows, columns=DETECTION_COLUMNS)


def coincidence(
    stream,
    *,
    method: StaLtaMethod = "recursive",
    sta_s: float = 1.0,
    lta_s: float = 10.0,
    on: float = 3.5,
    off: float = 1.0,
    min_stations: int = 2,
) -> pd.DataFrame:
    """Network coincidence triggering (ObsPy's ``coincidence_trigger``).

    Returns
    -------
    pandas.DataFrame
        ``time, duration_s, coincidence_sum, stations`` per network trigger.
    """
    from obspy.signal.trigger import coincidence_trigger

    kind = {"classic": "classicstalta", "recursive": "recstalta", "delayed": "delayedstalta"}[method]
    trig = coincidence_trigger(kind, on, off, stream.copy(), min_stations, sta=sta_s, lta=lta_s)
    return pd.DataFrame(
        [
            {
                "time": pd.Timestamp(t["time"].datetime, tz="UTC"),
                "duration_s": float(t["duration"]),
                "coincidence_sum": float(t["coincidence_sum"]),
                "stations": ",".join(t["stations"]),
            }
            for t in trig
        ],
        columns=["time", "duration_s", "coincidence_sum", "stations"],
    )


def pick_baer(
    trace,
    *,
    tdownmax: float = 20,
    tupevent: float = 60,
    thr1: float = 7.0,
    thr2: float = 12.0,
    preset_len: int = 100,
    p_dur: int = 100,
) -> pd.DataFrame:
    """P pick by the Baer–Kradolfer picker (ObsPy's ``pk_baer``; sample-count parameters as ObsPy's).

    Returns
    -------
    pandas.DataFrame
        ``trace_id, station, channel, time, phase, score`` with the pick's polarity/quality string in
        ``quality`` (empty when nothing was picked).
    """
    from obspy.signal.trigger import pk_baer

    p_sample, quality = pk_baer(
        np.asarray(trace.data, dtype=np.float32),
        trace.stats.sampling_rate,
        tdownmax,
        tupevent,
        thr1,
        thr2,
        preset_len,
        p_dur,
    )
    cols = ["trace_id", "station", "channel", "time", "phase", "score", "quality"]
    if p_sample <= 0:
        return pd.DataFrame(columns=cols)
    t = pd.Timestamp(trace.stats.starttime.datetime, tz="UTC") + pd.Timedelta(
        seconds=p_sample * trace.stats.delta
    )
    return pd.DataFrame(
        [
            {
                "trace_id": trace.id,
                "station": trace.stats.station,
                "channel": trace.stats.channel,
                "time": t,
                "phase": "P",
                "score": np.nan,
                "quality": str(quality),
            }
        ],
        columns=cols,
    )


def pick_ar(
    z,
    n,
    e,
    *,
    f1: float = 1.0,
    f2: float = 20.0,
    lta_p: float = 1.0,
    sta_p: float = 0.1,
    lta_s: float = 4.0,
    sta_s: float = 1.0,
    m_p: int = 2,
    m_s: int = 8,
    l_p: float = 0.1,
    l_s: float = 0.2,
    s_pick: bool = True,
) -> pd.DataFrame:
    """P and S picks by the AR-AIC picker of Akazawa (ObsPy's ``ar_pick``) on a 3-component station.

    Returns
    -------
    pandas.DataFrame
        Rows for P and S: ``trace_id, station, channel, time, phase, score``.
    """
    from obspy.signal.trigger import ar_pick

    if not (z.stats.sampling_rate == n.stats.sampling_rate == e.stats.sampling_rate):
        raise WaveformError(f"{z.id}, {n.id}, {e.id}: sampling rates differ")
    npts = min(z.stats.npts, n.stats.npts, e.stats.npts)
    p, s = ar_pick(
        np.asarray(z.data[:npts], dtype=np.float32),
        np.asarray(n.data[:npts], dtype=np.float32),
        np.asarray(e.data[:npts], dtype=np.float32),
        z.stats.sampling_rate,
        f1,
        f2,
        lta_p,
        sta_p,
        lta_s,
        sta_s,
        m_p,
        m_s,
        l_p,
        l_s,
        s_pick,
    )
    t0 = pd.Timestamp(z.stats.starttime.datetime, tz="UTC")
    rows = [
        {
            "trace_id": z.id,
            "station": z.stats.station,
            "channel": z.stats.channel,
            "time": t0 + pd.Timedelta(seconds=float(p)),
            "phase": "P",
            "score": np.nan,
        }
    ]
    if s_pick:
        rows.append(
            {
                "trace_id": n.id,
                "station": n.stats.station,
                "channel": n.stats.channel,
                "time": t0 + pd.Timedelta(seconds=float(s)),
                "phase": "S",
                "score": np.nan,
            }
        )
    return pd.DataFrame(rows)


def _epoch_seconds(times) -> np.ndarray:
    """Seconds since 1970 (UTC) whatever the datetime resolution or time zone."""
    s = (
        pd.to_datetime(pd.Series(times), format="ISO8601")
        if len(times)
        else pd.Series([], dtype="datetime64[ns]")
    )
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return ((s - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)


def score_detections(detected, reference, *, tolerance_s: float = 1.0) -> pd.Series:
    """Precision, recall and F1 of detection times against reference times (one-to-one matching).

    Each reference is matched to at most one detection within ``tolerance_s`` (closest first).

    Parameters
    ----------
    detected, reference : sequence of timestamps
        Detection and reference times.
    tolerance_s : float
        Matching tolerance in seconds.

    Returns
    -------
    pandas.Series
        ``true_positives, false_positives, false_negatives, precision, recall, f1``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.to_datetime(["2020-01-01 00:00:00.2", "2020-01-01 00:00:10.0"])
    >>> r = pd.to_datetime(["2020-01-01 00:00:00", "2020-01-01 00:00:05"])
    >>> score_detections(d, r, tolerance_s=0.5)[["precision", "recall"]].tolist()
    [0.5, 0.5]
    """
    det = np.sort(_epoch_seconds(detected))
    ref = np.sort(_epoch_seconds(reference))
    pairs = sorted(
        (
            (abs(d - r), i, j)
            for i, d in enumerate(det)
            for j, r in enumerate(ref)
            if abs(d - r) <= tolerance_s
        )
    )
    used_d, used_r = set(), set()
    for _, i, j in pairs:
        if i not in used_d and j not in used_r:
            used_d.add(i)
            used_r.add(j)
    tp = len(used_d)
    fp, fn = det.size - tp, ref.size - tp
    precision = tp / det.size if det.size else 0.0
    recall = tp / ref.size if ref.size else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return pd.Series(
        {
            "true_positives": tp,
            "false_positives": fp,
            "false_negatives": fn,
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    )


def tune_stalta(
    validation_stream,
    validation_reference,
    *,
    sta_s=(0.2, 0.5, 1.0),
    lta_s=(5.0, 10.0, 30.0),
    on=(2.5, 3.5, 5.0),
    off: float = 1.0,
    method: StaLtaMethod = "recursive",
    tolerance_s: float = 1.0,
) -> pd.DataFrame:
    """Grid search of STA/LTA parameters by F1 on a validation part only (apply the best to the test part).

    Parameters
    ----------
    validation_stream : obspy.Stream
        Validation data.
    validation_reference : sequence of timestamps
        Reference event times inside the validation data.
    sta_s, lta_s, on : sequences
        Candidate values.
    off : float
        Trigger-off threshold.
    method : {"classic", "recursive", "delayed"}
        STA/LTA variant.
    tolerance_s : float
        Matching tolerance.

    Returns
    -------
    pandas.DataFrame
        One row per combination with precision, recall and F1, best first.
    """
    rows = []
    for s in sta_s:
        for lt in lta_s:
            if s >= lt:
                continue
            for thr in on:
                det = detect(validation_stream, method=method, sta_s=s, lta_s=lt, on=thr, off=min(off, thr))
                score = score_detections(det["time_on"], validation_reference, tolerance_s=tolerance_s)
                rows.append({"sta_s": s, "lta_s": lt, "on": thr, **score.to_dict()})
    return pd.DataFrame(rows).sort_values(["f1", "precision"], ascending=False).reset_index(drop=True)
