"""KMS for other mamori services (S3's SSE-KMS, ...): the calls AWS services make on a caller's
behalf, authorized for the caller with ``kms:ViaService = <service>.<region>.amazonaws.com``.

The functions raise the same :class:`~mamori.errors.AwsError` codes as the KMS API
(``NotFoundException``, ``DisabledException``, ``KMSInvalidStateException``,
``InvalidCiphertextException``, ``AccessDeniedException`` — ``AccessDenied`` when the calling
service speaks query or REST-XML —, ...); the calling service maps them to its own errors where
it has them. Key ids resolve as in the API: key id, key ARN, alias name, alias ARN.

Every such call is journaled as CloudTrail records a call an AWS service makes on your behalf
(KMS guide, "Logging AWS KMS API calls with AWS CloudTrail"): eventSource
``kms.amazonaws.com``, the caller's userIdentity with ``invokedBy: s3.amazonaws.com`` (or
``AWSService`` when a service acts on its own, as CloudTrail encrypting its log files), the
service as source IP address and user agent, the key in ``resources`` — and never a plaintext or
key material.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mamori.errors import AwsError
from mamori.gateway import audit
from mamori.gateway.context import resource_entry
from mamori.journal.calls import owner_copies
from mamori.service_models import service_model

KEY_SPEC_OF_LENGTH = {32: "AES_256", 16: "AES_128"}


def _kms(ctx):
    return ctx.runtime.registry.providers["kms"]


class _OnBehalf:
    """The context of one KMS call a service makes: the calling service's ``ctx`` with a list
    of resources of its own (the key belongs to the KMS record, not to the S3 call's)."""

    def __init__(self, ctx) -> None:
        self._ctx = ctx
        self.resources: list[dict[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def add_resource(self, arn: str, resource_type: str, owner: str | None = None) -> None:
        self.resources.append(resource_entry(arn, resource_type, owner or self._ctx.account_id))


@contextmanager
def _journaled(ctx, operation: str, via_service: str, params: dict[str, Any]) -> Iterator[Any]:
    """Run one KMS call for ``via_service`` and journal it, succeeded or refused; ``params`` (the
    operation's input, as the API would take it) may be completed by the call."""
    call_ctx = _OnBehalf(ctx)
    try:
        yield call_ctx
    except AwsError as error:
        _journal(ctx, operation, via_service, params, call_ctx.resources, error)
        raise
    _journal(ctx, operation, via_service, params, call_ctx.resources, None)


def _journal(ctx, operation, via_service, params, resources, error: AwsError | None) -> None:
    runtime = ctx.runtime
    if not runtime.settings.journal:
        return
    principal = ctx.principal
    invoked_by = principal.arn if principal.type == "AWSService" else f"{via_service}.amazonaws.com"
    call = audit.service_call(
        service_model("kms").operation_model(operation),
        principal,
        invoked_by,
        ctx.region,
        ctx.now,
        params,
        error.code if error is not None else None,
        error.message if error is not None else None,
        resources,
    )
    runtime.journal.append_many([call, *owner_copies(call)])


def _via(ctx, service: str) -> str:
    return f"{service}.{ctx.region}.amazonaws.com"


def generate_data_key(
    ctx,
    key_id: str,
    encryption_context: dict[str, str],
    *,
    via_service: str,
    number_of_bytes: int = 32,
) -> tuple[bytes, bytes, str]:
    """(plaintext data key, ciphertext blob, key ARN)."""
    params: dict[str, Any] = {"KeyId": key_id, "EncryptionContext": encryption_context}
    if number_of_bytes in KEY_SPEC_OF_LENGTH:
        params["KeySpec"] = KEY_SPEC_OF_LENGTH[number_of_bytes]
    else:
        params["NumberOfBytes"] = number_of_bytes
    with _journaled(ctx, "GenerateDataKey", via_service, params) as call_ctx:
        key, plaintext, blob = _kms(ctx)._data_key(
            call_ctx,
            key_id,
            encryption_context,
            number_of_bytes,
            "kms:GenerateDataKey",
            via_service=_via(ctx, via_service),
        )
    return plaintext, blob, key["Arn"]


def decrypt(
    ctx, ciphertext_blob: bytes, encryption_context: dict[str, str], *, via_service: str
) -> tuple[bytes, str]:
    """(plaintext, key ARN) of a ciphertext blob made by GenerateDataKey/Encrypt."""
    kms = _kms(ctx)
    params: dict[str, Any] = {
        "EncryptionContext": encryption_context,
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    with _journaled(ctx, "Decrypt", via_service, params) as call_ctx, kms._read(ctx) as conn:
        key, plaintext, _ = kms._decrypt_symmetric(
            call_ctx,
            conn,
            ciphertext_blob,
            encryption_context,
            "kms:Decrypt",
            via_service=_via(ctx, via_service),
            extra={"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        )
        params["KeyId"] = key["Arn"]
    return plaintext, key["Arn"]


def default_service_key(ctx, service: str) -> str:
    """The ARN of the AWS managed key ``alias/aws/<service>`` in ctx's account and region,
    created on first use (KeyManager AWS; its key policy allows use via that service by every
    principal of the account, as AWS's aws/s3 key policy does)."""
    return _kms(ctx).service_key(ctx, service)
