"""The common jobs of the ``quakelab`` command that need no notebook.

``quakelab catalog info|convert|select SOURCE``, ``quakelab stats SOURCE``, ``quakelab etas fit SOURCE`` and
``quakelab etas forecast MODEL``. Each job checks its arguments before reading data or computing anything
(a bad argument exits with status 2 and a message naming it), prints a short human summary, and writes
machine-readable output: a JSON summary on standard output with ``--json``, and its files (catalog, model,
figure, forecast) through a temporary file and a rename, never partially.

``SOURCE`` is a dataset name (``quakelab datasets``) or a catalog file; every job reads it through
:func:`_open_source`.

Examples
--------
>>> from quakelab.cli import main
>>> main(["catalog", "info", "ridgecrest-2019-sample", "--json"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quakelab._compat import renamed_kwargs

if TYPE_CHECKING:  # heavy imports stay lazy: `quakelab --help` and `quakelab run` start fast
    import numpy as np
    import pandas as pd

#: Catalog output formats of ``quakelab catalog convert|select`` and the file name endings that imply them.
OUTPUT_FORMATS: dict[str, tuple[str, ...]] = {
    "parquet": (".parquet", ".pq"),
    "csv": (".csv",),
    "quakeml": (".xml", ".quakeml", ".qml"),
    "pycsep": (),  # a CSV too: chosen with --to pycsep
}
#: Mc methods of :func:`quakelab.stats.magnitude_of_completeness` and their names in summaries.
MC_METHODS: dict[str, str] = {
    "maxc": "maximum curvature (+0.2)",
    "gft": "goodness of fit",
    "mbs": "b-value stability",
}  # the same names as quakelab.reports.MC_METHOD_NAMES


class UsageError(Exception):
    """A bad command-line argument, found before any heavy work (exit status 2).

    Parameters
    ----------
    argument : str
        The argument as the user wrote it (``"--mc"``, ``"SOURCE"``).
    message : str
        What is wrong with it.
    """

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"argument {argument}: {message}")
        self.argument = argument


# ---------------------------------------------------------------------------------------------- sources
def _check_source(source: str, argument: str = "SOURCE") -> None:
    """Reject a source that is neither a dataset, a configured catalog, a file/folder nor a URL (cheap).

    Nothing is read: :func:`quakelab.catalog.resolve_source` only says what ``source`` is (with a "did you
    mean" for a near-miss), and a registered dataset must be available offline or downloadable.
    """
    from quakelab import datasets
    from quakelab.catalog import CatalogError
    from quakelab.catalog.sources import resolve_source

    try:
        what = resolve_source(source, config=_run_config())
    except CatalogError as exc:
        raise UsageError(argument, str(exc)) from None
    if what.get("kind") == "dataset":
        ds = datasets.get(what["name"])
        if ds.kind != "online" and not ds.available:
            raise UsageError(argument, f"dataset {source!r} is not available: {ds.unavailable_reason()}")


def _run_config() -> Path | None:
    """``papermill_runs.yaml`` of the current directory, whose ``catalogs:`` entries can be named."""
    path = Path("papermill_runs.yaml")
    return path if path.is_file() else None


def _open_source(source: str) -> pd.DataFrame:
    """Load ``source`` (dataset name, configured catalog, file, folder or URL) as a canonical catalog.

    The one place where the command-line jobs read catalogs: :func:`quakelab.catalog.open_catalog`.
    """
    from quakelab.catalog import open_catalog

    return open_catalog(source, config=_run_config())


# ---------------------------------------------------------------------------------------------- argument types
def _time(text: str) -> pd.Timestamp:
    from quakelab.timeutils import utc

    try:
        return utc(text)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (use ISO 8601, e.g. 2019-07-06T03:00)"
        ) from exc


def _finite(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return v


def _positive(text: str) -> float:
    v = _finite(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _magnitude(text: str) -> float:
    v = _finite(text)
    if not -3.0 <= v <= 10.0:
        raise argparse.ArgumentTypeError(f"magnitude {v} outside -3 .. 10")
    return v


def _check_bbox(bbox: Sequence[float], argument: str) -> tuple[float, float, float, float]:
    lon0, lon1, lat0, lat1 = (float(v) for v in bbox)
    if not all(math.isfinite(v) for v in (lon0, lon1, lat0, lat1)):
        raise UsageError(argument, "values must be finite numbers")
    if not (-90 <= lat0 <= 90 and -90 <= lat1 <= 90):
        raise UsageError(
            argument, f"latitudes {lat0}, {lat1} outside -90 .. 90 (order: lonmin lonmax latmin latmax)"
        )
    if not (-360 <= lon0 <= 360 and -360 <= lon1 <= 360):
        raise UsageError(argument, f"longitudes {lon0}, {lon1} outside -360 .. 360")
    if lon0 >= lon1 or lat0 >= lat1:
        raise UsageError(
            argument, f"need lonmin < lonmax and latmin < latmax, got {lon0} {lon1} {lat0} {lat1}"
        )
    return lon0, lon1, lat0, lat1


def _read_polygon(path: Path, argument: str) -> list[tuple[float, float]]:
    """Vertices (lon, lat) from a JSON list of pairs, a GeoJSON polygon, or a two-column text file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        if path.suffix.lower() in {".json", ".geojson"}:
            obj = json.loads(text)
            while isinstance(obj, dict):
                if obj.get("type") == "FeatureCollection":
                    obj = obj["features"][0]
                elif obj.get("type") == "Feature":
                    obj = obj["geometry"]
                elif obj.get("type") == "Polygon":
                    obj = obj["coordinates"][0]
                elif "vertices" in obj:
                    obj = obj["vertices"]
                else:
                    raise ValueError("expected a list of [lon, lat] pairs or a GeoJSON Polygon")
            verts = [(float(p[0]), float(p[1])) for p in obj]
        else:
            verts = []
            for no, line in enumerate(text.splitlines(), start=1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                parts = line.replace(",", " ").split()
                if len(parts) != 2:
                    raise ValueError(f"line {no}: expected 'lon lat', got {line!r}")
                verts.append((float(parts[0]), float(parts[1])))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise UsageError(argument, f"cannot read the polygon file {path}: {exc}") from None
    return verts


def _region(values: Sequence[str], argument: str = "--region"):
    """A :class:`~quakelab.region.Region` from four bbox numbers or one polygon file."""
    from quakelab.region import Region, RegionError

    if len(values) == 4:
        try:
            nums = [float(v) for v in values]
        except ValueError:
            raise UsageError(
                argument, f"expected 'lonmin lonmax latmin latmax' or a polygon file, got {values}"
            ) from None
        return Region.from_bbox(*_check_bbox(nums, argument))
    if len(values) == 1:
        path = Path(values[0])
        if not path.is_file():
            raise UsageError(argument, f"polygon file not found: {path}")
        verts = _read_polygon(path, argument)
        try:
            return Region(tuple(verts), name=path.stem)
        except RegionError as exc:
            raise UsageError(argument, f"{path}: {exc}") from None
    raise UsageError(
        argument,
        f"expected 4 numbers (lonmin lonmax latmin latmax) or one polygon file, got {len(values)} values",
    )


def _output(path: str, suffixes: Sequence[str], argument: str = "-o") -> Path:
    out = Path(path)
    if suffixes and out.suffix.lower() not in suffixes:
        raise UsageError(argument, f"{out}: expected a file ending in {' or '.join(suffixes)}")
    if out.exists() and out.is_dir():
        raise UsageError(argument, f"{out} is a directory")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK):
        raise UsageError(argument, f"cannot write into {parent}")
    return out


def _output_format(out: Path, to: str | None) -> str:
    if to is not None:
        return to
    for fmt, ends in OUTPUT_FORMATS.items():
        if out.suffix.lower() in ends:
            return fmt
    known = sorted({e for ends in OUTPUT_FORMATS.values() for e in ends})
    raise UsageError(
        "-o", f"cannot tell the format of {out.name}; end it in one of {', '.join(known)} or pass --to"
    )


def _to_jsonable(value: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _emit(args: argparse.Namespace, summary: dict[str, Any], human: Callable[[], None]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(_to_jsonable(summary), indent=2))
    else:
        human()


# ---------------------------------------------------------------------------------------------- catalog writers
def _pycsep_csv(cat: pd.DataFrame) -> str:
    import pandas as pd

    t = cat["time"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    frame = pd.DataFrame(
        {
            "lon": cat["longitude"],
            "lat": cat["latitude"],
            "M": cat["magnitude"],
            "time_string": t,
            "depth": cat["depth_km"],
            "catalog_id": -1,
            "event_id": cat["event_id"],
        }
    )
    return frame.to_csv(index=False, lineterminator="\n")


def _quakeml_bytes(cat: pd.DataFrame) -> bytes:
    import io

    import pandas as pd
    from obspy import UTCDateTime
    from obspy.core.event import Catalog, Event, Magnitude, Origin, ResourceIdentifier

    events = []
    has_type = "event_type" in cat.columns
    for row in cat.itertuples(index=False):
        eid = re.sub(r"[^\w\-.*()~'+,;]", "_", str(row.event_id))  # QuakeML resource URI alphabet
        origin = Origin(
            resource_id=ResourceIdentifier(f"smi:local/origin?eventid={eid}"),
            time=UTCDateTime(row.time.to_pydatetime()),
            latitude=float(row.latitude),
            longitude=float(row.longitude),
            depth=float(row.depth_km) * 1000.0 if pd.notna(row.depth_km) else None,
        )
        mag = Magnitude(
            resource_id=ResourceIdentifier(f"smi:local/magnitude?eventid={eid}"),
            mag=float(row.magnitude),
            magnitude_type=str(row.mag_type) if isinstance(row.mag_type, str) and row.mag_type else None,
            origin_id=origin.resource_id,
        )
        ev = Event(
            resource_id=ResourceIdentifier(f"smi:local/event?eventid={eid}"),
            origins=[origin],
            magnitudes=[mag],
            preferred_origin_id=origin.resource_id,
            preferred_magnitude_id=mag.resource_id,
        )
        if has_type and isinstance(row.event_type, str):
            try:
                ev.event_type = row.event_type
            except ValueError:
                pass  # outside the QuakeML vocabulary: left out, as ObsPy's readers do
        events.append(ev)
    buf = io.BytesIO()
    Catalog(events=events).write(buf, format="QUAKEML")
    return buf.getvalue()


def write_catalog(catalog: pd.DataFrame, path: str | os.PathLike, format: str = "parquet") -> Path:
    """Write a canonical catalog as Parquet, CSV, QuakeML or pycsep CSV, atomically.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    path : path-like
        Destination file.
    format : {"parquet", "csv", "quakeml", "pycsep"}, default "parquet"
        ``csv`` keeps the canonical column names (and extra columns); ``pycsep`` is the
        ``lon,lat,M,time_string,depth,catalog_id,event_id`` layout of pycsep's sample catalogs;
        ``quakeml`` is written by ObsPy (event ids become ``smi:local/event?eventid=ID`` resource URIs, with
        characters outside the URI alphabet, such as ``:``, replaced by ``_``).

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile
    >>> from quakelab.datasets import load
    >>> out = write_catalog(load("ridgecrest-2019-sample").head(3), tempfile.mkdtemp() + "/c.csv", "csv")
    >>> out.read_text().splitlines()[0]
    'event_id,time,latitude,longitude,depth_km,magnitude,mag_type,catalog_id'
    """
    from quakelab.catalog.store import atomic_path, write_parquet, write_text_atomic

    if format == "parquet":
        return write_parquet(catalog, path)
    if format == "csv":
        frame = catalog.copy()
        frame.attrs = {}
        frame["time"] = frame["time"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return write_text_atomic(path, frame.to_csv(index=False, lineterminator="\n"))
    if format == "pycsep":
        return write_text_atomic(path, _pycsep_csv(catalog))
    if format == "quakeml":
        data = _quakeml_bytes(catalog)
        final, tmp = atomic_path(path)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return final
    raise ValueError(f"unknown output format {format!r}; choose one of {sorted(OUTPUT_FORMATS)}")


# ---------------------------------------------------------------------------------------------- catalog jobs
def catalog_summary(catalog: pd.DataFrame) -> dict[str, Any]:
    """The summary printed by ``quakelab catalog info``, as a JSON-ready dict.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.

    Returns
    -------
    dict
        Number of events, time span, magnitude, depth, longitude and latitude ranges, magnitude and event
        types (counts), largest event, rows rejected at read.

    Examples
    --------
    >>> from quakelab.datasets import load
    >>> s = catalog_summary(load("ridgecrest-2019-sample"))
    >>> s["n_events"], s["largest_event"]["magnitude"]
    (829, 5.5)
    """
    import pandas as pd

    from quakelab.catalog import rejected_rows

    n = len(catalog)
    out: dict[str, Any] = {"n_events": n, "rows_rejected_at_read": len(rejected_rows(catalog))}
    if n:
        big = catalog.loc[catalog["magnitude"].idxmax()]
        out.update(
            {
                "start": catalog["time"].min(),
                "end": catalog["time"].max(),
                "duration_days": round(
                    (catalog["time"].max() - catalog["time"].min()) / pd.Timedelta(days=1), 3
                ),
                "magnitude_range": [float(catalog["magnitude"].min()), float(catalog["magnitude"].max())],
                "depth_km_range": [float(catalog["depth_km"].min()), float(catalog["depth_km"].max())],
                "longitude_range": [float(catalog["longitude"].min()), float(catalog["longitude"].max())],
                "latitude_range": [float(catalog["latitude"].min()), float(catalog["latitude"].max())],
                "mag_types": {
                    str(k) or "?": int(v) for k, v in catalog["mag_type"].fillna("").value_counts().items()
                },
                "largest_event": {
                    "event_id": str(big["event_id"]),
                    "time": big["time"],
                    "magnitude": float(big["magnitude"]),
                    "latitude": float(big["latitude"]),
                    "longitude": float(big["longitude"]),
                },
            }
        )
        if "event_type" in catalog.columns:
            out["event_types"] = {str(k): int(v) for k, v in catalog["event_type"].value_counts().items()}
    return out


def _print_summary(source: str, s: dict[str, Any]) -> None:
    print(f"{source}: {s['n_events']:,} events", end="")
    print(f" ({s['rows_rejected_at_read']} rows rejected at read)" if s["rows_rejected_at_read"] else "")
    if not s["n_events"]:
        return
    fmt = "%Y-%m-%d %H:%M:%S"
    rows = [
        ("time", f"{s['start'].strftime(fmt)} .. {s['end'].strftime(fmt)} UTC ({s['duration_days']:g} days)"),
        ("magnitude", "{:.2f} .. {:.2f}".format(*s["magnitude_range"])),
        ("depth (km)", "{:.1f} .. {:.1f}".format(*s["depth_km_range"])),
        ("longitude", "{:.3f} .. {:.3f}".format(*s["longitude_range"])),
        ("latitude", "{:.3f} .. {:.3f}".format(*s["latitude_range"])),
        ("magnitude types", ", ".join(f"{k}: {v}" for k, v in s["mag_types"].items())),
    ]
    if "event_types" in s:
        rows.append(("event types", ", ".join(f"{k}: {v}" for k, v in s["event_types"].items())))
    big = s["largest_event"]
    rows.append(
        (
            "largest event",
            f"M{big['magnitude']:g} {big['time'].strftime(fmt)} at "
            f"{big['latitude']:.3f}, {big['longitude']:.3f} ({big['event_id']})",
        )
    )
    for k, v in rows:
        print(f"  {k:16s} {v}")


def _cmd_catalog_info(args: argparse.Namespace) -> int:
    _check_source(args.source)
    cat = _open_source(args.source)
    s = {"source": args.source, **catalog_summary(cat)}
    _emit(args, s, lambda: _print_summary(args.source, s))
    return 0


def _cmd_catalog_convert(args: argparse.Namespace) -> int:
    out = _output(args.output, ())
    fmt = _output_format(out, args.to)
    _check_source(args.source)
    cat = _open_source(args.source)
    path = write_catalog(cat, out, fmt)
    s = {"source": args.source, "output": str(path), "format": fmt, "n_events": len(cat)}
    _emit(args, s, lambda: print(f"{args.source}: {len(cat):,} events written to {path} ({fmt})"))
    return 0


def _selection_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Check the selection arguments (cheap) and return keywords of :func:`quakelab.catalog.select`."""
    kw: dict[str, Any] = {}
    if args.start is not None and args.end is not None and args.start >= args.end:
        raise UsageError("--end", f"{args.end} is not after --start {args.start}")
    kw["start"], kw["end"] = args.start, args.end
    if (
        args.min_magnitude is not None
        and args.max_magnitude is not None
        and args.min_magnitude > args.max_magnitude
    ):
        raise UsageError(
            "--max-magnitude", f"{args.max_magnitude} is below --min-magnitude {args.min_magnitude}"
        )
    kw["min_magnitude"], kw["max_magnitude"] = args.min_magnitude, args.max_magnitude
    if args.min_depth is not None and args.max_depth is not None and args.min_depth > args.max_depth:
        raise UsageError("--max-depth", f"{args.max_depth} is above --min-depth {args.min_depth}")
    kw["min_depth_km"], kw["max_depth_km"] = args.min_depth, args.max_depth
    if args.bbox is not None:
        kw["region"] = _check_bbox(args.bbox, "--bbox")
    if args.polygon is not None:
        kw["polygon"] = _region([args.polygon], "--polygon")
    if args.event_types is not None:
        kw["event_types"] = [t.strip().lower() for t in args.event_types]
    return kw


def _cmd_catalog_select(args: argparse.Namespace) -> int:
    out = _output(args.output, ())
    fmt = _output_format(out, args.to)
    kw = _selection_kwargs(args)
    _check_source(args.source)
    from quakelab.catalog import select

    cat = _open_source(args.source)
    sel = select(cat, **kw)
    path = write_catalog(sel, out, fmt)
    used = {k: v for k, v in kw.items() if v is not None}
    if "polygon" in used:
        used["polygon"] = [list(v) for v in used["polygon"].vertices]
    s = {
        "source": args.source,
        "output": str(path),
        "format": fmt,
        "n_read": len(cat),
        "n_selected": len(sel),
        "selection": used,
    }
    _emit(
        args,
        s,
        lambda: print(
            f"{args.source}: {len(sel):,} of {len(cat):,} events selected, written to {path} ({fmt})"
        ),
    )
    return 0


# ---------------------------------------------------------------------------------------------- stats
@renamed_kwargs(delta_m="magnitude_resolution")
def magnitude_statistics(
    magnitudes: pd.Series | np.ndarray, *, magnitude_resolution: float = 0.1, method: str = "maxc"
) -> dict[str, Any]:
    """Mc by every method of :mod:`quakelab.stats` and the b-value above each, as ``quakelab stats`` reports.

    Parameters
    ----------
    magnitudes : array-like
        Magnitudes.
    magnitude_resolution : float, default 0.1
        The magnitudes' resolution (bin width of the Mc methods). Old name ``delta_m`` (deprecated).
    method : {"maxc", "gft", "mbs"}, default "maxc"
        The method of the headline Mc and b.

    Returns
    -------
    dict
        ``mc`` (method -> Mc), ``b`` (method -> b, b_std, a, n above Mc), the headline ``method``, ``mc_used``,
        ``b_value``, ``b_value_std``, and ``caveats`` (plain-language warnings from
        :func:`quakelab.reports.caveats`).

    Examples
    --------
    >>> from quakelab.datasets import load
    >>> s = magnitude_statistics(load("ridgecrest-2019-sample")["magnitude"])
    >>> s["mc"]
    {'maxc': 2.9, 'gft': 3.1, 'mbs': 3.3}
    >>> round(s["b_value"], 3), round(s["b_value_std"], 3)
    (0.747, 0.025)
    """
    import numpy as np

    from quakelab import stats
    from quakelab.reports import caveats

    m = np.asarray(magnitudes, dtype=float)
    r = magnitude_resolution
    mc = {k: float(stats.magnitude_of_completeness(m, method=k, magnitude_resolution=r)) for k in MC_METHODS}
    fits = {}
    for k, v in mc.items():
        try:
            fits[k] = dataclasses.asdict(stats.b_value(m, v, r))
        except ValueError:
            fits[k] = {
                "b": math.nan,
                "b_std": math.nan,
                "a": math.nan,
                "min_magnitude": v,
                "n": int((m >= v - 1e-9).sum()),
                "magnitude_resolution": r,
            }
    head = fits[method]
    return {
        "n_events": int(np.isfinite(m).sum()),
        "magnitude_resolution": r,
        "method": method,
        "mc_used": mc[method],
        "b_value": head["b"],
        "b_value_std": head["b_std"],
        "a_value": head["a"],
        "n_above_mc": head["n"],
        "mc": mc,
        "b": fits,
        "caveats": caveats(mc=mc, magnitudes=m, mc_used=mc[method], magnitude_resolution=r),
    }


def _cmd_stats(args: argparse.Namespace) -> int:
    plot = _output(args.plot, (".png", ".svg", ".pdf"), "--plot") if args.plot != "none" else None
    _check_source(args.source)
    cat = _open_source(args.source)
    if args.min_magnitude is not None:
        cat = cat[cat["magnitude"] >= args.min_magnitude - 1e-9]
    if len(cat) < 2:
        raise UsageError("SOURCE", f"{args.source}: {len(cat)} events; the statistics need at least 2")
    s = {
        "source": args.source,
        **magnitude_statistics(cat["magnitude"], magnitude_resolution=args.delta_m, method=args.mc_method),
    }
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from quakelab import stats, viz

        gr = stats.b_value(cat["magnitude"], s["mc_used"], args.delta_m)
        ax = viz.frequency_magnitude_plot(
            cat["magnitude"], fit=gr, magnitude_resolution=args.delta_m, title=str(args.source)
        )
        for k, v in s["mc"].items():
            if k != args.mc_method:
                ax.axvline(v, color="0.6", ls=":", lw=1)
                ax.annotate(
                    f"Mc {k}",
                    (v, ax.get_ylim()[1]),
                    rotation=90,
                    va="top",
                    ha="right",
                    fontsize=7,
                    color="0.4",
                )
        s["plot"] = str(viz.save_figure(ax, plot))

    def human() -> None:
        print(f"{args.source}: {s['n_events']:,} magnitudes, bin width {args.delta_m:g}")
        print(f"  {'Mc method':28s} {'Mc':>5s} {'N>=Mc':>7s}  b ± σ (Aki–Utsu, Shi–Bolt)")
        for k, name in MC_METHODS.items():
            f = s["b"][k]
            mark = " <- used" if k == args.mc_method else ""
            print(f"  {name:28s} {s['mc'][k]:5.1f} {f['n']:7,d}  {f['b']:.3f} ± {f['b_std']:.3f}{mark}")
        for c in s["caveats"]:
            print(f"  note: {c}")
        if plot is not None:
            print(f"  frequency–magnitude plot: {s['plot']}")

    _emit(args, s, human)
    return 0


# ---------------------------------------------------------------------------------------------- ETAS
def _fixed(items: Sequence[str] | None) -> dict[str, float]:
    from quakelab.models.etas import PARAMETER_NAMES

    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or name not in PARAMETER_NAMES[1:]:
            raise UsageError(
                "--fix", f"expected NAME=VALUE with NAME in {', '.join(PARAMETER_NAMES[1:])}, got {item!r}"
            )
        try:
            out[name] = float(value)
        except ValueError:
            raise UsageError("--fix", f"{item!r}: {value!r} is not a number") from None
    return out


def _cmd_etas_fit(args: argparse.Namespace) -> int:
    import numpy as np

    out = _output(args.output, (".json",))
    region = _region(args.region)
    if args.start >= args.end:
        raise UsageError("--end", f"{args.end} is not after --start {args.start}")
    aux = args.auxiliary_start if args.auxiliary_start is not None else args.start
    if aux > args.start:
        raise UsageError("--auxiliary-start", f"{aux} is after --start {args.start}")
    fixed = _fixed(args.fix)
    _check_source(args.source)
    from quakelab.models import ETAS
    from quakelab.models.etas import ETASConvergenceError, ETASError
    from quakelab.reports import caveats

    model = ETAS(
        min_magnitude=args.min_magnitude,
        magnitude_resolution=args.delta_m,
        region=region,
        fixed=fixed,
        max_iter=args.max_iter,
    )
    cat = _open_source(args.source)
    try:
        model.fit(
            cat,
            auxiliary_start=aux,
            start=args.start,
            end=args.end,
            standard_errors=not args.no_standard_errors,
        )
    except ETASError as exc:
        raise UsageError("SOURCE", f"{args.source}: {exc}") from None
    except ETASConvergenceError as exc:
        print(
            f"quakelab etas fit: {exc} (raise --max-iter or fix poorly constrained parameters with --fix)",
            file=sys.stderr,
        )
        return 1
    path = model.save(out)
    table = model.parameter_table()
    notes = caveats(parameter_table=table, branching_ratio=model.branching_ratio_)
    s = {
        "source": args.source,
        "output": str(path),
        "n_targets": model.fit_info_["n_targets"],
        "n_iterations": model.fit_info_["n_iterations"],
        "fit_seconds": model.fit_info_["total_s"],
        "branching_ratio": model.branching_ratio_,
        "b_value": model.beta_ / math.log(10),
        "log_likelihood": model.log_likelihood_,
        "parameters": model.params_.to_dict(),
        "std_errors": dict(model.std_errors_),
        "at_bound": [k for k, v in table["at_bound"].items() if v],
        "caveats": notes,
    }

    def human() -> None:
        print(
            f"ETAS fitted to {s['n_targets']:,} events M>={args.min_magnitude:g} in {args.start} .. {args.end} "
            f"({s['n_iterations']} EM steps, {s['fit_seconds']:.1f} s)"
        )
        print(
            f"  branching ratio {s['branching_ratio']:.3f}, b = {s['b_value']:.3f}, "
            f"log-likelihood {s['log_likelihood']:.2f}"
        )
        for name, row in table.iterrows():
            flag = "  at bound" if row["at_bound"] else ("  fixed" if row["fixed"] else "")
            sd = "" if not np.isfinite(row["std_error"]) else f" ± {row['std_error']:.3f}"
            print(f"  {name:10s} {row['value']:9.3f}{sd}{flag}")
        for c in notes:
            print(f"  note: {c}")
        print(f"  model written to {path}")

    _emit(args, s, human)
    return 0


def forecast_dataset(
    model,
    history: pd.DataFrame,
    start: pd.Timestamp,
    days: float,
    *,
    n_simulations: int = 100,
    cell_deg: float = 0.1,
    seed: int | None = None,
    scheduler: Any = None,
):
    """The gridded ETAS forecast of ``quakelab etas forecast`` as an :class:`xarray.Dataset` with units.

    Parameters
    ----------
    model : quakelab.models.ETAS
        A fitted spatio-temporal model.
    history : pandas.DataFrame
        Canonical catalog; events before ``start`` are the history.
    start : pandas.Timestamp
        Forecast start (UTC).
    days : float
        Forecast length in days.
    n_simulations : int, default 100
        Simulated continuations.
    cell_deg : float, default 0.1
        Cell size in degrees.
    seed : int, optional
        Random seed.
    scheduler : optional
        Where the simulations run: None in this process; ``"local"``, ``"tcp://host:8786"``, a cluster or
        a ``distributed.Client`` on Dask (:func:`quakelab.distributed.get_client`); same numbers either way.

    Returns
    -------
    xarray.Dataset
        :meth:`quakelab.models.ETAS.forecast`'s dataset with ``rate`` (events per day per cell) added and
        units on every variable and coordinate.
    """
    import pandas as pd

    past = history[history["time"] < start]
    end = start + pd.Timedelta(days=days)
    ds = model.forecast(
        past, start, end, n_simulations=n_simulations, cell_deg=cell_deg, seed=seed, scheduler=scheduler
    )
    ds["rate"] = ds["expected_count"] / days
    ds["rate"].attrs.update(units="events per day per cell", long_name="expected daily number of events")
    ds["n_events"].attrs.setdefault("units", "events")
    ds["magnitude"].attrs.update(
        units="magnitude", long_name="lower edge of the magnitude bin (last bin open)"
    )
    ds["latitude"].attrs.update(units="degrees_north", long_name="cell centre latitude")
    ds["longitude"].attrs.update(units="degrees_east", long_name="cell centre longitude")
    ds.attrs.update(
        days=float(days),
        min_magnitude=float(model.min_magnitude),
        n_history_events=int(len(past)),
        branching_ratio=float(getattr(model, "branching_ratio_", math.nan)),
    )
    return ds


def _write_netcdf(ds, path: Path) -> Path:
    from quakelab.catalog.store import atomic_path

    final, tmp = atomic_path(path)
    try:
        ds.to_netcdf(tmp, engine="scipy")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _cmd_etas_forecast(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    out = _output(args.output, (".nc",))
    from quakelab.storage import exists, is_remote

    model_path = args.model if is_remote(args.model) else Path(args.model)
    if not (exists(model_path) if is_remote(args.model) else model_path.is_file()):
        raise UsageError("MODEL", f"model file not found: {model_path}")
    from quakelab.models import ETAS
    from quakelab.models.etas import ETASError

    try:
        model = ETAS.load(model_path)
    except (ETASError, ValueError, KeyError, TypeError) as exc:
        raise UsageError("MODEL", f"{model_path}: not a fitted ETAS model file ({exc})") from None
    if model.params_ is None:
        raise UsageError("MODEL", f"{model_path}: the model is not fitted")
    if not model.spatial:
        raise UsageError("MODEL", f"{model_path}: a gridded forecast needs the spatio-temporal model")
    _check_source(args.history, "--history")
    history = _open_source(args.history)
    ds = forecast_dataset(
        model,
        history,
        args.start,
        args.days,
        n_simulations=args.n_simulations,
        cell_deg=args.cell_deg,
        seed=args.seed,
        scheduler=args.scheduler,
    )
    path = _write_netcdf(ds, out)
    total = ds["expected_count"].sum("magnitude")
    iy, ix = np.unravel_index(int(np.argmax(total.to_numpy())), total.shape)
    s = {
        "model": str(model_path),
        "history": args.history,
        "output": str(path),
        "start": args.start,
        "end": args.start + pd.Timedelta(days=args.days),
        "days": args.days,
        "n_simulations": args.n_simulations,
        "min_magnitude": model.min_magnitude,
        "expected_events": float(total.sum()),
        "n_events_median": ds.attrs["n_events_median"],
        "n_events_q025": ds.attrs["n_events_q025"],
        "n_events_q975": ds.attrs["n_events_q975"],
        "peak_cell": {
            "latitude": float(total["latitude"][iy]),
            "longitude": float(total["longitude"][ix]),
            "expected_events": float(total[iy, ix]),
        },
    }

    def human() -> None:
        print(
            f"ETAS forecast of M>={model.min_magnitude:g} events, {args.start} + {args.days:g} days, "
            f"{args.n_simulations} simulations, {len(ds['latitude'])}×{len(ds['longitude'])} cells of {args.cell_deg:g}°"
        )
        print(
            f"  expected {s['expected_events']:.1f} events (median {s['n_events_median']:.0f}, "
            f"95% range {s['n_events_q025']:.0f}-{s['n_events_q975']:.0f})"
        )
        pk = s["peak_cell"]
        print(
            f"  highest rate: cell at {pk['latitude']:.3f}, {pk['longitude']:.3f} "
            f"({pk['expected_events']:.2f} events)"
        )
        print(f"  forecast written to {path} (NetCDF)")

    _emit(args, s, human)
    return 0


# ---------------------------------------------------------------------------------------------- parser
def _run(func: Callable[[argparse.Namespace], int], prog: str) -> Callable[[argparse.Namespace], int]:
    def call(args: argparse.Namespace) -> int:
        from quakelab.catalog import CatalogError

        try:
            return func(args)
        except UsageError as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 2
        except (CatalogError, FileNotFoundError) as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 2

    return call


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print a machine-readable JSON summary instead")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``catalog``, ``stats`` and ``etas`` commands to the ``quakelab`` parser's sub-commands.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned in :func:`quakelab.cli.build_parser`.
    """
    src_help = "dataset name (quakelab datasets) or catalog file"
    cat = sub.add_parser("catalog", help="catalog summary, format conversion and selection")
    csub = cat.add_subparsers(dest="catalog_command", required=True)
    info = csub.add_parser("info", help="summary table of a catalog")
    info.add_argument("source", metavar="SOURCE", help=src_help)
    _add_json(info)
    info.set_defaults(func=_run(_cmd_catalog_info, "quakelab catalog info"))
    fmt_help = f"output format ({', '.join(OUTPUT_FORMATS)}; default: from the file name ending)"
    conv = csub.add_parser(
        "convert", help="write a catalog in another format (Parquet, CSV, QuakeML, pycsep CSV)"
    )
    conv.add_argument("source", metavar="SOURCE", help=src_help)
    conv.add_argument("-o", "--output", required=True, help="output file")
    conv.add_argument("--to", choices=list(OUTPUT_FORMATS), help=fmt_help)
    _add_json(conv)
    conv.set_defaults(func=_run(_cmd_catalog_convert, "quakelab catalog convert"))
    sel = csub.add_parser(
        "select", help="select events by time, magnitude, region, depth and type into a file"
    )
    sel.add_argument("source", metavar="SOURCE", help=src_help)
    sel.add_argument("-o", "--output", required=True, help="output file (.parquet, .csv, .xml)")
    sel.add_argument("--to", choices=list(OUTPUT_FORMATS), help=fmt_help)
    sel.add_argument("--start", type=_time, help="first origin time (UTC, ISO 8601)")
    sel.add_argument("--end", type=_time, help="end of the window (exclusive)")
    sel.add_argument("--min-magnitude", type=_magnitude)
    sel.add_argument("--max-magnitude", type=_magnitude)
    sel.add_argument("--min-depth", type=_finite, metavar="KM")
    sel.add_argument("--max-depth", type=_finite, metavar="KM")
    sel.add_argument("--bbox", type=_finite, nargs=4, metavar=("LONMIN", "LONMAX", "LATMIN", "LATMAX"))
    sel.add_argument("--polygon", metavar="FILE", help="region polygon: JSON/GeoJSON or 'lon lat' lines")
    sel.add_argument("--event-types", nargs="+", metavar="TYPE", help="event types kept (e.g. earthquake)")
    _add_json(sel)
    sel.set_defaults(func=_run(_cmd_catalog_select, "quakelab catalog select"))

    st = sub.add_parser("stats", help="magnitude of completeness by each method, b-value ± σ, FMD plot")
    st.add_argument("source", metavar="SOURCE", help=src_help)
    st.add_argument(
        "--mc-method", choices=list(MC_METHODS), default="maxc", help="Mc of the headline b-value"
    )
    st.add_argument("--delta-m", type=_positive, default=0.1, help="magnitude bin width")
    st.add_argument("--min-magnitude", type=_magnitude, help="leave out smaller events first")
    st.add_argument(
        "--plot",
        default="frequency_magnitude.png",
        help="frequency–magnitude figure (.png, .svg, .pdf; 'none' for no figure)",
    )
    _add_json(st)
    st.set_defaults(func=_run(_cmd_stats, "quakelab stats"))

    etas = sub.add_parser("etas", help="fit an ETAS model, or forecast with a fitted one")
    esub = etas.add_subparsers(dest="etas_command", required=True)
    fit = esub.add_parser("fit", help="fit ETAS by EM and save the model as JSON")
    fit.add_argument("source", metavar="SOURCE", help=src_help)
    fit.add_argument(
        "--region",
        nargs="+",
        required=True,
        metavar="R",
        help="'LONMIN LONMAX LATMIN LATMAX' or a polygon file (JSON/GeoJSON or 'lon lat' lines)",
    )
    fit.add_argument(
        "--min-magnitude",
        "--mc",
        dest="min_magnitude",
        type=_magnitude,
        required=True,
        help="magnitude threshold, usually the magnitude of completeness (--mc: old name)",
    )
    fit.add_argument("--start", type=_time, required=True, help="first target time (UTC)")
    fit.add_argument("--end", type=_time, required=True, help="end of the fitting window (exclusive)")
    fit.add_argument(
        "--auxiliary-start",
        type=_time,
        help="history start (events trigger, are not targets); default --start",
    )
    fit.add_argument("--delta-m", type=_positive, default=0.1, help="magnitude bin width")
    fit.add_argument("--fix", nargs="+", metavar="NAME=VALUE", help="hold parameters fixed, e.g. log10_tau=3")
    fit.add_argument("--max-iter", type=_positive_int, default=200, help="maximum EM iterations")
    fit.add_argument("--no-standard-errors", action="store_true", help="skip the standard errors (faster)")
    fit.add_argument("-o", "--output", required=True, help="model file (.json)")
    _add_json(fit)
    fit.set_defaults(func=_run(_cmd_etas_fit, "quakelab etas fit"))
    fc = esub.add_parser("forecast", help="gridded forecast of a fitted model as NetCDF")
    fc.add_argument(
        "model", metavar="MODEL", help="model file written by 'quakelab etas fit' (a path or an s3:// URL)"
    )
    fc.add_argument(
        "--history", required=True, metavar="SOURCE", help="catalog before the forecast start: " + src_help
    )
    fc.add_argument("--start", type=_time, required=True, help="forecast start (UTC)")
    fc.add_argument("--days", type=_positive, required=True, help="forecast length in days")
    fc.add_argument("--n-simulations", type=_positive_int, default=100, help="simulated continuations")
    fc.add_argument("--cell-deg", type=_positive, default=0.1, help="cell size in degrees")
    fc.add_argument("--seed", type=int, help="random seed")
    fc.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the simulations on Dask: 'local' (a LocalCluster here), a scheduler address such as "
        "tcp://host:8786, or a scheduler file (.json); same numbers as without (needs quakelab[dist])",
    )
    fc.add_argument("-o", "--output", required=True, help="forecast file (.nc)")
    _add_json(fc)
    fc.set_defaults(func=_run(_cmd_etas_forecast, "quakelab etas forecast"))


__all__ = [
    "MC_METHODS",
    "OUTPUT_FORMATS",
    "UsageError",
    "catalog_summary",
    "forecast_dataset",
    "magnitude_statistics",
    "register",
    "write_catalog",
]
