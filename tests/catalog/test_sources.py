"""open_catalog over every kind of source, list_formats, and every event format ObsPy reads (its own
example files, shipped inside the installed package)."""

import subprocess
import sys
import threading
import warnings
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from quakelab.catalog import CatalogError, list_formats, open_catalog, read_catalog, rejected_rows


def obspy_io() -> Path:
    import obspy

    return Path(obspy.__path__[0]) / "io"


USER_COLUMNS = {
    "time": "origin_utc",
    "latitude": "lat_deg",
    "longitude": "lon_deg",
    "depth_km": "z_km",
    "magnitude": "ml",
}


def test_dataset_name_path_and_mapping_give_the_same_events(data_dir, sample_catalog):
    by_name = open_catalog("ridgecrest-2019-sample")
    entry = {
        "path": str(data_dir / "user_catalog_semicolon.csv"),
        "delimiter": ";",
        "columns": USER_COLUMNS,
        "timezone": "UTC",
        "name": "mine",
    }
    mine = open_catalog(entry)
    assert len(by_name) == len(mine) == 829 and mine.attrs["catalog"] == "mine"
    for col in ("latitude", "longitude", "magnitude", "depth_km"):
        assert (mine[col] - sample_catalog[col]).abs().max() < 1e-4, col
    assert (mine["time"] - sample_catalog["time"]).abs().max() <= pd.Timedelta("1ms")
    assert mine["remark"].eq("felt").sum() == (sample_catalog["magnitude"] >= 4.5).sum()


def test_entry_names_resolve_through_a_config(tmp_path, data_dir):
    cfg = tmp_path / "papermill_runs.yaml"
    cfg.write_text(
        f"catalogs:\n  net:\n    path: {data_dir / 'user_catalog_semicolon.csv'}\n    delimiter: ';'\n"
        "    timezone: UTC\n    columns: {time: origin_utc, latitude: lat_deg, longitude: lon_deg, "
        "magnitude: ml}\nruns: []\n"
    )
    assert len(open_catalog("net", config=cfg)) == 829
    with pytest.raises(CatalogError, match="did you mean 'net'"):
        open_catalog("nett", config=cfg)
    with pytest.raises(CatalogError, match="did you mean 'ridgecrest-2019-sample'"):
        open_catalog("ridgecrest-2019-smaple")


def test_mapping_to_absent_column_names_it(data_dir):
    with pytest.raises(CatalogError, match="'magnitude_ml'.*not found"):
        open_catalog(
            {
                "path": str(data_dir / "user_catalog_semicolon.csv"),
                "columns": {**USER_COLUMNS, "magnitude": "magnitude_ml"},
                "timezone": "UTC",
            }
        )


def test_unreadable_file_names_the_formats_tried(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("shopping list\neggs\n")
    with pytest.raises(CatalogError) as err:
        read_catalog(p)
    msg = str(err.value)
    assert str(p) in msg and "GeoJSON" in msg and "Parquet" in msg and "NORDIC" in msg and "comcat" in msg


def test_geojson_by_content(tmp_path):
    p = tmp_path / "feed"  # no suffix: told from the content
    p.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "ci1", "properties": '
        '{"mag": 4.2, "time": 1562383193040, "magType": "ml", "type": "earthquake", "place": "x"}, '
        '"geometry": {"type": "Point", "coordinates": [-117.6, 35.77, 8.0]}}]}'
    )
    cat = open_catalog(p)
    row = cat.iloc[0]
    assert cat.attrs["format"] == "geojson" and row["event_id"] == "ci1" and row["magnitude"] == 4.2
    assert row["time"] == pd.Timestamp("2019-07-06T03:19:53.040Z") and row["depth_km"] == 8.0


def test_url_is_downloaded_once_into_the_cache(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("QUAKELAB_CACHE", str(tmp_path / "cache"))
    handler = partial(SimpleHTTPRequestHandler, directory=str(data_dir))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/comcat_small.csv"
        cat = open_catalog(url)
    finally:
        server.shutdown()
    assert len(cat) == 4
    cached = list((tmp_path / "cache" / "downloads").iterdir())
    assert len(cached) == 1 and cached[0].name.endswith("comcat_small.csv")
    assert len(open_catalog(url)) == 4  # the server is gone: the cached copy is used


def test_every_listed_format_name_is_accepted():
    table = list_formats()
    from quakelab.catalog.readers import canonical_format

    for name in table.index:
        assert canonical_format(name) == name
    for alias in ("isf", "IMS10BULLETIN", "nlloc", "QuakeML", "SC3ML"):
        assert canonical_format(alias) in table.index
    with pytest.raises(CatalogError, match="did you mean 'nordic'"):
        canonical_format("nordik")
    with pytest.raises(CatalogError, match="can write KML but not read it"):
        canonical_format("kml")


def test_formats_cli_lists_every_format():
    out = subprocess.run(
        [sys.executable, "-m", "quakelab.cli", "formats"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    for name in ("comcat", "fdsn-text", "pycsep", "csv", "geojson", "parquet", "nordic", "ims10bulletin"):
        assert f"\n{name} " in "\n" + out
    assert "KML" in out


# (format, file under obspy/io, events with origin and magnitude, rejected events and their reason)
OBSPY_CASES = [
    ("quakeml", "quakeml/tests/data/iris_events.xml", 2, 0, None),
    ("sc3ml", "seiscomp/tests/data/qml-example-1.2-RC3.sc3ml", 1, 0, None),
    ("scml", "seiscomp/tests/data/quakeml_1.2_data_used.scml", 0, 1, "missing time"),  # no origin in the file
    ("nordic", "nordic/tests/data/01-0411-15L.S201309", 1, 0, None),
    ("ndk", "ndk/tests/data/multiple_events.ndk", 6, 0, None),
    ("zmap", None, 3, 0, None),  # ObsPy ships no ZMAP file: its example events written by ObsPy
    ("cmtsolution", "cmtsolution/tests/data/MULTIPLE_EVENTS", 4, 0, None),
    ("mchedr", "pde/tests/data/mchedr.dat", 1, 0, None),
    ("nlloc-hyp", "nlloc/tests/data/nlloc.hyp", 0, 1, "missing magnitude"),  # a location has no magnitude
    ("ims10bulletin", "iaspei/tests/data/19670130012028.isf", 1, 0, None),
    ("scardec", "scardec/tests/data/test.scardec", 1, 0, None),
    ("fnetmt", "nied/tests/data/FNETMTCATALOG", 1, 0, None),
    ("focmec", "focmec/tests/data/focmec_8sta.out", 0, 1, "missing time"),  # a focal mechanism only
    ("gse2-bulletin", "gse2/tests/data/bulletin/gse_2.0_standard.txt", 1, 0, None),
    ("hypodd-pha", "hypodd/tests/data/example.pha", 2, 0, None),
    ("evt", "sh/tests/data/local2.evt", 1, 0, None),
    ("obspy-csv", "csv/tests/data/catalog.csv", 3, 0, None),
    ("csz", None, 3, 0, None),  # written by ObsPy from its example events
    ("eventtxt", "csv/tests/data/events.txt", 2, 0, None),
]


@pytest.fixture(scope="module")
def obspy_written(tmp_path_factory):
    import obspy

    d = tmp_path_factory.mktemp("obspy")
    events = obspy.read_events()
    events.write(str(d / "example.zmap"), format="ZMAP")
    events.write(str(d / "example.csz"), format="CSZ")
    return {"zmap": d / "example.zmap", "csz": d / "example.csz"}


@pytest.mark.parametrize(
    ("fmt", "rel", "n", "n_rejected", "reason"), OBSPY_CASES, ids=[c[0] for c in OBSPY_CASES]
)
def test_obspy_formats_by_detection_and_by_name(fmt, rel, n, n_rejected, reason, obspy_written):
    import obspy

    path = obspy_written[fmt] if rel is None else obspy_io() / rel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ObsPy's own warnings about its example files
        auto = open_catalog(path)
        named = open_catalog(path, format=fmt)
        events = obspy.read_events(str(path))
    assert len(auto) == len(named) == n
    rep = rejected_rows(named)
    assert len(rep) == n_rejected and (reason is None or set(rep["reason"]) == {reason})
    if n:
        ev = next(
            e
            for e in events
            if (e.preferred_origin() or (e.origins or [None])[0]) is not None
            and (e.preferred_magnitude() or e.magnitudes)
        )
        org = ev.preferred_origin() or ev.origins[0]
        mag = ev.preferred_magnitude() or ev.magnitudes[0]
        hit = named[(named["time"] - pd.Timestamp(org.time.datetime, tz="UTC")).abs() < pd.Timedelta("1ms")]
        assert len(hit) >= 1
        assert hit["latitude"].iloc[0] == pytest.approx(org.latitude) and hit["magnitude"].iloc[
            0
        ] == pytest.approx(mag.mag)


def test_waveform_file_is_not_a_catalog():
    with pytest.raises(CatalogError, match="no reader recognises"):
        open_catalog(obspy_io() / "sh/tests/data/QFILE-TEST.QHD")
