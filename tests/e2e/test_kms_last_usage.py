"""GetKeyLastUsage end to end: a key's last successful cryptographic use, as the audit journal
recorded it (the same eventID LookupEvents shows), through boto3 and the AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, make_client
from tests.e2e.s3_helpers import new_bucket
from tests.e2e.sts_helpers import allow, new_user, server_now


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def usage_after(kms, key: str, request_id: str, timeout: float = 3.0) -> dict:
    """GetKeyLastUsage's answer once it names the call ``request_id`` (records are committed a
    few milliseconds after their call); fails after ``timeout``."""
    started = time.monotonic()
    while True:
        answer = kms.get_key_last_usage(KeyId=key)
        if answer["KeyLastUsage"].get("KmsRequestId") == request_id:
            return answer
        if time.monotonic() - started > timeout:
            pytest.fail(f"last usage of {key} is {answer['KeyLastUsage']}, not {request_id}")
        time.sleep(0.05)


def settled_usage(kms, key: str, *calls_made_before) -> dict:
    """GetKeyLastUsage's answer after every call made before has surely been journaled: a later
    call on another key (``calls_made_before`` is one) shows in that key's usage first."""
    marker = kms.create_key()["KeyMetadata"]["KeyId"]
    request_id = kms.encrypt(KeyId=marker, Plaintext=b"marker")["ResponseMetadata"]["RequestId"]
    usage_after(kms, marker, request_id)
    return kms.get_key_last_usage(KeyId=key)


def lookup_event(server, request_id: str, key_arn: str, timeout: float = 3.0) -> dict:
    """The LookupEvents event of the call ``request_id`` (by the key's ResourceName)."""
    ct = server.client("cloudtrail")
    started = time.monotonic()
    while True:
        events = ct.lookup_events(
            LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key_arn}]
        )["Events"]
        for event in events:
            if json.loads(event["CloudTrailEvent"])["requestID"] == request_id:
                return event
        if time.monotonic() - started > timeout:
            pytest.fail(f"no LookupEvents event for request {request_id}")
        time.sleep(0.05)


def test_new_key_has_no_last_usage(kms):
    meta = kms.create_key()["KeyMetadata"]
    kms.describe_key(KeyId=meta["KeyId"])
    answer = settled_usage(kms, meta["KeyId"])
    assert answer["KeyId"] == meta["KeyId"]
    assert answer["KeyLastUsage"] == {}
    assert answer["KeyCreationDate"] == meta["CreationDate"]
    # Tracking starts when the key was created (later than 90 days ago).
    assert answer["TrackingStartDate"] == meta["CreationDate"]


def test_encrypt_then_decrypt_is_the_last_usage_with_its_event_and_request_ids(server, kms):
    meta = kms.create_key()["KeyMetadata"]
    key, arn = meta["KeyId"], meta["Arn"]
    # the server's domain clock (other tests may have moved it), not this machine's
    before = server_now(server).replace(microsecond=0) - timedelta(seconds=1)
    encrypted = kms.encrypt(KeyId=key, Plaintext=b"secret")
    encrypt_id = encrypted["ResponseMetadata"]["RequestId"]
    answer = usage_after(kms, key, encrypt_id)
    usage = answer["KeyLastUsage"]
    assert usage["Operation"] == "Encrypt"
    assert before <= usage["Timestamp"] <= server_now(server) + timedelta(seconds=1)
    event = lookup_event(server, encrypt_id, arn)
    assert usage["CloudTrailEventId"] == event["EventId"]
    assert usage["Timestamp"] == event["EventTime"]
    assert answer["KeyCreationDate"] == meta["CreationDate"]

    decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"])
    decrypt_id = decrypted["ResponseMetadata"]["RequestId"]
    usage = usage_after(kms, key, decrypt_id)["KeyLastUsage"]
    assert usage["Operation"] == "Decrypt"
    assert usage["CloudTrailEventId"] == lookup_event(server, decrypt_id, arn)["EventId"]
    assert usage["CloudTrailEventId"] != event["EventId"]


def test_failed_and_non_cryptographic_calls_do_not_count(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    encrypt_id = kms.encrypt(KeyId=key, Plaintext=b"x")["ResponseMetadata"]["RequestId"]
    usage_after(kms, key, encrypt_id)
    blob = kms.encrypt(KeyId=other, Plaintext=b"y")["CiphertextBlob"]

    # Refused cryptographic calls naming the key: another key's ciphertext, a disabled key.
    with pytest.raises(ClientError) as error:
        kms.decrypt(CiphertextBlob=blob, KeyId=key)
    assert code(error) == "IncorrectKeyException"
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as error:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert code(error) == "DisabledException"
    kms.enable_key(KeyId=key)
    # Successful calls on the key that are not cryptographic operations.
    kms.describe_key(KeyId=key)
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "team", "TagValue": "blue"}])
    kms.get_key_rotation_status(KeyId=key)

    usage = settled_usage(kms, key)["KeyLastUsage"]
    assert usage["Operation"] == "Encrypt"
    assert usage["KmsRequestId"] == encrypt_id


def test_another_keys_use_does_not_leak_in(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    mine = kms.generate_data_key(KeyId=key, KeySpec="AES_256")["ResponseMetadata"]["RequestId"]
    usage_after(kms, key, mine)
    theirs = kms.encrypt(KeyId=other, Plaintext=b"z")["ResponseMetadata"]["RequestId"]
    assert usage_after(kms, other, theirs)["KeyLastUsage"]["Operation"] == "Encrypt"
    usage = kms.get_key_last_usage(KeyId=key)["KeyLastUsage"]
    assert usage["Operation"] == "GenerateDataKey"
    assert usage["KmsRequestId"] == mine


def test_use_through_s3_sse_kms_counts_as_generate_data_key(server, kms):
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    s3 = server.client("s3")
    bucket = new_bucket(s3, "lastuse")
    s3.put_object(
        Bucket=bucket, Key="k", Body=b"body", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn
    )
    started = time.monotonic()
    while True:
        usage = kms.get_key_last_usage(KeyId=arn)["KeyLastUsage"]
        if usage or time.monotonic() - started > 3:
            break
        time.sleep(0.05)
    assert usage["Operation"] == "GenerateDataKey"
    # The record of the call S3 made for the caller, as LookupEvents shows it.
    ct = server.client("cloudtrail")
    events = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": arn}]
    )["Events"]
    made = [e for e in events if e["EventName"] == "GenerateDataKey"]
    assert [e["EventId"] for e in made] == [usage["CloudTrailEventId"]]
    record = json.loads(made[0]["CloudTrailEvent"])
    assert record["userIdentity"]["invokedBy"] == "s3.amazonaws.com"
    assert usage["KmsRequestId"] == record["requestID"]


def test_key_id_forms(kms):
    meta = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/last-usage-{meta['KeyId'][:8]}", TargetKeyId=meta["KeyId"])
    request_id = kms.encrypt(KeyId=meta["Arn"], Plaintext=b"a")["ResponseMetadata"]["RequestId"]
    by_id = usage_after(kms, meta["KeyId"], request_id)
    by_arn = kms.get_key_last_usage(KeyId=meta["Arn"])
    assert by_arn["KeyId"] == by_id["KeyId"] == meta["KeyId"]
    assert by_arn["KeyLastUsage"] == by_id["KeyLastUsage"]
    # "Alias names are not supported", by name or by ARN.
    alias = f"alias/last-usage-{meta['KeyId'][:8]}"
    alias_arn = meta["Arn"].split(":key/")[0] + ":" + alias
    for ref in (alias, alias_arn):
        with pytest.raises(ClientError) as error:
            kms.get_key_last_usage(KeyId=ref)
        assert code(error) == "ValidationException"


def test_unknown_key_and_malformed_arn(kms):
    with pytest.raises(ClientError) as error:
        kms.get_key_last_usage(KeyId="1234abcd-12ab-34cd-56ef-1234567890ab")
    assert code(error) == "NotFoundException"
    with pytest.raises(ClientError) as error:
        kms.get_key_last_usage(KeyId="arn:aws:kms:nowhere")
    assert code(error) == "InvalidArnException"


def test_key_pending_deletion_still_answers(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    request_id = kms.encrypt(KeyId=key, Plaintext=b"x")["ResponseMetadata"]["RequestId"]
    usage_after(kms, key, request_id)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert kms.get_key_last_usage(KeyId=key)["KeyLastUsage"]["KmsRequestId"] == request_id


def test_permission_is_kms_get_key_last_usage(server, kms):
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    _, _, describer = new_user(server, allow(["kms:DescribeKey", "kms:Encrypt"], arn))
    with pytest.raises(ClientError) as error:
        describer("kms").get_key_last_usage(KeyId=arn)
    assert code(error) == "AccessDeniedException"
    assert "kms:GetKeyLastUsage" in error.value.response["Error"]["Message"]
    _, _, reader = new_user(server, allow(["kms:GetKeyLastUsage"], arn))
    assert reader("kms").get_key_last_usage(KeyId=arn)["KeyId"] == arn.rsplit("/", 1)[1]


def test_cross_account_use_counts_for_the_owner_who_alone_may_ask(server, kms):
    other = server.create_account()
    partner = make_client(
        server.endpoint,
        "kms",
        aws_access_key_id=other["AccessKeyId"],
        aws_secret_access_key=other["SecretAccessKey"],
    )
    owner_root = "arn:aws:iam::000000000000:root"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            allow("kms:*", Principal={"AWS": owner_root}),
            allow(
                ["kms:Encrypt", "kms:GetKeyLastUsage"],
                Principal={"AWS": f"arn:aws:iam::{other['AccountId']}:root"},
            ),
        ],
    }
    arn = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    request_id = partner.encrypt(KeyId=arn, Plaintext=b"x")["ResponseMetadata"]["RequestId"]
    usage = usage_after(kms, arn, request_id)["KeyLastUsage"]
    assert usage["Operation"] == "Encrypt"
    # The event ID is the one of the owner's copy of the record (AWS: "the CloudTrail event ID
    # from the respective key owner's account").
    assert usage["CloudTrailEventId"] == lookup_event(server, request_id, arn)["EventId"]
    # "Cross-account use: No", whatever the key policy says.
    with pytest.raises(ClientError) as error:
        partner.get_key_last_usage(KeyId=arn)
    assert code(error) == "AccessDeniedException"


def test_aws_cli(server, kms, tmp_path):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    request_id = kms.encrypt(KeyId=key, Plaintext=b"cli")["ResponseMetadata"]["RequestId"]
    usage_after(kms, key, request_id)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "awscli",
            "--endpoint-url",
            server.endpoint,
            "kms",
            "get-key-last-usage",
            "--key-id",
            key,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["KeyId"] == key
    assert answer["KeyLastUsage"]["Operation"] == "Encrypt"
    assert answer["KeyLastUsage"]["KmsRequestId"] == request_id
