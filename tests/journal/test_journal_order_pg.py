"""PostgreSQL commit-order safety: a consumer never passes a seq that may still commit.

(SQLite serializes writers, so there a second writer cannot commit while the first is open.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mamori.store.testing import postgres_or_skip, temp_postgres_database

from .records import record


@pytest.fixture
def store_url() -> Iterator[str]:
    postgres_or_skip()
    with temp_postgres_database() as url:
        yield url


def test_late_commit_with_lower_seq_is_not_skipped(store, journal):
    with store.begin() as conn:
        base = journal.append_in(conn, record())
    assert [e.seq for e in journal.read()] == [base]  # a consumer polled: horizon >= base
    slow = store.engine.connect()
    slow_tx = slow.begin()
    low = journal.append_in(slow, record("Slow"))  # allocated first, not committed
    with store.begin() as conn:
        high = journal.append_in(conn, record("Fast"))  # allocated later, committed first
    assert base < low < high
    # the committed "Fast" row is visible, but reading it now would let a cursor pass "Slow"
    assert [e.seq for e in journal.read(base)] == []
    assert journal.last_seq() == base
    assert journal.wait_for(base, timeout=0.2) is False
    slow_tx.commit()
    slow.close()
    assert [e.seq for e in journal.read(base)] == [low, high]


def test_rolled_back_writer_releases_the_horizon(store, journal):
    slow = store.engine.connect()
    slow_tx = slow.begin()
    journal.append_in(slow, record("Slow"))
    with store.begin() as conn:
        high = journal.append_in(conn, record("Fast"))
    assert journal.read() == []
    slow_tx.rollback()
    slow.close()
    assert [e.seq for e in journal.read()] == [high]


def test_unrelated_long_transaction_does_not_hold_readers_back(store, journal):
    other = store.engine.connect()
    other_tx = other.begin()
    store.set_setting(other, "unrelated", "write")  # has an xid, never touches the journal
    try:
        with store.begin() as conn:
            seq = journal.append_in(conn, record())
        assert [e.seq for e in journal.read()] == [seq]
    finally:
        other_tx.rollback()
        other.close()


def test_horizon_advances_while_writers_overlap(store, journal):
    """Sample pending while A is open; B overlaps; once A ends, rows up to the sample are
    readable even though B (newer) is still open."""
    a = store.engine.connect()
    a_tx = a.begin()
    journal.append_in(a, record("A"))
    assert journal.read() == []  # sample: (L = A's seq, {A})
    b = store.engine.connect()
    b_tx = b.begin()
    journal.append_in(b, record("B"))
    assert journal.read() == []  # sample: (L = B's seq, {A, B})
    a_tx.commit()
    a.close()
    assert [e.record["eventName"] for e in journal.read()] == ["A"]
    b_tx.commit()
    b.close()
    assert [e.record["eventName"] for e in journal.read()] == ["A", "B"]


def test_a_probe_running_during_a_read_does_not_hold_the_reader_back(store, journal, monkeypatch):
    """The writer's health probe inserts a row and rolls it back; it must not look like a
    writer that may still commit a lower seq, or a read made meanwhile misses committed rows."""
    with store.begin() as conn:
        committed = journal.append_in(conn, record())
    seen_during_probe: list[list[int]] = []
    real_execute = sa.engine.Connection.execute

    def execute_and_read(self, statement, *args, **kwargs):
        result = real_execute(self, statement, *args, **kwargs)
        if getattr(statement, "is_insert", False) and not seen_during_probe:
            seen_during_probe.append([e.seq for e in journal.read()])  # the probe row is open
        return result

    monkeypatch.setattr(sa.engine.Connection, "execute", execute_and_read)
    assert journal._probe(0.0) is True
    assert seen_during_probe == [[committed]]
