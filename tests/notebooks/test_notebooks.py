"""Every notebook under notebooks/ is executed for real (Papermill) with small parameters."""

import json
from pathlib import Path

import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)

# Small, offline parameters per notebook (default parameters are used for notebooks not listed).
SMALL = {
    "01_explore_catalog.ipynb": {"dataset": "ridgecrest-2019-sample",
                                 "mainshock_time": "2019-07-06T03:19:53.040", "mainshock_magnitude": 7.1},
    # offline smoke run of the evaluation story on the bundled Ridgecrest sample
    "05_evaluate_forecasts.ipynb": {"dataset": "ridgecrest-2019-sample", "bbox": [-118.2, -117.0, 35.2, 36.4],
                                    "mc": 2.5, "auxiliary_start": "2019-07-06", "start": "2019-07-07",
                                    "end": "2019-07-10", "test_end": "2019-07-13", "compare_published": False},
}


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(nb, tmp_path):
    params = {**SMALL.get(nb.name, {}), "output_dir": str(tmp_path)}
    pm.execute_notebook(str(nb), str(tmp_path / nb.name), parameters=params, cwd=str(ROOT),
                        kernel_name="python3", progress_bar=False, execution_timeout=600)
    assert (tmp_path / "metrics.json").exists()


def test_explore_notebook_numbers(tmp_path):
    nb = ROOT / "notebooks" / "01_explore_catalog.ipynb"
    params = {**SMALL[nb.name], "output_dir": str(tmp_path), "min_magnitude": 3.0}
    pm.execute_notebook(str(nb), str(tmp_path / "out.ipynb"), parameters=params, cwd=str(ROOT),
                        kernel_name="python3", progress_bar=False)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["n_read"] == 829 and m["n_events"] == 451 and m["n_rejected"] == 0
    assert m["mc"] == pytest.approx(3.4)  # fullest 0.1 bin above the cut is 3.2 (63 events), + 0.2
    assert m["b_value"] == pytest.approx(0.989, abs=0.002) and m["b_value_std"] == pytest.approx(0.058, abs=0.002)
    assert m["mainshock_magnitude"] == 7.1 and 0.7 < m["omori_p"] < 1.3
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert figures == ["frequency_magnitude.png", "magnitude_time.png", "map.png", "omori.png"]


def test_cli_runs_the_default_pipeline(tmp_path, capsys):
    from quakelab.cli import main

    assert main(["run", str(ROOT / "papermill_runs.yaml"), "--reports", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ridgecrest-2019-sample: success" in out and "ridgecrest-2019-etas: success" in out
    etas = json.loads((tmp_path / "ridgecrest-2019-etas" / "metrics.json").read_text())
    assert etas["n_targets"] == 307 and etas["observed_count"] == 77
    assert etas["forecast_q025"] <= etas["forecast_median"] <= etas["forecast_q975"]
    assert 0 <= etas["p_m6_7d"] <= etas["p_m5_7d"] <= etas["p_m5_30d"] <= 1
    m = json.loads((tmp_path / "ridgecrest-2019-sample" / "metrics.json").read_text())
    assert m["n_events"] == 829 and m["mc"] == pytest.approx(2.9)
    assert m["b_value"] == pytest.approx(0.709, abs=0.001)
    assert (tmp_path / "ridgecrest-2019-sample" / "ridgecrest-2019-sample.html").stat().st_size > 100_000
    assert "ridgecrest-2019-sample" in (tmp_path / "index.html").read_text()


def test_cli_datasets(capsys):
    from quakelab.cli import main

    assert main(["datasets", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["ridgecrest-2019-sample"]["available"] is True
    assert rows["comcat-california-m2.5"]["kind"] == "online"


def test_shared_runs_give_published_scale_numbers(shared_data, tmp_path):
    from quakelab.cli import main

    assert main(["run", str(ROOT / "papermill_runs.yaml"), "--tag", "explore", "--reports", str(tmp_path),
                 "--jobs", "2"]) == 0
    m = {n: json.loads((tmp_path / n / "metrics.json").read_text())
         for n in ("ridgecrest-2019", "qtm-sanjacinto", "usgs-global-significant")}
    assert m["qtm-sanjacinto"]["n_events"] == 21288  # 3 events fall outside the SanJac_10 box
    assert m["usgs-global-significant"]["n_events"] == 23232  # earthquakes only
    assert m["ridgecrest-2019"]["omori_p"] == pytest.approx(1.104, abs=0.005)
