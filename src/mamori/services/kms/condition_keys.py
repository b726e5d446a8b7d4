"""The condition keys a KMS request's own parameters set ("AWS KMS condition keys").

"This type of condition works even when the parameter doesn't appear in the request, such as
when you use the parameter's default value": a key takes the parameter's default when the
request omits it. kms:BypassPolicyLockoutSafetyCheck is the exception the guide shows: a Null
condition on it allows "only when the request does not include the parameter", so it is
present only when the request has the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mamori.iam.condition_keys import request_keys

_ABSENT_WHEN_OMITTED = None

# action -> ((condition key, request parameters read in order, value when they are absent),)
_PARAMETER_KEYS: dict[str, tuple[tuple[str, tuple[str, ...], Any], ...]] = {
    "kms:CreateKey": (
        ("kms:KeySpec", ("KeySpec", "CustomerMasterKeySpec"), "SYMMETRIC_DEFAULT"),
        ("kms:CustomerMasterKeySpec", ("KeySpec", "CustomerMasterKeySpec"), "SYMMETRIC_DEFAULT"),
        ("kms:KeyUsage", ("KeyUsage",), "ENCRYPT_DECRYPT"),
        ("kms:CustomerMasterKeyUsage", ("KeyUsage",), "ENCRYPT_DECRYPT"),
        ("kms:KeyOrigin", ("Origin",), "AWS_KMS"),
        ("kms:MultiRegion", ("MultiRegion",), False),
        (
            "kms:BypassPolicyLockoutSafetyCheck",
            ("BypassPolicyLockoutSafetyCheck",),
            _ABSENT_WHEN_OMITTED,
        ),
    ),
    "kms:PutKeyPolicy": (
        (
            "kms:BypassPolicyLockoutSafetyCheck",
            ("BypassPolicyLockoutSafetyCheck",),
            _ABSENT_WHEN_OMITTED,
        ),
    ),
    "kms:ScheduleKeyDeletion": (
        ("kms:ScheduleKeyDeletionPendingWindowInDays", ("PendingWindowInDays",), 30),
    ),
    "kms:EnableKeyRotation": (("kms:RotationPeriodInDays", ("RotationPeriodInDays",), 365),),
}

# Operations whose tags (or tag keys) are aws:RequestTag/* and aws:TagKeys.
_TAGGING_ACTIONS = frozenset({"kms:CreateKey", "kms:TagResource", "kms:UntagResource"})
_KMS_TAG_MEMBERS = ("TagKey", "TagValue")


def _parameter_value(params: Mapping[str, Any], names: tuple[str, ...], default: Any) -> Any:
    for name in names:
        if params.get(name) is not None:
            return params[name]
    return default


def request_condition_keys(action: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The condition keys ``params`` of a request for ``action`` set."""
    keys: dict[str, Any] = {}
    for key, names, default in _PARAMETER_KEYS.get(action, ()):
        value = _parameter_value(params, names, default)
        if value is not None:
            keys[key] = value
    if action in _TAGGING_ACTIONS:
        keys.update(request_keys(action, params, tag_members=_KMS_TAG_MEMBERS))
    return keys
