"""Training speed of the spatio-temporal neural point process on SanJac_10: XLA-compiled steps against graphs.

Trains notebook 09's chosen variant (GRU 32 units, 384 recent events with 5 Gaussian kernels 0.15-15 km,
uniform + KDE 0.5/2/8 km + adaptive k = 5, 20 background) on 2009-2013 with validation 2014-2015, for a few
epochs, twice in this process with the same seed: the baseline runs the training step as a TensorFlow graph
(``jit_compile=False``), the other as one XLA-compiled program (the default). Prints, for each, the first
epoch (tracing and compiling included), the median seconds per later epoch, the validation NLL per event after
each epoch (the two should agree to rounding), and the ratio.

Usage: python benchmarks/bench_stnpp_training.py [--epochs 4] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import resource

import numpy as np

from quakelab import datasets
from quakelab.learn.stpp import SpatioTemporalNPP, limit_threads
from quakelab.models import ETAS

REGION = (-117.0, -116.0, 33.0, 34.0)
CHOSEN = dict(
    units=32,
    n_neighbours=384,
    n_scales=5,
    kernel_scales_km=(0.15, 0.5, 1.5, 5.0, 15.0),
    background_km=(0.5, 2.0, 8.0),
    adaptive_k=(5, 20),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    limit_threads(args.threads)
    catalog = datasets.load("qtm-sanjacinto")
    events = ETAS(min_magnitude=1.0, region=REGION).select_events(catalog, "2008-01-01", "2018-01-01")
    per_epoch = {}
    for label, jit in (("graph (baseline)", False), ("XLA-compiled", True)):
        model = SpatioTemporalNPP(**CHOSEN, epochs=args.epochs, patience=args.epochs, seed=0, jit_compile=jit)
        load0 = os.getloadavg()[0]
        model.fit(
            events,
            min_magnitude=1.0,
            region=REGION,
            train_start="2009-01-01",
            train_end="2014-01-01",
            val_end="2016-01-01",
        )
        sec = np.diff(np.concatenate([[0.0], model.history_["seconds"].to_numpy()]))
        per_epoch[label] = float(np.median(sec[1:])) if len(sec) > 1 else float(sec[0])
        print(
            f"{label:18s} first epoch {sec[0]:6.1f} s, median later epoch {per_epoch[label]:6.1f} s, "
            f"validation NLL per event {np.round(model.history_['val_loss'].to_numpy(), 4).tolist()}, "
            f"load {load0:.1f} -> {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    base, new = per_epoch["graph (baseline)"], per_epoch["XLA-compiled"]
    print(f"speed-up per epoch: {base / new:.2f}x ({base:.1f} s -> {new:.1f} s)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
