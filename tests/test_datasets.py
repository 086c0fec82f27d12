import pytest

from quakelab import datasets


def test_bundled_sample_is_available_everywhere():
    d = datasets.get("ridgecrest-2019-sample")
    assert d.kind == "bundled" and d.available and d.path().name == "sample_comcat_catalog.csv"
    assert len(d.load()) == 829


def test_obspy_example_events():
    cat = datasets.load("obspy-example-events")
    assert len(cat) == 1 and cat["event_type"].iloc[0] == "quarry blast"


@pytest.mark.parametrize("name", ["ridgecrest-2019", "qtm-sanjacinto", "usgs-global-significant"])
def test_shared_files_match_their_published_checksums(shared_data, name):
    d = datasets.get(name)
    assert d.path().parent == shared_data
    assert d.checksum() == d.sha256


def test_shared_datasets_unavailable_when_folder_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("QUAKELAB_SHARED_DATA", str(tmp_path / "nowhere"))
    d = datasets.get("qtm-sanjacinto")
    assert not d.available and "QUAKELAB_SHARED_DATA" in d.unavailable_reason()
    with pytest.raises(FileNotFoundError, match="not available"):
        d.load()
    table = datasets.list_datasets()
    assert bool(table.loc["ridgecrest-2019-sample", "available"]) is True
    assert bool(table.loc["qtm-sanjacinto", "available"]) is False


def test_online_recipes_are_listed_not_fetched():
    d = datasets.get("comcat-california-m2.5")
    assert d.kind == "online" and not d.available
    assert d.fetch["min_magnitude"] == 2.5 and str(d.fetch["start"]).startswith("1981")


def test_unknown_name():
    with pytest.raises(KeyError, match="known: .*ridgecrest-2019-sample"):
        datasets.get("ridgecrest")


def _fake_shared(tmp_path, monkeypatch, content: bytes):
    """A shared folder holding a file under a registered name (the registered checksum is the real one)."""
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "ridgecrest_2019_aftershocks.csv").write_bytes(content)
    monkeypatch.setenv("QUAKELAB_SHARED_DATA", str(folder))
    monkeypatch.setenv("QUAKELAB_CACHE", str(tmp_path / "cache"))
    return folder / "ridgecrest_2019_aftershocks.csv"


def test_a_wrong_file_under_a_right_name_is_never_used(tmp_path, monkeypatch):
    path = _fake_shared(
        tmp_path, monkeypatch, b"time,latitude,longitude,depth,mag\n2019-07-04T00:00:00Z,35,-117,5,3\n"
    )
    with pytest.raises(
        datasets.DatasetChecksumError, match=f"file {path} does not match dataset 'ridgecrest-2019'"
    ):
        datasets.load("ridgecrest-2019")
    from quakelab.catalog import open_catalog

    with pytest.raises(datasets.DatasetChecksumError):
        open_catalog("ridgecrest-2019")


def test_checksums_are_cached_by_size_and_mtime(tmp_path, monkeypatch):
    import hashlib
    import json
    import os

    body = b"abc\n"
    path = _fake_shared(tmp_path, monkeypatch, body)
    assert datasets.cached_sha256(path) == hashlib.sha256(body).hexdigest()
    cache = json.loads((tmp_path / "cache" / "checksums.json").read_text())
    assert cache[str(path.resolve())]["size"] == 4
    # a cached digest is trusted while size and mtime are unchanged (no re-read) ...
    cache[str(path.resolve())]["sha256"] = "remembered"
    (tmp_path / "cache" / "checksums.json").write_text(json.dumps(cache))
    assert datasets.cached_sha256(path) == "remembered"
    # ... and recomputed when either changes
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert datasets.cached_sha256(path) == hashlib.sha256(body).hexdigest()


def test_shared_dataset_verified_on_load(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("QUAKELAB_CACHE", str(tmp_path))
    d = datasets.get("ridgecrest-2019")
    assert d.verify() == d.sha256
    assert json_keys(tmp_path / "checksums.json") == [str(d.path().resolve())]


def json_keys(path):
    import json

    return sorted(json.loads(path.read_text()))
