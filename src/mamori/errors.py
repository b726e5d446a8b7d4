"""The one exception type every layer raises to answer a client with an AWS error.

A provider raises ``AwsError("NotFoundException", "Key 'x' does not exist")``; the protocol
serializer renders it in the wire protocol's own error form. When ``status`` is left out it is
taken from the service model's error shape (``error.httpStatusCode``), falling back to 400 for
client faults and 500 for server faults.
"""

from __future__ import annotations

from typing import Any


class AwsError(Exception):
    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        status: int | None = None,
        sender_fault: bool = True,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        # Extra members of the modelled error shape (e.g. S3's BucketName), serialized as such.
        self.fields = fields or {}
        # Extra response headers (e.g. x-amz-bucket-region).
        self.headers = headers or {}


class ValidationError(AwsError):
    """Input failed the model's constraints; the parser picks the service's own code."""


def internal_error(message: str = "An internal error occurred.") -> AwsError:
    return AwsError("InternalFailure", message, status=500, sender_fault=False)


def not_implemented(service: str, operation: str) -> AwsError:
    return AwsError(
        "NotImplemented",
        f"mamori does not implement {service}:{operation} yet.",
        status=501,
        sender_fault=False,
    )
