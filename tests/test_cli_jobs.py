"""The `quakelab catalog|stats|etas` commands, run as real subprocesses on pycsep's Ridgecrest sample
(and, for the many bad-argument cases, through `quakelab.cli.main` in-process: the same parser)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quakelab.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "ridgecrest-2019-sample"
BBOX = ["-118.2", "-117.0", "35.2", "36.4"]


def quakelab(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "MPLBACKEND": "Agg",
    }
    return subprocess.run(
        [sys.executable, "-m", "quakelab.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_catalog_info_json_subprocess(tmp_path):
    r = quakelab("catalog", "info", SAMPLE, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["n_events"] == 829 and s["rows_rejected_at_read"] == 0
    assert s["magnitude_range"] == [2.5, 5.5]
    assert s["largest_event"]["event_id"] == "pycsep:17"
    assert s["start"].startswith("2019-07-06T03:22:35.63")
    human = quakelab("catalog", "info", SAMPLE, cwd=tmp_path)
    assert human.returncode == 0 and human.stdout.startswith(f"{SAMPLE}: 829 events")
    assert "largest event    M5.5 2019-07-06 03:47:53" in human.stdout


def test_convert_quakeml_subprocess_and_back(tmp_path, sample_catalog):
    small = sample_catalog[sample_catalog["magnitude"] >= 4.0]  # a small file: the M>=4 events of the sample
    assert main(["catalog", "select", SAMPLE, "--min-magnitude", "4", "-o", str(tmp_path / "small.csv")]) == 0
    r = quakelab("catalog", "convert", "small.csv", "-o", "small.xml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{len(small)} events written to small.xml (quakeml)" in r.stdout
    assert "not a valid QuakeML URI" not in r.stderr
    import obspy

    events = obspy.read_events(str(tmp_path / "small.xml"))
    assert len(events) == len(small) > 10
    assert sorted(e.preferred_magnitude().mag for e in events) == sorted(small["magnitude"].tolist())
    assert (
        str(events[0].resource_id) == f"smi:local/event?eventid={small['event_id'].iloc[0].replace(':', '_')}"
    )
    # and from QuakeML on to the other formats (in-process: the same parser and jobs)
    from quakelab.cli_jobs import _open_source

    for name, fmt in [("rc.parquet", []), ("rc_pycsep.csv", ["--to", "pycsep"])]:
        assert (
            main(["catalog", "convert", str(tmp_path / "small.xml"), "-o", str(tmp_path / name), *fmt]) == 0
        )
        back = _open_source(str(tmp_path / name))
        assert len(back) == len(small)
        np.testing.assert_allclose(back["magnitude"], small["magnitude"])
        np.testing.assert_allclose(back["depth_km"], small["depth_km"], atol=1e-9)
        assert (back["time"].to_numpy() == small["time"].to_numpy()).all()
    import csep  # pycsep reads the pycsep CSV with its own loader

    pc = csep.load_catalog(str(tmp_path / "rc_pycsep.csv"))
    assert pc.event_count == len(small)
    assert math.isclose(float(pc.get_magnitudes().sum()), float(small["magnitude"].sum()), rel_tol=1e-9)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "rc.parquet",
        "rc_pycsep.csv",
        "small.csv",
        "small.xml",
    ]


def test_select_subprocess_matches_a_hand_selection(tmp_path, sample_catalog):
    r = quakelab(
        "catalog",
        "select",
        SAMPLE,
        "-o",
        "sel.parquet",
        "--min-magnitude",
        "3",
        "--bbox",
        *BBOX,
        "--start",
        "2019-07-07",
        "--end",
        "2019-07-10",
        "--max-depth",
        "10",
        "--json",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    c = sample_catalog
    keep = (
        (c["magnitude"] >= 3)
        & c["longitude"].between(-118.2, -117.0)
        & c["latitude"].between(35.2, 36.4)
        & (c["time"] >= pd.Timestamp("2019-07-07", tz="UTC"))
        & (c["time"] < pd.Timestamp("2019-07-10", tz="UTC"))
        & (c["depth_km"] <= 10)
    )
    s = json.loads(r.stdout)
    assert s["n_read"] == 829 and s["n_selected"] == int(keep.sum()) > 50
    out = pd.read_parquet(tmp_path / "sel.parquet")
    assert sorted(out["event_id"]) == sorted(c.loc[keep, "event_id"])
    assert [p.name for p in tmp_path.iterdir()] == ["sel.parquet"]  # nothing temporary left


def test_event_type_selection(tmp_path):
    import obspy

    from quakelab.catalog import catalog_from_obspy
    from quakelab.cli_jobs import write_catalog

    cat = catalog_from_obspy(obspy.read_events())  # ObsPy's example events (3, types not reported)
    cat["event_type"] = ["quarry blast", "earthquake", "earthquake"]
    write_catalog(cat, tmp_path / "typed.csv", "csv")
    assert (
        main(
            [
                "catalog",
                "select",
                str(tmp_path / "typed.csv"),
                "-o",
                str(tmp_path / "eq.csv"),
                "--event-types",
                "earthquake",
            ]
        )
        == 0
    )
    out = pd.read_csv(tmp_path / "eq.csv")
    assert len(out) == len(cat) - 1 and set(out["event_type"]) == {"earthquake"}


@pytest.mark.parametrize(
    "argv, argument",
    [
        (
            ["catalog", "info", "ridgecrest-2019-smaple"],
            "argument SOURCE: unknown catalog 'ridgecrest-2019-smaple': not a "
            "registered dataset, a 'catalogs:' entry or an existing file "
            "(did you mean 'ridgecrest-2019-sample'?)",
        ),
        (
            ["catalog", "select", SAMPLE, "-o", "x.parquet", "--bbox", "-118", "-117", "95", "36"],
            "argument --bbox: latitudes",
        ),
        (
            ["catalog", "select", SAMPLE, "-o", "x.parquet", "--bbox", "-117", "-118", "35", "36"],
            "argument --bbox: need lonmin < lonmax",
        ),
        (
            ["catalog", "select", SAMPLE, "-o", "x.parquet", "--start", "2019-07-08", "--end", "2019-07-07"],
            "argument --end",
        ),
        (
            ["catalog", "select", SAMPLE, "-o", "x.parquet", "--min-magnitude", "4", "--max-magnitude", "3"],
            "argument --max-magnitude",
        ),
        (["catalog", "convert", SAMPLE, "-o", "x.txt"], "argument -o: cannot tell the format of x.txt"),
        (["stats", SAMPLE, "--plot", "fmd.jpg2"], "argument --plot"),
        (
            [
                "etas",
                "fit",
                SAMPLE,
                "--region",
                *BBOX[:3],
                "--min-magnitude",
                "3",
                "--start",
                "2019-07-07",
                "--end",
                "2019-07-08",
                "-o",
                "m.json",
            ],
            "argument --region: expected 4 numbers",
        ),
        (
            [
                "etas",
                "fit",
                SAMPLE,
                "--region",
                "missing.geojson",
                "--min-magnitude",
                "3",
                "--start",
                "2019-07-07",
                "--end",
                "2019-07-08",
                "-o",
                "m.json",
            ],
            "argument --region: polygon file not found",
        ),
        (
            [
                "etas",
                "fit",
                SAMPLE,
                "--region",
                *BBOX,
                "--min-magnitude",
                "3",
                "--start",
                "2019-07-08",
                "--end",
                "2019-07-07",
                "-o",
                "m.json",
            ],
            "argument --end",
        ),
        (
            [
                "etas",
                "fit",
                SAMPLE,
                "--region",
                *BBOX,
                "--min-magnitude",
                "3",
                "--start",
                "2019-07-07",
                "--end",
                "2019-07-08",
                "--fix",
                "tau=3",
                "-o",
                "m.json",
            ],
            "argument --fix",
        ),
        (
            [
                "etas",
                "fit",
                SAMPLE,
                "--region",
                *BBOX,
                "--min-magnitude",
                "3",
                "--start",
                "2019-07-07",
                "--end",
                "2019-07-08",
                "-o",
                "m.txt",
            ],
            "argument -o: m.txt: expected a file ending in .json",
        ),
        (
            [
                "etas",
                "fit",
                SAMPLE,
                "--region",
                *BBOX,
                "--min-magnitude",
                "5.4",
                "--start",
                "2019-07-07",
                "--end",
                "2019-07-08",
                "-o",
                "m.json",
            ],
            "argument SOURCE: ridgecrest-2019-sample: no events with M >= 5.4",
        ),
        (
            [
                "etas",
                "forecast",
                "missing.json",
                "--history",
                SAMPLE,
                "--start",
                "2019-07-10",
                "--days",
                "1",
                "-o",
                "f.nc",
            ],
            "argument MODEL: model file not found",
        ),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(tmp_path, monkeypatch, capsys, argv, argument):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert argument in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    "argv, argument",
    [
        (["catalog", "select", SAMPLE, "-o", "x.csv", "--start", "someday"], "argument --start: not a time"),
        (
            [
                "etas",
                "fit",
                SAMPLE,
                "--region",
                *BBOX,
                "--min-magnitude",
                "abc",
                "--start",
                "2019-07-07",
                "--end",
                "2019-07-08",
                "-o",
                "m.json",
            ],
            "argument --min-magnitude/--mc: not a number",
        ),
        (
            [
                "etas",
                "forecast",
                "m.json",
                "--history",
                SAMPLE,
                "--start",
                "2019-07-10",
                "--days",
                "0",
                "-o",
                "f.nc",
            ],
            "argument --days: must be positive",
        ),
    ],
)
def test_malformed_values_are_rejected_by_the_parser(tmp_path, monkeypatch, capsys, argv, argument):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and argument in capsys.readouterr().err


def test_bad_input_exit_status_subprocess(tmp_path):
    r = quakelab(
        "etas",
        "fit",
        SAMPLE,
        "--region",
        "-118",
        "-117",
        "35",
        "95",
        "--min-magnitude",
        "3",
        "--start",
        "2019-07-07",
        "--end",
        "2019-07-08",
        "-o",
        "m.json",
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "argument --region: latitudes" in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_polygon_region_file(tmp_path):
    from quakelab.cli_jobs import UsageError, _region

    (tmp_path / "r.json").write_text(
        json.dumps({"type": "Polygon", "coordinates": [[[-118, 35], [-117, 35], [-117, 36], [-118, 35]]]})
    )
    (tmp_path / "r.txt").write_text("# lon lat\n-118 35\n-117 35\n-117 36\n")
    for f in ("r.json", "r.txt"):
        reg = _region([str(tmp_path / f)])
        assert reg.vertices == ((-118.0, 35.0), (-117.0, 35.0), (-117.0, 36.0))
    (tmp_path / "bad.txt").write_text("-118 35\n-117\n")
    with pytest.raises(UsageError, match="line 2: expected 'lon lat'"):
        _region([str(tmp_path / "bad.txt")])


def test_stats_subprocess(tmp_path):
    r = quakelab("stats", SAMPLE, "--plot", "fmd.png", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["mc"] == {"maxc": 2.9, "gft": 3.1, "mbs": 3.3}
    # magnitudes binned to 0.1 first: 523 events round to M >= 2.9 (hand count: magnitude >= 2.85)
    assert s["n_above_mc"] == 523 and round(s["b_value"], 3) == 0.747 and round(s["b_value_std"], 3) == 0.025
    assert round(s["b"]["mbs"]["b"], 3) == 0.982
    assert any(c.startswith("Mc depends on the method") for c in s["caveats"])
    assert (tmp_path / "fmd.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _background_only_model(path: Path):
    """An ETAS model whose triggering is negligible: its forecast is mu x area x days (a known answer)."""
    from quakelab.models import ETAS

    m = ETAS(min_magnitude=3.0, region=tuple(float(v) for v in BBOX))
    m.set_params(
        dict(
            log10_mu=-5.0,
            log10_k0=-12.0,
            a=1.0,
            log10_c=-2.0,
            omega=0.1,
            log10_tau=3.0,
            log10_d=-0.5,
            gamma=1.0,
            rho=0.8,
        ),
        beta=2.3,
    )
    m.save(path)
    return m


@pytest.mark.slow
def test_etas_forecast_subprocess_known_answer(tmp_path):
    import xarray as xr

    model = _background_only_model(tmp_path / "m.json")
    r = quakelab(
        "etas",
        "forecast",
        "m.json",
        "--history",
        SAMPLE,
        "--start",
        "2019-07-10",
        "--days",
        "2",
        "--n-simulations",
        "20",
        "--seed",
        "3",
        "-o",
        "f.nc",
        "--json",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    expected = 1e-5 * model.area_km2 * 2.0
    assert math.isclose(s["expected_events"], expected, rel_tol=1e-6)
    with xr.open_dataset(tmp_path / "f.nc", engine="scipy") as ds:
        assert ds["expected_count"].dims == ("magnitude", "latitude", "longitude")
        assert ds["expected_count"].shape == (41, 12, 12)
        assert ds["rate"].attrs["units"] == "events per day per cell"
        assert ds["latitude"].attrs["units"] == "degrees_north"
        assert math.isclose(float(ds["expected_count"].sum()), expected, rel_tol=1e-6)
        assert ds.attrs["days"] == 2.0 and ds.attrs["n_history_events"] == 627
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.nc", "m.json"]


@pytest.mark.slow
def test_etas_fit_subprocess(tmp_path, sample_catalog):
    r = quakelab(
        "etas",
        "fit",
        SAMPLE,
        "--region",
        *BBOX,
        "--min-magnitude",
        "3.5",
        "--auxiliary-start",
        "2019-07-06",
        "--start",
        "2019-07-06T06:00",
        "--end",
        "2019-07-10",
        "--fix",
        "log10_tau=3",
        "--no-standard-errors",
        "-o",
        "m.json",
        "--json",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    c = sample_catalog
    mags = (
        np.floor(c["magnitude"] / 0.1 + 0.5 + 1e-9) * 0.1
    )  # rounded half up to the 0.1 bins, as the model does
    targets = (
        (mags >= 3.5 - 1e-9)
        & c["longitude"].between(-118.2, -117.0)
        & c["latitude"].between(35.2, 36.4)
        & (c["time"] >= pd.Timestamp("2019-07-06T06:00", tz="UTC"))
        & (c["time"] < pd.Timestamp("2019-07-10", tz="UTC"))
    )
    assert s["n_targets"] == int(targets.sum())
    assert 0 < s["branching_ratio"] < 1 and s["parameters"]["log10_tau"] == 3.0
    from quakelab.models import ETAS

    m = ETAS.load(tmp_path / "m.json")
    assert m.params_.to_dict() == pytest.approx(s["parameters"])
    assert all(name in " ".join(s["caveats"]) for name in s["at_bound"])
