"""The `catalogs:` section of papermill_runs.yaml and the catalog checks made before any kernel starts."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from quakelab.cli import main
from quakelab.pipeline import load_config, select_runs, validate_runs
from quakelab.pipeline.config import bbox_problem

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
PARAMS = """from typing import Optional
output_dir: str = "out"  # set by the runner
dataset: str = "ridgecrest-2019-sample"  # a dataset name
catalog: Optional[dict] = None  # an entry
region: Optional[list] = None  # [min_lon, max_lon, min_lat, max_lat]
min_magnitude: Optional[float] = None  # magnitude threshold
"""
BODY = """from quakelab.catalog import open_catalog
from quakelab.pipeline import record_metrics
cat = open_catalog(catalog if catalog else dataset)
record_metrics(output_dir, {"n": len(cat), "catalog": catalog})
"""
SEMICOLON = {
    "path": str(DATA / "user_catalog_semicolon.csv"),
    "delimiter": ";",
    "timezone": "UTC",
    "columns": {"time": "origin_utc", "latitude": "lat_deg", "longitude": "lon_deg", "magnitude": "ml"},
}


def project(tmp_path: Path, runs: list[dict], catalogs: dict | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(BODY)]
    (tmp_path / "nb").mkdir(exist_ok=True)
    nbformat.write(nb, tmp_path / "nb" / "toy.ipynb")
    cfg = tmp_path / "runs.yaml"
    doc = {"runs": [{"notebook": "nb/toy.ipynb", "tags": ["default"], **r} for r in runs]}
    if catalogs is not None:
        doc["catalogs"] = catalogs
    cfg.write_text(yaml.safe_dump(doc))
    return cfg


def test_entry_resolved_with_an_absolute_path(tmp_path):
    shutil.copy(DATA / "user_catalog_semicolon.csv", tmp_path / "mine.csv")
    cfg = project(
        tmp_path,
        [
            {"name": "a", "parameters": {"catalog": "mine"}},
            {"name": "b", "parameters": {"dataset": "mine"}},
            {"name": "c", "parameters": {"catalog": "mine.csv"}},
            {"name": "d", "parameters": {"catalog": "ridgecrest-2019-sample"}},
        ],
        catalogs={"mine": {**SEMICOLON, "path": "mine.csv"}},
    )
    config = load_config(cfg)
    a = config.runs["a"].parameters["catalog"]
    assert a["path"] == str(tmp_path / "mine.csv") and a["name"] == "mine" and a["delimiter"] == ";"
    assert config.runs["b"].parameters == {"catalog": a}  # a dataset naming an entry moves to catalog
    assert config.runs["c"].parameters["catalog"] == {"path": str(tmp_path / "mine.csv"), "name": "mine.csv"}
    assert config.runs["d"].parameters == {"dataset": "ridgecrest-2019-sample"}  # shared data stays skippable
    assert validate_runs(select_runs(config)) == []


def test_user_errors_are_rejected_before_any_kernel_starts(tmp_path, capsys):
    cfg = project(
        tmp_path,
        [
            {"name": "typo", "parameters": {"catalog": "mine2"}},
            {"name": "typo-dataset", "parameters": {"dataset": "ridgecrest-2019-smaple"}},
            {"name": "nofile", "parameters": {"catalog": "gone"}},
            {"name": "badcols", "parameters": {"catalog": "badcols"}},
            {"name": "bbox-len", "parameters": {"region": [1.0, 2.0, 3.0]}},
            {"name": "bbox-order", "parameters": {"region": [-116.0, -117.0, 33.0, 34.0]}},
            {"name": "bbox-lat", "parameters": {"region": [-117.0, -116.0, 33.0, 95.0]}},
        ],
        catalogs={
            "mine": SEMICOLON,
            "gone": {"path": "nowhere.csv"},
            "badcols": {**SEMICOLON, "columns": {**SEMICOLON["columns"], "magnitude": "mL"}},
        },
    )
    problems = validate_runs(select_runs(load_config(cfg)))
    text = "\n".join(problems)
    assert len(problems) == 7, text
    assert "unknown catalog 'mine2'" in problems[0] and "did you mean 'mine'" in problems[0]
    assert "did you mean 'ridgecrest-2019-sample'" in problems[1]
    assert f"file not found: {tmp_path / 'nowhere.csv'}" in problems[2]
    assert "columns 'mL' (did you mean 'ml'?) not in the header" in problems[3]
    assert "4 numbers, got 3" in problems[4]
    assert "min_lon -116.0 > max_lon -117.0" in problems[5]
    assert "latitude 95.0 outside -90..90" in problems[6]
    assert main(["run", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "nothing was executed" in err and "did you mean 'mine'" in err
    assert not (tmp_path / "reports").exists()


def test_bad_entries_are_config_errors(tmp_path, capsys):
    cfg = project(
        tmp_path, [{"name": "a", "parameters": {}}], catalogs={"x": {"path": "a.csv", "delimeter": ";"}}
    )
    assert main(["run", str(cfg)]) == 2
    assert "unknown keys ['delimeter'] (did you mean ['delimiter']?)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("bbox", "ok"),
    [
        (None, True),
        ([-117, -116, 33, 34], True),
        ([0, 360, -90, 90], True),
        ([1, 2], False),
        ([2, 1, 0, 1], False),
        ([0, 1, -91, 0], False),
        (["a", 1, 2, 3], False),
    ],
)
def test_bbox_problem(bbox, ok):
    assert (bbox_problem(bbox) == "") is ok


@pytest.mark.slow
def test_a_run_on_an_entry_executes(tmp_path):
    cfg = project(
        tmp_path, [{"name": "mine", "parameters": {"catalog": "mine"}}], catalogs={"mine": SEMICOLON}
    )
    assert main(["run", str(cfg)]) == 0
    metrics = json.loads((tmp_path / "reports" / "mine" / "metrics.json").read_text())
    assert metrics["n"] == 829 and metrics["catalog"]["name"] == "mine"


@pytest.mark.slow
def test_user_catalogs_through_the_exploration_and_etas_notebooks(tmp_path):
    """The project's papermill_runs.yaml: a semicolon file with a mapping through 01, a ZMAP file through 04."""
    from quakelab.pipeline import run_pipeline

    config = load_config(ROOT / "papermill_runs.yaml")
    assert {"user-semicolon", "user-zmap"} <= set(config.catalogs)
    runs = select_runs(config, only=["user-semicolon-explore", "user-zmap-etas"])
    assert validate_runs(runs) == []
    small = {"user-zmap-etas": {"forecast_start": "2019-07-08", "forecast_days": 1.0, "n_simulations": 10}}
    runs = [type(r)(**{**r.__dict__, "parameters": {**r.parameters, **small.get(r.name, {})}}) for r in runs]
    results = run_pipeline(config, runs, reports_dir=tmp_path, force=True, log=lambda s: None)
    assert [r.status for r in results] == ["success", "success"], [r.reason for r in results]
    explore = json.loads((tmp_path / "user-semicolon-explore" / "metrics.json").read_text())
    assert (
        explore["n_events"] == 829 and explore["n_rejected"] == 0 and explore["dataset"] == "user-semicolon"
    )
    etas = json.loads((tmp_path / "user-zmap-etas" / "metrics.json").read_text())
    assert etas["dataset"] == "user-zmap" and etas["n_targets"] > 50 and 0 < etas["branching_ratio"] < 1.5


def test_run_input_paths_include_the_catalog_file(tmp_path):
    from quakelab.pipeline.config import run_input_paths

    cfg = project(
        tmp_path,
        [
            {"name": "a", "parameters": {"catalog": "mine"}},
            {"name": "b", "parameters": {"dataset": "ridgecrest-2019-sample"}},
        ],
        catalogs={"mine": SEMICOLON},
    )
    config = load_config(cfg)
    assert run_input_paths(config.runs["a"]) == [DATA / "user_catalog_semicolon.csv"]
    assert run_input_paths(config.runs["b"])[0].name == "sample_comcat_catalog.csv"


def test_old_parameter_names_are_rejected_with_the_new_name(tmp_path):
    cfg = project(
        tmp_path,
        [
            {"name": "old-mc", "parameters": {"mc": 2.0}},
            {"name": "old-bbox", "parameters": {"bbox": [-117.0, -116.0, 33.0, 34.0]}},
            {"name": "new", "parameters": {"min_magnitude": 2.0, "region": [-117.0, -116.0, 33.0, 34.0]}},
        ],
    )
    problems = validate_runs(select_runs(load_config(cfg)))
    assert len(problems) == 2, problems
    assert "run 'old-mc': parameter 'mc' of toy.ipynb was renamed 'min_magnitude'" in problems[0]
    assert "run 'old-bbox': parameter 'bbox' of toy.ipynb was renamed 'region'" in problems[1]
