import socket

import matplotlib.pyplot as plt
import numpy as np
import pytest
import shapely
from matplotlib.axes import Axes

from quakelab import stats, viz


@pytest.fixture
def no_internet(monkeypatch):
    """Any connection to a non-loopback address fails, as on CI and offline laptops."""
    real = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")):
            raise OSError(f"network disabled in tests: {address}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def _png_ok(path):
    assert path.exists() and path.stat().st_size > 5000
    img = plt.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
    return img


def test_map_with_offline_coastlines(sample_catalog, tmp_path, no_internet):
    ax = viz.epicentre_map(sample_catalog)
    assert ax.__class__.__name__ == "GeoAxes"
    out = viz.save_figure(ax, tmp_path / "map.png")
    img = _png_ok(out)
    assert len(np.unique(img.reshape(-1, img.shape[-1]), axis=0)) > 50  # a real picture, not a blank frame


def test_coastline_source_and_clip():
    src = viz.coastline_source()
    assert src.exists() and src.suffix == ".shp"
    ca = viz.coastline_geometries((-125, -114, 32, 42))
    world = viz.coastline_geometries()
    assert 0 < len(ca) < len(world)
    assert any(g.contains(shapely.Point(-117.6, 35.77)) for g in ca)  # Ridgecrest is on land
    assert not any(g.contains(shapely.Point(-123.0, 34.0)) for g in ca)  # the Pacific is not


def test_each_plot_takes_ax_and_returns_it(sample_catalog, tmp_path):
    mc = stats.mc_maxc(sample_catalog["magnitude"])
    fit = stats.b_value(sample_catalog["magnitude"], mc)
    t = stats.days_since(sample_catalog, "2019-07-06T03:19:53.040")
    of = stats.omori_fit(t[sample_catalog["magnitude"].to_numpy() >= mc], t_start=0.01)
    fig, axes = plt.subplots(2, 2)
    assert viz.magnitude_time(sample_catalog, ax=axes[0, 0], mc=mc) is axes[0, 0]
    assert viz.cumulative_count(sample_catalog, ax=axes[0, 1]) is axes[0, 1]
    ax = viz.frequency_magnitude_plot(sample_catalog["magnitude"], ax=axes[1, 0], fit=fit)
    assert ax is axes[1, 0] and "b = 0.75" in ax.get_legend().get_texts()[2].get_text()
    assert viz.omori_decay(t, ax=axes[1, 1], fit=of) is axes[1, 1]
    _png_ok(viz.save_figure(fig, tmp_path / "all.png"))
    for f in (viz.magnitude_time, viz.cumulative_count):
        assert isinstance(f(sample_catalog), Axes)


def test_save_figure_is_atomic(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    viz.save_figure(fig, tmp_path / "a.png")
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
