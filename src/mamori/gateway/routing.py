"""Which service and operation a request is for, decided from the models alone.

In order: ``X-Amz-Target`` (JSON protocols), the rpc-v2-cbor path
``/service/<Service>/operation/<Op>``, the query protocol's ``Action`` and ``Version`` (which
names the service), then the REST routes built from each model's
``http.requestUri`` and method, for the service named by the credential scope (S3 when the
request is unsigned). S3 buckets may also come from the host name (virtual-hosted style).

Among REST operations sharing a method and path (S3's ``PUT /{Bucket}/{Key+}`` is PutObject,
CopyObject, UploadPart and UploadPartCopy), the one whose literal query keys and required
querystring and header members are all present and most numerous wins; then the one with more
of its optional querystring members present; then a current operation over a deprecated one that
shares its route (S3's GetBucketLifecycle); then model order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from botocore.model import OperationModel, OperationNotFoundError, ServiceModel

from mamori.errors import AwsError
from mamori.protocols.base import HttpRequest
from mamori.protocols.uri import UriTemplate
from mamori.service_models import SERVICES, protocols_of, service_model

CBOR_PATH = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<operation>[^/?]+)$")
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")
VIRTUAL_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}?[a-z0-9])\.(?:s3[.-]|localhost$)")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class Route:
    """Where a request goes: the service, the operation, the protocol it speaks, and the values
    of the REST path's labels. Routes without path labels are built once and shared (nothing
    modifies a route)."""

    __slots__ = ("operation", "protocol", "service", "streaming_input", "uri_params")

    def __init__(
        self,
        service: ServiceModel,
        operation: OperationModel,
        protocol: str,
        uri_params: dict[str, str],
    ) -> None:
        self.service = service
        self.operation = operation
        self.protocol = protocol
        self.uri_params = uri_params
        self.streaming_input = _has_streaming_input(operation)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Route):
            return NotImplemented
        return (self.service, self.operation, self.protocol, self.uri_params) == (
            other.service,
            other.operation,
            other.protocol,
            other.uri_params,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Route({self.service.service_name}, {self.operation.name}, {self.protocol}, "
            f"{self.uri_params})"
        )


@dataclass(frozen=True)
class _RestRoute:
    operation: OperationModel
    template: UriTemplate
    literal_query: dict[str, str | None]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    optional_query: tuple[str, ...]
    deprecated: bool
    order: int

    @property
    def weight(self) -> int:
        return len(self.literal_query) + len(self.required_query) + len(self.required_headers)


def _has_streaming_input(operation: OperationModel) -> bool:
    shape = operation.input_shape
    if shape is None:
        return False
    payload = shape.serialization.get("payload")
    return bool(payload and shape.members[payload].serialization.get("streaming"))


def _operation(model: ServiceModel, name: str) -> OperationModel | None:
    """The model's operation of that name (botocore caches each one), or None."""
    try:
        return model.operation_model(name)
    except OperationNotFoundError:
        return None


def credential_scope(request: HttpRequest) -> tuple[str, str] | None:
    """(region, signing service) named by the request's SigV4 credential, if any."""
    authorization = request.headers.get("authorization")
    if authorization:
        # The usual header without the regex: the first Credential= with a plain access key
        # id and an 8-digit date (else the regex decides, which may look further).
        start = authorization.find("Credential=")
        if start >= 0:
            parts = authorization[start + 11 : start + 256].split("/", 4)
            if (
                len(parts) == 5
                and parts[0].isalnum()
                and len(parts[1]) == 8
                and parts[1].isdecimal()
                and parts[2]
                and parts[3]
            ):
                return parts[2], parts[3]
        match = CREDENTIAL_SCOPE.search(authorization)
        return match.groups() if match else None  # (region, service)
    credential = request.query.get("X-Amz-Credential")
    if credential:
        parts = credential[0].split("/")
        if len(parts) == 5:
            return parts[2], parts[3]
    return None


class Router:
    def __init__(self, services: tuple[str, ...] = SERVICES) -> None:
        self.services = services
        self.by_target_prefix: dict[str, str] = {}
        self.by_signing_name: dict[str, str] = {}
        self.query_by_version: dict[str, str] = {}
        self.protocols: dict[str, frozenset[str]] = {}
        for name in services:
            model = service_model(name)
            metadata = model.metadata
            self.protocols[name] = frozenset(protocols_of(model))
            if metadata.get("targetPrefix"):
                self.by_target_prefix[metadata["targetPrefix"]] = name
            self.by_signing_name.setdefault(metadata.get("signingName") or name, name)
            self.by_signing_name.setdefault(metadata["endpointPrefix"], name)
            if "query" in protocols_of(model):
                self.query_by_version[metadata["apiVersion"]] = name
        self._rest_routes: dict[str, dict[str, list[_RestRoute]]] = {}
        self._named: dict[tuple[str, str, str], Route] = {}

    # The cheap part, before the body is read.

    def needs_body_to_route(self, request: HttpRequest) -> bool:
        """Query-protocol requests carry their Action in a form-encoded body."""
        return request.method == "POST" and request.headers.get("content-type", "").startswith(
            FORM_CONTENT_TYPE
        )

    def route(self, request: HttpRequest, form_body: bool | None = None) -> Route:
        """The operation ``request`` calls. ``form_body``: what ``needs_body_to_route`` said of
        it, when the caller asked already."""
        target = request.headers.get("x-amz-target")
        if target:
            return self._route_target(target, request)
        if request.path.startswith("/service/"):
            match = CBOR_PATH.match(request.path)
            if match:
                return self._route_named(
                    self.by_target_prefix.get(match["service"]),
                    match["operation"],
                    "smithy-rpc-v2-cbor",
                    "UnknownOperationException",
                )
        scope = credential_scope(request)
        if form_body is None:
            form_body = self.needs_body_to_route(request)
        if form_body or "Action=" in request.query_string:
            action = request.form_value("Action")
            if action:
                return self._route_query(action, request, scope)
        service = self.by_signing_name.get(scope[1]) if scope else "s3"
        if service is None or not self._has_protocol(service, ("rest-json", "rest-xml")):
            raise AwsError(
                "UnknownOperationException",
                f"mamori cannot tell which operation {request.method} {request.path} is.",
                status=404,
            )
        return self._route_rest(service, request)

    def _has_protocol(self, service: str, wanted: tuple[str, ...]) -> bool:
        offered = self.protocols.get(service)
        return offered is not None and not offered.isdisjoint(wanted)

    def _route_target(self, target: str, request: HttpRequest) -> Route:
        prefix, _, operation = target.rpartition(".")
        return self._route_named(
            self.by_target_prefix.get(prefix), operation, "json", "UnknownOperationException"
        )

    def _route_named(
        self, service: str | None, operation: str, protocol: str, unknown_code: str
    ) -> Route:
        if service is None:
            raise AwsError("UnknownOperationException", "mamori does not serve this service.")
        if protocol not in self.protocols[service]:
            raise AwsError(
                "UnknownOperationException", f"{service} does not speak the {protocol} protocol."
            )
        route = self._named_route(service, operation, protocol)
        if route is None:
            raise AwsError(unknown_code, f"Unknown operation {operation}.")
        return route

    def _named_route(self, service: str, operation: str, protocol: str) -> Route | None:
        """The route to an operation named by the request (not REST), or None when the service
        has no such operation. Built once per operation: only real operations are kept, so the
        cache is bounded by the models."""
        key = (service, operation, protocol)
        route = self._named.get(key)
        if route is None:
            model = service_model(service)
            found = _operation(model, operation)
            if found is None:
                return None
            route = self._named[key] = Route(model, found, protocol, {})
        return route

    def _route_query(
        self, action: str, request: HttpRequest, scope: tuple[str, str] | None
    ) -> Route:
        """The query API named by ``Version`` (each query service's is its own) and ``Action``.

        The credential scope does not choose the service: a signature scoped to another one is
        refused when it is checked against the route. A missing or foreign ``Version`` finds no
        operation, as in AWS ("Could not find operation ... for version ...")."""
        version = request.form_value("Version")
        service = self.query_by_version.get(version) if version else None
        if service is not None:
            route = self._named_route(service, action, "query")
            if route is not None:
                return route
        scoped = self.by_signing_name.get(scope[1]) if scope else None
        if scoped is None or not self._has_protocol(scoped, ("query",)):
            scoped = service
        if scoped is None:
            raise AwsError("InvalidAction", f"The action {action} is not valid for this endpoint.")
        if self._named_route(scoped, action, "query") is None:
            raise AwsError(
                "InvalidAction", f"The action {action} is not valid for this web service."
            )
        raise AwsError(
            "InvalidAction",
            f"Could not find operation {action} for version {version or 'NO_VERSION_SPECIFIED'}",
        )

    # REST

    def _routes_for(self, service: str) -> dict[str, list[_RestRoute]]:
        routes = self._rest_routes.get(service)
        if routes is None:
            routes = self._rest_routes[service] = _build_rest_routes(service_model(service))
        return routes

    def _route_rest(self, service: str, request: HttpRequest) -> Route:
        model = service_model(service)
        protocol = "rest-xml" if "rest-xml" in protocols_of(model) else "rest-json"
        path = request.path
        if service == "s3":
            bucket = _virtual_host_bucket(request.host)
            if bucket:
                path = "/" + bucket + (path if path != "/" else "")
                if path.endswith("/") and path.count("/") == 1:
                    path = path[:-1]
        best: tuple[tuple, _RestRoute, dict[str, str]] | None = None
        query = request.query
        headers = request.headers
        for candidate in self._routes_for(service).get(request.method, ()):
            params = candidate.template.match(path)
            if params is None:
                continue
            if not _query_matches(candidate, query) or not all(
                h in headers for h in candidate.required_headers
            ):
                continue
            key = (
                candidate.weight,
                sum(1 for name in candidate.optional_query if name in query),
                not candidate.deprecated,
                -candidate.order,
            )
            if best is None or key > best[0]:
                best = (key, candidate, params)
        if best is None:
            raise _no_route(service, request)
        return Route(model, best[1].operation, protocol, best[2])


def _query_matches(route: _RestRoute, query: dict[str, list[str]]) -> bool:
    for key, value in route.literal_query.items():
        if key not in query or (value is not None and value not in query[key]):
            return False
    return all(key in query for key in route.required_query)


def _virtual_host_bucket(host: str) -> str | None:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    match = VIRTUAL_HOST.match(name.lower())
    return match["bucket"] if match else None


def _build_rest_routes(model: ServiceModel) -> dict[str, list[_RestRoute]]:
    table: dict[str, list[_RestRoute]] = {}
    for order, name in enumerate(model.operation_names):
        operation = model.operation_model(name)
        template = UriTemplate.compile(operation.http["requestUri"])
        literal = {k: v for k, v in template.required_query.items() if k != "x-id"}
        required_query: list[str] = []
        optional_query: list[str] = []
        required_headers: list[str] = []
        shape = operation.input_shape
        if shape is not None:
            required = set(shape.required_members)
            for member_name, member in shape.members.items():
                location = member.serialization.get("location")
                wire = member.serialization.get("name", member_name)
                if location == "querystring":
                    (required_query if member_name in required else optional_query).append(wire)
                elif location == "header" and member_name in required:
                    required_headers.append(wire.lower())
        route = _RestRoute(
            operation=operation,
            template=template,
            literal_query=literal,
            required_query=tuple(required_query),
            required_headers=tuple(required_headers),
            optional_query=tuple(optional_query),
            deprecated=bool(operation.deprecated),
            order=order,
        )
        table.setdefault(operation.http["method"], []).append(route)
    return table


def _no_route(service: str, request: HttpRequest) -> AwsError:
    if service == "s3":
        return AwsError(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            status=405,
        )
    return AwsError(
        "UnknownOperationException",
        f"No {service} operation matches {request.method} {request.path}.",
        status=404,
    )
