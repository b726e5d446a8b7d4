"""An operation that is not built yet answers a clear error naming it, in its protocol's form."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

CASES = [
    ("organizations", "list_accounts", {}),  # json 1.1
    ("sqs", "list_queues", {}),  # json 1.0, awsQueryCompatible
    ("sns", "list_topics", {}),  # query
    ("cloudwatch", "list_dashboards", {}),  # smithy-rpc-v2-cbor
    ("guardduty", "list_detectors", {}),  # rest-json
    ("s3", "get_bucket_inventory_configuration", {"Bucket": "b", "Id": "i"}),  # rest-xml
]


@pytest.mark.parametrize(("service", "method", "kwargs"), CASES)
def test_unbuilt_operation_answers_501_naming_it(server, service, method, kwargs):
    client = server.client(service)
    with pytest.raises(ClientError) as error:
        getattr(client, method)(**kwargs)
    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert response["Error"]["Code"] == "NotImplemented"
    operation = client.meta.method_to_api_mapping[method]
    assert operation in response["Error"]["Message"]
