"""Wald z against the signed root of the likelihood ratio for rho and log10_d, over seeds.

Companion of ``bench_etas_recovery_seeds.py`` (same truth, region, window and fit). Per seed it fits
the free model and two profiles (``rho`` fixed at its true value, then ``log10_d``), and prints the
Wald z, ``(estimate - truth) / std_error``, beside the signed root of the likelihood ratio,
``sign(estimate - truth) * sqrt(2 (ll_free - ll_profile))``. Both are N(0, 1) asymptotically; when the
log-likelihood is skewed in a parameter the Wald z has a nonzero mean while the signed root does not,
so a Wald-z bias that the signed root lacks is a property of the statistic, not of the estimator's
consistency or of the simulation.

Usage: nice -n 10 python benchmarks/bench_etas_signed_root.py [--seeds 8] [--parents all|in-region]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from benchmarks.bench_etas_recovery_seeds import prune_out_of_region, truth_parameters

PROFILED = ("rho", "log10_d")


def one_seed(seed: int, parents: str = "all") -> dict[str, float]:
    """Wald z and signed-root statistic of each parameter in :data:`PROFILED` for one seed."""
    from quakelab.models import ETAS
    from quakelab.region import Region

    region = Region.from_bbox(-117, -116, 33, 34)
    truth = truth_parameters()
    sim = ETAS(min_magnitude=2.0, region=region).set_params(truth, beta=2.3)
    if parents == "all":
        cat = sim.simulate("2000-01-01", "2002-07-01", seed=seed)
    else:
        full = sim.simulate("2000-01-01", "2002-07-01", seed=seed, region_only=False)
        inside = region.contains(full["longitude"].to_numpy(), full["latitude"].to_numpy())
        cat, _ = prune_out_of_region(full, inside)

    def fitted(fixed: dict[str, float] | None) -> ETAS:
        model = ETAS(
            min_magnitude=2.0,
            region=region,
            coppersmith_multiplier=None,
            method="newton",
            region_integral="exact",
            fixed=fixed,
        )
        return model.fit(cat, auxiliary_start="2000-01-01", start="2000-07-01", end="2002-07-01")

    free = fitted(None)
    table = free.parameter_table()
    out: dict[str, float] = {"seed": seed}
    for name in PROFILED:
        prof = fitted({name: truth[name]})
        diff = max(0.0, 2.0 * (free.log_likelihood_ - prof.log_likelihood_))
        est = float(table.loc[name, "value"])
        out[f"z_{name}"] = (est - truth[name]) / float(table.loc[name, "std_error"])
        out[f"r_{name}"] = math.copysign(math.sqrt(diff), est - truth[name])
    return out


def main(argv: list[str] | None = None) -> None:
    """Print one row per seed, then the mean and its standard error of each statistic."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="run seeds 1..N (default 8)")
    parser.add_argument("--parents", choices=("all", "in-region"), default="all")
    args = parser.parse_args(argv)
    rows = []
    for seed in range(1, args.seeds + 1):
        t0 = time.perf_counter()
        rows.append(one_seed(seed, args.parents))
        vals = " ".join(f"{k}={v:+.2f}" for k, v in rows[-1].items() if k != "seed")
        print(f"seed {seed}: {vals} ({time.perf_counter() - t0:.0f} s)", flush=True)
    frame = pd.DataFrame(rows).set_index("seed")
    summary = pd.DataFrame({"mean": frame.mean(), "s.e.": frame.std(ddof=1) / np.sqrt(len(frame))})
    print(summary.round(2).to_string())


if __name__ == "__main__":
    main()
