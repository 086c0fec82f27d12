"""Each dashboard served by Voila on 127.0.0.1 and driven in a real headless Chromium
(Debian's package driven by Playwright; never a downloaded browser)."""

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from browser_helpers import ROOT, page_errors

from quakelab.dashboards import DashboardServer, dashboard_command

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("QUAKELAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        reason = (
            f"Chromium not found at {CHROMIUM}: install Debian's package (apt-get install -y chromium; "
            "`make test` does it when run as root)"
        )
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
    assert (
        main(
            [
                "run",
                str(ROOT / "papermill_runs.yaml"),
                "--only",
                "ridgecrest-2019-etas",
                "--reports",
                str(reports),
            ]
        )
        == 0
    )
    out = reports / "ridgecrest-2019-evaluation"
    out.mkdir()
    pm.execute_notebook(
        str(ROOT / "notebooks" / "05_evaluate_forecasts.ipynb"),
        str(out / "run.ipynb"),
        parameters={
            "dataset": "ridgecrest-2019-sample",
            "region": [-118.2, -117.0, 35.2, 36.4],
            "min_magnitude": 2.5,
            "auxiliary_start": "2019-07-06",
            "start": "2019-07-07",
            "end": "2019-07-10",
            "test_end": "2019-07-13",
            "compare_published": False,
            "output_dir": str(out),
        },
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
    )
    return reports


def _open(browser, srv, wait_for: str, timeout_ms: int = 240_000):
    """Open the dashboard and wait until ``wait_for`` renders, within one budget of ``timeout_ms``.

    Voila streams the page while it executes the notebook, so the page's "load" event comes only at the end;
    the rendered element is the readiness check. On 2 cores shared with other test workers execution can
    take minutes, hence one budget for both steps rather than a short wait on "load".
    """
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    t0 = time.perf_counter()
    page.goto(srv.url, timeout=timeout_ms, wait_until="commit")
    left = max(1_000.0, timeout_ms - 1000 * (time.perf_counter() - t0))
    page.wait_for_selector(wait_for, timeout=left)
    return page, time.perf_counter() - t0


def _img_src(page, css: str) -> str:
    return page.eval_on_selector(f"{css} img", "e => e.src")


def _wait_change(page, css: str, before: str, timeout_s: float = 30) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        el = page.query_selector(f"{css} img")
        if el is not None and el.get_attribute("src") != before:
            return time.perf_counter() - t0
        page.wait_for_timeout(50)
    raise AssertionError(f"{css} did not change within {timeout_s} s")


def test_token_required_off_loopback():
    cmd, token = dashboard_command("catalog", root=ROOT, ip="0.0.0.0", open_browser=False)
    assert token and len(token) >= 24 and f"--token={token}" in cmd
    cmd, token = dashboard_command("catalog", root=ROOT, open_browser=False)
    assert token is None and "--Voila.ip=127.0.0.1" in cmd and not any(c.startswith("--token") for c in cmd)


def test_catalog_explorer(browser, tmp_path, record_property):
    with DashboardServer("catalog", root=ROOT, log_path=tmp_path / "voila.log") as srv:
        page, first = _open(browser, srv, ".ql-map img")
        assert page_errors(page) == []
        status = page.inner_text(".ql-status")
        assert status.startswith(
            "824 events"
        )  # the bundled sample without its 5 far outliers (initial region)
        assert (
            "largest (★): M5.5 on 2019-07-06 03:47 UTC" in status
        )  # the mainshock of the selection is named
        readout = page.inner_text(".ql-readout")
        assert "M 2.5 to 5.5" in readout and "longitude 118.00°W to 117.20°W" in readout
        assert page.is_disabled(".ql-event-types select")  # the sample has no event types: nothing to filter
        assert not page.is_visible(".ql-busy")
        table = page.inner_text(".ql-events")
        assert "5.500" in table.splitlines()[1]  # sorted by magnitude, largest (M5.5) first
        before = {css: _img_src(page, css) for css in (".ql-map", ".ql-magtime", ".ql-fmd")}
        page.locator(".ql-magnitude .noUi-handle").first.focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")  # minimum magnitude 2.5 -> 3.0
        dt = _wait_change(page, ".ql-map", before[".ql-map"])
        page.wait_for_function(
            "document.querySelector('.ql-status').innerText.startsWith('451')", timeout=30_000
        )
        # the status is written last: once it shows the new count, every panel shows the new selection
        assert all(_img_src(page, css) != src for css, src in before.items())
        assert "M 3.0 to 5.5" in page.inner_text(".ql-readout")
        page.wait_for_function(
            "getComputedStyle(document.querySelector('.ql-busy')).visibility === 'hidden'", timeout=30_000
        )
        page.select_option(".ql-sort select", "time")
        page.wait_for_function(
            "document.querySelector('.ql-events').innerText.split('\\n')[1].startsWith('2019-07-13')",
            timeout=30_000,
        )
        assert page_errors(page) == []
        page.screenshot(path=str(tmp_path / "catalog.png"), full_page=True)
    record_property("first_render_s", first)
    record_property("update_s", dt)
    print(f"catalog explorer: first render {first:.2f} s, map update {dt:.2f} s")


def test_forecast_dashboard(browser, dashboard_reports, tmp_path, record_property):
    env = {"QUAKELAB_REPORTS": str(dashboard_reports)}
    with DashboardServer("forecast", root=ROOT, env=env, log_path=tmp_path / "voila.log") as srv:
        page, first = _open(browser, srv, ".ql-map img")
        assert page_errors(page) == []
        probs = page.inner_text(".ql-probabilities")
        metrics = json.loads((dashboard_reports / "ridgecrest-2019-etas" / "metrics.json").read_text())
        assert f"{metrics['p_m5_7d']:.3f}" in probs  # the pipeline's simulated ETAS probability
        assert "ridgecrest-2019-evaluation" in page.inner_text("body")  # leaderboard and CSEP runs listed
        assert page.query_selector(".ql-csep img") is not None
        # the long leaderboard artifact, shown one row per model and one column per score
        evaluation = json.loads(
            (dashboard_reports / "ridgecrest-2019-evaluation" / "metrics.json").read_text()
        )
        rows = {r.split("\t")[0]: r.split("\t")[1:] for r in page.inner_text(".ql-leaderboard").splitlines()}
        header = rows.pop("model")
        etas_tll = rows["ETAS (quakelab)"][header.index("temporal_log_likelihood")]
        assert etas_tll == f"{evaluation['test_ll_temporal']:.3f}"
        assert "total_information_gain vs Poisson (quakelab)" in header
        before = _img_src(page, ".ql-map")
        summary = page.inner_text(".ql-summary")
        page.click(".ql-horizon button:has-text('30 days')")
        dt = _wait_change(page, ".ql-map", before)
        page.wait_for_function(f"document.querySelector('.ql-summary').innerText !== {json.dumps(summary)}")
        assert "in 30 d" in page.inner_text(".ql-summary")
        # the product table of the selected mainshock (the M7.1, largest first) against the Python product
        from quakelab.dashboards.forecast import product_cell, run_product

        run = str(dashboard_reports / "ridgecrest-2019-etas")
        chosen = page.eval_on_selector(".ql-mainshock select", "e => e.options[e.selectedIndex].text")
        assert chosen.replace("\xa0", " ") == "M7.1 2019-07-06 03:19 UTC (history:1)"
        fc = run_product(run, "history:1")
        tab = fc.table().set_index(["model", "window", "magnitude"])
        rows = {
            tuple(r.split("\t")[:2]): r.split("\t")[2:]
            for r in page.inner_text(".ql-product table tbody").splitlines()
        }
        assert len(rows) == 4 * 6  # 4 models x M>=3, 4, 5, 6, 7 and the mainshock's 7.1
        windows = ["1 Day", "1 Week", "1 Month", "1 Year"]
        for key, label, mag, window in (
            ("rj_generic", "RJ generic", 5.0, "1 Week"),
            ("rj_bayesian", "RJ Bayesian", 6.0, "1 Month"),
            ("rj_sequence", "RJ sequence", 4.0, "1 Day"),
            ("etas", "ETAS", 5.0, "1 Week"),
        ):
            r = tab.loc[(key, window, mag)]
            want = product_cell(r["probability"], r["median"], r["q025"], r["q975"])
            assert rows[(label, f"M≥{mag:g}")][windows.index(window)] == want, (key, window, mag)
        p_week = tab.loc[("rj_generic", "1 Week", 5.0), "probability"]
        assert 0.05 < p_week < 1 and "M7.1 history:1" in page.inner_text(".ql-product")
        # the map follows the model: RJ draws its aftershock zone, and the two probabilities are explained
        before = _img_src(page, ".ql-map")
        page.select_option(".ql-model select", "Reasenberg-Jones generic")
        page.wait_for_function(
            "document.querySelector('.ql-probabilities').innerText.includes('Reasenberg-Jones generic')"
        )
        _wait_change(page, ".ql-map", before)
        assert "map: Reasenberg-Jones generic" in page.inner_text(".ql-summary")
        explain = page.inner_text(".ql-explain")
        assert explain.startswith("Why two numbers for the same area") and "aftershock zone" in explain
        assert page_errors(page) == []
    record_property("first_render_s", first)
    record_property("update_s", dt)
    print(f"forecast dashboard: first render {first:.2f} s, map update {dt:.2f} s")


def test_live_monitor_follows_the_store(browser, tmp_path, record_property):
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "realtime"))
    from feed_server import FeedReplayServer

    from quakelab.realtime import FDSNEventFeed, Monitor

    live = tmp_path / "live"
    env = {"QUAKELAB_LIVE_DIR": str(live)}
    with DashboardServer("monitor", root=ROOT, env=env, log_path=tmp_path / "voila.log") as srv:
        page, first = _open(browser, srv, ".ql-waiting")
        assert page_errors(page) == []
        import pandas as pd

        with FeedReplayServer(release_per_request=300) as feed_srv:
            mon = Monitor(
                FDSNEventFeed(feed_srv.url),
                live,
                threshold=0.05,
                now=lambda: pd.Timestamp("2019-07-14", tz="UTC"),
                echo=lambda _: None,
            )
            mon.poll_once()
            n1 = len(mon.store.events)
            t0 = time.perf_counter()
            page.wait_for_function(
                f"(document.querySelector('.ql-n-events') || {{}}).innerText === '{n1}'", timeout=30_000
            )
            seen = time.perf_counter() - t0
            assert "ALERT" in page.inner_text(".ql-alert-box")
            mon.poll_once()
            n2 = len(mon.store.events)
            assert n2 > n1
            page.wait_for_function(
                f"document.querySelector('.ql-n-events').innerText === '{n2}'", timeout=30_000
            )
            assert "monitor running" in page.inner_text(".ql-status")
            # the monitor stops: its last poll is now 10 minutes old (> 3 intervals of 60 s)
            status = json.loads((live / "status.json").read_text())
            status["last_attempt"] = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=10)).isoformat()
            (live / "status.json").write_text(json.dumps(status))
            page.wait_for_selector(".ql-not-running", timeout=30_000)
            box = page.inner_text(".ql-alert-box")
            assert re.match(r"monitor not running: no poll for 10\.\d min", box) and "stale" in box
            assert page.eval_on_selector(".ql-alert", "e => e.dataset.active") == "stale"
            assert "(monitor not running)" in page.inner_text(".ql-status")
            age = page.inner_text(".ql-store-age")  # events.parquet was committed seconds ago
            assert age.endswith(" s") and 0 <= int(age[:-2]) < 120, age
        assert page_errors(page) == []
    record_property("first_render_s", first)
    record_property("update_s", seen)
    print(f"live monitor: first render {first:.2f} s, new batch shown after {seen:.2f} s")
