"""Versioned resources: every put/delete is a new version; AWS Config history is a view of it.

Two tables (see :mod:`mamori.store.schema`): ``resources`` holds the latest state of each
resource (one row, kept with ``deleted=true`` after a deletion so numbering continues if the id is
reused) and ``resource_versions`` every version ever written. A put is an atomic
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING version`` on the latest row, so concurrent
writers of the same resource get distinct consecutive versions (the row lock serializes them on
PostgreSQL; SQLite serializes all writers anyway), then one insert into the history.

``id`` comparisons are bytewise on both backends, so ``list`` orders ids like Python does and
``id_prefix`` is an index range scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mamori.store.engine import _dialect_insert
from mamori.store.schema import resource_versions_table, resources_table

if TYPE_CHECKING:
    from mamori.store.engine import Store

_cur = resources_table.c
_ver = resource_versions_table.c


class ResourceVersion(NamedTuple):
    version: int
    data: dict | None
    time: datetime
    deleted: bool


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (code-point order),
    or None when there is none (prefix made only of U+10FFFF)."""
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if code == 0xD800:  # surrogates cannot be stored; skip over them
            code = 0xE000
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


class Resources:
    """Versioned resource store scoped by (account, region, type, id)."""

    _upserts: ClassVar[dict[str, Any]] = {}  # per dialect, built once
    _insert_version = resource_versions_table.insert()

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        # Bumped by every write on this node, and again when the writing transaction commits:
        # in-memory caches of resources (KMS keys on the hot path) compare it to stay fresh.
        self.generation = 0

    def put(
        self,
        conn: Connection,
        *,
        account: str,
        region: str,
        type: str,
        id: str,
        data: dict,
        now: datetime,
    ) -> int:
        """Write a new version of the resource; returns its version number (1, 2, ...)."""
        return self._write(conn, account, region, type, id, data, now, deleted=False)

    def delete(
        self, conn: Connection, account: str, region: str, type: str, id: str, now: datetime
    ) -> bool:
        """Record a deletion version. False (and nothing written) when absent or already
        deleted."""
        row = conn.execute(
            sa.select(_cur.deleted).where(*self._key(account, region, type, id))
        ).first()
        if row is None or row.deleted:
            return False
        self._write(conn, account, region, type, id, None, now, deleted=True)
        return True

    def _bump(self, *_args) -> None:
        self.generation += 1

    def _write(
        self,
        conn: Connection,
        account: str,
        region: str,
        type: str,
        id: str,
        data: dict | None,
        now: datetime,
        *,
        deleted: bool,
    ) -> int:
        self._bump()
        if not getattr(conn, "_mamori_bump_on_commit", False):
            conn._mamori_bump_on_commit = True
            sa.event.listen(conn, "commit", self._bump, once=True)
        values = {
            "account": account,
            "region": region,
            "type": type,
            "id": id,
            "data": data,
            "deleted": deleted,
        }
        stmt = self._upserts.get(conn.dialect.name)
        if stmt is None:
            stmt = _dialect_insert(conn.dialect.name)(resources_table)
            stmt = stmt.on_conflict_do_update(
                index_elements=["account", "region", "type", "id"],
                set_={
                    "version": resources_table.c.version + 1,
                    "data": stmt.excluded.data,
                    "deleted": stmt.excluded.deleted,
                    "updated_at": stmt.excluded.updated_at,
                },
            ).returning(resources_table.c.version)
            self._upserts[conn.dialect.name] = stmt
        version = conn.execute(stmt, {"version": 1, "updated_at": now, **values}).scalar_one()
        conn.execute(self._insert_version, {"version": version, "time": now, **values})
        return version

    @staticmethod
    def _key(account: str, region: str, type: str, id: str) -> tuple[Any, ...]:
        return (
            _cur.account == account,
            _cur.region == region,
            _cur.type == type,
            _cur.id == id,
        )

    def get(self, conn: Connection, account: str, region: str, type: str, id: str) -> dict | None:
        """The latest data, or None when absent or deleted."""
        row = conn.execute(
            sa.select(_cur.data, _cur.deleted).where(*self._key(account, region, type, id))
        ).first()
        if row is None or row.deleted:
            return None
        return row.data

    def get_version(
        self, conn: Connection, account: str, region: str, type: str, id: str
    ) -> int | None:
        """The latest version number (also of a deleted resource), or None when never written."""
        return conn.execute(
            sa.select(_cur.version).where(*self._key(account, region, type, id))
        ).scalar()

    def list(
        self,
        conn: Connection,
        account: str,
        region: str,
        type: str,
        *,
        id_prefix: str | None = None,
        limit: int | None = None,
        after_id: str | None = None,
    ) -> list[tuple[str, dict]]:
        """Live resources of a type, ordered by id; ``after_id`` pages (exclusive)."""
        query = sa.select(_cur.id, _cur.data).where(
            _cur.account == account,
            _cur.region == region,
            _cur.type == type,
            _cur.deleted == sa.false(),
        )
        if id_prefix:
            query = query.where(_cur.id >= id_prefix)
            upper = prefix_upper_bound(id_prefix)
            if upper is not None:
                query = query.where(_cur.id < upper)
        if after_id is not None:
            query = query.where(_cur.id > after_id)
        query = query.order_by(_cur.id)
        if limit is not None:
            query = query.limit(limit)
        return [(row.id, row.data) for row in conn.execute(query)]

    def history(
        self, conn: Connection, account: str, region: str, type: str, id: str
    ) -> list[ResourceVersion]:
        """Every version, oldest first (deletions have ``data=None, deleted=True``)."""
        rows = conn.execute(
            sa.select(_ver.version, _ver.data, _ver.time, _ver.deleted)
            .where(
                _ver.account == account,
                _ver.region == region,
                _ver.type == type,
                _ver.id == id,
            )
            .order_by(_ver.version)
        )
        return [ResourceVersion(r.version, r.data, r.time, r.deleted) for r in rows]

    def history_between(
        self,
        conn: Connection,
        account: str,
        region: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        type: str | None = None,
    ) -> list[tuple[str, str, ResourceVersion]]:
        """Versions written in [start, end) in an account and region, as (type, id, version)
        in time order — for recorders that replay changes."""
        query = sa.select(_ver.type, _ver.id, _ver.version, _ver.data, _ver.time, _ver.deleted)
        query = query.where(_ver.account == account, _ver.region == region)
        if start is not None:
            query = query.where(_ver.time >= start)
        if end is not None:
            query = query.where(_ver.time < end)
        if type is not None:
            query = query.where(_ver.type == type)
        query = query.order_by(_ver.time, _ver.type, _ver.id, _ver.version)
        return [
            (r.type, r.id, ResourceVersion(r.version, r.data, r.time, r.deleted))
            for r in conn.execute(query)
        ]


__all__ = ["ResourceVersion", "Resources", "prefix_upper_bound"]
