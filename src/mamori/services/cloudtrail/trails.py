"""Trails: CreateTrail ... DescribeTrails, logging on/off, event selectors, tags.

A trail lives in its home region (``arn:aws:cloudtrail:<region>:<account>:trail/<name>``); a
multi-region trail is also visible (a "shadow trail") from every other region of its account.
Changes must be made in the home region. CreateTrail and UpdateTrail check what AWS checks: the
bucket exists, its policy lets ``cloudtrail.amazonaws.com`` ``s3:GetBucketAcl`` on the bucket and
``s3:PutObject`` on ``<bucket>/[<prefix>/]AWSLogs/<account>/*`` (with the trail as
``aws:SourceArn``), and, with ``KmsKeyId``, the key policy lets CloudTrail generate data keys
(encryption context ``aws:cloudtrail:arn``).

CloudWatch Logs (``CloudWatchLogsLogGroupArn``/``CloudWatchLogsRoleArn``) is stored and returned;
delivery there plugs in at :meth:`mamori.services.cloudtrail.delivery.Delivery.deliver_to_logs`.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mamori.errors import AwsError
from mamori.services.cloudtrail import selectors
from mamori.services.cloudtrail.schema import log_files_table, trails_table
from mamori.services.s3 import buckets
from mamori.services.s3.service_access import ServiceContext, check_access

_t = trails_table.c
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
_ARN = re.compile(r"^arn:aws[a-z\-]*:cloudtrail:([a-z0-9\-]+):(\d{12}):trail/(.+)$")
_IP = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
SERVICE = "cloudtrail"
# Logging periods a trail remembers (the events of each are delivered, however often logging
# stops and starts between two deliveries).
MAX_LOGGING_INTERVALS = 100


def trail_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"


def iso(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when is not None else None


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def invalid_name(message: str) -> AwsError:
    return AwsError("InvalidTrailNameException", message)


def validate_name(name: str) -> None:
    if len(name) < 3:
        raise invalid_name(
            "Trail name too short. Minimum allowed length: 3 characters. "
            f"Specified name length: {len(name)} characters."
        )
    if len(name) > 128:
        raise invalid_name(
            "Trail name too long. Maximum allowed length: 128 characters. "
            f"Specified name length: {len(name)} characters."
        )
    if not name[0].isalnum() or not name[0].isascii():
        raise invalid_name("Trail name must starts with a letter or number.")
    if not name[-1].isalnum() or not name[-1].isascii():
        raise invalid_name("Trail name must ends with a letter or number.")
    if not _NAME.match(name):
        raise invalid_name(
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, "
            "periods (.), hyphens (-), and underscores (_)."
        )
    if re.search(r"[._\-]{2}", name):
        raise invalid_name("Trail name cannot have adjacent periods, underscores or dashes.")
    if _IP.match(name):
        raise invalid_name("Trail name cannot be formatted as an IP address.")


class Trail:
    __slots__ = ("account", "arn", "config", "name", "region", "status", "tags")

    def __init__(self, row) -> None:
        self.arn = row.arn
        self.account = row.account
        self.region = row.region
        self.name = row.name
        self.config = dict(row.config)
        self.status = dict(row.status)
        self.tags = dict(row.tags)

    @property
    def logging(self) -> bool:
        return bool(self.status.get("IsLogging"))

    @property
    def multi_region(self) -> bool:
        return bool(self.config.get("IsMultiRegionTrail"))

    @property
    def validation(self) -> bool:
        return bool(self.config.get("LogFileValidationEnabled"))

    def start_digest_chain(self, now: datetime) -> None:
        """Validation (re)starts: each region's next digest is the first of a new chain (no
        previousDigest*), covering from ``now``. AWS breaks the chain whenever validation is
        disabled or logging stops."""
        self.status["ValidationSince"] = iso(now)
        self.status.pop("Digests", None)

    def start_logging(self, now: datetime) -> None:
        self.status["IsLogging"] = True
        self.status["StartLoggingTime"] = iso(now)
        intervals = self.status.setdefault("LoggingIntervals", [])
        intervals.append([iso(now), None])
        del intervals[:-MAX_LOGGING_INTERVALS]

    def stop_logging(self, now: datetime) -> None:
        self.status["IsLogging"] = False
        self.status["StopLoggingTime"] = iso(now)
        intervals = self.status.get("LoggingIntervals")
        if intervals and intervals[-1][1] is None:
            intervals[-1][1] = iso(now)

    def covers(self, region: str, when: datetime) -> bool:
        """Was the trail logging ``region``'s events at ``when``? Every period it logged counts,
        not only the latest: a trail stopped and started again before the next delivery still
        delivers what happened while it logged before (including the StopLogging call)."""
        if not self.multi_region and region != self.region:
            return False
        intervals = self.status.get("LoggingIntervals")
        if intervals is None:  # a trail saved before its logging periods were kept
            intervals = [[self.status.get("StartLoggingTime"), self.status.get("StopLoggingTime")]]
            if self.logging:
                intervals[0][1] = None
        return any(_within(when, start, stop) for start, stop in intervals)

    def description(self) -> dict[str, Any]:
        c = self.config
        out: dict[str, Any] = {
            "Name": self.name,
            "S3BucketName": c["S3BucketName"],
            "IncludeGlobalServiceEvents": c.get("IncludeGlobalServiceEvents", True),
            "IsMultiRegionTrail": self.multi_region,
            "HomeRegion": self.region,
            "TrailARN": self.arn,
            "LogFileValidationEnabled": self.validation,
            "HasCustomEventSelectors": bool(c.get("HasCustomEventSelectors")),
            "HasInsightSelectors": False,
            "IsOrganizationTrail": False,
        }
        for key in (
            "S3KeyPrefix",
            "SnsTopicName",
            "SnsTopicARN",
            "CloudWatchLogsLogGroupArn",
            "CloudWatchLogsRoleArn",
            "KmsKeyId",
        ):
            if c.get(key):
                out[key] = c[key]
        return out

    def save(self, conn) -> None:
        conn.execute(
            trails_table.update()
            .where(_t.arn == self.arn)
            .values(config=self.config, status=self.status, tags=self.tags)
        )


def _within(when: datetime, start: str | None, stop: str | None) -> bool:
    """Whether an event of ``when`` (to the second) happened in the logging period from ``start``
    until ``stop`` (None: still logging)."""
    started = parse_iso(start)
    if started is None or when < started.replace(microsecond=0):
        return False
    stopped = parse_iso(stop)
    return stopped is None or when <= stopped


def load_trails(conn, account: str | None = None) -> list[Trail]:
    query = sa.select(trails_table)
    if account is not None:
        query = query.where(_t.account == account)
    return [Trail(r) for r in conn.execute(query.order_by(_t.arn))]


def log_prefix(config: dict[str, Any], account: str) -> str:
    prefix = config.get("S3KeyPrefix")
    return f"{prefix}/AWSLogs/{account}/" if prefix else f"AWSLogs/{account}/"


class TrailOps:
    """The trail operations of :class:`~mamori.services.cloudtrail.provider.CloudTrailProvider`."""

    runtime: Any

    # -- lookups --------------------------------------------------------------------------------

    def _find(self, conn, ctx, ref: str | None, *, home_only: bool = False) -> Trail:
        if not ref:
            raise AwsError("InvalidTrailNameException", "Trail name cannot be empty.")
        match = _ARN.match(ref)
        if match:
            region, account, name = match.groups()
            arn = ref
        else:
            validate_name(ref)
            region, account, name = ctx.region, ctx.account_id, ref
            arn = trail_arn(region, account, name)
        row = conn.execute(sa.select(trails_table).where(_t.arn == arn)).first()
        if row is None and not match:
            # A multi-region trail of another home region, by name.
            for r in conn.execute(
                sa.select(trails_table).where(_t.account == account, _t.name == name)
            ):
                if r.config.get("IsMultiRegionTrail"):
                    row = r
                    break
        if row is None or row.account != ctx.account_id:
            raise AwsError(
                "TrailNotFoundException",
                f"Unknown trail: {arn} for the user: {ctx.account_id}",
            )
        trail = Trail(row)
        if trail.region != ctx.region and not trail.multi_region:
            raise AwsError(
                "TrailNotFoundException",
                f"Unknown trail: {arn} for the user: {ctx.account_id}",
            )
        if home_only and trail.region != ctx.region:
            raise AwsError(
                "InvalidHomeRegionException",
                f"This operation must be called from the trail's home region: {trail.region}",
            )
        return trail

    # -- checks ---------------------------------------------------------------------------------

    def _check_destination(self, ctx, arn: str, config: dict[str, Any]) -> None:
        """The checks CreateTrail/UpdateTrail make on the bucket policy and the KMS key."""
        bucket = config["S3BucketName"]
        service = ServiceContext(
            self.runtime,
            service=SERVICE,
            account_id=ctx.account_id,
            region=ctx.region,
            now=ctx.now,
            source_arn=arn,
        )
        prefix = config.get("S3KeyPrefix")
        if prefix is not None and (len(prefix) > 200 or prefix.startswith("/")):
            raise AwsError("InvalidS3PrefixException", f"Invalid S3 prefix: {prefix}")
        with self.runtime.store.connect() as conn:
            try:
                check_access(service, conn, bucket, "s3:GetBucketAcl")
                check_access(
                    service,
                    conn,
                    bucket,
                    "s3:PutObject",
                    log_prefix(config, ctx.account_id) + "CloudTrail/check",
                    {"s3:x-amz-acl": "bucket-owner-full-control"},
                )
            except AwsError as error:
                if error.code == "NoSuchBucket":
                    raise AwsError(
                        "S3BucketDoesNotExistException", f"S3 bucket {bucket} does not exist."
                    ) from None
                raise AwsError(
                    "InsufficientS3BucketPolicyException",
                    f"Incorrect S3 bucket policy is detected for bucket: {bucket}",
                ) from None
            bucket_region = buckets.get(conn, bucket).region
        key_id = config.get("KmsKeyId")
        if key_id:
            key_arn = self._check_key(ctx, service, arn, bucket, key_id)
            if key_arn.split(":")[3] != bucket_region:
                # AWS: KmsKeyNotFoundException also "when the S3 bucket and the KMS key are not
                # in the same Region".
                raise AwsError(
                    "KmsKeyNotFoundException",
                    f"KMS key {key_id} is not in the Region of S3 bucket {bucket}: "
                    f"{bucket_region}.",
                )
            config["KmsKeyId"] = key_arn

    def _check_key(self, ctx, service, arn: str, bucket: str, key_id: str) -> str:
        from mamori.services.kms import api

        try:
            _, _, key_arn = api.generate_data_key(
                service, key_id, {"aws:cloudtrail:arn": arn}, via_service=SERVICE
            )
        except AwsError as error:
            if error.code in ("NotFoundException", "InvalidArnException"):
                raise AwsError("KmsKeyNotFoundException", "KMS key not found.") from None
            if error.code in ("DisabledException", "KMSInvalidStateException"):
                raise AwsError("KmsException", error.message) from None
            raise AwsError(
                "InsufficientEncryptionPolicyException",
                f"Insufficient permissions to access S3 bucket {bucket} or KMS key {key_id}.",
            ) from None
        return key_arn

    # -- operations -----------------------------------------------------------------------------

    def create_trail(self, ctx, params):
        name = params["Name"]
        validate_name(name)
        arn = trail_arn(ctx.region, ctx.account_id, name)
        ctx.authorize("cloudtrail:CreateTrail", arn)
        config: dict[str, Any] = {
            "S3BucketName": params["S3BucketName"],
            "IncludeGlobalServiceEvents": params.get("IncludeGlobalServiceEvents", True),
            "IsMultiRegionTrail": bool(params.get("IsMultiRegionTrail", False)),
            "LogFileValidationEnabled": bool(params.get("EnableLogFileValidation", False)),
            "EventSelectors": copy.deepcopy(selectors.DEFAULT_EVENT_SELECTORS),
        }
        for key in (
            "S3KeyPrefix",
            "SnsTopicName",
            "CloudWatchLogsLogGroupArn",
            "CloudWatchLogsRoleArn",
            "KmsKeyId",
        ):
            if params.get(key):
                config[key] = params[key]
        if config["IsMultiRegionTrail"] and not config["IncludeGlobalServiceEvents"]:
            raise AwsError(
                "InvalidParameterCombinationException",
                "Multi-Region trail must include global service events.",
            )
        if params.get("IsOrganizationTrail"):
            raise AwsError(
                "OrganizationsNotInUseException",
                "This account is not a member of an organization.",
            )
        self._check_cloudwatch(config)
        with self.runtime.store.connect() as conn:
            if conn.execute(sa.select(_t.arn).where(_t.arn == arn)).first() is not None:
                raise AwsError(
                    "TrailAlreadyExistsException",
                    f"Trail {name} already exists for customer: {ctx.account_id}",
                )
        self._check_sns_topic(params.get("SnsTopicName"))
        self._check_destination(ctx, arn, config)
        tags = _tags_of(params.get("TagsList"))
        _check_tag_count(tags)
        status: dict[str, Any] = {"IsLogging": False}
        conn = ctx.transaction()
        try:
            conn.execute(
                trails_table.insert().values(
                    arn=arn,
                    account=ctx.account_id,
                    region=ctx.region,
                    name=name,
                    config=config,
                    status=status,
                    tags=tags,
                )
            )
        except sa.exc.IntegrityError:
            raise AwsError(
                "TrailAlreadyExistsException",
                f"Trail {name} already exists for customer: {ctx.account_id}",
            ) from None
        ctx.add_resource(arn, "AWS::CloudTrail::Trail")
        row = conn.execute(sa.select(trails_table).where(_t.arn == arn)).first()
        return _trail_output(Trail(row))

    @staticmethod
    def _check_sns_topic(topic: str | None) -> None:
        """mamori has no SNS, so no topic exists: AWS refuses a trail that names a missing one."""
        if topic:
            raise AwsError(
                "InsufficientSnsTopicPolicyException",
                "SNS Topic does not exist or the topic policy is incorrect!",
            )

    @staticmethod
    def _check_cloudwatch(config: dict[str, Any]) -> None:
        group, role = config.get("CloudWatchLogsLogGroupArn"), config.get("CloudWatchLogsRoleArn")
        if bool(group) != bool(role):
            raise AwsError(
                "InvalidCloudWatchLogsRoleArnException"
                if group
                else "InvalidCloudWatchLogsLogGroupArnException",
                "You must specify a log group and a role ARN.",
            )

    def update_trail(self, ctx, params):
        with self.runtime.store.connect() as conn:
            trail = self._find(conn, ctx, params["Name"], home_only=True)
        ctx.authorize("cloudtrail:UpdateTrail", trail.arn)
        config = trail.config
        for key in (
            "S3BucketName",
            "S3KeyPrefix",
            "SnsTopicName",
            "IncludeGlobalServiceEvents",
            "IsMultiRegionTrail",
            "CloudWatchLogsLogGroupArn",
            "CloudWatchLogsRoleArn",
            "KmsKeyId",
        ):
            if key in params:
                value = params[key]
                if value in ("", None):
                    config.pop(key, None)
                else:
                    config[key] = value
        if "EnableLogFileValidation" in params:
            enabled = bool(params["EnableLogFileValidation"])
            if enabled and not config.get("LogFileValidationEnabled") and trail.logging:
                trail.start_digest_chain(ctx.now)
            config["LogFileValidationEnabled"] = enabled
        if config.get("IsMultiRegionTrail") and not config.get("IncludeGlobalServiceEvents", True):
            raise AwsError(
                "InvalidParameterCombinationException",
                "Multi-Region trail must include global service events.",
            )
        self._check_cloudwatch(config)
        self._check_sns_topic(params.get("SnsTopicName"))
        self._check_destination(ctx, trail.arn, config)
        trail.save(ctx.transaction())
        ctx.add_resource(trail.arn, "AWS::CloudTrail::Trail")
        return _trail_output(trail)

    def delete_trail(self, ctx, params):
        with self.runtime.store.connect() as conn:
            trail = self._find(conn, ctx, params["Name"], home_only=True)
        ctx.authorize("cloudtrail:DeleteTrail", trail.arn)
        conn = ctx.transaction()
        conn.execute(trails_table.delete().where(_t.arn == trail.arn))
        conn.execute(log_files_table.delete().where(log_files_table.c.trail_arn == trail.arn))
        ctx.add_resource(trail.arn, "AWS::CloudTrail::Trail")
        return {}

    def get_trail(self, ctx, params):
        with self.runtime.store.connect() as conn:
            trail = self._find(conn, ctx, params["Name"])
        ctx.authorize("cloudtrail:GetTrail", trail.arn)
        return {"Trail": trail.description()}

    def describe_trails(self, ctx, params):
        ctx.authorize("cloudtrail:DescribeTrails", "*")
        names = set(params.get("trailNameList") or [])
        shadows = params.get("includeShadowTrails")
        with self.runtime.store.connect() as conn:
            trails = load_trails(conn, ctx.account_id)
        if names:
            # A name matches only a trail whose home is this Region; another Region's trail is
            # described only by its ARN.
            trails = [
                t for t in trails if t.arn in names or (t.name in names and t.region == ctx.region)
            ]
        else:
            trails = [t for t in trails if t.region == ctx.region or t.multi_region]
        if shadows is False:
            trails = [t for t in trails if not (t.multi_region and t.region != ctx.region)]
        return {"trailList": [t.description() for t in trails]}

    def list_trails(self, ctx, params):
        ctx.authorize("cloudtrail:ListTrails", "*")
        with self.runtime.store.connect() as conn:
            trails = load_trails(conn, ctx.account_id)
        return {
            "Trails": [{"TrailARN": t.arn, "Name": t.name, "HomeRegion": t.region} for t in trails]
        }

    def get_trail_status(self, ctx, params):
        with self.runtime.store.connect() as conn:
            trail = self._find(conn, ctx, params["Name"])
        ctx.authorize("cloudtrail:GetTrailStatus", trail.arn)
        s = trail.status
        out: dict[str, Any] = {"IsLogging": trail.logging}
        for key in (
            "LatestDeliveryTime",
            "LatestDigestDeliveryTime",
            "StartLoggingTime",
            "StopLoggingTime",
            "LatestCloudWatchLogsDeliveryTime",
        ):
            if s.get(key):
                out[key] = parse_iso(s[key])
        for key in (
            "LatestDeliveryError",
            "LatestDigestDeliveryError",
            "LatestCloudWatchLogsDeliveryError",
        ):
            if s.get(key):
                out[key] = s[key]
        if s.get("LatestDeliveryAttemptTime"):
            out["LatestDeliveryAttemptTime"] = s["LatestDeliveryAttemptTime"]
            out["LatestDeliveryAttemptSucceeded"] = s.get("LatestDeliveryAttemptSucceeded", "")
        if s.get("StartLoggingTime"):
            out["TimeLoggingStarted"] = s["StartLoggingTime"]
        if s.get("StopLoggingTime"):
            out["TimeLoggingStopped"] = s["StopLoggingTime"]
        out.setdefault("LatestNotificationAttemptTime", "")
        out.setdefault("LatestNotificationAttemptSucceeded", "")
        return out

    def start_logging(self, ctx, params):
        with self.runtime.store.connect() as conn:
            trail = self._find(conn, ctx, params["Name"], home_only=True)
        ctx.authorize("cloudtrail:StartLogging", trail.arn)
        if not trail.logging:
            trail.start_logging(ctx.now)
            if trail.validation:
                trail.start_digest_chain(ctx.now)
            conn = ctx.transaction()
            trail.save(conn)
        ctx.add_resource(trail.arn, "AWS::CloudTrail::Trail")
        return {}

    def stop_logging(self, ctx, params):
        with self.runtime.store.connect() as conn:
            trail = self._find(conn, ctx, params["Name"], home_only=True)
        ctx.authorize("cloudtrail:StopLogging", trail.arn)
        if trail.logging:
            trail.stop_logging(ctx.now)
            trail.save(ctx.transaction())
        ctx.add_resource(trail.arn, "AWS::CloudTrail::Trail")
        return {}

    def put_event_selectors(self, ctx, params):
        with self.runtime.store.connect() as conn:
            trail = self._find(conn, ctx, params["TrailName"], home_only=True)
        ctx.authorize("cloudtrail:PutEventSelectors", trail.arn)
        basic = params.get("EventSelectors")
        advanced = params.get("AdvancedEventSelectors")
        if (basic is None) == (advanced is None):
            raise AwsError(
                "InvalidParameterCombinationException",
                "You must specify either EventSelectors or AdvancedEventSelectors, but not both.",
            )
        config = trail.config
        config.pop("EventSelectors", None)
        config.pop("AdvancedEventSelectors", None)
        out: dict[str, Any] = {"TrailARN": trail.arn}
        if basic is not None:
            config["EventSelectors"] = out["EventSelectors"] = selectors.check_basic(basic)
        else:
            config["AdvancedEventSelectors"] = out["AdvancedEventSelectors"] = (
                selectors.check_advanced(advanced)
            )
        config["HasCustomEventSelectors"] = True
        trail.save(ctx.transaction())
        ctx.add_resource(trail.arn, "AWS::CloudTrail::Trail")
        return out

    def get_event_selectors(self, ctx, params):
        with self.runtime.store.connect() as conn:
            trail = self._find(conn, ctx, params["TrailName"])
        ctx.authorize("cloudtrail:GetEventSelectors", trail.arn)
        out: dict[str, Any] = {"TrailARN": trail.arn}
        if trail.config.get("AdvancedEventSelectors"):
            out["AdvancedEventSelectors"] = trail.config["AdvancedEventSelectors"]
        else:
            out["EventSelectors"] = trail.config.get(
                "EventSelectors", selectors.DEFAULT_EVENT_SELECTORS
            )
        return out

    # -- tags -----------------------------------------------------------------------------------

    def _tagged(self, ctx, arn: str, action: str, *, home_only: bool = False) -> Trail:
        match = _ARN.match(arn or "")
        if not match:
            raise AwsError("InvalidTrailNameException", f"Invalid trail ARN: {arn}")
        if home_only and match.group(1) != ctx.region:
            # AWS: a trail that applies to all Regions is tagged only from its home Region.
            raise AwsError(
                "CloudTrailARNInvalidException",
                f"Region in ARN is wrong, you can only access resources in region {ctx.region}.",
            )
        with self.runtime.store.connect() as conn:
            trail = self._find(conn, ctx, arn)
        ctx.authorize(action, trail.arn)
        return trail

    def add_tags(self, ctx, params):
        trail = self._tagged(ctx, params["ResourceId"], "cloudtrail:AddTags", home_only=True)
        trail.tags.update(_tags_of(params.get("TagsList")))
        _check_tag_count(trail.tags)
        trail.save(ctx.transaction())
        return {}

    def remove_tags(self, ctx, params):
        trail = self._tagged(ctx, params["ResourceId"], "cloudtrail:RemoveTags", home_only=True)
        for tag in params.get("TagsList") or []:
            trail.tags.pop(tag["Key"], None)
        trail.save(ctx.transaction())
        return {}

    def list_tags(self, ctx, params):
        arns = params.get("ResourceIdList") or []
        if len(arns) > MAX_LIST_TAGS_ARNS:
            raise AwsError(
                "InvalidParameterException",
                f"ResourceIdList has a limit of {MAX_LIST_TAGS_ARNS} ARNs; {len(arns)} were given.",
            )
        result = []
        for arn in arns:
            trail = self._tagged(ctx, arn, "cloudtrail:ListTags")
            result.append(
                {
                    "ResourceId": trail.arn,
                    "TagsList": [_tag(k, v) for k, v in sorted(trail.tags.items())],
                }
            )
        return {"ResourceTagList": result}


MAX_TAGS = 50
MAX_LIST_TAGS_ARNS = 20


def _tags_of(tags_list: list[dict[str, Any]] | None) -> dict[str, str | None]:
    """Key -> value (None: the tag has no value, and AWS lists it without one) of a TagsList,
    whose keys must be unique."""
    tags: dict[str, str | None] = {}
    for tag in tags_list or []:
        key = tag["Key"]
        if key in tags:
            raise AwsError(
                "InvalidTagParameterException",
                f"Tag keys must be unique; the request contains the key {key} more than once.",
            )
        tags[key] = tag.get("Value")
    return tags


def _check_tag_count(tags: dict[str, str | None]) -> None:
    if len(tags) > MAX_TAGS:
        raise AwsError(
            "TagsLimitExceededException", f"The number of tags exceeds the limit of {MAX_TAGS}."
        )


def _tag(key: str, value: str | None) -> dict[str, str]:
    return {"Key": key} if value is None else {"Key": key, "Value": value}


def _trail_output(trail: Trail) -> dict[str, Any]:
    d = trail.description()
    out = {
        k: d[k]
        for k in (
            "Name",
            "S3BucketName",
            "S3KeyPrefix",
            "SnsTopicName",
            "SnsTopicARN",
            "IncludeGlobalServiceEvents",
            "IsMultiRegionTrail",
            "TrailARN",
            "LogFileValidationEnabled",
            "CloudWatchLogsLogGroupArn",
            "CloudWatchLogsRoleArn",
            "KmsKeyId",
            "IsOrganizationTrail",
        )
        if k in d
    }
    return out
