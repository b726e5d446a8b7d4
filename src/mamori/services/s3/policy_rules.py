"""What S3 accepts as a bucket policy beyond the policy grammar: its size, actions that S3 knows,
resources inside the bucket, and actions that apply to a resource the statement names.

``check_bucket_policy(text, bucket)`` raises :class:`PolicyRejected` with S3's ``MalformedPolicy``
message:

* larger than 20 KB (counted without insignificant whitespace) -> "Policy exceeds the maximum
  allowed document size."
* an action S3 does not define (``s3:Bogus``, ``ec2:RunInstances``) -> "Policy has invalid action"
* a resource outside the bucket (``*``, ``arn:aws:s3:::*``, another bucket) -> "Policy has invalid
  resource"
* an action that applies to none of the statement's resources (``s3:PutObject`` on the bucket ARN
  alone) -> "Action does not apply to any resource(s) in statement"

The action table follows the Service Authorization Reference ("Actions, resources, and condition
keys for Amazon S3"): each action with the resource type it applies to, ``bucket`` or ``object``;
actions on other resource types (access points, jobs, Storage Lens, the account) apply to neither.
"""

from __future__ import annotations

import fnmatch
import json
import re
from functools import cache
from typing import Any

MAX_POLICY_BYTES = 20 * 1024

BUCKET = "bucket"
OBJECT = "object"
ELSEWHERE = "elsewhere"  # a valid S3 action on no bucket or object resource

_BUCKET_ACTIONS = """
CreateBucket DeleteBucket ListBucket ListBucketVersions ListBucketMultipartUploads
GetBucketLocation GetBucketAcl PutBucketAcl GetBucketCORS PutBucketCORS
GetBucketPolicy PutBucketPolicy DeleteBucketPolicy GetBucketPolicyStatus
GetBucketPublicAccessBlock PutBucketPublicAccessBlock
GetBucketOwnershipControls PutBucketOwnershipControls GetBucketTagging PutBucketTagging
GetBucketVersioning PutBucketVersioning GetBucketWebsite PutBucketWebsite DeleteBucketWebsite
GetBucketLogging PutBucketLogging GetBucketNotification PutBucketNotification
GetBucketRequestPayment PutBucketRequestPayment
GetBucketObjectLockConfiguration PutBucketObjectLockConfiguration
GetEncryptionConfiguration PutEncryptionConfiguration
GetLifecycleConfiguration PutLifecycleConfiguration
GetReplicationConfiguration PutReplicationConfiguration
GetAccelerateConfiguration PutAccelerateConfiguration
GetAnalyticsConfiguration PutAnalyticsConfiguration
GetInventoryConfiguration PutInventoryConfiguration
GetMetricsConfiguration PutMetricsConfiguration
GetIntelligentTieringConfiguration PutIntelligentTieringConfiguration
CreateBucketMetadataTableConfiguration GetBucketMetadataTableConfiguration
DeleteBucketMetadataTableConfiguration
"""

_OBJECT_ACTIONS = """
GetObject GetObjectVersion PutObject DeleteObject DeleteObjectVersion
GetObjectAcl GetObjectVersionAcl PutObjectAcl PutObjectVersionAcl
GetObjectTagging GetObjectVersionTagging PutObjectTagging PutObjectVersionTagging
DeleteObjectTagging DeleteObjectVersionTagging
GetObjectAttributes GetObjectVersionAttributes
GetObjectRetention PutObjectRetention GetObjectLegalHold PutObjectLegalHold
BypassGovernanceRetention RestoreObject AbortMultipartUpload ListMultipartUploadParts
GetObjectTorrent GetObjectVersionTorrent GetObjectVersionForReplication
ReplicateObject ReplicateDelete ReplicateTags InitiateReplication
ObjectOwnerOverrideToBucketOwner
"""

_ELSEWHERE_ACTIONS = """
ListAllMyBuckets GetAccountPublicAccessBlock PutAccountPublicAccessBlock
CreateAccessPoint DeleteAccessPoint GetAccessPoint ListAccessPoints
GetAccessPointPolicy PutAccessPointPolicy DeleteAccessPointPolicy GetAccessPointPolicyStatus
CreateJob DescribeJob ListJobs UpdateJobPriority UpdateJobStatus
GetStorageLensConfiguration PutStorageLensConfiguration DeleteStorageLensConfiguration
ListStorageLensConfigurations GetStorageLensDashboard
CreateMultiRegionAccessPoint DeleteMultiRegionAccessPoint GetMultiRegionAccessPoint
ListMultiRegionAccessPoints
"""

ACTIONS: dict[str, str] = {
    **{name.lower(): ELSEWHERE for name in _ELSEWHERE_ACTIONS.split()},
    **{name.lower(): BUCKET for name in _BUCKET_ACTIONS.split()},
    **{name.lower(): OBJECT for name in _OBJECT_ACTIONS.split()},
}


class PolicyRejected(Exception):
    """A bucket policy S3 refuses; the message is S3's."""


def check_bucket_policy(text: str, bucket: str) -> None:
    """Raise :class:`PolicyRejected` unless S3 would accept ``text`` as ``bucket``'s policy."""
    document = json.loads(text)
    if len(json.dumps(document, separators=(",", ":")).encode()) > MAX_POLICY_BYTES:
        raise PolicyRejected("Policy exceeds the maximum allowed document size.")
    for statement in _listify(document.get("Statement") or []):
        _check_statement(statement, bucket)


def _check_statement(statement: dict[str, Any], bucket: str) -> None:
    actions = _listify(statement.get("Action", statement.get("NotAction", [])))
    action_kinds = [_kinds_of(action) for action in actions]
    resources = _listify(statement.get("Resource", statement.get("NotResource", [])))
    resource_kinds = {_resource_kind(resource, bucket) for resource in resources}
    if "Action" not in statement or "Resource" not in statement:
        return  # NotAction and NotResource name what the statement does not cover
    if any(not kinds & resource_kinds for kinds in action_kinds):
        raise PolicyRejected("Action does not apply to any resource(s) in statement")


def _kinds_of(action: Any) -> frozenset[str]:
    """The resource kinds an action (or action pattern) applies to; invalid ones are refused."""
    if action == "*":
        return frozenset({BUCKET, OBJECT})
    service, _, name = str(action).partition(":")
    kinds = _matching_kinds(name.lower()) if service.lower() == "s3" else frozenset()
    if not kinds:
        raise PolicyRejected("Policy has invalid action")
    return kinds


@cache
def _matching_kinds(pattern: str) -> frozenset[str]:
    if "*" not in pattern and "?" not in pattern:
        kind = ACTIONS.get(pattern)
        return frozenset({kind}) if kind else frozenset()
    matcher = re.compile(fnmatch.translate(pattern))
    return frozenset(kind for name, kind in ACTIONS.items() if matcher.match(name))


def _resource_kind(resource: Any, bucket: str) -> str:
    base = f"arn:aws:s3:::{bucket}"
    if resource == base:
        return BUCKET
    if isinstance(resource, str) and resource.startswith(base + "/"):
        return OBJECT
    raise PolicyRejected("Policy has invalid resource")


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
