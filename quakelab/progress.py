"""Progress of long work: a tqdm bar where a terminal is attached, rate-limited log lines otherwise.

One call covers both cases so that long loops (runs and cells of the pipeline, download chunks, EM
iterations, simulations) report progress the same way on a laptop terminal, in CI logs and in
notebooks::

    from quakelab.progress import progress

    for chunk in progress(chunks, desc="FDSN chunks", unit="chunk"):
        ...

``quiet=True`` silences it; a caller without a terminal (CI, a pipe, a log file) gets one
``logging`` line per step on the ``quakelab.progress`` logger, at most one every
``min_interval_s`` seconds (the last step is always logged).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["LogProgress", "progress"]

logger = logging.getLogger("quakelab.progress")


def _format_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m}:{s:02d} min"
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d} h"


class LogProgress:
    """A tqdm-like progress object that writes log lines instead of drawing a bar.

    Parameters
    ----------
    iterable : iterable, optional
        Items to iterate over (counted as they are yielded).
    total : int, optional
        Expected number of steps (``len(iterable)`` when it has one).
    desc : str
        Prefix of each line.
    unit : str
        Name of a step.
    quiet : bool, default False
        Log nothing.
    min_interval_s : float, default 1.0
        Shortest time between two lines (the first and the last step are always logged).
    log : logging.Logger, optional
        Where lines go (default the ``quakelab.progress`` logger, level INFO).

    Attributes
    ----------
    n : int
        Steps done.
    total : int or None
        Expected steps.
    """

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        quiet: bool = False,
        min_interval_s: float = 1.0,
        log: logging.Logger | None = None,
    ) -> None:
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total = total
        self.desc = desc
        self.unit = unit
        self.disable = quiet
        self.min_interval_s = min_interval_s
        self.n = 0
        self.postfix = ""
        self.start_t = time.perf_counter()
        self._last_log_t = -float("inf")
        self._logged_n = 0
        self._closed = False
        self._log = log or logger

    @property
    def elapsed_s(self) -> float:
        """Seconds since creation."""
        return time.perf_counter() - self.start_t

    def _line(self) -> str:
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            count = f"{self.n}/{self.total} {self.unit} ({100.0 * self.n / self.total:.0f}%)"
        else:
            count = f"{self.n} {self.unit}"
        tail = f", {self.postfix}" if self.postfix else ""
        return f"{head}{count}, {_format_seconds(self.elapsed_s)} elapsed{tail}"

    def _emit(self, force: bool = False) -> None:
        """Log the current count: always the first and the last step, otherwise when one is due."""
        if self.disable or self.n == self._logged_n:
            return
        now = time.perf_counter()
        last = self.total is not None and self.n >= self.total
        if force or last or self._logged_n == 0 or now - self._last_log_t >= self.min_interval_s:
            self._log.info(self._line())
            self._last_log_t = now
            self._logged_n = self.n

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps (and log a line when one is due)."""
        self.n += n
        self._emit()

    def set_postfix(
        self, ordered_dict: dict[str, Any] | None = None, refresh: bool = True, **kwargs: Any
    ) -> None:
        """Values shown after the count (e.g. the elapsed time of the last cell)."""
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        """Change the prefix."""
        self.desc = desc or ""

    def write(self, s: str) -> None:
        """Print a message (compatible with ``tqdm.write``)."""
        if not self.disable:
            self._log.info(s)

    def close(self) -> None:
        """Log the final count if it was not logged yet."""
        if self._closed:
            return
        self._closed = True
        self._emit(force=True)

    def __iter__(self) -> Iterator:
        if self.iterable is None:
            raise TypeError("progress(...) without an iterable is not iterable; call update()")
        try:
            for item in self.iterable:
                yield item
                self.update()
        finally:
            self.close()

    def __len__(self) -> int:
        return int(self.total or 0)

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    quiet: bool = False,
    **kwargs: Any,
) -> Any:
    """Progress over ``iterable`` or ``total`` steps: a tqdm bar on a terminal, log lines otherwise.

    Parameters
    ----------
    iterable : iterable, optional
        Items to iterate over; without it, call ``update()`` per step.
    total : int, optional
        Number of steps (taken from ``len(iterable)`` when possible).
    desc : str
        Label.
    unit : str, default "it"
        Name of a step ("cell", "chunk", "run", "iteration").
    quiet : bool, default False
        Show nothing.
    **kwargs
        ``min_interval_s`` (log mode) or extra tqdm options such as ``leave`` (terminal mode);
        options of the other mode are ignored.

    Returns
    -------
    tqdm.tqdm or LogProgress
        A tqdm-like object: ``update(n)``, ``set_postfix(...)``, ``close()``, context manager,
        iterator over ``iterable``.

    Examples
    --------
    >>> with progress(total=3, desc="demo", unit="step", quiet=True) as bar:
    ...     for _ in range(3):
    ...         bar.update()
    >>> bar.n
    3
    >>> [x for x in progress(range(3), quiet=True)]
    [0, 1, 2]
    """
    log_only = {"min_interval_s", "log"}
    if not quiet and _is_terminal(sys.stderr):
        from tqdm.auto import tqdm

        return tqdm(
            iterable,
            total=total,
            desc=desc or None,
            unit=unit,
            file=sys.stderr,
            **{k: v for k, v in kwargs.items() if k not in log_only},
        )
    return LogProgress(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        quiet=quiet,
        **{k: v for k, v in kwargs.items() if k in log_only},
    )
