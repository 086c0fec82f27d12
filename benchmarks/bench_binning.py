"""The magnitude-binning fix on the QTM San Jacinto catalog: Gutenberg–Richter beta and pycsep's M- and N-tests,
before and after.

Before (the convention quakelab used until now): models keep events whose magnitude rounded half up to 0.1 is
>= mc (raw >= 0.95) for their rate, estimate b from the raw two-decimal magnitudes >= mc with the 0.1-bin
correction (Aki–Utsu), and label the forecast's bins by lower edges mc, mc + 0.1, ... so pycsep tests events
with raw M >= 1.00 in bins [1.0, 1.1), ...: the lowest bin is half filled compared with the model's counting.

After (quakelab.forecast): the catalog's magnitude resolution is declared (QTM: 0.01); magnitudes are rounded to
it, the threshold 1.0 is the cut 0.995 on continuous magnitudes, bin 1.0 holds the reported values 1.00-1.09
(edges at 0.995, 1.095, ...), beta from ``quakelab.stats.estimate_beta`` at resolution 0.01. A third row shows
the other reading of the convention applied to QTM (rounding two-decimal magnitudes to 0.1 and centring the
bins: bin 1.0 = [0.95, 1.05) of which the catalog, cut at 1.00, fills only half).

Same data, same homogeneous Poisson model (SanJac_10 region and learning period 2009-2016), test period
2016-2018. Usage: ``python benchmarks/bench_binning.py [--out reports/benchmarks/binning.json]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from quakelab.evaluate.benchmarks import SANJAC_10

REGION = SANJAC_10["region"]
MC, DM = 1.0, 0.1
FIT = (SANJAC_10["start"], SANJAC_10["end"])
TEST = (SANJAC_10["end"], SANJAC_10["test_end"])
MAX_M = 6.0
N_SIM = 1000


def _load_catalog(name: str) -> pd.DataFrame:
    """The one place this script reads a catalog (switch to quakelab.catalog.open_catalog when merged)."""
    from quakelab.datasets import get

    return get(name).load()


def before(cat: pd.DataFrame) -> dict:
    """The previous pipeline: PoissonModel rate, raw-magnitude Aki–Utsu b, lower-edge bins at mc."""
    import xarray as xr
    from csep.core import poisson_evaluations as pe

    from quakelab.evaluate.csep import poisson_grid, to_pycsep_catalog, to_pycsep_forecast
    from quakelab.models import PoissonModel
    from quakelab.region import Region

    region = Region.from_bbox(*REGION)
    model = PoissonModel(MC, region, magnitude_resolution=DM).fit(cat, start=FIT[0], end=FIT[1])
    t0, t1 = pd.Timestamp(FIT[0], tz="UTC"), pd.Timestamp(FIT[1], tz="UTC")
    raw = cat[
        (cat["time"] >= t0)
        & (cat["time"] < t1)
        & (cat["magnitude"] >= MC)
        & region.contains(cat["longitude"].to_numpy(), cat["latitude"].to_numpy())
    ]["magnitude"].to_numpy()
    b = np.log10(np.e) / (raw.mean() - (MC - DM / 2))  # the previous b_value on raw magnitudes
    mags = np.round(np.arange(MC, MAX_M + 1e-9, DM), 10)
    lon = np.round(np.arange(REGION[0], REGION[1], 0.1) + 0.05, 10)
    lat = np.round(np.arange(REGION[2], REGION[3], 0.1) + 0.05, 10)
    template = xr.Dataset(
        {
            "expected_count": (
                ("magnitude", "latitude", "longitude"),
                np.zeros((mags.size, lat.size, lon.size)),
            )
        },
        coords={"magnitude": mags, "latitude": lat, "longitude": lon},
        attrs={"start": TEST[0], "end": TEST[1], "cell_deg": 0.1},
    )
    ds = poisson_grid(template, model.mu_, region=region, b_value=b, name="Poisson (before)")
    fc = to_pycsep_forecast(ds)
    test = cat[
        (cat["time"] >= pd.Timestamp(TEST[0], tz="UTC")) & (cat["time"] < pd.Timestamp(TEST[1], tz="UTC"))
    ]
    pcat = to_pycsep_catalog(test, fc)
    m = pe.magnitude_test(fc, pcat, num_simulations=N_SIM, seed=0)
    n = pe.number_test(fc, pcat)
    obs25 = int((pcat.get_magnitudes() >= 2.5 - 1e-9).sum())
    exp25 = float(ds["expected_count"].sel(magnitude=slice(2.5 - 1e-9, None)).sum())
    return {
        "beta": float(b * np.log(10)),
        "b": float(b),
        "m_test_quantile": float(m.quantile),
        "n_test_delta1": float(n.quantile[0]),
        "n_test_delta2": float(n.quantile[1]),
        "expected_total": float(fc.event_count),
        "observed_total": int(pcat.event_count),
        "expected_m2_5": exp25,
        "observed_m2_5": obs25,
    }


def after(cat: pd.DataFrame, resolution: float = 0.01, fit: tuple[str, str] = FIT) -> dict:
    """quakelab.forecast: magnitudes at their resolution, bin edges at threshold - resolution/2, one beta estimator."""
    from csep.core import poisson_evaluations as pe

    from quakelab.forecast import GridSpec, PoissonForecaster, to_pycsep, to_pycsep_catalog

    grid = GridSpec(REGION, 0.1, MC, MAX_M, DM, magnitude_resolution=resolution)
    model = PoissonForecaster(REGION, MC, magnitude_resolution=resolution).fit(cat, *fit)
    ds = model.forecast(cat, *TEST, grid)
    fc = to_pycsep(ds)
    pcat = to_pycsep_catalog(cat, ds)
    m = pe.magnitude_test(fc, pcat, num_simulations=N_SIM, seed=0)
    n = pe.number_test(fc, pcat)
    obs25 = int((pcat.get_magnitudes() >= 2.5 - 1e-9).sum())
    exp25 = float(ds.quake.at_least(2.5).sum())
    return {
        "beta": model.beta_,
        "b": model.beta_ / np.log(10),
        "m_test_quantile": float(m.quantile),
        "n_test_delta1": float(n.quantile[0]),
        "n_test_delta2": float(n.quantile[1]),
        "expected_total": float(fc.event_count),
        "observed_total": int(pcat.event_count),
        "expected_m2_5": exp25,
        "observed_m2_5": obs25,
    }


def main() -> None:
    global MC
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    parser.add_argument(
        "--min-magnitude",
        "--mc",
        dest="min_magnitude",
        type=float,
        default=1.0,
        help="magnitude threshold (1.0: SanJac_10's; 1.3: Mc by maximum curvature + 0.2)",
    )
    args = parser.parse_args()
    MC = args.min_magnitude
    cat = _load_catalog("qtm-sanjacinto")
    rows = {
        "before": before(cat),
        "after": after(cat, 0.01),
        "rounded to 0.1 (half-filled)": after(cat, 0.1),
        # check of the machinery: a model fitted on the test period itself must pass its M-test
        "after, fitted on the test period": after(cat, 0.01, TEST),
    }
    table = pd.DataFrame(rows).T
    with pd.option_context(
        "display.width", 250, "display.max_columns", 20, "display.float_format", "{:.4g}".format
    ):
        print(table)
    if args.out:
        from quakelab.catalog.store import write_text_atomic

        write_text_atomic(args.out, json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
