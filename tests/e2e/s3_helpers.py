"""Helpers for the S3 end-to-end tests."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import make_client


def bucket_name(prefix: str = "b") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def s3_client(server, **kwargs):
    return server.client("s3", **kwargs)


def virtual_client(server):
    return server.client(
        "s3", config=Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1})
    )


def new_bucket(s3, prefix: str = "b") -> str:
    name = bucket_name(prefix)
    s3.create_bucket(Bucket=name)
    return name


def allow_sse_c(s3, bucket: str) -> None:
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                    "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]},
                }
            ]
        },
    )


def sse_c_args(key: bytes, prefix: str = "") -> dict:
    return {
        f"{prefix}SSECustomerAlgorithm": "AES256",
        f"{prefix}SSECustomerKey": base64.b64encode(key).decode(),
        f"{prefix}SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def status(excinfo) -> int:
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def user_client(server, *statements: dict, service: str = "s3"):
    iam = server.client("iam")
    name = f"s3user-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]

    def client(svc: str = service, **kwargs):
        return make_client(
            server.endpoint,
            svc,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            **kwargs,
        )

    return arn, client


__all__ = ["ClientError", "pytest"]
