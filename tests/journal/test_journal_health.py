"""Fail closed: when the journal cannot be written, check_writable() refuses, and recovers."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from mamori.errors import AwsError
from mamori.journal import Journal
from mamori.store import Store

from .records import record


def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def assert_refused(journal: Journal) -> None:
    with pytest.raises(AwsError) as info:
        journal.check_writable()
    err = info.value
    assert err.status == 503 and err.sender_fault is False
    assert "audit journal cannot be written" in err.message


def fast_journal(store: Store) -> Journal:
    journal = Journal(store, flush_interval=0.02, probe_interval=0.1, max_backoff=0.1)
    journal.start()
    return journal


def exercise_outage(store: Store, journal: Journal, break_it, repair_it) -> None:
    before = record()
    journal.append(before)
    journal.flush()
    journal.check_writable()

    break_it()
    queued = record()
    journal.append(queued)  # returns at once, even though the store is locked
    eventually(lambda: not journal.healthy)
    assert_refused(journal)
    # a mutation cannot be recorded, so it cannot commit
    with pytest.raises((AwsError, sa.exc.DBAPIError)), store.begin() as conn:
        journal.append_in(conn, record("CreateKey", read_only=False))
    with pytest.raises(AwsError) as info, store.connect() as conn:
        journal.append_in(conn, record("CreateKey", read_only=False))
    assert info.value.status == 503
    with pytest.raises(TimeoutError):
        journal.flush(timeout=0.3)
    assert journal.pending >= 1  # the failed batch is kept in memory

    repair_it()
    eventually(lambda: journal.healthy)
    journal.flush()
    ids = [e.record["eventID"] for e in journal.read()]
    assert ids == [before["eventID"], queued["eventID"]]
    with store.begin() as conn:
        journal.append_in(conn, record("CreateKey", read_only=False))
    assert journal.count() == 3


def test_sqlite_exclusive_lock_fails_closed_and_recovers(data_dir, master_key):
    store = Store(data_dir, master_key=master_key, busy_timeout=0.2)
    journal = fast_journal(store)
    locker = sqlite3.connect(data_dir / "mamori.db", isolation_level=None)
    try:
        exercise_outage(
            store,
            journal,
            lambda: locker.execute("BEGIN EXCLUSIVE"),
            lambda: locker.execute("ROLLBACK"),
        )
    finally:
        locker.close()
        journal.close()
        store.close()


def test_stalled_queue_fails_closed(store):
    """Records waiting too long (no writer running, or one hung) refuse new requests."""
    journal = Journal(store, stall_timeout=0.05)
    journal.check_writable()
    journal.append(record())
    time.sleep(0.1)
    with pytest.raises(AwsError, match="stalled"):
        journal.check_writable()
    journal.flush()
    journal.check_writable()
    journal.close()


def test_store_failure_elsewhere_fails_closed_until_probe_succeeds(store):
    """A store-level error in any transaction flips the flag at once; the probe clears it."""
    journal = Journal(store, probe_interval=None)
    journal._on_store_failure(sa.exc.OperationalError("stmt", {}, Exception("down")))
    assert_refused(journal)
    journal.start()
    eventually(lambda: journal.healthy)
    journal.close()


def test_check_writable_is_cheap(store, journal):
    # Not a timing assertion: check_writable must not touch the database at all.
    statements = []
    me = threading.get_ident()

    def seen(*args):
        if threading.get_ident() == me:  # the writer thread may probe meanwhile
            statements.append(args[2])

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    for _ in range(1000):
        journal.check_writable()
    assert statements == []
