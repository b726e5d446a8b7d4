"""X-Forwarded-For / X-Forwarded-Proto: believed only from the proxies named in
--forwarded-allow-ips. AWS takes the caller's address and transport from its own connection, so
by default a client cannot claim another source IP (aws:SourceIp, CloudTrail's sourceIPAddress)
or TLS (aws:SecureTransport) by sending these headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client

CLAIMED_IP = "203.0.113.77"

FROM_CLAIMED_NETWORK_OVER_TLS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "iam:GetUser",
            "Resource": "*",
            "Condition": {
                "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                "Bool": {"aws:SecureTransport": "true"},
            },
        }
    ],
}


def _forwarding(client, ip: str = CLAIMED_IP, proto: str = "https"):
    """``client`` with the headers a reverse proxy adds (or a client pretending to be one)."""

    def add_headers(request, **_):
        request.headers["X-Forwarded-For"] = ip
        request.headers["X-Forwarded-Proto"] = proto

    client.meta.events.register("before-send", add_headers)
    return client


def _user_bound_to_claimed_network(endpoint: str) -> tuple[str, dict]:
    iam = make_client(endpoint, "iam")
    name = f"fwd-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name, PolicyName="p", PolicyDocument=json.dumps(FROM_CLAIMED_NETWORK_OVER_TLS)
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def _recorded(endpoint: str, user: str) -> dict:
    """The CloudTrail record of ``user``'s GetUser call."""
    cloudtrail = make_client(endpoint, "cloudtrail")
    deadline = time.monotonic() + 10
    while True:
        events = cloudtrail.lookup_events(
            LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": user}]
        )["Events"]
        found = [e for e in events if e["EventName"] == "GetUser"]
        if found or time.monotonic() > deadline:
            assert found, f"no GetUser event of {user}"
            return json.loads(found[0]["CloudTrailEvent"])
        time.sleep(0.1)


def test_a_client_cannot_claim_another_address_or_tls(server):
    name, creds = _user_bound_to_claimed_network(server.endpoint)
    with pytest.raises(ClientError) as error:
        _forwarding(make_client(server.endpoint, "iam", **creds)).get_user()
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    record = _recorded(server.endpoint, name)
    assert record["sourceIPAddress"] == "127.0.0.1"
    assert "tlsDetails" not in record
    assert record["errorCode"] == "AccessDenied"


def test_headers_of_a_trusted_proxy_are_believed(fresh_server):
    fresh_server.start("--forwarded-allow-ips", "127.0.0.1")
    name, creds = _user_bound_to_claimed_network(fresh_server.endpoint)
    user = _forwarding(make_client(fresh_server.endpoint, "iam", **creds)).get_user()
    assert user["User"]["UserName"] == name
    record = _recorded(fresh_server.endpoint, name)
    assert record["sourceIPAddress"] == CLAIMED_IP
    assert "errorCode" not in record
    # the same call without the proxy's headers comes from 127.0.0.1 over plain HTTP
    with pytest.raises(ClientError) as error:
        make_client(fresh_server.endpoint, "iam", **creds).get_user()
    assert error.value.response["Error"]["Code"] == "AccessDenied"


def test_a_proxy_outside_the_list_is_not_believed(fresh_server):
    fresh_server.start("--forwarded-allow-ips", "10.0.0.0/8,192.168.1.1")
    name, creds = _user_bound_to_claimed_network(fresh_server.endpoint)
    with pytest.raises(ClientError) as error:
        _forwarding(make_client(fresh_server.endpoint, "iam", **creds)).get_user()
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    assert _recorded(fresh_server.endpoint, name)["sourceIPAddress"] == "127.0.0.1"


@pytest.mark.parametrize("bad", ["not-an-ip", "300.1.1.1", "10.0.0.0/8,proxy.example", ","])
@pytest.mark.parametrize("given_as", ["flag", "variable"])
def test_a_bad_proxy_list_stops_the_server_with_a_clear_message(tmp_path, bad, given_as):
    command = [sys.executable, "-m", "mamori.cli", "serve", "--data-dir", str(tmp_path / "d")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    if given_as == "flag":
        command += ["--forwarded-allow-ips", bad]
    else:
        env["MAMORI_FORWARDED_ALLOW_IPS"] = bad
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "MAMORI_FORWARDED_ALLOW_IPS" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "d").exists()  # refused before anything was created
