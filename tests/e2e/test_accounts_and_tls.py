"""`mamori accounts create` (every account its own root keys and scope) and `serve --tls`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError, SSLError

from tests.conftest import make_client
from tests.e2e.test_cloudtrail_lookup import wait_for


def _mamori(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mamori.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_accounts_are_separate_with_their_own_root(server):
    created = _mamori("accounts", "create", "--name", "prod", "--data-dir", str(server.data_dir))
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    assert len(account["AccountId"]) == 12 and account["AccountId"] != "000000000000"
    other = dict(
        aws_access_key_id=account["AccessKeyId"], aws_secret_access_key=account["SecretAccessKey"]
    )
    identity = make_client(server.endpoint, "sts", **other).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{account['AccountId']}:root"
    # Resources are scoped per account: a user made in one is invisible in the other.
    make_client(server.endpoint, "iam", **other).create_user(UserName="only-in-prod")
    default_users = make_client(server.endpoint, "iam").list_users(MaxItems=1000)["Users"]
    assert "only-in-prod" not in {u["UserName"] for u in default_users}
    listed = _mamori("accounts", "list", "--data-dir", str(server.data_dir))
    assert account["AccountId"] in listed.stdout and "000000000000" in listed.stdout
    again = _mamori(
        "accounts",
        "create",
        "--account-id",
        account["AccountId"],
        "--data-dir",
        str(server.data_dir),
    )
    assert again.returncode == 1


def test_root_of_one_account_cannot_touch_another_accounts_user(server):
    created = json.loads(_mamori("accounts", "create", "--data-dir", str(server.data_dir)).stdout)
    other_iam = make_client(
        server.endpoint,
        "iam",
        aws_access_key_id=created["AccessKeyId"],
        aws_secret_access_key=created["SecretAccessKey"],
    )
    make_client(server.endpoint, "iam").create_user(UserName="default-only-user")
    with pytest.raises(ClientError) as error:
        other_iam.get_user(UserName="default-only-user")
    assert error.value.response["Error"]["Code"] == "NoSuchEntity"


def test_tls_serves_https_and_sets_secure_transport(fresh_server):
    fresh_server.start("--tls", scheme="https")
    cert = fresh_server.data_dir / "tls" / "cert.pem"
    assert cert.exists()
    assert (fresh_server.data_dir / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600
    # Without the CA bundle the self-signed certificate is (rightly) not trusted.
    with pytest.raises(SSLError):
        make_client(fresh_server.endpoint, "sts").get_caller_identity()
    sts = make_client(fresh_server.endpoint, "sts", verify=str(cert))
    assert sts.get_caller_identity()["Account"] == "000000000000"
    # The call's record carries tlsDetails with the Host header the client sent.
    trail = make_client(fresh_server.endpoint, "cloudtrail", verify=str(cert))
    _, record, _ = wait_for(trail, "EventName", "GetCallerIdentity")
    assert record["tlsDetails"] == {
        "tlsVersion": "TLSv1.3",
        "clientProvidedHostHeader": f"127.0.0.1:{fresh_server.port}",
    }
    env = subprocess.run(
        [
            sys.executable,
            "-m",
            "mamori.cli",
            "env",
            "--tls",
            "--data-dir",
            str(fresh_server.data_dir),
            "--port",
            str(fresh_server.port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
    )
    assert f"export AWS_CA_BUNDLE={cert}" in env.stdout
    assert f"export AWS_ENDPOINT_URL=https://127.0.0.1:{fresh_server.port}" in env.stdout
