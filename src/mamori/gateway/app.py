"""The ASGI application: one AWS call from bytes in to bytes out.

route -> read body -> authenticate (SigV4) -> parse -> provider -> serialize, with one journal
record per call whatever happens. A call that changed state commits its record in its own
transaction; other records are group-committed by the journal. Audit fails closed: when the
journal cannot be written, calls are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hashlib
import hmac
import inspect
import logging
import time
from datetime import datetime
from typing import Any

from botocore.model import ServiceModel

from mamori.errors import AwsError, internal_error, not_implemented
from mamori.gateway import audit, internal
from mamori.gateway.chunked import decode_body, decode_stream, decoder_for
from mamori.gateway.context import RequestContext
from mamori.gateway.routing import Route, Router, credential_scope
from mamori.gateway.sigv4 import (
    AuthFailure,
    SignatureInfo,
    auth_error,
    check_s3_auth_mechanism,
    check_s3_headers_signed,
    check_scope,
    extract_signature,
    max_clock_skew,
    verify,
)
from mamori.gateway.streams import body_stream, read_body, sha256_checked
from mamori.iam.principals import Principal, anonymous_principal
from mamori.iam.session_limits import check_session_limits
from mamori.ids import random_uuid
from mamori.journal.calls import owner_copies
from mamori.protocols import get_parser, get_serializer
from mamori.protocols.base import HttpRequest, HttpResponse
from mamori.service_models import service_model

log = logging.getLogger(__name__)

UNSIGNED_HASHES = ("UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
# Services whose operations may be called without a signature, access then being decided by
# resource policies (S3 buckets).
ANONYMOUS_SERVICES = frozenset({"s3"})


class Gateway:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.router = Router()
        self.started = time.monotonic()
        self._scheduler_task: asyncio.Task | None = None

    async def __call__(self, scope: dict, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    # Lifespan: start the journal writer and the scheduler loop; flush everything on shutdown.

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.runtime.start()
                    self._scheduler_task = asyncio.create_task(self._scheduler_loop())
                    # Everything loaded so far (botocore's models, compiled routes) lives as
                    # long as the process: keep it out of the collector's full passes.
                    gc.collect()
                    gc.freeze()
                except Exception as exc:  # pragma: no cover - reported to the server
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._scheduler_task:
                    self._scheduler_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._scheduler_task
                self.runtime.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _scheduler_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await asyncio.to_thread(self.runtime.scheduler.run_due)
            except Exception:
                log.exception("scheduler run failed")

    # HTTP

    async def _http(self, scope: dict, receive, send) -> None:
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        headers: dict[str, str] = {}
        names = _REQUEST_HEADER_NAMES
        for name, value in scope["headers"]:
            key = names.get(name)
            if key is None:
                key = _request_header_name(name)
            if key in headers:
                headers[key] += "," + value.decode("latin-1")
            else:
                headers[key] = value.decode("latin-1")
        client = scope.get("client")
        request = HttpRequest(
            method=scope["method"],
            path=path,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            source_ip=client[0] if client else "127.0.0.1",
            secure=scope.get("scheme") == "https",
        )
        if path.startswith(internal.PREFIXES):
            response = await internal.handle(self, request, receive)
            check_body = True
        else:
            response = await self._aws(request, receive)
            # A call that succeeded without a streamed body read that body whole.
            check_body = response.status >= 400 or request.raw_stream is not None
        if check_body and _body_left_unread(request):
            # What was not read (all of it, after a refused Expect: 100-continue) would be taken
            # for the next request on this connection: answer, then close it (RFC 9110 10.1.1),
            # as S3 does, rather than wait for a body that may be large or never come.
            response.headers["connection"] = "close"
        await _send(send, response, head=request.method == "HEAD")

    async def _aws(self, request: HttpRequest, receive) -> HttpResponse:
        runtime = self.runtime
        request_id = random_uuid()
        route: Route | None = None
        ctx: RequestContext | None = None
        principal: Principal | None = None
        region = runtime.settings.region
        params: dict[str, Any] | None = None
        # One reading of the domain clock per call: the context, the record and the credential
        # checks agree on when the call happened.
        now, wall = runtime.clock.readings()
        try:
            runtime.journal.check_writable()
            limit = runtime.settings.max_body_bytes
            body_read = self.router.needs_body_to_route(request)
            if body_read:
                request.body = await read_body(
                    receive, limit, request.headers.get("content-length")
                )
            route = self.router.route(request, body_read)
            streaming = route.streaming_input
            if not body_read and not streaming:
                request.body = await read_body(
                    receive, limit, request.headers.get("content-length")
                )
            principal, region = self._authenticate(request, route, receive, streaming, now, wall)
            params = get_parser(route.protocol).parse(request, route.operation, route.uri_params)
            check_session_limits(principal, route.service.service_name, route.operation.name)
            handler = runtime.registry.handler(route.service.service_name, route.operation.name)
            if handler is None:
                raise not_implemented(route.service.service_name, route.operation.name)
            ctx = RequestContext(
                runtime,
                request,
                route.operation,
                region=region,
                principal=principal,
                request_id=request_id,
                now=now,
                protocol=route.protocol,
            )
            output = handler(ctx, params)
            if type(output) is not dict and inspect.isawaitable(output):
                output = await output
            output = output or {}
            if runtime.settings.journal:  # off only to measure what journaling costs
                call = self._record(
                    route, request, principal, region, request_id, params, output, None, ctx, now
                )
                if ctx.in_transaction:
                    runtime.journal.append_in(ctx.transaction(), call)
                else:
                    runtime.journal.append(call)
                copies = owner_copies(call)
                if copies:  # a cross-account call: the resource owners' records
                    if ctx.in_transaction:
                        for copy in copies:
                            runtime.journal.append_in(ctx.transaction(), copy)
                    else:
                        runtime.journal.append_many(copies)
            ctx.finish(commit=True)
            return get_serializer(route.protocol).serialize(route.operation, output, request_id)
        except AwsError as error:
            return self._failed(
                error, route, request, principal, region, request_id, params, ctx, now
            )
        except AuthFailure as failure:  # raised before a route existed: should not happen
            return self._failed(
                internal_error(failure.message),
                route,
                request,
                principal,
                region,
                request_id,
                params,
                ctx,
                now,
            )
        except Exception:
            log.exception("unhandled error in %s", route.operation.name if route else "routing")
            return self._failed(
                internal_error(), route, request, principal, region, request_id, params, ctx, now
            )

    def _failed(self, error, route, request, principal, region, request_id, params, ctx, now):
        if ctx is not None:
            ctx.finish(commit=False)
        if self.runtime.settings.journal:
            with contextlib.suppress(AwsError):
                call = self._record(
                    route, request, principal, region, request_id, params, None, error, ctx, now
                )
                self.runtime.journal.append_many([call, *owner_copies(call)])
        if route is not None:
            return get_serializer(route.protocol).serialize_error(
                route.service, route.operation, error, request_id
            )
        return _unrouted_error(request, error, request_id)

    def _record(
        self, route, request, principal, region, request_id, params, output, error, ctx, now
    ):
        if ctx is not None:
            # An unsigned call may have named its caller once verified (AssumeRoleWithSAML).
            principal = ctx.principal
        if principal is None:
            principal = _unknown_principal(
                request, runtime_account=self.runtime.settings.account_id
            )
        source, name = _claimed_operation(request) if route is None else ("", "")
        return audit.build_call(
            route.operation if route is not None else None,
            principal,
            region,
            now,
            request.source_ip,
            request.headers.get("user-agent", ""),
            request_id,
            params,
            output,
            error.code if error is not None else None,
            error.message if error is not None else None,
            ctx.resources if ctx is not None else None,
            request.secure,
            source,
            name,
            request.host,
        )

    # Authentication

    def _authenticate(
        self,
        request: HttpRequest,
        route: Route,
        receive,
        streaming: bool,
        now: datetime,
        wall: datetime,
    ) -> tuple[Principal, str]:
        """The caller and the region it signed for; ``now`` is the domain time, ``wall`` the
        real time (SigV4's clock-skew check compares with it, never with a time-travelled
        clock)."""
        service = route.service.service_name
        try:
            if service == "s3" and request.query_string:
                check_s3_auth_mechanism(request)
            info = extract_signature(request)
            if info is None:
                if route.operation.auth_type == "none" or service in ANONYMOUS_SERVICES:
                    self._attach_body(request, receive, streaming, None, None)
                    return anonymous_principal(self.runtime.settings.account_id), (
                        self.runtime.settings.region
                    )
                raise AuthFailure("missing_auth", "Missing Authentication Token")
            check_scope(info, _signing_name(route.service), self.runtime.settings.region)
            credential = self.runtime.credentials.lookup(info.access_key_id)
            if credential is None or (
                credential.session_token_hash is not None and not info.session_token
            ):
                # A temporary key is known only with its session token (S3 answers
                # InvalidAccessKeyId without one; the other services' codes are the same as
                # for a bad token).
                raise AuthFailure(
                    "unknown_key", "unknown access key", access_key_id=info.access_key_id
                )
            if credential.status != "Active":
                raise AuthFailure(
                    "inactive_key", "inactive access key", access_key_id=info.access_key_id
                )
            verify(
                request,
                info,
                credential.secret_access_key,
                now=wall,
                max_skew=max_clock_skew(service),
                body_hash=self._body_hash(request, info, streaming),
            )
            if service == "s3":
                check_s3_headers_signed(request, info)
            # Only a request whose headers are signed correctly gets its body decoded.
            self._attach_body(request, receive, streaming, info, credential.secret_access_key)
            if credential.session_token_hash is not None:
                token = info.session_token
                if not token or not _token_matches(token, credential.session_token_hash):
                    raise AuthFailure("invalid_token", "invalid session token")
                if credential.expires is not None and credential.expires <= now:
                    raise AuthFailure("expired_token", "expired session token")
            elif info.session_token:
                raise AuthFailure("invalid_token", "session token given for a long-term key")
            else:
                self.runtime.credentials.record_use(
                    credential.access_key_id, now, info.region, _signing_name(route.service)
                )
            return credential.principal, info.region
        except AuthFailure as failure:
            raise auth_error(failure, route.service, route.protocol) from None

    @staticmethod
    def _body_hash(request: HttpRequest, info: SignatureInfo, streaming: bool) -> str | None:
        """The hash of the body as received, when the signature must be checked against it.

        None when the declared hash stands in the canonical request instead (streaming and
        unsigned payloads, aws-chunked bodies), or when ``extract_signature`` already derived
        the payload hash from the body itself (no ``x-amz-content-sha256`` header).
        """
        if streaming or info.presigned or "x-amz-content-sha256" not in request.headers:
            return None
        if info.payload_hash in UNSIGNED_HASHES or info.payload_hash.startswith("STREAMING-"):
            return None
        return hashlib.sha256(request.body).hexdigest()

    @staticmethod
    def _attach_body(
        request: HttpRequest,
        receive,
        streaming: bool,
        info: SignatureInfo | None,
        secret: str | None,
    ) -> None:
        """Give the request its body: decoded from aws-chunked and verified as it streams."""
        decoder = decoder_for(request, info, secret) if info is not None else None
        if streaming:
            stream = request.raw_stream = body_stream(receive)
            if decoder is not None:
                stream = decode_stream(stream, decoder)
            elif (
                info is not None
                and not info.presigned
                and info.payload_hash not in UNSIGNED_HASHES
                and not info.payload_hash.startswith("STREAMING-")
            ):
                stream = sha256_checked(stream, info.payload_hash)
            request.stream = stream
        elif decoder is not None:
            request.body = decode_body(request.body, decoder)


@functools.cache
def _signing_name(service: ServiceModel) -> str:
    return service.metadata.get("signingName") or service.metadata["endpointPrefix"]


def _token_matches(token: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), expected_hash)


def _unknown_principal(request: HttpRequest, runtime_account: str) -> Principal:
    access_key = None
    scope_header = request.headers.get("authorization", "")
    if "Credential=" in scope_header:
        access_key = scope_header.split("Credential=", 1)[1].split("/", 1)[0]
    return Principal(
        type="Unknown",
        account_id=runtime_account,
        arn="",
        principal_id="",
        access_key_id=access_key,
    )


def _claimed_operation(request: HttpRequest) -> tuple[str, str]:
    """(eventSource, eventName) a request that matched no operation claimed to be."""
    scope = credential_scope(request)
    service = scope[1] if scope else "unknown"
    target = request.headers.get("x-amz-target", "")
    name = target.rpartition(".")[2] or (request.query.get("Action") or ["Unknown"])[0]
    return f"{service}.amazonaws.com", name


def _body_left_unread(request: HttpRequest) -> bool:
    """Whether the request declared a body that was not read to its end."""
    raw = request.raw_stream
    if raw is not None:
        return raw.ag_frame is not None  # the body generator has not finished
    if request.body:
        return False  # ``read_body`` returns only once it has read the whole body
    length = request.headers.get("content-length")
    if length is None:
        return "transfer-encoding" in request.headers
    return length != "0"


def _unrouted_error(request: HttpRequest, error: AwsError, request_id: str) -> HttpResponse:
    """An error before any operation was identified, in the protocol the request looks like."""
    if request.headers.get("x-amz-target"):
        protocol, service = "json", "kms"
    elif request.path.startswith("/service/"):
        protocol, service = "smithy-rpc-v2-cbor", "cloudwatch"
    elif "Action" in request.query or request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        protocol, service = "query", "sts"
    else:
        scope = credential_scope(request)
        protocol, service = (
            ("rest-xml", "s3") if not scope or scope[1] == "s3" else ("rest-json", "guardduty")
        )
    return get_serializer(protocol).serialize_error(service_model(service), None, error, request_id)


# Header names as they come (bytes) and go (str), with their other form: a server sees the same
# few dozen names over and over. Bounded, as clients choose the names they send.
_REQUEST_HEADER_NAMES: dict[bytes, str] = {}
_RESPONSE_HEADER_NAMES: dict[str, bytes] = {}
_HEADER_NAMES_MAX = 512


def _request_header_name(name: bytes) -> str:
    key = name.decode("latin-1").lower()
    if len(_REQUEST_HEADER_NAMES) < _HEADER_NAMES_MAX:
        _REQUEST_HEADER_NAMES[name] = key
    return key


def _response_header_name(name: str) -> bytes:
    key = name.lower().encode("latin-1")
    if len(_RESPONSE_HEADER_NAMES) < _HEADER_NAMES_MAX:
        _RESPONSE_HEADER_NAMES[name] = key
    return key


async def _send(send, response: HttpResponse, head: bool) -> None:
    body = response.body
    headers = []
    has_length = False
    names = _RESPONSE_HEADER_NAMES
    for name, value in response.headers.items():
        key = names.get(name)
        if key is None:
            key = _response_header_name(name)
        if key == b"content-length":
            has_length = True
        headers.append(
            (key, value.encode("latin-1") if type(value) is str else str(value).encode("latin-1"))
        )
    if isinstance(body, bytes | bytearray):
        if not has_length:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else bytes(body)})
        return
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if hasattr(body, "__aiter__"):
        async for chunk in body:  # type: ignore[union-attr]
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    else:
        for chunk in body:  # type: ignore[union-attr]
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
