"""Multipart uploads. Each part is its own encrypted blob under the upload's data key; completing
an upload stitches the parts' blobs into the object without copying a byte."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from mamori.errors import AwsError
from mamori.services.s3 import conditions, encryption, integrity, objects
from mamori.services.s3.access import authorize
from mamori.services.s3.base import (
    CHECKSUMS,
    CRC_ALGORITHMS,
    MAX_PART_SIZE,
    MIN_PART_SIZE,
    S3Base,
    check_acl,
    check_body_size,
    checksum_factories,
    content_meta,
    owner,
    parse_tagging,
    requested_checksums,
    with_default_checksum,
)
from mamori.services.s3.bodies import async_iter, chunks_of, open_body, parse_copy_range
from mamori.services.s3.crypto import unb64
from mamori.services.s3.errors import invalid_argument, invalid_request, no_such_upload
from mamori.services.s3.objects import NULL_VERSION
from mamori.services.s3.ops_listing import walk_uploads
from mamori.services.s3.ops_objects import (
    _verify_md5,
    finish_checksums,
    write_context,
)

_COMBINE = None


def _crc_combine(name: str):
    from awscrt import checksums as crt

    return {
        "CRC32": (crt.combine_crc32, 4),
        "CRC32C": (crt.combine_crc32c, 4),
        "CRC64NVME": (crt.combine_crc64nvme, 8),
    }[name]


def full_object_crc(name: str, parts: list[tuple[str, int]]) -> str:
    combine, width = _crc_combine(name)
    value = None
    for b64value, size in parts:
        crc = int.from_bytes(unb64(b64value), "big")
        value = crc if value is None else combine(value, crc, size)
    return base64.b64encode((value or 0).to_bytes(width, "big")).decode()


def _check_part_checksum_type(upload_meta: dict[str, Any], headers: dict[str, str]) -> None:
    """A part of a COMPOSITE-checksum upload must carry a checksum of the upload's algorithm
    (the composite is made of them; a FULL_OBJECT upload's parts need none)."""
    if upload_meta.get("checksum_type") != "COMPOSITE":
        return
    expected = upload_meta["checksum_algorithm"]
    actual = integrity.sent_checksum_algorithm(headers)
    if actual != expected:
        raise invalid_request(
            f"Checksum Type mismatch occurred, expected checksum Type: {expected.lower()}, "
            f"actual checksum Type: {actual.lower() if actual else 'null'}"
        )


def composite_checksum(name: str, parts: list[str]) -> str:
    factory = checksum_factories({name})[name]
    hasher = factory()
    for value in parts:
        hasher.update(unb64(value))
    return f"{base64.b64encode(hasher.digest()).decode()}-{len(parts)}"


def _part_number(params: dict[str, Any]) -> int:
    number = params["PartNumber"]
    if not 1 <= number <= 10000:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive")
    return number


class MultipartOps(S3Base):
    def create_multipart_upload(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket, key = self._new_key_target(params)
        tags = parse_tagging(params.get("Tagging"))
        request = encryption.write_request(params)
        authorize(ctx, bucket, "s3:PutObject", key, write_context(ctx, params, tags))
        check_acl(params)
        encryption.check_sse_c_allowed(bucket, request)
        meta = content_meta(params)
        if tags:
            meta["tags"] = tags
        algorithm = (params.get("ChecksumAlgorithm") or "").upper() or None
        checksum_type = params.get("ChecksumType")
        if checksum_type is not None and not algorithm:
            raise invalid_request(
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header."
            )
        asked = algorithm is not None
        if not asked:  # S3's default: a FULL_OBJECT CRC64NVME, made of the parts' own
            for default in with_default_checksum(set()):
                algorithm, checksum_type = default, "FULL_OBJECT"
        if algorithm:
            checksum_factories({algorithm})
            if checksum_type is None:
                checksum_type = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
            if checksum_type == "FULL_OBJECT" and algorithm not in CRC_ALGORITHMS:
                raise invalid_request(
                    f"The FULL_OBJECT checksum type cannot be used with the {algorithm.lower()} "
                    "checksum algorithm."
                )
            meta["checksum_algorithm"] = algorithm
            meta["checksum_type"] = checksum_type
        with self._read() as conn:
            sse = encryption.new_sse(ctx, conn, self.server_key, bucket, key, request)
        upload_id = objects.new_upload_id()
        objects.insert_upload(
            ctx.transaction(),
            upload_id=upload_id,
            bucket=bucket.name,
            key=key,
            initiated=ctx.now,
            initiator={"ID": ctx.principal.arn, "DisplayName": ctx.principal.arn},
            meta=meta,
            crypto=sse.record,
        )
        out = {"Bucket": bucket.name, "Key": key, "UploadId": upload_id, **sse.headers}
        if asked:
            out["ChecksumAlgorithm"] = algorithm
            out["ChecksumType"] = checksum_type
        return out

    def _upload(self, ctx, params: dict[str, Any], action: str):
        bucket = self._load_bucket(params["Bucket"])
        key = params["Key"]
        authorize(ctx, bucket, action, key)
        with self._read() as conn:
            upload = objects.get_upload(conn, params["UploadId"])
        if upload is None or upload.bucket != bucket.name or upload.key != key:
            raise no_such_upload()
        return bucket, upload

    def _upload_key(self, ctx, upload, params: dict[str, Any]) -> tuple[bytes, bytes | None]:
        customer = encryption.read_customer_key(
            upload.crypto,
            params.get("SSECustomerAlgorithm"),
            params.get("SSECustomerKey"),
            params.get("SSECustomerKeyMD5"),
        )
        with self._read() as conn:
            return (
                encryption.data_key(ctx, conn, self.server_key, upload.crypto, customer),
                customer,
            )

    async def upload_part(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        _bucket, upload = self._upload(ctx, params, "s3:PutObject")
        number = _part_number(params)
        data_key, customer = self._upload_key(ctx, upload, params)
        _check_part_checksum_type(upload.meta, ctx.request.headers)
        algorithms = requested_checksums(ctx, params)
        upload_algorithm = upload.meta.get("checksum_algorithm")
        if upload_algorithm:
            algorithms.add(upload_algorithm)
        blob = await self.blobs.write(
            chunks_of(params.get("Body")),
            data_key,
            checksum_factories(algorithms),
            limit=MAX_PART_SIZE,
        )
        etag = encryption.etag_of(upload.crypto, blob.md5)
        try:
            check_body_size(ctx.request.headers, params, blob.size)
            _verify_md5(params, blob.md5)
            checksums = finish_checksums(params, blob.checksums)
            old = objects.put_part(
                ctx.transaction(),
                upload.upload_id,
                number,
                blob=blob.entry(),
                size=blob.size,
                etag=etag,
                last_modified=ctx.now,
                checksums=checksums,
            )
        except BaseException:
            self.blobs.discard(blob)
            raise
        if old is not None:
            objects.queue_garbage(ctx.transaction(), [old], ctx.now)
            self._schedule_gc()
        out = {
            "ETag": f'"{etag}"',
            **encryption.response_headers(upload.crypto, customer),
        }
        out.update({f"Checksum{n}": v for n, v in checksums.items()})
        return out

    async def upload_part_copy(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        _bucket, upload = self._upload(ctx, params, "s3:PutObject")
        number = _part_number(params)
        data_key, customer = self._upload_key(ctx, upload, params)
        _src_bucket, src, src_key = self._copy_source(ctx, params)
        span = (0, src.size)
        if params.get("CopySourceRange"):
            text = params["CopySourceRange"]
            parsed = parse_copy_range(text, src.size)
            if parsed is None:
                raise invalid_argument(
                    "The x-amz-copy-source-range value must be of the form bytes=first-last "
                    "where first and last are the zero-based offsets of the first and last bytes "
                    "to copy"
                )
            span = parsed
        if span[1] - span[0] > MAX_PART_SIZE:
            raise invalid_argument("Part size is too large.")
        plaintext = open_body(self.blobs, src.blobs, src_key, span[0], span[1])
        algorithms = set()
        if upload.meta.get("checksum_algorithm"):
            algorithms.add(upload.meta["checksum_algorithm"])
        blob = await self.blobs.write(
            async_iter(plaintext), data_key, checksum_factories(algorithms)
        )
        etag = encryption.etag_of(upload.crypto, blob.md5)
        try:
            checksums = {
                n: base64.b64encode(h.digest()).decode() for n, h in blob.checksums.items()
            }
            old = objects.put_part(
                ctx.transaction(),
                upload.upload_id,
                number,
                blob=blob.entry(),
                size=blob.size,
                etag=etag,
                last_modified=ctx.now,
                checksums=checksums,
            )
        except BaseException:
            self.blobs.discard(blob)
            raise
        if old is not None:
            objects.queue_garbage(ctx.transaction(), [old], ctx.now)
            self._schedule_gc()
        result = {"ETag": f'"{etag}"', "LastModified": ctx.now}
        result.update({f"Checksum{n}": v for n, v in checksums.items()})
        out = {"CopyPartResult": result, **encryption.response_headers(upload.crypto, customer)}
        if src.version_id != NULL_VERSION:
            out["CopySourceVersionId"] = src.version_id
        return out

    def complete_multipart_upload(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket, upload = self._upload(ctx, params, "s3:PutObject")
        given = (params.get("MultipartUpload") or {}).get("Parts") or []
        if not given:
            raise AwsError(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our "
                "published schema",
                status=400,
            )
        conn = ctx.transaction()
        conditions.check_write(params, objects.latest(conn, bucket.name, upload.key))
        stored = {p.part_number: p for p in objects.list_parts(conn, upload.upload_id)}
        chosen = []
        previous = 0
        algorithm = upload.meta.get("checksum_algorithm")
        for item in given:
            number = item.get("PartNumber")
            if number is None or number <= previous:
                raise AwsError(
                    "InvalidPartOrder",
                    "The list of parts was not in ascending order. Parts must be ordered by part "
                    "number.",
                    status=400,
                )
            previous = number
            part = stored.get(number)
            etag = (item.get("ETag") or "").strip().strip('"')
            if part is None or etag != part.etag:
                raise _invalid_part()
            if algorithm:
                claimed = item.get(f"Checksum{algorithm}")
                if claimed is None and upload.meta.get("checksum_type") == "COMPOSITE":
                    raise invalid_request(
                        f"The upload was created using a {algorithm.lower()} checksum. The "
                        "complete request must include the checksum for each part. It was "
                        f"missing for part {number} in the request."
                    )
                if claimed is not None and claimed != part.checksums.get(algorithm):
                    raise _invalid_part()
            chosen.append(part)
        for part in chosen[:-1]:
            if part.size < MIN_PART_SIZE:
                raise AwsError(
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                    status=400,
                )
        md5s = b"".join(bytes.fromhex(p.etag) for p in chosen)
        etag = f"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(chosen)}"
        size = sum(p.size for p in chosen)
        meta = {k: v for k, v in upload.meta.items() if k != "checksum_algorithm"}
        meta.pop("checksum_type", None)
        if algorithm and all(algorithm in p.checksums for p in chosen):
            checksum_type = upload.meta.get("checksum_type") or "COMPOSITE"
            if checksum_type == "FULL_OBJECT":
                value = full_object_crc(
                    algorithm, [(p.checksums[algorithm], p.size) for p in chosen]
                )
            else:
                value = composite_checksum(algorithm, [p.checksums[algorithm] for p in chosen])
            claimed = params.get(f"Checksum{algorithm}")
            if claimed is not None and claimed != value:
                raise AwsError(
                    "BadDigest",
                    f"The {algorithm} you specified did not match the calculated checksum.",
                    status=400,
                )
            meta["checksums"] = {algorithm: value}
            meta["checksum_type"] = checksum_type
        blobs = [p.blob for p in chosen]
        objects.drop_upload(conn, upload.upload_id, ctx.now, keep={b["id"] for b in blobs})
        version_id = objects.put(
            conn,
            bucket=bucket.name,
            key=upload.key,
            versioning=bucket.versioning,
            size=size,
            etag=etag,
            now=ctx.now,
            meta=meta,
            crypto=upload.crypto,
            blobs=blobs,
        )
        self._schedule_gc()
        out: dict[str, Any] = {
            "Location": f"/{bucket.name}/{upload.key}",
            "Bucket": bucket.name,
            "Key": upload.key,
            "ETag": f'"{etag}"',
            **{
                k: v
                for k, v in encryption.response_headers(upload.crypto).items()
                if k in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled")
            },
        }
        for name, value in (meta.get("checksums") or {}).items():
            out[f"Checksum{name}"] = value
            out["ChecksumType"] = meta["checksum_type"]
        if version_id != NULL_VERSION:
            out["VersionId"] = version_id
        return out

    def abort_multipart_upload(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        _bucket, upload = self._upload(ctx, params, "s3:AbortMultipartUpload")
        objects.drop_upload(ctx.transaction(), upload.upload_id, ctx.now)
        self._schedule_gc()
        return {}

    def list_parts(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket, upload = self._upload(ctx, params, "s3:ListMultipartUploadParts")
        marker = int(params.get("PartNumberMarker") or 0)
        max_parts = min(params.get("MaxParts") or 1000, 1000)
        with self._read() as conn:
            rows = objects.list_parts(conn, upload.upload_id, marker, max_parts + 1)
        truncated = len(rows) > max_parts
        rows = rows[:max_parts]
        parts = []
        for row in rows:
            item = {
                "PartNumber": row.part_number,
                "LastModified": row.last_modified,
                "ETag": f'"{row.etag}"',
                "Size": row.size,
            }
            item.update({f"Checksum{n}": v for n, v in row.checksums.items() if n in CHECKSUMS})
            parts.append(item)
        out: dict[str, Any] = {
            "Bucket": bucket.name,
            "Key": upload.key,
            "UploadId": upload.upload_id,
            "PartNumberMarker": marker,
            "MaxParts": max_parts,
            "IsTruncated": truncated,
            "Parts": parts,
            "Initiator": upload.initiator,
            "Owner": owner(bucket.account),
            "StorageClass": upload.meta.get("StorageClass") or "STANDARD",
        }
        if truncated and rows:
            out["NextPartNumberMarker"] = rows[-1].part_number
        if upload.meta.get("checksum_algorithm"):
            out["ChecksumAlgorithm"] = upload.meta["checksum_algorithm"]
            out["ChecksumType"] = upload.meta.get("checksum_type")
        return out

    def list_multipart_uploads(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:ListBucketMultipartUploads")
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or None
        key_marker = params.get("KeyMarker") or None
        upload_marker = params.get("UploadIdMarker") or None
        max_uploads = min(params.get("MaxUploads") or 1000, 1000)
        with self._read() as conn:
            entries, truncated = walk_uploads(
                conn, bucket.name, prefix, delimiter, key_marker, upload_marker, max_uploads
            )
        uploads = [
            {
                "UploadId": row.upload_id,
                "Key": row.key,
                "Initiated": row.initiated,
                "StorageClass": row.meta.get("StorageClass") or "STANDARD",
                "Owner": owner(bucket.account),
                "Initiator": row.initiator,
            }
            for kind, row in entries
            if kind == "key"
        ]
        prefixes = [{"Prefix": value} for kind, value in entries if kind == "prefix"]
        out: dict[str, Any] = {
            "Bucket": bucket.name,
            "KeyMarker": key_marker or "",
            "UploadIdMarker": upload_marker or "",
            "MaxUploads": max_uploads,
            "IsTruncated": truncated,
            "Prefix": prefix,
        }
        if uploads:
            out["Uploads"] = uploads
        if prefixes:
            out["CommonPrefixes"] = prefixes
        if delimiter:
            out["Delimiter"] = delimiter
        if truncated and entries:
            kind, last = entries[-1]
            if kind == "prefix":
                out["NextKeyMarker"] = last
            else:
                out["NextKeyMarker"] = last.key
                out["NextUploadIdMarker"] = last.upload_id
        return out


def _invalid_part() -> AwsError:
    return AwsError(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been "
        "uploaded, or the specified entity tag may not have matched the part's entity tag.",
        status=400,
    )
