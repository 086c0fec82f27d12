"""Running independent tasks on ``dask.distributed``: a local cluster, an existing scheduler, or a Client.

One entry point, :func:`get_client`, gives a :class:`distributed.Client` for whatever the user names:

- ``None`` or ``"local"``: a temporary :class:`distributed.LocalCluster` with worker *processes*
  (closed on exit);
- an address such as ``"tcp://host:8786"`` (a scheduler started by ``dask scheduler``,
  dask-jobqueue, dask-kubernetes, Coiled, ...): a Client connected to it (the cluster is left running);
- a scheduler file (``*.json`` written by ``dask scheduler --scheduler-file``, as on HPC systems);
- a cluster object (``LocalCluster``, ``SLURMCluster``, ``KubeCluster``, ``coiled.Cluster``): a Client
  connected to it (the cluster is the caller's to close);
- a ``Client``: used as it is (never closed here).

Results never depend on the number of workers: each task draws its random numbers from its own child of
``numpy.random.SeedSequence(seed).spawn(n)`` (:func:`spawn_seeds`, :func:`map_seeded`), and results are
gathered in task order (:func:`map_ordered`). A worker lost mid-run is survived: the scheduler reruns its
tasks elsewhere and each task's result is taken exactly once.

``distributed`` is the ``dist`` extra: ``pip install 'quakelab[dist]'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

#: What ``scheduler=`` accepts, for messages.
SCHEDULER_HELP = (
    "None or 'local' (a LocalCluster on this machine), a scheduler address such as 'tcp://host:8786', "
    "a scheduler file (.json), a dask cluster object or a distributed.Client"
)


def _distributed():
    from quakelab._optional import require

    return require("distributed", "dist", purpose="running on a dask.distributed cluster")


def _looks_like_address(text: str) -> bool:
    if "://" in text:
        return True
    host, sep, port = text.rpartition(":")
    return bool(sep and host and port.isdigit())


def default_local_directory() -> Path:
    """Scratch folder of local Dask workers: ``QUAKELAB_DASK_DIR`` or ``.cache/dask`` under the project."""
    env = os.environ.get("QUAKELAB_DASK_DIR")
    if env:
        return Path(env)
    from quakelab.paths import project_root

    return project_root() / ".cache" / "dask"


@contextmanager
def get_client(
    scheduler: Any = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
    memory_limit: str | float | None = "auto",
    local_directory: str | os.PathLike | None = None,
    **cluster_kwargs: Any,
) -> Iterator[Any]:
    """A :class:`distributed.Client` for ``scheduler``, closed on exit when it was made here.

    Parameters
    ----------
    scheduler : None, "local", str, cluster or distributed.Client, optional
        None or ``"local"``: a temporary ``LocalCluster``; an address (``"tcp://host:8786"``,
        ``"tls://..."``, ``"host:8786"``): that scheduler; a path ending in ``.json``: a scheduler file;
        a cluster object: a Client of it; a ``Client``: yielded unchanged (and left open).
    n_workers : int, optional
        Workers of a local cluster (default: the machine's cores). Ignored for an existing scheduler.
    threads_per_worker : int, default 1
        Threads of each local worker (the tasks of quakelab are single-threaded numba/numpy code).
    processes : bool, default True
        Local workers are processes (a killed worker does not take the caller with it).
    memory_limit : str, float or None, default "auto"
        Memory limit of each local worker (``distributed.LocalCluster``'s argument).
    local_directory : path-like, optional
        Scratch folder of local workers (default :func:`default_local_directory`).
    **cluster_kwargs
        Other ``LocalCluster`` arguments (e.g. ``dashboard_address=":8787"``).

    Yields
    ------
    distributed.Client

    Raises
    ------
    quakelab._optional.MissingOptionalDependency
        ``distributed`` is not installed (install ``quakelab[dist]``).
    TypeError, ValueError
        ``scheduler`` is none of the above.

    Examples
    --------
    >>> with get_client("local", n_workers=1) as client:  # doctest: +SKIP
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    dist = _distributed()
    if isinstance(scheduler, dist.Client):
        yield scheduler
        return
    if scheduler is None or (isinstance(scheduler, str) and scheduler == "local"):
        folder = Path(local_directory) if local_directory is not None else default_local_directory()
        folder.mkdir(parents=True, exist_ok=True)
        cluster_kwargs.setdefault("dashboard_address", ":0")
        cluster = dist.LocalCluster(
            n_workers=int(n_workers or os.cpu_count() or 1),
            threads_per_worker=int(threads_per_worker),
            processes=processes,
            memory_limit=memory_limit,
            local_directory=str(folder),
            **cluster_kwargs,
        )
        try:
            client = dist.Client(cluster)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()
        return
    if isinstance(scheduler, str | os.PathLike):
        text = os.fspath(scheduler)
        if text.endswith(".json"):
            if not Path(text).is_file():
                raise ValueError(f"scheduler file not found: {text}")
            client = dist.Client(scheduler_file=text)
        elif _looks_like_address(text):
            client = dist.Client(text)
        else:
            raise ValueError(f"scheduler {text!r} is not understood; use {SCHEDULER_HELP}")
    elif hasattr(scheduler, "scheduler_address"):  # a cluster object of any dask deployment library
        client = dist.Client(scheduler)
    else:
        raise TypeError(f"scheduler must be {SCHEDULER_HELP}; got {type(scheduler).__name__}")
    try:
        yield client
    finally:
        client.close()


def spawn_seeds(seed: int | np.random.SeedSequence | None, n: int) -> list[np.random.SeedSequence]:
    """The ``n`` independent child seeds of ``seed``: ``SeedSequence(seed).spawn(n)``.

    Task ``i`` of a run seeded this way draws the same numbers whoever runs it and however many tasks
    run at once.

    Examples
    --------
    >>> a = spawn_seeds(42, 3)
    >>> [int(np.random.default_rng(s).integers(1000)) for s in a] == [
    ...     int(np.random.default_rng(s).integers(1000)) for s in spawn_seeds(42, 3)]
    True
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return root.spawn(int(n))


def _identity(x: Any) -> Any:
    return x


def map_ordered(
    client: Any,
    func: Callable[..., Any],
    arguments: Sequence[tuple],
    *,
    shared: Sequence[Any] = (),
    on_result: Callable[[int, Any], None] | None = None,
    key: str | None = None,
) -> list[Any]:
    """Run ``func(*shared, *arguments[i])`` for every ``i`` on ``client``'s workers; results in order.

    ``shared`` objects are sent to the cluster once (as tasks, so that a lost copy is recomputed rather
    than lost with its worker) and passed to every task. Tasks are not pure (``pure=False``): two calls
    with the same arguments are two tasks. When a worker dies, the scheduler reruns the tasks it held;
    a result is taken once per task, so none is lost or doubled.

    Parameters
    ----------
    client : distributed.Client
        From :func:`get_client`.
    func : callable
        A module-level function (workers import it by name).
    arguments : sequence of tuple
        One tuple of positional arguments per task.
    shared : sequence, optional
        Arguments put before each task's own (e.g. a model or a simulation setup).
    on_result : callable, optional
        Called as ``on_result(i, result)`` in this process as each task finishes (in completion order).
    key : str, optional
        Prefix of the task keys (shown on the dashboard); ``func``'s name by default.

    Returns
    -------
    list
        ``func``'s results in the order of ``arguments``.
    """
    dist = _distributed()
    name = key or getattr(func, "__name__", "task")
    shared_futures = [
        client.submit(_identity, obj, pure=False, key=f"{name}-shared-{_token()}") for obj in shared
    ]
    futures = {
        client.submit(func, *shared_futures, *args, pure=False, key=f"{name}-{i}-{_token()}"): i
        for i, args in enumerate(arguments)
    }
    results: dict[int, Any] = {}
    try:
        for fut in dist.as_completed(list(futures)):
            i = futures[fut]
            results[i] = fut.result()
            if on_result is not None:
                on_result(i, results[i])
    finally:
        for fut in (*futures, *shared_futures):
            fut.release()
    return [results[i] for i in range(len(arguments))]


def _token() -> str:
    """A short unique token for task keys."""
    import uuid

    return uuid.uuid4().hex[:12]


def map_seeded(
    func: Callable[..., Any],
    arguments: Sequence[tuple] | int,
    *,
    seed: int | np.random.SeedSequence | None,
    scheduler: Any = None,
    shared: Sequence[Any] = (),
    n_workers: int | None = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """Run independent seeded tasks, in this process or on Dask; the results do not depend on where.

    Task ``i`` is ``func(*shared, seeds[i], *arguments[i])`` with ``seeds = spawn_seeds(seed, n)``.

    Parameters
    ----------
    func : callable
        A module-level function taking (shared..., ``numpy.random.SeedSequence``, own arguments...).
    arguments : sequence of tuple or int
        One tuple per task, or the number of tasks (no own arguments).
    seed : int or SeedSequence or None
        Root seed (None: fresh entropy, not reproducible).
    scheduler : optional
        None: run here, one task after the other; anything else: :func:`get_client`'s ``scheduler``
        (``"local"``, an address, a cluster or a Client).
    shared : sequence, optional
        Arguments put before the seed of each task.
    n_workers : int, optional
        Workers of a local cluster.
    on_result : callable, optional
        ``on_result(i, result)`` as tasks finish.

    Returns
    -------
    list
        Results in task order.

    Examples
    --------
    >>> def draw(seed):
    ...     return float(np.random.default_rng(seed).random())
    >>> map_seeded(draw, 3, seed=1) == [draw(s) for s in spawn_seeds(1, 3)]
    True
    """
    args = [()] * arguments if isinstance(arguments, int) else [tuple(a) for a in arguments]
    seeds = spawn_seeds(seed, len(args))
    tasks = [(s, *a) for s, a in zip(seeds, args, strict=True)]
    if scheduler is None:
        out = []
        for i, a in enumerate(tasks):
            out.append(func(*shared, *a))
            if on_result is not None:
                on_result(i, out[-1])
        return out
    with get_client(scheduler, n_workers=n_workers) as client:
        return map_ordered(client, func, tasks, shared=shared, on_result=on_result)


def worker_pids(client: Any) -> dict[str, int]:
    """Process id of every worker of ``client``'s cluster (address -> pid)."""
    return dict(client.run(os.getpid))


__all__ = [
    "SCHEDULER_HELP",
    "default_local_directory",
    "get_client",
    "map_ordered",
    "map_seeded",
    "spawn_seeds",
    "worker_pids",
]
