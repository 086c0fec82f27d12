"""Published benchmark settings and numbers that quakelab's models are measured against."""

from __future__ import annotations

import pandas as pd

from quakelab._compat import RenamedKeysDict

#: EarthquakeNPP SanJac_10 (Stockman, Lawson & Werner 2024, arXiv:2410.08226): QTM San Jacinto catalog,
#: its ETAS configuration ``Experiments/ETAS/config/SanJac_10.json`` and published test scores.
SANJAC_10 = RenamedKeysDict(
    {
        "dataset": "qtm-sanjacinto",
        "region": (-117.0, -116.0, 33.0, 34.0),
        "min_magnitude": 1.0,
        "magnitude_resolution": 0.1,
        "auxiliary_start": "2008-01-01",
        "start": "2009-01-01",
        "end": "2016-01-01",
        "test_end": "2018-01-01",
        "coppersmith_multiplier": 100,
        "theta0": {
            "log10_mu": -5.8,
            "log10_k0": -2.6,
            "a": 1.8,
            "log10_c": -2.5,
            "omega": -0.02,
            "log10_tau": 3.5,
            "log10_d": -0.85,
            "gamma": 1.3,
            "rho": 0.66,
        },
        #: lmizrahi/etas re-run of the reference fit (../shared/data/README.md)
        "reference_parameters": {
            "log10_mu": -4.1267,
            "log10_k0": -3.4786,
            "a": 1.2561,
            "log10_c": -4.3886,
            "omega": -0.18134,
            "log10_tau": 3.0096,
            "log10_d": -2.4939,
            "gamma": 0.83352,
            "rho": 0.47007,
        },
        "reference_fit_seconds": 549.0,
    },
    renamed={"bbox": "region", "mc": "min_magnitude", "delta_m": "magnitude_resolution"},
)

#: Mean log-likelihood per test event on SanJac_10 as published by EarthquakeNPP (temporal in
#: log(1/day), spatial in log(1/km²); higher is better).
SANJAC_10_PUBLISHED = pd.DataFrame(
    {
        "tll": [1.133, 0.794, 1.082, 1.062, 1.132],
        "sll": [-5.398, -9.240, -6.930, -6.397, -8.210],
    },
    index=pd.Index(["ETAS", "Poisson", "DeepSTPP", "AutoSTPP", "NSTPP"], name="model"),
)
