"""Delivery of log files to S3 (and the seam for CloudWatch Logs), and the digest schedule.

A journal consumer with a durable cursor (``cloudtrail-delivery``) reads new records at every
delivery interval (``MAMORI_CLOUDTRAIL_DELIVERY_SECONDS``, default 60 s; run by the scheduler on
the domain clock, so time travel delivers). For each batch it groups the records every trail
logs — the trail's account; its home region, or every region for a multi-region trail; from
StartLogging until StopLogging; its event selectors — by (trail, region), and writes one gzip
file ``{"Records": [...]}`` per group under AWS's layout::

    [<prefix>/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 random alphanumerics>.json.gz

as the CloudTrail service principal (the bucket policy decides), with SSE-KMS under the trail's
``KmsKeyId`` (encryption context ``aws:cloudtrail:arn``) or else the bucket's default encryption.

Exactly once: the consumer is ``transactional``: the object rows, the log-file bookkeeping the
next digest lists, the trails' delivery status and the cursor commit in one store transaction.
A crash (SIGKILL) before the commit leaves none of them (at most an unreferenced body file), and
the next run redelivers the batch from the cursor; after the commit, the cursor is past it.

A trail whose bucket refuses a file (policy, missing bucket, KMS) gets ``LatestDeliveryError``
and that file's records are dropped for it, as AWS drops them after its retries; other trails
are unaffected. While no trail exists the cursor just follows the journal's end.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import secrets
import string
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from mamori.errors import AwsError
from mamori.journal import Consumer, categories
from mamori.journal.cursors import Cursors
from mamori.services.cloudtrail import digest, selectors
from mamori.services.cloudtrail.schema import log_files_table
from mamori.services.cloudtrail.trails import Trail, iso, load_trails, log_prefix
from mamori.services.s3 import service_access

log = logging.getLogger(__name__)

CURSOR = "cloudtrail-delivery"
GLOBAL_SOURCES = frozenset(
    {
        "iam.amazonaws.com",
        "cloudfront.amazonaws.com",
        "route53.amazonaws.com",
        "organizations.amazonaws.com",
    }
)
_ALNUM = string.ascii_letters + string.digits


def delivery_interval() -> timedelta:
    return timedelta(seconds=float(os.environ.get("MAMORI_CLOUDTRAIL_DELIVERY_SECONDS") or 60))


def _event_time(record: dict[str, Any]) -> datetime | None:
    value = record.get("eventTime")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def log_file_key(trail: Trail, region: str, now: datetime) -> str:
    account = trail.account
    suffix = "".join(secrets.choice(_ALNUM) for _ in range(16))
    return (
        f"{log_prefix(trail.config, account)}CloudTrail/{region}/{now:%Y/%m/%d}/"
        f"{account}_CloudTrail_{region}_{now:%Y%m%dT%H%MZ}_{suffix}.json.gz"
    )


def delivered_record(record: dict[str, Any], ev: selectors.EventView) -> dict[str, Any]:
    """The record as a log file carries it: a data event names the resources it acted on (its
    category is in the journal record already; set again for records journaled before it was)."""
    if ev.category != categories.DATA:
        return record
    out = dict(record)
    out["managementEvent"] = False
    out["eventCategory"] = categories.DATA
    out["resources"] = [
        {"type": t, "ARN": a, "accountId": owner}
        for (t, a), owner in zip(ev.resources, resource_owners(record, ev), strict=True)
    ]
    return out


def resource_owners(record: dict[str, Any], ev: selectors.EventView) -> list[str]:
    """The account of each of a data event's resources: as the journal named it, else the one
    in its ARN, else (an S3 object) its bucket's owner, else the recipient's."""
    named = {
        r.get("ARN"): r.get("accountId")
        for r in record.get("resources") or ()
        if isinstance(r, dict) and r.get("accountId")
    }
    bucket_owner = next(
        (named[a] for t, a in ev.resources if t == "AWS::S3::Bucket" and a in named), None
    )
    recipient = record.get("recipientAccountId")
    return [named.get(a) or _arn_account(a) or bucket_owner or recipient for _, a in ev.resources]


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] else None


class Delivery:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.cursors = Cursors(runtime.store)
        self.consumer = Consumer(
            runtime.journal,
            CURSOR,
            self._handle,
            cursors=self.cursors,
            batch_size=1000,
            transactional=True,
        )
        self._now: datetime | None = None

    # -- the scheduled job ----------------------------------------------------------------------

    def run(self, now: datetime) -> int:
        """Deliver everything the journal holds now, then the digests that are due."""
        store = self.runtime.store
        with store.connect() as conn:
            trails = load_trails(conn)
        if not trails:
            self.cursors.commit(None, CURSOR, self.runtime.journal.last_seq())
            self.consumer.position = None
            return 0
        self._now = now
        service_access.prepare(self.runtime)
        self.consumer.position = None  # reload the durable cursor (reset, other nodes)
        try:
            self.runtime.journal.flush()
        except TimeoutError:
            log.warning("cloudtrail delivery: journal not flushed; delivering what is durable")
        # The KMS calls this delivery makes (SSE-KMS log files) are journaled: they go in the
        # next delivery, as in AWS, not in this one (which would never end).
        delivered = self.consumer.run_until_idle(up_to=self.runtime.journal.last_seq())
        self.run_digests(now)
        return delivered

    def _handle(self, entries, conn) -> None:
        now = self._now or self.runtime.clock.now()
        trails = [t for t in load_trails(conn) if t.status.get("StartLoggingTime")]
        if not trails:
            return
        by_account: dict[str, list[Trail]] = defaultdict(list)
        for trail in trails:
            by_account[trail.account].append(trail)
        groups: dict[tuple[str, str], list[tuple[datetime, dict]]] = defaultdict(list)
        for entry in entries:
            record = entry.record
            candidates = by_account.get(record.get("recipientAccountId") or "")
            if not candidates:
                continue
            when = _event_time(record)
            region = record.get("awsRegion")
            if when is None or not region:
                continue
            ev = None
            for trail in candidates:
                if not trail.covers(region, when):
                    continue
                if ev is None:
                    ev = selectors.view(record)
                if ev.source in GLOBAL_SOURCES and not trail.config.get(
                    "IncludeGlobalServiceEvents", True
                ):
                    continue
                if not selectors.matches(trail.config, ev):
                    continue
                groups[(trail.arn, region)].append((when, delivered_record(record, ev)))
        if not groups:
            return
        by_arn = {t.arn: t for t in trails}
        touched: set[str] = set()
        for (arn, region), records in groups.items():
            trail = by_arn[arn]
            touched.add(arn)
            trail.status["LatestDeliveryAttemptTime"] = iso(now)
            try:
                self._write_file(conn, trail, region, records, now)
            except AwsError as error:
                trail.status["LatestDeliveryError"] = error.code
                trail.status["LatestDeliveryAttemptSucceeded"] = ""
                log.warning("cloudtrail: delivery for %s failed: %s", arn, error.message)
                continue
            trail.status["LatestDeliveryTime"] = iso(now)
            trail.status["LatestDeliveryAttemptSucceeded"] = iso(now)
            trail.status.pop("LatestDeliveryError", None)
            self.deliver_to_logs(trail, region, [r for _, r in records])
        for arn in touched:
            by_arn[arn].save(conn)

    def _write_file(self, conn, trail: Trail, region: str, records, now: datetime) -> None:
        body = json.dumps(
            {"Records": [r for _, r in records]}, separators=(",", ":"), default=str
        ).encode()
        key = log_file_key(trail, region, now)
        bucket = trail.config["S3BucketName"]
        ctx = service_access.ServiceContext(
            self.runtime,
            service="cloudtrail",
            account_id=trail.account,
            region=region,
            now=now,
            source_arn=trail.arn,
        )
        kms_key = trail.config.get("KmsKeyId")
        service_access.put_object(
            ctx,
            conn,
            bucket=bucket,
            key=key,
            body=gzip.compress(body, mtime=0),
            content_type="application/json",
            kms_key_id=kms_key,
            kms_context={"aws:cloudtrail:arn": trail.arn} if kms_key else None,
        )
        if trail.validation:
            self._remember_for_digest(conn, trail, region, key, body, records, now)

    @staticmethod
    def _remember_for_digest(conn, trail: Trail, region: str, key: str, body, records, now):
        """Book a log file for the next digest. Only files delivered while log file validation
        is on are ever digested (AWS: none "for log files that were delivered during a period
        in which log file integrity validation was disabled")."""
        times = [when for when, _ in records]
        conn.execute(
            log_files_table.insert().values(
                trail_arn=trail.arn,
                region=region,
                bucket=trail.config["S3BucketName"],
                key=key,
                hash=hashlib.sha256(body).hexdigest(),
                oldest=min(times),
                newest=max(times),
                delivered=now,
                digested=False,
            )
        )

    def deliver_to_logs(self, trail: Trail, region: str, records: list[dict[str, Any]]) -> None:
        """The CloudWatch Logs seam (issue 6, item 6): when a trail has a
        ``CloudWatchLogsLogGroupArn``, AWS also sends its records to that log group, assuming
        ``CloudWatchLogsRoleArn``, in a log stream ``<account>_CloudTrail_<region>``. mamori has
        no CloudWatch Logs yet; once it does, put the records here (``logs:PutLogEvents`` as the
        role) and set ``LatestCloudWatchLogsDeliveryTime``/``...Error`` in ``trail.status``
        (saved by the caller, in the delivery's transaction)."""
        return None

    # -- digests --------------------------------------------------------------------------------

    def run_digests(self, now: datetime) -> int:
        written = 0
        with self.runtime.store.begin() as conn:
            for trail in load_trails(conn):
                active = trail.validation and trail.logging
                # A trail that stopped logging or validating still gets the last digest of its
                # chain for the files delivered while it validated; then the chain ends.
                regions = (
                    digest.digest_regions(conn, trail)
                    if active
                    else digest.pending_regions(conn, trail)
                )
                changed = False
                for region in sorted(regions):
                    try:
                        if digest.deliver_digest(self.runtime, conn, trail, region, now):
                            written += 1
                            changed = True
                            trail.status["LatestDigestDeliveryTime"] = iso(now)
                            trail.status.pop("LatestDigestDeliveryError", None)
                            if not active:
                                digest.end_chain(trail, region)
                    except AwsError as error:
                        trail.status["LatestDigestDeliveryError"] = error.code
                        changed = True
                if changed:
                    trail.save(conn)
        return written
