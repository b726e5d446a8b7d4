"""Where CloudTrail's requestParameters differ from the redacted input, per operation.

Most operations record their input as :mod:`mamori.gateway.redaction` gives it. A few do not:

- S3 records a request's parameters under their HTTP names (``bucketName``, ``key``,
  ``x-amz-acl``, ``uploadId``, ``list-type``, the XML payload's root element ...), the request's
  ``Host`` header, and its sub-resource (``"versioning": ""``, ``"list-type": "2"``): S3 user
  guide, "CloudTrail log file entries for Amazon S3".
- S3 records a bucket policy (``bucketPolicy``) as the JSON object it is.
- KMS records the encryption algorithms it used even when the request left them to their
  default, and Decrypt the key it decrypted with (KMS developer guide, ct-decrypt, ct-encrypt,
  ct-reencrypt).

All of it is worked out once per operation (:func:`recorder_of`); a call only renames keys and
adds a few.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from botocore.model import OperationModel, Shape

from mamori.gateway.redaction import camel, redactor

# S3's CloudTrail name of an input member whose name on the wire is not the one CloudTrail
# records (the URI labels, the bucket policy document sent as the whole body); every other member
# is recorded under its HTTP name: header, query parameter or the payload's XML element.
S3_TRAIL_NAMES = {"Bucket": "bucketName", "Key": "key", "Policy": "bucketPolicy"}

# Members KMS always records, with the value it used when the request left them out.
_KMS_DEFAULTS: dict[str, dict[str, str]] = {
    "Encrypt": {"EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
    "Decrypt": {"EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
    "ReEncrypt": {
        "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    },
}
# S3 records a bucket policy as the JSON object it is, not as the text sent.
_S3_DOCUMENTS = {"PutBucketPolicy": ("bucketPolicy",)}
# Members KMS records as the ARN of the key the call used when the request did not name it.
_KMS_KEY_MEMBERS = {"Decrypt": "KeyId"}
_KMS_KEY_TYPE = "AWS::KMS::Key"


class Recording(NamedTuple):
    """How one operation's redacted input becomes its requestParameters."""

    renames: dict[str, str]  # redacted name -> the name CloudTrail records
    always: dict[str, Any]  # recorded unless the request gave them
    records_host: bool  # the Host header, as "Host"
    key_member: str | None  # recorded as the call's KMS key ARN when the request gave none
    documents: tuple[str, ...] = ()  # recorded names of JSON documents, recorded parsed


def recording_of(operation: OperationModel) -> Recording | None:
    """What CloudTrail changes in ``operation``'s requestParameters (None: nothing)."""
    service = operation.service_model.service_name
    if service == "s3":
        return _s3_recording(operation)
    if service == "kms" and operation.name in _KMS_DEFAULTS | _KMS_KEY_MEMBERS:
        key_member = _KMS_KEY_MEMBERS.get(operation.name)
        return Recording(
            {},
            {camel(k): v for k, v in _KMS_DEFAULTS.get(operation.name, {}).items()},
            False,
            camel(key_member) if key_member else None,
        )
    return None


# requestParameters of one call: (parsed input, Host header, the call's resources) -> the record.
RequestRecorder = Callable[[dict[str, Any] | None, str | None, list | None], dict[str, Any] | None]


def recorder_of(operation: OperationModel) -> RequestRecorder:
    """How the calls of ``operation`` record their requestParameters: its input redacted
    (:mod:`mamori.gateway.redaction`), then renamed and completed as :func:`recording_of` says.
    Worked out once per operation; a call runs only what its operation needs."""
    shape = operation.input_shape
    redact_input = redactor(shape) if shape is not None else _nothing
    recording = recording_of(operation)
    if recording is None:

        def redacted_input(params, host, resources):
            return (redact_input(params, 0) or None) if params else None

        return redacted_input

    renames, always, records_host, key_member, documents = recording

    def recorded(params, host, resources):
        redacted = redact_input(params, 0) if params else None
        if redacted:
            if renames:
                redacted = {renames.get(name, name): value for name, value in redacted.items()}
            result = {**always, **redacted}
        else:
            result = dict(always)
        if records_host and host:
            result["Host"] = host
        for name in documents:
            if isinstance(result.get(name), str):
                result[name] = _parsed_document(result[name])
        if key_member is not None and key_member not in result:
            key_arn = _key_of(resources)
            if key_arn:
                result[key_member] = key_arn
        return result or None

    return recorded


def _nothing(value: Any, depth: int) -> None:
    return None


def _parsed_document(text: str) -> Any:
    """A JSON document as CloudTrail records it: parsed when it is a JSON object, else (a
    request refused for its malformed document) the text as sent."""
    try:
        document = json.loads(text)
    except ValueError:
        return text
    return document if isinstance(document, dict) else text


def _key_of(resources: list[dict[str, str]] | None) -> str | None:
    for resource in resources or ():
        if resource.get("type") == _KMS_KEY_TYPE:
            return resource.get("ARN")
    return None


def _s3_recording(operation: OperationModel) -> Recording:
    shape = operation.input_shape
    renames = {}
    if shape is not None:
        payload = shape.serialization.get("payload")
        for name, member in shape.members.items():
            trail_name = s3_trail_name(name, member, is_payload=name == payload)
            if trail_name != camel(name):
                renames[camel(name)] = trail_name
    return Recording(
        renames, _sub_resource(operation), True, None, _S3_DOCUMENTS.get(operation.name, ())
    )


def s3_trail_name(name: str, member: Shape, *, is_payload: bool) -> str:
    """The name S3's CloudTrail records give the input member ``name``."""
    if name in S3_TRAIL_NAMES:
        return S3_TRAIL_NAMES[name]
    location = member.serialization.get("location")
    if location in ("header", "querystring") or is_payload:
        return member.serialization.get("name") or name
    return camel(name)


def _sub_resource(operation: OperationModel) -> dict[str, str]:
    """The literal query of the operation's URI (``?versioning``, ``?list-type=2``)."""
    _, _, query = operation.http.get("requestUri", "").partition("?")
    return dict(parse_qsl(query, keep_blank_values=True))
