"""KMS's errors, with AWS's codes and message styles."""

from __future__ import annotations

from mamori.errors import AwsError


def not_found(message: str) -> AwsError:
    return AwsError("NotFoundException", message)


def key_not_found(arn: str) -> AwsError:
    return not_found(f"Key '{arn}' does not exist")


def alias_not_found(alias_arn: str) -> AwsError:
    return not_found(f"Alias '{alias_arn}' is not found.")


def disabled(arn: str) -> AwsError:
    return AwsError("DisabledException", f"{arn} is disabled.")


def invalid_state(message: str) -> AwsError:
    return AwsError("KMSInvalidStateException", message)


def invalid_ciphertext(message: str = "") -> AwsError:
    return AwsError("InvalidCiphertextException", message)


def incorrect_key() -> AwsError:
    return AwsError(
        "IncorrectKeyException",
        "The key ID in the request does not identify a CMK that can perform this operation.",
    )


def invalid_key_usage(message: str) -> AwsError:
    return AwsError("InvalidKeyUsageException", message)


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def unsupported(message: str) -> AwsError:
    return AwsError("UnsupportedOperationException", message)


def limit_exceeded(message: str) -> AwsError:
    return AwsError("LimitExceededException", message)


def dry_run() -> AwsError:
    return AwsError(
        "DryRunOperationException",
        "The request would have succeeded, but the DryRun option is set.",
    )
