"""Account aliases, the account summary, GetAccountAuthorizationDetails, the credential report,
OpenID Connect and SAML providers, and IAM through the AWS CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.iam_domain.helpers import (
    ACCOUNT,
    SAML_METADATA,
    allow,
    doc,
    error_of,
    trust,
    unique,
)

REPORT_COLUMNS = [
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
    "password_last_changed", "password_next_rotation", "mfa_active", "access_key_1_active",
    "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region",
    "access_key_1_last_used_service", "access_key_2_active", "access_key_2_last_rotated",
    "access_key_2_last_used_date", "access_key_2_last_used_region",
    "access_key_2_last_used_service", "cert_1_active", "cert_1_last_rotated", "cert_2_active",
    "cert_2_last_rotated",
]  # fmt: skip


def test_account_alias(server):
    iam = server.client("iam")
    alias = unique("mamori-alias")
    iam.create_account_alias(AccountAlias=alias)
    assert iam.list_account_aliases()["AccountAliases"] == [alias]
    replacement = unique("mamori-other")
    iam.create_account_alias(AccountAlias=replacement)  # one per account: replaces
    assert iam.list_account_aliases()["AccountAliases"] == [replacement]
    with pytest.raises(ClientError) as error:
        iam.delete_account_alias(AccountAlias=alias)
    assert error_of(error)[0::2] == ("NoSuchEntity", 404)
    iam.delete_account_alias(AccountAlias=replacement)
    assert iam.list_account_aliases()["AccountAliases"] == []


def test_account_summary(server):
    iam = server.client("iam")
    iam.create_user(UserName=unique("sum"))
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Users"] >= 1
    assert summary["AccessKeysPerUserQuota"] == 2 and summary["PolicySizeQuota"] == 6144
    assert summary["AccountAccessKeysPresent"] == 1


def test_account_authorization_details(server):
    iam = server.client("iam")
    user, group, role = unique("ad-u"), unique("ad-g"), unique("ad-r")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=doc(allow("s3:*")))
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    local = iam.create_policy(PolicyName=unique("ad-p"), PolicyDocument=doc(allow("sqs:*")))

    users = [
        u
        for page in iam.get_paginator("get_account_authorization_details").paginate(Filter=["User"])
        for u in page["UserDetailList"]
    ]
    mine = next(u for u in users if u["UserName"] == user)
    assert mine["GroupList"] == [group]
    assert mine["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] == "s3:*"

    details = iam.get_account_authorization_details(
        Filter=["Role", "AWSManagedPolicy", "LocalManagedPolicy"], MaxItems=1000
    )
    assert details["UserDetailList"] == []
    roles = [r for r in details["RoleDetailList"] if r["RoleName"] == role]
    assert roles[0]["AttachedManagedPolicies"][0]["PolicyName"] == "ReadOnlyAccess"
    assert roles[0]["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    arns = {p["Arn"]: p for p in details["Policies"]}
    assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in arns
    assert "arn:aws:iam::aws:policy/PowerUserAccess" not in arns  # unattached AWS policies
    local_detail = arns[local["Policy"]["Arn"]]
    assert local_detail["PolicyVersionList"][0]["Document"]["Statement"][0]["Action"] == "sqs:*"

    page = iam.get_account_authorization_details(Filter=["User"], MaxItems=1)
    assert len(page["UserDetailList"]) == 1 and page["IsTruncated"]


def test_credential_report(fresh_server):
    fresh_server.start()
    iam = fresh_server.client("iam")
    with pytest.raises(ClientError) as error:
        iam.get_credential_report()
    assert error_of(error)[0::2] == ("ReportNotPresent", 410)
    name = unique("reported")
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password="Corr3ct-Horse!")
    iam.create_access_key(UserName=name)
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    rows = list(csv.reader(io.StringIO(report["Content"].decode())))
    assert rows[0] == REPORT_COLUMNS
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    root = records[0]
    assert root["user"] == "<root_account>"
    assert root["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert root["password_enabled"] == "not_supported"
    assert root["access_key_1_active"] == "true"
    assert root["cert_1_last_rotated"] == "N/A"
    user = next(r for r in records if r["user"] == name)
    assert user["password_enabled"] == "true"
    assert user["password_last_used"] == "no_information"
    assert user["password_next_rotation"] == "N/A"
    assert user["mfa_active"] == "false"
    assert user["access_key_1_active"] == "true"
    assert user["access_key_1_last_rotated"].endswith("+00:00")
    assert user["access_key_2_active"] == "false" and user["access_key_2_last_rotated"] == "N/A"


def test_openid_connect_provider(server):
    iam = server.client("iam")
    host = f"{unique('issuer')}.example.com"
    thumbprint = "a" * 40
    arn = iam.create_open_id_connect_provider(
        Url=f"https://{host}/auth", ClientIDList=["app-1"], ThumbprintList=[thumbprint]
    )["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}/auth"
    with pytest.raises(ClientError) as error:
        iam.create_open_id_connect_provider(Url=f"https://{host}/auth", ThumbprintList=[])
    assert error_of(error)[0::2] == ("EntityAlreadyExists", 409)
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == f"{host}/auth" and got["ClientIDList"] == ["app-1"]
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="app-2")
    iam.remove_client_id_from_open_id_connect_provider(
        OpenIDConnectProviderArn=arn, ClientID="app-1"
    )
    iam.update_open_id_connect_provider_thumbprint(
        OpenIDConnectProviderArn=arn, ThumbprintList=["b" * 40]
    )
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["app-2"] and got["ThumbprintList"] == ["b" * 40]
    listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert {"Arn": arn} in listed
    with pytest.raises(ClientError) as error:
        iam.create_open_id_connect_provider(Url="http://insecure.example.com", ThumbprintList=[])
    assert error_of(error)[0] == "InvalidInput"
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as error:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error_of(error)[0::2] == ("NoSuchEntity", 404)


def test_saml_provider(server):
    iam = server.client("iam")
    name = unique("corp-idp")
    arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=SAML_METADATA)["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:saml-provider/{name}"
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == SAML_METADATA
    assert got["ValidUntil"].year == 2049
    assert arn in [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]]
    iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=SAML_METADATA)
    with pytest.raises(ClientError) as error:
        iam.create_saml_provider(Name=unique("bad"), SAMLMetadataDocument="<nope/>".ljust(1000))
    assert error_of(error)[0] == "InvalidInput"
    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as error:
        iam.get_saml_provider(SAMLProviderArn=arn)
    assert error_of(error)[0::2] == ("NoSuchEntity", 404)


def aws(server, tmp_path, *args: str) -> dict:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    result = subprocess.run(
        [sys.executable, "-m", "awscli", "iam", *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_iam_through_the_aws_cli(server, tmp_path):
    role = unique("cli-role")
    (tmp_path / "trust.json").write_text(trust({"Service": "lambda.amazonaws.com"}))
    (tmp_path / "policy.json").write_text(doc(allow("logs:CreateLogStream")))
    created = aws(
        server, tmp_path, "create-role", "--role-name", role,
        "--assume-role-policy-document", "file://trust.json", "--max-session-duration", "7200",
    )  # fmt: skip
    assert created["Role"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/{role}"
    aws(
        server, tmp_path, "put-role-policy", "--role-name", role, "--policy-name", "logs",
        "--policy-document", "file://policy.json",
    )  # fmt: skip
    got = aws(server, tmp_path, "get-role-policy", "--role-name", role, "--policy-name", "logs")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "logs:CreateLogStream"
