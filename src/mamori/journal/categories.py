"""Which calls CloudTrail records as data events, and which as management events.

One table for the whole of mamori: the journal record of a call (``eventCategory``,
``managementEvent``), LookupEvents (the event history records no data events) and trails' event
selectors all decide from it.

AWS's list of data events ("CloudTrail data events", per resource type) names, among the services
mamori implements, only Amazon S3's object-level operations (resource type ``AWS::S3::Object``).
KMS cryptographic operations, STS, IAM and CloudTrail's own API are management events.
"""

from __future__ import annotations

#: eventSource -> the eventNames of that source that are data events.
DATA_EVENTS: dict[str, frozenset[str]] = {
    "s3.amazonaws.com": frozenset(
        {
            "AbortMultipartUpload",
            "CompleteMultipartUpload",
            "CopyObject",
            "CreateMultipartUpload",
            "DeleteObject",
            "DeleteObjectTagging",
            "DeleteObjects",
            "GetObject",
            "GetObjectAcl",
            "GetObjectAttributes",
            "GetObjectLegalHold",
            "GetObjectRetention",
            "GetObjectTagging",
            "GetObjectTorrent",
            "HeadObject",
            "ListParts",
            "PutObject",
            "PutObjectAcl",
            "PutObjectLegalHold",
            "PutObjectRetention",
            "PutObjectTagging",
            "RestoreObject",
            "SelectObjectContent",
            "UploadPart",
            "UploadPartCopy",
        }
    ),
}

DATA = "Data"
MANAGEMENT = "Management"


def is_data_event(event_source: str | None, event_name: str | None) -> bool:
    names = DATA_EVENTS.get(event_source or "")
    return names is not None and event_name in names


def event_category(event_source: str | None, event_name: str | None) -> str:
    """The record's ``eventCategory``: ``Data`` or ``Management``."""
    return DATA if is_data_event(event_source, event_name) else MANAGEMENT
