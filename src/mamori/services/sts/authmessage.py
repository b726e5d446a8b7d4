"""Encoded authorization messages (what EC2-style services put in an AccessDenied error, and
``sts:DecodeAuthorizationMessage`` turns back into JSON).

A service that wants to hand out an encoded message calls :func:`encode_authorization_message`
with the facts of the denied request; the result is opaque to the client: the JSON is
compressed, sealed under the node's master key (AES-GCM, so it can be neither read nor forged),
and base64url-encoded. :func:`decode_authorization_message` reverses it, refusing anything it did
not produce or that belongs to another account.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mamori.errors import AwsError
from mamori.store.seal import SealError

_SEAL_CONTEXT = b"sts:authorization-message"
_PREFIX = "mamori1."


def invalid_message() -> AwsError:
    return AwsError(
        "InvalidAuthorizationMessageException",
        "The encoded authorization message is invalid.",
        status=400,
    )


def _condition_items(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = []
    for key in sorted(context):
        value = context[key]
        values = value if isinstance(value, list | tuple) else [value]
        rendered = []
        for v in values:
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, bool):
                v = "true" if v else "false"
            rendered.append({"value": str(v)})
        items.append({"key": key, "values": {"items": rendered}})
    return items


def authorization_message(
    *,
    allowed: bool,
    explicit_deny: bool,
    principal_id: str,
    principal_arn: str,
    action: str,
    resource: str,
    context: Mapping[str, Any] | None = None,
    matched_statements: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The decoded form, shaped as AWS's (allowed, explicitDeny, matchedStatements, failures,
    context with principal, action, resource and conditions)."""
    return {
        "allowed": allowed,
        "explicitDeny": explicit_deny,
        "matchedStatements": {"items": list(matched_statements or [])},
        "failures": {"items": []},
        "context": {
            "principal": {"id": principal_id, "arn": principal_arn},
            "action": action,
            "resource": resource,
            "conditions": {"items": _condition_items(context or {})},
        },
    }


def encode_authorization_message(runtime, account_id: str, message: Mapping[str, Any]) -> str:
    """Seal ``message`` (see :func:`authorization_message`) for the given account."""
    payload = json.dumps({"account": account_id, "message": message}, separators=(",", ":"))
    blob = runtime.store.sealer.seal(zlib.compress(payload.encode(), 9), _SEAL_CONTEXT)
    return _PREFIX + base64.urlsafe_b64encode(blob).decode().rstrip("=")


def decode_authorization_message(runtime, account_id: str, encoded: str) -> str:
    """The decoded JSON text of a message encoded for ``account_id``; raises
    InvalidAuthorizationMessageException for anything else."""
    if not encoded.startswith(_PREFIX):
        raise invalid_message()
    body = encoded[len(_PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        payload = json.loads(zlib.decompress(runtime.store.sealer.unseal(blob, _SEAL_CONTEXT)))
    except (binascii.Error, ValueError, SealError, zlib.error):
        raise invalid_message() from None
    if not isinstance(payload, dict) or payload.get("account") != account_id:
        raise invalid_message()
    return json.dumps(payload["message"], separators=(",", ":"))
