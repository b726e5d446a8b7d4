"""Access keys and the directory SigV4 looks secrets up in.

Temporary credentials (STS) are access keys too, with a session token hash and an expiry; the
facts of their session live in :mod:`mamori.iam.sessions` and are joined in on lookup, so the
looked-up ``Principal`` carries its ``Session``.

Secrets are stored only sealed under the master key. Lookups are served from an in-memory cache
that every change on this node invalidates at once; entries also expire after ``CACHE_TTL``
seconds, which bounds how long another node sharing the database may keep using a key that was
just deactivated.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, LargeBinary, String, Table, delete, insert, select, update

from mamori.iam.principals import Principal, root_principal
from mamori.iam.sessions import insert_session, session_from_json, sessions
from mamori.store.schema import UtcDateTime, metadata

CACHE_TTL = 2.0

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("account_id", String(12), nullable=False, index=True),
    Column("principal_type", String(32), nullable=False),
    Column("principal_arn", String(2048), nullable=False),
    Column("principal_id", String(128), nullable=False),
    Column("user_name", String(128)),
    Column("secret", LargeBinary, nullable=False),
    Column("session_token_hash", String(64)),
    Column("status", String(16), nullable=False, default="Active"),
    Column("created", UtcDateTime(), nullable=False),
    Column("expires", UtcDateTime()),
    # When the key last authenticated a request, where and to which service (IAM's
    # GetAccessKeyLastUsed and the credential report). Written in batches, not per request.
    Column("last_used", UtcDateTime()),
    Column("last_used_region", String(64)),
    Column("last_used_service", String(64)),
)

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("created", UtcDateTime(), nullable=False),
)

_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_access_key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def new_secret_access_key() -> str:
    return base64.b64encode(secrets.token_bytes(30)).decode()


def token_hash(session_token: str) -> str:
    return hashlib.sha256(session_token.encode()).hexdigest()


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    secret_access_key: str
    principal: Principal
    status: str
    session_token_hash: str | None
    expires: datetime | None


class CredentialDirectory:
    def __init__(self, store) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, Credential | None]] = {}
        self._usage: dict[str, tuple[datetime, str, str]] = {}
        self._lock = threading.Lock()

    def _seal_context(self, access_key_id: str) -> bytes:
        return b"access-key:" + access_key_id.encode()

    def lookup(self, access_key_id: str) -> Credential | None:
        hit = self._cache.get(access_key_id)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.store.connect() as conn:
            row = conn.execute(
                select(access_keys, sessions.c.facts.label("session_facts"))
                .select_from(
                    access_keys.outerjoin(
                        sessions, sessions.c.access_key_id == access_keys.c.access_key_id
                    )
                )
                .where(access_keys.c.access_key_id == access_key_id)
            ).first()
        credential = self._from_row(row) if row is not None else None
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[access_key_id] = (now + CACHE_TTL, credential)
        return credential

    def invalidate(self, access_key_id: str | None = None) -> None:
        with self._lock:
            if access_key_id is None:
                self._cache.clear()
            else:
                self._cache.pop(access_key_id, None)

    def _from_row(self, row) -> Credential:
        secret = self.store.sealer.unseal(row.secret, self._seal_context(row.access_key_id))
        expires = row.expires
        facts = getattr(row, "session_facts", None)
        principal = Principal(
            type=row.principal_type,
            account_id=row.account_id,
            arn=row.principal_arn,
            principal_id=row.principal_id,
            user_name=row.user_name,
            access_key_id=row.access_key_id,
            tags=dict(facts.get("principal_tags") or {}) if facts else {},
            session=session_from_json(facts) if facts else None,
        )
        return Credential(
            access_key_id=row.access_key_id,
            secret_access_key=secret.decode(),
            principal=principal,
            status=row.status,
            session_token_hash=row.session_token_hash,
            expires=expires,
        )

    def add(
        self,
        conn,
        principal: Principal,
        access_key_id: str,
        secret_access_key: str,
        *,
        now: datetime,
        session_token: str | None = None,
        expires: datetime | None = None,
    ) -> None:
        conn.execute(
            insert(access_keys).values(
                access_key_id=access_key_id,
                account_id=principal.account_id,
                principal_type=principal.type,
                principal_arn=principal.arn,
                principal_id=principal.principal_id,
                user_name=principal.user_name,
                secret=self.store.sealer.seal(
                    secret_access_key.encode(), self._seal_context(access_key_id)
                ),
                session_token_hash=token_hash(session_token) if session_token else None,
                status="Active",
                created=now,
                expires=expires,
            )
        )
        if principal.session is not None:
            insert_session(conn, access_key_id, principal)
        self.invalidate(access_key_id)

    def set_status(self, conn, access_key_id: str, status: str) -> None:
        conn.execute(
            update(access_keys)
            .where(access_keys.c.access_key_id == access_key_id)
            .values(status=status)
        )
        self.invalidate(access_key_id)

    def remove(self, conn, access_key_id: str) -> None:
        conn.execute(delete(access_keys).where(access_keys.c.access_key_id == access_key_id))
        conn.execute(delete(sessions).where(sessions.c.access_key_id == access_key_id))
        self.invalidate(access_key_id)

    # Last use of long-term keys: recorded in memory on every authenticated request, written to
    # the store by a periodic job (and before anything reads it), so the hot path never writes.

    def record_use(self, access_key_id: str, when: datetime, region: str, service: str) -> None:
        self._usage[access_key_id] = (when, region, service)

    def flush_usage(self) -> int:
        with self._lock:
            pending, self._usage = self._usage, {}
        if not pending:
            return 0
        try:
            with self.store.begin() as conn:
                for access_key_id, (when, region, service) in pending.items():
                    conn.execute(
                        update(access_keys)
                        .where(
                            access_keys.c.access_key_id == access_key_id,
                            access_keys.c.session_token_hash.is_(None),
                        )
                        .values(last_used=when, last_used_region=region, last_used_service=service)
                    )
        except Exception:
            with self._lock:  # keep what could not be written, unless newer uses replaced it
                for access_key_id, use in pending.items():
                    self._usage.setdefault(access_key_id, use)
            raise
        return len(pending)

    def last_use(self, conn, access_key_id: str) -> tuple[datetime, str, str] | None:
        pending = self._usage.get(access_key_id)
        if pending is not None:
            return pending
        row = conn.execute(
            select(
                access_keys.c.last_used,
                access_keys.c.last_used_region,
                access_keys.c.last_used_service,
            ).where(access_keys.c.access_key_id == access_key_id)
        ).first()
        if row is None or row.last_used is None:
            return None
        return row.last_used, row.last_used_region, row.last_used_service

    def keys_of(self, conn, account_id: str, principal_id: str) -> list[dict]:
        """Access keys (metadata, no secrets) of one principal, oldest first."""
        rows = conn.execute(
            select(
                access_keys.c.access_key_id,
                access_keys.c.status,
                access_keys.c.created,
                access_keys.c.user_name,
                access_keys.c.last_used,
                access_keys.c.last_used_region,
                access_keys.c.last_used_service,
            )
            .where(
                access_keys.c.account_id == account_id,
                access_keys.c.principal_id == principal_id,
                access_keys.c.session_token_hash.is_(None),
            )
            .order_by(access_keys.c.created, access_keys.c.access_key_id)
        ).all()
        keys = [row._asdict() for row in rows]
        for key in keys:
            pending = self._usage.get(key["access_key_id"])
            if pending is not None:
                key["last_used"], key["last_used_region"], key["last_used_service"] = pending
        return keys

    def rename_principal(self, conn, account_id: str, principal_id: str, arn: str, name: str):
        conn.execute(
            update(access_keys)
            .where(
                access_keys.c.account_id == account_id,
                access_keys.c.principal_id == principal_id,
            )
            .values(principal_arn=arn, user_name=name)
        )
        self.invalidate()

    # Accounts and their root users.

    def account_exists(self, account_id: str) -> bool:
        with self.store.connect() as conn:
            return (
                conn.execute(
                    select(accounts.c.account_id).where(accounts.c.account_id == account_id)
                ).first()
                is not None
            )

    def accounts(self) -> list[dict]:
        with self.store.connect() as conn:
            rows = conn.execute(select(accounts).order_by(accounts.c.account_id)).all()
        return [row._asdict() for row in rows]

    def new_account_id(self) -> str:
        while True:
            account_id = f"{secrets.randbelow(10**12):012d}"
            if not self.account_exists(account_id):
                return account_id

    def ensure_account(
        self,
        account_id: str,
        *,
        now: datetime,
        root_access_key_id: str | None = None,
        root_secret_access_key: str | None = None,
        name: str | None = None,
    ) -> tuple[str, str]:
        """Create the account if needed and return its root credentials.

        Configured root credentials replace stored ones; otherwise the stored pair is kept, and
        a new pair is generated on first start.
        """
        with self.store.begin() as conn:
            if (
                conn.execute(
                    select(accounts.c.account_id).where(accounts.c.account_id == account_id)
                ).first()
                is None
            ):
                conn.execute(
                    insert(accounts).values(
                        account_id=account_id, name=name or f"account-{account_id}", created=now
                    )
                )
            rows = conn.execute(  # the root's long-term keys, not its session credentials
                select(access_keys).where(
                    access_keys.c.account_id == account_id,
                    access_keys.c.principal_type == "Root",
                    access_keys.c.session_token_hash.is_(None),
                )
            ).all()
            if root_access_key_id and root_secret_access_key:
                if not any(r.access_key_id == root_access_key_id for r in rows):
                    _check_key_id_free(conn, root_access_key_id)
                for row in rows:
                    if row.access_key_id != root_access_key_id:
                        self.remove(conn, row.access_key_id)
                existing = [r for r in rows if r.access_key_id == root_access_key_id]
                if existing:
                    current = self._from_row(existing[0])
                    if current.secret_access_key == root_secret_access_key:
                        return root_access_key_id, root_secret_access_key
                    self.remove(conn, root_access_key_id)
                self.add(
                    conn,
                    root_principal(account_id, root_access_key_id),
                    root_access_key_id,
                    root_secret_access_key,
                    now=now,
                )
                return root_access_key_id, root_secret_access_key
            if rows:
                current = self._from_row(rows[0])
                return current.access_key_id, current.secret_access_key
            access_key_id, secret = new_access_key_id(), new_secret_access_key()
            self.add(
                conn, root_principal(account_id, access_key_id), access_key_id, secret, now=now
            )
            return access_key_id, secret


class AccessKeyInUse(ValueError):
    """A configured root access key id already belongs to another identity."""


def _check_key_id_free(conn, access_key_id: str) -> None:
    owner = conn.execute(
        select(access_keys.c.principal_arn).where(access_keys.c.access_key_id == access_key_id)
    ).scalar()
    if owner is not None:
        raise AccessKeyInUse(f"the access key {access_key_id} already belongs to {owner}")
