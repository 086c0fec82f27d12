"""The catalog explorer's logic without a browser: event-type filter, readouts, the largest event, map size."""

from __future__ import annotations

import numpy as np
import pytest

from quakelab.dashboards import catalog_explorer as ce


@pytest.fixture()
def typed_catalog(sample_catalog, monkeypatch):
    """The bundled sample with event types (every 10th event a quarry blast, two explosions)."""
    cat = sample_catalog.copy()
    types = np.array(["earthquake"] * len(cat), dtype=object)
    types[::10] = "quarry blast"
    types[[1, 2]] = "explosion"
    cat["event_type"] = types
    monkeypatch.setattr(ce, "_load", lambda name: cat)
    return cat


def test_event_type_filter_readouts_and_largest_event(typed_catalog):
    app = ce.CatalogExplorer("ridgecrest-2019-sample")
    assert not app.event_types.disabled
    assert dict(app.event_types.options) == {
        "earthquake (744)": "earthquake",
        "quarry blast (83)": "quarry blast",
        "explosion (2)": "explosion",
    }
    assert set(app.event_types.value) == {"earthquake", "quarry blast", "explosion"}
    n_all = len(app.selection())
    assert app.status.value.startswith(
        f"<b>{n_all}</b> events selected · largest (★): M5.5 on 2019-07-06 03:47 UTC"
    )
    app.event_types.value = ("earthquake",)  # triggers one update of every panel
    sel = app.selection()
    assert set(sel["event_type"]) == {"earthquake"}
    c = typed_catalog
    t0, t1 = app.period.value
    box = (
        c["longitude"].between(*app.lon.value)
        & c["latitude"].between(*app.lat.value)
        & (c["time"] >= t0)
        & (c["time"] < t1)
    )
    assert n_all == int(box.sum()) == 824  # the whole magnitude range, the initial region without 5 outliers
    assert len(sel) == int((box & (c["event_type"] == "earthquake")).sum()) < n_all
    assert app.status.value.startswith(f"<b>{len(sel)}</b> events selected")
    assert "· earthquake</div>" in app.readout.value and "M 2.5 to 5.5" in app.readout.value
    assert "longitude 118.00°W to 117.20°W" in app.readout.value
    assert app.busy.layout.visibility == "hidden" and app.figures.layout.opacity == "1"


def test_no_type_column_disables_the_filter(sample_catalog, monkeypatch):
    monkeypatch.setattr(ce, "_load", lambda name: sample_catalog)
    app = ce.CatalogExplorer("ridgecrest-2019-sample")
    assert app.event_types.disabled and len(app.selection()) == 824
    assert "all types" in app.readout.value


def test_map_follows_the_data():
    assert ce.map_figsize((-118.2, -117.0, 35.2, 36.4)) == (6.5, 6.5)
    assert ce.map_figsize((0, 10, 0, 2)) == (6.5, 3.0)
    assert ce.map_figsize((0, 1, 0, 5)) == (6.5, 8.0)


def test_configured_catalogs_are_listed_and_open(tmp_path, monkeypatch):
    """A ``catalogs:`` entry of the project's papermill_runs.yaml appears in the list and loads (829 events)."""
    import shutil
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data" / "user_catalog_semicolon.csv"
    shutil.copy(data, tmp_path / "mine.csv")
    (tmp_path / "papermill_runs.yaml").write_text(
        "catalogs:\n"
        "  my-catalog:\n"
        "    path: mine.csv\n"
        "    delimiter: ';'\n"
        "    timezone: UTC\n"
        "    columns: {time: origin_utc, latitude: lat_deg, longitude: lon_deg, depth_km: z_km, magnitude: ml}\n"
        "  gone:\n"
        "    path: missing.csv\n"
        "runs: []\n"
    )
    monkeypatch.chdir(tmp_path)
    names = ce.available_datasets()
    assert "my-catalog" in names and "gone" not in names and "ridgecrest-2019-sample" in names
    ce._load.cache_clear()
    assert len(ce._load("my-catalog")) == 829
