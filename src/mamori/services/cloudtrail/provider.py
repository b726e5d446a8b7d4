"""AWS CloudTrail: the event history of every API call (``LookupEvents``).

The journal is the event history: each call's CloudTrail record lands there (mutations in their
own transaction, read-only calls group-committed within 100 ms), so an event can be looked up
about as soon as the call has answered. See :mod:`mamori.services.cloudtrail.history`.

Trails (:mod:`.trails`, event selectors in :mod:`.selectors`), delivery of log files to S3
(:mod:`.delivery`, a journal consumer run by the scheduler every
``MAMORI_CLOUDTRAIL_DELIVERY_SECONDS``), log file integrity validation (:mod:`.digest`: hourly
signed digests, ``ListPublicKeys``).
"""

from __future__ import annotations

from datetime import timedelta

from mamori.errors import AwsError
from mamori.services.cloudtrail import digest
from mamori.services.cloudtrail import schema as _schema  # noqa: F401 - registers the tables
from mamori.services.cloudtrail.delivery import Delivery, delivery_interval
from mamori.services.cloudtrail.history import EventHistory, LookupQuery
from mamori.services.cloudtrail.trails import TrailOps
from mamori.services.registry import Provider

PRUNE_INTERVAL = timedelta(hours=1)


class CloudTrailProvider(TrailOps, Provider):
    service_name = "cloudtrail"

    def __init__(self, runtime) -> None:
        super().__init__(runtime)
        runtime.store.create_all()  # the store was created before CloudTrail's tables registered
        self.history = EventHistory(runtime.store)
        self.delivery = Delivery(runtime)
        scheduler = getattr(runtime, "scheduler", None)
        if scheduler is not None:
            scheduler.every("cloudtrail.deliver", delivery_interval(), self.delivery.run)
            scheduler.every(
                "cloudtrail.prune-event-history",
                PRUNE_INTERVAL,
                lambda now: self.history.prune(now),
            )

    def lookup_events(self, ctx, params):
        ctx.authorize("cloudtrail:LookupEvents", "*")
        query = LookupQuery.from_params(params, account_id=ctx.account_id, region=ctx.region)
        return self.history.lookup(
            query,
            now=ctx.now,
            max_results=params.get("MaxResults"),
            next_token=params.get("NextToken"),
        )

    def list_public_keys(self, ctx, params):
        ctx.authorize("cloudtrail:ListPublicKeys", "*")
        start, end = params.get("StartTime"), params.get("EndTime")
        if start is not None and end is not None and start > end:
            raise AwsError("InvalidTimeRangeException", "Start time must be before end time.")
        with self.runtime.store.begin() as conn:
            digest.ensure_key(self.runtime.store, conn, ctx.region, ctx.now)
            keys = digest.public_keys(conn, ctx.region, start, end)
        return {"PublicKeyList": keys}
