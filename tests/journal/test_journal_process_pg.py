"""The writer process on PostgreSQL: a writer blocked by a lock fails closed and recovers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mamori.store.testing import postgres_or_skip, temp_postgres_database

from .records import record
from .test_journal_health import assert_refused, eventually
from .test_journal_process import event_ids, process_journal


@pytest.fixture
def store_url() -> Iterator[str]:
    postgres_or_skip()
    with temp_postgres_database() as url:
        yield url


def test_postgres_table_lock_in_the_writer_fails_closed_and_recovers(store, master_key):
    """The writer blocked by a lock gives up after its lock_timeout, reports, and recovers."""
    journal = process_journal(store, master_key)
    locker = store.engine.connect()
    try:
        before = record()
        journal.append(before)
        journal.flush()
        tx = locker.begin()
        locker.exec_driver_sql("LOCK TABLE journal IN EXCLUSIVE MODE")
        queued = record()
        journal.append(queued)
        eventually(lambda: not journal.healthy)
        assert_refused(journal)
        tx.rollback()
        eventually(lambda: journal.healthy)
        journal.flush()
        assert event_ids(store) == [before["eventID"], queued["eventID"]]
    finally:
        locker.close()
        journal.close()
