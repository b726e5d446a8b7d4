"""Grant constraints (GrantConstraints): whether a request meets a grant's constraints, and
whether a child grant's constraints are at least as strict as its parent grant's.

* ``EncryptionContextEquals`` / ``EncryptionContextSubset``: the request's encryption context
  is the constraint's, or includes it. In a grant constraint the key of each pair is not case
  sensitive, its value is. They do not apply to DescribeKey and RetireGrant.
* ``SourceArn``: the request is made on behalf of that resource, "effectively the same as
  having the aws:SourceArn global condition key in the grant". It does not apply to
  RetireGrant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mamori.services.kms.specs import UNCONSTRAINED_GRANT_OPERATIONS

_SOURCE_ARN_EXEMPT_OPERATIONS = frozenset({"RetireGrant"})


def _pairs(context: Mapping[str, str]) -> set[tuple[str, str]]:
    """The pairs of an encryption context as a grant constraint compares them."""
    return {(key.lower(), value) for key, value in context.items()}


def context_constraint(constraints: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The encryption context pairs of a grant's constraint (Equals or Subset), or None."""
    for name in ("EncryptionContextEquals", "EncryptionContextSubset"):
        pairs = (constraints or {}).get(name)
        if pairs is not None:
            return dict(pairs)
    return None


def source_arn_met(
    constraints: Mapping[str, Any] | None, operation: str, source_arn: str | None = None
) -> bool:
    """Whether a request on behalf of ``source_arn`` (None: of no resource) meets the
    grant's SourceArn constraint."""
    required = (constraints or {}).get("SourceArn")
    if required is None or operation in _SOURCE_ARN_EXEMPT_OPERATIONS:
        return True
    return source_arn == required


def context_met(
    constraints: Mapping[str, Any] | None, operation: str, context: Mapping[str, str]
) -> bool:
    """Whether a request's encryption context meets the grant's encryption context
    constraint."""
    if not constraints or operation in UNCONSTRAINED_GRANT_OPERATIONS:
        return True
    equals = constraints.get("EncryptionContextEquals")
    if equals is not None and _pairs(context) != _pairs(equals):
        return False
    subset = constraints.get("EncryptionContextSubset")
    return subset is None or _pairs(subset) <= _pairs(context)


def at_least_as_strict(child: Mapping[str, Any] | None, parent: Mapping[str, Any] | None) -> bool:
    """Whether a child grant's constraints are as strict as its parent's, or stricter: it may
    add pairs to a Subset constraint, or turn it into an Equals constraint that includes its
    pairs, but never remove pairs nor loosen Equals into Subset; a SourceArn stays the same."""
    child, parent = child or {}, parent or {}
    if parent.get("SourceArn") is not None and child.get("SourceArn") != parent["SourceArn"]:
        return False
    parent_equals = parent.get("EncryptionContextEquals")
    child_equals = child.get("EncryptionContextEquals")
    if parent_equals is not None:
        return child_equals is not None and _pairs(child_equals) == _pairs(parent_equals)
    parent_subset = parent.get("EncryptionContextSubset")
    if parent_subset is None:
        return True
    narrowed = child_equals if child_equals is not None else child.get("EncryptionContextSubset")
    return narrowed is not None and _pairs(parent_subset) <= _pairs(narrowed)
