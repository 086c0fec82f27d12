"""Property: real catalogs with random corruptions at random lines come back with exactly the corrupted
lines rejected (right physical line, right reason) and every other row unchanged.

Sources: pycsep's ComCat sample of the 2019 Ridgecrest sequence (no event ids: duplicates are found as
identical events) and, when the shared data folder is present, the QTM San Jacinto catalog (ids:
duplicates are found by id). Each example takes a run of rows, may write times with an explicit zone,
inserts comment and blank lines, and corrupts up to five rows.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quakelab.catalog import CatalogError, RejectedRowsWarning, read_catalog, rejected_rows

KINDS = [
    "too_many",
    "too_few",
    "non_numeric",
    "out_of_range",
    "bad_time",
    "naive_time",
    "missing",
    "duplicate",
]
VALUES = ["time", "latitude", "longitude", "depth_km", "magnitude"]


class Source:
    def __init__(
        self, name: str, path: Path, columns: dict[str, str], preset: str, has_ids: bool, rows: int = 800
    ):
        lines = path.read_text().splitlines()
        self.name, self.header, self.rows = name, lines[0], lines[1 : rows + 1]
        self.names = self.header.split(",")
        self.col = {canonical: self.names.index(src) for canonical, src in columns.items()}
        self.columns, self.preset, self.has_ids = columns, preset, has_ids


def _sources() -> list[Source]:
    from quakelab.datasets import get, shared_data_dir

    out = [
        Source(
            "pycsep",
            get("ridgecrest-2019-sample").path(),
            {
                "time": "time_string",
                "latitude": "lat",
                "longitude": "lon",
                "depth_km": "depth",
                "magnitude": "M",
            },
            "pycsep",
            has_ids=False,
        )
    ]
    shared = shared_data_dir()
    if shared is not None and (shared / "qtm_sanjacinto_2008_2017.csv").exists():
        out.append(
            Source(
                "qtm",
                shared / "qtm_sanjacinto_2008_2017.csv",
                {
                    "event_id": "index",
                    "time": "time",
                    "latitude": "latitude",
                    "longitude": "longitude",
                    "magnitude": "magnitude",
                },
                "qtm-sanjacinto",
                has_ids=True,
            )
        )
    return out


SOURCES = _sources()


def _read(path: Path, src: Source, aware: bool, strict: bool = False) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RejectedRowsWarning)
        if aware:  # times carry their zone: no time zone is assumed, a naive time is an error
            return read_catalog(path, columns=src.columns, strict=strict)
        return read_catalog(path, preset=src.preset, strict=strict)


def _values(cat: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in VALUES if c in cat.columns]
    return cat[cols].sort_values(cols, kind="mergesort").reset_index(drop=True)


@st.composite
def corrupted_files(draw):
    src = draw(st.sampled_from(SOURCES))
    n = draw(st.integers(8, 30))
    start = draw(st.integers(0, len(src.rows) - n))
    aware = draw(st.booleans())
    rows = [r.split(",") for r in src.rows[start : start + n]]
    if aware:
        for r in rows:
            r[src.col["time"]] += "Z"
    targets = draw(st.lists(st.integers(0, n - 1), min_size=0, max_size=5, unique=True))
    kinds = {t: draw(st.sampled_from(KINDS)) for t in targets}
    preamble = draw(st.integers(0, 2))  # comment lines before the header
    noise = draw(st.lists(st.tuples(st.integers(0, n), st.sampled_from(["", "# note"])), max_size=4))
    return src, rows, aware, kinds, preamble, noise


def _build(
    src: Source,
    rows: list[list[str]],
    aware: bool,
    kinds: dict[int, str],
    preamble: int,
    noise: list[tuple[int, str]],
):
    """The file's lines, the expected report {line: reason prefix} and the rows expected back."""
    rows = [list(r) for r in rows]
    expected: dict[int, tuple[str, str]] = {}
    gone: set[int] = set()
    line_of: dict[int, int] = {}
    # physical lines: preamble, header, then rows with noise lines inserted before row k
    before: dict[int, list[str]] = {}
    for k, text in noise:
        before.setdefault(k, []).append(text)
    lines = [f"# preamble {i}" for i in range(preamble)] + [",".join(src.names)]
    layout: list[tuple[str, int | str]] = []
    for i in range(len(rows) + 1):
        for text in before.get(i, []):
            layout.append(("noise", text))
        if i < len(rows):
            layout.append(("row", i))
    ln = len(lines)
    for kind, what in layout:
        ln += 1
        if kind == "row":
            line_of[int(what)] = ln
    c = src.col
    for i, kind in sorted(kinds.items()):
        r = rows[i]
        if kind == "naive_time" and not aware:
            kind = "bad_time"
        if kind == "duplicate":
            earlier = [j for j in range(i) if j not in kinds]
            if not earlier:
                kind = "missing"
            else:
                j = earlier[-1]
                rows[i] = list(rows[j])
                why = (
                    f"duplicate event_id (first seen at line {line_of[j]})"
                    if src.has_ids
                    else f"duplicate of line {line_of[j]}"
                )
                expected[line_of[i]] = ("event_id" if src.has_ids else "event", why)
        if kind == "too_many":
            r.append("EXTRA")
            expected[line_of[i]] = (f"(field {len(src.names) + 1})", "too many fields")
        elif kind == "too_few":
            del r[-1]
            expected[line_of[i]] = (src.names[-1], "too few fields")
        elif kind == "non_numeric":
            r[c["magnitude"]] = "abc"
            expected[line_of[i]] = ("magnitude", "non-numeric magnitude")
        elif kind == "out_of_range":
            r[c["latitude"]] = "123.5"
            expected[line_of[i]] = ("latitude", "latitude out of range")
        elif kind == "bad_time":
            r[c["time"]] = "2019-13-45T99:00:00" + ("Z" if aware else "")
            expected[line_of[i]] = ("time", "unparseable time")
        elif kind == "naive_time":
            r[c["time"]] = r[c["time"]].rstrip("Z")
            expected[line_of[i]] = ("time", "naive timestamp")
        elif kind == "missing":
            r[c["latitude"]] = ""
            expected[line_of[i]] = ("latitude", "missing latitude")
        gone.add(i)
    for kind, what in layout:
        lines.append(",".join(rows[int(what)]) if kind == "row" else str(what))
    return lines, expected, gone


@pytest.mark.slow
@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=corrupted_files())
def test_corrupted_lines_are_reported_exactly_and_nothing_else_changes(case, tmp_path_factory):
    src, rows, aware, kinds, preamble, noise = case
    folder = tmp_path_factory.mktemp("c")
    lines, expected, gone = _build(src, rows, aware, kinds, preamble, noise)
    path = folder / f"{src.name}.csv"
    path.write_text("\n".join(lines) + "\n")
    cat = _read(path, src, aware)
    rep = rejected_rows(cat)
    got = {int(r.line): (r.field, r.reason) for r in rep.itertuples()}
    assert sorted(got) == sorted(expected), (got, expected)
    for line, (field, reason) in expected.items():
        assert got[line][0] == field and got[line][1].startswith(reason), (line, got[line], expected[line])
    assert (rep["source"] == str(path)).all()
    # every other row comes back unchanged: compare with the clean rows alone
    clean = folder / "clean.csv"
    kept = [",".join(r) for i, r in enumerate(rows) if i not in gone]  # `rows` are the uncorrupted originals
    clean.write_text("\n".join([",".join(src.names), *kept]) + "\n")
    reference = _read(clean, src, aware)
    assert rejected_rows(reference).empty
    pd.testing.assert_frame_equal(_values(cat), _values(reference), check_exact=False, rtol=1e-12)
    if expected:
        with pytest.raises(CatalogError) as err:
            _read(path, src, aware, strict=True)
        assert err.value.line == min(expected) and str(path) in str(err.value)


def test_the_property_sees_real_files():
    assert SOURCES[0].names == ["lon", "lat", "M", "time_string", "depth", "catalog_id", "event_id"]
    assert len(SOURCES[0].rows) == 800
