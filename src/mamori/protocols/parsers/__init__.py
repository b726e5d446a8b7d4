"""Request parsers, one per wire protocol: ``PARSERS[protocol]()`` gives an object whose
``parse(request, operation, uri_params)`` returns the operation's input params exactly as a
boto3 user passed them (validated against the model; bad input raises the service's own
``AwsError``)."""

from __future__ import annotations

from mamori.protocols.parsers.cbor import CborParser
from mamori.protocols.parsers.json import JsonParser
from mamori.protocols.parsers.query import QueryParser
from mamori.protocols.parsers.rest_json import RestJsonParser
from mamori.protocols.parsers.rest_xml import RestXmlParser

PARSERS = {
    "json": JsonParser,
    "query": QueryParser,
    "rest-json": RestJsonParser,
    "rest-xml": RestXmlParser,
    "smithy-rpc-v2-cbor": CborParser,
}

__all__ = [
    "PARSERS",
    "CborParser",
    "JsonParser",
    "QueryParser",
    "RestJsonParser",
    "RestXmlParser",
]
