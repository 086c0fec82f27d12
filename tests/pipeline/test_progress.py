"""quakelab.progress: tqdm on a terminal, rate-limited log lines otherwise, nothing when quiet."""

import io
import logging

import pytest

from quakelab.progress import LogProgress, progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_log_lines_when_no_terminal(caplog, monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    caplog.set_level(logging.INFO, logger="quakelab.progress")
    bar = progress(total=3, desc="cells", unit="cell", min_interval_s=0)
    assert isinstance(bar, LogProgress)
    with bar:
        for i in range(3):
            bar.set_postfix({"cell": f"[{i + 1}] 0.0 s"})
            bar.update()
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(",")[0] for line in lines] == [
        "cells: 1/3 cell (33%)",
        "cells: 2/3 cell (67%)",
        "cells: 3/3 cell (100%)",
    ]
    assert lines[-1].endswith("cell=[3] 0.0 s") and "elapsed" in lines[-1]


def test_log_lines_are_rate_limited_but_the_last_step_is_logged(caplog, monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    caplog.set_level(logging.INFO, logger="quakelab.progress")
    items = list(progress(range(100), desc="chunks", unit="chunk", min_interval_s=3600))
    assert items == list(range(100))
    assert [r.getMessage().split(",")[0] for r in caplog.records] == [
        "chunks: 1/100 chunk (1%)",
        "chunks: 100/100 chunk (100%)",
    ]


def test_unknown_total_and_close_logs_the_final_count(caplog, monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    caplog.set_level(logging.INFO, logger="quakelab.progress")
    bar = progress(desc="iterations", unit="iteration", min_interval_s=3600)
    for _ in range(5):
        bar.update()
    bar.close()
    bar.close()  # idempotent
    assert [r.getMessage().split(",")[0] for r in caplog.records] == [
        "iterations: 1 iteration",
        "iterations: 5 iteration",
    ]


def test_quiet_is_silent(caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="quakelab.progress")
    term = FakeTerminal()
    monkeypatch.setattr("sys.stderr", term)
    assert sum(progress(range(4), quiet=True)) == 6
    with progress(total=2, quiet=True) as bar:
        bar.update(2)
    assert bar.n == 2 and caplog.records == [] and term.getvalue() == ""


def test_tqdm_on_a_terminal(monkeypatch):
    term = FakeTerminal()
    monkeypatch.setattr("sys.stderr", term)
    bar = progress(total=2, desc="runs", unit="run", min_interval_s=5)  # log-mode options are ignored
    import tqdm

    assert isinstance(bar, tqdm.tqdm)
    bar.update()
    bar.set_postfix(cell="[1] 0.1 s")
    bar.update()
    bar.close()
    assert "runs" in term.getvalue() and "2/2" in term.getvalue()


def test_iterating_without_an_iterable_is_an_error():
    with pytest.raises(TypeError, match="without an iterable"):
        iter(LogProgress(quiet=True)).__next__()
