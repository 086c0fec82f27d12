"""Write the two user-style catalogs of ``tests/data`` from real events (pycsep's ComCat sample of the
2019 Ridgecrest sequence, 829 events): formats the workbench has no preset for.

* ``user_catalog_semicolon.csv``: semicolon-separated, comment lines on top, column names of a
  local network (``origin_utc;lat_deg;lon_deg;z_km;ml;remark``), times without a zone (UTC).
* ``user_catalog.zmap``: the same events in ZMAP, written by ObsPy (read back by ObsPy's reader).

Usage: python tests/data/make_user_catalogs.py
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    import obspy
    from obspy.core.event import Catalog, Event, Magnitude, Origin

    from quakelab.datasets import load

    cat = load("ridgecrest-2019-sample")
    lines = [
        "# Ridgecrest 2019 aftershocks, exported from a local network database",
        "# times are UTC; depth in km below sea level; ml = local magnitude",
        "origin_utc;lat_deg;lon_deg;z_km;ml;remark",
    ]
    for row in cat.itertuples():
        t = row.time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        lines.append(
            f"{t};{row.latitude:.5f};{row.longitude:.5f};{row.depth_km:.2f};{row.magnitude:.2f};"
            f"{'felt' if row.magnitude >= 4.5 else ''}"
        )
    (HERE / "user_catalog_semicolon.csv").write_text("\n".join(lines) + "\n")

    events = Catalog()
    for row in cat.itertuples():
        org = Origin(
            time=obspy.UTCDateTime(row.time.isoformat()),
            latitude=row.latitude,
            longitude=row.longitude,
            depth=row.depth_km * 1000.0,
        )
        mag = Magnitude(mag=row.magnitude, magnitude_type="ML")
        ev = Event(origins=[org], magnitudes=[mag])
        ev.preferred_origin_id, ev.preferred_magnitude_id = org.resource_id, mag.resource_id
        events.append(ev)
    events.write(str(HERE / "user_catalog.zmap"), format="ZMAP")


if __name__ == "__main__":
    main()
