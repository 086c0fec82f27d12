"""Build ``ridgecrest_timeline.json``: a feed history replayed by the test FDSN/GeoJSON server.

Events are the real ComCat solutions of pycsep's Ridgecrest sample (829 events, M>=2.5, 2019-07-06..13),
in the USGS GeoJSON feature format. Each event's first version is published 4 minutes after its origin;
every 25th event is revised 2 hours later (magnitude +0.2, epicentre moved 0.01 degrees), every 97th is
deleted a day later, and every 40th version is published twice (a duplicate). Deterministic; rerun with
``python tests/data/feed/make_timeline.py`` from the project root.
"""

import json
from pathlib import Path

import pandas as pd

from quakelab import datasets


def feature(row, updated: pd.Timestamp, *, mag=None, lat=None, lon=None, status="reviewed") -> dict:
    ms = lambda t: int(t.value // 1_000_000)  # noqa: E731
    return {
        "type": "Feature",
        "id": f"ci{row.event_id.split(':')[1]}",
        "properties": {
            "mag": round(float(mag if mag is not None else row.magnitude), 2),
            "magType": "ml",
            "place": "Ridgecrest sequence, CA",
            "time": ms(row.time),
            "updated": ms(updated),
            "status": status,
            "type": "earthquake",
        },
        "geometry": {
            "type": "Point",
            "coordinates": [
                round(float(lon if lon is not None else row.longitude), 4),
                round(float(lat if lat is not None else row.latitude), 4),
                round(float(row.depth_km), 2),
            ],
        },
    }


def main() -> None:
    cat = datasets.load("ridgecrest-2019-sample").sort_values("time").reset_index(drop=True)
    out = []
    for k, row in enumerate(cat.itertuples(index=False)):
        first = feature(row, row.time + pd.Timedelta(minutes=4))
        out.append(first)
        if k % 40 == 0:
            out.append(dict(first))
        if k % 25 == 5:
            out.append(
                feature(
                    row,
                    row.time + pd.Timedelta(hours=2),
                    mag=row.magnitude + 0.2,
                    lat=row.latitude + 0.01,
                    lon=row.longitude + 0.01,
                )
            )
        if k % 97 == 11:
            deleted = feature(row, row.time + pd.Timedelta(days=1), status="deleted")
            deleted["properties"].update(mag=None)
            out.append(deleted)
    out.sort(key=lambda f: (f["properties"]["updated"], f["id"]))
    path = Path(__file__).with_name("ridgecrest_timeline.json")
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"{len(out)} feature versions of {len(cat)} events -> {path}")


if __name__ == "__main__":
    main()
