"""Browser fixtures: Debian's Chromium driven by Playwright (never a downloaded browser)."""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("QUAKELAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        reason = (f"Chromium not found at {CHROMIUM}: install Debian's package (apt-get install -y chromium; "
                  "`make test` does it when run as root)")
        if os.environ.get("CI"):
            pytest.fail(reason + " — browser tests must run in CI")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def dashboard_reports(tmp_path_factory):
    """Reports a fresh clone makes with `quakelab run` (the Ridgecrest ETAS forecast) plus an evaluation run."""
    import papermill as pm

    from quakelab.cli import main

    reports = tmp_path_factory.mktemp("reports")
    assert main(["run", str(ROOT / "papermill_runs.yaml"), "--only", "ridgecrest-2019-etas", "--reports", str(reports)]) == 0
    out = reports / "ridgecrest-2019-evaluation"
    out.mkdir()
    pm.execute_notebook(str(ROOT / "notebooks" / "05_evaluate_forecasts.ipynb"), str(out / "run.ipynb"),
                        parameters={"dataset": "ridgecrest-2019-sample", "bbox": [-118.2, -117.0, 35.2, 36.4], "mc": 2.5,
                                    "auxiliary_start": "2019-07-06", "start": "2019-07-07", "end": "2019-07-10",
                                    "test_end": "2019-07-13", "compare_published": False, "output_dir": str(out)},
                        cwd=str(ROOT), kernel_name="python3", progress_bar=False)
    return reports
