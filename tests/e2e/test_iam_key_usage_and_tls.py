"""Access keys' last use (GetAccessKeyLastUsed, the credential report) and aws:SecureTransport."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client


def _user_with_key(endpoint: str, policy: dict | None = None):
    iam = make_client(endpoint, "iam")
    name = f"usage-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, key


def test_last_use_of_an_access_key_is_recorded(server):
    iam = server.client("iam")
    name, key = _user_with_key(server.endpoint)
    before = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert before == {"ServiceName": "N/A", "Region": "N/A"}
    make_client(
        server.endpoint,
        "sts",
        region_name="eu-central-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    ).get_caller_identity()
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert used["UserName"] == name
    assert used["AccessKeyLastUsed"]["ServiceName"] == "sts"
    assert used["AccessKeyLastUsed"]["Region"] == "eu-central-1"
    assert "LastUsedDate" in used["AccessKeyLastUsed"]

    iam.generate_credential_report()
    report = iam.get_credential_report()["Content"].decode()
    row = next(r for r in csv.DictReader(io.StringIO(report)) if r["user"] == name)
    assert row["access_key_1_last_used_service"] == "sts"
    assert row["access_key_1_last_used_region"] == "eu-central-1"
    assert row["access_key_1_last_used_date"] != "N/A"


def test_last_use_survives_a_restart(fresh_server):
    fresh_server.start()
    _, key = _user_with_key(fresh_server.endpoint)
    make_client(
        fresh_server.endpoint,
        "sts",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    ).get_caller_identity()
    assert fresh_server.stop() == 0  # a clean stop writes what was only in memory
    fresh_server.start()
    used = make_client(fresh_server.endpoint, "iam").get_access_key_last_used(
        AccessKeyId=key["AccessKeyId"]
    )
    assert used["AccessKeyLastUsed"]["ServiceName"] == "sts"


SECURE_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "iam:GetUser",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        }
    ],
}


def test_secure_transport_is_true_exactly_over_tls(fresh_server):
    fresh_server.start("--tls", scheme="https")
    cert = str(fresh_server.data_dir / "tls" / "cert.pem")
    iam = make_client(fresh_server.endpoint, "iam", verify=cert)
    name = "tls-only"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(SECURE_ONLY))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    creds = dict(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert (
        make_client(fresh_server.endpoint, "iam", verify=cert, **creds).get_user()["User"][
            "UserName"
        ]
        == name
    )
    fresh_server.stop()
    fresh_server.start()  # the same data, over plain HTTP this time
    with pytest.raises(ClientError) as error:
        make_client(fresh_server.endpoint, "iam", **creds).get_user()
    assert error.value.response["Error"]["Code"] == "AccessDenied"
