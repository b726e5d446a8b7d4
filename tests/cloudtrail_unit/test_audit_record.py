"""The CloudTrail record's userIdentity for every identity type, global services' region,
timestamps inside request/response elements, tlsDetails."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mamori.gateway import audit
from mamori.iam.principals import Principal, Session, anonymous_principal, root_principal
from mamori.service_models import service_model

A = "123456789012"
ISSUED = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_root_and_iam_user():
    assert audit.user_identity(root_principal(A, "AKIAROOT")) == {
        "type": "Root",
        "principalId": A,
        "arn": f"arn:aws:iam::{A}:root",
        "accountId": A,
        "accessKeyId": "AKIAROOT",
    }
    user = Principal("IAMUser", A, f"arn:aws:iam::{A}:user/alice", "AIDAALICE", "alice", "AKIA1")
    assert audit.user_identity(user) == {
        "type": "IAMUser",
        "principalId": "AIDAALICE",
        "arn": f"arn:aws:iam::{A}:user/alice",
        "accountId": A,
        "accessKeyId": "AKIA1",
        "userName": "alice",
    }


def test_iam_user_with_session_credentials_has_an_empty_issuer():
    session = Session(issued=ISSUED, expires=ISSUED, mfa_authenticated=True)
    user = Principal(
        "IAMUser", A, f"arn:aws:iam::{A}:user/alice", "AIDAALICE", "alice", "ASIA1", session=session
    )
    identity = audit.user_identity(user)
    assert identity["userName"] == "alice"
    assert identity["sessionContext"] == {
        "sessionIssuer": {},
        "webIdFederationData": {},
        "attributes": {"creationDate": "2026-03-04T05:06:07Z", "mfaAuthenticated": "true"},
    }


def test_assumed_role_has_the_session_context():
    role = f"arn:aws:iam::{A}:role/path/deployer"
    session = Session(
        issued=ISSUED,
        expires=ISSUED,
        role_arn=role,
        session_name="ci",
        source_identity="alice@example.com",
    )
    principal = Principal(
        "AssumedRole",
        A,
        f"arn:aws:sts::{A}:assumed-role/deployer/ci",
        "AROADEPLOYER:ci",
        access_key_id="ASIA2",
        session=session,
    )
    assert audit.user_identity(principal) == {
        "type": "AssumedRole",
        "principalId": "AROADEPLOYER:ci",
        "arn": f"arn:aws:sts::{A}:assumed-role/deployer/ci",
        "accountId": A,
        "accessKeyId": "ASIA2",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROADEPLOYER",
                "arn": role,
                "accountId": A,
                "userName": "deployer",
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-03-04T05:06:07Z", "mfaAuthenticated": "false"},
            "sourceIdentity": "alice@example.com",
        },
    }


def test_web_identity_session_names_its_provider():
    provider = f"arn:aws:iam::{A}:oidc-provider/issuer.example.com"
    session = Session(
        issued=ISSUED,
        expires=ISSUED,
        role_arn=f"arn:aws:iam::{A}:role/web",
        session_name="app",
        federated_provider=provider,
    )
    principal = Principal(
        "AssumedRole", A, f"arn:aws:sts::{A}:assumed-role/web/app", "AROAWEB:app", session=session
    )
    context = audit.user_identity(principal)["sessionContext"]
    assert context["webIdFederationData"] == {"federatedProvider": provider, "attributes": {}}


def test_federated_user_names_its_issuer_not_a_top_level_user():
    session = Session(
        issued=ISSUED, expires=ISSUED, role_arn=f"arn:aws:iam::{A}:user/bob", session_name="p"
    )
    principal = Principal(
        "FederatedUser",
        A,
        f"arn:aws:sts::{A}:federated-user/p",
        f"{A}:p",
        user_name="bob",
        access_key_id="ASIA3",
        session=session,
    )
    identity = audit.user_identity(principal)
    assert "userName" not in identity
    assert identity["sessionContext"]["sessionIssuer"] == {
        "type": "IAMUser",
        "arn": f"arn:aws:iam::{A}:user/bob",
        "accountId": A,
        "userName": "bob",
    }
    by_root = Session(issued=ISSUED, expires=ISSUED, role_arn=f"arn:aws:iam::{A}:root")
    root_fed = Principal("FederatedUser", A, "arn:x", f"{A}:p", session=by_root)
    assert audit.user_identity(root_fed)["sessionContext"]["sessionIssuer"] == {
        "type": "Root",
        "principalId": A,
        "arn": f"arn:aws:iam::{A}:root",
        "accountId": A,
    }


def test_anonymous_and_unknown():
    assert audit.user_identity(anonymous_principal(A)) == {
        "type": "AWSAccount",
        "principalId": "",
        "accountId": "anonymous",
    }
    unknown = Principal("Unknown", A, "", "", access_key_id="AKIAWHO")
    assert audit.user_identity(unknown) == {
        "type": "Unknown",
        "principalId": "",
        "accountId": A,
        "accessKeyId": "AKIAWHO",
    }


def test_saml_user_and_its_hidden_assertion():
    """AssumeRoleWithSAML's caller is the SAML subject (CloudTrail's SAMLUser layout), and the
    assertion, a bearer credential, is never recorded."""
    user = Principal(
        "SAMLUser",
        A,
        "",
        "nq+Q=:alice",
        user_name="alice",
        identity_provider="nq+Q=",
    )
    assert audit.user_identity(user) == {
        "type": "SAMLUser",
        "principalId": "nq+Q=:alice",
        "userName": "alice",
        "identityProvider": "nq+Q=",
    }
    record = audit.build_record(
        operation=service_model("sts").operation_model("AssumeRoleWithSAML"),
        principal=user,
        region="us-east-1",
        event_time=ISSUED,
        source_ip="10.0.0.1",
        user_agent="ua",
        request_id="r",
        params={
            "RoleArn": f"arn:aws:iam::{A}:role/r",
            "PrincipalArn": f"arn:aws:iam::{A}:saml-provider/p",
            "SAMLAssertion": "PHNhbWxwOlJlc3BvbnNlLz4=",
        },
        output=None,
        error_code=None,
        error_message=None,
        resources=None,
        tls=False,
    )
    assert "PHNhbWxwOlJlc3BvbnNlLz4=" not in json.dumps(record)
    assert record["recipientAccountId"] == A


def _record(service: str, operation: str, region: str, **kw):
    return audit.build_record(
        operation=service_model(service).operation_model(operation),
        principal=root_principal(A, "AKIAROOT"),
        region=region,
        event_time=ISSUED,
        source_ip="10.0.0.1",
        user_agent="ua",
        request_id="r",
        params=kw.pop("params", None),
        output=kw.pop("output", None),
        error_code=None,
        error_message=None,
        resources=None,
        tls=kw.pop("tls", False),
        **kw,
    )


def test_global_services_are_recorded_in_us_east_1_and_regional_ones_where_called():
    assert _record("iam", "ListUsers", "eu-west-1")["awsRegion"] == "us-east-1"
    assert _record("sts", "GetCallerIdentity", "eu-west-1")["awsRegion"] == "eu-west-1"
    assert _record("kms", "ListKeys", "ap-northeast-1")["awsRegion"] == "ap-northeast-1"


def test_timestamps_in_elements_are_written_as_cloudtrail_does():
    output = {
        "User": {
            "Path": "/",
            "UserName": "a",
            "UserId": "AIDA",
            "Arn": "arn",
            "CreateDate": "2026-11-30T19:02:03.027681+00:00",
        }
    }
    record = _record("iam", "CreateUser", "us-east-1", params={"UserName": "a"}, output=output)
    assert record["responseElements"]["user"]["createDate"] == "Nov 30, 2026, 7:02:03 PM"
    output["User"]["CreateDate"] = datetime(2026, 1, 5, 0, 4, 5, tzinfo=UTC)
    record = _record("iam", "CreateUser", "us-east-1", params={"UserName": "a"}, output=output)
    assert record["responseElements"]["user"]["createDate"] == "Jan 5, 2026, 12:04:05 AM"


def test_tls_details_name_the_host_when_given():
    record = _record("sts", "GetCallerIdentity", "us-east-1", tls=True, host="localhost:4566")
    assert record["tlsDetails"] == {
        "tlsVersion": "TLSv1.3",
        "clientProvidedHostHeader": "localhost:4566",
    }
    assert "tlsDetails" not in _record("sts", "GetCallerIdentity", "us-east-1")


def test_s3_object_operations_are_data_events_in_the_journal_record():
    for operation in ("PutObject", "GetObject", "DeleteObjects"):
        record = _record("s3", operation, "us-east-1")
        assert (record["eventCategory"], record["managementEvent"]) == ("Data", False), operation
    for service, operation in (("s3", "CreateBucket"), ("s3", "ListObjectsV2"), ("kms", "Decrypt")):
        record = _record(service, operation, "us-east-1")
        assert (record["eventCategory"], record["managementEvent"]) == ("Management", True)


def _request_parameters(service, operation, params, resources=None, host="s3.local:4566"):
    return audit.build_record(
        operation=service_model(service).operation_model(operation),
        principal=root_principal(A, "AKIAROOT"),
        region="us-east-1",
        event_time=ISSUED,
        source_ip="10.0.0.1",
        user_agent="ua",
        request_id="r",
        params=params,
        output=None,
        error_code=None,
        error_message=None,
        resources=resources,
        tls=False,
        host=host,
    )["requestParameters"]


def test_s3_names_each_member_as_it_travels_over_http():
    put = {"Bucket": "b", "Key": "k", "Body": b"x", "Tagging": "a=b", "ACL": "private"}
    assert _request_parameters("s3", "PutObject", put) == {
        "bucketName": "b",
        "key": "k",
        "x-amz-tagging": "a=b",
        "x-amz-acl": "private",
        "Host": "s3.local:4566",
    }
    tagging = {"Bucket": "b", "Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}}
    recorded = _request_parameters("s3", "PutBucketTagging", tagging)
    assert recorded["tagging"] == "" and "Tagging" in recorded
    listed = _request_parameters("s3", "ListObjectsV2", {"Bucket": "b", "StartAfter": "x"})
    assert listed == {
        "bucketName": "b",
        "list-type": "2",
        "start-after": "x",
        "Host": "s3.local:4566",
    }
    complete = {"Bucket": "b", "Key": "k", "UploadId": "u", "MultipartUpload": {"Parts": []}}
    assert set(_request_parameters("s3", "CompleteMultipartUpload", complete)) == {
        "bucketName",
        "key",
        "uploadId",
        "CompleteMultipartUpload",
        "Host",
    }
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*"}]}
    put_policy = {"Bucket": "b", "Policy": json.dumps(document)}
    assert _request_parameters("s3", "PutBucketPolicy", put_policy) == {
        "bucketName": "b",
        "bucketPolicy": document,  # the JSON object, as CloudTrail records it
        "policy": "",
        "Host": "s3.local:4566",
    }
    malformed = {"Bucket": "b", "Policy": "{not json"}
    assert _request_parameters("s3", "PutBucketPolicy", malformed)["bucketPolicy"] == "{not json"


def test_other_services_keep_the_member_names_and_record_no_host():
    assert _request_parameters("iam", "GetUser", {"UserName": "a"}) == {"userName": "a"}


def test_decrypt_records_the_key_it_used_unless_the_request_named_one():
    key = f"arn:aws:kms:us-east-1:{A}:key/1234"
    used = [{"ARN": key, "accountId": A, "type": "AWS::KMS::Key"}]
    assert _request_parameters("kms", "Decrypt", {"CiphertextBlob": b"c"}, used) == {
        "keyId": key,
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    named = {
        "CiphertextBlob": b"c",
        "KeyId": "alias/app",
        "EncryptionAlgorithm": "RSAES_OAEP_SHA_256",
    }
    assert _request_parameters("kms", "Decrypt", named, used) == {
        "keyId": "alias/app",
        "encryptionAlgorithm": "RSAES_OAEP_SHA_256",
    }
    # GenerateDataKey records what the request said (KMS guide, ct-generatedatakey)
    generated = {"KeyId": key, "KeySpec": "AES_256"}
    assert _request_parameters("kms", "GenerateDataKey", generated, used) == {
        "keyId": key,
        "keySpec": "AES_256",
    }
