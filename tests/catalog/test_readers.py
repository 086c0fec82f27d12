import warnings

import numpy as np
import pandas as pd
import pytest

from quakelab.catalog import (
    CANONICAL_COLUMNS,
    CatalogError,
    RejectedRowsWarning,
    read_catalog,
    rejected_rows,
)


def test_comcat_csv_canonical_columns_and_values(data_dir):
    cat = read_catalog(data_dir / "comcat_small.csv")
    assert list(cat.columns[:7]) == list(CANONICAL_COLUMNS)
    assert str(cat["time"].dtype) == "datetime64[ns, UTC]"
    assert len(cat) == 4
    m71 = cat.set_index("event_id").loc["ci38457511"]
    assert m71["magnitude"] == 7.1 and m71["mag_type"] == "mw"
    assert m71["time"] == pd.Timestamp("2019-07-06T03:19:53.040Z")
    assert m71["depth_km"] == 8.0 and m71["latitude"] == pytest.approx(35.7695)
    # sorted by time, extras kept, event types kept (quarry blast not dropped silently)
    assert cat["time"].is_monotonic_increasing
    assert "place" in cat.columns
    assert sorted(cat["event_type"]) == ["earthquake", "earthquake", "earthquake", "quarry blast"]
    assert rejected_rows(cat).empty


def test_event_types_filtered_only_when_asked(data_dir):
    cat = read_catalog(data_dir / "comcat_small.csv", event_types=["earthquake"])
    assert len(cat) == 3 and "ci38449999" not in set(cat["event_id"])


def test_fdsn_text(data_dir):
    cat = read_catalog(data_dir / "fdsn_small.txt")
    assert list(cat["event_id"]) == ["ci38443183", "ci38457511"]
    assert cat["time"].iloc[1] == pd.Timestamp("2019-07-06T03:19:53.040Z")
    assert cat["mag_type"].tolist() == ["mw", "mw"]
    assert cat["depth_km"].tolist() == [10.5, 8.0]


def test_quakeml_through_obspy():
    import obspy

    path = obspy.__path__[0] + "/io/quakeml/tests/data/usgs_event.xml"
    with pytest.warns(UserWarning, match="'quarry' does not comply"):  # ObsPy drops the non-standard type
        cat = read_catalog(path)
    ev = obspy.read_events(path)[0]
    org = ev.preferred_origin() or ev.origins[0]
    assert len(cat) == 1
    assert cat["latitude"].iloc[0] == pytest.approx(org.latitude)
    assert cat["time"].iloc[0] == pd.Timestamp(org.time.datetime, tz="UTC")
    assert cat["depth_km"].iloc[0] == pytest.approx(org.depth / 1000)
    assert cat["event_type"].iloc[0] == "quarry blast"  # kept with its type, not turned into an earthquake


def test_pycsep_sample_known_counts(sample_catalog):
    cat = sample_catalog
    assert len(cat) == 829
    assert cat["magnitude"].min() == pytest.approx(2.5) and cat["magnitude"].max() == pytest.approx(5.5)
    assert cat["time"].min() == pd.Timestamp("2019-07-06T03:22:35.630Z")
    assert cat["time"].max() == pd.Timestamp("2019-07-13T02:47:44.270Z")
    assert (
        cat["magnitude"] >= 4.0
    ).sum() == 54  # awk -F, 'NR>1 && $3>=4.0' sample_comcat_catalog.csv | wc -l


@pytest.mark.parametrize(
    ("preset", "filename", "n", "first_time"),
    [
        ("qtm-sanjacinto", "qtm_sanjacinto_2008_2017.csv", 21291, "2008-01-01 05:19:47.961"),
        ("ridgecrest-2019", "ridgecrest_2019_aftershocks.csv", 12259, "2019-07-04 16:13:43.370"),
        ("usgs-global-significant", "usgs_global_significant_1965_2016.csv", 23412, "1965-01-02 13:44:18"),
    ],
)
def test_shared_presets(shared_data, preset, filename, n, first_time):
    cat = read_catalog(shared_data / filename, preset=preset)
    assert len(cat) == n
    assert rejected_rows(cat).empty
    assert cat["time"].iloc[0] == pd.Timestamp(first_time, tz="UTC")
    assert cat["event_id"].is_unique


def test_global_significant_keeps_non_earthquakes(shared_data):
    cat = read_catalog(
        shared_data / "usgs_global_significant_1965_2016.csv", preset="usgs-global-significant"
    )
    counts = cat["event_type"].value_counts()
    assert counts["nuclear explosion"] == 175 and counts["explosion"] == 4 and counts["rock burst"] == 1
    # three rows of the Kaggle extract carry ISO 8601 timestamps in the Date column: parsed, not lost
    assert cat["time"].notna().all()


def test_generic_csv_needs_mapping_and_maps(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("when,lat,lon,z,ml\n2020-01-01T00:00:00Z,10,20,5,3.3\n")
    with pytest.raises(CatalogError, match="cannot tell the catalog format"):
        read_catalog(p)
    cat = read_catalog(
        p, columns={"time": "when", "latitude": "lat", "longitude": "lon", "depth_km": "z", "magnitude": "ml"}
    )
    assert cat.iloc[0]["magnitude"] == 3.3 and cat.iloc[0]["event_id"] == "mine.csv:2"


def test_lenient_mode_reports_every_rejected_row(data_dir):
    with pytest.warns(RejectedRowsWarning, match="4 of 6 rows rejected"):
        cat = read_catalog(data_dir / "comcat_bad.csv")
    assert list(cat["event_id"]) == ["ci38443183", "ci2"]
    rep = rejected_rows(cat).set_index("line")
    assert sorted(rep.index) == [3, 4, 5, 6]
    assert rep.loc[3, "field"] == "latitude" and "out of range" in rep.loc[3, "reason"]
    assert rep.loc[4, "field"] == "magnitude" and rep.loc[4, "reason"] == "non-numeric magnitude"
    assert rep.loc[4, "value"] == "big"
    assert rep.loc[5, "field"] == "time" and rep.loc[5, "reason"] == "unparseable time"
    assert rep.loc[6, "field"] == "event_id" and "first seen at line 2" in rep.loc[6, "reason"]
    assert (rep["source"] == str(data_dir / "comcat_bad.csv")).all()


def test_strict_mode_names_file_line_and_field(data_dir):
    with pytest.raises(CatalogError) as err:
        read_catalog(data_dir / "comcat_bad.csv", strict=True)
    msg = str(err.value)
    assert "comcat_bad.csv" in msg and "line 3" in msg and "'latitude'" in msg
    assert err.value.line == 3 and err.value.field == "latitude"


def test_naive_timestamps_rejected_unless_zone_given(tmp_path):
    p = tmp_path / "naive.csv"
    p.write_text("t,la,lo,m\n2020-01-01 00:00:00,1,2,3\n2020-01-02 00:00:00,1,2,3\n")
    mapping = {"time": "t", "latitude": "la", "longitude": "lo", "magnitude": "m"}
    with pytest.raises(CatalogError, match="naive timestamp.*line 2|line 2.*naive timestamp"):
        read_catalog(p, columns=mapping, strict=True)
    with pytest.warns(RejectedRowsWarning):
        assert len(read_catalog(p, columns=mapping)) == 0
    cat = read_catalog(p, columns=mapping, timezone="UTC")
    assert cat["time"].iloc[0] == pd.Timestamp("2020-01-01", tz="UTC")
    la = read_catalog(p, columns=mapping, timezone="America/Los_Angeles")
    assert la["time"].iloc[0] == pd.Timestamp("2020-01-01 08:00", tz="UTC")


def test_longitudes_0_360_are_wrapped(tmp_path):
    p = tmp_path / "wrap.csv"
    p.write_text("t,la,lo,m\n2020-01-01T00:00:00Z,1,190,3\n2020-01-01T00:00:01Z,1,-170,3\n")
    cat = read_catalog(p, columns={"time": "t", "latitude": "la", "longitude": "lo", "magnitude": "m"})
    assert cat["longitude"].tolist() == [-170.0, -170.0]


def test_missing_file_and_bad_preset(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_catalog(tmp_path / "nope.csv")
    (tmp_path / "x.csv").write_text("a\n1\n")
    with pytest.raises(CatalogError, match="unknown preset"):
        read_catalog(tmp_path / "x.csv", preset="nope")


def test_no_warning_when_clean(sample_catalog, data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_catalog(data_dir / "comcat_small.csv")


def test_report_survives_pandas_operations(data_dir):
    with pytest.warns(RejectedRowsWarning):
        cat = read_catalog(data_dir / "comcat_bad.csv")
    sub = cat[cat["magnitude"] > 1]
    assert len(rejected_rows(sub)) == 4
    assert isinstance(pd.concat([cat, cat]), pd.DataFrame)
    assert np.isfinite(cat["magnitude"]).all()
