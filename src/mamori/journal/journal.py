"""The journal: one CloudTrail-format record per API call, the spine consumers read from.

Writing
-------
* :meth:`Journal.append_in` inserts a record inside the caller's transaction, so a mutation and
  its audit record commit (or roll back) together.
* :meth:`Journal.append` queues a record (read-only calls; the gateway queues them in the
  compact form of :mod:`mamori.journal.calls`) and returns at once; the writer thread
  group-commits the queue with one ``executemany`` per batch, at the latest ``flush_interval``
  after the oldest queued record arrived (or at ``max_batch`` records). :meth:`flush` and
  :meth:`close` block until everything appended so far is durable.
* Who writes the queue is the one thing that differs between the two journals:
  :class:`JournalBase` holds the rest (reading, ``append_in``, the queue, ``flush`` and the
  health below); :class:`Journal` writes in a thread of this process,
  :class:`~mamori.journal.process.ProcessJournal` hands the queue to a writer process that runs
  a :class:`Journal` of its own (``MAMORI_JOURNAL_WRITER``; ``mamori serve`` uses it).

Failing closed
--------------
:meth:`check_writable` is a flag test (plus one clock comparison) for the hot path. It raises a
503 :class:`~mamori.errors.AwsError` when the last journal write failed, when a store transaction
failed with a store-level error (locked, unreachable, read-only, ...; reported by
:meth:`Store.add_failure_listener`), or when the oldest queued record has waited longer than
``stall_timeout`` (a writer hung on a lock). A failed batch stays in memory, in order, and is
retried with exponential backoff; while nothing is queued the writer probes the store instead
(an ``INSERT`` into the journal, rolled back). The first successful write or probe that started
after the last failure clears the flag. When healthy and idle, the writer also probes every
``probe_interval`` seconds, so an unreachable store is noticed before the next request needs it.

Reading in commit-safe order
----------------------------
Consumers read ``seq > cursor`` in ``seq`` order and move their cursor to the last ``seq`` they
handled. That is only safe if no row can *commit later* with a *lower* ``seq`` than one already
read:

* **SQLite** serializes writers: a ``seq`` is allocated inside the write transaction, which holds
  the database's single write lock until it commits, so commit order is ``seq`` order and every
  visible row is safe. (The writer thread allocates a batch's seqs itself: it reads the last one
  once, under that lock, and inserts every row with its seq in one ``executemany``;
  :meth:`Journal.append_in` lets SQLite allocate it. Neither uses ``RETURNING``, which SQLAlchemy
  can only run one row at a time on SQLite.)
* **PostgreSQL** allocates ``seq`` from a sequence before commit, and transactions commit in any
  order. mamori makes every journal insert take a *shared* transaction-level advisory lock
  *before* its ``nextval`` (the column default is a function doing both, in that order; see
  :mod:`mamori.store.schema`). Shared locks never conflict with each other, so writers do not
  serialize; the lock is only a marker, visible in ``pg_locks``, of "this transaction may hold a
  not-yet-committed ``seq``", and it is released only after the commit is visible.

  A reader takes a *sample*: first ``L`` = the sequence's last allocated value, then ``V`` = the
  set of transactions holding the marker lock. Any transaction that allocated a ``seq <= L`` took
  the lock before ``L`` was read, so when the lock scan runs it is either in ``V`` or already
  finished (committed and visible, or rolled back). Hence once every transaction of ``V`` has
  finished, all rows with ``seq <= L`` are settled: ``L`` is a *safe horizon*. Reads return only
  rows with ``seq <= horizon``. Each read takes a new sample and checks the pending ones against
  the current lock holders; the horizon advances as soon as the transactions that were in flight
  at a sample's time end. No grace period is guessed and a long-running transaction that never
  writes to the journal does not hold consumers back. (The sequence must keep ``CACHE 1``, the
  default: with a per-session cache, ``last_value`` would not bound the values handed out.)

Durability: on SQLite a committed transaction survives a crash of the process (WAL,
``synchronous=NORMAL``); on PostgreSQL, whatever its ``synchronous_commit`` promises.
"""

from __future__ import annotations

import abc
import contextlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mamori.errors import AwsError
from mamori.ids import time_ordered_uuid
from mamori.journal.calls import is_call, record_of_call
from mamori.store.engine import Store
from mamori.store.schema import (
    JOURNAL_LOCK_KEYS,
    JOURNAL_SEQUENCE,
    OBSOLETE_JOURNAL_INDEXES,
    dumps,
    journal_resources_table,
    journal_table,
)

try:
    import orjson
except ImportError:  # pragma: no cover - a dependency; the standard library is the fallback
    orjson = None

log = logging.getLogger(__name__)

_jc = journal_table.c


class JournalEntry(NamedTuple):
    seq: int
    record: dict


def _unavailable(detail: str | None = None) -> AwsError:
    message = "The audit journal cannot be written, so the request was refused."
    if detail:
        message += f" ({detail})"
    return AwsError("ServiceUnavailable", message, status=503, sender_fault=False)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _stored_time(when: datetime) -> str:
    """``when`` as the journal's SQLite column stores it (what SQLAlchemy's ``DateTime`` writes
    for :class:`~mamori.store.schema.UtcDateTime`): naive UTC, fixed width, sorts in time order."""
    t = when.astimezone(UTC)
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}"
    )


# eventTime string -> (SQLite column text, aware UTC datetime). The gateway writes whole seconds,
# so consecutive records mostly share one eventTime: parsing it once per distinct value keeps
# datetime parsing off the per-record cost. Bounded; races between threads only cost a recompute.
_TIME_CACHE: dict[str, tuple[str, datetime]] = {}
_TIME_CACHE_MAX = 4096


def _event_time(record: dict) -> tuple[str, datetime]:
    value = record.get("eventTime")
    if type(value) is str:
        hit = _TIME_CACHE.get(value)
        if hit is not None:
            return hit
    when = _parse_time(value)
    if when is None:
        when = datetime.now(UTC).replace(microsecond=0)
        value = record["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = (_stored_time(when), when.astimezone(UTC))
    if type(value) is str:
        if len(_TIME_CACHE) >= _TIME_CACHE_MAX:
            _TIME_CACHE.clear()
        _TIME_CACHE[value] = result
    return result


if orjson is not None:
    _ORJSON_OPTS = orjson.OPT_NON_STR_KEYS

    def _dumps(record: dict) -> str:
        try:
            return orjson.dumps(record, default=str, option=_ORJSON_OPTS).decode()
        except TypeError:  # e.g. an int beyond 64 bits: the standard library copes
            return dumps(record)

else:  # pragma: no cover - orjson is a dependency; kept working without it
    _JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
    _dumps = _JSON.encode


def new_event_id() -> str:
    """A random eventID that sorts by creation time (a version 7 UUID). Journal rows are indexed
    by eventID (it is unique), and uuid4's random order makes every insert touch a different
    page of that index once the journal is large, which costs the writer more than everything
    else; ids that grow with time keep those inserts at the end of the index."""
    return time_ordered_uuid()


def _username(identity: dict) -> str | None:
    name = identity.get("userName")
    if name:
        return str(name)
    kind = identity.get("type")
    if kind == "Root":
        return "root"
    if kind in ("AssumedRole", "FederatedUser"):  # the session's / federated user's name
        arn = str(identity.get("arn") or "")
        if "/" in arn:
            return arn.rsplit("/", 1)[-1]
    return None


#: The journal's columns in the order of the tuples :func:`_prepare` returns (``seq`` excluded).
COLUMNS = (
    "event_id",
    "event_time",
    "account_id",
    "region",
    "event_source",
    "event_name",
    "read_only",
    "username",
    "access_key_id",
    "error_code",
    "record",
)


class _Row(NamedTuple):
    values: tuple  # COLUMNS, event_time as the SQLite column text
    when: datetime  # event_time as an aware datetime (PostgreSQL binds this)
    resources: list[tuple[str, str]]


def _prepare(record: dict | tuple | list) -> _Row:
    """The journal row of a CloudTrail record (fills a missing eventID and eventTime in it), or
    of a call (:mod:`mamori.journal.calls`)."""
    if type(record) is not dict and is_call(record):
        record = record_of_call(record)
    event_id = record.get("eventID")
    if not event_id:
        event_id = record["eventID"] = new_event_id()
    stored, when = _event_time(record)
    identity = record.get("userIdentity")
    if isinstance(identity, dict):
        username = _username(identity)
        access_key_id = identity.get("accessKeyId")
    else:
        username = access_key_id = None
    read_only = record.get("readOnly")
    if read_only is not None:
        read_only = read_only.lower() == "true" if isinstance(read_only, str) else bool(read_only)
    resources: list[tuple[str, str]] = []
    listed = record.get("resources")
    if listed:
        for res in listed:
            if not isinstance(res, dict):
                continue
            name = res.get("ARN") or res.get("resourceName") or res.get("ResourceName")
            kind = res.get("type") or res.get("ResourceType") or ""
            if not name and not kind:
                continue
            pair = (str(kind), str(name or ""))
            if pair not in resources:
                resources.append(pair)
    values = (
        str(event_id),
        stored,
        record.get("recipientAccountId"),
        record.get("awsRegion"),
        record.get("eventSource"),
        record.get("eventName"),
        read_only,
        username,
        access_key_id,
        record.get("errorCode"),
        _dumps(record),
    )
    return _Row(values, when, resources)


def _row_dict(row: _Row) -> dict[str, Any]:
    values = dict(zip(COLUMNS, row.values, strict=True))
    values["event_time"] = row.when
    return values


def prepare(record: dict) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The journal row and (resource_type, resource_name) pairs for a CloudTrail record.

    Fills in a missing ``eventID`` (:func:`new_event_id`) and ``eventTime`` (now, ISO-8601
    ``Z``) in ``record``.
    """
    row = _prepare(record)
    return _row_dict(row), row.resources


def _resource_rows(seq: int, row: dict, resources: list[tuple[str, str]]) -> list[dict]:
    return [
        {
            "seq": seq,
            "resource_type": kind,
            "resource_name": name,
            "account_id": row["account_id"],
            "region": row["region"],
            "event_time": row["event_time"],
        }
        for kind, name in resources
    ]


# SQLite: plain DBAPI statements with positional tuples, run on the connection's sqlite3 handle
# (no RETURNING: that makes SQLAlchemy run one statement per row).
_SQLITE_INSERT = f"INSERT INTO journal (seq, {', '.join(COLUMNS)}) VALUES (?{', ?' * len(COLUMNS)})"
_SQLITE_INSERT_AUTO = (
    f"INSERT INTO journal ({', '.join(COLUMNS)}) VALUES (?{', ?' * (len(COLUMNS) - 1)})"
)
_SQLITE_INSERT_RESOURCES = (
    "INSERT INTO journal_resources "
    "(seq, resource_type, resource_name, account_id, region, event_time) VALUES (?, ?, ?, ?, ?, ?)"
)
# Rows per multi-row INSERT: 500 x 12 bound values stays far below SQLite's variable limit.
_SQLITE_CHUNK = 500


@lru_cache(maxsize=64)
def _multi_row_insert(single_row_statement: str, count: int) -> str:
    """``INSERT ... VALUES (?, ...)`` repeated for ``count`` rows in one statement."""
    head, _, placeholders = single_row_statement.partition(" VALUES ")
    return f"{head} VALUES {', '.join([placeholders] * count)}"


# The last seq ever allocated (AUTOINCREMENT keeps it in sqlite_sequence, even after a reset).
_SQLITE_LAST_SEQ = (
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'journal'), 0), "
    "coalesce((SELECT max(seq) FROM journal), 0))"
)


def _sqlite_resource_rows(seq: int, row: _Row) -> list[tuple]:
    v = row.values
    return [(seq, kind, name, v[2], v[3], v[1]) for kind, name in row.resources]


def _sqlite_error(exc: sqlite3.Error, statement: str) -> sa.exc.DBAPIError:
    """The SQLAlchemy exception SQLAlchemy itself would have raised for ``exc``."""
    return sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error)


def _drop_obsolete_indexes(store: Store) -> None:
    """Drop journal indexes an earlier mamori created (see :mod:`mamori.store.schema`): each one
    costs every insert. One catalog query when there are none."""
    names = list(OBSOLETE_JOURNAL_INDEXES)
    if store.dialect == "postgresql":
        query = sa.text(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'journal' AND indexname IN :names"
        ).bindparams(sa.bindparam("names", expanding=True))
    else:
        query = sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal' "
            "AND name IN :names"
        ).bindparams(sa.bindparam("names", expanding=True))
    with store.connect() as conn:
        present = list(conn.execute(query, {"names": names}).scalars())
    if not present:
        return
    with store.begin() as conn:
        for name in present:
            conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')
    log.warning("journal: dropped obsolete indexes %s", ", ".join(present))


class _PgHorizon:
    """The commit-safe read horizon on PostgreSQL (see the module docstring)."""

    _LOCKS = sa.text(
        "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        f"AND classid = {JOURNAL_LOCK_KEYS[0]} AND objid = {JOURNAL_LOCK_KEYS[1]} "
        "AND objsubid = 2"
    )
    _LAST = sa.text(f"SELECT pg_sequence_last_value(CAST('{JOURNAL_SEQUENCE}' AS regclass))")
    MAX_SAMPLES = 1000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._horizon = 0
        self._pending: list[tuple[int, frozenset[str]]] = []

    def advance(self, conn: Connection) -> int:
        """Take a sample and return the current safe horizon. Leaves ``conn`` outside any
        transaction, so the caller's next statement sees a fresh snapshot."""
        with self._lock:
            last = conn.execute(self._LAST).scalar() or 0  # 1. L (before the lock scan)
            holders = frozenset(r[0] for r in conn.execute(self._LOCKS))  # 2. V
            conn.commit()
            horizon = self._horizon
            if not holders:
                horizon = max(horizon, last)
                self._pending.clear()
            else:
                still: list[tuple[int, frozenset[str]]] = []
                for sample_last, sample_holders in self._pending:
                    if sample_holders.isdisjoint(holders):
                        horizon = max(horizon, sample_last)
                    elif not sample_holders >= holders:  # else dominated by the new sample
                        still.append((sample_last, sample_holders))
                still = [s for s in still if s[0] > horizon]
                if last > horizon:
                    still.append((last, holders))
                self._pending = still[-self.MAX_SAMPLES :]
            self._horizon = horizon
            return horizon


def describe_error(exc: BaseException) -> str:
    """``exc`` for a log line (or for the parent of a writer process): the driver's message,
    without the SQL statement and its parameters, which may hold record contents."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        exc = exc.orig
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class JournalBase(abc.ABC):
    """What every journal of a node shares, whoever writes its queue (see the module docstring):
    reading, :meth:`append_in`, the queue :meth:`append` fills, :meth:`flush`, and the fail-closed
    health that :meth:`check_writable` tests.

    A subclass is the writer of the queue: :class:`Journal` group-commits it in a thread of this
    process; :class:`~mamori.journal.process.ProcessJournal` hands it to a writer process, which
    runs a :class:`Journal` of its own. Either moves ``_done`` forward (records durable, in append
    order) and reports health through :meth:`_set_failed` / :meth:`_set_ok`.
    """

    def __init__(
        self,
        store: Store,
        *,
        flush_interval: float = 0.1,
        max_batch: int = 1000,
        probe_interval: float | None = 2.0,
        stall_timeout: float = 5.0,
        max_backoff: float = 2.0,
        poll_interval: float = 0.05,
    ) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.probe_interval = probe_interval
        self.stall_timeout = stall_timeout
        self.max_backoff = max_backoff
        self.poll_interval = poll_interval
        self._pg = store.dialect == "postgresql"
        self._horizon = _PgHorizon() if self._pg else None

        # The queue. append() wakes the writer at the first queued record and at _wake_batch.
        self._wake_batch = max_batch
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._pending: deque[tuple[dict, float]] = deque()  # (record, monotonic time appended)
        self._appended = 0  # records handed to append()
        self._done = 0  # of those, written (or dropped as unwritable) — in order
        self._oldest: float | None = None  # monotonic time of the oldest not-durable record
        self._flush_waiters = 0
        self._flush_requests = 0  # flush() calls so far
        self._probe_requested = False
        self._stopping = False

        # Health: failed since _failed_at, until a write or probe that started later succeeds.
        self._health_lock = threading.Lock()
        self._failed = False
        self._failed_at = float("-inf")
        self._last_ok = time.monotonic()
        self.last_error: BaseException | None = None

        self._data_cond = threading.Condition()
        self._data_version = 0

        self._insert_one = journal_table.insert().returning(_jc.seq)
        self._insert_resources = journal_resources_table.insert()
        try:  # the journal works with them, only slower; an outage is the probe's to report
            _drop_obsolete_indexes(store)
        except Exception as exc:
            log.warning("journal: could not drop obsolete indexes: %s", describe_error(exc))
        store.add_failure_listener(self._on_store_failure)

    # -- the writer (subclasses) -------------------------------------------------------------------

    @abc.abstractmethod
    def start(self) -> None:
        """Start the group-commit writer (idempotent)."""

    @abc.abstractmethod
    def close(self, timeout: float = 5.0) -> None:
        """Flush, then stop the writer; TimeoutError if records could not be made durable."""

    @abc.abstractmethod
    def _writer_running(self) -> bool:
        """Whether a writer is there to write what flush() waits for."""

    @abc.abstractmethod
    def _flush_without_writer(self, target: int, deadline: float) -> None:
        """flush() while no writer runs (called with self._cond held)."""

    # -- health ----------------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        try:
            self.check_writable()
        except AwsError:
            return False
        return True

    def check_writable(self) -> None:
        """Raise a 503 AwsError when the journal cannot be written (fail closed). Cheap."""
        if self._failed:
            raise _unavailable()
        oldest = self._oldest
        if oldest is not None and time.monotonic() - oldest > self.stall_timeout:
            raise _unavailable("journal writes are stalled")

    def _on_store_failure(self, exc: BaseException) -> None:
        self._set_failed(exc)
        self.request_probe()

    def request_probe(self) -> None:
        """Have the writer probe the store soon (its success clears an earlier failure)."""
        with self._cond:
            self._probe_requested = True
            self._wake_writer()

    def _wake_writer(self) -> None:
        """(self._lock held) The writer has something to do (records, a flush, a probe)."""
        self._cond.notify_all()

    def _set_failed(
        self, exc: BaseException, at: float | None = None, *, quiet: bool = False
    ) -> None:
        """Fail closed: the journal failed at monotonic time ``at`` (now)."""
        at = time.monotonic() if at is None else at
        with self._health_lock:
            was_failed = self._failed
            self.last_error = exc
            self._failed_at = max(self._failed_at, at)
            self._failed = True
        if not was_failed and not quiet:
            log.error("journal: not writable, failing closed: %s", describe_error(exc))

    def _set_ok(self, started: float) -> None:
        """A write or probe that started at monotonic time ``started`` succeeded: that clears
        the failures reported before it started (not one that happened while it ran)."""
        with self._health_lock:
            self._last_ok = time.monotonic()
            if not self._failed or started <= self._failed_at:
                return
            self._failed = False
        log.warning("journal: writable again")

    # -- writing -----------------------------------------------------------------------------------

    def append_in(self, conn: Connection, record: dict | tuple) -> int:
        """Insert ``record`` in the caller's transaction (it commits with the mutation).

        Returns the record's ``seq``. A store failure raises the 503 AwsError (and fails the
        journal closed until a probe succeeds); a duplicate ``eventID`` raises IntegrityError.
        """
        row = _prepare(record)
        try:
            if not self._pg and conn.in_transaction():
                return self._insert_one_sqlite(conn, row)
            values = _row_dict(row)
            seq = conn.execute(self._insert_one, values).scalar_one()
            if row.resources:
                conn.execute(self._insert_resources, _resource_rows(seq, values, row.resources))
        except sa.exc.IntegrityError:
            raise
        except sa.exc.DBAPIError as exc:
            self._on_store_failure(exc)
            raise _unavailable() from exc
        return seq

    @staticmethod
    def _insert_one_sqlite(conn: Connection, row: _Row) -> int:
        """One row through the sqlite3 handle, inside ``conn``'s (already begun) transaction;
        the seq is the rowid SQLite allocated (no RETURNING)."""
        raw = conn.connection.driver_connection
        statement = _SQLITE_INSERT_AUTO
        try:
            seq = raw.execute(statement, row.values).lastrowid
            if row.resources:
                statement = _SQLITE_INSERT_RESOURCES
                raw.executemany(statement, _sqlite_resource_rows(seq, row))
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, statement) from exc
        return seq

    def append(self, record: dict | tuple) -> None:
        """Queue ``record`` for the writer; never blocks on I/O."""
        now = time.monotonic()
        with self._cond:
            if self._oldest is None:
                self._oldest = now
            self._pending.append((record, now))
            self._appended += 1
            n = len(self._pending)
            if n == 1 or n >= self._wake_batch:
                self._cond.notify_all()

    def append_many(self, records: list) -> None:
        """:meth:`append` for each of ``records``, in order."""
        if not records:
            return
        now = time.monotonic()
        with self._cond:
            if self._oldest is None:
                self._oldest = now
            was = len(self._pending)
            self._pending.extend([(record, now) for record in records])
            self._appended += len(records)
            if was == 0 or len(self._pending) >= self._wake_batch:
                self._cond.notify_all()

    def flush(self, timeout: float = 5.0) -> None:
        """Block until every record appended so far is durable; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._appended
            if self._done >= target:
                return
            if not self._writer_running():
                self._flush_without_writer(target, deadline)
                return
            self._flush_waiters += 1
            self._flush_requests += 1
            self._wake_writer()
            try:
                while self._done < target:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(
                            f"journal: {target - self._done} records not durable after {timeout}s"
                            + (
                                f" (last error: {describe_error(self.last_error)})"
                                if self.last_error
                                else ""
                            )
                        )
                    self._cond.wait(left)
            finally:
                self._flush_waiters -= 1

    @property
    def pending(self) -> int:
        """Records appended but not durable yet."""
        return self._appended - self._done

    # -- reading -----------------------------------------------------------------------------------

    def _notify_data(self) -> None:
        with self._data_cond:
            self._data_version += 1
            self._data_cond.notify_all()

    def safe_horizon(self, conn: Connection) -> int | None:
        """The highest seq that is safe to read (PostgreSQL), or None (SQLite: all visible)."""
        return self._horizon.advance(conn) if self._horizon is not None else None

    def read(self, after_seq: int = 0, limit: int = 1000) -> list[JournalEntry]:
        """Records with ``seq > after_seq`` in commit-safe ``seq`` order (see module docstring)."""
        with self.store.connect() as conn:
            query = sa.select(_jc.seq, _jc.record).where(_jc.seq > after_seq)
            horizon = self.safe_horizon(conn)
            if horizon is not None:
                if horizon <= after_seq:
                    return []
                query = query.where(_jc.seq <= horizon)
            rows = conn.execute(query.order_by(_jc.seq).limit(limit)).all()
        return [JournalEntry(seq, json.loads(text)) for seq, text in rows]

    def last_seq(self) -> int:
        """The highest seq that :meth:`read` could return now (0 when empty)."""
        with self.store.connect() as conn:
            query = sa.select(sa.func.max(_jc.seq))
            horizon = self.safe_horizon(conn)
            if horizon is not None:
                query = query.where(_jc.seq <= horizon)
            return conn.execute(query).scalar() or 0

    def wait_for(
        self, after_seq: int, timeout: float, cancel: threading.Event | None = None
    ) -> bool:
        """Block until a record newer than ``after_seq`` is readable; False on timeout (or when
        ``cancel`` is set; :meth:`wake` makes waiters check it at once).

        Woken when this node's writer makes records durable; records committed by other
        transactions or nodes are noticed by polling every ``poll_interval`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            version = self._data_version
            if self.last_seq() > after_seq:
                return True
            left = deadline - time.monotonic()
            if left <= 0 or (cancel is not None and cancel.is_set()):
                return False
            with self._data_cond:
                if version == self._data_version:
                    self._data_cond.wait(min(left, self.poll_interval))

    def wake(self) -> None:
        """Wake every thread blocked in :meth:`wait_for` (e.g. a consumer being stopped)."""
        self._notify_data()

    def count(self) -> int:
        with self.store.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(journal_table)).scalar_one()

    def __enter__(self) -> JournalBase:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(TimeoutError):
            self.close()


class Journal(JournalBase):
    """The event journal of one node, group-committed by a writer thread (see the module
    docstring). Also what a :class:`~mamori.journal.process.ProcessJournal`'s writer process
    runs."""

    def __init__(self, store: Store, **options: Any) -> None:
        super().__init__(store, **options)
        self._inflight = 0
        self._urgent = 0  # flush_soon(): write what was appended up to here without waiting
        self._thread: threading.Thread | None = None
        self._insert_many = journal_table.insert().returning(
            _jc.event_id, _jc.seq, sort_by_parameter_order=True
        )

    def flush_soon(self) -> None:
        """Have the writer write everything appended so far now, without waiting for
        ``flush_interval`` (and without blocking the caller, unlike :meth:`flush`)."""
        with self._cond:
            self._urgent = self._appended
            self._cond.notify_all()

    def _take_batch(self) -> list[tuple[dict, float]]:
        batch = []
        while self._pending and len(batch) < self.max_batch:
            batch.append(self._pending.popleft())
        self._inflight = len(batch)
        return batch

    def _write_batch(self, batch: list[tuple[dict, float]]) -> bool:
        """Write one batch in one transaction. True when it is durable (or had to be dropped)."""
        rows: list[_Row] = []
        for record, _ in batch:
            if record is None:  # dropped where it was found unreadable, and reported there
                continue
            try:
                rows.append(_prepare(record))
            except Exception:
                log.exception("journal: dropping a record that cannot be serialized")
        if not rows:
            return True
        try:
            with self.store.begin() as conn:
                self._insert_rows(conn, rows)
        except sa.exc.IntegrityError:
            return self._write_one_by_one(rows)
        except Exception as exc:
            self._set_failed(exc)
            return False
        return True

    def _insert_rows(self, conn: Connection, rows: list[_Row]) -> None:
        if not self._pg:
            self._insert_rows_sqlite(conn, rows)
            return
        # a writer stuck on a lock should fail (and be retried), not hang
        conn.exec_driver_sql(
            "SELECT set_config('lock_timeout', '2s', true), "
            "set_config('statement_timeout', '30s', true)"
        )
        values = [_row_dict(row) for row in rows]
        result = conn.execute(self._insert_many, values)
        seqs = dict(result.all())
        res_rows = []
        for row, row_values in zip(rows, values, strict=True):
            if row.resources:
                seq = seqs[row_values["event_id"]]
                res_rows.extend(_resource_rows(seq, row_values, row.resources))
        if res_rows:
            conn.execute(self._insert_resources, res_rows)

    @staticmethod
    def _insert_rows_sqlite(conn: Connection, rows: list[_Row]) -> None:
        """Multi-row INSERTs with explicit seqs. ``conn`` is a :meth:`Store.begin` transaction
        (``BEGIN IMMEDIATE``): it holds SQLite's write lock, so nobody else can allocate a seq
        between reading the last one and committing ours.

        Rows go in as ``INSERT ... VALUES (...), (...), ...`` of up to ``_SQLITE_CHUNK`` rows,
        not through ``executemany``: sqlite3 releases the GIL around every step, and a writer
        thread that must win the GIL back from a busy request loop once per row waits up to a
        switch interval (5 ms) each time. Under sustained load that starved the writer until
        the journal failed closed; one step per chunk keeps it well ahead."""
        raw = conn.connection.driver_connection
        statement = _SQLITE_LAST_SEQ
        try:
            seq = raw.execute(statement).fetchone()[0]
            values: list = []
            res_values: list = []
            res_count = 0
            for row in rows:
                seq += 1
                values.append(seq)
                values.extend(row.values)
                if row.resources:
                    for resource_row in _sqlite_resource_rows(seq, row):
                        res_values.extend(resource_row)
                        res_count += 1
            width = len(COLUMNS) + 1
            for start in range(0, len(rows), _SQLITE_CHUNK):
                count = min(_SQLITE_CHUNK, len(rows) - start)
                statement = _multi_row_insert(_SQLITE_INSERT, count)
                raw.execute(statement, values[start * width : (start + count) * width])
            for start in range(0, res_count, _SQLITE_CHUNK):
                count = min(_SQLITE_CHUNK, res_count - start)
                statement = _multi_row_insert(_SQLITE_INSERT_RESOURCES, count)
                raw.execute(statement, res_values[start * 6 : (start + count) * 6])
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, statement) from exc

    def _write_one_by_one(self, rows: list[_Row]) -> bool:
        """A batch hit a unique violation (a duplicate eventID): write records one at a time and
        drop the duplicates, so one bad record cannot block the journal. (A batch that a writer
        process wrote but died before reporting is sent again to the next one: all duplicates.)
        """
        duplicates: list[str] = []
        try:
            for row in rows:
                try:
                    with self.store.begin() as conn:
                        self._insert_rows(conn, [row])
                except sa.exc.IntegrityError:
                    duplicates.append(row.values[0])
                except Exception as exc:
                    self._set_failed(exc)
                    return False  # the whole batch is retried; written ones are duplicates then
            return True
        finally:
            if duplicates:
                log.error(
                    "journal: dropped %d records with duplicate eventIDs (%s%s)",
                    len(duplicates),
                    ", ".join(duplicates[:3]),
                    ", ..." if len(duplicates) > 3 else "",
                )

    def _probe(self, started: float) -> bool:
        """Can a journal row be inserted right now? (The insert is rolled back.)

        On PostgreSQL the probe row brings its own seq, a negative one no row ever has: taking
        one from the sequence would also take the marker lock readers wait for (see the module
        docstring), so a read made while a probe runs could not see rows already committed."""
        row, _ = prepare(
            {"eventID": f"mamori-probe-{uuid.uuid4()}", "eventName": "MamoriJournalProbe"}
        )
        if self._pg:
            row["seq"] = -1 - uuid.uuid4().int % (1 << 62)
        try:
            with self.store.engine.connect() as conn:
                if self.store.dialect == "sqlite":
                    conn.execution_options(mamori_sqlite_begin="BEGIN IMMEDIATE")
                with conn.begin() as tx:
                    if self._pg:
                        conn.exec_driver_sql(
                            "SELECT set_config('lock_timeout', '2s', true), "
                            "set_config('statement_timeout', '10s', true)"
                        )
                    conn.execute(journal_table.insert(), row)
                    tx.rollback()
        except Exception as exc:
            self._set_failed(exc)
            return False
        self._set_ok(started)
        return True

    def _completed(self, n: int, started: float) -> None:
        with self._cond:
            self._done += n
            self._inflight = 0
            self._oldest = self._pending[0][1] if self._pending else None
            self._cond.notify_all()
        self._set_ok(started)
        self._notify_data()

    def _failed_batch(self, batch: list[tuple[dict, float]]) -> None:
        with self._cond:
            self._pending.extendleft(reversed(batch))
            self._inflight = 0

    def _ready(self, now: float) -> bool:
        """Under self._cond: should the writer write the queue now?"""
        if not self._pending:
            return False
        return (
            self._stopping
            or self._failed
            or self._flush_waiters > 0
            or self._done < self._urgent
            or len(self._pending) >= self.max_batch
            or now - self._pending[0][1] >= self.flush_interval
        )

    def _run(self) -> None:
        backoff = 0.05
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if self._ready(now):
                        batch = self._take_batch()
                        break
                    if self._stopping:
                        return
                    if self._probe_requested or self._probe_due(now):
                        self._probe_requested = False
                        batch = []
                        break
                    self._cond.wait(self._wait_time(now))
            started = time.monotonic()
            ok = self._write_batch(batch) if batch else self._probe(started)
            if ok:
                backoff = 0.05
                if batch:
                    self._completed(len(batch), started)
                continue
            if batch:
                self._failed_batch(batch)
            with self._cond:
                if self._stopping:
                    return  # close() reports what is left
                if not self._pending:
                    self._probe_requested = True
                deadline = time.monotonic() + backoff
                while not self._stopping and (left := deadline - time.monotonic()) > 0:
                    self._cond.wait(left)
            backoff = min(backoff * 2, self.max_backoff)

    def _probe_due(self, now: float) -> bool:
        if self._failed:
            return True
        return bool(self.probe_interval) and now - self._last_ok >= self.probe_interval

    def _wait_time(self, now: float) -> float | None:
        waits = []
        if self._pending:
            waits.append(self._pending[0][1] + self.flush_interval - now)
        if self.probe_interval:
            waits.append(self._last_ok + self.probe_interval - now)
        return max(0.001, min(waits)) if waits else None

    def start(self) -> None:
        """Start the group-commit writer thread (idempotent)."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self.store.remove_failure_listener(self._on_store_failure)
            self.store.add_failure_listener(self._on_store_failure)  # again, after a close()
            self._thread = threading.Thread(target=self._run, name="mamori-journal", daemon=True)
            self._thread.start()

    def _writer_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _flush_without_writer(self, target: int, deadline: float) -> None:
        """Write in the calling thread (self._cond held)."""
        backoff = 0.05
        while self._done < target:
            batch = self._take_batch()
            started = time.monotonic()
            self._cond.release()
            try:
                ok = self._write_batch(batch)
            finally:
                self._cond.acquire()
            if ok:
                self._done += len(batch)
                self._inflight = 0
                self._oldest = self._pending[0][1] if self._pending else None
                self._set_ok(started)
                self._notify_data()
                continue
            self._pending.extendleft(reversed(batch))
            self._inflight = 0
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"journal: {target - self._done} records not durable "
                    f"(last error: {describe_error(self.last_error)})"
                )
            self._cond.wait(min(backoff, left))
            backoff = min(backoff * 2, self.max_backoff)

    def close(self, timeout: float = 5.0) -> None:
        """Flush and stop the writer. Raises TimeoutError (after stopping) if records could not
        be made durable within ``timeout``."""
        error: TimeoutError | None = None
        try:
            self.flush(timeout)
        except TimeoutError as exc:
            error = exc
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=max(1.0, timeout))
        self._thread = None
        self.store.remove_failure_listener(self._on_store_failure)
        self._notify_data()
        if error is not None:
            log.error("journal closed with records not written: %s", error)
            raise error
