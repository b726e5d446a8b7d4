"""AssumeRoleWithWebIdentity through boto3 (an unsigned call) with a local OIDC issuer."""

from __future__ import annotations

import json
import time

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.e2e.sts_helpers import (
    error_code,
    error_message,
    require_iam,
    server_now,
    session_client,
    unique,
)
from tests.sts_unit.oidc_issuer import LocalIssuer

ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def issuer():
    local = LocalIssuer("/" + unique("realm"))
    yield local
    local.close()


@pytest.fixture
def web_role(server, issuer):
    require_iam(server, "list_open_id_connect_providers")
    iam = server.client("iam")
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer.provider_url}"
    try:
        iam.create_open_id_connect_provider(
            Url="https://" + issuer.provider_url,
            ClientIDList=["my-client"],
            ThumbprintList=["a" * 40],
        )
    except ClientError as error:
        if error_code_of(error) != "EntityAlreadyExists":
            raise
    url = issuer.provider_url
    import json

    role = iam.create_role(
        RoleName=unique("web-role"),
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider_arn},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {f"{url}:aud": "my-client"},
                            "StringLike": {f"{url}:sub": "user-*"},
                        },
                    }
                ],
            }
        ),
    )["Role"]
    return role


def error_code_of(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def anonymous_sts(server):
    return make_client(server.endpoint, "sts", config=Config(signature_version=UNSIGNED))


def assume(server, role, token):
    return server.client("sts").assume_role_with_web_identity(
        RoleArn=role["Arn"], RoleSessionName="web-user", WebIdentityToken=token
    )


def test_valid_token(server, web_role, issuer):
    now = server_now(server).timestamp()
    out = anonymous_sts(server).assume_role_with_web_identity(
        RoleArn=web_role["Arn"],
        RoleSessionName="web-user",
        WebIdentityToken=issuer.token(now=now),
        DurationSeconds=900,
    )
    assert out["SubjectFromWebIdentityToken"] == "user-123"
    assert out["Audience"] == "my-client"
    assert out["Provider"] == issuer.url
    me = session_client(server, out["Credentials"], "sts").get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{web_role['RoleName']}/web-user"


def test_trust_condition_on_sub(server, web_role, issuer):
    now = server_now(server).timestamp()
    with pytest.raises(ClientError) as err:
        assume(server, web_role, issuer.token(now=now, sub="robot-7"))
    assert error_code(err) == "AccessDenied"
    assert error_message(err) == "Not authorized to perform sts:AssumeRoleWithWebIdentity"


def test_wrong_audience(server, web_role, issuer):
    now = server_now(server).timestamp()
    with pytest.raises(ClientError) as err:
        assume(server, web_role, issuer.token(now=now, aud="not-my-client"))
    assert error_code(err) == "InvalidIdentityToken"
    assert error_message(err) == "Incorrect token audience"


def test_expired_token(server, web_role, issuer):
    now = server_now(server).timestamp()
    with pytest.raises(ClientError) as err:
        assume(server, web_role, issuer.token(now=now - 7200, lifetime=600))
    assert error_code(err) == "ExpiredTokenException"


def test_bad_signature(server, web_role, issuer):
    now = server_now(server).timestamp()
    with pytest.raises(ClientError) as err:
        assume(server, web_role, issuer.token(now=now, key=issuer.foreign_key()))
    assert error_code(err) == "InvalidIdentityToken"


def test_unregistered_issuer(server, web_role):
    other = LocalIssuer()
    try:
        now = server_now(server).timestamp()
        with pytest.raises(ClientError) as err:
            assume(server, web_role, other.token(now=now))
        assert error_code(err) == "InvalidIdentityToken"
        assert error_message(err).startswith("No OpenIDConnect provider found")
    finally:
        other.close()


def test_journal_names_the_web_identity_user_and_never_the_token(server, web_role, issuer):
    token = issuer.token(now=server_now(server).timestamp())
    out = anonymous_sts(server).assume_role_with_web_identity(
        RoleArn=web_role["Arn"], RoleSessionName="web-user", WebIdentityToken=token
    )
    request_id = out["ResponseMetadata"]["RequestId"]
    ct = server.client("cloudtrail")
    record, text = None, ""
    deadline = time.monotonic() + 5
    while record is None and time.monotonic() < deadline:
        page = ct.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "AssumeRoleWithWebIdentity"}
            ]
        )
        for event in page["Events"]:
            candidate = json.loads(event["CloudTrailEvent"])
            if candidate["requestID"] == request_id:
                record, text = candidate, event["CloudTrailEvent"]
        time.sleep(0.05)
    assert record is not None, "the call was not journaled"
    assert record["userIdentity"] == {
        "type": "WebIdentityUser",
        "principalId": f"{issuer.provider_url}:my-client:user-123",
        "userName": "user-123",
        "identityProvider": issuer.provider_url,
    }
    assert record["recipientAccountId"] == ACCOUNT
    assert token.split(".")[2] not in text  # the token (a bearer credential) is never recorded
