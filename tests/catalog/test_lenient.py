"""Lenient and strict reading of malformed files: every bad row named by physical line, field and reason."""

import json
import warnings

import pandas as pd
import pytest

from quakelab.catalog import (
    CatalogError,
    RejectedRowsWarning,
    read_catalog,
    read_parquet,
    rejected_rows,
    write_parquet,
)

HEADER = "time,latitude,longitude,depth,mag,magType,id,place"
GOOD = [
    '2019-07-06T03:19:53.040Z,35.7695,-117.5993,8.0,7.1,mw,ci38457511,"2km SE of Searles Valley, CA"',
    '2019-07-06T03:22:35.630Z,35.6167,-117.4302,9.35,4.73,ml,ci38457519,"Ridgecrest"',
    '2019-07-06T03:22:48.300Z,35.8910,-117.7365,9.1,4.64,ml,ci38457527,"Ridgecrest"',
]


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RejectedRowsWarning)
        return read_catalog(path, **kw)


def test_physical_lines_count_blank_comment_and_multiline_fields(tmp_path):
    lines = [
        "# exported 2024-01-01",  # 1 comment before the header
        HEADER,  # 2
        GOOD[0],  # 3
        "",  # 4 blank
        "# a comment between rows",  # 5
        '2019-07-06T03:20:00.000Z,35.7,-117.6,8.0,3.0,ml,ci1,"first line of a',  # 6
        'place that spans two lines"',  # 7
        "2019-07-06T03:21:00.000Z,35.7,-117.6,8.0,big,ml,ci2,x",  # 8 bad magnitude
        GOOD[1],  # 9
    ]
    p = tmp_path / "odd.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.warns(RejectedRowsWarning, match="1 of 4 rows rejected"):
        cat = read_catalog(p)
    assert sorted(cat["event_id"]) == ["ci1", "ci38457511", "ci38457519"]
    assert cat.set_index("event_id").loc["ci1", "place"] == "first line of a\nplace that spans two lines"
    rep = rejected_rows(cat)
    assert rep[["line", "field", "reason"]].values.tolist() == [[8, "magnitude", "non-numeric magnitude"]]
    with pytest.raises(CatalogError, match=r"line 8, field 'magnitude'") as err:
        read_catalog(p, strict=True)
    assert str(p) in str(err.value)


def test_too_many_and_too_few_fields_never_raise_in_lenient_mode(tmp_path):
    lines = [
        HEADER,
        GOOD[0],
        "2019-07-06T03:20:00.000Z,35.7,-117.6,8.0,3.0,ml,ci1,x,EXTRA",  # 3: too many
        "2019-07-06T03:20:01.000Z,35.7,-117.6,8.0,3.0,ml",  # 4: truncated, only optional columns missing
        GOOD[1],
        GOOD[2],
    ]
    p = tmp_path / "ragged.csv"
    p.write_text("\n".join(lines) + "\n")
    cat = _read(p)
    assert list(cat["event_id"]) == ["ci38457511", "ci38457519", "ci38457527"]
    assert cat["magnitude"].tolist() == [7.1, 4.73, 4.64]
    rep = rejected_rows(cat).set_index("line")
    assert sorted(rep.index) == [3, 4]
    assert rep.loc[3, "reason"] == "too many fields (9, the header has 8)" and rep.loc[3, "value"] == "EXTRA"
    assert rep.loc[4, "field"] == "id" and rep.loc[4, "reason"].startswith(
        "too few fields (6, the header has 8)"
    )
    assert cat.attrs["n_read"] == 5
    with pytest.raises(CatalogError, match="line 3.*too many fields"):
        read_catalog(p, strict=True)


def test_strict_stops_at_the_first_bad_line_whatever_the_kind(tmp_path):
    lines = [
        HEADER,
        GOOD[0],
        "2019-07-06T03:20:00.000Z,95.0,-117.6,8.0,3.0,ml,ci1,x",  # 3: out of range
        "2019-07-06T03:20:01.000Z,35.7,-117.6,8.0,3.0,ml",
    ]  # 4: truncated
    p = tmp_path / "two.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(CatalogError) as err:
        read_catalog(p, strict=True)
    assert err.value.line == 3 and err.value.field == "latitude" and "out of range" in str(err.value)


def test_missing_required_naive_and_unparseable_times(tmp_path):
    lines = [
        HEADER,
        "2019-07-06T03:20:00.000Z,,-117.6,8.0,3.0,ml,ci1,x",  # 2 missing latitude
        "2019-07-06T03:20:01.000,35.7,-117.6,8.0,3.0,ml,ci2,x",  # 3 naive
        "2019-07-06T25:99:00.000Z,35.7,-117.6,8.0,3.0,ml,ci3,x",  # 4 unparseable
        "2019-07-06T03:20:02.000Z,35.7,-117.6,8.0,,ml,ci4,x",  # 5 missing magnitude
        GOOD[0],
    ]
    p = tmp_path / "values.csv"
    p.write_text("\n".join(lines) + "\n")
    rep = rejected_rows(_read(p)).set_index("line")
    assert rep["reason"].to_dict() == {
        2: "missing latitude",
        3: "naive timestamp (no time zone); pass timezone='UTC' if the source is in UTC",
        4: "unparseable time",
        5: "missing magnitude",
    }
    assert rep["field"].to_dict() == {2: "latitude", 3: "time", 4: "time", 5: "magnitude"}


def test_exact_duplicate_events_in_a_file_without_ids(tmp_path):
    p = tmp_path / "noid.csv"
    p.write_text(
        "time;lat;lon;mag\n"
        "2020-01-01T00:00:00Z;10;20;3.0\n"  # 2
        "2020-01-01T00:00:01Z;10;20;3.0\n"  # 3 (other time: kept)
        "\n"  # 4
        "2020-01-01T00:00:00Z;10;20;3.0\n"  # 5 duplicate of 2
        "2020-01-01T00:00:00Z;10;20;3.1\n"
    )  # 6 other magnitude: kept
    cat = _read(p)
    assert len(cat) == 3
    rep = rejected_rows(cat)
    assert rep[["line", "field"]].values.tolist() == [[5, "event"]]
    assert rep["reason"].iloc[0].startswith("duplicate of line 2")
    with pytest.raises(CatalogError, match="line 5.*duplicate of line 2"):
        read_catalog(p, strict=True)


def test_duplicate_ids_name_the_first_line(data_dir):
    rep = rejected_rows(_read(data_dir / "comcat_bad.csv")).set_index("line")
    assert rep.loc[6, "reason"] == "duplicate event_id (first seen at line 2)"


def test_semicolon_and_tab_delimiters_are_sniffed(tmp_path):
    for sep in (";", "\t", "|"):
        p = tmp_path / "x.txt"
        p.write_text(
            sep.join(["origin_time", "lat", "lon", "depth_km", "ml"])
            + "\n"
            + sep.join(["2020-01-01T00:00:00Z", "10.5", "20.25", "5", "3.3"])
            + "\n"
        )
        cat = read_catalog(p)
        assert cat[["latitude", "longitude", "depth_km", "magnitude"]].iloc[0].tolist() == [
            10.5,
            20.25,
            5.0,
            3.3,
        ]


def test_attrs_round_trip_through_plain_parquet(tmp_path, data_dir):
    cat = _read(data_dir / "comcat_bad.csv")
    json.dumps(cat.attrs)  # plain JSON
    cat.to_parquet(tmp_path / "c.parquet")
    back = pd.read_parquet(tmp_path / "c.parquet")
    pd.testing.assert_frame_equal(rejected_rows(back), rejected_rows(cat))
    assert back.attrs["n_read"] == 6 and back.attrs["source"] == str(data_dir / "comcat_bad.csv")
    pd.testing.assert_frame_equal(back, cat)
    # quakelab's own reader and writer, and a partitioned folder read back by format detection
    write_parquet(cat, tmp_path / "parts", partition_by_year=True)
    again = read_catalog(tmp_path / "parts")
    assert again.attrs["format"] == "parquet" and again["event_id"].tolist() == cat["event_id"].tolist()
    assert len(read_parquet(tmp_path / "c.parquet")) == 2


def test_report_survives_copies_without_copying(data_dir):
    cat = _read(data_dir / "comcat_bad.csv")
    sub = cat[cat["magnitude"] > 1].copy()
    assert sub.attrs["rejected"] is cat.attrs["rejected"]
    assert len(rejected_rows(sub)) == 4


def test_byte_order_mark_and_latin1(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("\ufefftime;lat;lon;mag;lieu\n2020-01-01T00:00:00Z;10;20;3.0;Genève\n".encode())
    cat = read_catalog(p)
    assert cat["magnitude"].tolist() == [3.0] and cat["lieu"].tolist() == ["Genève"]
    p.write_bytes("time;lat;lon;mag;lieu\n2020-01-01T00:00:00Z;10;20;3.0;Genève\n".encode("latin-1"))
    assert read_catalog(p)["lieu"].tolist() == ["Genève"]
