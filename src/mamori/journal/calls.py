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
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from mamori.ids import uuid7
from mamori.journal.categories import MANAGEMENT, event_category

#: The first element of every call: the layout of what follows (a writer built from another
#: version of mamori must not misread it).
CALL_LAYOUT = 1
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
) -> tuple:
    """A call's record in compact form (``tls_host``: the Host header of a TLS call, else
    None)."""
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
    )


def event_id_of(event_millis: int, request_id: str, event_name: str, error_code: str | None) -> str:
    """The eventID of a call: a version 7 UUID (it sorts by the call's time, so journal inserts
    stay at the end of the eventID index) whose other bits come from a hash of the request id,
    the event name and the error code (a call whose answer failed after its record was queued
    is journaled again, as the failure, under another id)."""
    key = f"{request_id}\n{event_name}\n{error_code or ''}".encode()
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
    if len(call) != 17 or call[0] != CALL_LAYOUT:
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
    record["eventID"] = event_id_of(event_millis, request_id, event_name, error_code)
    record["readOnly"] = read_only
    if resources:
        record["resources"] = resources
    category = event_category(event_source, event_name)
    record["eventType"] = "AwsApiCall"
    record["managementEvent"] = category == MANAGEMENT
    record["recipientAccountId"] = account_id
    record["eventCategory"] = category
    if tls_host is not None:
        record["tlsDetails"] = {"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": tls_host}
    return record
