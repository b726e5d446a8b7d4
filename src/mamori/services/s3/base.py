"""What the S3 provider's operation families share."""

from __future__ import annotations

import asyncio
import contextlib
import email.base64mime
import email.header
import logging
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from mamori.errors import AwsError
from mamori.gateway.chunked import CHECKSUM_ALGORITHMS, MODES
from mamori.service_models import service_model
from mamori.services.registry import Handler, Provider
from mamori.services.s3 import buckets, integrity, objects
from mamori.services.s3.blobs import BlobStore
from mamori.services.s3.buckets import Bucket, canonical_id
from mamori.services.s3.crypto import ServerKey
from mamori.services.s3.errors import no_such_bucket, wrong_region

log = logging.getLogger(__name__)

#: Checksum algorithms as the API names them -> the gateway's incremental implementations.
CHECKSUMS = {
    "CRC32": "crc32",
    "CRC32C": "crc32c",
    "CRC64NVME": "crc64nvme",
    "SHA1": "sha1",
    "SHA256": "sha256",
}
CRC_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME")
DEFAULT_CHECKSUM = "CRC64NVME"
MAX_OBJECT_SIZE = 5 * 1024**3
MAX_PART_SIZE = 5 * 1024**3
MIN_PART_SIZE = 5 * 1024**2
MAX_KEY_BYTES = 1024
CONTENT_FIELDS = (
    "ContentType",
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
)


#: Object settings a copy never takes from its source, even with MetadataDirective COPY: the
#: storage class and website redirect come from the request (AWS: "does not inherit the storage
#: class"; the redirect "is not copied"), tags follow the TaggingDirective and checksums are
#: computed anew.
NOT_COPIED = ("StorageClass", "WebsiteRedirectLocation", "tags", "checksums", "checksum_type")


def owner(account: str) -> dict[str, str]:
    return {"ID": canonical_id(account)}


def checksum_factories(algorithms: set[str]) -> dict[str, Any]:
    out = {}
    for name in algorithms:
        impl = CHECKSUMS.get(name)
        if impl is None or impl not in CHECKSUM_ALGORITHMS:
            raise AwsError(
                "InvalidRequest",
                f"Checksum algorithm {name} is not supported.",
                status=400,
            )
        out[name] = CHECKSUM_ALGORITHMS[impl]
    return out


def with_default_checksum(algorithms: set[str]) -> set[str]:
    """The checksums to store for a new object: those asked for, else S3's default, a
    CRC64NVME (FULL_OBJECT) checksum (when the installed awscrt provides it)."""
    if algorithms or CHECKSUMS[DEFAULT_CHECKSUM] not in CHECKSUM_ALGORITHMS:
        return algorithms
    return {DEFAULT_CHECKSUM}


def requested_checksums(ctx, params: dict[str, Any]) -> set[str]:
    """Algorithms a write asked for: x-amz-sdk-checksum-algorithm, x-amz-checksum-* headers and
    the declared trailer (already verified by the gateway's aws-chunked decoder)."""
    found: set[str] = set()
    algorithm = params.get("ChecksumAlgorithm")
    if algorithm:
        found.add(algorithm.upper())
    for name in CHECKSUMS:
        if params.get(f"Checksum{name}"):
            found.add(name)
    trailer = ctx.request.headers.get("x-amz-trailer", "")
    if trailer.lower().startswith("x-amz-checksum-"):
        found.add(trailer[len("x-amz-checksum-") :].strip().upper())
    return found


def check_body_size(headers: dict[str, str], params: dict[str, Any], size: int) -> None:
    """The body stored must be as long as the request declared: its Content-Length, or for an
    aws-chunked body (whose Content-Length counts the chunk framing too) its
    x-amz-decoded-content-length."""
    if headers.get("x-amz-content-sha256", "").strip() in MODES:
        decoded = headers.get("x-amz-decoded-content-length")
        declared = int(decoded) if decoded is not None else None
    else:
        declared = params.get("ContentLength")
    if declared is not None and declared != size:
        raise AwsError(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
            status=400,
        )


def parse_tagging(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    tags = dict(parse_qsl(text, keep_blank_values=True))
    validate_object_tags(tags)
    return tags


def tag_set_dict(tag_set: list[dict[str, str]]) -> dict[str, str]:
    """A request's TagSet as a dict; a key given twice is S3's InvalidTag."""
    tags = {t["Key"]: t["Value"] for t in tag_set}
    if len(tags) != len(tag_set):
        raise AwsError("InvalidTag", "Cannot provide multiple Tags with the same key", status=400)
    return tags


def check_new_key(key: str) -> None:
    """Every operation that creates a key (put, copy, multipart) refuses one longer than
    1,024 bytes of UTF-8, as S3 does."""
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise AwsError("KeyTooLongError", "Your key is too long", status=400)


def validate_object_tags(tags: dict[str, str]) -> None:
    if len(tags) > 10:
        raise AwsError("BadRequest", "Object tags cannot be greater than 10", status=400)
    validate_tags(tags)


def validate_tags(tags: dict[str, str]) -> None:
    r"""S3's rules for one tag, bucket or object: a key of 1-128 and a value of 0-256 letters,
    spaces, digits and ``_.:/=+-@`` (``^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$``), the key not
    starting with the reserved ``aws:``."""
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or not _tag_text(key):
            raise _invalid_tag("The TagKey you have provided is invalid")
        if len(value) > 256 or not _tag_text(value):
            raise _invalid_tag("The TagValue you have provided is invalid")
        if key.lower().startswith("aws:"):
            raise _invalid_tag("Your TagKey cannot be prefixed with aws:")


_TAG_SYMBOLS = frozenset("_.:/=+-@")


def _tag_text(text: str) -> bool:
    return all(c in _TAG_SYMBOLS or unicodedata.category(c)[0] in ("L", "Z", "N") for c in text)


def _invalid_tag(message: str) -> AwsError:
    return AwsError("InvalidTag", message, status=400)


def check_acl(params: dict[str, Any]) -> None:
    """ACLs are disabled (ObjectOwnership BucketOwnerEnforced): only the owner-full-control
    canned ACL is accepted, as S3 does."""
    acl = params.get("ACL")
    grants = any(
        params.get(g) for g in ("GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP")
    )
    if (acl and acl != "bucket-owner-full-control") or grants:
        raise AwsError(
            "AccessControlListNotSupported", "The bucket does not allow ACLs", status=400
        )


def content_meta(params: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        value = params.get(name)
        if value is not None:
            meta[name] = value
    encoding = meta.get("ContentEncoding")
    if encoding is not None:
        kept = [e.strip() for e in encoding.split(",") if e.strip() and e.strip() != "aws-chunked"]
        if kept:
            meta["ContentEncoding"] = ",".join(kept)
        else:
            del meta["ContentEncoding"]
    expires = params.get("Expires")
    if isinstance(expires, datetime):
        meta["Expires"] = expires.isoformat()
    user = params.get("Metadata") or {}
    if sum(len(k) + len(v) for k, v in user.items()) > 2048:
        raise AwsError(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size",
            status=400,
        )
    if user:
        meta["Metadata"] = {k.lower(): stored_metadata_value(v) for k, v in user.items()}
    meta.update(per_object_settings(params))
    return meta


def stored_metadata_value(value: str) -> str:
    """A user metadata value as S3 stores it: RFC 2047 encoded words decoded (other header
    bytes are kept as ISO-8859-1 characters, as S3 reads them)."""
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return value  # not well-formed encoded words: kept as sent


def returned_metadata_value(value: str) -> str:
    """A stored user metadata value as S3 returns it: printable US-ASCII as is, anything else
    RFC 2047 encoded (one UTF-8 base64 encoded word) to keep the header mail-safe."""
    if value.isascii() and value.isprintable():
        return value
    return email.base64mime.header_encode(value.encode("utf-8"), "UTF-8")


def per_object_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The storage class and website redirect a write request sets (never copied)."""
    settings: dict[str, Any] = {}
    redirect = params.get("WebsiteRedirectLocation")
    if redirect is not None:
        settings["WebsiteRedirectLocation"] = redirect
    storage = params.get("StorageClass")
    if storage and storage != "STANDARD":
        settings["StorageClass"] = storage
    return settings


def copied_meta(source: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Metadata of a copy with MetadataDirective COPY: the source's, less what is never copied,
    plus the request's own per-object settings."""
    meta = {k: v for k, v in source.items() if k not in NOT_COPIED}
    meta.update(per_object_settings(params))
    return meta


def meta_output(meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {name: meta[name] for name in CONTENT_FIELDS if name in meta}
    if "Expires" in meta:
        with contextlib.suppress(ValueError):
            out["Expires"] = datetime.fromisoformat(meta["Expires"])
    if meta.get("Metadata"):
        out["Metadata"] = {k: returned_metadata_value(v) for k, v in meta["Metadata"].items()}
    for name in ("StorageClass", "WebsiteRedirectLocation"):
        if meta.get(name) is not None:
            out[name] = meta[name]
    return out


# Operations that name a bucket and may be sent signed for any region: CreateBucket (its
# LocationConstraint must match instead) and GetBucketLocation (how a client finds the region).
ANY_REGION_OPERATIONS = frozenset({"CreateBucket", "GetBucketLocation"})


def _is_presigned(request) -> bool:
    return "X-Amz-Credential" in request.query


class S3Base(Provider):
    service_name = "s3"

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self.runtime.settings.data_dir)

    def after_reset(self) -> None:
        self.blobs.clear()

    def prepare_handler(self, operation: str, handler: Handler) -> Handler:
        """What every operation of a kind checks before it runs: a request that names a bucket
        must be signed for the bucket's region, and operations with request checksums get
        their checksum headers checked, and their Content-MD5 and checksums verified when the
        whole body is in the request (streaming uploads verify as they store)."""
        model = service_model("s3").operation_model(operation)
        handler = self._with_integrity_checks(model, handler)
        input_shape = model.input_shape
        if input_shape is None or "Bucket" not in input_shape.members:
            return handler
        if operation in ANY_REGION_OPERATIONS:
            return handler
        return self._in_bucket_region(handler)

    @staticmethod
    def _with_integrity_checks(model, handler: Handler) -> Handler:
        http_checksum = model.http_checksum
        if not integrity.checks_body(http_checksum):
            return handler
        whole_body = not model.has_streaming_input

        def verified(ctx, params: dict[str, Any]) -> Any:
            request = ctx.request
            integrity.check_checksum_headers(request.headers)
            if whole_body:
                integrity.verify_body(http_checksum, request.headers, request.body)
            return handler(ctx, params)

        return verified

    def _in_bucket_region(self, handler: Handler) -> Handler:
        """``handler`` behind S3's region check: a signed request for a bucket of another
        region than the one it was signed for is refused, naming the bucket's region (the
        error and the ``x-amz-bucket-region`` header SDKs follow to sign again for it). An
        unknown bucket is left to the operation (NoSuchBucket); anonymous requests carry no
        region."""

        def in_region(ctx, params: dict[str, Any]) -> Any:
            name = params.get("Bucket")
            if name and ctx.principal.type != "Anonymous":
                with self._read() as conn:
                    bucket = buckets.get(conn, name)
                if bucket is not None and bucket.region != ctx.region:
                    raise wrong_region(ctx.region, bucket.region, _is_presigned(ctx.request))
            return handler(ctx, params)

        return in_region

    @cached_property
    def server_key(self) -> ServerKey:
        return ServerKey(self.runtime.store)

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        with self.runtime.store.connect() as conn:
            yield conn

    @staticmethod
    def _bucket(conn, name: str) -> Bucket:
        bucket = buckets.get(conn, name)
        if bucket is None:
            raise no_such_bucket(name)
        return bucket

    def _load_bucket(self, name: str) -> Bucket:
        with self._read() as conn:
            return self._bucket(conn, name)

    def _new_key_target(self, params: dict[str, Any]) -> tuple[Bucket, str]:
        """The bucket and key of an operation that creates the key (put, copy, multipart)."""
        bucket = self._load_bucket(params["Bucket"])
        check_new_key(params["Key"])
        return bucket, params["Key"]

    # Garbage: blob files of rows that are gone, deleted once that deletion has committed.

    _gc_scheduled = False

    def _schedule_gc(self) -> None:
        if self._gc_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._gc_scheduled = True
        loop.call_later(0.5, self._collect_garbage)

    def _collect_garbage(self) -> None:
        self._gc_scheduled = False
        try:
            store = self.runtime.store
            with store.connect() as conn:
                ids = objects.take_garbage(conn)
            if not ids:
                return
            for blob_id in ids:
                self.blobs.delete(blob_id)
            with store.begin() as conn:
                objects.forget_garbage(conn, ids)
            if len(ids) >= 500:
                self._schedule_gc()
        except Exception:
            log.exception("s3 garbage collection failed")

    def _record_bucket(self, ctx, conn, bucket: Bucket, deleted: bool = False) -> None:
        """Keep the bucket's configuration in the versioned resources (Config history)."""
        resources = self.runtime.resources
        if deleted:
            resources.delete(
                conn, bucket.account, bucket.region, "AWS::S3::Bucket", bucket.name, ctx.now
            )
            return
        data = {
            "Name": bucket.name,
            "Arn": bucket.arn,
            "CreationDate": bucket.created.isoformat(),
            "Region": bucket.region,
            **{k: v for k, v in bucket.config.items() if k != "policy"},
            "Policy": bucket.config.get("policy"),
        }
        resources.put(
            conn,
            account=bucket.account,
            region=bucket.region,
            type="AWS::S3::Bucket",
            id=bucket.name,
            data=data,
            now=ctx.now,
        )
