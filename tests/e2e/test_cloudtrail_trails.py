"""CloudTrail trails end to end: lifecycle, the checks CreateTrail makes on the bucket policy and
KMS key policy, status, event selectors, tags."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.e2e.s3_helpers import new_bucket

ACCOUNT = "000000000000"


def trail_policy(bucket: str, prefix: str | None = None) -> str:
    path = f"{prefix}/AWSLogs/{ACCOUNT}/*" if prefix else f"AWSLogs/{ACCOUNT}/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                },
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{path}",
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                },
            ],
        }
    )


def trail_bucket(s3, prefix: str | None = None) -> str:
    bucket = new_bucket(s3, "ct")
    s3.put_bucket_policy(Bucket=bucket, Policy=trail_policy(bucket, prefix))
    return bucket


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def clients(server):
    return server.client("cloudtrail"), server.client("s3"), server.client("kms")


def name() -> str:
    return f"trail-{uuid.uuid4().hex[:10]}"


def test_trail_lifecycle(clients):
    ct, s3, _ = clients
    bucket = trail_bucket(s3, "logs")
    n = name()
    created = ct.create_trail(
        Name=n,
        S3BucketName=bucket,
        S3KeyPrefix="logs",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        TagsList=[{"Key": "team", "Value": "sec"}],
    )
    arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{n}"
    assert created["TrailARN"] == arn
    assert created["LogFileValidationEnabled"] is True
    trail = ct.get_trail(Name=n)["Trail"]
    assert trail["HomeRegion"] == "us-east-1" and trail["S3KeyPrefix"] == "logs"
    assert trail["IsMultiRegionTrail"] is True
    assert any(t["TrailARN"] == arn for t in ct.describe_trails()["trailList"])
    assert any(t["TrailARN"] == arn for t in ct.list_trails()["Trails"])
    assert ct.get_trail_status(Name=n)["IsLogging"] is False
    ct.start_logging(Name=arn)
    status = ct.get_trail_status(Name=n)
    assert status["IsLogging"] is True and "StartLoggingTime" in status
    ct.stop_logging(Name=n)
    status = ct.get_trail_status(Name=n)
    assert status["IsLogging"] is False and "StopLoggingTime" in status
    ct.update_trail(
        Name=n,
        S3KeyPrefix="logs",
        CloudWatchLogsLogGroupArn="arn:aws:logs:us-east-1:000000000000:log-group:ct:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ct",
    )
    assert ct.get_trail(Name=n)["Trail"]["CloudWatchLogsLogGroupArn"].endswith("log-group:ct:*")
    tags = ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert tags == [{"Key": "team", "Value": "sec"}]
    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "env", "Value": "prod"}])
    ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "team"}])
    tags = ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert tags == [{"Key": "env", "Value": "prod"}]
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name=n, S3BucketName=bucket, S3KeyPrefix="logs")
    assert code(err) == "TrailAlreadyExistsException"
    assert f"Trail {n} already exists for customer: {ACCOUNT}" in str(err.value)
    ct.delete_trail(Name=n)
    with pytest.raises(ClientError) as err:
        ct.get_trail(Name=n)
    assert code(err) == "TrailNotFoundException"
    assert f"Unknown trail: {arn} for the user: {ACCOUNT}" in str(err.value)


def test_shadow_trail_and_home_region(server, clients):
    ct, s3, _ = clients
    bucket = trail_bucket(s3)
    n = name()
    ct.create_trail(Name=n, S3BucketName=bucket, IsMultiRegionTrail=True)
    west = server.client("cloudtrail", region_name="eu-west-1")
    assert west.get_trail(Name=n)["Trail"]["HomeRegion"] == "us-east-1"
    with pytest.raises(ClientError) as err:
        west.start_logging(Name=n)
    assert code(err) == "InvalidHomeRegionException"
    single = name()
    ct.create_trail(Name=single, S3BucketName=bucket)
    assert all(t["Name"] != single for t in west.describe_trails()["trailList"])


def test_create_trail_checks(clients):
    ct, s3, kms = clients
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name="ab", S3BucketName="x")
    assert code(err) == "InvalidTrailNameException"
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name="bad--name", S3BucketName="x")
    assert code(err) == "InvalidTrailNameException"
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name=name(), S3BucketName=f"missing-{uuid.uuid4().hex[:8]}")
    assert code(err) == "S3BucketDoesNotExistException"
    plain = new_bucket(s3, "ct")
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name=name(), S3BucketName=plain)
    assert code(err) == "InsufficientS3BucketPolicyException"
    # the policy allows another prefix only
    bucket = trail_bucket(s3, "other")
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name=name(), S3BucketName=bucket, S3KeyPrefix="logs")
    assert code(err) == "InsufficientS3BucketPolicyException"
    bucket = trail_bucket(s3)
    key = kms.create_key()["KeyMetadata"]["Arn"]  # default key policy: no CloudTrail
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name=name(), S3BucketName=bucket, KmsKeyId=key)
    assert code(err) == "InsufficientEncryptionPolicyException"
    with pytest.raises(ClientError) as err:
        ct.get_trail_status(Name=name())
    assert code(err) == "TrailNotFoundException"


def test_kms_key_must_be_in_the_bucket_region(server, clients):
    from tests.e2e.test_cloudtrail_delivery import key_policy

    ct, s3, kms = clients
    bucket = trail_bucket(s3)  # us-east-1
    west_key = server.client("kms", region_name="us-west-2").create_key(Policy=key_policy())
    west_arn = west_key["KeyMetadata"]["Arn"]
    n = name()
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name=n, S3BucketName=bucket, KmsKeyId=west_arn)
    assert code(err) == "KmsKeyNotFoundException"
    assert ct.describe_trails(trailNameList=[n])["trailList"] == []
    east_arn = kms.create_key(Policy=key_policy())["KeyMetadata"]["Arn"]
    ct.create_trail(Name=n, S3BucketName=bucket, KmsKeyId=east_arn)
    with pytest.raises(ClientError) as err:
        ct.update_trail(Name=n, KmsKeyId=west_arn)
    assert code(err) == "KmsKeyNotFoundException"
    assert ct.get_trail(Name=n)["Trail"]["KmsKeyId"] == east_arn


def test_event_selectors(clients):
    ct, s3, _ = clients
    bucket = trail_bucket(s3)
    n = name()
    ct.create_trail(Name=n, S3BucketName=bucket)
    got = ct.get_event_selectors(TrailName=n)
    assert got["EventSelectors"][0]["ReadWriteType"] == "All"
    ct.put_event_selectors(
        TrailName=n,
        EventSelectors=[
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": True,
                "DataResources": [
                    {"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{bucket}/"]}
                ],
            }
        ],
    )
    got = ct.get_event_selectors(TrailName=n)
    assert got["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"
    assert ct.get_trail(Name=n)["Trail"]["HasCustomEventSelectors"] is True
    advanced = [
        {
            "Name": "s3 writes",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "readOnly", "Equals": ["false"]},
            ],
        }
    ]
    ct.put_event_selectors(TrailName=n, AdvancedEventSelectors=advanced)
    got = ct.get_event_selectors(TrailName=n)
    assert got["AdvancedEventSelectors"] == advanced and "EventSelectors" not in got
    with pytest.raises(ClientError) as err:
        ct.put_event_selectors(
            TrailName=n,
            AdvancedEventSelectors=[{"FieldSelectors": [{"Field": "bogus", "Equals": ["x"]}]}],
        )
    assert code(err) == "InvalidEventSelectorsException"
    ct.delete_trail(Name=n)


def test_describe_trails_matches_names_in_this_region_and_arns_anywhere(server, clients):
    ct, s3, _ = clients
    bucket = trail_bucket(s3)
    multi, single = name(), name()
    multi_arn = ct.create_trail(Name=multi, S3BucketName=bucket, IsMultiRegionTrail=True)[
        "TrailARN"
    ]
    single_arn = ct.create_trail(Name=single, S3BucketName=bucket)["TrailARN"]
    west = server.client("cloudtrail", region_name="us-west-2")

    def described(**params) -> list[str]:
        return [t["TrailARN"] for t in west.describe_trails(**params)["trailList"]]

    assert described(trailNameList=[multi]) == []
    assert described(trailNameList=[single]) == []
    assert described(trailNameList=[single_arn]) == [single_arn]
    assert described(trailNameList=[multi_arn]) == [multi_arn]
    assert described(trailNameList=[multi_arn], includeShadowTrails=False) == []
    assert multi_arn in described() and single_arn not in described()
    assert multi_arn not in described(includeShadowTrails=False)
    home = [t["TrailARN"] for t in ct.describe_trails(trailNameList=[multi, single])["trailList"]]
    assert sorted(home) == sorted([multi_arn, single_arn])


def test_put_event_selectors_rejects_what_aws_rejects(clients):
    ct, s3, _ = clients
    n = name()
    ct.create_trail(Name=n, S3BucketName=trail_bucket(s3))
    before = ct.get_event_selectors(TrailName=n)
    before.pop("ResponseMetadata")

    def rejected(**selectors) -> None:
        with pytest.raises(ClientError) as err:
            ct.put_event_selectors(TrailName=n, **selectors)
        assert code(err) == "InvalidEventSelectorsException", selectors

    category = {"Field": "eventCategory", "Equals": ["Data"]}
    s3_objects = {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}
    for field in (
        {"Field": "readOnly", "StartsWith": ["t"]},
        {"Field": "readOnly", "Equals": ["true"], "NotEquals": ["false"]},
        {"Field": "resources.type", "NotEquals": ["AWS::S3::Object"]},
    ):
        rejected(AdvancedEventSelectors=[{"FieldSelectors": [category, field]}])
    rejected(
        AdvancedEventSelectors=[
            {"FieldSelectors": [{"Field": "eventCategory", "StartsWith": ["Man"]}]}
        ]
    )
    arns = [f"arn:aws:s3:::b{i}/" for i in range(499)]
    rejected(
        AdvancedEventSelectors=[
            {
                "FieldSelectors": [
                    category,
                    s3_objects,
                    {"Field": "resources.ARN", "StartsWith": arns},
                ]
            }
        ]
    )  # 501 values in all
    s3_values = [f"arn:aws:s3:::b{i}/" for i in range(126)]
    data = [{"Type": "AWS::S3::Object", "Values": s3_values}]
    rejected(EventSelectors=[{"DataResources": data}, {"DataResources": data}])  # 252 in all
    rejected(EventSelectors=[{"ExcludeManagementEventSources": ["s3.amazonaws.com"]}])
    rejected(
        EventSelectors=[{"DataResources": [{"Type": "AWS::SNS::Topic", "Values": ["arn:aws:sns"]}]}]
    )
    after = ct.get_event_selectors(TrailName=n)
    after.pop("ResponseMetadata")
    assert after == before

    ct.put_event_selectors(
        TrailName=n,
        AdvancedEventSelectors=[
            {
                "FieldSelectors": [
                    category,
                    s3_objects,
                    {"Field": "resources.ARN", "StartsWith": arns[:498]},
                ]
            }
        ],
    )  # 500 values: the limit
    ct.put_event_selectors(
        TrailName=n,
        EventSelectors=[
            {
                "ExcludeManagementEventSources": ["kms.amazonaws.com", "rdsdata.amazonaws.com"],
                "DataResources": [
                    {"Type": "AWS::S3::Object", "Values": s3_values + s3_values[:123]},
                    {"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]},
                ],
            }
        ],
    )  # 250 data resources: the limit


def test_tags_as_aws_checks_them(server, clients):
    ct, s3, _ = clients
    bucket = trail_bucket(s3)
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    n = name()
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name=n, S3BucketName=bucket, TagsList=too_many)
    assert code(err) == "TagsLimitExceededException"
    assert ct.describe_trails(trailNameList=[n])["trailList"] == []

    arn = ct.create_trail(Name=n, S3BucketName=bucket, IsMultiRegionTrail=True)["TrailARN"]

    def tags() -> list[dict]:
        return ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]

    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "bare"}, {"Key": "team", "Value": "sec"}])
    assert tags() == [{"Key": "bare"}, {"Key": "team", "Value": "sec"}]
    with pytest.raises(ClientError) as err:
        ct.add_tags(
            ResourceId=arn, TagsList=[{"Key": "d", "Value": "1"}, {"Key": "d", "Value": "2"}]
        )
    assert code(err) == "InvalidTagParameterException"

    west = server.client("cloudtrail", region_name="us-west-2")
    with pytest.raises(ClientError) as err:
        west.add_tags(ResourceId=arn, TagsList=[{"Key": "west", "Value": "x"}])
    assert code(err) == "CloudTrailARNInvalidException"
    with pytest.raises(ClientError) as err:
        west.remove_tags(ResourceId=arn, TagsList=[{"Key": "team"}])
    assert code(err) == "CloudTrailARNInvalidException"
    assert tags() == [{"Key": "bare"}, {"Key": "team", "Value": "sec"}]

    with pytest.raises(ClientError) as err:
        ct.list_tags(ResourceIdList=[arn] * 21)
    assert code(err) == "InvalidParameterException"
    assert len(ct.list_tags(ResourceIdList=[arn] * 20)["ResourceTagList"]) == 20
