"""An API call's journal record in compact form, and the CloudTrail record built from it.

The gateway journals every call. Building the CloudTrail record (a dict of twenty-odd keys) and
encoding it cost the request loop more than anything else the journal asks of it, so for the
records that are group-committed the gateway hands over a *call*: a tuple of the record's
values in a fixed order, which :func:`record_of_call` turns into the record where the rows are
prepared — in the journal's writer (its thread, or its process), off the request path. A call
crosses the pipe to a writer process as a JSON array; it holds everything already worked out
(the redacted parameters, the userIdentity), so the record is the same whichever side builds it.

The eventID is derived from the call itself (:func:`event_id_of`) rather than drawn at random:
a batch a writer process may have written just before it died is sent again to the next one,
and the same call must then come out under the same eventID, which the journal's unique index
recognizes as written already.

A call that acts on resources of other accounts than the caller's (a KMS key, a role, a bucket)
is journaled once per account involved, as CloudTrail delivers it: the caller's record and one
copy per resource owner (:func:`owner_copies`), each with its own eventID and
recipientAccountId, all with the same ``sharedEventID``.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

from mamori.ids import uuid7
from mamori.journal.categories import MANAGEMENT, event_category

#: The first element of every call: the layout of what follows (a writer built from another
#: version of mamori must not misread it).
CALL_LAYOUT = 2
EVENT_VERSION = "1.11"


def make_call(
    identity: dict[str, Any],
    event_source: str,
    event_name: str,
    region: str,
    source_ip: str,
    user_agent: str,
    error_code: str | None,
    error_message: str | None,
    request_parameters: dict[str, Any] | None,
    response_elements: dict[str, Any] | None,
    request_id: str,
    event_millis: int,
    read_only: bool,
    resources: list[dict[str, str]] | None,
    account_id: str,
    tls_host: str | None,
    shared_event_id: str | None = None,
) -> tuple:
    """A call's record in compact form (``tls_host``: the Host header of a TLS call, else
    None; ``shared_event_id``: set when the call is journaled for several accounts)."""
    return (
        CALL_LAYOUT,
        identity,
        event_source,
        event_name,
        region,
        source_ip,
        user_agent,
        error_code,
        error_message,
        request_parameters,
        response_elements,
        request_id,
        event_millis,
        read_only,
        resources,
        account_id,
        tls_host,
        shared_event_id,
    )


# Indexes in a call of what the copies for other accounts change.
_IDENTITY, _RESOURCES, _ACCOUNT, _SHARED = 1, 14, 15, 17


def resource_owners(resources: list[dict[str, str]] | None, caller_account: str) -> list[str]:
    """The accounts other than the caller's that own a resource of the call, in order."""
    owners: list[str] = []
    for resource in resources or ():
        account = resource.get("accountId")
        if account and account != caller_account and account not in owners:
            owners.append(account)
    return owners


def shared_event_id_of(request_id: str) -> str:
    """The sharedEventID of a call journaled for several accounts: a UUID derived from the
    request id, so a call sent again to a writer comes out with the same one."""
    digest = hashlib.blake2b(f"shared\n{request_id}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def foreign_identity(identity: dict[str, Any]) -> dict[str, Any]:
    """The userIdentity a resource owner's copy shows: the calling account and principal as
    ``AWSAccount`` (the request was made by another AWS account), without its credentials."""
    foreign = {
        "type": "AWSAccount",
        "principalId": identity.get("principalId", ""),
        "accountId": identity.get("accountId", ""),
    }
    if identity.get("invokedBy"):
        foreign["invokedBy"] = identity["invokedBy"]
    return foreign


def owner_copies(call: tuple | list) -> list[tuple]:
    """The copies of a cross-account call for the owners of its resources (none for a call
    journaled in the caller's account only)."""
    if call[_SHARED] is None:
        return []
    caller = call[_ACCOUNT]
    identity = foreign_identity(call[_IDENTITY])
    copies = []
    for owner in resource_owners(call[_RESOURCES], caller):
        copy = list(call)
        copy[_IDENTITY] = identity
        copy[_ACCOUNT] = owner
        copies.append(tuple(copy))
    return copies


def event_id_of(
    event_millis: int,
    request_id: str,
    event_name: str,
    error_code: str | None,
    recipient: str = "",
) -> str:
    """The eventID of a call: a version 7 UUID (it sorts by the call's time, so journal inserts
    stay at the end of the eventID index) whose other bits come from a hash of the request id,
    the event name and the error code (a call whose answer failed after its record was queued
    is journaled again, as the failure, under another id) — and of the recipient account for a
    call journaled for several accounts (each copy has its own eventID)."""
    key = f"{request_id}\n{event_name}\n{error_code or ''}".encode()
    if recipient:
        key += f"\n{recipient}".encode()
    digest = hashlib.blake2b(key, digest_size=10).digest()
    return uuid7(event_millis, int.from_bytes(digest, "big"))


_last_event_time: tuple[int, str] = (-1, "")


def _event_time(second: int) -> str:
    """eventTime (ISO 8601 to the second, UTC) of a Unix second; calls come second by second."""
    global _last_event_time
    cached = _last_event_time
    if cached[0] == second:
        return cached[1]
    text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
    _last_event_time = (second, text)
    return text


def is_call(record: Any) -> bool:
    """Whether a journal entry is a call (a tuple here, a list once it crossed a pipe)."""
    return type(record) is tuple or type(record) is list


def record_of_call(call: tuple | list) -> dict[str, Any]:
    """The CloudTrail record of a call, its keys in AWS's order."""
    if len(call) != 18 or call[0] != CALL_LAYOUT:
        raise ValueError(f"not a journal call of layout {CALL_LAYOUT}")
    (
        _,
        identity,
        event_source,
        event_name,
        region,
        source_ip,
        user_agent,
        error_code,
        error_message,
        request_parameters,
        response_elements,
        request_id,
        event_millis,
        read_only,
        resources,
        account_id,
        tls_host,
        shared_event_id,
    ) = call
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": _event_time(event_millis // 1000),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if error_code is not None:
        record["errorCode"] = error_code
        record["errorMessage"] = error_message or ""
    record["requestParameters"] = request_parameters
    record["responseElements"] = response_elements
    record["requestID"] = request_id
    record["eventID"] = event_id_of(
        event_millis, request_id, event_name, error_code, account_id if shared_event_id else ""
    )
    record["readOnly"] = read_only
    if resources:
        record["resources"] = resources
    category = event_category(event_source, event_name)
    record["eventType"] = "AwsApiCall"
    record["managementEvent"] = category == MANAGEMENT
    record["recipientAccountId"] = account_id
    if shared_event_id is not None:
        record["sharedEventID"] = shared_event_id
    record["eventCategory"] = category
    if tls_host is not None:
        record["tlsDetails"] = {"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": tls_host}
    return record
