"""CloudTrail delivery end to end: log files in S3 under AWS's layout (SSE-KMS under the trail's
key), hourly signed digests that the AWS CLI's own ``validate-logs`` accepts — and rejects once a
log file or digest is modified or deleted —, and no event lost or duplicated across a SIGKILL."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from datetime import timedelta

from tests.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.e2e.s3_helpers import new_bucket
from tests.e2e.sts_helpers import server_now, time_travel
from tests.e2e.test_cloudtrail_lookup import lookup, wait_for
from tests.e2e.test_cloudtrail_trails import ACCOUNT, trail_bucket

LOG_KEY = re.compile(
    rf"^(?:[^/]+/)?AWSLogs/{ACCOUNT}/CloudTrail/(?P<region>[a-z0-9-]+)/\d{{4}}/\d\d/\d\d/"
    rf"{ACCOUNT}_CloudTrail_(?P=region)_\d{{8}}T\d{{4}}Z_[A-Za-z0-9]{{16}}\.json\.gz$"
)


def key_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "root",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "Allow CloudTrail to encrypt logs",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "kms:GenerateDataKey*",
                    "Resource": "*",
                    "Condition": {
                        "StringLike": {
                            "kms:EncryptionContext:aws:cloudtrail:arn": (
                                f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
                            )
                        }
                    },
                },
            ],
        }
    )


def log_files(s3, bucket: str) -> dict[str, list[dict]]:
    """key -> records of every log file in the bucket."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            key = item["Key"]
            if "/CloudTrail/" in key:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                found[key] = json.loads(gzip.decompress(body))["Records"]
    return found


def validate_logs(server, arn: str, start, end) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "awscli",
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            arn,
            "--start-time",
            start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--end-time",
            end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--verbose",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_delivery_digests_and_validate_logs(server):
    ct, s3, kms, iam = (server.client(s) for s in ("cloudtrail", "s3", "kms", "iam"))
    bucket = trail_bucket(s3)
    key_arn = kms.create_key(Policy=key_policy())["KeyMetadata"]["Arn"]
    name = f"trail-{uuid.uuid4().hex[:8]}"
    arn = ct.create_trail(
        Name=name, S3BucketName=bucket, KmsKeyId=key_arn, EnableLogFileValidation=True
    )["TrailARN"]
    assert ct.get_trail(Name=name)["Trail"]["KmsKeyId"] == key_arn
    started = server_now(server)
    ct.start_logging(Name=name)
    ids = {iam.list_users()["ResponseMetadata"]["RequestId"] for _ in range(3)}
    ids.add(s3.list_buckets()["ResponseMetadata"]["RequestId"])
    time_travel(server, 61)
    files = log_files(s3, bucket)
    assert files and all(LOG_KEY.match(k) for k in files)
    first = next(iter(files))
    head = s3.head_object(Bucket=bucket, Key=first)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
    delivered = [r for records in files.values() for r in records]
    assert ids <= {r["requestID"] for r in delivered}
    assert all(r["recipientAccountId"] == ACCOUNT for r in delivered)
    status = ct.get_trail_status(Name=name)
    assert status["IsLogging"] and "LatestDeliveryTime" in status
    assert "LatestDeliveryError" not in status

    time_travel(server, 3600)  # the first digest
    iam.list_roles()
    time_travel(server, 3600)  # more logs, the second digest (chained)
    assert "LatestDigestDeliveryTime" in ct.get_trail_status(Name=name)
    digests = [
        i["Key"]
        for i in s3.list_objects_v2(Bucket=bucket, Prefix=f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/")[
            "Contents"
        ]
    ]
    assert len(digests) == 2
    meta = s3.head_object(Bucket=bucket, Key=digests[0])["Metadata"]
    assert meta["signature-algorithm"] == "SHA256withRSA"
    first_digest = json.loads(
        gzip.decompress(s3.get_object(Bucket=bucket, Key=digests[0])["Body"].read())
    )
    assert first_digest["previousDigestSignature"] is None
    assert first_digest["digestS3Object"] == digests[0]
    second = json.loads(
        gzip.decompress(s3.get_object(Bucket=bucket, Key=digests[1])["Body"].read())
    )
    assert second["previousDigestSignature"] == meta["signature"]
    keys = ct.list_public_keys()["PublicKeyList"]
    assert any(k["Fingerprint"] == first_digest["digestPublicKeyFingerprint"] for k in keys)

    start = started - timedelta(minutes=5)
    end = server_now(server) + timedelta(minutes=1)
    result = validate_logs(server, arn, start, end)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    n_logs = len(log_files(s3, bucket))
    assert "2/2 digest files valid" in out, out
    assert f"{n_logs}/{n_logs} log files valid" in out, out

    # a modified log file and a deleted digest are reported
    victim = next(iter(log_files(s3, bucket)))
    s3.put_object(Bucket=bucket, Key=victim, Body=gzip.compress(b'{"Records":[]}'))
    result = validate_logs(server, arn, start, end)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert f"s3://{bucket}/{victim}\tINVALID: hash value doesn't match" in out, out
    s3.delete_object(Bucket=bucket, Key=digests[0])
    result = validate_logs(server, arn, start, end)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert re.search(rf"Digest file\ts3://{bucket}/{re.escape(digests[0])}\tINVALID", out), out


def digests_of(s3, bucket: str) -> list[tuple[str, dict]]:
    """(key, document) of every digest file in the bucket, oldest first."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/")
    keys = sorted(i["Key"] for i in listed.get("Contents", []))
    return [
        (k, json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=k)["Body"].read())))
        for k in keys
    ]


def test_no_digest_lists_files_delivered_without_validation_and_restarts_break_the_chain(server):
    ct, s3, iam = (server.client(s) for s in ("cloudtrail", "s3", "iam"))
    bucket = trail_bucket(s3)
    name = f"trail-{uuid.uuid4().hex[:8]}"
    arn = ct.create_trail(Name=name, S3BucketName=bucket, EnableLogFileValidation=True)["TrailARN"]
    started = server_now(server)
    ct.start_logging(Name=name)
    iam.list_users()
    time_travel(server, 3600)  # a log file and the first digest
    ct.update_trail(Name=name, EnableLogFileValidation=False)
    unvalidated = iam.list_roles()["ResponseMetadata"]["RequestId"]
    time_travel(server, 3600)  # a log file delivered while validation is off
    ct.update_trail(Name=name, EnableLogFileValidation=True)
    iam.list_users()
    time_travel(server, 3600)  # the first digest of a new chain
    ct.stop_logging(Name=name)
    ct.start_logging(Name=name)
    iam.list_users()
    time_travel(server, 3600)  # logging restarted: another new chain

    files = log_files(s3, bucket)
    off = {k for k, records in files.items() if unvalidated in {r["requestID"] for r in records}}
    assert off
    digests = digests_of(s3, bucket)
    assert len(digests) == 3, [k for k, _ in digests]
    listed = {f["s3Object"] for _, d in digests for f in d["logFiles"]}
    assert listed and not listed & off
    first, *restarted = (d for _, d in digests)
    assert first["previousDigestSignature"] is None
    for d in restarted:
        assert d["logFiles"], d
        assert (d["previousDigestSignature"], d["previousDigestS3Object"]) == (None, None), d

    result = validate_logs(server, arn, started - timedelta(minutes=5), server_now(server))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "3/3 digest files valid" in out, out
    assert f"{len(listed)}/{len(listed)} log files valid" in out, out


def test_data_events_reach_trails_but_not_the_event_history(server):
    ct, s3 = server.client("cloudtrail"), server.client("s3")
    bucket, source = trail_bucket(s3), new_bucket(s3, "data")
    name = f"trail-{uuid.uuid4().hex[:8]}"
    ct.create_trail(Name=name, S3BucketName=bucket)
    ct.put_event_selectors(
        TrailName=name,
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [
                    {"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{source}/"]}
                ],
            }
        ],
    )
    ct.start_logging(Name=name)
    put = s3.put_object(Bucket=source, Key="a.txt", Body=b"data")["ResponseMetadata"]["RequestId"]
    s3.get_object(Bucket=source, Key="a.txt")["Body"].read()
    marker = new_bucket(s3, "marker")  # a management event journaled after the data events
    wait_for(
        ct, "EventName", "CreateBucket", lambda r: marker in json.dumps(r["requestParameters"])
    )
    assert lookup(ct, "EventName", "PutObject") == []
    assert lookup(ct, "EventName", "GetObject") == []
    s3_events = {e["EventName"] for e in lookup(ct, "EventSource", "s3.amazonaws.com")}
    assert "CreateBucket" in s3_events and not s3_events & {"PutObject", "GetObject"}

    time_travel(server, 61)
    records = [r for recs in log_files(s3, bucket).values() for r in recs]
    data = [r for r in records if r["eventName"] in ("PutObject", "GetObject")]
    assert put in {r["requestID"] for r in data}
    assert all(r["eventCategory"] == "Data" and r["managementEvent"] is False for r in data)
    created = [r for r in records if r["eventName"] == "CreateBucket"]
    assert created and all(r["eventCategory"] == "Management" for r in created)


def test_no_loss_after_sigkill(fresh_server):
    """N calls, a delivery, more calls, SIGKILL, restart, delivery: every call's event is in
    exactly one log file, none missing."""
    fresh_server.start("--allow-time-travel")
    ct, s3, iam = (fresh_server.client(s) for s in ("cloudtrail", "s3", "iam"))
    bucket = trail_bucket(s3)
    ct.create_trail(Name="no-loss", S3BucketName=bucket)
    ct.start_logging(Name="no-loss")
    ids = [iam.list_users()["ResponseMetadata"]["RequestId"] for _ in range(20)]
    time_travel(fresh_server, 61)
    # mutations: their journal record commits with the call, so it is durable at once (read-only
    # calls are group-committed within 100 ms and may be lost to a SIGKILL before that)
    ids += [iam.create_user(UserName=f"u{i}")["ResponseMetadata"]["RequestId"] for i in range(20)]
    fresh_server.stop(signal.SIGKILL)
    fresh_server.start("--allow-time-travel")
    ids += [iam.list_roles()["ResponseMetadata"]["RequestId"] for _ in range(5)]
    time_travel(fresh_server, 61)
    s3 = fresh_server.client("s3")
    records = [r for recs in log_files(s3, bucket).values() for r in recs]
    seen = [r["requestID"] for r in records]
    event_ids = [r["eventID"] for r in records]
    assert len(event_ids) == len(set(event_ids)), "an event was delivered twice"
    missing = [i for i in ids if i not in seen]
    assert not missing, f"{len(missing)} events missing"
    assert all(seen.count(i) == 1 for i in ids)
