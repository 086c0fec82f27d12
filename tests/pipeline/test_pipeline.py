"""The Papermill pipeline, executed for real on small notebooks written by the tests."""

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from quakelab.cli import main
from quakelab.pipeline import RunConfigError, is_up_to_date, load_config, select_runs, validate_runs

PARAMS = """from typing import Optional
output_dir: str = "out"  # set by the runner
fail: bool = False  # raise in the second cell
values: list = [1, 2]  # a list parameter
scale: float = 1.0  # a float
sleep_s: float = 0.0  # seconds to sleep
needs_from: Optional[str] = None  # read this run's metrics
plot: bool = False  # draw and save a figure
gate: str = ""  # wait (up to 60 s) until this file exists
"""
BODY = """import json, time
from pathlib import Path
from quakelab.pipeline import record_metrics
time.sleep(sleep_s)
t_gate = time.monotonic()
if gate:
    Path(gate + ".waiting").touch()
while gate and not Path(gate).exists() and time.monotonic() - t_gate < 60:
    time.sleep(0.05)
if plot:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    (Path(output_dir) / "figures").mkdir(exist_ok=True)
    fig.savefig(Path(output_dir) / "figures" / "line.png")
    plt.show()
if fail:
    raise ValueError("boom: requested failure")
upstream = json.loads((Path(output_dir).parent / needs_from / "metrics.json").read_text()) if needs_from else {}
record_metrics(output_dir, {"values_type": type(values).__name__, "total": sum(values) * scale,
                            "upstream_total": upstream.get("total")})
"""


def make_project(tmp_path: Path, runs: list[dict]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# toy"), p, nbformat.v4.new_code_cell(BODY)]
    (tmp_path / "nb").mkdir(exist_ok=True)
    nbformat.write(nb, tmp_path / "nb" / "toy.ipynb")
    cfg = tmp_path / "runs.yaml"
    cfg.write_text(yaml.safe_dump({"runs": runs}))
    return cfg


def record(tmp_path, name, failed=False):
    return json.loads((tmp_path / "reports" / ("failed" if failed else "") / name / "run.json").read_text())


def test_parameters_are_checked_before_any_kernel_starts(tmp_path, capsys):
    cfg = make_project(
        tmp_path,
        [
            {"name": "typo", "notebook": "nb/toy.ipynb", "tags": ["default"], "parameters": {"scael": 2.0}},
            {
                "name": "wrongtype",
                "notebook": "nb/toy.ipynb",
                "tags": ["default"],
                "parameters": {"values": "1,2"},
            },
            {
                "name": "injected",
                "notebook": "nb/toy.ipynb",
                "tags": ["default"],
                "parameters": {"output_dir": "x"},
            },
            {"name": "intok", "notebook": "nb/toy.ipynb", "tags": ["default"], "parameters": {"scale": 2}},
        ],
    )
    problems = validate_runs(select_runs(load_config(cfg)))
    assert len(problems) == 3
    assert "unknown parameter 'scael'" in problems[0] and "did you mean 'scale'" in problems[0]
    assert "'values' = '1,2' is str, notebook declares list" in problems[1]
    assert "set by the runner" in problems[2]
    assert main(["run", str(cfg)]) == 2
    assert "nothing was executed" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([{"name": "a", "notebook": "nb/missing.ipynb"}], "not found"),
        (
            [
                {"name": "a", "notebook": "nb/toy.ipynb", "needs": ["b"]},
                {"name": "b", "notebook": "nb/toy.ipynb", "needs": ["a"]},
            ],
            "dependency cycle",
        ),
        ([{"name": "a", "notebook": "nb/toy.ipynb", "needs": ["zzz"]}], "unknown run 'zzz'"),
        ([{"name": "a", "notebook": "nb/toy.ipynb", "paramters": {}}], "unknown keys"),
        ([{"name": "a", "notebook": "nb/toy.ipynb"}, {"name": "a", "notebook": "nb/toy.ipynb"}], "duplicate"),
    ],
)
def test_bad_configurations(tmp_path, runs, message):
    cfg = make_project(tmp_path, runs)
    with pytest.raises(RunConfigError, match=message):
        load_config(cfg)


def test_selection_by_tag_and_name(tmp_path):
    cfg = make_project(
        tmp_path,
        [
            {"name": "a", "notebook": "nb/toy.ipynb", "tags": ["default"]},
            {"name": "b", "notebook": "nb/toy.ipynb", "tags": ["heavy"], "needs": ["a"]},
        ],
    )
    c = load_config(cfg)
    assert [r.name for r in select_runs(c)] == ["a"]
    assert [r.name for r in select_runs(c, tag="heavy")] == ["a", "b"]  # dependencies come along
    assert [r.name for r in select_runs(c, only=["b"])] == ["a", "b"]
    with pytest.raises(RunConfigError, match="unknown run"):
        select_runs(c, only=["c"])
    with pytest.raises(RunConfigError, match="no run has tag 'x'"):
        select_runs(c, tag="x")


@pytest.mark.slow
def test_failure_is_kept_and_does_not_stop_independent_runs(tmp_path):
    cfg = make_project(
        tmp_path,
        [
            {
                "name": "good",
                "notebook": "nb/toy.ipynb",
                "tags": ["default"],
                "parameters": {"values": [1, 2, 3]},
            },
            {"name": "bad", "notebook": "nb/toy.ipynb", "tags": ["default"], "parameters": {"fail": True}},
            {"name": "after-bad", "notebook": "nb/toy.ipynb", "tags": ["default"], "needs": ["bad"]},
            {
                "name": "after-good",
                "notebook": "nb/toy.ipynb",
                "tags": ["default"],
                "needs": ["good"],
                "parameters": {"needs_from": "good", "scale": 0.5},
            },
        ],
    )
    assert main(["run", str(cfg)]) == 1
    assert record(tmp_path, "good")["status"] == "success"
    assert record(tmp_path, "good")["metrics"] == {
        "values_type": "list",
        "total": 6.0,
        "upstream_total": None,
    }
    bad = record(tmp_path, "bad", failed=True)
    assert bad["status"] == "failed" and "ValueError: boom" in bad["reason"]
    executed = (tmp_path / "reports" / "failed" / "bad" / "bad.ipynb").read_text()
    assert "boom: requested failure" in executed and "ValueError" in executed
    assert (tmp_path / "reports" / "failed" / "bad" / "bad.html").exists()
    assert not (tmp_path / "reports" / "bad").exists()  # no report was ever good
    assert record(tmp_path, "after-bad")["status"] == "skipped"
    assert record(tmp_path, "after-bad")["reason"] == "needs bad, which failed"
    assert record(tmp_path, "after-good")["metrics"]["upstream_total"] == 6.0
    index = (tmp_path / "reports" / "index.html").read_text()
    for name, status in [("good", "success"), ("bad", "failed"), ("after-bad", "skipped")]:
        assert name in index and status in index
    assert [r["name"] for r in json.loads((tmp_path / "reports" / "index.json").read_text())] == [
        "good",
        "bad",
        "after-bad",
        "after-good",
    ]


@pytest.mark.slow
def test_unchanged_runs_are_skipped_unless_forced(tmp_path, capsys):
    cfg = make_project(tmp_path, [{"name": "a", "notebook": "nb/toy.ipynb", "tags": ["default"]}])
    assert main(["run", str(cfg)]) == 0
    first = record(tmp_path, "a")["started"]
    assert main(["run", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "a: unchanged" in out and "--force executes it again" in out
    assert main(["run", str(cfg), "--list"]) == 0
    assert re.search(r"^a .* up to date", capsys.readouterr().out, re.M)
    # a report written before figures were shown inline (older report format) is never "unchanged"
    config = load_config(cfg)
    rec_path = tmp_path / "reports" / "a" / "run.json"
    assert is_up_to_date(config.runs["a"], tmp_path / "reports")
    rec_path.write_text(json.dumps({k: v for k, v in record(tmp_path, "a").items() if k != "report_format"}))
    assert not is_up_to_date(config.runs["a"], tmp_path / "reports")
    assert main(["run", str(cfg), "--list"]) == 0
    assert re.search(r"^a .* would run \(changed since its report\)", capsys.readouterr().out, re.M)
    assert main(["run", str(cfg), "--force"]) == 0
    assert "a: success" in capsys.readouterr().out
    cfg.write_text(cfg.read_text().replace("tags:", "parameters: {scale: 3.0}\n  tags:"))
    assert main(["run", str(cfg)]) == 0
    assert "a: success" in capsys.readouterr().out
    assert record(tmp_path, "a")["metrics"]["total"] == 9.0 and record(tmp_path, "a")["started"] >= first


def test_timeout_fails_the_run_and_keeps_the_notebook(tmp_path):
    cfg = make_project(
        tmp_path,
        [
            {
                "name": "slow",
                "notebook": "nb/toy.ipynb",
                "tags": ["default"],
                "timeout_s": 2,
                "parameters": {"sleep_s": 30.0},
            }
        ],
    )
    assert main(["run", str(cfg)]) == 1
    rec = record(tmp_path, "slow", failed=True)
    assert rec["status"] == "failed" and "timed out" in rec["reason"].lower()
    assert rec["duration_s"] < 25
    assert (tmp_path / "reports" / "failed" / "slow" / "slow.ipynb").exists()


@pytest.mark.slow
def test_parallel_jobs(tmp_path):
    cfg = make_project(
        tmp_path,
        [
            {
                "name": f"r{i}",
                "notebook": "nb/toy.ipynb",
                "tags": ["default"],
                "parameters": {"scale": float(i)},
            }
            for i in range(3)
        ],
    )
    assert main(["run", str(cfg), "--jobs", "2"]) == 0
    assert [record(tmp_path, f"r{i}")["metrics"]["total"] for i in range(3)] == [0.0, 3.0, 6.0]


def test_runs_on_unavailable_shared_data_are_skipped_not_failed(monkeypatch, capsys):
    monkeypatch.setenv("QUAKELAB_SHARED_DATA", "")
    root = Path(__file__).resolve().parents[2]
    from quakelab.pipeline import run_pipeline

    config = load_config(root / "papermill_runs.yaml")
    runs = select_runs(config, tag="shared")
    assert validate_runs(runs) == []
    results = run_pipeline(config, runs, reports_dir=root / ".pytest_cache" / "reports-noshared")
    assert {r.status for r in results} == {"skipped"}
    direct = [r for r in results if not r.reason.startswith("needs ")]
    assert direct and all("QUAKELAB_SHARED_DATA" in r.reason for r in direct)
    assert all("which skipped" in r.reason for r in results if r not in direct)  # runs that need them


def test_project_config_is_valid():
    root = Path(__file__).resolve().parents[2]
    config = load_config(root / "papermill_runs.yaml")
    assert validate_runs(list(config.runs.values())) == []
    assert [r.name for r in select_runs(config)] == [
        "ridgecrest-2019-sample",
        "ridgecrest-2019-etas",
        "waveforms-examples",
    ]
