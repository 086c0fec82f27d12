"""Reading waveforms through ObsPy, and explicit handling of gaps and overlaps."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import pandas as pd


class WaveformError(ValueError):
    """Waveform input that cannot be used; the message names the file and trace id."""


def read_waveforms(paths: str | os.PathLike | Iterable[str | os.PathLike], *, format: str | None = None):
    """Read one or more files with :func:`obspy.read` (miniSEED, SAC, GSE2, SEED, ...).

    Parameters
    ----------
    paths : path or iterable of paths
        Files (globs are expanded by ObsPy).
    format : str, optional
        ObsPy format name; detected from the content when None.

    Returns
    -------
    obspy.Stream
        All traces, each with ``stats.source`` set to its file.

    Raises
    ------
    WaveformError
        Naming the file that is missing, unreadable or empty.

    Examples
    --------
    >>> st = read_waveforms(example_path("II.TLY.BHZ.SAC"))  # doctest: +SKIP
    >>> st[0].id  # doctest: +SKIP
    'II.TLY.00.BHZ'
    """
    import obspy

    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise WaveformError("no waveform files given")
    stream = obspy.Stream()
    for item in items:
        path = str(item)
        if not any(ch in path for ch in "*?[") and not Path(path).exists():
            raise WaveformError(f"waveform file not found: {path}")
        try:
            st = obspy.read(path, format=format) if format else obspy.read(path)
        except Exception as exc:  # noqa: BLE001 - ObsPy raises many types; report the file
            raise WaveformError(f"{path}: cannot read waveforms ({type(exc).__name__}: {exc})") from exc
        if len(st) == 0:
            raise WaveformError(f"{path}: file holds no traces")
        for tr in st:
            tr.stats.source = path
        stream += st
    return stream


def example_path(name: str) -> Path:
    """Path of a real example recording shipped inside ObsPy (works offline).

    Known names: ``II.TLY.BHZ.SAC`` (Tohoku day, 2011-03-11), ``CRLZ.HHZ.10.NZ.SAC``, ``IUANMO.seed``.
    """
    import importlib.util

    spec = importlib.util.find_spec("obspy")
    base = Path(next(iter(spec.submodule_search_locations)))
    where = {
        "II.TLY.BHZ.SAC": base / "realtime" / "tests" / "data",
        "CRLZ.HHZ.10.NZ.SAC": base / "signal" / "tests" / "data",
        "IUANMO.seed": base / "signal" / "tests" / "data",
    }
    if name not in where:
        raise WaveformError(f"unknown example {name!r}; known: {sorted(where)}")
    return where[name] / name


def gaps_report(stream) -> pd.DataFrame:
    """Every gap and overlap of a stream (ObsPy's ``get_gaps``) as a table.

    Returns
    -------
    pandas.DataFrame
        ``trace_id, start, end, duration_s, n_samples, kind`` (``gap`` or ``overlap``).
    """
    rows = []
    for net, sta, loc, cha, t0, t1, delta, nsamp in stream.get_gaps():
        rows.append(
            {
                "trace_id": f"{net}.{sta}.{loc}.{cha}",
                "start": pd.Timestamp(t0.datetime, tz="UTC"),
                "end": pd.Timestamp(t1.datetime, tz="UTC"),
                "duration_s": float(delta),
                "n_samples": int(nsamp),
                "kind": "overlap" if delta < 0 else "gap",
            }
        )
    return pd.DataFrame(rows, columns=["trace_id", "start", "end", "duration_s", "n_samples", "kind"])


def apply_gap_policy(
    stream, policy: Literal["merge", "fill", "split"] = "merge", *, fill_value: float | str = 0.0
):
    """Resolve gaps and overlaps by an explicit policy; the report of what was found is returned too.

    Parameters
    ----------
    stream : obspy.Stream
        Input (not modified).
    policy : {"merge", "fill", "split"}
        ``merge``: one trace per id, gaps stay masked (numpy masked arrays), overlaps are resolved by
        ObsPy's method 1 (interpolation where samples disagree); ``fill``: like merge, gaps filled with
        ``fill_value`` (a number, ``"interpolate"`` or ``"latest"``); ``split``: contiguous pieces
        without masks.
    fill_value : float or str
        See ``fill``.

    Returns
    -------
    tuple of (obspy.Stream, pandas.DataFrame)
        The resolved stream and :func:`gaps_report` of the input.
    """
    report = gaps_report(stream)
    st = stream.copy()
    if policy == "merge":
        st.merge(method=1, fill_value=None)
    elif policy == "fill":
        st.merge(method=1, fill_value=fill_value)
    elif policy == "split":
        st.merge(method=1, fill_value=None)
        st = st.split()
    else:
        raise WaveformError(f"unknown gap policy {policy!r}; use 'merge', 'fill' or 'split'")
    for tr in st:
        tr.stats.gap_policy = policy
    return st, report
