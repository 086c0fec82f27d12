"""Inputs read by URL through fsspec: local paths, ``file://``, ``s3://`` and any fsspec protocol.

Every reader of quakelab that accepts a path also accepts an fsspec URL and ``storage_options``
(the keyword arguments of :func:`fsspec.open`, e.g. ``{"endpoint_url": ..., "key": ..., "secret": ...}``
for ``s3://``). Dask workers open inputs by URL themselves, so no input data passes through the scheduler.

``http(s)://`` catalog URLs keep their own path (downloaded once into the cache folder, see
:func:`quakelab.catalog.open_catalog`); every other ``protocol://`` goes through fsspec. ``s3://`` needs
``s3fs`` (the ``dist`` extra).

Examples
--------
>>> is_url("s3://bucket/catalog.csv"), is_url("data/catalog.csv"), is_url("C:/data/catalog.csv")
(True, False, False)
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: fsspec protocol -> (module that implements it, extra of quakelab that installs it).
PROTOCOL_PACKAGES: dict[str, tuple[str, str]] = {"s3": ("s3fs", "dist"), "s3a": ("s3fs", "dist")}

_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]+)://")


def protocol(source: Any) -> str | None:
    """The URL protocol of ``source`` (``"s3"``, ``"file"``, ...), or None for a plain path or object."""
    if not isinstance(source, str):
        return None
    m = _URL.match(source)
    return m.group(1).lower() if m else None


def is_url(source: Any) -> bool:
    """Whether ``source`` is a ``protocol://`` URL (a plain or Windows path is not)."""
    return protocol(source) is not None


def is_remote(source: Any) -> bool:
    """Whether ``source`` is a URL read through fsspec (any protocol but ``http(s)``)."""
    return protocol(source) not in (None, "http", "https")


def filesystem(url: str, storage_options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path inside it.

    Parameters
    ----------
    url : str
        ``protocol://...`` URL or local path.
    storage_options : mapping, optional
        Options of the filesystem (for ``s3://``: ``key``, ``secret``, ``endpoint_url``,
        ``client_kwargs={"region_name": ...}``, ``anon``, ...).

    Returns
    -------
    (fsspec.AbstractFileSystem, str)

    Raises
    ------
    quakelab._optional.MissingOptionalDependency
        The package that implements the protocol is missing (the message names the extra).
    """
    import fsspec

    from quakelab._optional import require

    proto = protocol(url)
    if proto in PROTOCOL_PACKAGES:
        module, extra = PROTOCOL_PACKAGES[proto]
        require(module, extra, purpose=f"reading {proto}:// URLs", load=False)
    fs, path = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
    return fs, path


def open_url(url: str | os.PathLike, mode: str = "rb", storage_options: Mapping[str, Any] | None = None):
    """Open a local path or an fsspec URL (:func:`fsspec.open`; use it as a context manager)."""
    import fsspec

    text = os.fspath(url)
    if is_remote(text):
        filesystem(text, storage_options)  # a clear message when the protocol's package is missing
    return fsspec.open(text, mode, **dict(storage_options or {}))


def read_bytes(url: str | os.PathLike, storage_options: Mapping[str, Any] | None = None) -> bytes:
    """The whole content of a local file or an fsspec URL."""
    if not is_remote(os.fspath(url)):
        return Path(url).read_bytes()
    with open_url(url, "rb", storage_options) as fh:
        return fh.read()


def read_text(
    url: str | os.PathLike, storage_options: Mapping[str, Any] | None = None, encoding: str = "utf-8"
) -> str:
    """The text of a local file or an fsspec URL."""
    return read_bytes(url, storage_options).decode(encoding)


def exists(url: str | os.PathLike, storage_options: Mapping[str, Any] | None = None) -> bool:
    """Whether a local path or an fsspec URL (file or folder) exists."""
    text = os.fspath(url)
    if not is_remote(text):
        return Path(text).exists()
    fs, path = filesystem(text, storage_options)
    return bool(fs.exists(path))


@contextmanager
def local_copy(url: str | os.PathLike, storage_options: Mapping[str, Any] | None = None) -> Iterator[Path]:
    """A local path with the content of ``url`` (a file or a folder such as a partitioned Parquet catalog).

    A local path is yielded as it is. A remote file or folder is copied into a new temporary folder
    under its own name (so that readers telling the format from the name or content see the same
    thing), and the copy is removed on exit.

    Parameters
    ----------
    url : str or path-like
        Local path or fsspec URL.
    storage_options : mapping, optional
        Options of the filesystem.

    Yields
    ------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        When nothing exists at ``url``.
    """
    text = os.fspath(url)
    if not is_remote(text):
        yield Path(text)
        return
    fs, path = filesystem(text, storage_options)
    if not fs.exists(path):
        raise FileNotFoundError(f"not found: {text}")
    tmp = Path(tempfile.mkdtemp(prefix="quakelab-fetch-"))
    try:
        name = path.rstrip("/").rsplit("/", 1)[-1] or "data"
        target = tmp / name
        if fs.isdir(path):
            target.mkdir()
            for src in fs.find(path):
                rel = src[len(path.rstrip("/")) + 1 :]
                dest = target / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                fs.get_file(src, str(dest))
        else:
            fs.get_file(path, str(target))
        yield target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = [
    "PROTOCOL_PACKAGES",
    "exists",
    "filesystem",
    "is_remote",
    "is_url",
    "local_copy",
    "open_url",
    "protocol",
    "read_bytes",
    "read_text",
]
