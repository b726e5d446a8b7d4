"""STS GetCallerIdentity through real clients, and the auth failures around it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, make_client


def test_get_caller_identity_root_boto3(server):
    identity = server.client("sts").get_caller_identity()
    assert identity["Account"] == "000000000000"
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"
    assert identity["UserId"] == "000000000000"
    assert identity["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert identity["ResponseMetadata"]["RequestId"]


def test_get_caller_identity_aws_cli(server):
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    result = subprocess.run(
        [sys.executable, "-m", "awscli", "sts", "get-caller-identity", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == "arn:aws:iam::000000000000:root"


def test_wrong_secret_is_refused_with_each_services_code(server):
    sts = make_client(server.endpoint, "sts", aws_secret_access_key="wrong" * 8)
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    kms = make_client(server.endpoint, "kms", aws_secret_access_key="wrong" * 8)
    with pytest.raises(ClientError) as error:
        kms.list_keys()
    assert error.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_unknown_access_key_is_refused(server):
    sts = make_client(server.endpoint, "sts", aws_access_key_id="AKIANOSUCHKEY0000000")
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    logs = make_client(server.endpoint, "logs", aws_access_key_id="AKIANOSUCHKEY0000000")
    with pytest.raises(ClientError) as error:
        logs.describe_log_groups()
    assert error.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_session_token_with_a_long_term_key_is_refused(server):
    sts = make_client(server.endpoint, "sts", aws_session_token="not-a-real-session-token")
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_unsigned_request_is_refused(server):
    from botocore import UNSIGNED
    from botocore.config import Config

    sts = make_client(server.endpoint, "sts", config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "MissingAuthenticationToken"
