"""The pinned lock, environment.yml, binder/ and pyproject.toml agree; import stays light."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version
    return pins


def env_pins(path: Path) -> dict[str, str]:
    doc = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in doc["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "python=3.11" in doc["dependencies"]
    return {_norm(p.split("==")[0]): p.split("==")[1] for p in pip if "==" in p}


def project_requirements(*extras: str) -> set[str]:
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(py["dependencies"])
    for e in extras:
        reqs += py["optional-dependencies"][e]
    return {_norm(re.split(r"[\[<>=!~ ;]", r)[0]) for r in reqs if not r.startswith("quakelab")}


def test_lock_environment_and_binder_agree():
    lock = lock_pins()
    for path, extras in [
        (ROOT / "environment.yml", ("ml", "dash", "dist", "test", "dev")),
        (ROOT / "binder" / "environment.yml", ("ml", "dash", "dist")),
    ]:
        pins = env_pins(path)
        for name, version in pins.items():
            assert lock.get(name) == version, (
                f"{path.name}: {name}=={version} but the lock has {lock.get(name)}"
            )
        missing = project_requirements(*extras) - set(pins)
        assert not missing, f"{path} does not pin {sorted(missing)}"


def test_every_requirement_is_locked():
    missing = project_requirements("ml", "dash", "dist", "test", "dev") - set(lock_pins())
    assert not missing, f"requirements/lock.txt lacks {sorted(missing)}"


def test_installed_versions_match_the_lock():
    from importlib.metadata import PackageNotFoundError, version

    lock = lock_pins()
    for name in project_requirements("ml", "dash", "dist", "test"):  # what `make test` installs
        try:
            assert version(name) == lock[name], name
        except PackageNotFoundError:  # pragma: no cover
            raise AssertionError(f"{name} is not installed") from None


def test_binder_postbuild_is_strict():
    text = (ROOT / "binder" / "postBuild").read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111


def test_import_is_light():
    """``import quakelab`` must not pull TensorFlow, matplotlib, pandas or ObsPy (it stays well under 1 s)."""
    code = (
        "import sys, time; t = time.perf_counter(); import quakelab; dt = time.perf_counter() - t; "
        "heavy = [m for m in ('tensorflow', 'matplotlib', 'pandas', 'obspy', 'csep', 'cartopy') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_notebooks_committed_without_outputs():
    import nbformat

    for nb_path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb_path.parts:
            continue
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{nb_path.name} has outputs"
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), (
            f"{nb_path.name}: no parameters cell"
        )
