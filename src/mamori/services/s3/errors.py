"""S3's own errors, with its codes, statuses and messages."""

from __future__ import annotations

from mamori.errors import AwsError


def no_such_bucket(bucket: str) -> AwsError:
    return AwsError(
        "NoSuchBucket",
        "The specified bucket does not exist",
        status=404,
        fields={"BucketName": bucket},
    )


def wrong_region(signed_for: str, bucket_region: str, presigned: bool) -> AwsError:
    """A request signed for another region than its bucket's: the error names the region to
    sign for, in its body and in ``x-amz-bucket-region`` (SDKs sign again for it)."""
    if presigned:
        code = "AuthorizationQueryParametersError"
        message = "Error parsing the X-Amz-Credential parameter; the region"
    else:
        code = "AuthorizationHeaderMalformed"
        message = "The authorization header is malformed; the region"
    return AwsError(
        code,
        f"{message} '{signed_for}' is wrong; expecting '{bucket_region}'",
        status=400,
        fields={"Region": bucket_region},
        headers={"x-amz-bucket-region": bucket_region},
    )


def no_such_key(key: str) -> AwsError:
    return AwsError("NoSuchKey", "The specified key does not exist.", status=404)


def no_such_version(key: str, version_id: str) -> AwsError:
    return AwsError(
        "NoSuchVersion",
        "The specified version does not exist.",
        status=404,
    )


def no_such_upload() -> AwsError:
    return AwsError(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed.",
        status=404,
    )


def invalid_argument(message: str, name: str | None = None, value: str | None = None) -> AwsError:
    return AwsError("InvalidArgument", message, status=400)


def invalid_request(message: str) -> AwsError:
    return AwsError("InvalidRequest", message, status=400)


def access_denied(message: str = "Access Denied") -> AwsError:
    return AwsError("AccessDenied", message, status=403)


def method_not_allowed(headers: dict[str, str] | None = None) -> AwsError:
    return AwsError(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        status=405,
        headers=headers,
    )


def precondition_failed(condition: str) -> AwsError:
    return AwsError(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        status=412,
    )


def invalid_range(size: int) -> AwsError:
    return AwsError("InvalidRange", "The requested range is not satisfiable", status=416)


def bad_digest(what: str = "Content-MD5") -> AwsError:
    if what == "Content-MD5":
        return AwsError(
            "BadDigest", "The Content-MD5 you specified did not match what we received.", status=400
        )
    return AwsError(
        "BadDigest",
        f"The {what} you specified did not match the calculated checksum.",
        status=400,
    )


def invalid_digest() -> AwsError:
    return AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", status=400)


def malformed_xml() -> AwsError:
    return AwsError(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
        status=400,
    )


SSE_C_REQUIRED = (
    "The object was stored using a form of Server Side Encryption. The correct parameters must "
    "be provided to retrieve the object."
)
