"""KMS for other mamori services (S3's SSE-KMS, ...): the calls AWS services make on a caller's
behalf, authorized for the caller with ``kms:ViaService = <service>.<region>.amazonaws.com``.

The functions raise the same :class:`~mamori.errors.AwsError` codes as the KMS API
(``NotFoundException``, ``DisabledException``, ``KMSInvalidStateException``,
``InvalidCiphertextException``, ``AccessDeniedException`` — ``AccessDenied`` when the calling
service speaks query or REST-XML —, ...); the calling service maps them to its own errors where
it has them. Key ids resolve as in the API: key id, key ARN, alias name, alias ARN.
"""

from __future__ import annotations


def _kms(ctx):
    return ctx.runtime.registry.providers["kms"]


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
    key, plaintext, blob = _kms(ctx)._data_key(
        ctx,
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
    with kms._read(ctx) as conn:
        key, plaintext, _ = kms._decrypt_symmetric(
            ctx,
            conn,
            ciphertext_blob,
            encryption_context,
            "kms:Decrypt",
            via_service=_via(ctx, via_service),
            extra={"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        )
    return plaintext, key["Arn"]


def default_service_key(ctx, service: str) -> str:
    """The ARN of the AWS managed key ``alias/aws/<service>`` in ctx's account and region,
    created on first use (KeyManager AWS; its key policy allows use via that service by every
    principal of the account, as AWS's aws/s3 key policy does)."""
    return _kms(ctx).service_key(ctx, service)
