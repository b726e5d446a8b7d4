"""Wire protocols: one request parser and one response serializer per AWS protocol.

Everything is driven by botocore's service models; nothing here knows an operation by name.
``get_parser(name)`` and ``get_serializer(name)`` take a protocol name as it appears in a model's
``metadata.protocols``: ``json``, ``query``, ``rest-json``, ``rest-xml``, ``smithy-rpc-v2-cbor``.
"""

from __future__ import annotations

from functools import cache

from mamori.protocols.base import RequestParser, ResponseSerializer

PROTOCOLS = ("json", "query", "rest-json", "rest-xml", "smithy-rpc-v2-cbor")


@cache
def get_parser(protocol: str) -> RequestParser:
    from mamori.protocols import parsers

    return parsers.PARSERS[protocol]()


@cache
def get_serializer(protocol: str) -> ResponseSerializer:
    from mamori.protocols import serializers

    return serializers.SERIALIZERS[protocol]()
