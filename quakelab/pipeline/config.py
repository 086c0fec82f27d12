"""``papermill_runs.yaml``: loading, selecting and validating runs before any kernel starts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TIMEOUT_S = 1800


class RunConfigError(ValueError):
    """The run configuration is wrong (unknown run, parameter or type, dependency cycle)."""


@dataclass(frozen=True)
class Run:
    """One notebook execution.

    Attributes
    ----------
    name : str
        Unique name; outputs go to ``reports/<name>/``.
    notebook : pathlib.Path
        Notebook to execute.
    parameters : dict
        Values for the notebook's ``parameters`` cell (YAML types kept: lists stay lists).
    tags : tuple of str
        Tags selecting the run (``default`` is what a bare ``quakelab run`` executes).
    needs : tuple of str
        Runs that must succeed first (their outputs are read from ``reports/``).
    timeout_s : int
        Per-cell execution time-out.
    description : str
        One line for the report index.
    """

    name: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    timeout_s: int = DEFAULT_TIMEOUT_S
    description: str = ""
    catalogs: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class RunConfig:
    """All runs of a configuration file.

    Attributes
    ----------
    path : pathlib.Path
        The YAML file.
    runs : dict
        Runs by name.
    catalogs : dict
        The ``catalogs:`` section: entry name -> normalised entry (absolute ``path``); see
        :func:`quakelab.catalog.catalog_entry`.
    """

    path: Path
    runs: dict[str, Run]
    catalogs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """Folder of the configuration file (notebook paths are relative to it)."""
        return self.path.parent


_RUN_KEYS = {"name", "notebook", "parameters", "tags", "needs", "timeout_s", "description"}


def load_config(path: str | os.PathLike = "papermill_runs.yaml") -> RunConfig:
    """Read and check a run configuration.

    Parameters
    ----------
    path : path-like
        The YAML file: ``runs:`` is a list of mappings with ``name``, ``notebook``, ``parameters``,
        ``tags``, optional ``needs``, ``timeout_s`` and ``description``; ``defaults:`` may set
        ``timeout_s`` for all; ``catalogs:`` maps names to catalog entries (``path`` or ``url``,
        ``format``, ``columns``, ``delimiter``, ``timezone``, ``time_format``, ``event_types``,
        ``description``).

        A run's ``catalog`` parameter (or its ``dataset`` parameter, when it is not a registered
        dataset) naming a ``catalogs:`` entry or a path is replaced by the entry mapping with an
        absolute path, which the notebook passes to :func:`quakelab.catalog.open_catalog`; a
        ``catalog`` naming a registered dataset becomes the run's ``dataset``.

    Returns
    -------
    RunConfig
        The runs by name.

    Raises
    ------
    RunConfigError
        On unknown keys, duplicate names, missing notebooks, unknown dependencies or cycles.
    """
    path = Path(path).resolve()
    if not path.exists():
        raise RunConfigError(f"{path}: run configuration not found")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise RunConfigError(f"{path}: invalid YAML: {exc}") from exc
    defaults = doc.get("defaults", {}) or {}
    from quakelab.catalog import CatalogError, load_catalog_entries

    try:
        catalogs = load_catalog_entries(path) if doc.get("catalogs") else {}  # paths relative to the file
    except CatalogError as exc:
        raise RunConfigError(f"{path}: {exc}") from exc
    runs: dict[str, Run] = {}
    for i, entry in enumerate(doc.get("runs", []) or []):
        where = f"{path}: runs[{i}]"
        if not isinstance(entry, dict) or "name" not in entry or "notebook" not in entry:
            raise RunConfigError(f"{where}: each run needs 'name' and 'notebook'")
        unknown = set(entry) - _RUN_KEYS
        if unknown:
            raise RunConfigError(
                f"{where} ({entry['name']}): unknown keys {sorted(unknown)}; allowed {sorted(_RUN_KEYS)}"
            )
        name = str(entry["name"])
        if name in runs:
            raise RunConfigError(f"{where}: duplicate run name {name!r}")
        nb = (path.parent / entry["notebook"]).resolve()
        if not nb.exists():
            raise RunConfigError(f"{where} ({name}): notebook {entry['notebook']} not found")
        params = entry.get("parameters") or {}
        if not isinstance(params, dict):
            raise RunConfigError(f"{where} ({name}): 'parameters' must be a mapping")
        try:
            params = resolve_catalog_parameters(dict(params), catalogs, path.parent)
        except CatalogError as exc:
            raise RunConfigError(f"{where} ({name}): {exc}") from exc
        runs[name] = Run(
            name=name,
            notebook=nb,
            parameters=params,
            catalogs=catalogs,
            tags=tuple(entry.get("tags") or ()),
            needs=tuple(entry.get("needs") or ()),
            timeout_s=int(entry.get("timeout_s", defaults.get("timeout_s", DEFAULT_TIMEOUT_S))),
            description=str(entry.get("description", "")),
        )
    for run in runs.values():
        for dep in run.needs:
            if dep not in runs:
                raise RunConfigError(f"{path}: run {run.name!r} needs unknown run {dep!r}")
    topological_order(runs, list(runs))  # raises on cycles
    return RunConfig(path=path, runs=runs, catalogs=catalogs)


def _is_dataset(name: Any) -> bool:
    from quakelab.datasets import _REGISTRY

    return isinstance(name, str) and name in _REGISTRY


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(("~", ".")) or bool(Path(text).suffix)


def resolve_catalog_parameters(
    params: dict[str, Any], catalogs: dict[str, dict[str, Any]], root: Path
) -> dict[str, Any]:
    """Turn a run's ``catalog`` / ``dataset`` parameters into what the notebook receives.

    ``catalog`` naming a ``catalogs:`` entry, or a path, becomes the entry mapping (absolute
    ``path``); an inline mapping is checked and its path made absolute; ``catalog`` naming a
    registered dataset becomes ``dataset`` (so that absent optional shared data is reported as
    skipped). ``dataset`` naming an entry or a path moves to ``catalog``. Unknown names are left
    for :func:`validate_runs` to report.

    Parameters
    ----------
    params : dict
        The run's parameters (modified copy returned).
    catalogs : dict
        The configuration's entries.
    root : pathlib.Path
        Folder of the configuration (relative paths).

    Returns
    -------
    dict
        Parameters with ``catalog`` resolved.
    """
    from quakelab.catalog import catalog_entry

    out = dict(params)
    ds = out.get("dataset")
    if (
        "catalog" not in out
        and isinstance(ds, str)
        and not _is_dataset(ds)
        and (ds in catalogs or _looks_like_path(ds))
    ):
        out["catalog"] = out.pop("dataset")
    cat = out.get("catalog")
    if isinstance(cat, str):
        if cat in catalogs:
            out["catalog"] = dict(catalogs[cat])
        elif _is_dataset(cat):
            out.pop("catalog")
            out.setdefault("dataset", cat)
        elif _looks_like_path(cat):
            out["catalog"] = catalog_entry({"path": cat}, name=cat, base_dir=root)
    elif isinstance(cat, dict):
        out["catalog"] = catalog_entry(cat, name=str(cat.get("name", "")), base_dir=root)
    return out


#: Notebook parameters renamed to the glossary names (docs/glossary.md, "Deprecated names"): a run in
#: ``papermill_runs.yaml`` still using the old name is rejected by :func:`validate_runs` with the new name.
RENAMED_PARAMETERS = {
    "mc": "min_magnitude",
    "bbox": "region",
    "delta_m": "magnitude_resolution",
}


def bbox_problem(bbox: Any, name: str = "bbox") -> str:
    """What is wrong with a ``[min_lon, max_lon, min_lat, max_lat]`` box ('' when nothing).

    ``name`` is the parameter's name in the messages (``region`` for the notebooks' region parameter).

    Examples
    --------
    >>> bbox_problem([-118, -116, 37, 35])
    'bbox [-118, -116, 37, 35]: min_lat 37 > max_lat 35'
    >>> bbox_problem([-118, -116, 37], name="region")
    'region [-118, -116, 37] must be [min_lon, max_lon, min_lat, max_lat] (4 numbers, got 3)'
    """
    if bbox is None:
        return ""
    if not isinstance(bbox, list | tuple) or len(bbox) != 4:
        n = len(bbox) if isinstance(bbox, list | tuple) else type(bbox).__name__
        return f"{name} {bbox!r} must be [min_lon, max_lon, min_lat, max_lat] (4 numbers, got {n})"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox):
        return f"{name} {bbox!r}: values must be numbers"
    lon0, lon1, lat0, lat1 = bbox
    if lon0 > lon1:
        return f"{name} {list(bbox)!r}: min_lon {lon0} > max_lon {lon1}"
    if lat0 > lat1:
        return f"{name} {list(bbox)!r}: min_lat {lat0} > max_lat {lat1}"
    bad_lat = [v for v in (lat0, lat1) if abs(v) > 90]
    if bad_lat:
        return f"{name} {list(bbox)!r}: latitude {bad_lat[0]} outside -90..90"
    bad_lon = [v for v in (lon0, lon1) if not -180 <= v <= 360]
    if bad_lon:
        return f"{name} {list(bbox)!r}: longitude {bad_lon[0]} outside -180..360"
    return ""


def catalog_problems(run: Run) -> list[str]:
    """Check a run's catalog and region without executing anything (only file headers are read).

    Reported: an unknown catalog or dataset name (with the closest known name), a missing file, a
    format nobody reads, a column mapping naming columns absent from the file's header, and a
    malformed ``region`` box. A registered shared dataset absent from this machine is not a problem (the
    run is reported as skipped).

    Parameters
    ----------
    run : Run
        A run from :func:`load_config`.

    Returns
    -------
    list of str
        One message per problem.
    """
    import difflib

    from quakelab.datasets import _REGISTRY

    problems: list[str] = []
    where = f"run {run.name!r}"
    why = bbox_problem(run.parameters.get("region"), "region")
    if why:
        problems.append(f"{where}: {why}")
    for key in ("catalog", "dataset"):
        value = run.parameters.get(key)
        if value is None or (key == "dataset" and "catalog" in run.parameters and run.parameters["catalog"]):
            continue
        if isinstance(value, str):
            if _is_dataset(value):
                continue
            known = sorted(set(_REGISTRY) | set(run.catalogs))
            hint = difflib.get_close_matches(value, known, n=1)
            problems.append(
                f"{where}: unknown {key} {value!r}: not a registered dataset, a 'catalogs:' entry or a path"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; known: {', '.join(known)}"
            )
        elif isinstance(value, dict):
            problems.extend(f"{where}: {p}" for p in _entry_problems(value))
        elif key == "catalog":
            problems.append(
                f"{where}: catalog must be a name, a path or a mapping, got {type(value).__name__}"
            )
    for name in run.parameters.get("datasets") or []:
        if isinstance(name, str) and not _is_dataset(name):
            hint = difflib.get_close_matches(name, sorted(_REGISTRY), n=1)
            problems.append(
                f"{where}: unknown dataset {name!r} in 'datasets'"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
    return problems


def run_input_paths(run: Run) -> list[Path]:
    """Data files a run reads: its registered dataset(s) present on this machine and its catalog file.

    Meant for the runner's fingerprint (a changed catalog file makes the run execute again).

    Parameters
    ----------
    run : Run
        A run from :func:`load_config`.

    Returns
    -------
    list of pathlib.Path
        Existing files or folders.
    """
    from quakelab import datasets

    names = run.parameters.get("dataset") or run.parameters.get("datasets") or []
    names = [names] if isinstance(names, str) else list(names)
    out = [p for n in names if _is_dataset(n) and (p := datasets.get(n).path()) is not None]
    cat = run.parameters.get("catalog")
    if isinstance(cat, dict) and cat.get("path") and Path(cat["path"]).exists():
        out.append(Path(cat["path"]))
    return out


def _entry_problems(entry: dict[str, Any]) -> list[str]:
    from quakelab.catalog import CatalogError, detect_format, read_header
    from quakelab.catalog.readers import PRESETS, canonical_format

    label = f"catalog {entry.get('name') or entry.get('path') or entry.get('url')!r}"
    if "url" in entry:
        return []
    path = Path(entry["path"])
    if not path.exists():
        return [f"{label}: file not found: {path}"]
    columns = entry.get("columns")
    fmt = entry.get("format")
    try:
        if fmt:
            fmt = canonical_format(fmt)
        elif columns:  # as read_catalog does: a mapping means a delimited file (or Parquet)
            fmt = "parquet" if path.is_dir() or path.suffix.lower() in (".parquet", ".pq") else "csv"
        else:
            fmt = detect_format(path, entry.get("delimiter")).format
    except (CatalogError, OSError) as exc:
        return [f"{label}: {exc}"]
    if columns and (fmt in PRESETS or fmt == "csv"):
        header = read_header(path, entry.get("delimiter") or ("|" if fmt == "fdsn-text" else None))
        if not header:
            return [f"{label}: no delimited header line in {path}"]
        wanted = [c for v in columns.values() for c in ([v] if isinstance(v, str) else v)]
        absent = [c for c in wanted if c not in header]
        if absent:
            import difflib

            lower = {h.lower(): h for h in header}
            hints = {
                a: [lower[m] for m in difflib.get_close_matches(a.lower(), list(lower), n=1)] for a in absent
            }
            detail = ", ".join(
                f"{a!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for a, h in hints.items()
            )
            return [f"{label}: columns {detail} not in the header of {path}; the header has {header}"]
    return []  # other formats are left to their reader at run time (checking them costs a full parse)


def select_runs(config: RunConfig, *, only: list[str] | None = None, tag: str | None = None) -> list[Run]:
    """Pick runs by name (``only``) or tag (``default`` when neither is given), with their dependencies.

    Parameters
    ----------
    config : RunConfig
        Loaded configuration.
    only : list of str, optional
        Run names.
    tag : str, optional
        Tag name.

    Returns
    -------
    list of Run
        In dependency order; dependencies not selected explicitly are added.

    Raises
    ------
    RunConfigError
        On an unknown name or a tag that selects nothing.
    """
    if only:
        unknown = [n for n in only if n not in config.runs]
        if unknown:
            raise RunConfigError(f"unknown run(s) {unknown}; known: {sorted(config.runs)}")
        names = list(only)
    else:
        wanted = tag or "default"
        names = [n for n, r in config.runs.items() if wanted in r.tags]
        if not names:
            tags = sorted({t for r in config.runs.values() for t in r.tags})
            raise RunConfigError(f"no run has tag {wanted!r}; tags: {tags}")
    closure: list[str] = []

    def add(n: str) -> None:
        for d in config.runs[n].needs:
            add(d)
        if n not in closure:
            closure.append(n)

    for n in names:
        add(n)
    return [config.runs[n] for n in topological_order(config.runs, closure)]


def topological_order(runs: dict[str, Run], names: list[str]) -> list[str]:
    """Order ``names`` so that every run comes after the runs it needs."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str, stack: tuple[str, ...]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            raise RunConfigError(f"dependency cycle: {' -> '.join(stack + (n,))}")
        state[n] = 1
        for d in runs[n].needs:
            visit(d, stack + (n,))
        state[n] = 2
        if n in names:
            order.append(n)

    for n in names:
        visit(n, ())
    return order


_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (float, int),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
    "tuple": (list, tuple),
}


def _type_ok(value: Any, annotation: str) -> bool:
    ann = annotation.replace(" ", "")
    if value is None:
        return "None" in ann or "Optional" in ann or ann in ("None", "")
    options = [a for a in ann.replace("Optional[", "").rstrip("]").split("|") if a and a != "None"]
    if not options:
        return True
    for opt in options:
        base = opt.split("[", 1)[0]
        if base in _TYPES:
            if isinstance(value, bool) and base in ("int", "float"):
                continue
            if isinstance(value, _TYPES[base]):
                return True
        elif base not in _TYPES:
            return True  # an annotation we do not check
    return False


def notebook_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """Parameters declared in a notebook's ``parameters`` cell (name -> type, default, help).

    Raises
    ------
    RunConfigError
        When the notebook has no cell tagged ``parameters``.
    """
    import papermill

    params = papermill.inspect_notebook(str(notebook))
    if not params:
        raise RunConfigError(f"{notebook}: no cell tagged 'parameters'")
    return params


def validate_runs(runs: list[Run], injected: tuple[str, ...] = ("output_dir",)) -> list[str]:
    """Check every run's parameters against its notebook; returns the problems (empty when all good).

    Unknown names (with a close match suggested; an old name of :data:`RENAMED_PARAMETERS` with its new
    name) and values whose type does not match the notebook's annotation are reported, and each run's
    catalog and ``region`` are checked by
    :func:`catalog_problems` (unknown name with "did you mean", missing file, mapping to absent
    columns, malformed box). Nothing is executed.

    Parameters
    ----------
    runs : list of Run
        Runs to check.
    injected : tuple of str
        Parameters the runner sets itself (must exist in the notebook, must not be given).

    Returns
    -------
    list of str
        One message per problem.
    """
    import difflib

    problems: list[str] = []
    cache: dict[Path, dict] = {}
    for run in runs:
        problems.extend(catalog_problems(run))
        try:
            declared = cache.setdefault(run.notebook, notebook_parameters(run.notebook))
        except RunConfigError as exc:
            problems.append(f"run {run.name!r}: {exc}")
            continue
        for name in injected:
            if name not in declared:
                problems.append(
                    f"run {run.name!r}: notebook {run.notebook.name} must declare parameter {name!r}"
                )
            if name in run.parameters:
                problems.append(f"run {run.name!r}: parameter {name!r} is set by the runner; remove it")
        for name, value in run.parameters.items():
            if name not in declared and RENAMED_PARAMETERS.get(name) in declared:
                problems.append(
                    f"run {run.name!r}: parameter {name!r} of {run.notebook.name} was renamed "
                    f"{RENAMED_PARAMETERS[name]!r} (docs/glossary.md, 'Deprecated names'); use "
                    f"{RENAMED_PARAMETERS[name]!r} in the run's parameters"
                )
                continue
            if name not in declared:
                hint = difflib.get_close_matches(name, list(declared), n=1)
                problems.append(
                    f"run {run.name!r}: unknown parameter {name!r} for {run.notebook.name}"
                    + (f" (did you mean {hint[0]!r}?)" if hint else "")
                    + f"; declared: {sorted(declared)}"
                )
                continue
            ann = declared[name].get("inferred_type_name", "None")
            if name == "catalog" and isinstance(value, str):
                continue  # an unresolved name: catalog_problems says what is wrong with it
            if ann and ann != "None" and not _type_ok(value, ann):
                problems.append(
                    f"run {run.name!r}: parameter {name!r} = {value!r} is {type(value).__name__}, "
                    f"notebook declares {ann}"
                )
    return problems
