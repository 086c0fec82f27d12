"""Waveform processing benchmark: processing chain + STA/LTA over one day of 100 Hz data for 10 stations.

Data are generated from a real recording shipped with ObsPy (BW.RJOB, 100 Hz): its 30-s vertical trace is
tiled with per-station random shifts and noise to 24 h. Baseline, measured in the same run: ObsPy's own
per-trace loop (detrend, taper, bandpass, recursive STA/LTA, trigger_onset). quakelab runs the same
steps through ProcessingChain + detect, serially and with dask threads over stations. Ratios, not
absolute times, are what to compare.

Usage: python benchmarks/bench_waveforms.py [--stations 10] [--hours 24]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import obspy
from obspy.signal.trigger import recursive_sta_lta, trigger_onset

from quakelab.waveforms import ProcessingChain, detect

STEPS = [
    ("detrend", {"type": "linear"}),
    ("taper", {"max_percentage": 0.001}),
    ("filter", {"type": "bandpass", "freqmin": 1.0, "freqmax": 10.0}),
]


def make_stream(n_stations: int, hours: float, seed: int = 0) -> obspy.Stream:
    rng = np.random.default_rng(seed)
    base = obspy.read().select(component="Z")[0]
    fs = base.stats.sampling_rate
    n = int(hours * 3600 * fs)
    reps = n // base.stats.npts + 1
    traces = []
    for i in range(n_stations):
        data = np.roll(np.tile(base.data.astype(np.float64), reps)[:n], int(rng.integers(0, base.stats.npts)))
        data += rng.normal(0, base.data.std() * 0.1, n)
        traces.append(
            obspy.Trace(
                data,
                header={
                    "network": "XX",
                    "station": f"S{i:02d}",
                    "channel": "HHZ",
                    "sampling_rate": fs,
                    "starttime": obspy.UTCDateTime("2020-01-01"),
                },
            )
        )
    return obspy.Stream(traces)


def obspy_loop(stream: obspy.Stream) -> int:
    n = 0
    for tr in stream.copy():
        tr.detrend("linear")
        tr.taper(max_percentage=0.001)
        tr.filter("bandpass", freqmin=1.0, freqmax=10.0)
        cft = recursive_sta_lta(tr.data, 100, 1000)
        cft[:1000] = 0.0
        n += len(trigger_onset(cft, 3.5, 1.0))
    return n


def ours(stream: obspy.Stream, parallel: bool) -> int:
    proc = ProcessingChain(STEPS).apply(stream, parallel=parallel)
    return len(detect(proc, method="recursive", sta_s=1.0, lta_s=10.0, on=3.5, off=1.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=10)
    ap.add_argument("--hours", type=float, default=24.0)
    args = ap.parse_args()
    st = make_stream(args.stations, args.hours)
    n_samples = sum(tr.stats.npts for tr in st)
    timings = {}
    for name, fn in [
        ("obspy per-trace loop (baseline)", lambda: obspy_loop(st)),
        ("quakelab chain + detect, serial", lambda: ours(st, False)),
        ("quakelab chain + detect, dask threads", lambda: ours(st, True)),
    ]:
        t = time.perf_counter()
        count = fn()
        timings[name] = (time.perf_counter() - t, count)
    base = timings["obspy per-trace loop (baseline)"][0]
    print(f"{args.stations} stations x {args.hours:g} h at 100 Hz = {n_samples:,} samples")
    for name, (secs, count) in timings.items():
        print(f"  {name:40s} {secs:7.2f} s  ratio {secs / base:5.2f}  triggers {count}")


if __name__ == "__main__":
    main()
