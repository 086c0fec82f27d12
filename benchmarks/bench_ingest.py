"""Catalog ingest benchmark: a one-million-row ComCat CSV read into a validated catalog.

Baseline, measured in the same run on the same file: plain ``pandas.read_csv`` (default C engine,
no validation). Prints the best of ``--repeat`` timings for each and their ratio (machines are noisy:
compare ratios, not absolute times). Target: ratio <= 2.5 and under 5 s on a 2-core machine.

Then what each step of the reader costs, as a fraction of the baseline: the strict tokenising (every
row's number of fields checked, physical lines confirmed by a line count) against a plain
tokenising, the time parsing, the numeric and range checks, the duplicate-id check and the
exact-duplicate check that files without ids get (measured on the same rows without the id column).

Usage: python benchmarks/bench_ingest.py [--rows N] [--repeat K] [--no-breakdown]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from quakelab.catalog import read_catalog
from quakelab.datasets import load

COMCAT_COLUMNS = [
    "time",
    "latitude",
    "longitude",
    "depth",
    "mag",
    "magType",
    "nst",
    "gap",
    "dmin",
    "rms",
    "net",
    "id",
    "updated",
    "place",
    "type",
    "horizontalError",
    "depthError",
    "magError",
    "magNst",
    "status",
    "locationSource",
    "magSource",
]


def make_comcat_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """Write a ComCat-format CSV of ``rows`` events resampled from the real Ridgecrest sample."""
    rng = np.random.default_rng(seed)
    base = load("ridgecrest-2019-sample")
    idx = rng.integers(0, len(base), rows)
    t0 = pd.Timestamp("2000-01-01", tz="UTC")
    times = t0 + pd.to_timedelta(np.sort(rng.uniform(0, 25 * 365.25 * 86400, rows)), unit="s")
    frame = pd.DataFrame(
        {
            "time": times.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z",
            "latitude": np.round(base["latitude"].to_numpy()[idx] + rng.normal(0, 0.5, rows), 4),
            "longitude": np.round(base["longitude"].to_numpy()[idx] + rng.normal(0, 0.5, rows), 4),
            "depth": np.round(np.abs(base["depth_km"].to_numpy()[idx] + rng.normal(0, 1, rows)), 2),
            "mag": np.round(base["magnitude"].to_numpy()[idx] - 1.0, 2),
            "magType": rng.choice(["ml", "md", "mw"], rows, p=[0.7, 0.25, 0.05]),
            "nst": rng.integers(5, 120, rows),
            "gap": np.round(rng.uniform(20, 300, rows), 0),
            "dmin": np.round(rng.uniform(0, 0.5, rows), 5),
            "rms": np.round(rng.uniform(0.05, 0.4, rows), 2),
            "net": "ci",
            "id": [f"ci{40000000 + i}" for i in range(rows)],
            "updated": "2024-01-01T00:00:00.000Z",
            "place": "10km NE of Ridgecrest, CA",
            "type": rng.choice(["earthquake", "quarry blast", "explosion"], rows, p=[0.98, 0.015, 0.005]),
            "horizontalError": np.round(rng.uniform(0.1, 1, rows), 2),
            "depthError": np.round(rng.uniform(0.2, 2, rows), 2),
            "magError": np.round(rng.uniform(0.05, 0.3, rows), 3),
            "magNst": rng.integers(3, 60, rows),
            "status": "reviewed",
            "locationSource": "ci",
            "magSource": "ci",
        }
    )[COMCAT_COLUMNS]
    frame.to_csv(path, index=False)
    return path


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def breakdown(path: Path, baseline: float, repeat: int) -> None:
    """Cost of each check of the reader on ``path``, in seconds and as a fraction of ``baseline``."""
    from quakelab.catalog.readers import PRESETS, _apply_mapping, read_delimited, sniff_header
    from quakelab.catalog.validate import _numeric, _parse_times, build_catalog

    header = sniff_header(path)
    cols = PRESETS["comcat"].columns
    plain = best_of(lambda: pd.read_csv(path, engine="pyarrow"), repeat)
    strict = best_of(lambda: read_delimited(path, header), repeat)
    raw = _apply_mapping(read_delimited(path, header).frame, cols, str(path))
    text_times = raw["time"].astype(str)
    times = best_of(lambda: _parse_times(raw["time"], None, None), repeat)
    times_text = best_of(lambda: _parse_times(text_times, None, None), repeat)
    numeric = best_of(
        lambda: [
            _numeric(raw[c], c, (-1e9, 1e9), True) for c in ("latitude", "longitude", "depth_km", "magnitude")
        ],
        repeat,
    )
    ids = raw["event_id"].astype("string").str.strip()
    dup_ids = best_of(lambda: ids.is_unique, repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = best_of(lambda: build_catalog(raw, source=str(path)), repeat)
        no_ids = raw.drop(columns="event_id")
        full_no_ids = best_of(lambda: build_catalog(no_ids, source=str(path)), repeat)
    rows = [
        ("tokenising, pandas.read_csv(engine='pyarrow') (no checks)", plain),
        ("tokenising with field counts and line numbers checked", strict),
        ("  -> cost of the structural checks", strict - plain),
        ("times (pyarrow-inferred timestamps)", times),
        ("times from text (ISO 8601, zone required)", times_text),
        ("latitude, longitude, depth, magnitude: numeric and range", numeric),
        ("duplicate event ids", dup_ids),
        ("build_catalog (all value checks, canonical frame)", full),
        ("exact duplicate events (file without ids)", full_no_ids - full),
    ]
    print(f"cost of each step (best of {repeat}), as a fraction of the baseline read_csv ({baseline:.2f} s):")
    for name, t in rows:
        print(f"  {name:58s} {t:6.2f} s  {t / baseline:5.2f} x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-breakdown", action="store_true", help="only the end-to-end ratio")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="quakelab-bench-") as tmp:
        path = make_comcat_csv(Path(tmp) / "comcat.csv", args.rows)
        size_mb = path.stat().st_size / 2**20
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a clean file must read without rejections
            cat = read_catalog(path)
        assert len(cat) == args.rows, len(cat)
        # interleaved, so that a change in the machine's load hits both sides alike
        pairs = [
            (best_of(lambda: pd.read_csv(path), 1), best_of(lambda: read_catalog(path), 1))
            for _ in range(args.repeat)
        ]
        baseline, ours = min(p[0] for p in pairs), min(p[1] for p in pairs)
        print(f"ingest of {args.rows:,} ComCat rows ({size_mb:.0f} MiB), best of {args.repeat}:")
        print(f"  pandas.read_csv (baseline, no validation): {baseline:6.2f} s")
        print(f"  quakelab.read_catalog (validated)        : {ours:6.2f} s")
        print(
            f"  ratio read_catalog / read_csv             : {ours / baseline:6.2f}  (target <= 2.5, and < 5 s)"
        )
        if not args.no_breakdown:
            breakdown(path, baseline, args.repeat)


if __name__ == "__main__":
    main()
