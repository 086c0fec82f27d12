"""Runs replace their report only on success; failures and Ctrl-C leave the last good report intact."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_pipeline import make_project, record

from quakelab.cli import main

ROOT = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(reports: Path) -> list[str]:
    """Hidden staging folders/notebooks and temporary files anywhere under reports/."""
    return [
        str(p.relative_to(reports))
        for p in reports.rglob("*")
        if p.name.startswith(".") or p.suffix == ".tmp" or ".running." in p.name
    ]


def set_parameters(cfg: Path, name: str, **params) -> None:
    doc = yaml.safe_load(cfg.read_text())
    for run in doc["runs"]:
        if run["name"] == name:
            run["parameters"] = params
    cfg.write_text(yaml.safe_dump(doc))


@pytest.mark.slow
def test_failed_run_keeps_the_last_good_report(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the caller's backend must not reach the kernel
    old_umask = os.umask(0o002)
    try:
        cfg = make_project(
            tmp_path,
            [
                {
                    "name": "x",
                    "notebook": "nb/toy.ipynb",
                    "tags": ["default"],
                    "parameters": {"plot": True, "values": [4]},
                }
            ],
        )
        assert main(["run", str(cfg)]) == 0
    finally:
        os.umask(old_umask)
    reports = tmp_path / "reports"
    good = snapshot(reports / "x")
    # figures inline in the executed notebook and its HTML, listed in the record and on the index
    assert "<img" in (reports / "x" / "x.html").read_text()
    assert record(tmp_path, "x")["n_figures"] == 1 and record(tmp_path, "x")["report_format"] == 2
    index = (reports / "index.html").read_text()
    assert '<img src="x/figures/line.png"' in index
    # files a user can read: umask 002 gives group-writable files and folders
    for rel in (
        "x",
        "x/x.html",
        "x/x.ipynb",
        "x/run.json",
        "x/metrics.json",
        "x/figures/line.png",
        "index.html",
    ):
        want = 0o775 if (reports / rel).is_dir() else 0o664
        assert (reports / rel).stat().st_mode & 0o777 == want, rel
    # metrics recorded by the notebook name the final folder, not the staging one
    executed = (reports / "x" / "x.ipynb").read_text()
    assert str(reports / "x") in executed and "/.x." not in executed

    set_parameters(cfg, "x", plot=True, values=[4], fail=True)
    assert main(["run", str(cfg)]) == 1
    assert "x: failed" in capsys.readouterr().out
    assert snapshot(reports / "x") == good  # byte for byte
    failed = reports / "failed" / "x"
    assert "boom: requested failure" in (failed / "x.ipynb").read_text()
    assert (failed / "x.html").exists() and record(tmp_path, "x", failed=True)["status"] == "failed"
    index = (reports / "index.html").read_text()
    assert "failed/x/x.html" in index and '<a href="x/x.html">last good report</a>' in index
    assert leftovers(reports) == []

    set_parameters(cfg, "x", plot=True, values=[4])  # back to the inputs of the good report
    assert main(["run", str(cfg)]) == 0
    assert "x: unchanged" in capsys.readouterr().out
    assert not failed.exists() and snapshot(reports / "x") == good


@pytest.mark.slow
def test_ctrl_c_keeps_the_previous_report(tmp_path):
    gate = tmp_path / "gate"
    gate.touch()
    cfg = make_project(
        tmp_path,
        [
            {
                "name": "slow",
                "notebook": "nb/toy.ipynb",
                "tags": ["default"],
                "parameters": {"gate": str(gate), "values": [5]},
            }
        ],
    )
    assert main(["run", str(cfg), "--quiet"]) == 0
    reports = tmp_path / "reports"
    previous = snapshot(reports / "slow")

    gate.unlink()
    set_parameters(cfg, "slow", gate=str(gate), values=[7])
    waiting = Path(str(gate) + ".waiting")
    waiting.unlink()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "quakelab.cli", "run", str(cfg)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not waiting.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting.exists(), "the run never reached its waiting cell"
        assert any(p.name.startswith(".slow.") for p in reports.iterdir())  # staging folder, mid-run
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted: slow, previous report kept"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "without encryption" not in err  # the kernel's transport warning is not shown
    assert snapshot(reports / "slow") == previous
    assert (reports / "index.html").read_bytes() != b"" and json.loads((reports / "index.json").read_text())
    assert leftovers(reports) == [] and not (reports / "failed").exists()

    gate.touch()  # the next run executes again (the interrupted one left no trace)
    assert main(["run", str(cfg), "--quiet"]) == 0
    assert record(tmp_path, "slow")["metrics"]["total"] == 7.0
