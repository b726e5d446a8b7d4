"""Grant constraints on their own: requests against a grant, child grants against a parent."""

from __future__ import annotations

from mamori.services.kms.grant_constraints import (
    at_least_as_strict,
    context_constraint,
    context_met,
    source_arn_met,
)

SUBSET = {"EncryptionContextSubset": {"Dept": "IT"}}
EQUALS = {"EncryptionContextEquals": {"Dept": "IT"}}
BUCKET = "arn:aws:s3:::bucket-1"


def test_encryption_context_constraints():
    assert context_met(None, "Decrypt", {})
    assert context_met(SUBSET, "Decrypt", {"Dept": "IT", "b": "2"})
    assert not context_met(SUBSET, "Decrypt", {"Dept": "HR"})
    assert context_met(EQUALS, "Decrypt", {"Dept": "IT"})
    assert not context_met(EQUALS, "Decrypt", {"Dept": "IT", "b": "2"})
    assert context_met(EQUALS, "DescribeKey", {})  # not applied to DescribeKey/RetireGrant


def test_constraint_keys_are_case_insensitive_values_case_sensitive():
    assert context_met(SUBSET, "Decrypt", {"dept": "IT"})
    assert context_met(EQUALS, "Encrypt", {"DEPT": "IT"})
    assert not context_met(SUBSET, "Decrypt", {"dept": "it"})
    assert not context_met(EQUALS, "Decrypt", {"Dept": "it"})


def test_source_arn_constraint_needs_the_request_on_behalf_of_that_resource():
    constraint = {"SourceArn": BUCKET}
    assert source_arn_met(None, "Decrypt")
    assert not source_arn_met(constraint, "Decrypt")
    assert not source_arn_met(constraint, "DescribeKey")
    assert not source_arn_met(constraint, "Decrypt", "arn:aws:s3:::other")
    assert source_arn_met(constraint, "Decrypt", BUCKET)
    assert source_arn_met(constraint, "RetireGrant")


def test_child_grant_constraints_at_least_as_strict():
    assert at_least_as_strict(None, None)
    assert at_least_as_strict(SUBSET, None)
    assert at_least_as_strict(SUBSET, SUBSET)
    assert at_least_as_strict({"EncryptionContextSubset": {"dept": "IT", "x": "1"}}, SUBSET)
    assert at_least_as_strict(EQUALS, SUBSET)
    assert at_least_as_strict(EQUALS, EQUALS)
    assert not at_least_as_strict(None, SUBSET)
    assert not at_least_as_strict({"EncryptionContextSubset": {"Dept": "HR"}}, SUBSET)
    assert not at_least_as_strict(SUBSET, EQUALS)
    assert not at_least_as_strict({"EncryptionContextEquals": {"Dept": "IT", "x": "1"}}, EQUALS)
    assert not at_least_as_strict(None, {"SourceArn": BUCKET})
    assert at_least_as_strict({"SourceArn": BUCKET}, {"SourceArn": BUCKET})


def test_context_constraint_pairs():
    assert context_constraint(None) is None
    assert context_constraint({"SourceArn": BUCKET}) is None
    assert context_constraint(EQUALS) == {"Dept": "IT"}
    assert context_constraint(SUBSET) == {"Dept": "IT"}
