"""Forecast files and pycsep objects, checked against pycsep's own readers on its shipped example forecasts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quakelab.forecast import (
    CatalogForecast,
    Forecast,
    ForecastFormatError,
    ForecastValidationError,
    GridSpec,
    from_pycsep,
    read_ascii,
    read_forecast,
    read_xml,
    stack_windows,
    to_pycsep,
    write_ascii,
    write_forecast,
    write_xml,
)

csep = pytest.importorskip("csep")
EXAMPLES = Path(csep.__file__).parent / "artifacts" / "ExampleForecasts"
N_CELLS = 120  # a subset of the 7682 cells of Helmstetter et al. (2007) keeps the test fast


@pytest.fixture(scope="module")
def helmstetter_subset(tmp_path_factory) -> Path:
    """The first 120 cells (41 magnitude bins each) of pycsep's shipped Helmstetter et al. forecast."""
    src = EXAMPLES / "GriddedForecasts" / "helmstetter_et_al.hkj-fromXML.dat"
    out = tmp_path_factory.mktemp("helmstetter") / "helmstetter_subset.dat"
    with open(src) as fh:
        lines = [next(fh) for _ in range(N_CELLS * 41)]
    out.write_text("".join(lines))
    return out


@pytest.fixture(scope="module")
def pycsep_forecast(helmstetter_subset):
    return csep.load_gridded_forecast(
        str(helmstetter_subset),
        start_date=pd.Timestamp("2006-01-01").to_pydatetime(),
        end_date=pd.Timestamp("2011-01-01").to_pydatetime(),
    )


def test_pycsep_round_trip_is_exact(pycsep_forecast):
    ds = from_pycsep(pycsep_forecast)
    spec = ds.quake.spec
    assert spec.n_cells == N_CELLS and spec.cell_deg == 0.1 and spec.delta_m == 0.1
    assert spec.magnitudes[0] == 5.0 and spec.magnitudes[-1] == 9.0  # CSEP bin 4.95-5.05 is magnitude 5.0
    assert spec.start == pd.Timestamp("2006-01-01", tz="UTC")
    back = to_pycsep(ds)
    assert np.array_equal(back.region.origins(), pycsep_forecast.region.origins())  # same cells, same order
    assert np.array_equal(back.magnitudes, pycsep_forecast.magnitudes)
    assert np.array_equal(back.data, pycsep_forecast.data)
    assert back.start_time == pycsep_forecast.start_time and back.end_time == pycsep_forecast.end_time
    assert back.event_count == pytest.approx(pycsep_forecast.event_count, rel=1e-15)
    # and the other way: quakelab -> pycsep -> quakelab
    again = from_pycsep(back)
    assert np.array_equal(again["expected_count"].values, ds["expected_count"].values, equal_nan=True)
    assert again.quake.spec.same_grid(spec)
    # pycsep's and quakelab's cell look-ups agree on every cell centre
    mid = pycsep_forecast.region.midpoints()
    iy, ix = ds.quake.cell_index(mid[:, 0], mid[:, 1])
    rates = ds["expected_count"].values[:, iy, ix].T
    assert np.array_equal(rates, pycsep_forecast.data)


def test_ascii_writer_agrees_with_pycsep_reader(pycsep_forecast, tmp_path):
    ds = from_pycsep(pycsep_forecast)
    path = write_ascii(ds, tmp_path / "out.dat")
    theirs = csep.load_gridded_forecast(str(path))
    assert np.array_equal(theirs.data, pycsep_forecast.data)
    assert np.array_equal(theirs.region.origins(), pycsep_forecast.region.origins())
    assert np.array_equal(theirs.magnitudes, pycsep_forecast.magnitudes)
    ours = read_ascii(path)
    assert np.array_equal(ours["expected_count"].values, ds["expected_count"].values, equal_nan=True)
    # the file's lines are pycsep's: same 10 columns as the shipped file, rates identical
    shipped = np.loadtxt(path)
    assert shipped.shape == (N_CELLS * 41, 10)
    assert shipped[-1, 7] == 10.0 and shipped[0, 6] == 4.95


def test_xml_writer_agrees_with_pycsep_template_reader(pycsep_forecast, tmp_path):
    from csep.core.regions import parse_csep_template

    ds = from_pycsep(pycsep_forecast)
    path = write_xml(ds, tmp_path / "out.xml")
    points, dh = parse_csep_template(str(path))
    assert dh == 0.1
    assert np.allclose(np.asarray(points), pycsep_forecast.region.midpoints(), rtol=0, atol=1e-12)
    back = read_xml(path)
    assert np.array_equal(back["expected_count"].values, ds["expected_count"].values, equal_nan=True)
    assert back.quake.spec == ds.quake.spec


def test_shipped_xml_template_agrees_with_pycsep(tmp_path):
    """The first 200 cells of pycsep's CSEP XML template (RELM grid, M5.0..9.0) read as pycsep reads them."""
    from csep.core.regions import parse_csep_template

    src = Path(csep.__file__).parent / "artifacts" / "Regions" / "csep-forecast-template-M5.xml"
    text = src.read_text()
    cut = 0
    for _ in range(200):
        cut = text.index("</cell>", cut) + len("</cell>")
    path = tmp_path / "template.xml"
    path.write_text(text[:cut] + "\n    </depthLayer>\n  </forecastData>\n</CSEPForecast>\n")
    ds = read_xml(path)
    points, dh = parse_csep_template(str(path))
    spec = ds.quake.spec
    assert spec.n_cells == len(points) == 200 and spec.cell_deg == dh == 0.1
    assert spec.magnitudes.tolist()[:2] == [5.0, 5.1] and ds.sizes["magnitude"] == 41
    assert spec.start == pd.Timestamp("2006-01-01", tz="UTC") and spec.end == pd.Timestamp(
        "2011-01-01", tz="UTC"
    )
    mid = to_pycsep(ds).region.midpoints()
    assert np.allclose(mid, np.asarray(points), rtol=0, atol=1e-9)  # same cells in the same (file) order
    assert float(ds.quake.total()) == 0.0


def test_netcdf_geojson_and_series(tmp_path):
    spec = GridSpec((-117, -116, 33, 34), 0.25, 2.0, 2.3, start="2020-01-01", end="2020-01-08")
    rng = np.random.default_rng(0)
    ds = Forecast(rng.gamma(1.0, 0.1, spec.shape), spec, model="random")
    for ext in ("nc", "geojson", "dat", "xml"):
        back = read_forecast(write_forecast(ds, tmp_path / f"f.{ext}"))
        assert np.array_equal(back["expected_count"].values, ds["expected_count"].values, equal_nan=True), ext
    weeks = [
        Forecast(np.full(spec.shape, k / 10), spec.with_window(t, t + pd.Timedelta(days=7)))
        for k, t in enumerate(pd.date_range("2020-01-01", periods=3, freq="7D", tz="UTC"))
    ]
    series = stack_windows(weeks)
    assert series["expected_count"].dims == ("time", "magnitude", "latitude", "longitude")
    assert series.quake.total().values.round(10).tolist() == [0.0, 0.1 * 64, 0.2 * 64]
    back = read_forecast(write_forecast(series, tmp_path / "series.nc"))
    assert np.array_equal(back["expected_count"].values, series["expected_count"].values, equal_nan=True)


def test_bad_files_name_line_and_field(tmp_path, pycsep_forecast):
    ds = from_pycsep(pycsep_forecast)
    good = write_ascii(ds, tmp_path / "good.dat").read_text().splitlines()
    bad = tmp_path / "bad.dat"
    fields = good[4].split("\t")
    fields[8] = "abc"
    bad.write_text("\n".join(good[:4] + ["\t".join(fields)] + good[5:]) + "\n")
    with pytest.raises(ForecastFormatError, match=r"bad\.dat: line 5: column 'rate': 'abc'"):
        read_ascii(bad)
    fields[8] = "-1"
    bad.write_text("\n".join(good[:4] + ["\t".join(fields)] + good[5:]) + "\n")
    with pytest.raises(ForecastFormatError, match="line 5: column 'rate'"):
        read_ascii(bad)
    xml = write_xml(ds, tmp_path / "x.xml")
    import re

    xml.write_text(re.sub(r">[^<]+</bin>", ">oops</bin>", xml.read_text(), count=1))
    with pytest.raises(ForecastFormatError, match=r"x\.xml: cell \d+ \(lat=.*\): bin m="):
        read_xml(xml)
    with pytest.raises(ForecastFormatError, match="unknown forecast format"):
        write_forecast(ds, tmp_path / "f.csv")
    # a failed write leaves no partial file behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.dat", "good.dat", "x.xml"]


def test_validation_errors():
    spec = GridSpec((-117, -116, 33, 34), 0.5, 2.0, 2.1, start="2020-01-01", end="2020-01-02")
    with pytest.raises(ForecastValidationError, match="shape"):
        Forecast(np.ones((3, 2, 2)), spec)
    with pytest.raises(ForecastValidationError, match="negative"):
        Forecast(-np.ones(spec.shape), spec)
    with pytest.raises(ForecastValidationError, match="non-finite"):
        Forecast(np.full(spec.shape, np.inf), spec)
    ds = Forecast(np.ones(spec.shape), spec)
    with pytest.raises(ForecastValidationError, match="coordinate 'magnitude'"):
        Forecast.validate(ds.assign_coords(magnitude=[2.05, 2.15]))
    from quakelab.forecast import GridSpecError

    with pytest.raises(GridSpecError, match="whole number of bins"):
        GridSpec((-117, -116, 33, 34), 0.5, 2.0, 2.15)
    with pytest.raises(GridSpecError, match="start .* is not before end"):
        GridSpec((-117, -116, 33, 34), 0.5, 2.0, 2.1, start="2020-01-02", end="2020-01-01")


def test_cell_lookup_marginals_and_observed_counts():
    """Hand-counted: 4 cells of 0.5 deg, bins 2.0 and 2.1 (2.1 open above)."""
    spec = GridSpec((-117, -116, 33, 34), 0.5, 2.0, 2.1, start="2020-01-01", end="2020-01-08")
    arr = np.arange(8, dtype=float).reshape(spec.shape)
    ds = Forecast(arr, spec)
    assert float(ds.quake.total()) == 28.0
    assert ds.quake.magnitude_marginal().values.tolist() == [6.0, 22.0]
    assert ds.quake.spatial_marginal().values.tolist() == [[4.0, 6.0], [8.0, 10.0]]
    cat = pd.DataFrame(
        {
            "time": pd.to_datetime(
                ["2020-01-02", "2020-01-03", "2020-01-04", "2020-01-05", "2019-12-31"], utc=True
            ),
            "longitude": [-116.9, -116.5, -116.1, -117.5, -116.9],  # -116.5 is a cell edge: the eastern cell
            "latitude": [33.1, 33.9, 33.5, 33.5, 33.1],
            "magnitude": [1.95, 2.04, 7.3, 2.5, 2.0],  # 1.95 bins to 2.0; 7.3 falls in the open last bin
        }
    )
    idx = ds.quake.bin_index(cat["longitude"], cat["latitude"], cat["magnitude"])
    assert idx.tolist() == [[0, 0, 0], [0, 1, 1], [1, 1, 1], [-1, -1, -1], [0, 0, 0]]
    obs = ds.quake.observed(cat)
    assert obs.values.sum() == 3  # the 2019 event is outside the window, one event outside the region
    assert ds.quake.rates_at(cat)[:3].tolist() == [0.0, 3.0, 7.0]
    assert np.isnan(ds.quake.rates_at(cat)[3])
    assert spec.magnitude_index([1.94, 1.95, 2.049, 2.05, 9.0]).tolist() == [-1, 0, 0, 1, 1]


def test_catalog_forecast_csv_round_trip_with_pycsep(tmp_path):
    """pycsep's shipped UCERF3 Landers catalog forecast: first 10 catalogs through our reader and writer."""
    src = EXAMPLES / "CatalogForecasts" / "ucerf3-landers_1992-06-28T11-57-34-14.csv"
    subset = tmp_path / "subset.csv"
    with open(src) as fh:
        lines = [next(fh)]
        for line in fh:
            if int(line.split(",")[5]) >= 10:
                break
            lines.append(line)
    subset.write_text("".join(lines))
    cf = CatalogForecast.read_csv(subset)
    theirs = csep.load_catalog_forecast(str(subset))
    counts = [c.event_count for c in theirs]
    assert cf.n_catalogs == len(counts) == 10
    assert cf.event_counts().tolist() == counts
    out = cf.write_csv(tmp_path / "ours.csv")
    again = csep.load_catalog_forecast(str(out))
    for a, b in zip(theirs, again, strict=True):
        assert np.array_equal(a.get_magnitudes(), b.get_magnitudes())
        assert np.array_equal(a.get_epoch_times(), b.get_epoch_times())
        assert np.allclose(a.get_longitudes(), b.get_longitudes(), rtol=0, atol=1e-9)
    py = cf.to_pycsep()
    assert [c.event_count for c in py] == counts
    # expected counts per bin = mean over catalogs (hand check of the total inside the grid)
    spec = GridSpec((-118, -115, 33, 36), 0.5, 2.5, 8.0, start="1992-06-28", end="1993-06-28")
    ds = cf.expected_counts(spec)
    assert float(ds.quake.total()) == pytest.approx(cf.event_counts(spec).mean())


def test_old_names_still_work(tmp_path):
    from quakelab.evaluate import read_catalog_forecast_csv, write_catalog_forecast_csv

    sims = pd.DataFrame(
        {
            "catalog_id": [0, 0, 2],
            "event_id": ["a", "b", "c"],
            "time": pd.to_datetime(["2020-01-01 01:00", "2020-01-01 02:00", "2020-01-02 00:00"], utc=True),
            "latitude": [33.5, 33.6, 33.7],
            "longitude": [-116.5, -116.4, -116.3],
            "depth_km": [5.0, 6.0, np.nan],
            "magnitude": [2.1, 3.4, 2.0],
        }
    )
    path = write_catalog_forecast_csv(sims, tmp_path / "cf.csv", n_simulations=4)
    fc = read_catalog_forecast_csv(path)
    assert [c.event_count for c in fc] == [2, 0, 1, 0]
    cf = CatalogForecast.read_csv(path, n_catalogs=4)
    assert cf.event_counts().tolist() == [2, 0, 1, 0]
    assert cf.events["magnitude"].tolist() == [2.1, 3.4, 2.0]


def test_magnitude_resolution_sets_the_bin_edges():
    """QTM-like two-decimal magnitudes binned by 0.1 from 1.0: bin 1.0 holds 1.00-1.09 (edges at 0.995, 1.095)."""
    spec = GridSpec((-117, -116, 33, 34), 0.5, 1.0, 1.2, magnitude_resolution=0.01)
    assert spec.magnitude_lower_edges.tolist() == [0.995, 1.095, 1.195]
    assert spec.magnitude_index([0.99, 1.0, 1.09, 1.094, 1.095, 1.1, 1.19, 3.0]).tolist() == [
        -1,
        0,
        0,
        0,
        1,
        1,
        1,
        2,
    ]
    csep_like = GridSpec((-117, -116, 33, 34), 0.5, 1.0, 1.2)  # resolution = bin width: CSEP edges 0.95, 1.05
    assert csep_like.magnitude_lower_edges.tolist() == [0.95, 1.05, 1.15]
    assert csep_like.magnitude_index([0.94, 0.95, 1.04, 1.05]).tolist() == [-1, 0, 0, 1]
    ds = Forecast(np.ones(spec.shape), spec.with_window("2020-01-01", "2020-01-02"))
    assert np.array_equal(to_pycsep(ds).magnitudes, [0.995, 1.095, 1.195])
    back = from_pycsep(to_pycsep(ds), magnitude_resolution=0.01)
    assert back.quake.spec.magnitudes.tolist() == [1.0, 1.1, 1.2]
    assert back.quake.spec.magnitude_resolution == 0.01
