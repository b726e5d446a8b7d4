"""Object operations: put/get/head/delete, copy (re-encrypting), tagging."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote

from mamori.errors import AwsError
from mamori.protocols.base import HTTP_OVERRIDES
from mamori.protocols.serializers.common import http_date
from mamori.services.s3 import conditions, encryption, objects
from mamori.services.s3.access import authorize
from mamori.services.s3.base import (
    MAX_OBJECT_SIZE,
    S3Base,
    check_acl,
    check_body_size,
    checksum_factories,
    content_meta,
    copied_meta,
    meta_output,
    parse_tagging,
    requested_checksums,
    tag_set_dict,
    validate_object_tags,
    with_default_checksum,
)
from mamori.services.s3.bodies import async_iter, chunks_of, open_body, parse_range, part_ranges
from mamori.services.s3.buckets import Bucket
from mamori.services.s3.errors import (
    bad_digest,
    invalid_argument,
    invalid_request,
    malformed_xml,
    method_not_allowed,
    no_such_key,
    no_such_version,
)
from mamori.services.s3.integrity import verify_md5
from mamori.services.s3.objects import NULL_VERSION, ObjectVersion


def write_context(ctx, params: dict[str, Any], tags: dict[str, str] | None = None) -> dict:
    """S3 condition keys of a write request."""
    context: dict[str, Any] = {}
    mapping = {
        "ServerSideEncryption": "s3:x-amz-server-side-encryption",
        "SSEKMSKeyId": "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "SSECustomerAlgorithm": "s3:x-amz-server-side-encryption-customer-algorithm",
        "ACL": "s3:x-amz-acl",
        "StorageClass": "s3:x-amz-storage-class",
        "MetadataDirective": "s3:x-amz-metadata-directive",
        "WebsiteRedirectLocation": "s3:x-amz-website-redirect-location",
    }
    for param, key in mapping.items():
        value = params.get(param)
        if value is not None:
            context[key] = value
    if params.get("BucketKeyEnabled") is not None:
        context["s3:x-amz-server-side-encryption-bucket-key-enabled"] = params["BucketKeyEnabled"]
    if tags:
        for key, value in tags.items():
            context[f"s3:RequestObjectTag/{key}"] = value
        context["s3:RequestObjectTagKeys"] = list(tags)
    context.update(_auth_keys(ctx))
    return context


def _auth_keys(ctx) -> dict[str, Any]:
    headers = ctx.request.headers
    presigned = "X-Amz-Signature" in ctx.request.query
    context: dict[str, Any] = {}
    if ctx.principal.type != "Anonymous":
        context["s3:authType"] = "REST-QUERY-STRING" if presigned else "REST-HEADER"
        context["s3:signatureversion"] = "AWS4-HMAC-SHA256"
    sha = headers.get("x-amz-content-sha256")
    if sha:
        context["s3:x-amz-content-sha256"] = sha
    return context


def existing_tag_context(obj: ObjectVersion | None) -> dict[str, Any]:
    if obj is None:
        return {}
    return {f"s3:ExistingObjectTag/{k}": v for k, v in (obj.meta.get("tags") or {}).items()}


def delete_marker_headers(marker: ObjectVersion) -> dict[str, str]:
    """What a read that lands on a delete marker (404 or 405) says about it."""
    headers = {"x-amz-delete-marker": "true", "Last-Modified": http_date(marker.last_modified)}
    if marker.version_id != NULL_VERSION:
        headers["x-amz-version-id"] = marker.version_id
    return headers


def _checksum_outputs(meta: dict[str, Any]) -> dict[str, Any]:
    out = {f"Checksum{name}": value for name, value in (meta.get("checksums") or {}).items()}
    if out and meta.get("checksum_type"):
        out["ChecksumType"] = meta["checksum_type"]
    return out


def _verify_md5(params: dict[str, Any], md5: bytes) -> None:
    given = params.get("ContentMD5")
    if given is not None:
        verify_md5(given, md5)


def finish_checksums(params: dict[str, Any], hashers: dict[str, Any]) -> dict[str, str]:
    """Base64 checksums of what was received; header-declared ones must match (BadDigest)."""
    values = {}
    for name, hasher in hashers.items():
        value = base64.b64encode(hasher.digest()).decode()
        claimed = params.get(f"Checksum{name}")
        if claimed is not None and claimed.strip() != value:
            raise bad_digest(name)
        values[name] = value
    return values


#: DeleteObjects' per-object conditions -> DeleteObject's parameters of the same meaning.
_ENTRY_CONDITIONS = {
    "ETag": "IfMatch",
    "Size": "IfMatchSize",
    "LastModifiedTime": "IfMatchLastModifiedTime",
}


def _entry_conditions(item: dict[str, Any]) -> dict[str, Any]:
    return {param: item[field] for field, param in _ENTRY_CONDITIONS.items() if field in item}


def parse_copy_source(text: str) -> tuple[str, str, str | None]:
    source = text
    version_id = None
    if "?" in source:
        source, _, query = source.partition("?")
        for item in query.split("&"):
            name, _, value = item.partition("=")
            if name == "versionId":
                version_id = unquote(value)
    source = unquote(source).lstrip("/")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise invalid_argument("Invalid copy source object key")
    return bucket, key, version_id


class ObjectOps(S3Base):
    # -- reads ----------------------------------------------------------------------------------

    def _find(
        self, ctx, bucket: Bucket, key: str, version_id: str | None, action: str
    ) -> ObjectVersion:
        """The object a read names, after authorization (403 before 404 when the caller may not
        list the bucket, as S3 does)."""
        with self._read() as conn:
            obj = (
                objects.version(conn, bucket.name, key, version_id)
                if version_id
                else objects.latest(conn, bucket.name, key)
            )
        if version_id and action == "s3:GetObject":
            action = "s3:GetObjectVersion"
        authorize(ctx, bucket, action, key, existing_tag_context(obj))
        if obj is None or (obj.delete_marker and not version_id):
            if version_id:
                if version_id != NULL_VERSION and len(version_id) < 8:
                    raise invalid_argument("Invalid version id specified")
                raise no_such_version(key, version_id)
            try:
                authorize(ctx, bucket, "s3:ListBucket")
            except AwsError:
                raise AwsError("AccessDenied", "Access Denied", status=403) from None
            error = no_such_key(key)
            if obj is not None:
                error.headers.update(delete_marker_headers(obj))
            raise error
        if obj.delete_marker:
            raise method_not_allowed(delete_marker_headers(obj))
        return obj

    def _object_output(self, obj: ObjectVersion, customer: bytes | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ETag": obj.quoted_etag,
            "LastModified": obj.last_modified,
            "AcceptRanges": "bytes",
            "ContentType": "binary/octet-stream",
        }
        out.update(meta_output(obj.meta))
        out.update(encryption.response_headers(obj.crypto, customer))
        if obj.version_id != NULL_VERSION:
            out["VersionId"] = obj.version_id
        tags = obj.meta.get("tags")
        if tags:
            out["TagCount"] = len(tags)
        return out

    def _read_object(self, ctx, params: dict[str, Any], head: bool) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        key = params["Key"]
        obj = self._find(ctx, bucket, key, params.get("VersionId"), "s3:GetObject")
        customer = encryption.read_customer_key(
            obj.crypto,
            params.get("SSECustomerAlgorithm"),
            params.get("SSECustomerKey"),
            params.get("SSECustomerKeyMD5"),
        )
        try:
            conditions.check_read(params, obj)
        except conditions.NotModified:
            return conditions.not_modified(obj)
        out = self._object_output(obj, customer)
        size = obj.size
        span = None
        part_number = params.get("PartNumber")
        if part_number is not None and params.get("Range"):
            raise invalid_request("Cannot specify both Range header and partNumber query parameter")
        if part_number is not None:
            # An object not made by a multipart upload is one part (its whole body).
            multipart = obj.from_multipart_upload
            ranges = part_ranges(obj.blobs) if multipart else [(0, size)]
            if part_number < 1 or part_number > len(ranges):
                raise AwsError(
                    "InvalidPartNumber", "The requested partnumber is not satisfiable", status=416
                )
            span = ranges[part_number - 1]
            out["PartsCount"] = len(ranges) if multipart else None
        else:
            span = parse_range(params.get("Range"), size)
        for name in (
            "CacheControl",
            "ContentDisposition",
            "ContentEncoding",
            "ContentLanguage",
            "ContentType",
            "Expires",
        ):
            value = params.get(f"Response{name}")
            if value is not None:
                out[name] = value
        if span is not None and (part_number is None or span[1] > span[0]):
            start, end = span
            out["ContentRange"] = f"bytes {start}-{end - 1}/{size}" if end > start else None
            out[HTTP_OVERRIDES] = {"status": 206}
        else:
            start, end = 0, size
            if params.get("ChecksumMode") == "ENABLED":
                out.update(_checksum_outputs(obj.meta))
        out["ContentLength"] = end - start
        if head:
            return out
        with self._read() as conn:
            key_bytes = encryption.data_key(ctx, conn, self.server_key, obj.crypto, customer)
        out["Body"] = open_body(self.blobs, obj.blobs, key_bytes, start, end)
        return out

    def get_object(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        return self._read_object(ctx, params, head=False)

    def head_object(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        return self._read_object(ctx, params, head=True)

    # -- writes ---------------------------------------------------------------------------------

    async def put_object(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket, key = self._new_key_target(params)
        tags = parse_tagging(params.get("Tagging"))
        request = encryption.write_request(params)
        authorize(ctx, bucket, "s3:PutObject", key, write_context(ctx, params, tags))
        check_acl(params)
        encryption.check_sse_c_allowed(bucket, request)
        meta = content_meta(params)
        if tags:
            meta["tags"] = tags
        algorithms = with_default_checksum(requested_checksums(ctx, params))
        factories = checksum_factories(algorithms)
        with self._read() as conn:
            conditions.check_write(params, objects.latest(conn, bucket.name, key))
            sse = encryption.new_sse(ctx, conn, self.server_key, bucket, key, request)
        blob = await self.blobs.write(
            chunks_of(params.get("Body")), sse.data_key, factories, limit=MAX_OBJECT_SIZE
        )
        try:
            check_body_size(ctx.request.headers, params, blob.size)
            _verify_md5(params, blob.md5)
            checksums = finish_checksums(params, blob.checksums)
            if checksums:
                meta["checksums"] = checksums
                meta["checksum_type"] = "FULL_OBJECT"
            conn = ctx.transaction()
            conditions.check_write(params, objects.latest(conn, bucket.name, key))
            etag, version_id = objects.put_blob(
                conn, bucket, key, blob, now=ctx.now, meta=meta, crypto=sse.record
            )
        except BaseException:
            self.blobs.discard(blob)
            raise
        self._schedule_gc()
        out: dict[str, Any] = {"ETag": f'"{etag}"', **sse.headers}
        out.update({f"Checksum{n}": v for n, v in checksums.items()})
        if checksums:
            out["ChecksumType"] = "FULL_OBJECT"
        if version_id != NULL_VERSION:
            out["VersionId"] = version_id
        return out

    def delete_object(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        key = params["Key"]
        version_id = params.get("VersionId")
        authorize(ctx, bucket, "s3:DeleteObjectVersion" if version_id else "s3:DeleteObject", key)
        result = self._delete(ctx, bucket, key, version_id, params)
        self._schedule_gc()
        return result

    def _delete(self, ctx, bucket: Bucket, key: str, version_id: str | None, params) -> dict:
        conditions.refuse_directory_bucket_conditions(params)
        conn = ctx.transaction()
        if version_id:
            obj = objects.version(conn, bucket.name, key, version_id)
            if obj is None:
                if version_id != NULL_VERSION and len(version_id) < 8:
                    raise invalid_argument("Invalid version id specified")
                return {"VersionId": version_id}
            objects.delete_version(conn, obj, ctx.now)
            out: dict[str, Any] = {"VersionId": version_id}
            if obj.delete_marker:
                out["DeleteMarker"] = True
            return out
        existing = objects.latest(conn, bucket.name, key)
        conditions.check_delete(params, existing)
        if bucket.versioning:
            marker = objects.put(
                conn,
                bucket=bucket.name,
                key=key,
                versioning=bucket.versioning,
                size=0,
                etag="",
                now=ctx.now,
                meta={},
                crypto=None,
                blobs=[],
                delete_marker=True,
            )
            return {"DeleteMarker": True, "VersionId": marker}
        if existing is not None:
            objects.delete_version(conn, existing, ctx.now)
        return {}

    def delete_objects(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        delete = params.get("Delete") or {}
        items = delete.get("Objects") or []
        if len(items) > 1000 or not items:
            raise malformed_xml()
        quiet = bool(delete.get("Quiet"))
        deleted, errors = [], []
        for item in items:
            key = item["Key"]
            version_id = item.get("VersionId")
            try:
                authorize(
                    ctx,
                    bucket,
                    "s3:DeleteObjectVersion" if version_id else "s3:DeleteObject",
                    key,
                )
                result = self._delete(ctx, bucket, key, version_id, _entry_conditions(item))
            except AwsError as error:
                errors.append(
                    {
                        "Key": key,
                        "VersionId": version_id,
                        "Code": error.code,
                        "Message": error.message,
                    }
                )
                continue
            if not quiet:
                entry: dict[str, Any] = {"Key": key}
                if version_id:
                    entry["VersionId"] = version_id
                if result.get("DeleteMarker"):
                    # The marker created, or the marker version that was deleted.
                    entry["DeleteMarker"] = True
                    entry["DeleteMarkerVersionId"] = result.get("VersionId")
                deleted.append(entry)
        self._schedule_gc()
        out: dict[str, Any] = {}
        if deleted:
            out["Deleted"] = deleted
        if errors:
            out["Errors"] = errors
        return out

    # -- copy -----------------------------------------------------------------------------------

    def _copy_source(self, ctx, params: dict[str, Any]):
        """(source bucket, object, plaintext stream factory) after every source-side check."""
        src_bucket_name, src_key, src_version = parse_copy_source(params["CopySource"])
        src_bucket = self._load_bucket(src_bucket_name)
        obj = self._find(ctx, src_bucket, src_key, src_version, "s3:GetObject")
        customer = encryption.read_customer_key(
            obj.crypto,
            params.get("CopySourceSSECustomerAlgorithm"),
            params.get("CopySourceSSECustomerKey"),
            params.get("CopySourceSSECustomerKeyMD5"),
        )
        conditions.check_copy_source(params, obj)
        with self._read() as conn:
            key_bytes = encryption.data_key(ctx, conn, self.server_key, obj.crypto, customer)
        return src_bucket, obj, key_bytes

    async def copy_object(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket, key = self._new_key_target(params)
        directive = params.get("MetadataDirective") or "COPY"
        tagging_directive = params.get("TaggingDirective") or "COPY"
        if directive not in ("COPY", "REPLACE") or tagging_directive not in ("COPY", "REPLACE"):
            raise invalid_argument("Unknown metadata directive.")
        request = encryption.write_request(params)
        tags = parse_tagging(params.get("Tagging")) if tagging_directive == "REPLACE" else None
        authorize(
            ctx,
            bucket,
            "s3:PutObject",
            key,
            {
                **write_context(ctx, params, tags),
                "s3:x-amz-copy-source": params["CopySource"],
            },
        )
        check_acl(params)
        encryption.check_sse_c_allowed(bucket, request)
        src_bucket, src, src_key_bytes = self._copy_source(ctx, params)
        if (
            src_bucket.name == bucket.name
            and src.key == key
            and directive == "COPY"
            and request.mode is None
            and not params.get("StorageClass")
            and not params.get("WebsiteRedirectLocation")
            and src.is_latest
            and tagging_directive == "COPY"
        ):
            raise invalid_request(
                "This copy request is illegal because it is trying to copy an object to itself "
                "without changing the object's metadata, storage class, website redirect "
                "location or encryption attributes."
            )
        if src.size > MAX_OBJECT_SIZE:
            raise invalid_request(
                "The specified copy source is larger than the maximum allowable size for a copy "
                "source: 5368709120"
            )
        meta = content_meta(params) if directive == "REPLACE" else copied_meta(src.meta, params)
        if tagging_directive == "REPLACE":
            if tags:
                meta["tags"] = tags
        elif src.meta.get("tags"):
            meta["tags"] = dict(src.meta["tags"])
        algorithms = set((src.meta.get("checksums") or {}).keys())
        if params.get("ChecksumAlgorithm"):
            algorithms = {params["ChecksumAlgorithm"].upper()}
        factories = checksum_factories(with_default_checksum(algorithms))
        with self._read() as conn:
            conditions.check_write(params, objects.latest(conn, bucket.name, key))
            sse = encryption.new_sse(ctx, conn, self.server_key, bucket, key, request)
        plaintext = open_body(self.blobs, src.blobs, src_key_bytes, 0, src.size)
        blob = await self.blobs.write(async_iter(plaintext), sse.data_key, factories)
        try:
            if blob.size != src.size:
                raise AwsError("InternalError", "The copy was incomplete.", status=500)
            checksums = {
                n: base64.b64encode(h.digest()).decode() for n, h in blob.checksums.items()
            }
            if checksums:
                meta["checksums"] = checksums
                meta["checksum_type"] = "FULL_OBJECT"
            etag, version_id = objects.put_blob(
                ctx.transaction(), bucket, key, blob, now=ctx.now, meta=meta, crypto=sse.record
            )
        except BaseException:
            self.blobs.discard(blob)
            raise
        self._schedule_gc()
        result: dict[str, Any] = {"ETag": f'"{etag}"', "LastModified": ctx.now}
        result.update({f"Checksum{n}": v for n, v in checksums.items()})
        out: dict[str, Any] = {"CopyObjectResult": result, **sse.headers}
        if src.version_id != NULL_VERSION:
            out["CopySourceVersionId"] = src.version_id
        if version_id != NULL_VERSION:
            out["VersionId"] = version_id
        return out

    # -- tagging and ACLs -----------------------------------------------------------------------

    def _tag_target(self, ctx, params, action: str) -> ObjectVersion:
        bucket = self._load_bucket(params["Bucket"])
        return self._find(ctx, bucket, params["Key"], params.get("VersionId"), action)

    def put_object_tagging(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        obj = self._tag_target(ctx, params, "s3:PutObjectTagging")
        tags = tag_set_dict((params.get("Tagging") or {}).get("TagSet") or [])
        validate_object_tags(tags)
        meta = dict(obj.meta)
        meta["tags"] = tags
        objects.update_meta(ctx.transaction(), obj, meta)
        return {"VersionId": obj.version_id} if obj.version_id != NULL_VERSION else {}

    def get_object_tagging(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        obj = self._tag_target(ctx, params, "s3:GetObjectTagging")
        tags = obj.meta.get("tags") or {}
        out: dict[str, Any] = {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
        if obj.version_id != NULL_VERSION:
            out["VersionId"] = obj.version_id
        return out

    def delete_object_tagging(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        obj = self._tag_target(ctx, params, "s3:DeleteObjectTagging")
        meta = dict(obj.meta)
        meta.pop("tags", None)
        objects.update_meta(ctx.transaction(), obj, meta)
        return {"VersionId": obj.version_id} if obj.version_id != NULL_VERSION else {}

    def get_object_acl(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        self._find(ctx, bucket, params["Key"], params.get("VersionId"), "s3:GetObjectAcl")
        from mamori.services.s3.ops_buckets import _owner_acl

        return _owner_acl(bucket.account)
