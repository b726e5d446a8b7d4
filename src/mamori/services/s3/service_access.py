"""Objects written and read by AWS services (CloudTrail, Config, ...) as their service principal.

Other mamori services deliver files into a customer's bucket the way AWS does: as the service
principal (``cloudtrail.amazonaws.com``), so the *bucket policy* decides, with the condition keys
AWS sets (``aws:SourceArn``, ``aws:SourceAccount``, ``s3:x-amz-acl: bucket-owner-full-control``);
the object is encrypted with the bucket's default encryption or SSE-KMS under a key the service
names (the key policy must then allow the service principal, see :mod:`mamori.services.kms.api`).

API
===

``ServiceContext(runtime, service=, account_id=, region=, now=, source_arn=None, conn=None)``
    The ``ctx`` of a call a service makes on its own behalf; ``authorize`` evaluates resource
    policies for the service principal (``principal_type="AWSService"``); ``transaction()`` is
    the caller's transaction (``conn``), so KMS and S3 see and write in it.

``check_access(ctx, conn, bucket, action, key=None, context=None) -> Bucket``
    NoSuchBucket, or AccessDenied unless the bucket policy allows the service ``action``.

``put_object(ctx, conn, bucket=, key=, body=, ...) -> dict``
    Write a whole object (small bodies: log files, digests) in ``conn``'s transaction, so the
    caller can commit it together with its own bookkeeping (exactly-once delivery). The body file
    is written before the row; if the transaction rolls back, the file is an orphan that nothing
    references.

``prepare(runtime)``
    Call before opening the transaction ``put_object`` writes in (creates S3's server key).

``get_object(ctx, bucket, key) -> (bytes, metadata)``
    Read a whole object back (``s3:GetObject`` for the service principal).

Built on S3's domain modules (buckets, objects, blobs, encryption, access); nothing in them is
changed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from datetime import datetime
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import resource_entry
from mamori.iam.policy import PolicySet, RequestFacts, evaluate, parse_policy
from mamori.iam.principals import Principal
from mamori.services.s3 import access, buckets, encryption, objects
from mamori.services.s3.bodies import open_body
from mamori.services.s3.buckets import Bucket
from mamori.services.s3.errors import no_such_bucket, no_such_key


class ServiceContext:
    """A request context for work an AWS service does itself (no HTTP request, no journal)."""

    protocol = "json"

    def __init__(
        self,
        runtime,
        *,
        service: str,
        account_id: str,
        region: str,
        now: datetime,
        source_arn: str | None = None,
        conn=None,
    ) -> None:
        self.runtime = runtime
        self.service_name = service
        self.operation_name = "ServiceDelivery"
        self.service_principal = f"{service}.amazonaws.com"
        self.region = region
        self.now = now
        self.source_arn = source_arn
        self.principal = Principal(
            type="AWSService",
            account_id=account_id,
            arn=self.service_principal,
            principal_id=self.service_principal,
        )
        self.resources: list[dict[str, str]] = []
        self.request = None
        self._conn = conn

    @property
    def in_transaction(self) -> bool:
        return self._conn is not None

    def transaction(self):
        """The caller's transaction this work belongs to (bound with ``conn=``/:meth:`bind`)."""
        if self._conn is None:
            raise RuntimeError("a ServiceContext writes only inside its caller's transaction")
        return self._conn

    def bind(self, conn) -> ServiceContext:
        self._conn = conn
        return self

    @property
    def account_id(self) -> str:
        return self.principal.account_id

    @property
    def store(self):
        return self.runtime.store

    def add_resource(self, arn: str, resource_type: str, owner: str | None = None) -> None:
        self.resources.append(resource_entry(arn, resource_type, owner or self.account_id))

    def condition_keys(self) -> dict[str, Any]:
        keys: dict[str, Any] = {
            "aws:CurrentTime": self.now,
            "aws:EpochTime": int(self.now.timestamp()),
            "aws:SecureTransport": True,
            "aws:RequestedRegion": self.region,
            "aws:SourceAccount": self.account_id,
            "aws:ViaAWSService": False,
            "aws:PrincipalIsAWSService": True,
        }
        if self.source_arn:
            keys["aws:SourceArn"] = self.source_arn
        return keys

    def authorize(
        self,
        action: str,
        resource: str = "*",
        context: dict[str, Any] | None = None,
        *,
        resource_policy=None,
        resource_account: str | None = None,
        resource_policy_required: bool = False,
        explain_denial: bool = True,
    ) -> None:
        """A service principal is allowed only by a resource policy naming it."""
        merged = self.condition_keys()
        if context:
            merged.update(context)
        if isinstance(resource_policy, str):
            resource_policy = parse_policy(resource_policy, "resource")
        facts = RequestFacts(
            action=action,
            resource=resource,
            principal_arn=self.service_principal,
            principal_account=self.account_id,
            principal_type="AWSService",
            service_principal=self.service_principal,
            context=merged,
        )
        decision = evaluate(
            facts,
            PolicySet(
                resource=resource_policy,
                resource_account=resource_account,
                resource_policy_required=resource_policy_required,
            ),
        )
        if not decision.allowed:
            message = (
                decision.denial_message(self.service_principal, action, resource)
                if explain_denial
                else "Access Denied"
            )
            raise AwsError("AccessDenied", message, status=403)


def _s3(ctx):
    return ctx.runtime.registry.providers["s3"]


def check_access(
    ctx: ServiceContext,
    conn,
    bucket: str,
    action: str,
    key: str | None = None,
    context: dict[str, Any] | None = None,
) -> Bucket:
    found = buckets.get(conn, bucket)
    if found is None:
        raise no_such_bucket(bucket)
    access.authorize(ctx, found, action, key, context)
    return found


async def _one(body: bytes):
    yield body


def _run(coro):
    """Run a coroutine to completion from synchronous code, with or without a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def put_object(
    ctx: ServiceContext,
    conn,
    *,
    bucket: str,
    key: str,
    body: bytes,
    content_type: str = "application/octet-stream",
    metadata: dict[str, str] | None = None,
    sse: str | None = None,
    kms_key_id: str | None = None,
    kms_context: dict[str, str] | None = None,
    acl: str = "bucket-owner-full-control",
) -> dict[str, Any]:
    """Write ``body`` at ``bucket/key`` as the service (see the module docstring). ``sse``:
    None (the bucket default), ``AES256``, or ``aws:kms`` (with ``kms_key_id``)."""
    s3 = _s3(ctx)
    if not ctx.in_transaction:
        ctx.bind(conn)
    mode = "aws:kms" if kms_key_id else sse
    context = {"s3:x-amz-acl": acl}
    if mode is not None:
        context["s3:x-amz-server-side-encryption"] = mode
    if kms_key_id:
        context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = kms_key_id
    target = check_access(ctx, conn, bucket, "s3:PutObject", key, context)
    request = encryption.WriteRequest(
        mode, kms_key_id=kms_key_id, kms_context=dict(kms_context or {})
    )
    chosen = encryption.new_sse(ctx, conn, s3.server_key, target, key, request)
    blob = _run(s3.blobs.write(_one(body), chosen.data_key))
    try:
        meta: dict[str, Any] = {"ContentType": content_type}
        if metadata:
            meta["Metadata"] = {k.lower(): v for k, v in metadata.items()}
        etag, version_id = objects.put_blob(
            conn, target, key, blob, now=ctx.now, meta=meta, crypto=chosen.record
        )
    except BaseException:
        s3.blobs.discard(blob)
        raise
    return {"ETag": f'"{etag}"', "VersionId": version_id, **chosen.headers}


def prepare(runtime) -> None:
    """Create what S3 creates lazily in a transaction of its own (the SSE-S3 server key), so a
    later :func:`put_object` inside a caller's write transaction never waits on a second one.
    Call it before opening that transaction."""
    s3 = runtime.registry.providers["s3"]
    with runtime.store.connect() as conn:
        s3.server_key.get(conn)


def get_object(ctx: ServiceContext, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
    """The whole body and user metadata of the current version, read as the service."""
    s3 = _s3(ctx)
    with ctx.runtime.store.connect() as conn:
        target = check_access(ctx, conn, bucket, "s3:GetObject", key)
        obj = objects.latest(conn, target.name, key)
        if obj is None or obj.delete_marker:
            raise no_such_key(key)
        data_key = encryption.data_key(ctx, conn, s3.server_key, obj.crypto, None)
    body = b"".join(open_body(s3.blobs, obj.blobs, data_key, 0, obj.size))
    return body, dict(obj.meta.get("Metadata") or {})
