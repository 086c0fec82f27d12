"""Catalog sources: one entry point for a registered dataset, a file, a URL or a configured entry.

A *catalog entry* is a mapping, as written in the ``catalogs:`` section of ``papermill_runs.yaml``::

    catalogs:
      my-network:
        path: data/my_network.csv      # or url: https://...
        format: csv                    # optional: told from the content otherwise
        delimiter: ";"                 # optional: sniffed otherwise
        columns: {time: origin, latitude: lat_deg, longitude: lon_deg, depth_km: z, magnitude: ml}
        timezone: UTC                  # zone of times written without one
        event_types: [earthquake]      # optional filter
        description: one line for listings
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from quakelab.catalog.schema import CatalogError
from quakelab.storage import is_remote

#: Keys of a catalog entry and what they mean.
ENTRY_KEYS: dict[str, str] = {
    "path": "file or folder (relative paths are relative to the configuration file)",
    "url": "http(s) address, downloaded once into the cache folder",
    "format": "a name from quakelab.catalog.list_formats() (told from the content when absent)",
    "columns": "mapping canonical column -> column of the file (time may map to [date, time])",
    "delimiter": "field separator of a CSV-family file (sniffed when absent)",
    "timezone": "zone of timestamps written without one",
    "time_format": "strftime format of the time column (ISO 8601 when absent)",
    "event_types": "keep only these event types",
    "preset": "a reader preset (quakelab.catalog.PRESETS)",
    "description": "one line for listings",
    "name": "the entry's name (set from the section's key)",
}
_READ_KEYS = ("format", "columns", "delimiter", "timezone", "time_format", "event_types", "preset")


def catalog_entry(
    entry: Mapping[str, Any], *, name: str = "", base_dir: str | os.PathLike | None = None, where: str = ""
) -> dict[str, Any]:
    """Check a catalog entry and return it normalised (absolute ``path``, known keys only).

    Parameters
    ----------
    entry : mapping
        Keys of :data:`ENTRY_KEYS`; ``path`` or ``url`` is required.
    name : str
        The entry's name (used in messages and kept under ``name``).
    base_dir : path-like, optional
        Folder that relative paths are relative to (the configuration's folder); the current
        directory when None.
    where : str
        Prefix of error messages (e.g. the configuration file).

    Returns
    -------
    dict
        The entry with an absolute ``path`` (nothing is read from disk).

    Raises
    ------
    CatalogError
        On unknown keys, a missing or doubled location, a bad ``columns`` or ``event_types`` value.
    """
    label = f"{where}catalog {name!r}" if name else f"{where}catalog entry"
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{label}: must be a mapping with 'path' (or 'url'), got {type(entry).__name__}")
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        hints = [h for u in unknown for h in difflib.get_close_matches(u, list(ENTRY_KEYS), n=1)]
        raise CatalogError(
            f"{label}: unknown keys {unknown}"
            + (f" (did you mean {hints}?)" if hints else "")
            + f"; allowed: {sorted(ENTRY_KEYS)}"
        )
    if ("path" in entry) == ("url" in entry):
        raise CatalogError(f"{label}: give exactly one of 'path' or 'url'")
    out: dict[str, Any] = {k: entry[k] for k in entry if entry[k] is not None}
    if name:
        out["name"] = name
    if "path" in out and not is_remote(str(out["path"])):  # an fsspec URL (s3://...) is kept as it is
        p = Path(os.path.expanduser(str(out["path"])))
        if not p.is_absolute():
            p = Path(base_dir or Path.cwd()) / p
        out["path"] = str(p.resolve())
    cols = out.get("columns")
    if cols is not None:
        if not isinstance(cols, Mapping) or not all(
            isinstance(v, str) or (isinstance(v, Sequence) and all(isinstance(x, str) for x in v))
            for v in cols.values()
        ):
            raise CatalogError(
                f"{label}: 'columns' must map canonical names to a column name (or a list of names)"
            )
        from quakelab.catalog.schema import CANONICAL_COLUMNS, EVENT_TYPE

        bad = sorted(set(cols) - set(CANONICAL_COLUMNS) - {EVENT_TYPE})
        if bad:
            raise CatalogError(
                f"{label}: 'columns' keys {bad} are not canonical columns "
                f"({', '.join([*CANONICAL_COLUMNS, EVENT_TYPE])})"
            )
        out["columns"] = {k: (v if isinstance(v, str) else list(v)) for k, v in cols.items()}
    et = out.get("event_types")
    if et is not None and (isinstance(et, str) or not all(isinstance(x, str) for x in et)):
        raise CatalogError(f"{label}: 'event_types' must be a list of strings")
    if "format" in out:
        from quakelab.catalog.readers import canonical_format

        try:
            canonical_format(str(out["format"]))
        except CatalogError as exc:
            raise CatalogError(f"{label}: {exc}") from None
    return out


def load_catalog_entries(config: str | os.PathLike | Mapping | None) -> dict[str, dict[str, Any]]:
    """The ``catalogs:`` section of a run configuration, each entry checked and normalised.

    Parameters
    ----------
    config : path-like, mapping or None
        ``papermill_runs.yaml`` (a path), its parsed content, a loaded
        :class:`quakelab.pipeline.RunConfig` (anything with a ``catalogs`` attribute), or None.

    Returns
    -------
    dict
        Entry name -> normalised entry (see :func:`catalog_entry`); empty when there is no section.
    """
    if config is None:
        return {}
    if hasattr(config, "catalogs"):
        return dict(config.catalogs)
    base: Path | None = None
    if (
        isinstance(config, Mapping)
        and "catalogs" not in config
        and all(isinstance(v, Mapping) and ("path" in v or "url" in v) for v in config.values())
    ):
        return {str(k): dict(v) for k, v in config.items()}  # already a section of entries
    if isinstance(config, Mapping):
        doc = config
    else:
        import yaml

        path = Path(config).resolve()
        if not path.exists():
            raise CatalogError(f"{path}: run configuration not found")
        doc = yaml.safe_load(path.read_text()) or {}
        base = path.parent
    section = doc.get("catalogs") or {}
    if not isinstance(section, Mapping):
        raise CatalogError("'catalogs:' must be a mapping of name -> entry")
    return {str(k): catalog_entry(v, name=str(k), base_dir=base) for k, v in section.items()}


def _download(url: str, cache_dir: str | os.PathLike | None = None, timeout_s: float = 60.0) -> Path:
    """The file at ``url`` in the cache folder (downloaded once, written through a temporary name)."""
    import urllib.request

    from quakelab.catalog.fetch import default_cache_dir
    from quakelab.catalog.store import atomic_path

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "downloads"
    stem = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "catalog"
    target = folder / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{stem}"
    if target.exists():
        return target
    final, tmp = atomic_path(target)
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp, open(tmp, "wb") as fh:  # noqa: S310
            while block := resp.read(1 << 20):
                fh.write(block)
        os.replace(tmp, final)
    except OSError as exc:
        raise CatalogError(f"download failed: {exc}", source=url) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _known_names(config: Any) -> list[str]:
    from quakelab.datasets import _REGISTRY

    return sorted(set(_REGISTRY) | set(load_catalog_entries(config)))


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(("~", ".")) or bool(Path(text).suffix)


def resolve_source(source: str | os.PathLike | Mapping, *, config: Any = None) -> dict[str, Any]:
    """Say what a catalog source is without reading it.

    Parameters
    ----------
    source : str, path-like or mapping
        A registered dataset name, a ``catalogs:`` entry name (with ``config``), a path or URL, or
        an entry mapping.
    config : path-like, mapping or RunConfig, optional
        Where ``catalogs:`` entries are looked up.

    Returns
    -------
    dict
        ``{"kind": "dataset", "name": ...}``, or a normalised entry with ``"kind": "entry"``
        (mapping, configured name, path or URL).

    Raises
    ------
    CatalogError
        For a name that is neither a dataset, an entry nor an existing path, with the closest
        known name ("did you mean").
    """
    from quakelab.datasets import _REGISTRY

    if isinstance(source, Mapping):
        return {"kind": "entry", **catalog_entry(source, name=str(source.get("name", "")))}
    text = os.fspath(source)
    if text.startswith(("http://", "https://")):
        return {"kind": "entry", "url": text, "name": text}
    if is_remote(text):  # s3://, gs://, file://, ... read through fsspec
        return {"kind": "entry", "path": text, "name": text}
    if not isinstance(source, os.PathLike):
        if text in _REGISTRY:
            return {"kind": "dataset", "name": text}
        entries = load_catalog_entries(config)
        if text in entries:
            return {"kind": "entry", **entries[text]}
    path = Path(os.path.expanduser(text))
    if path.exists() or isinstance(source, os.PathLike) or _looks_like_path(text):
        return {"kind": "entry", "path": str(path.resolve()), "name": text}
    hint = difflib.get_close_matches(text, _known_names(config), n=1)
    raise CatalogError(
        f"unknown catalog {text!r}: not a registered dataset, a 'catalogs:' entry or an existing file"
        + (f" (did you mean {hint[0]!r}?)" if hint else "")
        + f"; datasets: {', '.join(sorted(_REGISTRY))}"
    )


def open_catalog(
    source: str | os.PathLike | Mapping,
    *,
    strict: bool = False,
    config: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Open any catalog source as a validated canonical DataFrame.

    Parameters
    ----------
    source : str, path-like or mapping
        One of: a registered dataset name (``quakelab datasets``); the name of an entry of the
        ``catalogs:`` section of ``config``; a file or folder path (any format of
        :func:`list_formats`, told from the content); an ``http(s)://`` URL (downloaded once into
        the cache folder); an fsspec URL of a file or of a partitioned Parquet folder
        (``s3://bucket/key``, ``gs://...``, ``file://...``; read afresh on each call); or an entry
        mapping (``path``/``url``, ``format``, ``columns``, ``delimiter``, ``timezone``,
        ``time_format``, ``event_types``).
    strict : bool, default False
        Stop at the first bad row (:class:`~quakelab.catalog.CatalogError` naming file, physical
        line and field) instead of rejecting bad rows into :func:`~quakelab.catalog.rejected_rows`.
    config : path-like, mapping or RunConfig, optional
        Run configuration whose ``catalogs:`` entries may be named. When None and
        ``papermill_runs.yaml`` exists in the current directory, its entries can be named too.
    storage_options : mapping, optional
        Options of the fsspec filesystem of an fsspec URL (for ``s3://``: ``key``, ``secret``,
        ``endpoint_url``, ``client_kwargs={"region_name": ...}``, ``anon``; see s3fs). Without them,
        s3fs takes credentials from the usual AWS environment variables and configuration files.
    **kwargs
        Reader options (``format``, ``columns``, ``delimiter``, ``timezone``, ``time_format``,
        ``event_types``, ``preset``) overriding the entry's; for an online dataset, fetch options.

    Returns
    -------
    pandas.DataFrame
        Canonical catalog (``attrs``: ``source``, ``format``, ``n_read``, ``rejected``).

    Raises
    ------
    CatalogError
        Unknown name (with "did you mean"), a file no reader recognises (naming the formats
        tried), a mapping to absent columns, or (strict) a bad row.
    FileNotFoundError
        A path that does not exist, or a shared dataset absent from this machine.

    Examples
    --------
    >>> cat = open_catalog("ridgecrest-2019-sample")
    >>> len(cat)
    829
    """
    if config is None and not isinstance(source, Mapping) and Path("papermill_runs.yaml").is_file():
        try:  # the project's entries can be named; a broken file here is not this call's business
            config = load_catalog_entries(Path("papermill_runs.yaml"))
        except (CatalogError, OSError, ValueError):
            config = None
    what = resolve_source(source, config=config)
    if what["kind"] == "dataset":
        from quakelab import datasets

        ds = datasets.get(what["name"])
        event_types = kwargs.pop("event_types", None)
        cat = ds.load(**kwargs) if ds.kind == "online" else ds.load(strict=strict, **kwargs)
        if event_types is not None:
            from quakelab.catalog.select import select_event_types

            cat = select_event_types(cat, event_types)
        return cat
    opts = {k: what[k] for k in _READ_KEYS if k in what}
    opts.update({k: v for k, v in kwargs.items() if v is not None})
    unknown = sorted(set(opts) - set(_READ_KEYS))
    if unknown:
        raise TypeError(f"open_catalog() got unexpected options {unknown}; allowed: {list(_READ_KEYS)}")
    if "path" in what and is_remote(what["path"]):
        return _open_remote(what, strict, opts, storage_options)
    path = _download(what["url"]) if "url" in what else Path(what["path"])
    if not path.exists():
        raise FileNotFoundError(
            f"catalog file not found: {path}"
            + (f" (catalog {what['name']!r})" if what.get("name") and what["name"] != str(path) else "")
        )
    from quakelab.catalog.readers import read_catalog

    cat = read_catalog(path, strict=strict, **opts)
    if what.get("name"):
        cat.attrs["catalog"] = str(what["name"])
    return cat


def _open_remote(
    what: Mapping[str, Any], strict: bool, opts: Mapping[str, Any], storage_options: Mapping[str, Any] | None
) -> pd.DataFrame:
    """Read an fsspec URL (file or Parquet folder) through a temporary local copy; messages name the URL."""
    from quakelab.catalog.readers import read_catalog
    from quakelab.storage import local_copy

    url = str(what["path"])
    try:
        with local_copy(url, storage_options) as local:
            try:
                cat = read_catalog(local, strict=strict, **opts)
            except CatalogError as exc:
                exc.args = (str(exc).replace(str(local), url),)
                exc.source = url
                raise
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"catalog file not found: {url}") from exc
    cat.attrs["source"] = url
    if what.get("name"):
        cat.attrs["catalog"] = str(what["name"])
    return cat


def list_formats() -> pd.DataFrame:
    """Every format ``read_catalog(format=...)`` and ``open_catalog`` accept.

    Returns
    -------
    pandas.DataFrame
        Index ``format``; columns ``detected_by`` (how the content gives it away), ``reader``,
        ``columns`` (canonical <- source column mapping, where fixed) and ``aliases``.

    Examples
    --------
    >>> table = list_formats()
    >>> {"comcat", "quakeml", "nordic", "geojson", "parquet"} <= set(table.index)
    True
    """
    from quakelab.catalog.readers import FORMAT_ALIASES, OBSPY_FORMATS, OBSPY_WRITE_ONLY, PRESETS

    def mapping_text(cols: Mapping) -> str:
        return ", ".join(f"{k} <- {v if isinstance(v, str) else '+'.join(v)}" for k, v in cols.items())

    detected = {
        "comcat": "CSV header with time, latitude, longitude, mag, magType, id",
        "fdsn-text": "header line '#EventID|Time|Latitude|...'",
        "pycsep": "CSV header with lon, lat, M, time_string",
        "qtm-sanjacinto": "CSV header index, time, longitude, latitude, magnitude, x, y",
        "ridgecrest-2019": "never (name it: preset or format)",
        "usgs-global-significant": "never (name it: preset or format)",
    }
    aliases: dict[str, list[str]] = {}
    for alias, target in FORMAT_ALIASES.items():
        if alias != target:
            aliases.setdefault(target, []).append(alias)
    rows = []
    for name, preset in PRESETS.items():
        rows.append(
            {
                "format": name,
                "detected_by": detected.get(name, ""),
                "reader": "delimited text (pandas C parser; careful line-by-line reader for malformed files)",
                "columns": mapping_text(preset.columns),
                "description": preset.description,
            }
        )
    rows.append(
        {
            "format": "csv",
            "detected_by": "any delimiter (, ; tab |) sniffed from the header; column names "
            "recognised (time/origin_time, lat/latitude, lon/longitude, depth, mag/magnitude, ...) or given",
            "reader": "delimited text",
            "columns": "columns={canonical: source} or recognised names",
            "description": "any delimited text with a header line",
        }
    )
    rows.append(
        {
            "format": "geojson",
            "detected_by": "JSON FeatureCollection",
            "reader": "json (USGS GeoJSON summary format)",
            "columns": "event_id <- id, time <- properties.time (ms), longitude/latitude/depth_km <- "
            "geometry.coordinates, magnitude <- properties.mag, mag_type <- properties.magType, "
            "event_type <- properties.type",
            "description": "USGS GeoJSON feed or search result",
        }
    )
    rows.append(
        {
            "format": "parquet",
            "detected_by": "Parquet magic bytes, .parquet suffix or a folder",
            "reader": "pandas.read_parquet (file or Hive-partitioned folder)",
            "columns": "canonical names (or columns=)",
            "description": "a quakelab or plain Parquet catalog",
        }
    )
    for name, obspy_name in OBSPY_FORMATS.items():
        rows.append(
            {
                "format": name,
                "detected_by": f"ObsPy's own detection ({obspy_name})",
                "reader": f"obspy.read_events(format={obspy_name!r})",
                "columns": "preferred origin and magnitude of each event",
                "description": f"ObsPy {obspy_name}",
            }
        )
    table = pd.DataFrame(rows)
    table["aliases"] = [", ".join(sorted(aliases.get(f, []))) for f in table["format"]]
    table.attrs["write_only_obspy_formats"] = list(OBSPY_WRITE_ONLY)
    return table.set_index("format")
