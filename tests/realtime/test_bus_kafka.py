"""The Kafka bus against a real broker, when one is given: ``QUAKELAB_KAFKA_BOOTSTRAP=host:port``.

No Kafka broker installs from the registries the test machines reach, so these tests are skipped unless a
broker address is given (the Redis bus runs the same scenarios in test_bus.py everywhere)."""

from __future__ import annotations

import os
import uuid

import pytest

BOOTSTRAP = os.environ.get("QUAKELAB_KAFKA_BOOTSTRAP")
pytestmark = pytest.mark.skipif(
    not BOOTSTRAP, reason="no Kafka broker: set QUAKELAB_KAFKA_BOOTSTRAP=host:port to run the Kafka bus tests"
)


def test_kafka_round_trip_with_manual_commits():
    pytest.importorskip(
        "confluent_kafka", reason="confluent-kafka is not installed (pip install 'quakelab[kafka]')"
    )
    from quakelab.realtime.bus import KafkaBus, open_bus

    prefix = f"quakelab-test-{uuid.uuid4().hex[:8]}."
    bus = open_bus(f"kafka://{BOOTSTRAP}", prefix=prefix)
    assert isinstance(bus, KafkaBus)
    for k in range(3):
        bus.publish("events", f"ci{k}", f"2019-07-06T00:0{k}:00+00:00", {"k": k})
    c = bus.consumer("copy", ["events"], name="a")
    got = []
    for _ in range(30):  # the first reads wait for the group's partition assignment
        got += c.read(count=10, block_ms=1000)
        if len(got) >= 3:
            break
    assert sorted(m.key for m in got) == ["ci0", "ci1", "ci2"] and got[0].payload == {"k": int(got[0].key[2])}
    assert c.ack(got) == 3
    c.close()
    again = bus.consumer("copy", ["events"], name="b")  # committed offsets: nothing is delivered twice
    assert again.read(count=10, block_ms=3000) == []
    again.close()
