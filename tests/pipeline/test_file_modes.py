"""Reports, figures and stores are written with the user's umask (tempfile's 0600/0700 never leak)."""

import os
import stat

import pytest

from quakelab.catalog.store import (
    apply_umask,
    atomic_directory,
    current_umask,
    write_parquet,
    write_text_atomic,
)


@pytest.fixture(params=[0o022, 0o002], ids=["umask022", "umask002"])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def expected(p, umask):
    return (0o777 if os.path.isdir(p) else 0o666) & ~umask


def test_current_umask_reads_without_changing(umask):
    assert current_umask() == umask
    assert current_umask() == umask


def test_text_parquet_and_directories(tmp_path, umask, sample_catalog):
    files = [
        write_text_atomic(tmp_path / "a" / "x.json", "{}"),
        write_parquet(sample_catalog.head(20), tmp_path / "c.parquet"),
    ]
    part = write_parquet(sample_catalog.head(20), tmp_path / "parts", partition_by_year=True)
    with atomic_directory(tmp_path / "made", create=True) as new:  # tempfile.mkdtemp underneath
        (new / "f.txt").write_text("x")
    with atomic_directory(tmp_path / "plain") as new:
        new.mkdir()
    paths = files + [
        part,
        *part.rglob("*"),
        tmp_path / "made",
        tmp_path / "made" / "f.txt",
        tmp_path / "plain",
    ]
    assert {str(p): oct(mode(p)) for p in paths} == {str(p): oct(expected(p, umask)) for p in paths}
    assert mode(files[0]) == (0o644 if umask == 0o022 else 0o664)
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary names left


def test_figures_realtime_and_model_stores(tmp_path, umask):
    import matplotlib.pyplot as plt

    from quakelab.learn.store import save_model
    from quakelab.realtime.store import EventStore
    from quakelab.viz.plots import save_figure

    fig, ax = plt.subplots()
    fig_path = save_figure(ax, tmp_path / "figures" / "f.png")
    store = EventStore(tmp_path / "live")
    events = store.commit(polls=1)
    model_dir = save_model({"coef": [1.0, 2.0]}, "m", features=["a", "b"], root=tmp_path / "models")
    paths = [fig_path, events, tmp_path / "live" / "checkpoint.json", model_dir, *model_dir.iterdir()]
    assert len(paths) == 6
    assert {str(p): oct(mode(p)) for p in paths} == {str(p): oct(expected(p, umask)) for p in paths}


def test_apply_umask_on_a_private_file(tmp_path, umask):
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=tmp_path)
    os.close(fd)
    assert mode(tmp) == 0o600
    assert mode(apply_umask(tmp)) == 0o666 & ~umask
    d = tempfile.mkdtemp(dir=tmp_path)
    assert mode(apply_umask(d)) == 0o777 & ~umask
