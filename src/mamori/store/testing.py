"""Helpers for tests that need a real database: throw-away PostgreSQL databases.

``MAMORI_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
names a database to connect to for administration; each :func:`temp_postgres_database` creates
``mamori_test_<random>`` next to it and drops it afterwards. :func:`postgres_unavailable` says
why PostgreSQL cannot be used (None when it can); test suites skip the PostgreSQL variant then,
unless ``CI`` is set, where they must fail instead (see :func:`postgres_or_skip`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache

import sqlalchemy as sa

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def admin_url() -> str:
    return os.environ.get("MAMORI_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


def _libpq(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)


def admin_connect(url: str | None = None):
    """A psycopg connection (autocommit) to the admin database, or to ``url``."""
    import psycopg

    return psycopg.connect(_libpq(url or admin_url()), autocommit=True, connect_timeout=3)


@cache
def postgres_unavailable() -> str | None:
    try:
        with admin_connect() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL unreachable at {admin_url()}: {exc}"
    return None


def postgres_or_skip() -> None:
    """Skip the calling test when PostgreSQL is unreachable — or fail when ``CI`` is set."""
    import pytest

    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the PostgreSQL variant must run)", pytrace=False)
    pytest.skip(reason)


class _DatabasePool:
    """Creates throw-away databases a few at a time ahead of use and drops them in the
    background: PostgreSQL batches concurrent CREATE/DROP DATABASE well, while one at a time
    each costs a checkpoint (~1 s per test). Whatever is left is dropped at exit."""

    AHEAD = 4

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._ready: deque[Future[str]] = deque()

    def _create(self, prefix: str) -> str:
        name = f"{prefix}{secrets.token_hex(6)}"
        with admin_connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    @staticmethod
    def drop(name: str) -> None:
        with admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def acquire(self, prefix: str) -> str:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(4, thread_name_prefix="mamori-test-db")
                atexit.register(self.close)
            while len(self._ready) < self.AHEAD + 1:
                self._ready.append(self._executor.submit(self._create, prefix))
            future = self._ready.popleft()
        return future.result()

    def release(self, name: str) -> None:
        with self._lock:
            executor = self._executor
        try:
            if executor is None:
                raise RuntimeError
            executor.submit(self.drop, name)
        except RuntimeError:  # interpreter shutting down: drop now
            self.drop(name)

    def close(self) -> None:
        with self._lock:
            ready, self._ready = list(self._ready), deque()
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        for future in ready:
            with contextlib.suppress(Exception):
                self.drop(future.result())


_pool = _DatabasePool()


@contextmanager
def temp_postgres_database(prefix: str = "mamori_test_") -> Iterator[str]:
    """A fresh, empty database: yields its SQLAlchemy URL; it is dropped afterwards (even if
    connections are left open)."""
    name = _pool.acquire(prefix)
    try:
        yield sa.engine.make_url(admin_url()).set(database=name).render_as_string(False)
    finally:
        _pool.release(name)
