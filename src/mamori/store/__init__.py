"""The store: SQLAlchemy Core over SQLite (WAL) or PostgreSQL, sealed secrets, versioned
resources. See :mod:`mamori.store.engine`, :mod:`mamori.store.seal`,
:mod:`mamori.store.resources` and :mod:`mamori.store.schema`."""

from mamori.store.engine import STORE_FAILURES, SchemaVersionError, Store, upsert
from mamori.store.resources import Resources, ResourceVersion
from mamori.store.schema import JsonText, Key, UtcDateTime, metadata
from mamori.store.seal import MasterKeyError, Sealer, SealError, load_master_key

__all__ = [
    "STORE_FAILURES",
    "JsonText",
    "Key",
    "MasterKeyError",
    "ResourceVersion",
    "Resources",
    "SchemaVersionError",
    "SealError",
    "Sealer",
    "Store",
    "UtcDateTime",
    "load_master_key",
    "metadata",
    "upsert",
]
