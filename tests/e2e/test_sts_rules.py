"""STS rules through boto3 against a live server: an MFA device proves only its own user's
presence, the query protocol's Version, temporary keys without their token,
MinimumSessionTokenSize, and the source_identity claim of a web identity token."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.e2e.sts_helpers import (
    allow,
    enable_mfa,
    error_code,
    error_message,
    new_user,
    require_iam,
    server_now,
    session_client,
    totp,
    trust,
    unique,
)
from tests.sts_unit.oidc_issuer import LocalIssuer

INVALID_MFA = "MultiFactorAuthentication failed with invalid MFA one time pass code."


def current_step(server) -> int:
    return int(server_now(server).timestamp()) // 30


# SerialNumber must name a device of the caller


def test_get_session_token_refuses_another_users_mfa_device(server, iam):
    owner, _, _ = new_user(server)
    serial, seed = enable_mfa(server, iam, owner)
    _, _, mallory = new_user(server, allow("sts:*"))
    with pytest.raises(ClientError) as err:
        mallory("sts").get_session_token(
            SerialNumber=serial, TokenCode=totp(seed, current_step(server) + 1)
        )
    assert error_code(err) == "AccessDenied"
    assert error_message(err) == INVALID_MFA
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_assume_role_refuses_another_users_mfa_device(server, iam):
    owner, _, _ = new_user(server)
    serial, seed = enable_mfa(server, iam, owner)
    _, mallory_arn, mallory = new_user(server, allow("sts:AssumeRole"))
    role = iam.create_role(
        RoleName=unique("mfa-role"),
        AssumeRolePolicyDocument=trust(
            {"AWS": mallory_arn}, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        ),
    )["Role"]
    with pytest.raises(ClientError) as err:
        mallory("sts").assume_role(
            RoleArn=role["Arn"],
            RoleSessionName="borrowed-mfa",
            SerialNumber=serial,
            TokenCode=totp(seed, current_step(server) + 1),
        )
    assert error_code(err) == "AccessDenied"
    assert error_message(err) == INVALID_MFA


def test_a_role_session_owns_no_mfa_device(server, iam):
    owner, owner_arn, owner_client = new_user(server, allow("sts:AssumeRole"))
    serial, seed = enable_mfa(server, iam, owner)
    role = iam.create_role(
        RoleName=unique("mfa-chain"), AssumeRolePolicyDocument=trust({"AWS": owner_arn})
    )["Role"]
    creds = owner_client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="first")[
        "Credentials"
    ]
    with pytest.raises(ClientError) as err:
        session_client(server, creds, "sts").assume_role(
            RoleArn=role["Arn"],
            RoleSessionName="chained",
            SerialNumber=serial,
            TokenCode=totp(seed, current_step(server) + 1),
        )
    assert error_message(err) == INVALID_MFA


def test_the_device_owner_still_passes_mfa(server, iam):
    owner, _, owner_client = new_user(server)
    serial, seed = enable_mfa(server, iam, owner)
    creds = owner_client("sts").get_session_token(
        SerialNumber=serial, TokenCode=totp(seed, current_step(server) + 1)
    )["Credentials"]
    assert session_client(server, creds, "sts").get_caller_identity()["Arn"].endswith(owner)


# The query protocol's Version


def _query(server, body: bytes, service: str = "sts") -> tuple[int, bytes]:
    """A query-protocol call signed for ``service``, sent as given: (status, body)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    raw = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize(
    ("body", "service", "version"),
    [
        (b"Action=GetCallerIdentity", "sts", "NO_VERSION_SPECIFIED"),
        (b"Action=GetCallerIdentity&Version=2099-01-01", "sts", "2099-01-01"),
        (b"Action=GetCallerIdentity&Version=2010-05-08", "sts", "2010-05-08"),
        (b"Action=ListUsers", "iam", "NO_VERSION_SPECIFIED"),
        (b"Action=ListUsers&Version=2011-06-15", "iam", "2011-06-15"),
    ],
)
def test_a_query_call_needs_its_apis_version(server, body, service, version):
    status, answer = _query(server, body, service)
    action = body.split(b"&")[0].split(b"=")[1].decode()
    assert status == 400
    assert b"<Code>InvalidAction</Code>" in answer
    assert f"Could not find operation {action} for version {version}</Message>".encode() in answer


def test_the_right_version_still_runs(server):
    assert _query(server, b"Action=GetCallerIdentity&Version=2011-06-15")[0] == 200
    assert _query(server, b"Action=ListUsers&Version=2010-05-08", "iam")[0] == 200


# A temporary key without its session token


def _temporary_key_without_token(server, service: str):
    creds = server.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    client = server.client(
        service,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
    )
    return creds["AccessKeyId"], client


def test_s3_does_not_know_a_temporary_key_sent_without_its_token(server):
    key_id, s3 = _temporary_key_without_token(server, "s3")
    with pytest.raises(ClientError) as err:
        s3.list_buckets()
    assert error_code(err) == "InvalidAccessKeyId"
    assert error_message(err) == "The AWS Access Key Id you provided does not exist in our records."
    assert err.value.response["Error"]["AWSAccessKeyId"] == key_id
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_query_and_json_services_refuse_a_temporary_key_without_its_token(server):
    _, sts = _temporary_key_without_token(server, "sts")
    with pytest.raises(ClientError) as err:
        sts.get_caller_identity()
    assert error_code(err) == "InvalidClientTokenId"
    _, kms = _temporary_key_without_token(server, "kms")
    with pytest.raises(ClientError) as err:
        kms.list_keys()
    assert error_code(err) == "UnrecognizedClientException"


# MinimumSessionTokenSize


def test_minimum_session_token_size_pads_tokens_that_still_work(server, iam):
    _, user_arn, user = new_user(server, allow(["sts:AssumeRole", "sts:GetFederationToken"]))
    role = iam.create_role(
        RoleName=unique("token-size"), AssumeRolePolicyDocument=trust({"AWS": user_arn})
    )["Role"]
    issued = [
        user("sts").assume_role(
            RoleArn=role["Arn"], RoleSessionName="big", MinimumSessionTokenSize=4096
        )["Credentials"],
        user("sts").get_session_token(MinimumSessionTokenSize=3000)["Credentials"],
        user("sts").get_federation_token(Name="big", MinimumSessionTokenSize=2001)["Credentials"],
    ]
    for creds, minimum in zip(issued, (4096, 3000, 2001), strict=True):
        assert len(creds["SessionToken"]) >= minimum
        session_client(server, creds, "sts").get_caller_identity()
    unpadded = user("sts").get_session_token(MinimumSessionTokenSize=0)["Credentials"]
    assert len(unpadded["SessionToken"]) < 2001


# The source_identity claim of a web identity token

SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"


@pytest.fixture(scope="module")
def issuer():
    local = LocalIssuer("/" + unique("si-realm"))
    yield local
    local.close()


@pytest.fixture
def source_identity_role(server, iam, issuer):
    require_iam(server, "list_open_id_connect_providers")
    try:
        iam.create_open_id_connect_provider(
            Url="https://" + issuer.provider_url,
            ClientIDList=["my-client"],
            ThumbprintList=["a" * 40],
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    provider_arn = f"arn:aws:iam::000000000000:oidc-provider/{issuer.provider_url}"
    actions = ["sts:AssumeRoleWithWebIdentity", "sts:SetSourceIdentity"]
    return iam.create_role(
        RoleName=unique("si-role"),
        AssumeRolePolicyDocument=trust({"Federated": provider_arn}, actions),
    )["Role"]


@pytest.mark.parametrize("claim", ["aws:admin", "has space", "x", "x" * 257])
def test_a_source_identity_claim_follows_assume_roles_rules(
    server, issuer, source_identity_role, claim
):
    token = issuer.token(now=server_now(server).timestamp(), **{SOURCE_IDENTITY_CLAIM: claim})
    with pytest.raises(ClientError) as err:
        server.client("sts").assume_role_with_web_identity(
            RoleArn=source_identity_role["Arn"], RoleSessionName="web", WebIdentityToken=token
        )
    assert error_code(err) == "InvalidIdentityToken"
    assert error_message(err).startswith("The source_identity claim is invalid: ")


def test_a_valid_source_identity_claim_is_kept(server, issuer, source_identity_role):
    token = issuer.token(
        now=server_now(server).timestamp(), **{SOURCE_IDENTITY_CLAIM: "alice@example.com"}
    )
    out = server.client("sts").assume_role_with_web_identity(
        RoleArn=source_identity_role["Arn"], RoleSessionName="web", WebIdentityToken=token
    )
    assert out["SourceIdentity"] == "alice@example.com"
