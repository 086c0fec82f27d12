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


@dataclass(frozen=True)
class RunConfig:
    """All runs of a configuration file."""

    path: Path
    runs: dict[str, Run]

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
        ``timeout_s`` for all.

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
    runs: dict[str, Run] = {}
    for i, entry in enumerate(doc.get("runs", []) or []):
        where = f"{path}: runs[{i}]"
        if not isinstance(entry, dict) or "name" not in entry or "notebook" not in entry:
            raise RunConfigError(f"{where}: each run needs 'name' and 'notebook'")
        unknown = set(entry) - _RUN_KEYS
        if unknown:
            raise RunConfigError(f"{where} ({entry['name']}): unknown keys {sorted(unknown)}; allowed {sorted(_RUN_KEYS)}")
        name = str(entry["name"])
        if name in runs:
            raise RunConfigError(f"{where}: duplicate run name {name!r}")
        nb = (path.parent / entry["notebook"]).resolve()
        if not nb.exists():
            raise RunConfigError(f"{where} ({name}): notebook {entry['notebook']} not found")
        params = entry.get("parameters") or {}
        if not isinstance(params, dict):
            raise RunConfigError(f"{where} ({name}): 'parameters' must be a mapping")
        runs[name] = Run(
            name=name, notebook=nb, parameters=dict(params),
            tags=tuple(entry.get("tags") or ()), needs=tuple(entry.get("needs") or ()),
            timeout_s=int(entry.get("timeout_s", defaults.get("timeout_s", DEFAULT_TIMEOUT_S))),
            description=str(entry.get("description", "")),
        )
    for run in runs.values():
        for dep in run.needs:
            if dep not in runs:
                raise RunConfigError(f"{path}: run {run.name!r} needs unknown run {dep!r}")
    topological_order(runs, list(runs))  # raises on cycles
    return RunConfig(path=path, runs=runs)


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
    "int": (int,), "float": (float, int), "str": (str,), "bool": (bool,),
    "list": (list,), "dict": (dict,), "tuple": (list, tuple),
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

    Unknown names (with a close match suggested) and values whose type does not match the
    notebook's annotation are reported. Nothing is executed.

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
        try:
            declared = cache.setdefault(run.notebook, notebook_parameters(run.notebook))
        except RunConfigError as exc:
            problems.append(f"run {run.name!r}: {exc}")
            continue
        for name in injected:
            if name not in declared:
                problems.append(f"run {run.name!r}: notebook {run.notebook.name} must declare parameter {name!r}")
            if name in run.parameters:
                problems.append(f"run {run.name!r}: parameter {name!r} is set by the runner; remove it")
        for name, value in run.parameters.items():
            if name not in declared:
                hint = difflib.get_close_matches(name, list(declared), n=1)
                problems.append(
                    f"run {run.name!r}: unknown parameter {name!r} for {run.notebook.name}"
                    + (f" (did you mean {hint[0]!r}?)" if hint else "")
                    + f"; declared: {sorted(declared)}"
                )
                continue
            ann = declared[name].get("inferred_type_name", "None")
            if ann and ann != "None" and not _type_ok(value, ann):
                problems.append(
                    f"run {run.name!r}: parameter {name!r} = {value!r} is {type(value).__name__}, "
                    f"notebook declares {ann}"
                )
    return problems
