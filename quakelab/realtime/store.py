"""A Parquet event store with upserts by event id, whose checkpoint is committed in the same atomic write.

The store is one Parquet file (``events.parquet``) whose schema metadata holds the checkpoint (latest
``updated`` time applied, tombstones of deleted events, poll counters, alert state). Each batch is applied
in memory and committed with one write to a temporary file and a rename, so after a crash the store and its
checkpoint are both the previous batch's or both the new one's. Re-applying a batch is harmless (upserts
keep the newest version of each event), so a poll repeated after a crash loses nothing and duplicates
nothing. ``checkpoint.json`` mirrors the checkpoint for people and dashboards.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from quakelab.catalog.store import atomic_path, write_text_atomic
from quakelab.realtime.feeds import FEED_COLUMNS, FeedBatch

_META_KEY = b"quakelab.checkpoint"


@dataclass
class ApplyResult:
    """What one batch changed."""

    inserted: int
    updated: int
    deleted: int
    ignored: int
    #: ``("event", row)`` and ``("delete", {"event_id", "updated"})`` in the order applied (what a bus carries)
    changes: list = field(default_factory=list)


class EventStore:
    """Current state of the monitored events in ``<directory>/events.parquet`` plus its checkpoint.

    Parameters
    ----------
    directory : path-like
        Created when missing. Temporary files of an interrupted write are removed on opening.
    readonly : bool, default False
        For readers beside a running monitor (dashboards): nothing is created or removed, since a
        temporary file may be the monitor's write in progress.
    """

    def __init__(self, directory: str | os.PathLike, *, readonly: bool = False) -> None:
        self.directory = Path(directory)
        if not readonly:
            self.directory.mkdir(parents=True, exist_ok=True)
            for stale in self.directory.glob(".events.parquet.*.tmp"):
                stale.unlink(missing_ok=True)
        self.path = self.directory / "events.parquet"
        self.events, self.checkpoint = self._load()

    @staticmethod
    def _empty() -> pd.DataFrame:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in FEED_COLUMNS})
        for c in ("time", "updated"):
            df[c] = pd.Series(dtype="datetime64[ns, UTC]")
        for c in ("latitude", "longitude", "depth_km", "magnitude"):
            df[c] = pd.Series(dtype=float)
        return df

    def _load(self) -> tuple[pd.DataFrame, dict]:
        import pyarrow.parquet as pq

        if not self.path.exists():
            return self._empty(), {
                "updated_after": None,
                "tombstones": {},
                "n_polls": 0,
                "n_batches": 0,
                "alert_active": False,
            }
        table = pq.read_table(self.path)
        meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
        return table.to_pandas().reset_index(drop=True), meta

    @property
    def updated_after(self) -> pd.Timestamp | None:
        """The latest ``updated`` time applied (the next poll's ``updatedafter``)."""
        v = self.checkpoint.get("updated_after")
        return pd.Timestamp(v) if v else None

    def apply(self, batch: FeedBatch) -> ApplyResult:
        """Upsert a batch in memory (call :meth:`commit` to make it durable).

        A newer version (``updated``) of an event replaces the stored one; an older or equal one is
        ignored; a deletion removes the event and leaves a tombstone so an older copy replayed later is
        not resurrected.
        """
        tomb: dict[str, pd.Timestamp] = {
            k: pd.Timestamp(v) for k, v in self.checkpoint.get("tombstones", {}).items()
        }
        state = {r["event_id"]: r for r in self.events.to_dict("records")}
        inserted = updated = deleted = ignored = 0
        changes: list = []
        records = [("event", r) for r in batch.events.to_dict("records")]
        records += [("delete", r) for r in batch.deleted.to_dict("records")]
        records.sort(
            key=lambda kr: (kr[1]["updated"], kr[0] == "delete")
        )  # in the order the source made them
        for kind, r in records:
            eid, when = r["event_id"], r["updated"]
            old = state.get(eid)
            if kind == "delete":
                if old is not None and old["updated"] > when:
                    ignored += 1
                    continue
                if old is not None:
                    del state[eid]
                    deleted += 1
                if eid not in tomb or tomb[eid] < when:
                    tomb[eid] = when
                    changes.append(("delete", {"event_id": eid, "updated": when}))
                continue
            if (eid in tomb and tomb[eid] >= when) or (old is not None and old["updated"] >= when):
                ignored += 1  # a duplicate, or an older version than what is known
                continue
            state[eid] = r
            changes.append(("event", r))
            if old is None:
                inserted += 1
            else:
                updated += 1
        merged = pd.DataFrame(list(state.values()), columns=FEED_COLUMNS) if state else self._empty()
        if state:
            for c in ("time", "updated"):
                merged[c] = pd.to_datetime(merged[c], utc=True)
            for c in ("latitude", "longitude", "depth_km", "magnitude"):
                merged[c] = merged[c].astype(float)
        self.events = merged.sort_values(["time", "event_id"], kind="mergesort").reset_index(drop=True)[
            FEED_COLUMNS
        ]
        latest = batch.max_updated
        if latest is not None and (self.updated_after is None or latest > self.updated_after):
            self.checkpoint["updated_after"] = latest.isoformat()
        self.checkpoint["tombstones"] = {k: v.isoformat() for k, v in tomb.items()}
        return ApplyResult(inserted, updated, deleted, ignored, changes)

    def commit(self, **checkpoint_updates) -> Path:
        """Write the events and the checkpoint in one atomic replace (then refresh ``checkpoint.json``)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.checkpoint.update(checkpoint_updates)
        table = pa.Table.from_pandas(self.events, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(self.checkpoint, default=str).encode()
        table = table.replace_schema_metadata(meta)
        final, tmp = atomic_path(self.path)
        try:
            with open(tmp, "wb") as f:
                pq.write_table(table, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        write_text_atomic(
            self.directory / "checkpoint.json",
            json.dumps({**self.checkpoint, "n_events": len(self.events)}, indent=2, default=str) + "\n",
        )
        return final
