"""A store (SQLite and PostgreSQL) with a journal to write CloudTrail records into."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from mamori.journal import Journal
from mamori.store import Store
from mamori.store.testing import postgres_or_skip, temp_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store(tmp_path / "data", None, master_key=secrets.token_bytes(32))
        yield s
        s.close()
        return
    postgres_or_skip()
    with temp_postgres_database() as url:
        s = Store(tmp_path / "data", url, master_key=secrets.token_bytes(32))
        yield s
        s.close()


@pytest.fixture
def write(store):
    """write(*records): insert records into the journal (one transaction, in order)."""
    journal = Journal(store)

    def _write(*records: dict) -> None:
        with store.begin() as conn:
            for record in records:
                journal.append_in(conn, record)

    return _write
