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
