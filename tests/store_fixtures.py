"""The ``store`` fixture: a fresh Store on SQLite and on PostgreSQL (own database per test).

Registered for the whole suite in tests/conftest.py (``pytest_plugins``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from mamori.store import Store
from mamori.store.testing import postgres_or_skip, temp_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> Iterator[str | None]:
    """None for SQLite, else the URL of a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    postgres_or_skip()
    with temp_postgres_database() as url:
        yield url


@pytest.fixture
def master_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(store_url, data_dir, master_key) -> Iterator[Store]:
    s = Store(data_dir, store_url, master_key=master_key)
    yield s
    s.close()
