"""STS sessions: the facts a temporary credential carries, and issuing temporary credentials.

A temporary credential is an ``ASIA…`` access key in ``access_keys`` (with the hash of its
session token and its expiry) plus one row here, keyed by the same access key id, holding the
session's facts as JSON: the role (or the federating user), the session name, the session policy
documents, session tags and transitive tag keys, the source identity, MFA, the web identity.
:class:`mamori.iam.credentials.CredentialDirectory` joins both when SigV4 looks a key up, so the
``Principal`` of a verified request carries its :class:`~mamori.iam.principals.Session`.

Rows are never updated; expired rows are purged by :func:`purge_expired` (scheduled by the STS
provider), the gateway refusing expired credentials long before.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Column, String, Table, delete, select

from mamori.iam.principals import Principal, Session
from mamori.store.schema import JsonText, UtcDateTime, metadata

# How long purged-but-expired rows are kept, so CloudTrail-style lookups of a recent session
# still find it.
RETENTION_SECONDS = 86400

sessions = Table(
    "sts_sessions",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("account_id", String(12), nullable=False, index=True),
    Column("facts", JsonText(), nullable=False),
    Column("expires", UtcDateTime(), nullable=False, index=True),
)


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def session_to_json(session: Session, principal_tags: dict[str, str] | None = None) -> dict:
    """The JSON facts stored for a session (``principal_tags``: the role's tags at issue)."""
    facts: dict[str, Any] = {
        "issued": _dt(session.issued),
        "expires": _dt(session.expires),
        "role_arn": session.role_arn,
        "session_name": session.session_name,
        "policies": list(session.policies),
        "has_session_policy": session.has_session_policy,
        "tags": dict(session.tags),
        "transitive_tag_keys": list(session.transitive_tag_keys),
        "source_identity": session.source_identity,
        "mfa_authenticated": session.mfa_authenticated,
        "mfa_authenticated_at": _dt(session.mfa_authenticated_at),
        "web_identity": session.web_identity,
        "federated_provider": session.federated_provider,
    }
    if principal_tags:
        facts["principal_tags"] = dict(principal_tags)
    return facts


def session_from_json(facts: dict) -> Session:
    return Session(
        issued=_parse_dt(facts["issued"]),  # type: ignore[arg-type]
        expires=_parse_dt(facts["expires"]),  # type: ignore[arg-type]
        role_arn=facts.get("role_arn"),
        session_name=facts.get("session_name"),
        policies=tuple(facts.get("policies") or ()),
        has_session_policy=bool(facts.get("has_session_policy")),
        tags=dict(facts.get("tags") or {}),
        transitive_tag_keys=tuple(facts.get("transitive_tag_keys") or ()),
        source_identity=facts.get("source_identity"),
        mfa_authenticated=bool(facts.get("mfa_authenticated")),
        mfa_authenticated_at=_parse_dt(facts.get("mfa_authenticated_at")),
        web_identity=facts.get("web_identity"),
        federated_provider=facts.get("federated_provider"),
    )


def insert_session(conn, access_key_id: str, principal: Principal) -> None:
    session = principal.session
    assert session is not None
    conn.execute(
        sessions.insert().values(
            access_key_id=access_key_id,
            account_id=principal.account_id,
            facts=session_to_json(session, principal.tags),
            expires=session.expires,
        )
    )


def load_session(conn, access_key_id: str) -> dict | None:
    row = conn.execute(
        select(sessions.c.facts).where(sessions.c.access_key_id == access_key_id)
    ).first()
    return row.facts if row is not None else None


TOKEN_PREFIX = b"mamori-sts\x00"
TOKEN_RANDOM_BYTES = 96


def new_session_token(min_size: int = 0) -> str:
    """An opaque session token (only its SHA-256 is stored) of at least ``min_size`` characters:
    STS's MinimumSessionTokenSize, met with more random bytes (Base64 gives 4 characters for
    every 3 bytes)."""
    random_bytes = max(TOKEN_RANDOM_BYTES, -(-min_size * 3 // 4) - len(TOKEN_PREFIX))
    return base64.b64encode(TOKEN_PREFIX + secrets.token_bytes(random_bytes)).decode()


def issue_credentials(
    directory, conn, principal: Principal, *, min_token_size: int | None = None
) -> dict[str, Any]:
    """Create a temporary credential for ``principal`` (whose ``session`` says when it expires)
    in the caller's transaction; returns STS's ``Credentials`` structure. ``min_token_size``:
    the request's MinimumSessionTokenSize.

    ``principal.access_key_id`` is replaced by the new ``ASIA…`` key id.
    """
    from dataclasses import replace

    from mamori.iam.credentials import new_access_key_id, new_secret_access_key

    session = principal.session
    if session is None:
        raise ValueError("a temporary credential needs a session")
    access_key_id = new_access_key_id("ASIA")
    secret = new_secret_access_key()
    token = new_session_token(min_token_size or 0)
    principal = replace(principal, access_key_id=access_key_id)
    directory.add(
        conn,
        principal,
        access_key_id,
        secret,
        now=session.issued,
        session_token=token,
        expires=session.expires,
    )
    return {
        "AccessKeyId": access_key_id,
        "SecretAccessKey": secret,
        "SessionToken": token,
        "Expiration": session.expires,
    }


def purge_expired(directory, now: datetime, retention_seconds: int = RETENTION_SECONDS) -> int:
    """Delete temporary credentials (and their sessions) expired for longer than the retention;
    returns how many."""
    from datetime import timedelta

    cutoff = now - timedelta(seconds=retention_seconds)
    with directory.store.begin() as conn:
        ids = [
            row.access_key_id
            for row in conn.execute(
                select(sessions.c.access_key_id).where(sessions.c.expires < cutoff)
            )
        ]
        for access_key_id in ids:
            directory.remove(conn, access_key_id)
        conn.execute(delete(sessions).where(sessions.c.expires < cutoff))
    return len(ids)
