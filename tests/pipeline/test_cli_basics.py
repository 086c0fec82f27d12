"""quakelab --version, "did you mean" for run names, --list states, the report index page."""

import json
import math
from pathlib import Path

import pytest
from test_pipeline import make_project

import quakelab
from quakelab.cli import main
from quakelab.pipeline import write_index


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"quakelab {quakelab.__version__}"


def test_unknown_run_name_suggests_the_close_one(tmp_path, capsys):
    cfg = make_project(
        tmp_path, [{"name": "ridgecrest-sample", "notebook": "nb/toy.ipynb", "tags": ["default"]}]
    )
    assert main(["run", str(cfg), "--only", "ridgecrest-sampel"]) == 2
    err = capsys.readouterr().err
    assert "unknown run 'ridgecrest-sampel' (did you mean 'ridgecrest-sample'?)" in err
    assert main(["run", str(cfg), "--only", "zzz"]) == 2
    assert "did you mean" not in capsys.readouterr().err
    assert main(["run", str(cfg), "--tag", "defualt"]) == 2
    assert "unknown tag 'defualt' (did you mean 'default'?)" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


def test_list_says_what_would_run_or_be_skipped(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QUAKELAB_SHARED_DATA", "")
    cfg = make_project(
        tmp_path,
        [
            {"name": "fresh", "notebook": "nb/toy.ipynb", "tags": ["default"]},
            {"name": "nodata", "notebook": "nb/toy.ipynb", "tags": ["default"]},
        ],
    )
    import yaml

    doc = yaml.safe_load(cfg.read_text())
    doc["runs"][1]["parameters"] = {}
    cfg.write_text(yaml.safe_dump(doc))
    from quakelab.pipeline import runner

    monkeypatch.setattr(
        runner,
        "unavailable_inputs",
        lambda run: "dataset 'qtm' unavailable: set QUAKELAB_SHARED_DATA" if run.name == "nodata" else "",
    )
    assert main(["run", str(cfg), "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("fresh") and out[0].split("toy.ipynb")[1].strip().startswith(
        "would run (no report yet)"
    )
    assert "skipped (dataset 'qtm' unavailable: set QUAKELAB_SHARED_DATA)" in out[1]
    assert out[2] == "0 of 2 up to date; `quakelab run --force` executes up-to-date runs again"
    assert not (tmp_path / "reports").exists()  # listing executes nothing


def test_index_shows_b_rounded_values_thumbnails_and_failures(tmp_path):
    reports = tmp_path / "reports"
    good = reports / "etas"
    (good / "figures").mkdir(parents=True)
    (good / "figures" / "map.png").write_bytes(b"\x89PNG")
    (good / "etas.html").write_text("<html></html>")
    base = {"name": "etas", "tags": ["default"], "description": "d", "parameters": {"mc": 3.0}}
    (good / "run.json").write_text(
        json.dumps(
            {
                **base,
                "status": "success",
                "duration_s": 12.345,
                "started": "2026-01-01T00:00:00+00:00",
                "metrics": {
                    "beta": 2.3 * math.log(10),
                    "mc": 2.9000000001,
                    "b_value_std": 0.05812,
                    "n_events": 829,
                    "leaderboard": {"x": 1},
                },
            }
        )
    )
    page = write_index(reports).read_text()
    assert "b = 2.3<" in page and "beta" not in page
    assert "mc = 2.9<" in page and "b_std = 0.058<" in page and "n_events = 829" in page
    assert "leaderboard" not in page  # tables are in the report, not on the index
    assert '<a href="etas/figures/map.png"><img src="etas/figures/map.png"' in page
    assert "12.3 s" in page
    # a later failed attempt is listed as failed, beside a link to the last good report
    failed = reports / "failed" / "etas"
    failed.mkdir(parents=True)
    (failed / "etas.html").write_text("<html></html>")
    (failed / "run.json").write_text(
        json.dumps(
            {
                **base,
                "status": "failed",
                "reason": "cell 3: ValueError",
                "started": "2026-01-02T00:00:00+00:00",
                "metrics": {},
            }
        )
    )
    page = write_index(reports).read_text()
    assert '<a href="failed/etas/etas.html">etas</a>' in page
    assert '<a href="etas/etas.html">last good report</a>' in page and "cell 3: ValueError" in page
    records = json.loads((reports / "index.json").read_text())
    assert [r["status"] for r in records] == ["failed"] and "_dir" not in records[0]
    assert Path(reports / "index.html").stat().st_size > 0


def test_kernel_stderr_filter_drops_only_the_tcp_warning():
    import os

    from quakelab.pipeline.runner import filter_kernel_stderr

    r, w = os.pipe()
    os.write(
        w,
        b"[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication "
        b"(including code and outputs) is sent in plain text\nreal problem: ValueError\n"
        b"[IPKernelApp] WARNING | another warning\n",
    )
    os.close(w)
    kept: list[bytes] = []
    filter_kernel_stderr(r, kept.append)
    assert kept == [b"real problem: ValueError\n", b"[IPKernelApp] WARNING | another warning\n"]
