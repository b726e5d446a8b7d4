"""Helpers for the STS end-to-end tests: unique names, IAM setup through boto3, time travel."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import urllib.request
import uuid
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


def trust(principal, actions="sts:AssumeRole", **extra) -> str:
    return document({"Effect": "Allow", "Principal": principal, "Action": actions, **extra})


def require_iam(server, operation: str = "list_roles") -> None:
    """Skip when the server's IAM does not implement what the test needs yet."""
    try:
        getattr(server.client("iam"), operation)()
    except ClientError as error:
        if error.response["Error"]["Code"] == "NotImplemented":
            pytest.skip(f"IAM {operation} is not implemented by this server yet")


def server_now(server) -> datetime:
    with urllib.request.urlopen(server.endpoint + "/_mamori/clock", timeout=5) as response:
        state = json.loads(response.read())
    return datetime.fromisoformat(state["now"].replace("Z", "+00:00"))


def time_travel(server, seconds: float) -> None:
    request = urllib.request.Request(
        server.endpoint + "/_mamori/clock",
        data=json.dumps({"advance_seconds": seconds}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def new_user(server, *statements: dict, name: str | None = None):
    """An IAM user with an inline policy (if any statements) and an access key: (arn, client
    factory)."""
    iam = server.client("iam")
    name = name or unique("sts-user")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]

    def client(service: str, **kwargs):
        return make_client(
            server.endpoint,
            service,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            **kwargs,
        )

    return name, arn, client


def session_client(server, credentials: dict, service: str):
    return make_client(
        server.endpoint,
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def totp(seed_base32: bytes | str, step: int) -> str:
    """RFC 6238 TOTP (SHA-1, 6 digits) for one 30-second step."""
    key = base64.b32decode(seed_base32)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def error_message(excinfo) -> str:
    return excinfo.value.response["Error"]["Message"]


def enable_mfa(server, iam, user_name: str) -> tuple[str, str]:
    """(serial, seed) of a virtual MFA device enabled for the user."""
    require_iam(server, "list_virtual_mfa_devices")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("mfa"))
    serial = device["VirtualMFADevice"]["SerialNumber"]
    seed = device["VirtualMFADevice"]["Base32StringSeed"]
    step = int(server_now(server).timestamp()) // 30
    iam.enable_mfa_device(
        UserName=user_name,
        SerialNumber=serial,
        AuthenticationCode1=totp(seed, step - 1),
        AuthenticationCode2=totp(seed, step),
    )
    return serial, seed
