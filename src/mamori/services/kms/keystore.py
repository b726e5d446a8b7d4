"""Where KMS keeps what is not a plain resource: sealed key material, wrapping keys for imports,
and the due dates the scheduler acts on.

* ``kms_key_material`` — one row per (key, material id): the material sealed by
  ``runtime.store.sealer`` with the context ``kms:key-material:<key id>:<material id>``. Deleting
  the row destroys the material: unlike the versioned resources, no history keeps a copy.
* ``kms_import_parameters`` — the sealed private half of each GetParametersForImport wrapping key,
  by import token id, valid 24 hours.
* ``kms_due`` — (key, kind) -> due time: ``delete`` (end of the pending-deletion window),
  ``rotate`` (next automatic rotation), ``expire`` (imported material's ValidTo).

Unsealed material is cached in memory per (key id, material id) as a ready-to-use
:class:`~mamori.services.kms.crypto.LoadedKey`; every path that destroys material evicts it, and
every use first checks the key's record (state and material ids) in the store, so a destroyed
material is never used again even by a node whose cache still holds it.
"""

from __future__ import annotations

import threading
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mamori.services.kms import crypto
from mamori.store.engine import upsert
from mamori.store.schema import Key, UtcDateTime, metadata

material_table = sa.Table(
    "kms_key_material",
    metadata,
    sa.Column("key_id", Key, primary_key=True),
    sa.Column("material_id", Key, primary_key=True),
    sa.Column("account", Key, nullable=False),
    sa.Column("region", Key, nullable=False),
    sa.Column("sealed", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

import_table = sa.Table(
    "kms_import_parameters",
    metadata,
    sa.Column("token_id", Key, primary_key=True),
    sa.Column("key_id", Key, nullable=False),
    sa.Column("algorithm", sa.String(), nullable=False),
    sa.Column("sealed", sa.LargeBinary(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
)

due_table = sa.Table(
    "kms_due",
    metadata,
    sa.Column("key_id", Key, primary_key=True),
    sa.Column("kind", Key, primary_key=True),
    sa.Column("account", Key, nullable=False),
    sa.Column("region", Key, nullable=False),
    sa.Column("due_at", UtcDateTime(), nullable=False),
)
sa.Index("ix_kms_due_at", due_table.c.due_at)

_m = material_table.c
_CACHE_LIMIT = 10_000


def _context(key_id: str, material_id: str) -> bytes:
    return f"kms:key-material:{key_id}:{material_id}".encode()


class Materials:
    """Sealed key material in the store, and the in-memory cache of unsealed material."""

    def __init__(self, store) -> None:
        self.store = store
        self._cache: dict[tuple[str, str], crypto.LoadedKey] = {}
        self._lock = threading.Lock()

    def add(
        self,
        conn: Connection,
        *,
        key_id: str,
        material_id: str,
        account: str,
        region: str,
        material: bytes,
        now: datetime,
    ) -> None:
        sealed = self.store.sealer.seal(material, _context(key_id, material_id))
        upsert(
            conn,
            material_table,
            {
                "key_id": key_id,
                "material_id": material_id,
                "account": account,
                "region": region,
                "sealed": sealed,
                "created_at": now,
            },
            ["key_id", "material_id"],
        )

    def load(self, conn: Connection, key_id: str, material_id: str, spec: str):
        """The unsealed material, ready to use; None when it was destroyed."""
        cache_key = (key_id, material_id)
        loaded = self._cache.get(cache_key)
        if loaded is not None:
            return loaded
        sealed = conn.execute(
            sa.select(_m.sealed).where(_m.key_id == key_id, _m.material_id == material_id)
        ).scalar()
        if sealed is None:
            return None
        loaded = crypto.load(spec, self.store.sealer.unseal(sealed, _context(key_id, material_id)))
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[cache_key] = loaded
        return loaded

    def destroy(self, conn: Connection, key_id: str, material_id: str | None = None) -> None:
        """Delete the material (all of the key's when ``material_id`` is None) for good."""
        query = material_table.delete().where(_m.key_id == key_id)
        if material_id is not None:
            query = query.where(_m.material_id == material_id)
        conn.execute(query)
        self.evict(key_id, material_id)

    def evict(self, key_id: str, material_id: str | None = None) -> None:
        with self._lock:
            for cache_key in [k for k in self._cache if k[0] == key_id]:
                if material_id is None or cache_key[1] == material_id:
                    del self._cache[cache_key]


def set_due(conn: Connection, key: dict, kind: str, due: datetime | None) -> None:
    """Schedule (or, with ``due=None``, unschedule) work of ``kind`` on a key."""
    c = due_table.c
    conn.execute(due_table.delete().where(c.key_id == key["KeyId"], c.kind == kind))
    if due is not None:
        region = key["Arn"].split(":")[3]
        conn.execute(
            due_table.insert().values(
                key_id=key["KeyId"],
                kind=kind,
                account=key["AWSAccountId"],
                region=region,
                due_at=due,
            )
        )


def due_work(conn: Connection, now: datetime) -> list[tuple[str, str, str, str]]:
    """(key id, kind, account, region) of all work due by ``now``, oldest first."""
    c = due_table.c
    rows = conn.execute(
        sa.select(c.key_id, c.kind, c.account, c.region)
        .where(c.due_at <= now)
        .order_by(c.due_at)
        .limit(1000)
    )
    return [(r.key_id, r.kind, r.account, r.region) for r in rows]


def clear_due(conn: Connection, key_id: str) -> None:
    conn.execute(due_table.delete().where(due_table.c.key_id == key_id))
