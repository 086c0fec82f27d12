"""Named datasets: where each catalog comes from, its licence, and whether it is available offline.

Three kinds:

* ``bundled`` — ships inside an installed package (pycsep's ComCat sample of the 2019 Ridgecrest
  sequence, ObsPy's example events): available on every machine.
* ``shared`` — real catalogs read in place from a shared data folder (``$QUAKELAB_SHARED_DATA``, or
  ``../shared/data`` beside the project); never copied into the project.
* ``online`` — recipes that download from an FDSN service with :func:`quakelab.catalog.fetch_catalog`
  and cache on disk.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

DatasetKind = Literal["bundled", "shared", "online"]

from quakelab.paths import source_root  # noqa: E402

#: The source checkout, or the working directory when quakelab is installed (never the install location).
PROJECT_ROOT = source_root() or Path.cwd()


def shared_data_dir() -> Path | None:
    """The shared data folder, or None when there is none.

    ``$QUAKELAB_SHARED_DATA`` when it is set (an empty value means none); otherwise ``../shared/data``
    next to the project root or next to the current directory.

    Returns
    -------
    pathlib.Path or None
        An existing directory.
    """
    env = os.environ.get("QUAKELAB_SHARED_DATA")
    if env is not None:  # an explicit setting wins, even when it points nowhere ("" disables)
        candidates = [Path(env)] if env else []
    else:
        candidates = [PROJECT_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def _package_file(package: str, *parts: str) -> Path:
    """A file inside an installed package, found without importing it (pycsep imports cartopy)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def _pycsep_sample() -> Path:
    return _package_file("csep", "artifacts", "ObservedCatalogs", "sample_comcat_catalog.csv")


@dataclass(frozen=True)
class Dataset:
    """A named catalog.

    Attributes
    ----------
    name : str
        Identifier used in notebooks, ``papermill_runs.yaml`` and the CLI.
    kind : {"bundled", "shared", "online"}
        Where the data comes from.
    description : str
        What it is.
    origin : str
        Provenance and licence.
    preset : str
        Reader preset (:data:`quakelab.catalog.PRESETS`).
    filename : str
        File name inside the shared folder (shared datasets).
    sha256 : str
        Expected checksum of the file (shared datasets).
    locate : callable, optional
        Returns the path of a bundled file.
    fetch : dict
        Arguments of :func:`quakelab.catalog.fetch_catalog` (online datasets).
    reader : callable, optional
        Reads the file instead of a preset (e.g. the temporal-only RECAST sequences, which carry no
        locations: :func:`quakelab.catalog.recast.read_recast_csv`).
    """

    name: str
    kind: DatasetKind
    description: str
    origin: str
    preset: str = ""
    filename: str = ""
    sha256: str = ""
    locate: Callable[[], Path] | None = None
    fetch: dict = field(default_factory=dict)
    reader: Callable[[Path], pd.DataFrame] | None = None

    def path(self) -> Path | None:
        """Path of the data file, or None when it is not on this machine (online datasets: None)."""
        if self.kind == "bundled" and self.locate is not None:
            try:
                p = self.locate()
            except ImportError:
                return None
            return p if p.exists() else None
        if self.kind == "shared":
            base = shared_data_dir()
            p = base / self.filename if base is not None else None
            return p if p is not None and p.exists() else None
        return None

    @property
    def available(self) -> bool:
        """Whether :meth:`load` works without the internet."""
        if self.kind == "online":
            return False
        return self.path() is not None

    def unavailable_reason(self) -> str:
        """Why the dataset cannot be loaded offline ('' when it can)."""
        if self.available:
            return ""
        if self.kind == "shared":
            return (
                f"{self.filename} not found: set QUAKELAB_SHARED_DATA to the folder holding it "
                "(or place the project next to shared/data)"
            )
        if self.kind == "online":
            return "online dataset: downloads from an FDSN service on first use (needs the internet)"
        return "the package that ships this file is not installed"

    def load(self, *, strict: bool = False, verify: bool = True, **fetch_kwargs) -> pd.DataFrame:
        """Load the catalog (online datasets download and cache).

        A shared dataset's file is first checked against its declared SHA-256 (see
        :meth:`verify`); a file that does not match is never read.

        Parameters
        ----------
        strict : bool, default False
            Stop at the first bad row instead of rejecting it (see :func:`quakelab.catalog.read_catalog`).
        verify : bool, default True
            Check the declared SHA-256 of a shared file.
        **fetch_kwargs
            Overrides of the online recipe (e.g. ``cache_dir``, ``end``).

        Returns
        -------
        pandas.DataFrame
            Canonical catalog.

        Raises
        ------
        DatasetChecksumError
            When the file's content differs from the declared checksum.
        FileNotFoundError
            When the file is not on this machine.
        """
        from quakelab.catalog import fetch_catalog, read_catalog

        if self.kind == "online":
            return fetch_catalog(**{**self.fetch, **fetch_kwargs})
        if fetch_kwargs:
            raise TypeError(f"unexpected options for a {self.kind} dataset: {sorted(fetch_kwargs)}")
        p = self.path()
        if p is None:
            raise FileNotFoundError(f"dataset {self.name!r} is not available: {self.unavailable_reason()}")
        if verify and self.sha256:
            self.verify()
        if self.name == "obspy-example-events":
            import obspy

            from quakelab.catalog import catalog_from_obspy

            return catalog_from_obspy(obspy.read_events(str(p)), source=str(p))
        if self.reader is not None:
            return self.reader(p)
        return read_catalog(p, preset=self.preset, strict=strict)

    def checksum(self) -> str:
        """SHA-256 of the data file (computed afresh)."""
        p = self.path()
        if p is None:
            raise FileNotFoundError(f"dataset {self.name!r} is not available")
        return _sha256(p)

    def verify(self) -> str:
        """Check the file against the declared SHA-256, cheaply.

        The digest of a file is remembered in ``<cache dir>/checksums.json`` with the file's size
        and modification time; it is computed again only when either changes.

        Returns
        -------
        str
            The digest.

        Raises
        ------
        DatasetChecksumError
            Naming the file, the expected and the found digest.
        """
        p = self.path()
        if p is None:
            raise FileNotFoundError(f"dataset {self.name!r} is not available")
        digest = cached_sha256(p)
        if self.sha256 and digest != self.sha256:
            raise DatasetChecksumError(
                f"file {p} does not match dataset {self.name!r}: SHA-256 {digest}, declared {self.sha256}. "
                "A different file under the right name is never used: restore the published file "
                "(see shared/data/README.md)."
            )
        return digest


class DatasetChecksumError(ValueError):
    """A dataset's file differs from its declared checksum."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checksum_cache_file() -> Path:
    from quakelab.catalog.fetch import default_cache_dir

    return default_cache_dir() / "checksums.json"


def cached_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, remembered by (path, size, mtime) in a small JSON file under the cache dir.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    str
        Hex digest.
    """
    import json

    path = Path(path).resolve()
    st = path.stat()
    key = str(path)
    cache_file = _checksum_cache_file()
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    hit = cache.get(key)
    if isinstance(hit, dict) and hit.get("size") == st.st_size and hit.get("mtime_ns") == st.st_mtime_ns:
        return str(hit["sha256"])
    digest = _sha256(path)
    cache[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
    try:
        from quakelab.catalog.store import write_text_atomic

        write_text_atomic(cache_file, json.dumps(cache, indent=1, sort_keys=True) + "\n")
    except OSError:  # a read-only cache folder: the check still happened
        pass
    return digest


def _read_recast(path: Path) -> pd.DataFrame:
    from quakelab.catalog.recast import read_recast_csv

    return read_recast_csv(path)


def _recast_datasets() -> list[Dataset]:
    from quakelab.catalog.recast import RECAST_CATALOGS

    what = {
        "White": "White et al. (2019) San Jacinto fault-zone catalog",
        "QTMSaltonSea": "QTM relocated catalog (Ross et al. 2019), Salton Sea box",
        "QTMSanJacinto": "QTM relocated catalog (Ross et al. 2019), San Jacinto box",
        "SCEDC": "SCEDC southern California catalog, every event type, no spatial cut",
    }
    return [
        Dataset(
            f"recast-{c.name.lower()}",
            "shared",
            f"{what[c.name]}: times and magnitudes only (no locations), {c.n_events:,} events M>{c.mc:g}, "
            f"{c.start[:4]}-{int(c.end[:4]) - 1}; temporal models only",
            "RECAST benchmark (Dascher-Cousineau et al. 2023, keliankaz/recast b9b88c1) data/"
            f"{c.name}/full_sequence.pt as CSV; see shared/data/recast/README.md",
            filename=f"recast/{c.filename}",
            sha256=c.sha256,
            reader=_read_recast,
        )
        for c in RECAST_CATALOGS.values()
    ]


def _obspy_example() -> Path:
    return _package_file("obspy", "io", "quakeml", "tests", "data", "usgs_event.xml")


_REGISTRY: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "ridgecrest-2019-sample",
            "bundled",
            "2019 Ridgecrest sequence, 829 ComCat events M>=2.5, 2019-07-06 .. 2019-07-13",
            "ANSS ComCat via pycsep's sample_comcat_catalog.csv (public domain)",
            preset="pycsep",
            locate=_pycsep_sample,
        ),
        Dataset(
            "obspy-example-events",
            "bundled",
            "one USGS QuakeML event shipped with ObsPy (format example)",
            "USGS, via ObsPy's test data (public domain)",
            locate=_obspy_example,
        ),
        Dataset(
            "ridgecrest-2019",
            "shared",
            "2019 Ridgecrest sequence, 12,259 events M>=1.5, 2019-07-04 .. 2019-08-03",
            "ComCat/SCSN-derived public extract (public domain)",
            preset="ridgecrest-2019",
            filename="ridgecrest_2019_aftershocks.csv",
            sha256="d0382e1068edb065f2b3f2e74ecf959423e8e6076cac5fc6b01b3664f13122ee",
        ),
        Dataset(
            "qtm-sanjacinto",
            "shared",
            "QTM relocated catalog, San Jacinto fault zone, 21,291 events M>=1.0, 2008-2017",
            "Ross et al. 2019 (Science), SCEDC; as packaged by EarthquakeNPP (SanJac_10). Credit SCEDC and authors",
            preset="qtm-sanjacinto",
            filename="qtm_sanjacinto_2008_2017.csv",
            sha256="611c18758e2e3b5f7dd703d86ccbbd8b49eff06fe1a2fede2943c807475c877f",
        ),
        Dataset(
            "usgs-global-significant",
            "shared",
            "USGS NEIC significant earthquakes M>=5.5, 1965-2016, 23,412 events incl. 180 non-earthquakes",
            "USGS NEIC (public domain)",
            preset="usgs-global-significant",
            filename="usgs_global_significant_1965_2016.csv",
            sha256="54ca4e71e7928f116b760df98d765cf5d810bab62d9e378833cb95390f239bd8",
        ),
        Dataset(
            "comcat-california-m2.5",
            "online",
            "ANSS ComCat, California and surroundings, M>=2.5, 1981 to now",
            "USGS FDSN event service (public domain)",
            fetch={
                "start": "1981-01-01",
                "end": pd.Timestamp.now(tz="UTC").normalize(),
                "provider": "USGS",
                "min_magnitude": 2.5,
                "bbox": (-125.4, -113.1, 31.5, 43.0),
                "chunk_days": 365.0,
            },
        ),
        Dataset(
            "comcat-global-m6",
            "online",
            "ANSS ComCat, global, M>=6, 1900 to now",
            "USGS FDSN event service (public domain)",
            fetch={
                "start": "1900-01-01",
                "end": pd.Timestamp.now(tz="UTC").normalize(),
                "provider": "USGS",
                "min_magnitude": 6.0,
                "chunk_days": 3650.0,
            },
        ),
        *_recast_datasets(),
    ]
}


def get(name: str) -> Dataset:
    """Look up a dataset by name.

    Parameters
    ----------
    name : str
        Dataset name (see :func:`list_datasets`).

    Returns
    -------
    Dataset
        The entry.

    Raises
    ------
    KeyError
        With the known names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def load(name: str, **kwargs) -> pd.DataFrame:
    """Load a named dataset as a canonical catalog (shortcut for ``get(name).load()``).

    Parameters
    ----------
    name : str
        Dataset name.
    **kwargs
        Passed to :meth:`Dataset.load`.

    Returns
    -------
    pandas.DataFrame
        Canonical catalog.

    Examples
    --------
    >>> cat = load("ridgecrest-2019-sample")
    >>> len(cat)
    829
    """
    return get(name).load(**kwargs)


def list_datasets() -> pd.DataFrame:
    """All named datasets with their kind, availability on this machine, description and origin.

    Returns
    -------
    pandas.DataFrame
        Index ``name``; columns ``kind, available, description, origin, path, note``.
    """
    rows = []
    for d in _REGISTRY.values():
        p = d.path()
        rows.append(
            {
                "name": d.name,
                "kind": d.kind,
                "available": d.available,
                "description": d.description,
                "origin": d.origin,
                "path": str(p) if p else "",
                "note": d.unavailable_reason(),
            }
        )
    return pd.DataFrame(rows).set_index("name")
