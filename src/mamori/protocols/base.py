"""The HTTP-level types the protocol layer works on, and the parser/serializer interfaces."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import parse_qsl

from botocore.model import OperationModel, ServiceModel

from mamori.errors import AwsError


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
    source_ip: str = "127.0.0.1"
    secure: bool = False

    @cached_property
    def query(self) -> dict[str, list[str]]:
        """Query parameters, each name mapped to all its values in order (blank values kept)."""
        result: dict[str, list[str]] = {}
        for name, value in parse_qsl(self.query_string, keep_blank_values=True):
            result.setdefault(name, []).append(value)
        return result

    @property
    def host(self) -> str:
        return self.headers.get("host", "")


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
