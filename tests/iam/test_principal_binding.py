"""Binding of users and roles named in resource-based policies to their unique IDs (domain)."""

from __future__ import annotations

import json

import pytest

from mamori.iam.policy import PolicySet, RequestFacts, evaluate, parse_policy
from mamori.iam.principal_binding import (
    UnknownPrincipal,
    bind_principals,
    displayed_document,
    evaluation_document,
)

A = "111111111111"
ALICE = f"arn:aws:iam::{A}:user/alice"
APP = f"arn:aws:iam::{A}:role/app"
ALICE_ID = "AIDAALICEALICEALICE1"
APP_ID = "AROAAPPAPPAPPAPPAPP1"


class FakeDirectory:
    """Hosts account A, whose live users and roles are ``entities`` ({ARN: unique ID})."""

    def __init__(self, entities: dict[str, str]) -> None:
        self.entities = entities

    def hosts(self, account: str) -> bool:
        return account == A

    def unique_id(self, account, kind, arn):
        return self.entities.get(arn)

    def current_arn(self, account, kind, arn, unique_id):
        return next((a for a, i in self.entities.items() if i == unique_id), None)


def policy(principal, condition=None, not_principal=False) -> str:
    statement = {
        "Effect": "Allow",
        "NotPrincipal" if not_principal else "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_only_users_and_roles_of_hosted_accounts_are_bound():
    text = policy(
        {"AWS": [ALICE, APP, f"arn:aws:iam::{A}:root", A, "arn:aws:iam::222222222222:user/bob"]}
    )
    directory = FakeDirectory({ALICE: ALICE_ID, APP: APP_ID})
    assert bind_principals(text, directory) == {ALICE: ALICE_ID, APP: APP_ID}


def test_a_missing_user_is_refused():
    with pytest.raises(UnknownPrincipal) as err:
        bind_principals(policy({"AWS": ALICE}), FakeDirectory({}))
    assert err.value.principal == ALICE


def test_evaluation_replaces_principals_only():
    condition = {"StringEquals": {"aws:PrincipalArn": ALICE}}
    text = policy({"AWS": ALICE}, condition)
    evaluated = json.loads(evaluation_document(text, {ALICE: ALICE_ID}))
    assert evaluated["Statement"][0]["Principal"] == {"AWS": ALICE_ID}
    assert evaluated["Statement"][0]["Condition"] == condition
    assert evaluation_document(text, {}) == text


def test_display_keeps_the_text_while_the_principal_lives():
    text = policy({"AWS": [ALICE]})
    binding = {ALICE: ALICE_ID}
    assert displayed_document(text, binding, FakeDirectory({ALICE: ALICE_ID})) == text
    gone = json.loads(
        displayed_document(text, binding, FakeDirectory({ALICE: "AIDANEWNEWNEWNEWNEW1"}))
    )
    assert gone["Statement"][0]["Principal"] == {"AWS": [ALICE_ID]}
    renamed = f"arn:aws:iam::{A}:user/x/alice2"
    moved = json.loads(displayed_document(text, binding, FakeDirectory({renamed: ALICE_ID})))
    assert moved["Statement"][0]["Principal"] == {"AWS": [renamed]}


def _facts(ptype: str, arn: str, userid: str, role_arn: str | None = None) -> RequestFacts:
    return RequestFacts(
        action="s3:GetObject",
        resource="arn:aws:s3:::b/k",
        principal_arn=arn,
        principal_account=A,
        principal_type=ptype,
        role_arn=role_arn,
        context={"aws:userid": userid},
    )


def test_not_principal_leaves_out_a_bound_user_and_role_session():
    session = f"arn:aws:sts::{A}:assumed-role/app/s"
    text = policy({"AWS": [A, ALICE, APP, session]}, not_principal=True)
    bound = parse_policy(evaluation_document(text, {ALICE: ALICE_ID, APP: APP_ID}), "resource")
    policies = PolicySet(resource=bound, resource_account=A)
    assert not evaluate(_facts("IAMUser", ALICE, ALICE_ID), policies).allowed
    assert not evaluate(_facts("AssumedRole", session, f"{APP_ID}:s", APP), policies).allowed
    # Same ARNs, new entities (created again): not the ones listed, so the policy applies.
    assert evaluate(_facts("IAMUser", ALICE, "AIDAOTHEROTHEROTHER1"), policies).allowed
    other = _facts("AssumedRole", session, "AROAOTHEROTHEROTHER1:s", APP)
    assert evaluate(other, policies).allowed
