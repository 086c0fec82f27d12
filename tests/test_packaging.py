"""Packaging: the extras split, the messages for missing optional parts, the working folders, and the package
installed from its wheel outside the source tree."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

from quakelab import paths
from quakelab._optional import MissingOptionalDependency, available, require

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
HEAVY = {"tensorflow-cpu", "tensorflow", "voila", "jupyterlab", "ipywidgets", "scikit-learn", "distributed"}


def _name(req: str) -> str:
    return req.split("[")[0].split(";")[0].split("=")[0].strip().lower()


def test_core_requirements_leave_out_the_heavy_parts():
    core = {_name(r) for r in PYPROJECT["dependencies"]}
    assert not core & HEAVY
    assert {
        "papermill",
        "nbconvert",
        "ipykernel",
        "pycsep",
        "obspy",
        "dask",
    } <= core  # `quakelab run` needs them
    extras = PYPROJECT["optional-dependencies"]
    assert {_name(r) for r in extras["ml"]} == {"scikit-learn", "tensorflow-cpu"}
    assert {"voila", "ipywidgets", "jupyterlab"} <= {_name(r) for r in extras["dash"]}
    assert "distributed" in {_name(r) for r in extras["dist"]}
    assert extras["all"] == ["quakelab[ml,dash,dist,serve,bus]"]


def test_require_imports_or_names_the_extra(tmp_path, monkeypatch):
    import numpy

    assert require("numpy") is numpy and require("numpy.linalg").__name__ == "numpy.linalg"
    assert require("numpy", load=False) is None and available("numpy") and not available("no_such_module_q7")
    with pytest.raises(MissingOptionalDependency, match=r"pip install 'quakelab\[ml\]'") as err:
        require("no_such_module_q7.sub", "ml")
    assert isinstance(err.value, ModuleNotFoundError) and err.value.name == "no_such_module_q7"
    # an installed optional package whose own dependency is missing keeps its real error
    (tmp_path / "optpkg_q7").mkdir()
    (tmp_path / "optpkg_q7" / "__init__.py").write_text("import no_such_dependency_q7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as err:
        require("optpkg_q7", "ml")
    assert not isinstance(err.value, MissingOptionalDependency) and err.value.name == "no_such_dependency_q7"


# Each optional package is made absent in a fresh interpreter the way Python documents (a None entry in
# sys.modules stops its import), then the quakelab entry points that need it are called.
MISSING_SCRIPT = textwrap.dedent("""
    import json, sys

    def attempt(fn):
        try:
            fn()
        except ModuleNotFoundError as exc:
            return type(exc).__name__ + ": " + str(exc)
        return "no error"

    def forget(prefix):
        for m in [m for m in sys.modules if m == prefix or m.startswith(prefix + ".")]:
            del sys.modules[m]

    out = {}
    sys.modules["ipywidgets"] = None
    out["dashboards"] = attempt(lambda: __import__("quakelab.dashboards.catalog_explorer"))
    forget("quakelab.dashboards"); del sys.modules["ipywidgets"]; sys.modules["voila"] = None
    from quakelab.dashboards import dashboard_command
    out["voila"] = attempt(lambda: dashboard_command("catalog", root=None))
    sys.modules["sklearn"] = None
    out["learn"] = attempt(lambda: __import__("quakelab.learn"))
    from quakelab.viz.plots import forecast_skill_plots
    out["skill_plots"] = attempt(lambda: forecast_skill_plots([0, 1], {"p": [0.1, 0.9]}))
    forget("quakelab.learn"); del sys.modules["sklearn"]; sys.modules["tensorflow"] = None
    from quakelab.learn import import_tensorflow
    out["tensorflow"] = attempt(import_tensorflow)
    sys.modules["distributed"] = None
    from quakelab._optional import require
    out["distributed"] = attempt(lambda: require("dask.distributed"))
    print(json.dumps(out))
""")


@pytest.mark.slow
def test_missing_optional_parts_say_which_extra_to_install():
    res = subprocess.run(
        [sys.executable, "-c", MISSING_SCRIPT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    expected = {
        "dashboards": ("ipywidgets", "dash"),
        "voila": ("voila", "dash"),
        "learn": ("scikit-learn", "ml"),
        "skill_plots": ("scikit-learn", "ml"),
        "tensorflow": ("tensorflow-cpu", "ml"),
        "distributed": ("distributed", "dist"),
    }
    for key, (dist, extra) in expected.items():
        msg = out[key]
        assert msg.startswith(f"MissingOptionalDependency: {dist} is not installed"), (key, msg)
        assert f"pip install 'quakelab[{extra}]'" in msg, (key, msg)
    assert "ROC and precision-recall" in out["skill_plots"]


def test_dashboard_notebooks_are_packaged_and_identical():
    from quakelab.dashboards import DASHBOARDS, dashboard_command, notebook_path

    packaged_dir = ROOT / "quakelab" / "dashboards" / "notebooks"
    repo_dir = ROOT / "notebooks" / "dashboards"
    assert sorted(p.name for p in packaged_dir.glob("*.ipynb")) == sorted(
        p.name for p in repo_dir.glob("*.ipynb")
    )
    for name, rel in DASHBOARDS.items():
        repo, packaged = notebook_path(name, root=ROOT), notebook_path(name, root=None)
        assert repo == (ROOT / rel).resolve() and packaged == packaged_dir / Path(rel).name
        assert packaged.read_bytes() == repo.read_bytes(), (
            f"{packaged} differs from {repo}: copy the repository notebook into the package"
        )
    assert (
        "dashboards/notebooks/*.ipynb"
        in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
            "quakelab"
        ]
    )
    cmd, _ = dashboard_command("monitor", root=ROOT / "nowhere")  # no checkout there: the packaged copy
    assert cmd[3] == str(packaged_dir / "live_monitor.ipynb") and f"--Voila.root_dir={packaged_dir}" in cmd


def test_working_folders_follow_the_working_directory_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("QUAKELAB_REPORTS", raising=False)
    monkeypatch.delenv("QUAKELAB_LIVE_DIR", raising=False)
    project = tmp_path / "study"
    (project / "notebooks" / "dashboards").mkdir(parents=True)
    (project / "papermill_runs.yaml").write_text("runs: []\n")
    monkeypatch.chdir(project / "notebooks" / "dashboards")  # where Voila starts a dashboard's kernel
    assert paths.project_root() == project.resolve()
    assert paths.reports_dir() == project.resolve() / "reports"
    assert paths.live_dir() == project.resolve() / "data" / "live"
    monkeypatch.setenv("QUAKELAB_REPORTS", str(tmp_path / "elsewhere"))
    assert paths.reports_dir() == (tmp_path / "elsewhere").resolve()
    # running from this checkout: outside any project the checkout is the project
    assert paths.source_root() == ROOT
    monkeypatch.chdir(tmp_path)
    assert paths.project_root() == ROOT


CHECKS = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import quakelab
    from quakelab import datasets, paths
    from quakelab.dashboards import DASHBOARDS, dashboard_command, dashboard_env, notebook_path

    print(json.dumps({
        "file": quakelab.__file__,
        "source_root": str(paths.source_root()),
        "project_root": str(paths.project_root()),
        "reports": str(paths.reports_dir()),
        "datasets_root": str(datasets.PROJECT_ROOT),
        "notebooks": {name: str(notebook_path(name)) for name in DASHBOARDS},
        "voila_notebook": dashboard_command("forecast")[0][3],
        "kernel_reports": dashboard_env()["QUAKELAB_REPORTS"],
        "sample_rows": len(datasets.load("ridgecrest-2019-sample")),
    }))
""")


@pytest.mark.slow
def test_wheel_installed_outside_the_source_tree(tmp_path):
    pytest.importorskip("setuptools", reason="building the wheel without network needs setuptools installed")
    src = tmp_path / "src"
    src.mkdir()
    for f in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / f, src / f)
    shutil.copytree(
        ROOT / "quakelab", src / "quakelab", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    pip = [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check", "-q"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "PYTHONPATH"}
    build = subprocess.run(
        pip + ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", "dist", "./src"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = (tmp_path / "dist").glob("quakelab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {
        f"quakelab/dashboards/notebooks/{n}.ipynb" for n in ("catalog_explorer", "forecast", "live_monitor")
    } <= set(names)
    assert "quakelab/py.typed" in names and "quakelab/_optional.py" in names
    assert all(n.startswith(("quakelab/", "quakelab-")) for n in names), [
        n for n in names if not n.startswith("quakelab")
    ]
    target = tmp_path / "T"
    inst = subprocess.run(
        pip + ["install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert inst.returncode == 0, inst.stdout + inst.stderr

    work = tmp_path / "work"  # a directory with no project in it or above it
    work.mkdir()
    run_env = {**env, "PYTHONPATH": str(target), "MPLBACKEND": "Agg"}
    run_env.pop("QUAKELAB_REPORTS", None)
    res = subprocess.run(
        [sys.executable, "-c", CHECKS], cwd=work, env=run_env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    pkg = target / "quakelab"
    assert out["file"] == str(pkg / "__init__.py")
    assert (
        out["source_root"] == "None"
        and out["project_root"] == str(work)
        and out["datasets_root"] == str(work)
    )
    assert out["reports"] == str(work / "reports") and out["kernel_reports"] == str(work / "reports")
    for name, nb in out["notebooks"].items():
        assert Path(nb).parent == pkg / "dashboards" / "notebooks", name
        assert Path(nb).read_bytes() == (ROOT / "notebooks" / "dashboards" / Path(nb).name).read_bytes()
    assert out["voila_notebook"] == str(pkg / "dashboards" / "notebooks" / "forecast.ipynb")
    assert out["sample_rows"] == 829
    # the console script of the wheel
    cli = subprocess.run(
        [str(target / "bin" / "quakelab"), "datasets", "--json"],
        cwd=work,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 0, cli.stderr
    table = {row["name"]: row for row in json.loads(cli.stdout)}
    assert (
        table["ridgecrest-2019-sample"]["available"]
        and Path(table["ridgecrest-2019-sample"]["path"]).is_file()
    )
