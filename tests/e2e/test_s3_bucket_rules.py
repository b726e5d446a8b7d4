"""S3 bucket-level rules: who may manage a bucket policy, what AccessDenied tells whom, policy
validation, HeadBucket's region header, ListBuckets paging, S3's own errors for bad XML values,
versioning states and tag validation."""

from __future__ import annotations

import json

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.e2e.s3_helpers import (
    bucket_name,
    code,
    new_bucket,
    policy,
    s3_client,
    status,
    user_client,
)


@pytest.fixture(scope="module")
def s3(server):
    return s3_client(server)


@pytest.fixture(scope="module")
def other_account(server) -> dict:
    return server.create_account()


def _other_root(server, other_account, service: str = "s3"):
    return make_client(
        server.endpoint,
        service,
        aws_access_key_id=other_account["AccessKeyId"],
        aws_secret_access_key=other_account["SecretAccessKey"],
    )


def _other_user(server, other_account, *statements: dict):
    iam = _other_root(server, other_account, "iam")
    name = f"partner-{len(iam.list_users()['Users'])}"
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return make_client(
        server.endpoint,
        "s3",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )


def _anonymous(server):
    return make_client(
        server.endpoint,
        "s3",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


def _grant_everything_to(account_id: str, bucket: str) -> str:
    return policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        }
    )


def message(excinfo) -> str:
    return excinfo.value.response["Error"]["Message"]


# -- 1. the bucket policy belongs to the owner's account ----------------------------------------


def test_another_account_cannot_read_replace_or_delete_the_bucket_policy(server, s3, other_account):
    name = new_bucket(s3)
    granted = _grant_everything_to(other_account["AccountId"], name)
    s3.put_bucket_policy(Bucket=name, Policy=granted)
    partner_root = _other_root(server, other_account)
    partner_user = _other_user(
        server, other_account, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    )
    for partner in (partner_root, partner_user):
        calls = (
            lambda p=partner: p.get_bucket_policy(Bucket=name),
            lambda p=partner: p.put_bucket_policy(Bucket=name, Policy=granted),
            lambda p=partner: p.delete_bucket_policy(Bucket=name),
        )
        for call in calls:
            with pytest.raises(ClientError) as e:
                call()
            assert (code(e), status(e)) == ("MethodNotAllowed", 405)
    # The grant itself works (so 405, not 403, is the answer), and the policy is untouched.
    partner_root.put_object(Bucket=name, Key="k", Body=b"x")
    assert json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]) == json.loads(granted)


def test_another_account_without_the_permission_gets_access_denied(server, s3, other_account):
    name = new_bucket(s3)
    with pytest.raises(ClientError) as e:
        _other_root(server, other_account).get_bucket_policy(Bucket=name)
    assert (code(e), status(e)) == ("AccessDenied", 403)
    # The owner's own users still need the permission, and get it from their policies.
    _, client = user_client(
        server, {"Effect": "Allow", "Action": "s3:PutBucketPolicy", "Resource": "*"}
    )
    client("s3").put_bucket_policy(
        Bucket=name, Policy=_grant_everything_to(other_account["AccountId"], name)
    )


# -- 2. AccessDenied explains itself only within the owner's account ----------------------------


def test_access_denied_details_only_for_the_bucket_owners_account(server, s3, other_account):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    _, same_account = user_client(server)
    with pytest.raises(ClientError) as e:
        same_account("s3").get_object(Bucket=name, Key="k")
    assert "is not authorized to perform: s3:GetObject" in message(e)
    for stranger in (_other_root(server, other_account), _anonymous(server)):
        with pytest.raises(ClientError) as e:
            stranger.get_object(Bucket=name, Key="k")
        assert (code(e), message(e)) == ("AccessDenied", "Access Denied")


# -- 3. PutBucketPolicy refuses what S3 refuses -------------------------------------------------


def _statement(bucket: str, **changes) -> dict:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"Resource": "*"}, "Policy has invalid resource"),
        ({"Resource": "arn:aws:s3:::*"}, "Policy has invalid resource"),
        ({"Resource": "arn:aws:s3:::some-other-bucket/*"}, "Policy has invalid resource"),
        ({"Action": "s3:Bogus"}, "Policy has invalid action"),
        ({"Action": "ec2:RunInstances"}, "Policy has invalid action"),
        ({"Action": "s3:PutObject", "Resource": "{bucket}"}, "does not apply to any resource"),
        ({"Action": ["s3:GetObject", "s3:ListBucket"]}, "does not apply to any resource"),
        ({"Action": "s3:ListAllMyBuckets", "Resource": "{bucket}"}, "does not apply to any"),
    ],
)
def test_bucket_policy_rejected_as_malformed(s3, changes, expected):
    name = new_bucket(s3)
    arn = f"arn:aws:s3:::{name}"
    changes = {k: (arn if v == "{bucket}" else v) for k, v in changes.items()}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=name, Policy=policy(_statement(name, **changes)))
    assert (code(e), status(e)) == ("MalformedPolicy", 400)
    assert expected in message(e)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=name)
    assert code(e) == "NoSuchBucketPolicy"


def test_bucket_policy_over_20_kb_is_rejected(s3):
    name = new_bucket(s3)
    keys = [f"arn:aws:s3:::{name}/{i:05d}" for i in range(1200)]
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=name, Policy=policy(_statement(name, Resource=keys)))
    assert (code(e), message(e)) == (
        "MalformedPolicy",
        "Policy exceeds the maximum allowed document size.",
    )
    s3.put_bucket_policy(Bucket=name, Policy=policy(_statement(name, Resource=keys[:400])))


def test_bucket_policy_with_wildcard_actions_on_bucket_and_objects_is_accepted(s3):
    name = new_bucket(s3)
    arn = f"arn:aws:s3:::{name}"
    s3.put_bucket_policy(
        Bucket=name,
        Policy=policy(
            _statement(name, Action=["s3:Get*", "s3:List*"], Resource=[arn, f"{arn}/*"]),
            _statement(name, Action="s3:*", Resource=arn),
            _statement(name, Action="*", Resource=f"{arn}/logs/*"),
            _statement(name, Effect="Deny", Action="s3:Put*", Resource=arn),
        ),
    )


# -- 4. HeadBucket names the bucket's region to every caller ------------------------------------


def test_head_bucket_denied_still_names_the_region(server, other_account):
    name = bucket_name()
    server.client("s3", region_name="eu-west-1").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    for stranger in (
        _other_root(server, other_account),
        _anonymous(server),
        user_client(server)[1]("s3"),
    ):
        with pytest.raises(ClientError) as e:
            stranger.head_bucket(Bucket=name)
        assert status(e) == 403
        headers = e.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amz-bucket-region"] == "eu-west-1"


# -- 5. ListBuckets pages over the buckets of the region asked for ------------------------------


def test_list_buckets_by_region_pages_without_losing_buckets(server, s3):
    prefix = bucket_name("lr") + "-"
    for suffix in ("a1", "a2", "a3"):
        s3.create_bucket(Bucket=prefix + suffix)
    west = server.client("s3", region_name="eu-west-1")
    for suffix in ("b1", "b2"):
        west.create_bucket(
            Bucket=prefix + suffix,
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        )
    pages, token = [], None
    while True:
        extra = {"ContinuationToken": token} if token else {}
        page = s3.list_buckets(Prefix=prefix, BucketRegion="eu-west-1", MaxBuckets=1, **extra)
        pages.append([b["Name"] for b in page["Buckets"]])
        token = page.get("ContinuationToken")
        if not token:
            break
    assert pages == [[prefix + "b1"], [prefix + "b2"]]


# -- 6. S3's own errors for bad values in XML bodies --------------------------------------------


def test_create_bucket_with_us_east_1_as_location_constraint(s3):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(
            Bucket=bucket_name(), CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
        )
    assert (code(e), status(e), message(e)) == (
        "InvalidLocationConstraint",
        400,
        "The specified location-constraint is not valid",
    )


def test_bad_enum_values_in_xml_bodies_are_malformed_xml(s3):
    name = new_bucket(s3)
    calls = (
        lambda: s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Bogus"}),
        lambda: s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Bogus"}
        ),
        lambda: s3.put_bucket_ownership_controls(
            Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "Bogus"}]}
        ),
        lambda: s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "Bogus"}}]
            },
        ),
    )
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert (code(e), status(e)) == ("MalformedXML", 400)
    assert "Status" not in s3.get_bucket_versioning(Bucket=name)
    rules = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_bad_enum_values_in_headers_and_query_are_still_invalid_argument(s3):
    name = new_bucket(s3)
    calls = (
        lambda: s3.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="BOGUS"),
        lambda: s3.list_objects_v2(Bucket=name, EncodingType="bogus"),
    )
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert (code(e), status(e)) == ("InvalidArgument", 400)


# -- 7. MFA Delete is refused rather than silently ignored --------------------------------------


def test_mfa_delete_enabled_is_refused_and_changes_nothing(s3):
    name = new_bucket(s3)
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(
            Bucket=name,
            MFA="arn:aws:iam::000000000000:mfa/root 123456",
            VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"},
        )
    assert (code(e), status(e)) == ("NotImplemented", 501)
    assert "MFA Delete" in message(e)
    assert "Status" not in s3.get_bucket_versioning(Bucket=name)
    s3.put_bucket_versioning(
        Bucket=name, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Disabled"}
    )
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"


# -- 8. Suspended is a state of its own, also on a bucket never versioned -----------------------


def test_suspending_a_never_versioned_bucket_records_suspended(s3):
    name = new_bucket(s3)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"


# -- 9. one set of tag rules for buckets and objects --------------------------------------------

_KEY = "The TagKey you have provided is invalid"
_VALUE = "The TagValue you have provided is invalid"
_RESERVED = "Your TagKey cannot be prefixed with aws:"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("k" * 129, "v", _KEY),
        ("k#", "v", _KEY),
        ("k", "v" * 257, _VALUE),
        ("k", "inv&alid", _VALUE),
        ("aws:owner", "v", _RESERVED),
    ],
)
def test_invalid_tags_are_refused_on_buckets_and_objects(s3, key, value, expected):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="o", Body=b"x")
    tagging = {"TagSet": [{"Key": key, "Value": value}]}
    calls = (
        lambda: s3.put_bucket_tagging(Bucket=name, Tagging=tagging),
        lambda: s3.put_object_tagging(Bucket=name, Key="o", Tagging=tagging),
    )
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert (code(e), status(e), message(e)) == ("InvalidTag", 400, expected)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=name)
    assert code(e) == "NoSuchTagSet"
    assert s3.get_object_tagging(Bucket=name, Key="o")["TagSet"] == []


def test_valid_tags_in_any_script_with_the_allowed_symbols(s3):
    name = new_bucket(s3)
    tags = [
        {"Key": "k" * 128, "Value": "v" * 256},
        {"Key": "名前 _.:/=+-@", "Value": ""},
        {"Key": "Umlaut-ä1", "Value": "Wert Ü 2"},
    ]
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
    got = s3.get_bucket_tagging(Bucket=name)["TagSet"]
    assert sorted(got, key=lambda t: t["Key"]) == sorted(tags, key=lambda t: t["Key"])
    s3.put_object(Bucket=name, Key="o", Body=b"x", Tagging="aws-ok=1&x=%E5%90%8D")
    assert len(s3.get_object_tagging(Bucket=name, Key="o")["TagSet"]) == 2


# -- 10. a fixed KMS key id condition makes a policy non-public ---------------------------------


def test_policy_pinned_to_a_kms_key_id_is_not_public(s3):
    name = new_bucket(s3)
    key = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    pinned = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key}},
    }
    s3.put_bucket_policy(Bucket=name, Policy=policy(pinned))  # BlockPublicPolicy is on
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False


# -- 11. a bucket created with the legacy constraint EU ------------------------------------------


def test_bucket_created_with_eu_reports_eu_as_its_location(server):
    west = server.client("s3", region_name="eu-west-1")
    name = bucket_name()
    west.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "EU"})
    assert west.get_bucket_location(Bucket=name)["LocationConstraint"] == "EU"
    assert west.head_bucket(Bucket=name)["BucketRegion"] == "eu-west-1"
