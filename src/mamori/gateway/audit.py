"""The CloudTrail-format record of one call.

requestParameters and responseElements are derived from the operation's input and output
shapes: member names in lowerCamelCase as CloudTrail writes them, and every value the model marks
``sensitive`` (plaintexts, secret keys, passwords), every blob and every streaming body left out,
so no secret reaches the journal.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from botocore.model import OperationModel, Shape

from mamori.iam.principals import Principal

EVENT_VERSION = "1.11"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
# Credential parts the models do not mark sensitive: a session token never reaches the journal.
ALWAYS_HIDDEN = frozenset({"SessionToken"})

# Operations that only read, besides the Get*/List*/Describe*-style prefixes. CloudTrail marks
# cryptographic KMS calls read-only too.
_READ_ONLY_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Head",
    "Lookup",
    "Search",
    "Select",
    "Scan",
    "Query",
    "BatchGet",
    "Check",
    "Simulate",
    "Estimate",
    "Preview",
    "Filter",
    "Test",
    "Validate",
    "Decode",
    "Detect",
    "Poll",
    "Receive",
    "Evaluate",
)
_READ_ONLY_NAMES = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateRandom",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
    }
)


def is_read_only(operation_name: str) -> bool:
    return operation_name in _READ_ONLY_NAMES or operation_name.startswith(_READ_ONLY_PREFIXES)


def _camel(name: str) -> str:
    # CloudTrail lower-cases the first character only: "KeyId" -> "keyId".
    if not name or name[0].islower():
        return name
    return name[0].lower() + name[1:]


def redact(value: Any, shape: Shape | None, depth: int = 0) -> Any:
    """The value as CloudTrail records it: secrets and binary data removed."""
    if shape is None or depth > 20:
        return None
    if shape.metadata.get("sensitive"):
        return HIDDEN
    type_name = shape.type_name
    if type_name == "structure":
        if not isinstance(value, dict):
            return None
        members = shape.members
        result = {}
        for name, member_value in value.items():
            member = members.get(name)
            if member is None or member_value is None:
                continue
            if member.type_name == "blob" or member.serialization.get("streaming"):
                continue
            if name in ALWAYS_HIDDEN:
                result[_camel(name)] = HIDDEN
                continue
            redacted = redact(member_value, member, depth + 1)
            if redacted is not None:
                result[_camel(name)] = redacted
        return result
    if type_name == "list":
        if not isinstance(value, list | tuple):
            return None
        return [redact(v, shape.member, depth + 1) for v in value]
    if type_name == "map":
        if not isinstance(value, dict):
            return None
        return {k: redact(v, shape.value, depth + 1) for k, v in value.items()}
    if type_name == "blob":
        return None
    if type_name == "timestamp" and isinstance(value, datetime):
        return value.strftime("%b %d, %Y, %I:%M:%S %p")
    return value


def user_identity(principal: Principal) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": principal.type,
        "principalId": principal.principal_id,
        "arn": principal.arn,
        "accountId": principal.account_id,
    }
    if principal.type == "Anonymous":
        return {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}
    if principal.access_key_id:
        identity["accessKeyId"] = principal.access_key_id
    if principal.user_name:
        identity["userName"] = principal.user_name
    return identity


def event_source(operation: OperationModel) -> str:
    metadata = operation.service_model.metadata
    prefix = metadata.get("signingName") or metadata["endpointPrefix"]
    return f"{prefix}.amazonaws.com"


def build_record(
    *,
    operation: OperationModel | None,
    principal: Principal,
    region: str,
    event_time: datetime,
    source_ip: str,
    user_agent: str,
    request_id: str,
    params: dict[str, Any] | None,
    output: dict[str, Any] | None,
    error_code: str | None,
    error_message: str | None,
    resources: list[dict[str, str]] | None,
    tls: bool,
    unrouted_source: str = "unknown",
    unrouted_name: str = "Unknown",
) -> dict[str, Any]:
    """The record of one call; ``operation`` is None when no operation could be identified
    (the source and name then come from what the request claimed)."""
    name = operation.name if operation is not None else unrouted_name
    read_only = is_read_only(name)
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(principal),
        "eventTime": event_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": event_source(operation) if operation is not None else unrouted_source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if error_code is not None:
        record["errorCode"] = error_code
        record["errorMessage"] = error_message or ""
    record["requestParameters"] = redact(params, operation.input_shape) or None if params else None
    record["responseElements"] = (
        redact(output, operation.output_shape) or None
        if output and not read_only and error_code is None
        else None
    )
    record["requestID"] = request_id
    record["eventID"] = str(uuid.uuid4())
    record["readOnly"] = read_only
    if resources:
        record["resources"] = resources
    record["eventType"] = "AwsApiCall"
    record["managementEvent"] = True
    record["recipientAccountId"] = principal.account_id
    record["eventCategory"] = "Management"
    if tls:
        record["tlsDetails"] = {"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": ""}
    return record
