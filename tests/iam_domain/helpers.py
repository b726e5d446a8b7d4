"""Helpers shared by the IAM end-to-end tests (tests/e2e/test_iam_*.py)."""

from __future__ import annotations

import json
import uuid

from tests.conftest import make_client

ACCOUNT = "000000000000"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(principal: dict | None = None) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": principal or {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def user_with_keys(server, iam, name: str | None = None, **create):
    """Create a user with an access key; returns (name, iam client acting as that user)."""
    name = name or unique("u")
    iam.create_user(UserName=name, **create)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = make_client(
        server.endpoint,
        "iam",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    return name, client


def error_of(excinfo) -> tuple[str, str, int]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


# SAML metadata an IdP would publish (padded: IAM wants at least 1,000 characters).
SAML_METADATA = (
    '<?xml version="1.0"?>'
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'entityID="https://idp.example.com/metadata" validUntil="2049-01-01T00:00:00Z">'
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
    'Location="https://idp.example.com/sso"/>'
    "</md:IDPSSODescriptor></md:EntityDescriptor>"
).ljust(1000)
