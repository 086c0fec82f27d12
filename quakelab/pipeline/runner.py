"""Execute runs with Papermill into ``reports/<name>/`` and keep ``reports/index.html`` up to date."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quakelab.catalog.store import write_text_atomic
from quakelab.pipeline.config import Run, RunConfig, RunConfigError

RUN_RECORD = "run.json"
METRICS = "metrics.json"
#: Version of what a report contains; a report recorded under another version is never "unchanged"
#: (2: figures are shown inline in the executed notebook and its HTML whatever the caller's backend).
REPORT_FORMAT = 2
#: Folder under the reports root that keeps the executed notebook of a failed run.
FAILED_DIR = "failed"
#: matplotlib backend of the kernels: figures are embedded in the notebook (and so in its HTML).
KERNEL_MPLBACKEND = "module://matplotlib_inline.backend_inline"


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
    cell_times_s : list of float
        Elapsed time of each executed code cell (the injected parameters cell first).
    n_figures : int
        Figures (image outputs) in the executed notebook.
    report_format : int
        :data:`REPORT_FORMAT` of the runner that wrote the report.
    cpu_s : float
        CPU time (user + system) of the kernel and the runner for this run: unlike ``duration_s``
        it hardly depends on what else the machine is doing.
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
    cell_times_s: list[float] = field(default_factory=list)
    n_figures: int = 0
    report_format: int = 0
    cpu_s: float = 0.0


def record_metrics(output_dir: str | os.PathLike, metrics: dict[str, Any]) -> Path:
    """Write (merge into) the run's ``metrics`` artifact (``output_dir/metrics.json``) atomically. Called from
    notebooks.

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
    from quakelab.artifacts import artifact

    art = artifact("metrics")
    current = art.read(output_dir) if art.path(output_dir).exists() else {}
    current.update({k: _jsonable(v) for k, v in metrics.items()})
    return art.write(current, output_dir)


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
    if path.is_dir():  # a partitioned Parquet folder: every file in it, in a stable order
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(str(p.relative_to(path)).encode())
            _hash_file(h, p)
        return
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
    """Data files a run reads: its registered datasets and its catalog file (``config.run_input_paths``)."""
    from quakelab.pipeline.config import run_input_paths

    return run_input_paths(run)


def fingerprint(run: Run, reports_dir: Path) -> str:
    """Hash of the notebook, parameters, quakelab's code, the input data and the outputs of needed runs."""
    h = hashlib.sha256()
    h.update(f"report-format-{REPORT_FORMAT}".encode())
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


class RunInterrupted(KeyboardInterrupt):
    """A run was interrupted (Ctrl-C); its staging folder was removed and the previous report kept.

    Attributes
    ----------
    name : str
        The run that was executing.
    previous_kept : bool
        Whether a previous report exists (and was left untouched).
    """

    def __init__(self, name: str, previous_kept: bool) -> None:
        super().__init__(name)
        self.name = name
        self.previous_kept = previous_kept

    def message(self) -> str:
        """The one line shown to the user."""
        kept = "previous report kept" if self.previous_kept else "no previous report"
        return f"interrupted: {self.name}, {kept}"


class _NotPublished(Exception):
    """Internal: the staged run failed and was moved to the failed/ folder."""


def kernel_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of the kernels: the caller's, with matplotlib drawing inline into the notebook.

    A non-interactive backend inherited from the caller (``MPLBACKEND=Agg`` in a Makefile, CI or a
    test session) would leave every report without figures.
    """
    env = dict(os.environ if base is None else base)
    env["MPLBACKEND"] = KERNEL_MPLBACKEND
    return env


#: ipykernel's warning on an unencrypted TCP transport (local kernels on 127.0.0.1: not for users' eyes).
_TCP_WARNING = b"Kernel is running over TCP without encryption."


def filter_kernel_stderr(read_fd: int, write: Callable[[bytes], Any] | None = None) -> None:
    """Copy a kernel's stderr line by line, leaving out ipykernel's unencrypted-TCP warning.

    Runs until end of file (the kernel exited); other lines pass unchanged.

    Parameters
    ----------
    read_fd : int
        Read end of the pipe the kernel writes its stderr to (closed at the end).
    write : callable, optional
        Receives each kept line (default: written to file descriptor 2, where the kernel's stderr
        would otherwise have gone).
    """
    out = write or (lambda b: os.write(2, b))
    with os.fdopen(read_fd, "rb", buffering=0) as src, contextlib.suppress(OSError, ValueError):
        for line in iter(src.readline, b""):
            if _TCP_WARNING not in line:
                out(line)


@functools.cache
def _kernel_manager_class() -> type:
    """Kernel manager of report kernels: inline figures, encrypted transport where supported."""
    import zmq
    from jupyter_client.manager import AsyncKernelManager

    class ReportKernelManager(AsyncKernelManager):  # type: ignore[misc]
        """Starts kernels with :func:`kernel_env` and CurveZMQ transport encryption when available.

        With encryption ipykernel does not print its "running over TCP without encryption" warning;
        where encryption is not available, that one line is filtered from the kernel's stderr
        (:func:`filter_kernel_stderr`).
        """

        encrypt = True
        _stderr_w: int | None = None

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            kw["env"] = kernel_env(kw.get("env"))
            if self.encrypt and zmq.has("curve") and self._kernel_supports_curve_encryption():
                kw.setdefault("transport_encryption", "auto")
            elif "stderr" not in kw:
                r, w = os.pipe()
                threading.Thread(
                    target=filter_kernel_stderr, args=(r,), daemon=True, name="kernel-stderr"
                ).start()
                kw["stderr"] = self._stderr_w = w
            return await super()._async_pre_start_kernel(**kw)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            try:
                await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:  # the kernel holds its own copy of the pipe's write end
                if self._stderr_w is not None:
                    os.close(self._stderr_w)
                    self._stderr_w = None

        async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
            # after Ctrl-C the run is abandoned: kill the kernel at once (interrupting a busy kernel
            # and asking it to shut down only makes it print a traceback about its closed sockets)
            if _INTERRUPTED and self.has_kernel:
                self.shutting_down = True
                self.stop_restarter()
                await self._async_kill_kernel(restart=restart)
                await self._async_cleanup_resources(restart=restart)
                return
            await super()._async_shutdown_kernel(now=now, restart=restart)

    return ReportKernelManager


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the kernels)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return time.process_time()
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        total += ru.ru_utime + ru.ru_stime
    return total


def _code_cell_count(notebook: Path) -> int:
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())


def _relocate_text(path: Path, old: str, new: str) -> None:
    """Replace the staging folder's path by the final one in a text file (executed notebook, metrics)."""
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    if old in text:
        variants = {old: new, json.dumps(old)[1:-1]: json.dumps(new)[1:-1]}
        for a, b in variants.items():
            text = text.replace(a, b)
        write_text_atomic(path, text)


def _count_figures(nb_path: Path) -> int:
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    return sum(
        1
        for c in nb.cells
        for o in c.get("outputs", [])
        if any(k.startswith("image/") for k in o.get("data", {}))
    )


def execute_run(
    run: Run,
    reports_dir: str | os.PathLike,
    *,
    project_root: str | os.PathLike,
    progress: bool = False,
    fp: str = "",
    quiet: bool = True,
) -> RunResult:
    """Execute one run with Papermill, transactionally.

    The notebook executes into a staging folder beside ``reports/<name>/`` (the run's
    ``output_dir``). On success the staging folder, with the executed notebook, its HTML, figures,
    ``metrics.json`` and ``run.json``, replaces ``reports/<name>/`` in one rename. On failure the
    last good report is left untouched and the executed notebook with its traceback (and its HTML)
    goes to ``reports/failed/<name>/``. On Ctrl-C the staging folder is removed and
    :class:`RunInterrupted` is raised. Paths to the staging folder written by the notebook into its
    outputs and ``metrics.json`` are rewritten to the final folder.

    Parameters
    ----------
    run : Run
        What to execute.
    reports_dir : path-like
        Root of the reports.
    project_root : path-like
        Working directory of the kernel.
    progress : bool, default False
        Show per-cell progress (:func:`quakelab.progress.progress`) with the elapsed time of each cell.
    fp : str
        Fingerprint to record.
    quiet : bool, default True
        No progress output at all (overrides ``progress``).

    Returns
    -------
    RunResult
        Status, duration, reason and the elapsed time of every executed cell (``cell_times_s``).

    Raises
    ------
    RunInterrupted
        On KeyboardInterrupt (SIGINT).
    """
    import papermill as pm

    from quakelab.catalog.store import atomic_directory
    from quakelab.progress import progress as make_progress

    reports = Path(reports_dir).resolve()
    out_dir = reports / run.name
    failed_dir = reports / FAILED_DIR / run.name
    had_report = (out_dir / f"{run.name}.ipynb").exists()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    cell_times: list[float] = []
    t_cell = [0.0]
    bar = make_progress(
        total=_code_cell_count(run.notebook) + 1,
        desc=run.name,
        unit="cell",
        quiet=quiet or not progress,
        leave=False,
    )

    def cell_execute(cell: Any, cell_index: int, **_: Any) -> None:
        t_cell[0] = time.perf_counter()

    def cell_executed(cell: Any, cell_index: int, **_: Any) -> None:
        dt = time.perf_counter() - t_cell[0]
        cell_times.append(round(dt, 2))
        if bar.total is not None and bar.n >= bar.total:
            bar.total = bar.n + 1
        count = cell.get("execution_count") or len(cell_times)
        bar.set_postfix({"cell": f"[{count}] {dt:.1f} s"})
        bar.update()

    result: RunResult | None = None
    try:
        with atomic_directory(out_dir, create=True) as stage:
            nb_path = stage / f"{run.name}.ipynb"
            params = {**run.parameters, "output_dir": str(stage)}
            t0, cpu0 = time.perf_counter(), _cpu_seconds()
            status, reason = "success", ""
            try:
                pm.execute_notebook(
                    str(run.notebook),
                    str(nb_path),
                    parameters=params,
                    cwd=str(project_root),
                    execution_timeout=run.timeout_s,
                    progress_bar=False,
                    kernel_name="python3",
                    report_mode=False,
                    request_save_on_cell_execute=True,
                    kernel_manager_class=_kernel_manager_class(),
                    on_cell_execute=cell_execute,
                    on_cell_executed=cell_executed,
                )
            except pm.PapermillExecutionError as exc:
                status, reason = "failed", f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            except Exception as exc:  # noqa: BLE001 - kernel death, time-out: record and carry on
                if _INTERRUPTED:  # Ctrl-C reached the kernel (same process group) before this process
                    raise KeyboardInterrupt from exc
                status, reason = "failed", f"{type(exc).__name__}: {exc}"
            if _INTERRUPTED:
                raise KeyboardInterrupt
            duration = time.perf_counter() - t0
            bar.close()
            final_dir = out_dir if status == "success" else failed_dir
            _relocate_text(nb_path, str(stage), str(final_dir))
            _relocate_text(stage / METRICS, str(stage), str(final_dir))
            n_figures = 0
            if nb_path.exists():
                n_figures = _count_figures(nb_path)
                try:
                    _export_html(nb_path, stage / f"{run.name}.html")
                except Exception as exc:  # noqa: BLE001
                    reason = (reason + "; " if reason else "") + f"HTML export failed: {exc}"
            metrics_path = stage / METRICS
            metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
            result = RunResult(
                name=run.name,
                status=status,
                duration_s=round(duration, 2),
                reason=reason,
                fingerprint=fp if status == "success" else "",
                started=started,
                parameters=run.parameters,
                notebook=str(run.notebook),
                tags=list(run.tags),
                description=run.description,
                metrics=metrics,
                cell_times_s=cell_times,
                n_figures=n_figures,
                report_format=REPORT_FORMAT,
                cpu_s=round(_cpu_seconds() - cpu0, 2),
            )
            write_text_atomic(stage / RUN_RECORD, json.dumps(asdict(result), indent=2, default=str) + "\n")
            if status != "success":
                with atomic_directory(failed_dir) as failed_stage:
                    os.replace(stage, failed_stage)
                raise _NotPublished
    except _NotPublished:
        pass
    except KeyboardInterrupt as exc:
        bar.close()
        raise RunInterrupted(run.name, had_report) from exc
    finally:
        bar.close()
    assert result is not None
    if result.status == "success" and failed_dir.exists():  # a stale failure of this run
        shutil.rmtree(failed_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            failed_dir.parent.rmdir()
    return result


def _export_html(nb_path: Path, html_path: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(nb_path, as_version=4))
    write_text_atomic(html_path, body)


_INTERRUPTED = False


_INTERRUPT_SEEN = False


def interrupt_requested() -> bool:
    """Whether a SIGINT arrived during the last :func:`interrupt_once` block (or the current one)."""
    return _INTERRUPT_SEEN


def _interrupt_once(signum: int, frame: Any) -> None:
    """SIGINT handler: the first signal interrupts, later ones (the process group's copy, a second
    Ctrl-C) are ignored so that the clean-up of the interrupted run completes."""
    global _INTERRUPTED, _INTERRUPT_SEEN
    if _INTERRUPTED:
        return
    _INTERRUPTED = _INTERRUPT_SEEN = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def interrupt_once() -> Iterator[None]:
    """Within the block the first SIGINT raises KeyboardInterrupt and later ones are ignored.

    Only in the main thread (elsewhere the block runs unchanged); the previous handler is restored.
    """
    global _INTERRUPTED, _INTERRUPT_SEEN
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        yield
        return
    _INTERRUPTED = _INTERRUPT_SEEN = False
    previous = signal.signal(signal.SIGINT, _interrupt_once)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _INTERRUPTED = False


def _worker_init() -> None:
    """Pool workers ignore SIGINT while idle (no traceback from a waiting worker on Ctrl-C)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _execute_in_worker(run: Run, reports_dir: str, project_root: str, fp: str) -> RunResult:
    try:
        with interrupt_once():
            return execute_run(run, reports_dir, project_root=project_root, progress=False, fp=fp)
    except RunInterrupted as exc:
        return RunResult(name=run.name, status="interrupted", reason=exc.message())
    except Exception as exc:  # noqa: BLE001
        return RunResult(
            name=run.name,
            status="failed",
            reason=f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=3),
        )
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def is_up_to_date(run: Run, reports: Path, fp: str | None = None) -> bool:
    """Whether ``reports/<name>/`` holds a successful report of exactly these inputs.

    A report written by an older runner (:data:`REPORT_FORMAT`; e.g. one made without figures) is
    never up to date.

    Parameters
    ----------
    run : Run
        The run.
    reports : pathlib.Path
        Reports root.
    fp : str, optional
        Its :func:`fingerprint` (computed when not given).

    Returns
    -------
    bool
        True when executing it again would reproduce the report.
    """
    rec_path = reports / run.name / RUN_RECORD
    if not rec_path.exists() or not (reports / run.name / f"{run.name}.ipynb").exists():
        return False
    try:
        rec = json.loads(rec_path.read_text())
    except json.JSONDecodeError:
        return False
    fp = fp if fp is not None else fingerprint(run, reports)
    return (
        rec.get("status") == "success"
        and rec.get("fingerprint") == fp
        and rec.get("report_format") == REPORT_FORMAT
    )


def _has_good_report(reports: Path, name: str) -> bool:
    rec = reports / name / RUN_RECORD
    try:
        return json.loads(rec.read_text()).get("status") == "success"
    except (OSError, json.JSONDecodeError):
        return False


def run_pipeline(
    config: RunConfig,
    runs: list[Run],
    *,
    reports_dir: str | os.PathLike = "reports",
    force: bool = False,
    jobs: int = 1,
    log: Callable[[str], None] = print,
    quiet: bool = False,
) -> list[RunResult]:
    """Execute runs in dependency order, skipping unchanged ones, and write the report index.

    A run whose inputs are unavailable is ``skipped`` with the reason; a run that needs a failed or
    skipped run is skipped too; a failing run does not stop independent runs. Each run replaces its
    report only on success (:func:`execute_run`).

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
        Progress messages (one line per run).
    quiet : bool, default False
        No per-cell progress.

    Returns
    -------
    list of RunResult
        One per run, in the order given.

    Raises
    ------
    RunInterrupted
        On Ctrl-C: the interrupted run's previous report is kept, the index is rewritten.
    """
    reports = Path(reports_dir)
    if not reports.is_absolute():
        reports = config.root / reports
    if any(r.name == FAILED_DIR for r in runs):
        raise RunConfigError(f"run name {FAILED_DIR!r} is reserved (reports/{FAILED_DIR}/ keeps failed runs)")
    reports.mkdir(parents=True, exist_ok=True)
    results: dict[str, RunResult] = {}
    pending = list(runs)
    total = len(runs)
    running: dict[Future, Run] = {}
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init) if jobs > 1 else None
    counter = 0
    interrupted: list[RunInterrupted] = []

    def finish(res: RunResult) -> None:
        nonlocal counter
        if res.status == "interrupted":
            interrupted.append(RunInterrupted(res.name, _has_good_report(reports, res.name)))
            return
        counter += 1
        results[res.name] = res
        extra = f" ({res.reason})" if res.reason else ""
        if res.status == "unchanged":
            took = f"last run took {res.duration_s:.1f} s"
        else:
            took = f"in {res.duration_s:.1f} s" + (f", {res.cpu_s:.1f} s CPU" if res.cpu_s else "")
            slow = [
                (i, t) for i, t in sorted(enumerate(res.cell_times_s, 1), key=lambda x: -x[1])[:3] if t >= 0.5
            ]
            if res.status == "success" and slow:
                took += " (slowest cells: " + ", ".join(f"[{i}] {t:.1f} s" for i, t in slow) + ")"
        log(f"[{counter}/{total}] {res.name}: {res.status} {took}{extra}")
        if res.status == "skipped" and not _has_good_report(reports, res.name):
            # a last good report, if there is one, stays as it is
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
                base = RunResult(
                    name=run.name,
                    status="skipped",
                    parameters=run.parameters,
                    notebook=str(run.notebook),
                    tags=list(run.tags),
                    description=run.description,
                )
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
                if not force and is_up_to_date(run, reports, fp):
                    rec = json.loads((reports / run.name / RUN_RECORD).read_text())
                    rec.update(
                        status="unchanged",
                        reason="notebook, parameters, code and data unchanged; --force executes it again",
                    )
                    finish(RunResult(**{k: v for k, v in rec.items() if k in RunResult.__dataclass_fields__}))
                    # a failure of other inputs since then no longer describes this run
                    shutil.rmtree(reports / FAILED_DIR / run.name, ignore_errors=True)
                    continue
                if pool is None:
                    log(f"[{counter + 1}/{total}] {run.name}: running {run.notebook.name}")
                    finish(
                        execute_run(
                            run, reports, project_root=config.root, progress=not quiet, fp=fp, quiet=quiet
                        )
                    )
                else:
                    log(f"{run.name}: started")
                    running[pool.submit(_execute_in_worker, run, str(reports), str(config.root), fp)] = run
            if running and not progressed:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    running.pop(fut)
                    finish(fut.result())
                if interrupted:
                    raise interrupted[0]
            elif not running and not progressed and pending:  # pragma: no cover - guarded by validation
                raise RuntimeError(f"cannot schedule {[r.name for r in pending]}")
    except KeyboardInterrupt as exc:
        stop = exc if isinstance(exc, RunInterrupted) else None
        if pool is not None:
            # the workers got the terminal's SIGINT too (same process group); tell them in case the
            # signal was sent to this process only, then wait for them to clean up
            names = [r.name for r in running.values()]
            for fut in running:
                fut.cancel()
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, signal.SIGINT)
            for fut in list(running):
                with contextlib.suppress(BaseException):
                    fut.result()
            pool.shutdown(wait=True, cancel_futures=True)
            pool = None
            if stop is None and names:
                stop = RunInterrupted(", ".join(names), all(_has_good_report(reports, n) for n in names))
        if stop is None:
            stop = RunInterrupted("quakelab run", True)
        with contextlib.suppress(Exception):
            write_index(reports, config)
        raise stop from None
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    ordered = [results[r.name] for r in runs]
    write_index(reports, config)
    return ordered


def _read_records(reports: Path) -> list[dict[str, Any]]:
    """Records of every run: ``reports/<name>/run.json``, superseded by a newer ``failed/<name>/run.json``."""
    by_name: dict[str, dict[str, Any]] = {}
    for pattern, failed in ((f"*/{RUN_RECORD}", False), (f"{FAILED_DIR}/*/{RUN_RECORD}", True)):
        for rec in sorted(reports.glob(pattern)):
            if rec.parent.name.startswith(".") or (not failed and rec.parent.name == FAILED_DIR):
                continue  # a staging folder, or the failed/ folder itself
            try:
                r = json.loads(rec.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            name = r.get("name", rec.parent.name)
            r["_dir"] = str(rec.parent.relative_to(reports))
            if failed and name in by_name:
                good = by_name[name]
                if good.get("status") == "success":
                    r["_last_good"] = good["_dir"]
                if str(good.get("started", "")) > str(r.get("started", "")):
                    continue  # the good report is newer than the failure
            by_name[name] = r
    return list(by_name.values())


def _display_metrics(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """Scalar metrics for the index: Gutenberg-Richter beta shown as b, values rounded."""
    import math

    out = []
    for k, v in metrics.items():
        if isinstance(v, dict | list) or v is None:
            continue
        key = str(k)
        if (
            isinstance(v, int | float)
            and not isinstance(v, bool)
            and (key == "beta" or key.endswith("_beta"))
        ):
            key, v = key[: -len("beta")] + "b", v / math.log(10)
        out.append((key.replace("b_value", "b"), _fmt(v)))
    return out


def write_index(reports: Path, config: RunConfig | None = None) -> Path:
    """Write ``reports/index.html`` and ``reports/index.json`` from every run's ``run.json``.

    A run whose last execution failed is listed as failed (link to the executed notebook with the
    traceback under ``reports/failed/``) beside a link to its last good report. Metrics are rounded,
    Gutenberg-Richter ``beta`` values are shown as ``b = beta / ln 10`` and each run shows thumbnails
    of its figures (``<name>/figures/*.png``).

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

    records = _read_records(reports)
    if config is not None:
        order = {n: i for i, n in enumerate(config.runs)}
        records.sort(key=lambda r: order.get(r.get("name"), len(order)))
    public = [{k: v for k, v in r.items() if not k.startswith("_")} for r in records]
    write_text_atomic(reports / "index.json", json.dumps(public, indent=2, default=str) + "\n")
    colours = {"success": "#1a7f37", "unchanged": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700"}
    rows = []
    for r in records:
        name = r.get("name", "?")
        folder = r.get("_dir", name)
        q = html.escape
        link = (
            f'<a href="{q(folder)}/{q(name)}.html">{q(name)}</a>'
            if (reports / folder / f"{name}.html").exists()
            else q(name)
        )
        if r.get("_last_good"):
            link += f'<div class=d><a href="{q(r["_last_good"])}/{q(name)}.html">last good report</a></div>'
        params = "<br>".join(
            f"{q(str(k))} = {q(json.dumps(v, default=str))}" for k, v in (r.get("parameters") or {}).items()
        )
        metrics = "<br>".join(f"{q(k)} = {q(v)}" for k, v in _display_metrics(r.get("metrics") or {}))
        thumbs = "".join(
            f'<a href="{q(folder)}/figures/{q(p.name)}"><img src="{q(folder)}/figures/{q(p.name)}" '
            f'alt="{q(p.stem)}" title="{q(p.stem)}" loading="lazy"></a>'
            for p in sorted((reports / folder / "figures").glob("*.png"))[:6]
        )
        status = r.get("status", "")
        reason = q(r.get("reason", ""))
        rows.append(
            f"<tr><td>{link}<div class=d>{q(r.get('description', ''))}</div></td>"
            f"<td style='color:{colours.get(status, '#000')}'><b>{status}</b><div class=d>{reason}</div></td>"
            f"<td>{float(r.get('duration_s', 0) or 0):.1f} s</td><td>{q(', '.join(r.get('tags', [])))}</td>"
            f"<td class=t>{thumbs}</td><td class=s>{metrics}</td><td class=s>{params}</td>"
            f"<td class=s>{q(r.get('started', ''))}</td></tr>"
        )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>quakelab reports</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}.d{{color:#555;font-size:85%}}
.s{{font-size:85%;font-family:monospace}}.t img{{height:90px;margin:2px;border:1px solid #ddd}}
.t{{min-width:200px}}</style></head><body>
<h1>quakelab reports</h1><p>{len(records)} runs; written {datetime.now(UTC).isoformat(timespec="seconds")}</p>
<table><tr><th>run</th><th>status</th><th>duration</th><th>tags</th><th>figures</th><th>metrics</th>
<th>parameters</th><th>started (UTC)</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""
    return write_text_atomic(reports / "index.html", page)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return str(v)
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3g}"
        return f"{round(v, 3):g}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def clean_run(reports: Path, name: str) -> None:
    """Remove a run's report folder."""
    shutil.rmtree(reports / name, ignore_errors=True)
