"""PostgreSQL-only store behaviour."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mamori.store import Store
from mamori.store.testing import postgres_or_skip, temp_postgres_database


@pytest.fixture
def store_url() -> Iterator[str]:
    postgres_or_skip()
    with temp_postgres_database() as url:
        yield url


def test_postgres_url_forms_are_normalized(store, store_url):
    plain = store_url.replace("postgresql+psycopg://", "postgresql://")
    with Store(store.data_dir, plain, master_key=bytes(32)) as other:
        assert other.engine.url.drivername == "postgresql+psycopg"
        assert other.ping()
