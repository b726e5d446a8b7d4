"""The store: one SQLAlchemy Core engine over SQLite (default) or PostgreSQL.

SQLite (``url=None``): the file ``<data_dir>/mamori.db`` in WAL mode with ``synchronous=NORMAL``
(a committed transaction survives a crash of the process; a power loss may lose the last
transactions), a busy timeout, and foreign keys on. The engine is shared by the asyncio thread,
the journal writer and the consumers: connections are pooled (``check_same_thread=False``; a
pooled connection is only ever used by one thread at a time), and pysqlite's own implicit
transaction handling is turned off so that SQLAlchemy's ``BEGIN`` is the real one.

* :meth:`Store.begin` opens a write transaction with ``BEGIN IMMEDIATE``: it takes SQLite's
  single write lock up front (waiting up to the busy timeout), so a transaction never fails
  half-way with ``SQLITE_BUSY`` when it upgrades from reading to writing. Writers are serialized,
  which is also why journal sequence numbers on SQLite commit in order.
* :meth:`Store.connect` opens a connection whose transaction (begun on first use) is a deferred
  ``BEGIN``: a consistent read snapshot that never blocks and is never blocked by the writer.

PostgreSQL (``url="postgresql+psycopg://..."``; plain ``postgresql://`` is accepted too): a
``QueuePool`` of ``pool_size`` connections (+ ``max_overflow``), READ COMMITTED. No pre-ping on
checkout (it would cost a round trip on every request): a connection broken by a server restart
fails one statement, SQLAlchemy then invalidates the pool and the next checkout reconnects.
Table creation takes an advisory lock, so many nodes may boot at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, Transaction

from mamori.store.schema import (
    PRESERVED_ON_RESET,
    SCHEMA_VERSION,
    meta_table,
    metadata,
    settings_table,
)
from mamori.store.seal import Sealer, load_master_key

log = logging.getLogger(__name__)

DB_FILE_NAME = "mamori.db"
_SCHEMA_LOCK_KEY = 0x6D616D6F726900  # "mamori\0": advisory lock serializing table creation

#: SQLAlchemy errors that mean "the store itself is failing" (locked, unreachable, timed out,
#: read-only, disk full, ...) rather than "this statement is wrong".
STORE_FAILURES: tuple[type[BaseException], ...] = (sa.exc.OperationalError, sa.exc.InterfaceError)


class SchemaVersionError(RuntimeError):
    """The database was written by a newer mamori than this one."""


def _normalize_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Store:
    """One database for a mamori node (see module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        url: str | None = None,
        master_key: bytes | None = None,
        *,
        busy_timeout: float = 5.0,
        pool_size: int = 10,
        max_overflow: int = 20,
        echo: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if master_key is None:
            master_key = load_master_key(self.data_dir, os.environ.get("MAMORI_MASTER_KEY"))
        self.sealer = Sealer(master_key)
        self.busy_timeout = busy_timeout
        self._failure_listeners: list[Callable[[BaseException], None]] = []
        self._closed = False
        if url is None:
            self.url = f"sqlite:///{self.data_dir / DB_FILE_NAME}"
            self.engine = self._sqlite_engine(echo)
        else:
            self.url = _normalize_url(url)
            self.engine = sa.create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_recycle=1800,
                echo=echo,
            )
        self.dialect: str = self.engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self.dialect!r} (use SQLite or PostgreSQL)")
        self._create_lock = threading.Lock()
        self.create_all()

    # -- engines -------------------------------------------------------------------------------

    def _sqlite_engine(self, echo: bool) -> Engine:
        engine = sa.create_engine(
            self.url,
            connect_args={"check_same_thread": False, "timeout": self.busy_timeout},
            poolclass=sa.pool.QueuePool,
            pool_size=8,
            max_overflow=24,
            echo=echo,
        )
        busy_ms = max(0, int(self.busy_timeout * 1000))

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control away from pysqlite; SQLAlchemy's "begin" event emits it.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("mamori_sqlite_begin", "BEGIN")
            conn.exec_driver_sql(mode)

        return engine

    # -- schema --------------------------------------------------------------------------------

    def create_all(self) -> None:
        """Create missing tables of :data:`metadata` (idempotent) and check the schema version."""
        with self._create_lock, self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
            metadata.create_all(conn)
            row = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).first()
            if row is None:
                conn.execute(
                    meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
                )
            elif int(row.value) > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"the database has schema version {row.value}, newer than this mamori "
                    f"({SCHEMA_VERSION}); upgrade mamori"
                )

    def schema_version(self) -> int:
        with self.connect() as conn:
            value = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar_one()
        return int(value)

    # -- transactions ----------------------------------------------------------------------------

    def add_failure_listener(self, callback: Callable[[BaseException], None]) -> None:
        """Call ``callback(exc)`` whenever a :meth:`begin`/:meth:`connect` block fails with a
        store failure (:data:`STORE_FAILURES`). The journal uses it to fail closed at once."""
        self._failure_listeners.append(callback)

    def remove_failure_listener(self, callback: Callable[[BaseException], None]) -> None:
        with contextlib.suppress(ValueError):
            self._failure_listeners.remove(callback)

    def _notify_failure(self, exc: BaseException) -> None:
        for callback in list(self._failure_listeners):
            try:
                callback(exc)
            except Exception:  # a listener must never mask the original error
                log.exception("store failure listener failed")

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on an exception."""
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn.execution_options(mamori_sqlite_begin="BEGIN IMMEDIATE")
                with conn.begin():
                    yield conn
        except STORE_FAILURES as exc:
            self._notify_failure(exc)
            raise

    def open_write(self) -> tuple[Connection, Transaction]:
        """A write transaction the caller commits or rolls back itself (a request's unit of
        work spans the provider and the journal record); begun as :meth:`begin` does."""
        conn = self.engine.connect()
        try:
            if self.dialect == "sqlite":
                conn.execution_options(mamori_sqlite_begin="BEGIN IMMEDIATE")
            return conn, conn.begin()
        except STORE_FAILURES as exc:
            conn.close()
            self._notify_failure(exc)
            raise
        except BaseException:
            conn.close()
            raise

    def report_failure(self, exc: BaseException) -> None:
        """Tell the store's failure listeners (the journal's health) about ``exc`` if it is a
        store-level failure (the database unreachable, locked or full)."""
        if isinstance(exc, STORE_FAILURES):
            self._notify_failure(exc)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection; its transaction begins on first use (``conn.commit()`` to keep writes,
        otherwise rolled back when the block ends). Best for reads."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except STORE_FAILURES as exc:
            self._notify_failure(exc)
            raise

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1").scalar()
            return True
        except Exception:
            return False

    # -- settings ------------------------------------------------------------------------------

    def get_setting(self, conn: Connection, key: str) -> str | None:
        return conn.execute(
            sa.select(settings_table.c.value).where(settings_table.c.key == key)
        ).scalar()

    def set_setting(self, conn: Connection, key: str, value: str) -> None:
        upsert(conn, settings_table, {"key": key, "value": value}, ["key"])

    # -- maintenance -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Delete every row of every table except the boot metadata (schema version).

        Sequences are not restarted: journal sequence numbers keep increasing, so consumers'
        in-memory positions stay valid. The caller re-seeds root credentials afterwards.
        """
        self.create_all()
        tables = [t for t in reversed(metadata.sorted_tables) if t.name not in PRESERVED_ON_RESET]
        with self.begin() as conn:
            if self.dialect == "postgresql":
                names = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in tables)
                conn.exec_driver_sql(f"TRUNCATE {names}")
            else:
                for table in tables:
                    conn.execute(table.delete())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"


_UPSERTS: dict[tuple, Any] = {}


def _dialect_insert(dialect_name: str):
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def upsert(
    conn: Connection,
    table: sa.Table,
    values: dict[str, Any],
    key_columns: list[str],
    update_columns: list[str] | None = None,
) -> None:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` on either backend (statement built once)."""
    cols = tuple(update_columns or [c for c in values if c not in key_columns])
    cache_key = (conn.dialect.name, table, tuple(key_columns), cols)
    stmt = _UPSERTS.get(cache_key)
    if stmt is None:
        stmt = _dialect_insert(conn.dialect.name)(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key_columns), set_={c: stmt.excluded[c] for c in cols}
        )
        _UPSERTS[cache_key] = stmt
    conn.execute(stmt, values)
