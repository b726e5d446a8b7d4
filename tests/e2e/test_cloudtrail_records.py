"""What CloudTrail records, end to end through boto3: cross-account calls in every account
involved (with a sharedEventID), KMS calls AWS services make on a caller's behalf, trails that
stop and start again between deliveries."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.e2e.s3_helpers import new_bucket
from tests.e2e.sts_helpers import allow, document, new_user, time_travel, trust, unique
from tests.e2e.test_cloudtrail_delivery import key_policy, log_files
from tests.e2e.test_cloudtrail_lookup import lookup, wait_for
from tests.e2e.test_cloudtrail_trails import ACCOUNT, trail_bucket


@pytest.fixture(scope="module")
def other(server):
    """A second account: (account id, client factory)."""
    account = server.create_account()

    def client(service: str, **kwargs):
        return make_client(
            server.endpoint,
            service,
            aws_access_key_id=account["AccessKeyId"],
            aws_secret_access_key=account["SecretAccessKey"],
            **kwargs,
        )

    return account["AccountId"], client


def _by_request(request_id: str):
    return lambda record: record["requestID"] == request_id


def _records_of(ct, name: str, request_id: str) -> list[dict]:
    return [
        json.loads(e["CloudTrailEvent"])
        for e in lookup(ct, "EventName", name)
        if json.loads(e["CloudTrailEvent"])["requestID"] == request_id
    ]


def _shared_key(other_account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{other_account}:root"},
                    "Action": ["kms:Encrypt", "kms:Decrypt"],
                    "Resource": "*",
                },
            ],
        }
    )


def test_a_cross_account_kms_call_is_recorded_in_both_accounts(server, other):
    other_account, other_client = other
    key_arn = server.client("kms").create_key(Policy=_shared_key(other_account))["KeyMetadata"][
        "Arn"
    ]
    response = other_client("kms").encrypt(KeyId=key_arn, Plaintext=b"secret!")
    request_id = response["ResponseMetadata"]["RequestId"]

    _, caller_copy, _ = wait_for(
        other_client("cloudtrail"), "EventName", "Encrypt", _by_request(request_id)
    )
    _, owner_copy, _ = wait_for(
        server.client("cloudtrail"), "EventName", "Encrypt", _by_request(request_id)
    )
    assert caller_copy["recipientAccountId"] == other_account
    assert owner_copy["recipientAccountId"] == ACCOUNT
    assert caller_copy["sharedEventID"] == owner_copy["sharedEventID"]
    uuid.UUID(owner_copy["sharedEventID"])
    assert caller_copy["eventID"] != owner_copy["eventID"]
    assert caller_copy["userIdentity"]["arn"] == f"arn:aws:iam::{other_account}:root"
    # The key owner learns which account (and principal) called, not its credentials.
    assert owner_copy["userIdentity"] == {
        "type": "AWSAccount",
        "principalId": caller_copy["userIdentity"]["principalId"],
        "accountId": other_account,
    }
    assert owner_copy["resources"] == [
        {"ARN": key_arn, "accountId": ACCOUNT, "type": "AWS::KMS::Key"}
    ]
    assert owner_copy["requestParameters"] == caller_copy["requestParameters"]


def test_a_cross_account_call_denied_stays_in_the_callers_account(server, other):
    other_account, other_client = other
    kms = server.client("kms")
    key_arn = kms.create_key(Policy=_shared_key(other_account))["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as denied:
        other_client("kms").generate_data_key(KeyId=key_arn, KeySpec="AES_256")
    request_id = denied.value.response["ResponseMetadata"]["RequestId"]
    _, record, _ = wait_for(
        other_client("cloudtrail"), "EventName", "GenerateDataKey", _by_request(request_id)
    )
    assert record["errorCode"] == "AccessDeniedException"
    assert "sharedEventID" not in record
    # the owner's history has no copy
    assert _records_of(server.client("cloudtrail"), "GenerateDataKey", request_id) == []


def test_a_same_account_call_has_no_shared_event_id(server):
    kms = server.client("kms")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    request_id = kms.encrypt(KeyId=key_arn, Plaintext=b"x")["ResponseMetadata"]["RequestId"]
    _, record, _ = wait_for(
        server.client("cloudtrail"), "EventName", "Encrypt", _by_request(request_id)
    )
    assert "sharedEventID" not in record
    assert record["resources"][0]["accountId"] == ACCOUNT


def test_a_cross_account_assume_role_is_recorded_for_the_role_owner(server, other):
    other_account, other_client = other
    iam = server.client("iam")
    role = iam.create_role(
        RoleName=unique("xacct"),
        AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{other_account}:root"}),
    )["Role"]
    other_iam = other_client("iam")
    user = unique("visitor")
    other_iam.create_user(UserName=user)
    other_iam.put_user_policy(
        UserName=user, PolicyName="p", PolicyDocument=document(allow("sts:AssumeRole"))
    )
    key = other_iam.create_access_key(UserName=user)["AccessKey"]
    visitor = make_client(
        server.endpoint,
        "sts",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    response = visitor.assume_role(RoleArn=role["Arn"], RoleSessionName="visit")
    request_id = response["ResponseMetadata"]["RequestId"]
    _, caller_copy, _ = wait_for(
        other_client("cloudtrail"), "EventName", "AssumeRole", _by_request(request_id)
    )
    _, owner_copy, _ = wait_for(
        server.client("cloudtrail"), "EventName", "AssumeRole", _by_request(request_id)
    )
    assert owner_copy["recipientAccountId"] == ACCOUNT
    assert caller_copy["recipientAccountId"] == other_account
    assert owner_copy["sharedEventID"] == caller_copy["sharedEventID"]
    assert owner_copy["resources"][0]["accountId"] == ACCOUNT
    assert owner_copy["userIdentity"]["type"] == "AWSAccount"


def test_a_call_on_another_accounts_bucket_is_recorded_for_the_bucket_owner(server, other):
    other_account, other_client = other
    s3 = server.client("s3")
    bucket = new_bucket(s3, "xacct")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{other_account}:root"},
                        "Action": "s3:GetBucketVersioning",
                        "Resource": f"arn:aws:s3:::{bucket}",
                    }
                ],
            }
        ),
    )
    # (the bucket policy operations answer other accounts 405: a bucket read they may call)
    response = other_client("s3").get_bucket_versioning(Bucket=bucket)
    request_id = response["ResponseMetadata"]["RequestId"]
    _, owner_copy, _ = wait_for(
        server.client("cloudtrail"), "EventName", "GetBucketVersioning", _by_request(request_id)
    )
    _, caller_copy, _ = wait_for(
        other_client("cloudtrail"), "EventName", "GetBucketVersioning", _by_request(request_id)
    )
    assert owner_copy["sharedEventID"] == caller_copy["sharedEventID"]
    bucket_arn = f"arn:aws:s3:::{bucket}"
    assert caller_copy["resources"] == [
        {"ARN": bucket_arn, "accountId": ACCOUNT, "type": "AWS::S3::Bucket"}
    ]


# -- KMS calls made by AWS services ------------------------------------------------------------


def test_s3_sse_kms_calls_are_recorded_as_kms_events_invoked_by_s3(server):
    s3, kms, ct = server.client("s3"), server.client("kms"), server.client("cloudtrail")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    bucket = new_bucket(s3, "ssekms")
    s3.put_object(
        Bucket=bucket, Key="o", Body=b"body", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn
    )
    s3.get_object(Bucket=bucket, Key="o")["Body"].read()
    object_arn = f"arn:aws:s3:::{bucket}/o"

    def on_object(record):
        params = record.get("requestParameters") or {}
        return (params.get("encryptionContext") or {}).get("aws:s3:arn") == object_arn

    _, generated, _ = wait_for(ct, "EventName", "GenerateDataKey", on_object)
    _, decrypted, _ = wait_for(ct, "EventName", "Decrypt", on_object)
    for record in (generated, decrypted):
        assert record["eventSource"] == "kms.amazonaws.com"
        assert record["userIdentity"]["invokedBy"] == "s3.amazonaws.com"
        assert record["userIdentity"]["accountId"] == ACCOUNT
        assert record["sourceIPAddress"] == "s3.amazonaws.com"
        assert record["userAgent"] == "s3.amazonaws.com"
        assert record["awsRegion"] == "us-east-1"
        assert record["readOnly"] is True
        assert record["responseElements"] is None
        assert record["resources"] == [
            {"ARN": key_arn, "accountId": ACCOUNT, "type": "AWS::KMS::Key"}
        ]
    assert generated["requestParameters"] == {
        "keyId": key_arn,
        "encryptionContext": {"aws:s3:arn": object_arn},
        "keySpec": "AES_256",
    }
    assert decrypted["requestParameters"] == {
        "encryptionContext": {"aws:s3:arn": object_arn},
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "keyId": key_arn,
    }


def test_cloudtrails_own_sse_kms_delivery_is_recorded_as_an_aws_service_call(server):
    ct, s3, kms = server.client("cloudtrail"), server.client("s3"), server.client("kms")
    bucket = trail_bucket(s3)
    key_arn = kms.create_key(Policy=key_policy())["KeyMetadata"]["Arn"]
    name = unique("trail-kms")
    arn = ct.create_trail(Name=name, S3BucketName=bucket, KmsKeyId=key_arn)["TrailARN"]
    ct.start_logging(Name=name)
    server.client("iam").list_users()
    time_travel(server, 61)
    assert log_files(s3, bucket)

    def for_trail(record):
        params = record.get("requestParameters") or {}
        return (params.get("encryptionContext") or {}).get("aws:cloudtrail:arn") == arn

    _, record, _ = wait_for(ct, "EventName", "GenerateDataKey", for_trail)
    assert record["userIdentity"] == {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}
    assert record["sourceIPAddress"] == "cloudtrail.amazonaws.com"
    assert record["requestParameters"]["keyId"] == key_arn
    assert record["requestParameters"]["keySpec"] == "AES_256"
    assert record["resources"][0]["ARN"] == key_arn
    assert record["recipientAccountId"] == ACCOUNT
    ct.stop_logging(Name=name)


# -- logging periods ------------------------------------------------------------------------------


def test_a_trail_stopped_and_started_before_delivery_delivers_what_it_logged(fresh_server):
    server = fresh_server.start("--allow-time-travel")
    ct, s3, kms = server.client("cloudtrail"), server.client("s3"), server.client("kms")
    bucket = trail_bucket(s3)
    name = unique("trail-restart")
    ct.create_trail(Name=name, S3BucketName=bucket)
    ct.start_logging(Name=name)
    time_travel(server, 2)
    logged_before = kms.list_aliases()["ResponseMetadata"]["RequestId"]
    time_travel(server, 2)
    stopped = ct.stop_logging(Name=name)["ResponseMetadata"]["RequestId"]
    time_travel(server, 2)
    unlogged = kms.list_aliases()["ResponseMetadata"]["RequestId"]
    time_travel(server, 2)
    restarted = ct.start_logging(Name=name)["ResponseMetadata"]["RequestId"]
    time_travel(server, 2)
    logged_after = kms.list_aliases()["ResponseMetadata"]["RequestId"]
    time_travel(server, 61)

    delivered = {
        record["requestID"]: record["eventName"]
        for records in log_files(s3, bucket).values()
        for record in records
    }
    assert delivered.get(logged_before) == "ListAliases"
    assert delivered.get(stopped) == "StopLogging"
    assert delivered.get(restarted) == "StartLogging"
    assert delivered.get(logged_after) == "ListAliases"
    assert unlogged not in delivered


# -- STS credential-issuing calls -----------------------------------------------------------------


def test_credential_issuing_sts_get_calls_are_writes_with_their_response(server):
    _, _, user = new_user(server, allow("sts:GetFederationToken"))
    sts, ct = user("sts"), server.client("cloudtrail")
    session = sts.get_session_token()
    federated = sts.get_federation_token(Name="fed", Policy=document(allow("s3:ListBucket")))
    identity = sts.get_caller_identity()
    for response, name in (
        (session, "GetSessionToken"),
        (federated, "GetFederationToken"),
    ):
        _, record, _ = wait_for(
            ct, "EventName", name, _by_request(response["ResponseMetadata"]["RequestId"])
        )
        assert record["readOnly"] is False
        credentials = record["responseElements"]["credentials"]
        assert credentials["accessKeyId"] == response["Credentials"]["AccessKeyId"]
        assert "expiration" in credentials
        text = json.dumps(record)
        assert response["Credentials"]["SecretAccessKey"] not in text
        assert response["Credentials"]["SessionToken"] not in text
    _, record, _ = wait_for(
        ct,
        "EventName",
        "GetFederationToken",
        _by_request(federated["ResponseMetadata"]["RequestId"]),
    )
    assert record["responseElements"]["federatedUser"]["arn"] == federated["FederatedUser"]["Arn"]
    _, record, _ = wait_for(
        ct, "EventName", "GetCallerIdentity", _by_request(identity["ResponseMetadata"]["RequestId"])
    )
    assert record["readOnly"] is True


# -- requestParameters as each service records them ---------------------------------------------


def test_s3_records_request_parameters_under_their_http_names_with_the_host(server):
    s3, ct = server.client("s3"), server.client("cloudtrail")
    bucket = new_bucket(s3, "names")
    put = s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    get = s3.get_bucket_versioning(Bucket=bucket, ExpectedBucketOwner=ACCOUNT)
    host = urlsplit(server.endpoint).netloc

    _, put_record, _ = wait_for(
        ct, "EventName", "PutBucketVersioning", _by_request(put["ResponseMetadata"]["RequestId"])
    )
    _, get_record, _ = wait_for(
        ct, "EventName", "GetBucketVersioning", _by_request(get["ResponseMetadata"]["RequestId"])
    )
    assert put_record["requestParameters"]["bucketName"] == bucket
    assert put_record["requestParameters"]["Host"] == host
    assert put_record["requestParameters"]["versioning"] == ""
    assert "VersioningConfiguration" in put_record["requestParameters"]
    assert "bucket" not in put_record["requestParameters"]
    assert get_record["requestParameters"] == {
        "bucketName": bucket,
        "Host": host,
        "versioning": "",
        "x-amz-expected-bucket-owner": ACCOUNT,
    }


def test_s3_records_a_bucket_policy_as_the_json_object_it_is(server):
    s3, ct = server.client("s3"), server.client("cloudtrail")
    bucket = new_bucket(s3, "policy")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    put = s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
    _, record, _ = wait_for(
        ct, "EventName", "PutBucketPolicy", _by_request(put["ResponseMetadata"]["RequestId"])
    )
    assert record["requestParameters"]["bucketPolicy"] == document
    assert record["requestParameters"]["bucketName"] == bucket


def test_kms_records_the_algorithms_and_key_it_used_though_the_request_left_them_out(server):
    kms, ct = server.client("kms"), server.client("cloudtrail")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    other_arn = kms.create_key()["KeyMetadata"]["Arn"]
    context = {"Department": "Engineering"}
    encrypted = kms.encrypt(KeyId=key_arn, Plaintext=b"secret!", EncryptionContext=context)
    blob = encrypted["CiphertextBlob"]
    decrypted = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    reencrypted = kms.re_encrypt(
        CiphertextBlob=blob, SourceEncryptionContext=context, DestinationKeyId=other_arn
    )

    def record_of(name, response):
        _, record, _ = wait_for(
            ct, "EventName", name, _by_request(response["ResponseMetadata"]["RequestId"])
        )
        return record["requestParameters"]

    assert record_of("Encrypt", encrypted) == {
        "keyId": key_arn,
        "encryptionContext": context,
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    assert record_of("Decrypt", decrypted) == {
        "keyId": key_arn,
        "encryptionContext": context,
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    assert record_of("ReEncrypt", reencrypted) == {
        "sourceEncryptionContext": context,
        "sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "destinationKeyId": other_arn,
        "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }


def test_a_failed_decrypt_records_the_algorithm_and_no_secret(server):
    kms, ct = server.client("kms"), server.client("cloudtrail")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key_arn, Plaintext=b"secret!", EncryptionContext={"a": "b"})[
        "CiphertextBlob"
    ]
    with pytest.raises(ClientError) as refused:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "other"})
    assert refused.value.response["Error"]["Code"] == "InvalidCiphertextException"
    request_id = refused.value.response["ResponseMetadata"]["RequestId"]
    _, record, _ = wait_for(ct, "EventName", "Decrypt", _by_request(request_id))
    assert record["errorCode"] == "InvalidCiphertextException"
    assert record["requestParameters"]["encryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert record["requestParameters"]["encryptionContext"] == {"a": "other"}
    assert "ciphertextBlob" not in record["requestParameters"]


# -- SNS notifications: no topic exists in mamori -------------------------------------------------


def _refused_for_its_topic(call) -> None:
    with pytest.raises(ClientError) as refused:
        call()
    error = refused.value.response["Error"]
    assert error["Code"] == "InsufficientSnsTopicPolicyException"
    assert error["Message"] == "SNS Topic does not exist or the topic policy is incorrect!"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_trail_naming_an_sns_topic_is_refused_and_nothing_changes(server):
    ct, s3 = server.client("cloudtrail"), server.client("s3")
    bucket = trail_bucket(s3)
    name = unique("trail-sns")
    _refused_for_its_topic(
        lambda: ct.create_trail(Name=name, S3BucketName=bucket, SnsTopicName="no-such-topic")
    )
    assert ct.describe_trails(trailNameList=[name])["trailList"] == []

    ct.create_trail(Name=name, S3BucketName=bucket)
    _refused_for_its_topic(
        lambda: ct.update_trail(Name=name, SnsTopicName="no-such-topic", S3KeyPrefix="changed")
    )
    trail = ct.get_trail(Name=name)["Trail"]
    assert "SnsTopicName" not in trail
    assert "S3KeyPrefix" not in trail
    ct.delete_trail(Name=name)
