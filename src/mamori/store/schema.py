"""The shared SQLAlchemy ``MetaData`` and the core tables every mamori node needs.

Services define their own tables on :data:`metadata` in their own modules; those modules must be
imported before :class:`mamori.store.Store` is created (or :meth:`Store.create_all` called again),
because table creation walks this metadata.

Portable column types for services:

* :class:`UtcDateTime` — timezone-aware UTC datetimes on both backends (SQLite stores a
  fixed-width naive UTC string, which sorts chronologically; PostgreSQL ``timestamptz``).
* :class:`JsonText` — a JSON document stored as compact text (identical on both backends).
* :data:`Key` — a string column compared bytewise (``COLLATE "C"`` on PostgreSQL, SQLite's default
  ``BINARY`` collation), so prefix ranges and ``ORDER BY`` agree with Python's ``str`` ordering.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 1

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_N_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out. Naive datetimes are taken as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def dumps(value: Any) -> str:
    """Compact, deterministic-enough JSON; unknown objects (datetimes, ...) become strings."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class JsonText(TypeDecorator):
    """A JSON document stored as text."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else dumps(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        return None if value is None else json.loads(value)


# Bytewise-compared string (see module docstring).
Key = sa.String().with_variant(sa.String(collation="C"), "postgresql")
# 64-bit integer primary key; on SQLite it must be spelled INTEGER to alias the rowid.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# --- store internals -------------------------------------------------------------------------

meta_table = sa.Table(
    "mamori_meta",
    metadata,
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("value", sa.String(), nullable=False),
)

settings_table = sa.Table(
    "mamori_settings",
    metadata,
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

# --- versioned resources ---------------------------------------------------------------------

# The latest state of every resource (one row each; deleted resources keep a row with
# deleted=true so the version counter continues if the id is reused).
resources_table = sa.Table(
    "resources",
    metadata,
    sa.Column("account", Key, primary_key=True),
    sa.Column("region", Key, primary_key=True),
    sa.Column("type", Key, primary_key=True),
    sa.Column("id", Key, primary_key=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("data", JsonText(), nullable=True),
    sa.Column("deleted", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# Every version ever written (AWS Config's configuration history is a view of this).
resource_versions_table = sa.Table(
    "resource_versions",
    metadata,
    sa.Column("account", Key, primary_key=True),
    sa.Column("region", Key, primary_key=True),
    sa.Column("type", Key, primary_key=True),
    sa.Column("id", Key, primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("data", JsonText(), nullable=True),
    sa.Column("deleted", sa.Boolean(), nullable=False),
    sa.Column("time", UtcDateTime(), nullable=False),
)
sa.Index(
    "ix_resource_versions_time",
    resource_versions_table.c.account,
    resource_versions_table.c.region,
    resource_versions_table.c.time,
)

# --- the journal -----------------------------------------------------------------------------

journal_table = sa.Table(
    "journal",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(), nullable=False, unique=True),
    sa.Column("event_time", UtcDateTime(), nullable=False),
    sa.Column("account_id", Key, nullable=True),
    sa.Column("region", Key, nullable=True),
    sa.Column("event_source", Key, nullable=True),
    sa.Column("event_name", Key, nullable=True),
    sa.Column("read_only", sa.Boolean(), nullable=True),
    sa.Column("username", Key, nullable=True),
    sa.Column("access_key_id", Key, nullable=True),
    sa.Column("error_code", sa.String(), nullable=True),
    sa.Column("record", sa.Text(), nullable=False),
    # SQLite: never reuse a seq, not even after every row was deleted (reset), so consumers'
    # positions stay meaningful.
    sqlite_autoincrement=True,
)
_j = journal_table.c

# PostgreSQL: journal sequence numbers are allocated only while holding a *shared* transaction
# advisory lock (released at commit/rollback). Readers use it to find a commit-safe horizon (see
# mamori.journal.journal). Doing it in the column default makes "lock, then nextval" one step,
# in that order, for every insert, with no extra round trip.
JOURNAL_LOCK_KEYS = (0x6D616D6F, 0x6A726E6C)  # ("mamo", "jrnl"): pg_advisory_xact_lock_shared(a, b)
JOURNAL_SEQUENCE = "journal_seq_seq"  # the BIGSERIAL's sequence (cache 1: required, see journal)
sa.event.listen(
    journal_table,
    "after_create",
    sa.DDL(
        "CREATE OR REPLACE FUNCTION mamori_journal_next_seq() RETURNS bigint "
        "LANGUAGE plpgsql VOLATILE AS $$ BEGIN "
        f"PERFORM pg_advisory_xact_lock_shared({JOURNAL_LOCK_KEYS[0]}, {JOURNAL_LOCK_KEYS[1]}); "
        f"RETURN nextval('{JOURNAL_SEQUENCE}'); END $$; "
        "ALTER TABLE journal ALTER COLUMN seq SET DEFAULT mamori_journal_next_seq()"
    ).execute_if(dialect="postgresql"),
)
# LookupEvents: one lookup attribute + time range, newest first, per account and region. Every
# index costs each journal insert about a microsecond of CPU, so only those that keep a first page
# fast over millions of events exist:
# * ix_journal_acct_time_ro: no attribute, and ReadOnly. About half the events match either value,
#   so ReadOnly walks this index; read_only is its last column so that events that do not match
#   are skipped inside the index, without reading their rows (an account that only ever read, asked
#   for ReadOnly=false, walks ~700k entries in ~60 ms instead of ~330 ms).
# * one composite per attribute that can have rare values (EventName, EventSource, Username,
#   AccessKeyId); a rare value would otherwise scan the whole time range. Each ends in
#   (event_time, seq), so the first page is an ordered index range scan.
# * EventId: the unique index on event_id. ResourceType/ResourceName: journal_resources' indexes.
# (No index on event_time alone, none on read_only: mamori.journal drops the ones databases
# created by earlier versions have, see OBSOLETE_JOURNAL_INDEXES.)
#: Journal indexes of earlier versions that cost inserts and are no longer used.
OBSOLETE_JOURNAL_INDEXES = ("ix_journal_time", "ix_journal_acct_time", "ix_journal_acct_read_only")
sa.Index("ix_journal_acct_time_ro", _j.account_id, _j.region, _j.event_time, _j.seq, _j.read_only)
for _col in ("event_name", "event_source", "username", "access_key_id"):
    sa.Index(
        f"ix_journal_acct_{_col}",
        _j.account_id,
        _j.region,
        _j[_col],
        _j.event_time,
        _j.seq,
    )

# One row per (event, resource) from the record's ``resources`` list, with the event's account,
# region and time copied so that ResourceType/ResourceName lookups are ordered index scans too.
journal_resources_table = sa.Table(
    "journal_resources",
    metadata,
    sa.Column("seq", BigId, sa.ForeignKey("journal.seq"), primary_key=True),
    sa.Column("resource_type", Key, primary_key=True),
    sa.Column("resource_name", Key, primary_key=True),
    sa.Column("account_id", Key, nullable=True),
    sa.Column("region", Key, nullable=True),
    sa.Column("event_time", UtcDateTime(), nullable=False),
)
_r = journal_resources_table.c
sa.Index(
    "ix_journal_resources_type", _r.account_id, _r.region, _r.resource_type, _r.event_time, _r.seq
)
sa.Index(
    "ix_journal_resources_name", _r.account_id, _r.region, _r.resource_name, _r.event_time, _r.seq
)

journal_cursors_table = sa.Table(
    "journal_cursors",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

#: Tables :meth:`Store.reset` leaves alone (what a node needs to boot).
PRESERVED_ON_RESET = frozenset({"mamori_meta"})
