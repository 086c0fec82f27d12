"""Neural temporal point process training benchmark on EarthquakeNPP SanJac_10 (CPU).

Times the training of the RECAST-style model of notebook 07 (GRU 32 units, 8 log-normal components, windows
of 512 events with 128 of context, early stopping on 2014-2015) on 2009-2013, and, as the baseline measured
in the same run, the EM fit of spatio-temporal ETAS on the same data (2009-2015 targets, history from 2008,
as in the benchmark). Target: the neural model trains in under 10 minutes on a 2-core CPU.

Usage: python benchmarks/bench_npp.py [--epochs 200]
"""

from __future__ import annotations

import argparse
import os
import time

from quakelab import datasets
from quakelab.evaluate import SANJAC_10
from quakelab.learn import NeuralTPP
from quakelab.models import ETAS

BBOX = (-117.0, -116.0, 33.0, 34.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=200)
    args = ap.parse_args()
    catalog = datasets.load("qtm-sanjacinto")
    etas = ETAS(min_magnitude=1.0, region=BBOX, theta0=SANJAC_10["theta0"])
    t = time.perf_counter()
    etas.fit(
        catalog, auxiliary_start="2008-01-01", start="2009-01-01", end="2016-01-01", standard_errors=False
    )
    etas_s = time.perf_counter() - t
    events = etas.select_events(catalog, "2008-01-01", "2018-01-01")
    npp = NeuralTPP(epochs=args.epochs, seed=0)
    t = time.perf_counter()
    npp.fit(events, min_magnitude=1.0, train_start="2009-01-01", train_end="2014-01-01", val_end="2016-01-01")
    npp_s = time.perf_counter() - t
    score = npp.score(events, test_start="2016-01-01", test_end="2018-01-01")
    print(f"CPU cores: {os.cpu_count()}")
    print(f"ETAS EM fit (baseline):       {etas_s:7.1f} s")
    print(
        f"neural TPP training:          {npp_s:7.1f} s  ({len(npp.history_)} epochs, "
        f"{npp.n_train_intervals_:,} training intervals; target < 600 s)"
    )
    print(f"ratio neural TPP / ETAS fit:  {npp_s / etas_s:7.2f}")
    print(f"neural TPP test TLL:          {score.tll:.4f} over {score.n_test_events} events")


if __name__ == "__main__":
    main()
