"""The HTTP-level types the protocol layer works on, and the parser/serializer interfaces."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from botocore.model import OperationModel, ServiceModel

from mamori.errors import AwsError


def parse_fields(text: str) -> list[tuple[str, str]]:
    """``name=value&...`` fields in order, blank values kept: what ``parse_qsl`` returns.

    Most requests (every query-protocol call the SDKs send without special characters) need no
    percent-decoding; for those a split gives the same fields at a fraction of ``parse_qsl``'s
    cost, which counts on the hot path. Anything encoded goes through ``parse_qsl``.
    """
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True)
    # (a plain loop: on 3.11 the comprehension and its tuple slices cost a third more)
    fields = []
    for pair in text.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            fields.append((name, value))
    return fields


class computed_once:
    """``functools.cached_property`` without its lock.

    On Python 3.11 ``cached_property`` takes a lock on every first access, which shows on the
    request path (each request's ``form`` and ``query`` are first read there). A request is
    parsed by one task at a time, so it needs none.
    """

    def __init__(self, func) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value


@dataclass
class HttpRequest:
    """One inbound request, as the gateway hands it to routing, SigV4 and the parsers.

    ``path`` is the raw, still percent-encoded path; ``headers`` has lower-case names (repeated
    headers joined with ","). ``body`` holds the whole body, except for operations whose input
    payload is a streaming blob: then ``body`` is empty and ``stream`` yields the (already
    de-chunked) bytes.
    """

    method: str
    path: str
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    # The undecoded body generator behind ``stream``: the gateway closes the connection when a
    # handler answered without reading it to the end (the rest would corrupt the next request).
    raw_stream: Any = None
    source_ip: str = "127.0.0.1"
    secure: bool = False

    @computed_once
    def query(self) -> dict[str, list[str]]:
        """Query parameters, each name mapped to all its values in order (blank values kept)."""
        result: dict[str, list[str]] = {}
        for name, value in parse_fields(self.query_string):
            result.setdefault(name, []).append(value)
        return result

    @computed_once
    def form(self) -> list[tuple[str, str]]:
        """The query protocol's fields, parsed once: the query string's, then the body's (a
        form-encoded body; later fields win when a name repeats)."""
        fields = parse_fields(self.query_string) if self.query_string else []
        if self.body:
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError:
                text = self.body.decode("latin-1")
            fields += parse_fields(text)
        return fields

    def form_value(self, name: str) -> str | None:
        value = None
        for key, field_value in self.form:
            if key == name:
                value = field_value
        return value

    @property
    def host(self) -> str:
        return self.headers.get("host", "")


#: An output dict may carry ``{HTTP_OVERRIDES: {"status": 206, "headers": {...}}}`` for what the
#: model cannot say: S3's 206 Partial Content and 304 Not Modified (REST serializers honour it).
HTTP_OVERRIDES = "__http__"


@dataclass
class HttpResponse:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] | AsyncIterator[bytes] = b""


class RequestParser(Protocol):
    def parse(
        self,
        request: HttpRequest,
        operation: OperationModel,
        uri_params: dict[str, str],
    ) -> dict[str, Any]:
        """Turn the request into the operation's input params (as boto3 would have passed them).

        Raises ``AwsError`` (usually a validation error in the service's own code) on bad input.
        """
        ...


class ResponseSerializer(Protocol):
    def serialize(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse: ...

    def serialize_error(
        self,
        service: ServiceModel,
        operation: OperationModel | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse: ...
