"""Execute runs with Papermill into ``reports/<name>/`` and keep ``reports/index.html`` up to date."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quakelab.catalog.store import write_text_atomic
from quakelab.pipeline.config import Run, RunConfig

RUN_RECORD = "run.json"
METRICS = "metrics.json"


@dataclass
class RunResult:
    """Outcome of one run.

    Attributes
    ----------
    name : str
        Run name.
    status : {"success", "failed", "skipped", "unchanged"}
        ``unchanged``: skipped because notebook, parameters, code and data did not change since the
        last success.
    duration_s : float
        Wall time of the execution (0 when not executed).
    reason : str
        Why it failed or was skipped.
    fingerprint : str
        Hash of everything the run depends on.
    """

    name: str
    status: str
    duration_s: float = 0.0
    reason: str = ""
    fingerprint: str = ""
    started: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    notebook: str = ""
    tags: list[str] = field(default_factory=list)
    description: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


def record_metrics(output_dir: str | os.PathLike, metrics: dict[str, Any]) -> Path:
    """Write (merge into) ``output_dir/metrics.json`` atomically. Called from notebooks.

    Parameters
    ----------
    output_dir : path-like
        The run's report folder.
    metrics : dict
        JSON-serialisable values (numpy scalars are converted).

    Returns
    -------
    pathlib.Path
        The metrics file.
    """
    path = Path(output_dir) / METRICS
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update({k: _jsonable(v) for k, v in metrics.items()})
    return write_text_atomic(path, json.dumps(current, indent=2, sort_keys=True) + "\n")


def _jsonable(v: Any) -> Any:
    if hasattr(v, "item") and callable(v.item):
        return v.item()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _hash_file(h: Any, path: Path) -> None:
    st = path.stat()
    if st.st_size > 200 * 2**20:  # very large inputs: size and mtime stand in for the content
        h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode())
        return
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)


def _code_files() -> list[Path]:
    pkg = Path(__file__).resolve().parent.parent
    return sorted(p for p in pkg.rglob("*.py") if "__pycache__" not in p.parts)


def input_files(run: Run) -> list[Path]:
    """Data files a run reads, found from its ``dataset`` parameter (string or list)."""
    from quakelab import datasets

    names = run.parameters.get("dataset") or run.parameters.get("datasets") or []
    names = [names] if isinstance(names, str) else list(names)
    out = []
    for n in names:
        try:
            p = datasets.get(n).path()
        except KeyError:
            continue
        if p is not None:
            out.append(p)
    return out


def fingerprint(run: Run, reports_dir: Path) -> str:
    """Hash of the notebook, parameters, quakelab's code, the input data and the outputs of needed runs."""
    h = hashlib.sha256()
    _hash_file(h, run.notebook)
    h.update(json.dumps(run.parameters, sort_keys=True, default=str).encode())
    for p in _code_files():
        h.update(str(p.name).encode())
        _hash_file(h, p)
    for p in input_files(run):
        _hash_file(h, p)
    for dep in run.needs:
        rec = reports_dir / dep / RUN_RECORD
        if rec.exists():
            h.update(json.loads(rec.read_text()).get("fingerprint", "").encode())
    return h.hexdigest()


def unavailable_inputs(run: Run) -> str:
    """Reason a run cannot execute on this machine ('' when it can)."""
    from quakelab import datasets

    names = run.parameters.get("dataset") or run.parameters.get("datasets") or []
    names = [names] if isinstance(names, str) else list(names)
    for n in names:
        try:
            d = datasets.get(n)
        except KeyError:
            return f"unknown dataset {n!r}"
        if not d.available and d.kind != "online":
            return f"dataset {n!r} unavailable: {d.unavailable_reason()}"
    return ""


def execute_run(run: Run, reports_dir: str | os.PathLike, *, project_root: str | os.PathLike,
                progress: bool = False, fp: str = "") -> RunResult:
    """Execute one run with Papermill; write the executed notebook, HTML, figures, metrics and record.

    The executed notebook is written as ``reports/<name>/<name>.ipynb`` whether the run succeeds or
    fails (a failure keeps the traceback in it). Outputs are written to a temporary name and renamed.

    Parameters
    ----------
    run : Run
        What to execute.
    reports_dir : path-like
        Root of the reports.
    project_root : path-like
        Working directory of the kernel.
    progress : bool, default False
        Show Papermill's per-cell progress bar.
    fp : str
        Fingerprint to record.

    Returns
    -------
    RunResult
        Status, duration and reason.
    """
    import papermill as pm

    out_dir = Path(reports_dir).resolve() / run.name
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (METRICS,):
        (out_dir / stale).unlink(missing_ok=True)
    final_nb = out_dir / f"{run.name}.ipynb"
    tmp_nb = out_dir / f".{run.name}.running.ipynb"
    params = {**run.parameters, "output_dir": str(out_dir)}
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    status, reason = "success", ""
    try:
        pm.execute_notebook(
            str(run.notebook), str(tmp_nb), parameters=params, cwd=str(project_root),
            execution_timeout=run.timeout_s, progress_bar=progress, kernel_name="python3",
            report_mode=False, request_save_on_cell_execute=True,
        )
    except pm.PapermillExecutionError as exc:
        status, reason = "failed", f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    except Exception as exc:  # noqa: BLE001 - kernel death, time-out: record and carry on
        status, reason = "failed", f"{type(exc).__name__}: {exc}"
    duration = time.perf_counter() - t0
    if tmp_nb.exists():
        os.replace(tmp_nb, final_nb)
        try:
            _export_html(final_nb, out_dir / f"{run.name}.html")
        except Exception as exc:  # noqa: BLE001
            reason = (reason + "; " if reason else "") + f"HTML export failed: {exc}"
    metrics_path = out_dir / METRICS
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    result = RunResult(name=run.name, status=status, duration_s=round(duration, 2), reason=reason,
                       fingerprint=fp if status == "success" else "", started=started,
                       parameters=run.parameters, notebook=str(run.notebook), tags=list(run.tags),
                       description=run.description, metrics=metrics)
    write_text_atomic(out_dir / RUN_RECORD, json.dumps(asdict(result), indent=2, default=str) + "\n")
    return result


def _export_html(nb_path: Path, html_path: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(nb_path, as_version=4))
    write_text_atomic(html_path, body)


def _execute_in_worker(run: Run, reports_dir: str, project_root: str, fp: str) -> RunResult:
    try:
        return execute_run(run, reports_dir, project_root=project_root, progress=False, fp=fp)
    except Exception as exc:  # noqa: BLE001
        return RunResult(name=run.name, status="failed", reason=f"{type(exc).__name__}: {exc}\n"
                         + traceback.format_exc(limit=3))


def run_pipeline(
    config: RunConfig,
    runs: list[Run],
    *,
    reports_dir: str | os.PathLike = "reports",
    force: bool = False,
    jobs: int = 1,
    log: Callable[[str], None] = print,
) -> list[RunResult]:
    """Execute runs in dependency order, skipping unchanged ones, and write the report index.

    A run whose inputs are unavailable is ``skipped`` with the reason; a run that needs a failed or
    skipped run is skipped too; a failing run does not stop independent runs.

    Parameters
    ----------
    config : RunConfig
        Loaded configuration (its folder is the kernels' working directory).
    runs : list of Run
        Runs in dependency order (:func:`quakelab.pipeline.select_runs`).
    reports_dir : path-like, default "reports"
        Root of the reports (relative to the configuration's folder).
    force : bool, default False
        Execute even unchanged runs.
    jobs : int, default 1
        Runs executed in parallel (separate processes).
    log : callable
        Progress messages.

    Returns
    -------
    list of RunResult
        One per run, in the order given.
    """
    reports = Path(reports_dir)
    if not reports.is_absolute():
        reports = config.root / reports
    reports.mkdir(parents=True, exist_ok=True)
    results: dict[str, RunResult] = {}
    pending = list(runs)
    total = len(runs)
    running: dict[Future, Run] = {}
    pool = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else None
    counter = 0

    def finish(res: RunResult) -> None:
        nonlocal counter
        counter += 1
        results[res.name] = res
        extra = f" ({res.reason})" if res.reason else ""
        took = f"last run took {res.duration_s:.1f} s" if res.status == "unchanged" else f"in {res.duration_s:.1f} s"
        log(f"[{counter}/{total}] {res.name}: {res.status} {took}{extra}")
        if res.status in ("skipped",):
            write_text_atomic(reports / res.name / RUN_RECORD, json.dumps(asdict(res), indent=2, default=str))

    try:
        while pending or running:
            progressed = False
            for run in list(pending):
                deps = [results.get(d) for d in run.needs]
                if any(d is None for d in deps):
                    continue
                pending.remove(run)
                progressed = True
                base = RunResult(name=run.name, status="skipped", parameters=run.parameters,
                                 notebook=str(run.notebook), tags=list(run.tags), description=run.description)
                bad = [d for d in deps if d.status not in ("success", "unchanged")]
                if bad:
                    base.reason = f"needs {bad[0].name}, which {bad[0].status}"
                    finish(base)
                    continue
                missing = unavailable_inputs(run)
                if missing:
                    base.reason = missing
                    finish(base)
                    continue
                fp = fingerprint(run, reports)
                rec_path = reports / run.name / RUN_RECORD
                if not force and rec_path.exists():
                    rec = json.loads(rec_path.read_text())
                    if rec.get("status") == "success" and rec.get("fingerprint") == fp and \
                            (reports / run.name / f"{run.name}.ipynb").exists():
                        rec.update(status="unchanged", reason="notebook, parameters, code and data unchanged")
                        finish(RunResult(**{k: v for k, v in rec.items() if k in RunResult.__dataclass_fields__}))
                        continue
                if pool is None:
                    log(f"[{counter + 1}/{total}] {run.name}: running {run.notebook.name}")
                    finish(execute_run(run, reports, project_root=config.root, progress=sys.stderr.isatty(),
                                       fp=fp))
                else:
                    log(f"{run.name}: started")
                    running[pool.submit(_execute_in_worker, run, str(reports), str(config.root), fp)] = run
            if running and not progressed:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    running.pop(fut)
                    finish(fut.result())
            elif not running and not progressed and pending:  # pragma: no cover - guarded by validation
                raise RuntimeError(f"cannot schedule {[r.name for r in pending]}")
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    ordered = [results[r.name] for r in runs]
    write_index(reports, config)
    return ordered


def write_index(reports: Path, config: RunConfig | None = None) -> Path:
    """Write ``reports/index.html`` and ``reports/index.json`` from every ``reports/*/run.json``.

    Parameters
    ----------
    reports : pathlib.Path
        Reports root.
    config : RunConfig, optional
        Used to order runs as in the configuration.

    Returns
    -------
    pathlib.Path
        The HTML index.
    """
    import html

    records = []
    for rec in sorted(reports.glob(f"*/{RUN_RECORD}")):
        try:
            records.append(json.loads(rec.read_text()))
        except json.JSONDecodeError:
            continue
    if config is not None:
        order = {n: i for i, n in enumerate(config.runs)}
        records.sort(key=lambda r: order.get(r.get("name"), len(order)))
    write_text_atomic(reports / "index.json", json.dumps(records, indent=2, default=str) + "\n")
    colours = {"success": "#1a7f37", "unchanged": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700"}
    rows = []
    for r in records:
        name = r.get("name", "?")
        link = f'<a href="{html.escape(name)}/{html.escape(name)}.html">{html.escape(name)}</a>' \
            if (reports / name / f"{name}.html").exists() else html.escape(name)
        params = "<br>".join(f"{html.escape(str(k))} = {html.escape(json.dumps(v, default=str))}"
                             for k, v in (r.get("parameters") or {}).items())
        metrics = "<br>".join(f"{html.escape(str(k))} = {html.escape(_fmt(v))}"
                              for k, v in (r.get("metrics") or {}).items() if not isinstance(v, dict | list))
        status = r.get("status", "")
        reason = html.escape(r.get("reason", ""))
        rows.append(
            f"<tr><td>{link}<div class=d>{html.escape(r.get('description', ''))}</div></td>"
            f"<td style='color:{colours.get(status, '#000')}'><b>{status}</b><div class=d>{reason}</div></td>"
            f"<td>{r.get('duration_s', 0):.1f} s</td><td>{html.escape(', '.join(r.get('tags', [])))}</td>"
            f"<td class=s>{params}</td><td class=s>{metrics}</td><td class=s>{html.escape(r.get('started', ''))}</td></tr>"
        )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>quakelab reports</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}.d{{color:#555;font-size:85%}}
.s{{font-size:85%;font-family:monospace}}</style></head><body>
<h1>quakelab reports</h1><p>{len(records)} runs; written {datetime.now(UTC).isoformat(timespec='seconds')}</p>
<table><tr><th>run</th><th>status</th><th>duration</th><th>tags</th><th>parameters</th><th>metrics</th>
<th>started (UTC)</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""
    return write_text_atomic(reports / "index.html", page)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def clean_run(reports: Path, name: str) -> None:
    """Remove a run's report folder."""
    shutil.rmtree(reports / name, ignore_errors=True)
