"""Fail closed on PostgreSQL: lost privileges and blocking locks."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mamori.store import Store
from mamori.store.testing import admin_connect, postgres_or_skip, temp_postgres_database

from .records import record
from .test_journal_health import assert_refused, eventually, exercise_outage, fast_journal


@pytest.fixture
def store_url() -> Iterator[str]:
    postgres_or_skip()
    with temp_postgres_database() as url:
        yield url


def test_postgres_revoked_insert_fails_closed_and_recovers(store, data_dir, master_key):
    """The store connects as a role that loses (then regains) INSERT on the journal."""
    role = f"mamori_restricted_{secrets.token_hex(4)}"
    url = sa.engine.make_url(store.url)
    with admin_connect(store.url) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
        admin.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        restricted = Store(
            data_dir, url.set(username=role).render_as_string(False), master_key=master_key
        )
        journal = fast_journal(restricted)
        try:
            exercise_outage(
                restricted,
                journal,
                lambda: admin.execute(f'REVOKE INSERT ON journal FROM "{role}"'),
                lambda: admin.execute(f'GRANT INSERT ON journal TO "{role}"'),
            )
        finally:
            journal.close()
            restricted.close()
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')


def test_postgres_table_lock_fails_closed_and_recovers(store, data_dir, master_key):
    """A writer blocked by a lock gives up after its lock_timeout instead of hanging."""
    journal = fast_journal(store)
    locker = store.engine.connect()
    tx = None

    def lock():
        nonlocal tx
        tx = locker.begin()
        locker.exec_driver_sql("LOCK TABLE journal IN EXCLUSIVE MODE")

    try:
        before = record()
        journal.append(before)
        journal.flush()
        lock()
        journal.append(record())
        eventually(lambda: not journal.healthy)
        assert_refused(journal)
        tx.rollback()
        eventually(lambda: journal.healthy)
        journal.flush()
        assert journal.count() == 2
    finally:
        locker.close()
        journal.close()
