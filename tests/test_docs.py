"""The README's commands and code run as written; the API reference builds without warnings."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ONLINE = "needs the internet"


def _block_after(heading: str, lang: str) -> str:
    section = README.split(f"\n{heading}\n", 1)[1]
    match = re.search(rf"```{lang}\n(.*?)```", section, flags=re.S)
    assert match, f"no ```{lang} block after {heading!r}"
    return match.group(1)


def test_the_first_two_commands_stay_as_they_are():
    first = re.search(r"```bash\n(.*?)```", README, flags=re.S).group(1).splitlines()
    assert [line.split("#")[0].strip() for line in first] == ["make run", "make test"]


def offline_statements(code: str) -> tuple[str, list[str]]:
    """The block without the statements whose lines carry the 'needs the internet' mark."""
    lines = code.splitlines()
    kept, skipped = [], []
    for node in ast.parse(code).body:
        text = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        (skipped if ONLINE in text else kept).append(text)
    return "\n".join(kept), skipped


def test_offline_filter_keeps_everything_else():
    code, skipped = offline_statements("a = 1\nb = f(1,  # needs the internet\n      2)\nc = a + 1\n")
    assert code == "a = 1\nc = a + 1" and skipped == ["b = f(1,  # needs the internet\n      2)"]


@pytest.mark.slow
def test_using_the_package_block_runs_offline(tmp_path, monkeypatch):
    """Executed as written (less the marked online statement) in a fresh namespace: every name is defined."""
    import xarray as xr

    code, skipped = offline_statements(_block_after("## Using the package", "python"))
    assert len(skipped) == 1 and "fetch_catalog" in skipped[0]  # only the download is left out
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    assert len(namespace["cat"]) == 829 and namespace["mc"] == 2.9
    assert round(namespace["gr"].b, 3) == 0.747  # magnitudes binned to 0.1 before the cut (docs/glossary.md)
    assert 0 < namespace["etas"].branching_ratio_ < 1
    assert (
        isinstance(namespace["forecast"], xr.Dataset)
        and float(namespace["forecast"]["expected_count"].sum()) > 0
    )


def test_readme_cli_examples_parse():
    """Every `quakelab` line of the README's command examples is accepted by the parser."""
    from quakelab.cli import build_parser

    block = _block_after("## Using the package", "bash").replace("\\\n", " ")
    parser = build_parser()
    commands = [
        line.split("#")[0].split()[1:] for line in block.splitlines() if line.startswith(".venv/bin/quakelab")
    ]
    assert len(commands) == 6
    for argv in commands:
        args = parser.parse_args(argv)
        assert callable(args.func)


@pytest.mark.slow
def test_api_reference_builds_without_warnings(tmp_path):
    """What `make docs` runs: pdoc over the numpydoc docstrings, every warning an error."""
    makefile = (ROOT / "Makefile").read_text()
    assert "-W error -m pdoc --docformat numpy --output-directory docs/api quakelab" in makefile
    out = tmp_path / "api"
    r = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-m",
            "pdoc",
            "--docformat",
            "numpy",
            "--output-directory",
            str(out),
            "quakelab",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Warn" not in r.stderr, r.stderr[-3000:]  # pdoc prints "Warn: ..." when warnings are not errors
    page = (out / "quakelab" / "reports.html").read_text(encoding="utf-8")
    assert "caveats_markdown" in page and "Parameters" in page  # numpydoc sections rendered
    assert (out / "quakelab" / "cli_jobs.html").exists()
    assert "branching_ratio_" in (out / "quakelab" / "models.html").read_text(
        encoding="utf-8"
    )  # ETAS documented
