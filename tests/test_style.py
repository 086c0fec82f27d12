import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed")
    res = subprocess.run(
        [ruff, "check", "quakelab", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr


def _ruff() -> str:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed")
    return ruff


def test_ruff_format_clean():
    res = subprocess.run(
        [_ruff(), "format", "--check", "quakelab", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def _lock_version(name: str) -> str:
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        if line.lower().startswith(name + "=="):
            return line.split("==")[1]
    raise AssertionError(f"{name} is not pinned in requirements/lock.txt")


def test_pre_commit_hooks_pinned_to_the_lock():
    import yaml

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    repos = {r["repo"].rsplit("/", 1)[-1]: r for r in config["repos"]}
    assert repos["ruff-pre-commit"]["rev"] == "v" + _lock_version("ruff")
    assert repos["nbstripout"]["rev"] == _lock_version("nbstripout")
    hooks = {h["id"]: h for r in config["repos"] for h in r["hooks"]}
    assert {
        "ruff-check",
        "ruff-format",
        "nbstripout",
        "trailing-whitespace",
        "end-of-file-fixer",
        "check-yaml",
    } <= set(hooks)
    lint_dirs = (
        re.search(r"^\t\$\(BIN\)/ruff check (.+)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    )
    for hook in ("ruff-check", "ruff-format"):  # the hooks check what `make lint` checks
        assert hooks[hook]["files"] == "^(" + "|".join(lint_dirs) + ")/"
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    if Path(pre_commit).exists():  # the dev extra installs it
        res = subprocess.run(
            [pre_commit, "validate-config", ".pre-commit-config.yaml"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.slow
def test_committed_notebooks_pass_the_nbstripout_hook():
    """What the hook would strip (outputs, execution counts, volatile metadata) is not committed."""
    nbstripout = shutil.which("nbstripout") or str(Path(sys.executable).parent / "nbstripout")
    if not Path(nbstripout).exists():
        pytest.skip("nbstripout not installed (the test extra)")
    notebooks = sorted(
        str(p.relative_to(ROOT))
        for folder in ("notebooks", "quakelab")
        for p in (ROOT / folder).rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )
    assert len(notebooks) >= 10
    res = subprocess.run(
        [nbstripout, "--keep-id", "--verify", *notebooks], cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr
