"""AWS CloudTrail: the event history of every API call (``LookupEvents``).

The journal is the event history: each call's CloudTrail record lands there (mutations in their
own transaction, read-only calls group-committed within 100 ms), so an event can be looked up
about as soon as the call has answered. See :mod:`mamori.services.cloudtrail.history`.

Trails (delivery to S3, KMS encryption, digests) and ``ListPublicKeys`` come with S3 and KMS;
until then those operations answer the gateway's NotImplemented.
"""

from __future__ import annotations

from datetime import timedelta

from mamori.services.cloudtrail.history import EventHistory, LookupQuery
from mamori.services.registry import Provider

PRUNE_INTERVAL = timedelta(hours=1)


class CloudTrailProvider(Provider):
    service_name = "cloudtrail"

    def __init__(self, runtime) -> None:
        super().__init__(runtime)
        self.history = EventHistory(runtime.store)
        scheduler = getattr(runtime, "scheduler", None)
        if scheduler is not None:
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
