"""Request and event ids: valid UUIDs of the right version, unique, event ids in time order."""

from __future__ import annotations

import time
import uuid

from mamori.ids import random_uuid, time_ordered_uuid


def test_random_uuid_is_a_version_4_uuid_and_unique():
    ids = {random_uuid() for _ in range(10_000)}
    assert len(ids) == 10_000
    for value in list(ids)[:100]:
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == value


def test_time_ordered_uuid_is_version_7_and_sorts_by_time():
    first = time_ordered_uuid()
    time.sleep(0.002)
    second = time_ordered_uuid()
    assert uuid.UUID(first).version == 7 and uuid.UUID(first).variant == uuid.RFC_4122
    assert first < second
    millis = int(first.replace("-", "")[:12], 16)
    assert abs(millis - time.time_ns() // 1_000_000) < 5_000
