import os

import pandas as pd
import pytest

from quakelab.catalog import (
    read_catalog,
    read_parquet,
    select,
    select_box,
    select_depth,
    select_magnitude,
    select_polygon,
    select_time,
    write_parquet,
)


def test_time_window_half_open(sample_catalog):
    sub = select_time(sample_catalog, "2019-07-07", "2019-07-08")
    assert sub["time"].min() >= pd.Timestamp("2019-07-07", tz="UTC")
    assert sub["time"].max() < pd.Timestamp("2019-07-08", tz="UTC")
    t = sample_catalog["time"]
    assert len(sub) == ((t >= "2019-07-07T00:00Z") & (t < "2019-07-08T00:00Z")).sum()


def test_magnitude_and_depth(sample_catalog):
    assert len(select_magnitude(sample_catalog, 4.0)) == 54
    assert len(select_magnitude(sample_catalog, 4.0, 5.0)) == 54 - (sample_catalog["magnitude"] >= 5.0).sum()
    d = select_depth(sample_catalog, 0, 5)
    assert d["depth_km"].between(0, 5).all() and len(d) > 0


def test_box_and_antimeridian():
    cat = pd.DataFrame({"longitude": [179.5, -179.5, 0.0], "latitude": [0.0, 0.0, 0.0]})
    assert len(select_box(cat, 179, -179, -1, 1)) == 2
    assert len(select_box(cat, -1, 1, -1, 1)) == 1


def test_polygon_triangle_and_invalid():
    cat = pd.DataFrame({"longitude": [0.2, 0.8, 0.5, 0.0], "latitude": [0.2, 0.8, 0.1, 0.0]})
    tri = [(0, 0), (1, 0), (0, 1)]
    out = select_polygon(cat, tri)
    assert sorted(out.index) == [0, 2, 3]  # 0.8,0.8 is outside; the vertex (0,0) is on the boundary
    with pytest.raises(ValueError, match="invalid polygon"):
        select_polygon(cat, [(0, 0), (1, 1), (1, 0), (0, 1)])  # bow-tie


def test_select_combines(sample_catalog):
    out = select(sample_catalog, start="2019-07-06T06:00", min_magnitude=3.0, region=(-118, -117, 35, 36.5))
    assert (out["magnitude"] >= 3.0).all() and out["longitude"].between(-118, -117).all()


def test_parquet_roundtrip_exact(sample_catalog, tmp_path):
    p = write_parquet(sample_catalog, tmp_path / "c.parquet")
    back = read_parquet(p)
    pd.testing.assert_frame_equal(back, sample_catalog, check_dtype=False)
    assert str(back["time"].dtype) == "datetime64[ns, UTC]"
    again = read_catalog(p)  # Parquet through the generic reader validates too
    assert len(again) == 829
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_partitioned_by_year_readable_by_dask(shared_data, tmp_path):
    import dask.dataframe as dd

    cat = read_catalog(shared_data / "qtm_sanjacinto_2008_2017.csv", preset="qtm-sanjacinto")
    out = write_parquet(cat, tmp_path / "qtm", partition_by_year=True)
    years = sorted(p.name for p in out.iterdir())
    assert years == [f"year={y}" for y in range(2008, 2018)]
    assert len(read_parquet(out)) == len(cat)
    assert len(read_parquet(out, years=[2010])) == (cat["time"].dt.year == 2010).sum()
    ddf = dd.read_parquet(out)
    assert ddf.npartitions >= 10
    assert int(ddf["magnitude"].count().compute()) == len(cat)
    # rewriting replaces the directory atomically
    write_parquet(cat.head(10), out, partition_by_year=True)
    assert len(read_parquet(out)) == 10


def test_failed_write_keeps_previous_file(sample_catalog, tmp_path):
    p = write_parquet(sample_catalog, tmp_path / "c.parquet")
    before = p.read_bytes()
    bad = sample_catalog.copy()
    bad["unserialisable"] = [object()] * len(bad)
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error type
        write_parquet(bad, p)
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["c.parquet"]
