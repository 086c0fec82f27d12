"""Parquet storage of catalogs: atomic writes, optional partitioning by year for dask/pyarrow."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from quakelab.catalog.schema import CatalogError


def current_umask() -> int:
    """The process's file-mode creation mask (read without changing it where the system allows)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting and restoring it
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike) -> Path:
    """Give a file or directory made by :mod:`tempfile` (0600 / 0700) the mode the user's umask allows.

    ``tempfile.mkstemp`` and ``mkdtemp`` create private files; renamed into place they would stay
    unreadable to everyone else. Files get ``0o666 & ~umask``, directories ``0o777 & ~umask``.

    Parameters
    ----------
    path : path-like
        A file or directory.

    Returns
    -------
    pathlib.Path
        The path.

    Examples
    --------
    >>> fd, tmp = tempfile.mkstemp(); os.close(fd)
    >>> oct(apply_umask(tmp).stat().st_mode & 0o777) == oct(0o666 & ~current_umask())
    True
    >>> os.unlink(tmp)
    """
    p = Path(path)
    base = 0o777 if p.is_dir() else 0o666
    os.chmod(p, base & ~current_umask())
    return p


def atomic_path(path: str | os.PathLike) -> tuple[Path, Path]:
    """Return ``(final, temporary)`` paths in the same directory, for write-then-rename.

    The temporary file already has the mode of a normally created file (the user's umask).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    return final, apply_umask(tmp)


@contextmanager
def atomic_directory(path: str | os.PathLike, *, create: bool = False):
    """Build a directory under a temporary name beside ``path``; on success it replaces ``path`` whole.

    Yields the path to build the new directory at: not yet existing (the caller creates it), or with
    ``create=True`` an empty directory made beside ``path`` (a sibling, so that relative paths such as
    ``new / ".." / other`` resolve as they will after the rename). On an exception nothing is replaced
    and the temporary files are removed. A directory made private by ``tempfile.mkdtemp`` gets the
    mode of a normally created one (the user's umask) before it is renamed into place.

    Parameters
    ----------
    path : path-like
        The directory to (re)place.
    create : bool, default False
        Yield an existing empty sibling directory instead of a path to create.

    Examples
    --------
    >>> d = Path(tempfile.mkdtemp()) / "out"
    >>> with atomic_directory(d) as new:
    ...     new.mkdir()
    ...     _ = (new / "a.txt").write_text("x")
    >>> sorted(p.name for p in d.iterdir())
    ['a.txt']
    >>> with atomic_directory(d, create=True) as new:
    ...     _ = (new / "b.txt").write_text("y")
    >>> sorted(p.name for p in d.iterdir())
    ['b.txt']
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    new = apply_umask(work) if create else work / final.name
    trash: Path | None = None
    try:
        yield new
        if new.is_dir() and (new.stat().st_mode & 0o777) == 0o700:
            apply_umask(new)
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent)) if create else work
            os.replace(final, trash / ".replaced")
        os.replace(new, final)
    finally:
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename (never a partial file).

    Parameters
    ----------
    path : path-like
        Destination.
    text : str
        Content (UTF-8).

    Returns
    -------
    pathlib.Path
        The destination.
    """
    final, tmp = atomic_path(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def write_parquet(catalog: pd.DataFrame, path: str | os.PathLike, *, partition_by_year: bool = False) -> Path:
    """Write a catalog to Parquet atomically.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    path : path-like
        A ``.parquet`` file, or a directory when ``partition_by_year`` (Hive layout ``year=YYYY/``,
        readable lazily by ``dask.dataframe.read_parquet`` and ``pyarrow.dataset``).
    partition_by_year : bool, default False
        Partition by the UTC year of ``time``.

    Returns
    -------
    pathlib.Path
        The written file or directory.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> cat = pd.DataFrame({"event_id": ["a"], "time": pd.to_datetime(["2020-01-01"], utc=True),
    ...                     "latitude": [1.0], "longitude": [2.0], "depth_km": [3.0],
    ...                     "magnitude": [4.0], "mag_type": ["ml"]})
    >>> out = write_parquet(cat, tempfile.mkdtemp() + "/c.parquet")
    >>> len(read_parquet(out))
    1
    """
    frame = catalog.copy()
    frame.attrs = {}
    final = Path(path)
    if not partition_by_year:
        final, tmp = atomic_path(final)
        try:
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return final
    frame["year"] = frame["time"].dt.year.astype("int32")
    with atomic_directory(final) as new:
        frame.to_parquet(new, index=False, partition_cols=["year"])
    return final


def read_parquet(path: str | os.PathLike, *, years: list[int] | None = None) -> pd.DataFrame:
    """Read a catalog written by :func:`write_parquet` (file or year-partitioned directory).

    Parameters
    ----------
    path : path-like
        File or directory.
    years : list of int, optional
        Read only these partitions (directory layout only).

    Returns
    -------
    pandas.DataFrame
        Canonical catalog sorted by time.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"catalog file not found: {path}")
    filters = [("year", "in", list(years))] if years is not None else None
    frame = pd.read_parquet(path, filters=filters)
    if "year" in frame.columns and path.is_dir():
        frame = frame.drop(columns="year")
    if "time" not in frame.columns:
        raise CatalogError("not a quakelab catalog: no 'time' column", source=str(path))
    return frame.sort_values("time", kind="mergesort").reset_index(drop=True)
