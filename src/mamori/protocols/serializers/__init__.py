"""Response serializers: one per AWS wire protocol, driven only by botocore's service models.

``SERIALIZERS`` maps a protocol name (as in a model's ``metadata.protocols``) to a class with a
no-argument constructor implementing ``mamori.protocols.base.ResponseSerializer``.
``error_status(service_model, error)`` gives the HTTP status an ``AwsError`` is answered with
(the gateway records it in the journal).
"""

from __future__ import annotations

from mamori.protocols.serializers.cbor import CborSerializer
from mamori.protocols.serializers.common import error_shape_for, error_status
from mamori.protocols.serializers.json import JsonSerializer
from mamori.protocols.serializers.query import QuerySerializer
from mamori.protocols.serializers.rest_json import RestJsonSerializer
from mamori.protocols.serializers.rest_xml import RestXmlSerializer

SERIALIZERS = {
    "json": JsonSerializer,
    "query": QuerySerializer,
    "rest-json": RestJsonSerializer,
    "rest-xml": RestXmlSerializer,
    "smithy-rpc-v2-cbor": CborSerializer,
}

__all__ = [
    "SERIALIZERS",
    "CborSerializer",
    "JsonSerializer",
    "QuerySerializer",
    "RestJsonSerializer",
    "RestXmlSerializer",
    "error_shape_for",
    "error_status",
]
