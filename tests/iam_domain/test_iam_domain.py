"""IAM's domain logic on its own: passwords, TOTP, documents, pagination, identity policies."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mamori.errors import AwsError
from mamori.iam import documents, mfa, passwords
from mamori.iam.aws_managed import AWS_MANAGED
from mamori.iam.entities import encode_document, paginate
from mamori.iam.groups import Groups
from mamori.iam.managed_policies import ManagedPolicies, default_document
from mamori.iam.oidc import OidcProviders, get_oidc_provider
from mamori.iam.policy import parse_policy
from mamori.iam.principals import Principal, Session
from mamori.iam.roles import Roles, get_role
from mamori.iam.simulation import Simulation, Source, context_from_entries, simulate
from mamori.iam.users import Users
from tests.iam_domain.conftest import ACCOUNT, NOW


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


# Passwords


def test_password_hash_is_salted_and_verifies():
    first, second = passwords.hash_password("s3cret!A"), passwords.hash_password("s3cret!A")
    assert first != second and "s3cret" not in first
    assert passwords.check_password("s3cret!A", first)
    assert not passwords.check_password("s3cret!B", first)
    assert not passwords.check_password("x", "md5$abc")


@pytest.mark.parametrize(
    ("password", "policy", "ok"),
    [
        ("Abcdefg1", None, True),  # default policy: 8 chars, 3 of 4 types
        ("abcdefgh", None, False),
        ("Abc1!", None, False),
        ("abcdef", {**passwords.POLICY_DEFAULTS}, True),
        ("abcde", {**passwords.POLICY_DEFAULTS}, False),
        ("abcdef", {**passwords.POLICY_DEFAULTS, "RequireSymbols": True}, False),
        ("abcde|", {**passwords.POLICY_DEFAULTS, "RequireSymbols": True}, True),
        ("ABCDEF", {**passwords.POLICY_DEFAULTS, "RequireLowercaseCharacters": True}, False),
    ],
)
def test_password_policy_checks(password, policy, ok):
    if ok:
        passwords.check_against_policy(password, policy, "someone")
    else:
        with pytest.raises(AwsError) as error:
            passwords.check_against_policy(password, policy, "someone")
        assert error.value.code == "PasswordPolicyViolationException"


# TOTP / MFA


def test_totp_matches_rfc6238_test_vector():
    # RFC 6238 appendix B, SHA-1, T = 59 s -> 94287082 (8 digits); 6 digits are its last six.
    seed = b"12345678901234567890"
    assert mfa.code_at(seed, 59 // 30) == "287082"


def test_mfa_enable_and_verify_rejects_replay(runtime):
    with runtime.store.begin() as conn:
        devices = mfa.MfaDevices(runtime, conn, ACCOUNT)
        device, seed_text, _png = devices.create("phone", "/", {}, NOW, ACCOUNT)
        stored = json.dumps(device)
        assert seed_text not in stored  # sealed at rest
        import base64

        seed = base64.b32decode(seed_text)
        step = mfa.step_of(NOW)
        with pytest.raises(AwsError):
            devices.enable(device, "alice", "000000", "000000", NOW)
        devices.enable(device, "alice", mfa.code_at(seed, step - 1), mfa.code_at(seed, step), NOW)
        serial = device["SerialNumber"]
        assert mfa.device_user(runtime, conn, ACCOUNT, serial) == "alice"
        later = NOW + timedelta(seconds=30)
        code = mfa.code_at(seed, step + 1)
        # Another user's device, or no owner at all (a role session), fails like a wrong code.
        assert not mfa.verify_mfa_code(runtime, conn, ACCOUNT, serial, code, later, owner="bob")
        assert not mfa.verify_mfa_code(runtime, conn, ACCOUNT, serial, code, later, owner=None)
        assert mfa.verify_mfa_code(runtime, conn, ACCOUNT, serial, code, later, owner="alice")
        assert not mfa.verify_mfa_code(
            runtime, conn, ACCOUNT, serial, code, later, owner="alice"
        )  # replay
        assert not mfa.verify_mfa_code(
            runtime, conn, ACCOUNT, serial, "12345", later, owner="alice"
        )
        assert not mfa.verify_mfa_code(
            runtime, conn, ACCOUNT, serial + "x", code, later, owner="alice"
        )
        much_later = NOW + timedelta(minutes=10)
        assert not mfa.verify_mfa_code(
            runtime, conn, ACCOUNT, serial, code, much_later, owner="alice"
        )
        assert mfa.verify_mfa_code(
            runtime,
            conn,
            ACCOUNT,
            serial,
            mfa.code_at(seed, mfa.step_of(much_later)),
            much_later,
            owner="alice",
        )
        devices.deactivate(devices.get(serial), NOW)
        assert not mfa.verify_mfa_code(
            runtime, conn, ACCOUNT, serial, mfa.code_at(seed, step + 25), much_later, owner="alice"
        )


# Documents, pagination


def test_document_sizes_ignore_whitespace():
    assert documents.size('{ "a" :\n\t"b" }') == len('{"a":"b"}')
    documents.check_inline_size("user", "u", {"p": "x" * 2048})
    with pytest.raises(AwsError) as error:
        documents.check_inline_size("user", "u", {"p": "x" * 2000, "q": "y" * 49})
    assert error.value.message == "Maximum policy size of 2048 bytes exceeded for user u"


def test_validate_maps_malformed_policy():
    with pytest.raises(AwsError) as error:
        documents.validate("{", "identity")
    assert (error.value.code, error.value.message) == (
        "MalformedPolicyDocumentException",
        "Syntax errors in policy.",
    )


def test_encode_document_round_trips():
    from urllib.parse import unquote

    text = doc(allow("s3:GetObject", "arn:aws:s3:::a b/*"))
    encoded = encode_document(text)
    assert " " not in encoded and unquote(encoded) == text


def test_paginate_by_key_and_by_offset():
    items = [f"n{i}" for i in range(5)]
    first = paginate(items, {"MaxItems": 2}, "Items", key=lambda x: x)
    assert first == {"Items": ["n0", "n1"], "IsTruncated": True, "Marker": "n1"}
    rest = paginate(items, {"MaxItems": 10, "Marker": "n1"}, "Items", key=lambda x: x)
    assert rest == {"Items": ["n2", "n3", "n4"], "IsTruncated": False}
    by_offset = paginate(items, {"MaxItems": 3, "Marker": "3"}, "Items")
    assert by_offset == {"Items": ["n3", "n4"], "IsTruncated": False}


def test_aws_managed_documents_parse_and_ids_are_stable():
    for arn, policy in AWS_MANAGED.items():
        parse_policy(default_document(policy), "identity")
        assert policy["PolicyId"].startswith("ANPA") and len(policy["PolicyId"]) == 21
        assert arn.startswith("arn:aws:iam::aws:policy/")


# Identity policies


def _user_principal(user) -> Principal:
    return Principal(
        type="IAMUser",
        account_id=ACCOUNT,
        arn=user["Arn"],
        principal_id=user["UserId"],
        user_name=user["UserName"],
    )


def test_identity_policies_of_a_user_and_its_groups(runtime):
    with runtime.store.begin() as conn:
        users = Users(runtime.resources, conn, ACCOUNT)
        groups = Groups(runtime.resources, conn, ACCOUNT)
        policies = ManagedPolicies(runtime.resources, conn, ACCOUNT)
        managed = policies.create("m", "/", doc(allow("sqs:*")), NOW)
        boundary = policies.create("b", "/", doc(allow("sqs:Send*")), NOW)
        group = groups.create("g", "/", NOW)
        groups.save({**group, "InlinePolicies": {"gi": doc(allow("sns:*"))}}, NOW)
        user = users.create("alice", "/", {}, boundary["Arn"], NOW)
        user = {
            **user,
            "InlinePolicies": {"ui": doc(allow("s3:*"))},
            "AttachedPolicies": [managed["Arn"], "arn:aws:iam::aws:policy/IAMReadOnlyAccess"],
            "Groups": ["G"],
        }
        users.save(user, NOW)
    source = runtime.identity_policies
    found, bound = source(_user_principal(user))
    actions = [json.loads(p.text)["Statement"][0]["Action"] for p in found]
    assert actions[:2] == ["s3:*", "sqs:*"]  # the user's inline, then attached policies
    assert "iam:List*" in actions[2] and actions[3] == "sns:*"  # AWS managed, then the group's
    assert bound is not None and "sqs:Send*" in bound.text
    assert source(_user_principal(user)) is source(_user_principal(user))  # cached

    # A user deleted and created again under the same name is another principal.
    stale = Principal(
        type="IAMUser",
        account_id=ACCOUNT,
        arn=user["Arn"],
        principal_id="AIDAOLDOLDOLDOLDOLD",
        user_name="alice",
    )
    assert source(stale) == ([], None)

    with runtime.store.begin() as conn:
        Users(runtime.resources, conn, ACCOUNT).save({**user, "InlinePolicies": {}}, NOW)
    source.invalidate()
    assert len(source(_user_principal(user))[0]) == 3


def test_identity_policies_of_role_sessions_and_federated_users(runtime):
    with runtime.store.begin() as conn:
        roles = Roles(runtime.resources, conn, ACCOUNT)
        role = roles.create("app", "/x/", doc(), NOW, boundary=None)
        roles.save({**role, "InlinePolicies": {"r": doc(allow("kms:Encrypt"))}}, NOW)
        users = Users(runtime.resources, conn, ACCOUNT)
        fed = users.create("fed", "/", {}, None, NOW)
        users.save({**fed, "InlinePolicies": {"f": doc(allow("kms:Decrypt"))}}, NOW)
    session = Session(issued=NOW, expires=NOW + timedelta(hours=1), role_arn=role["Arn"])
    assumed = Principal(
        type="AssumedRole",
        account_id=ACCOUNT,
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s",
        principal_id=f"{role['RoleId']}:s",
        session=session,
    )
    found, bound = runtime.identity_policies(assumed)
    assert [json.loads(p.text)["Statement"][0]["Action"] for p in found] == ["kms:Encrypt"]
    assert bound is None
    other_role_id = Principal(
        type="AssumedRole",
        account_id=ACCOUNT,
        arn=assumed.arn,
        principal_id="AROAOTHEROTHEROTHER:s",
        session=session,
    )
    assert runtime.identity_policies(other_role_id) == ([], None)
    federated = Principal(
        type="FederatedUser",
        account_id=ACCOUNT,
        arn=f"arn:aws:sts::{ACCOUNT}:federated-user/bob",
        principal_id=f"{ACCOUNT}:bob",
        session=Session(issued=NOW, expires=NOW + timedelta(hours=1), role_arn=fed["Arn"]),
    )
    found, _ = runtime.identity_policies(federated)
    assert [json.loads(p.text)["Statement"][0]["Action"] for p in found] == ["kms:Decrypt"]


def test_identity_policies_of_a_user_federated_by_the_root_user(runtime):
    # The root user needs no policy: its federated users are limited by their session
    # policies alone, which the engine intersects with "everything".
    federated = Principal(
        type="FederatedUser",
        account_id=ACCOUNT,
        arn=f"arn:aws:sts::{ACCOUNT}:federated-user/rootfed",
        principal_id=f"{ACCOUNT}:rootfed",
        session=Session(
            issued=NOW, expires=NOW + timedelta(hours=1), role_arn=f"arn:aws:iam::{ACCOUNT}:root"
        ),
    )
    found, bound = runtime.identity_policies(federated)
    assert [json.loads(p.text)["Statement"] for p in found] == [
        [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    ]
    assert bound is None
    # Another account's root user does not speak for this account.
    foreign = Principal(
        type="FederatedUser",
        account_id=ACCOUNT,
        arn=federated.arn,
        principal_id=federated.principal_id,
        session=Session(
            issued=NOW, expires=NOW + timedelta(hours=1), role_arn="arn:aws:iam::999999999999:root"
        ),
    )
    assert runtime.identity_policies(foreign) == ([], None)


def test_get_role_and_get_oidc_provider_for_sts(runtime):
    with runtime.store.begin() as conn:
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        )
        Roles(runtime.resources, conn, ACCOUNT).create(
            "svc",
            "/",
            trust,
            NOW,
            max_session_duration=7200,
            tags={"a": "b"},
            boundary="arn:aws:iam::aws:policy/ReadOnlyAccess",
        )
        provider = OidcProviders(runtime.resources, conn, ACCOUNT).create(
            "https://issuer.example.com/", ["aud"], ["a" * 40], {}, NOW
        )
    with runtime.store.connect() as conn:
        role = get_role(runtime, conn, ACCOUNT, "SVC")
        assert role["AssumeRolePolicyDocument"] == trust
        assert role["MaxSessionDuration"] == 7200 and role["Tags"] == {"a": "b"}
        assert role["PermissionsBoundary"] == "arn:aws:iam::aws:policy/ReadOnlyAccess"
        assert get_role(runtime, conn, ACCOUNT, "missing") is None
        found = get_oidc_provider(runtime, conn, ACCOUNT, provider["Arn"])
        assert found == {
            "Url": "issuer.example.com",
            "ClientIDList": ["aud"],
            "ThumbprintList": ["a" * 40],
        }
        assert get_oidc_provider(runtime, conn, ACCOUNT, provider["Arn"] + "x") is None


# Simulation


def test_simulation_decisions_and_context_types():
    context = context_from_entries(
        [
            {
                "ContextKeyName": "aws:MultiFactorAuthPresent",
                "ContextKeyValues": ["true"],
                "ContextKeyType": "boolean",
            },
            {
                "ContextKeyName": "s3:max-keys",
                "ContextKeyValues": ["10"],
                "ContextKeyType": "numeric",
            },
            {
                "ContextKeyName": "aws:TagKeys",
                "ContextKeyValues": ["a", "b"],
                "ContextKeyType": "stringList",
            },
        ]
    )
    assert context == {
        "aws:MultiFactorAuthPresent": True,
        "s3:max-keys": 10,
        "aws:TagKeys": ["a", "b"],
    }
    policy = parse_policy(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:*",
                        "Resource": "*",
                        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                    },
                    {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"},
                ],
            }
        )
    )
    sim = Simulation(
        principal_arn=f"arn:aws:iam::{ACCOUNT}:user/u",
        principal_account=ACCOUNT,
        identity=[Source(policy, "p", "user")],
        context=context,
    )
    results = simulate(sim, ["s3:GetObject", "s3:DeleteBucket", "sqs:SendMessage"], ["*"])
    assert [r["EvalDecision"] for r in results] == ["allowed", "explicitDeny", "implicitDeny"]
    sim.context = {}
    assert simulate(sim, ["s3:GetObject"], ["*"])[0]["EvalDecision"] == "implicitDeny"
