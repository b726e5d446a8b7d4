"""Parsing and validation: AWS's MalformedPolicyDocument reasons."""

from __future__ import annotations

import json

import pytest

from mamori.iam.policy import MalformedPolicy, Policy, parse_policy, policy_cache_info
from mamori.iam.policy import errors as E

OK_STMT = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::example_bucket"}


def doc(*statements, version="2012-10-17", **top):
    d: dict = {"Version": version} if version else {}
    d["Statement"] = list(statements) if len(statements) != 1 else statements[0]
    d.update(top)
    return d


def st(**fields):
    out = dict(OK_STMT)
    for key, value in fields.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


CANONICAL = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
PRINCIPAL_A = {"AWS": "arn:aws:iam::111122223333:root"}

MALFORMED = [
    # (id, kind, document, reason)
    ("not-json", "identity", "This is not a json document", E.SYNTAX_ERRORS),
    ("not-object", "identity", "[1, 2]", E.SYNTAX_ERRORS),
    ("bad-version", "identity", doc(OK_STMT, version="2013-10-17"), E.SYNTAX_ERRORS),
    ("no-statement", "identity", {"Version": "2012-10-17"}, E.SYNTAX_ERRORS),
    ("statement-not-object", "identity", doc(["afd"]), E.SYNTAX_ERRORS),
    (
        "empty-statement-list",
        "identity",
        {"Version": "2012-10-17", "Statement": []},
        E.SYNTAX_ERRORS,
    ),
    ("extra-top-field", "identity", doc(OK_STMT, Extra="value"), E.SYNTAX_ERRORS),
    ("extra-statement-field", "identity", doc(st(Extra="value")), E.SYNTAX_ERRORS),
    ("id-not-string", "identity", doc(OK_STMT, Id=["x"]), E.SYNTAX_ERRORS),
    ("effect-invalid", "identity", doc(st(Effect="invalid")), E.SYNTAX_ERRORS),
    ("effect-missing", "identity", doc(st(Effect=None)), E.SYNTAX_ERRORS),
    ("effect-wrong-case", "identity", doc(st(Effect="denY")), E.LEGACY_PARSING),
    ("sid-not-string", "identity", doc(st(Sid={})), E.SYNTAX_ERRORS),
    ("action-and-notaction", "identity", doc(st(NotAction="iam:dsf")), E.SYNTAX_ERRORS),
    ("resource-and-notresource", "identity", doc(st(NotResource="*")), E.SYNTAX_ERRORS),
    ("action-object", "identity", doc(st(Action={})), E.SYNTAX_ERRORS),
    ("action-nested-list", "identity", doc(st(Action=[[]])), E.SYNTAX_ERRORS),
    ("resource-object", "identity", doc(st(Resource={"a": "b"})), E.SYNTAX_ERRORS),
    ("condition-list", "identity", doc(st(Condition=[])), E.SYNTAX_ERRORS),
    ("condition-string", "identity", doc(st(Condition="a")), E.SYNTAX_ERRORS),
    ("condition-body-string", "identity", doc(st(Condition={"a": "b"})), E.SYNTAX_ERRORS),
    (
        "condition-value-object",
        "identity",
        doc(st(Condition={"DateGreaterThan": {"a": {}}})),
        E.SYNTAX_ERRORS,
    ),
    (
        "condition-unknown-operator",
        "identity",
        doc(st(Condition={"x": {"a": "1"}})),
        E.SYNTAX_ERRORS,
    ),
    (
        "condition-double-colon",
        "identity",
        doc(st(Condition={"ForAnyValue::StringEqualsIfExists": {"a": "asf"}})),
        E.SYNTAX_ERRORS,
    ),
    (
        "condition-bad-set-prefix",
        "identity",
        doc(st(Condition={"ForSome:StringEquals": {"a": "b"}})),
        E.SYNTAX_ERRORS,
    ),
    (
        "null-ifexists",
        "identity",
        doc(st(Condition={"NullIfExists": {"a": "true"}})),
        E.SYNTAX_ERRORS,
    ),
    (
        "condition-bad-date",
        "identity",
        doc(st(Condition={"DateGreaterThan": {"a": "sdfdsf"}})),
        E.LEGACY_PARSING,
    ),
    (
        "condition-bad-date-tz",
        "identity",
        doc(st(Condition={"DateLessThanEquals": {"a": "2016-12-13t2:00:00.593194+1"}})),
        E.LEGACY_PARSING,
    ),
    (
        "condition-date-too-big",
        "identity",
        doc(st(Condition={"DateLessThan": {"a": "9223372036854775808"}})),
        E.LEGACY_PARSING,
    ),
    (
        "condition-bad-number",
        "identity",
        doc(st(Condition={"NumericEquals": {"a": "ten"}})),
        E.LEGACY_PARSING,
    ),
    (
        "condition-bad-ip",
        "identity",
        doc(st(Condition={"IpAddress": {"aws:SourceIp": "300.1.1.1/8"}})),
        E.LEGACY_PARSING,
    ),
    (
        "condition-bad-base64",
        "identity",
        doc(st(Condition={"BinaryEquals": {"a": "!!!"}})),
        E.LEGACY_PARSING,
    ),
    ("action-no-vendor", "identity", doc(st(Action="invalid")), E.VENDOR_PREFIX),
    ("notaction-empty-string", "identity", doc(st(Action=None, NotAction="")), E.VENDOR_PREFIX),
    ("action-vendor-space", "identity", doc(st(Action="a a:ListBucket")), E.vendor_invalid("a a")),
    ("action-two-colons", "identity", doc(st(Action="s3:List:Bucket")), E.ONE_COLON),
    (
        "resource-not-arn",
        "identity",
        doc(st(Resource="invalid resource")),
        E.resource_not_arn("invalid resource"),
    ),
    ("resource-empty-string", "identity", doc(st(Resource="")), E.resource_not_arn("")),
    (
        "resource-bad-partition-short",
        "identity",
        doc(st(Action=None, NotAction="s3s:ListBucket", Resource="a:bsdfdsafsad")),
        E.partition_invalid("bsdfdsafsad", "arn:bsdfdsafsad:*:*:*:*"),
    ),
    (
        "resource-no-arn-prefix",
        "identity",
        doc(st(Resource="aws:s3:::example_bucket")),
        E.partition_invalid("s3", "arn:s3:::example_bucket:*"),
    ),
    (
        "resource-bad-partition",
        "identity",
        doc(st(Resource=["arn:error:s3:::example_bucket", "arn:error:s3::example_bucket"])),
        E.partition_invalid("error", "arn:error:s3:::example_bucket"),
    ),
    ("resource-vendor-missing", "identity", doc(st(Resource="arn:aws")), E.VENDOR_QUALIFIED),
    (
        "resource-five-parts",
        "identity",
        doc(st(Resource="arn:aws:s3::example_bucket")),
        E.LEGACY_PARSING,
    ),
    ("resource-empty-vendor", "identity", doc(st(Resource="arn:aws::fdsasf")), E.LEGACY_PARSING),
    (
        "resource-s3-region",
        "identity",
        doc(st(Resource="arn:aws:s3:us-east-1::example_bucket")),
        E.resource_region("arn:aws:s3:us-east-1::example_bucket", iam=False),
    ),
    (
        "resource-iam-region",
        "identity",
        doc(st(Resource="arn:aws:iam:us-east-1::example_bucket")),
        E.resource_region("arn:aws:iam:us-east-1::example_bucket", iam=True),
    ),
    (
        "resource-iam-path",
        "identity",
        doc(st(Resource="arn:aws:iam:::example_bucket")),
        E.IAM_RESOURCE_PATH,
    ),
    ("no-resource", "identity", doc(st(Resource=None)), E.MISSING_RESOURCES),
    ("empty-resource-list", "identity", doc(st(Resource=[])), E.MISSING_RESOURCES),
    ("no-action", "identity", doc(st(Action=None)), E.MISSING_ACTIONS),
    ("empty-action-list", "identity", doc(st(Action=[])), E.MISSING_ACTIONS),
    (
        "one-statement-without-action",
        "identity",
        doc({"Effect": "Deny"}, OK_STMT),
        E.MISSING_ACTIONS,
    ),
    (
        "duplicate-sid",
        "identity",
        doc(st(Sid="sdf"), st(Sid="sdf", Action="s3:GetObject")),
        E.DUPLICATE_SID,
    ),
    ("sid-not-alphanumeric", "identity", doc(st(Sid="my sid")), E.SID_ALNUM),
    ("identity-with-principal", "identity", doc(st(Principal=PRINCIPAL_A)), E.NO_PRINCIPAL_ALLOWED),
    (
        "identity-with-notprincipal",
        "identity",
        doc(st(NotPrincipal=PRINCIPAL_A)),
        E.NO_PRINCIPAL_ALLOWED,
    ),
    ("boundary-with-principal", "boundary", doc(st(Principal="*")), E.NO_PRINCIPAL_ALLOWED),
    ("session-with-principal", "session", doc(st(Principal="*")), E.NO_PRINCIPAL_ALLOWED),
    ("scp-with-principal", "scp", doc(st(Principal="*")), E.NO_PRINCIPAL_ALLOWED),
    ("resource-without-principal", "resource", doc(OK_STMT), E.MISSING_PRINCIPAL),
    (
        "trust-without-principal",
        "trust",
        doc({"Effect": "Allow", "Action": "sts:AssumeRole"}),
        E.MISSING_PRINCIPAL,
    ),
    ("resource-principal-string", "resource", doc(st(Principal="alice")), E.INVALID_PRINCIPAL),
    (
        "resource-principal-bad-arn",
        "resource",
        doc(st(Principal={"AWS": "arn:aws:s3:::b"})),
        E.INVALID_PRINCIPAL,
    ),
    (
        "resource-principal-wildcard-arn",
        "resource",
        doc(st(Principal={"AWS": "arn:aws:iam::111122223333:user/*"})),
        E.INVALID_PRINCIPAL,
    ),
    (
        "resource-principal-group",
        "resource",
        doc(st(Principal={"AWS": "arn:aws:iam::111122223333:group/g"})),
        E.INVALID_PRINCIPAL,
    ),
    (
        "resource-principal-unknown-type",
        "resource",
        doc(st(Principal={"Robot": "x"})),
        E.INVALID_PRINCIPAL,
    ),
    (
        "resource-principal-empty-list",
        "resource",
        doc(st(Principal={"AWS": []})),
        E.INVALID_PRINCIPAL,
    ),
    (
        "resource-principal-number",
        "resource",
        doc(st(Principal={"AWS": 111122223333})),
        E.SYNTAX_ERRORS,
    ),
    (
        "resource-unknown-field",
        "resource",
        doc(st(Principal="*", condition={})),
        E.unknown_field("condition"),
    ),
    (
        "resource-unknown-top-field",
        "resource",
        doc(st(Principal="*"), Foo=1),
        E.unknown_field("Foo"),
    ),
    (
        "resource-invalid-effect",
        "resource",
        doc(st(Principal="*", Effect="hello")),
        E.invalid_effect("hello"),
    ),
    (
        "resource-missing-resource",
        "resource",
        doc(st(Principal="*", Resource=None)),
        E.MISSING_RESOURCES,
    ),
    (
        "trust-with-resource",
        "trust",
        doc(
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": PRINCIPAL_A,
                "Resource": "*",
            }
        ),
        E.PROHIBITED_RESOURCE,
    ),
    (
        "trust-non-sts-action",
        "trust",
        doc({"Effect": "Allow", "Action": "s3:GetObject", "Principal": PRINCIPAL_A}),
        E.TRUST_ACTIONS,
    ),
]


@pytest.mark.parametrize(
    ("kind", "document", "reason"),
    [m[1:] for m in MALFORMED],
    ids=[m[0] for m in MALFORMED],
)
def test_malformed(kind, document, reason):
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(MalformedPolicy) as info:
        parse_policy(text, kind)
    assert info.value.reason == reason
    assert str(info.value) == reason


VALID = [
    ("identity", doc(st(Resource=["arn:aws:s3:::example_bucket"]))),
    ("identity", doc(st(Action="iam: asdf safdsf af "))),
    ("identity", doc(st(Resource=["arn:aws:s3:::example_bucket", "*"]))),
    ("identity", doc(st(Action="*"))),
    ("identity", doc([OK_STMT])),
    ("identity", doc(st(Resource="arn:aws:iam:::user/example_bucket"))),
    ("identity", doc(st(Resource="arn:aws:s33:::example_bucket"))),
    ("identity", doc(st(Resource="arn:aws:fdsasf"))),
    ("identity", doc(st(Resource="arn:aws:kms:*"))),
    ("identity", doc(st(Condition={}))),
    ("identity", doc(st(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": "Department"}}))),
    ("identity", doc(st(Resource="arn:aws:cloudwatch:us-east-1::example_bucket"))),
    ("identity", doc(st(Resource="arn:aws:invalid-service:us-east-1::example_bucket"))),
    (
        "identity",
        doc(
            st(
                Condition={
                    "DateGreaterThan": {"aws:CurrentTime": "2017-07-01T00:00:00Z"},
                    "DateLessThan": {"aws:CurrentTime": "2017-12-31T23:59:59Z"},
                }
            )
        ),
    ),
    ("identity", doc(st(Condition={"DateGreaterThan": {}}))),
    ("identity", doc(st(Condition={"DateGreaterThan": {"a": []}}))),
    ("identity", doc(st(Condition={"a": {}}))),
    ("identity", doc(st(Condition={"Bool": {"aws:SecureTransport": True}}))),
    ("identity", doc(st(Condition={"NumericLessThan": {"s3:max-keys": 10}}))),
    ("identity", doc(st(Sid="dsfsdfsdfsdfsdfsadfsd"))),
    ("identity", doc(st(Sid=""), st(Sid="", Action="s3:GetObject"))),
    ("identity", doc(OK_STMT, version="2008-10-17")),
    ("identity", doc(OK_STMT, version=None)),
    ("identity", doc(OK_STMT, Id="cd3a324d2343d942772346-34234234423404-4c2242343242349d1642ee")),
    ("session", doc(OK_STMT)),
    ("boundary", doc(OK_STMT)),
    ("scp", doc({"Effect": "Deny", "Action": "organizations:LeaveOrganization"})),
    ("resource", doc(st(Principal="*"))),
    ("resource", doc(st(Principal={"AWS": "*"}))),
    ("resource", doc(st(Principal={"AWS": "111122223333"}))),
    (
        "resource",
        doc(
            st(
                Principal={
                    "AWS": [
                        "arn:aws:iam::111122223333:user/a/b/alice",
                        "arn:aws:iam::111122223333:root",
                    ]
                }
            )
        ),
    ),
    ("resource", doc(st(Principal={"AWS": "arn:aws:sts::111122223333:assumed-role/R/sess"}))),
    ("resource", doc(st(Principal={"AWS": "arn:aws:sts::111122223333:federated-user/bob"}))),
    ("resource", doc(st(Principal={"AWS": "AIDAJQABLZS4A3QDU576Q"}))),
    (
        "resource",
        doc(st(Principal={"Service": ["cloudtrail.amazonaws.com", "config.amazonaws.com"]})),
    ),
    ("resource", doc(st(Principal={"Federated": "cognito-identity.amazonaws.com"}))),
    (
        "resource",
        doc(st(Principal={"CanonicalUser": CANONICAL})),
    ),
    ("resource", doc(st(NotPrincipal=PRINCIPAL_A, Effect="Deny"))),
    ("resource", doc(st(Principal="*", Sid="Allow use of the key"))),
    (
        "trust",
        doc(
            {
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Principal": PRINCIPAL_A,
            }
        ),
    ),
    (
        "trust",
        doc(
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": "accounts.google.com"},
            }
        ),
    ),
]


@pytest.mark.parametrize(
    ("kind", "document"), VALID, ids=[f"{k}-{i}" for i, (k, _) in enumerate(VALID)]
)
def test_valid(kind, document):
    policy = parse_policy(document, kind)
    assert isinstance(policy, Policy)
    assert policy.kind == kind


def test_statement_object_or_list():
    one = parse_policy(doc(OK_STMT))
    many = parse_policy(doc([OK_STMT, st(Action="s3:GetObject")]))
    assert len(one.statements) == 1
    assert len(many.statements) == 2


def test_version_and_document_exposed():
    policy = parse_policy(doc(OK_STMT, version="2008-10-17"))
    assert policy.version == "2008-10-17"
    assert parse_policy(doc(OK_STMT, version=None)).version is None
    assert policy.document["Statement"]["Action"] == "s3:ListBucket"


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_policy(doc(OK_STMT), "bucket")


def test_bytes_and_dict_inputs():
    text = json.dumps(doc(OK_STMT))
    assert parse_policy(text.encode()) is parse_policy(text)
    assert parse_policy(doc(OK_STMT)).statements[0].allow


def test_cache_hits():
    text = json.dumps(doc(st(Action="s3:GetBucketTagging")))
    parse_policy(text)
    before = policy_cache_info().hits
    for _ in range(5):
        parse_policy(text)
    assert policy_cache_info().hits == before + 5


def test_malformed_is_not_cached_as_success():
    for _ in range(2):
        with pytest.raises(MalformedPolicy):
            parse_policy("{")


def test_statement_index_by_service():
    policy = parse_policy(
        doc(
            [
                st(Action="s3:GetObject"),
                st(Action="kms:*", Effect="Deny"),
                st(Action=None, NotAction="iam:*"),
                st(Action="*"),
            ]
        )
    )
    denies, allows = policy.candidates("kms")
    assert len(denies) == 1 and len(allows) == 2
    denies, allows = policy.candidates("s3")
    assert len(denies) == 0 and len(allows) == 3
    assert policy.candidates("sqs") == ((), tuple(policy.statements[2:]))
