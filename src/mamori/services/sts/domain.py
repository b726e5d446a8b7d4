"""STS's rules, free of HTTP: durations, session policies, session tags, packing, ARNs."""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Mapping
from typing import Any

from mamori.errors import AwsError
from mamori.iam.policy import MalformedPolicy, parse_policy

MIN_DURATION = 900
DEFAULT_ROLE_DURATION = 3600
ROLE_CHAINING_MAX = 3600
USER_TOKEN_DEFAULT = 43200
USER_TOKEN_MAX = 129600
ROOT_TOKEN_MAX = 3600
# Plaintext limit of inline + managed session policies (IAM UG, "Session policies").
POLICY_PLAINTEXT_MAX = 2048
MAX_POLICY_ARNS = 10
MAX_SESSION_TAGS = 50
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
# The packed (compressed) budget that PackedPolicySize is a percentage of. AWS does not publish
# its binary format; mamori packs with zlib, which keeps AWS's orders of magnitude (a small
# policy is a few percent; large incompressible policies or many long tags exceed 100%).
PACKED_BUDGET = 1024

_ROLE_ARN = re.compile(
    r"^arn:aws:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$", re.ASCII
)
_TAG_CHARS = re.compile(r"^[\w\s.:/=+\-@]*$", re.UNICODE)


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationError", message, status=400)


def access_denied(message: str) -> AwsError:
    return AwsError("AccessDenied", message, status=403)


def malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicyDocument", message, status=400)


def parse_role_arn(arn: str) -> tuple[str, str] | None:
    """(account, role name) of a role ARN, or None."""
    m = _ROLE_ARN.match(arn)
    return (m.group(1), m.group(2)) if m else None


def assumed_role_arn(account: str, role_name: str, session_name: str) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"


def federated_user_arn(account: str, name: str) -> str:
    return f"arn:aws:sts::{account}:federated-user/{name}"


def role_duration(requested: int | None, role_max: int | None, *, chaining: bool) -> int:
    """The session duration of AssumeRole*: 900 up to the role's MaxSessionDuration (1 hour when
    role chaining), defaulting to one hour."""
    maximum = role_max or DEFAULT_ROLE_DURATION
    if requested is None:
        return DEFAULT_ROLE_DURATION
    if requested < MIN_DURATION:
        raise validation_error(
            f"1 validation error detected: Value '{requested}' at 'durationSeconds' failed to "
            "satisfy constraint: Member must have value greater than or equal to 900"
        )
    if chaining and requested > ROLE_CHAINING_MAX:
        raise validation_error(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
            "by role chaining."
        )
    if requested > maximum:
        raise validation_error(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    return requested


def token_duration(requested: int | None, *, root: bool) -> int:
    """GetSessionToken / GetFederationToken: 900..129600 s, 12 hours by default; the root
    user's sessions are silently limited to one hour, as AWS does."""
    duration = USER_TOKEN_DEFAULT if requested is None else requested
    if duration < MIN_DURATION:
        raise validation_error(
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
            "satisfy constraint: Member must have value greater than or equal to 900"
        )
    if duration > USER_TOKEN_MAX:
        raise validation_error(
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
            "satisfy constraint: Member must have value less than or equal to 129600"
        )
    if root:
        duration = min(duration, ROOT_TOKEN_MAX)
    return duration


def inline_session_policy(text: str | None) -> str | None:
    """Validate an inline session policy (MalformedPolicyDocument with AWS's reason)."""
    if text is None:
        return None
    if len(text) > POLICY_PLAINTEXT_MAX:
        raise validation_error(
            "1 validation error detected: Value at 'policy' failed to satisfy constraint: "
            f"Member must have length less than or equal to {POLICY_PLAINTEXT_MAX}"
        )
    try:
        parse_policy(text, "session")
    except MalformedPolicy as exc:
        raise malformed(exc.reason) from None
    return text


def managed_policy_arns(values: list[dict[str, Any]] | None) -> list[str]:
    arns = [item["arn"] for item in values or [] if item.get("arn")]
    if len(arns) > MAX_POLICY_ARNS:
        raise validation_error(
            "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_POLICY_ARNS}"
        )
    for arn in arns:
        if not re.match(r"^arn:aws:iam::(\d{12}|aws):policy/", arn):
            raise validation_error(f"Invalid ARN {arn}: the session policy ARN must be a policy.")
    return arns


def session_tags(
    tags: list[dict[str, str]] | None,
    transitive: list[str] | None,
    *,
    inherited: Mapping[str, str] | None = None,
    inherited_transitive: tuple[str, ...] = (),
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The new session's tags and transitive keys: the request's, plus the caller session's
    transitive tags (role chaining), which the request may not override."""
    requested: dict[str, str] = {}
    lowered: set[str] = set()
    for tag in tags or []:
        key, value = tag["Key"], tag["Value"]
        if key.lower() in lowered:
            raise validation_error("Duplicate tag keys found. Please provide unique tag keys.")
        if not key or len(key) > TAG_KEY_MAX or not _TAG_CHARS.match(key):
            raise validation_error(f"Invalid session tag key: {key}")
        if len(value) > TAG_VALUE_MAX or not _TAG_CHARS.match(value):
            raise validation_error(f"Invalid session tag value for key {key}")
        if key.lower().startswith("aws:"):
            raise validation_error("Tag keys cannot start with the reserved prefix aws:")
        lowered.add(key.lower())
        requested[key] = value
    if len(requested) > MAX_SESSION_TAGS:
        raise validation_error(
            f"1 validation error detected: Value at 'tags' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_SESSION_TAGS}"
        )
    transitive_keys = list(transitive or [])
    for key in transitive_keys:
        if key.lower() not in lowered:
            raise validation_error(
                "The specified transitive tag key must be included in the requested tags."
            )
    result = dict(requested)
    keys = list(dict.fromkeys(transitive_keys))
    for key in inherited_transitive:
        if inherited is None or key not in inherited:
            continue
        if key.lower() in lowered:
            raise validation_error(
                "One of the specified transitive tag keys can't be set because it conflicts "
                "with a transitive tag key from the calling session."
            )
        result[key] = inherited[key]
        if key not in keys:
            keys.append(key)
    return result, tuple(keys)


def tag_condition_keys(tags: Mapping[str, str], transitive: tuple[str, ...]) -> dict[str, Any]:
    keys: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    if tags:
        keys["aws:TagKeys"] = list(tags)
    if transitive:
        keys["sts:TransitiveTagKeys"] = list(transitive)
    return keys


def packed_policy_size(policies: list[str], policy_arns: list[str], tags: Mapping[str, str]) -> int:
    """PackedPolicySize: the percentage of the packed budget the session policies, policy ARNs
    and tags use (PackedPolicyTooLarge above 100)."""
    minified = []
    for text in policies:
        try:
            minified.append(json.dumps(json.loads(text), separators=(",", ":")))
        except ValueError:
            minified.append(text)
    blob = json.dumps([minified, policy_arns, sorted(tags.items())], separators=(",", ":"))
    if blob == "[[],[],[]]":
        return 0
    return max(1, math.ceil(len(zlib.compress(blob.encode(), 9)) * 100 / PACKED_BUDGET))


def check_packed_size(size: int) -> None:
    if size > 100:
        raise AwsError(
            "PackedPolicyTooLarge",
            f"Packed policy consumes {size}% of allotted space, please use smaller policy.",
            status=400,
        )


def session_name_ok(name: str) -> None:
    if not (2 <= len(name) <= 64) or not re.fullmatch(r"[\w+=,.@-]*", name):
        raise validation_error(
            f"1 validation error detected: Value '{name}' at 'roleSessionName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )


# A source identity's rules: sourceIdentityType of the STS model, and the reserved prefix.
_SOURCE_IDENTITY_MIN = 2
_SOURCE_IDENTITY_MAX = 256
_SOURCE_IDENTITY_PATTERN = re.compile(r"[\w+=,.@-]*", re.ASCII)


def source_identity_problem(value: str) -> str | None:
    """What is wrong with a source identity (AssumeRole's SourceIdentity, or the
    ``source_identity`` claim of a web identity token), or None."""
    if len(value) < _SOURCE_IDENTITY_MIN:
        return f"Member must have length greater than or equal to {_SOURCE_IDENTITY_MIN}"
    if len(value) > _SOURCE_IDENTITY_MAX:
        return f"Member must have length less than or equal to {_SOURCE_IDENTITY_MAX}"
    if _SOURCE_IDENTITY_PATTERN.fullmatch(value) is None:
        return "Member must satisfy regular expression pattern: [\\w+=,.@-]*"
    if value.lower().startswith("aws:"):
        return "SourceIdentity can't start with the prefix aws:"
    return None
