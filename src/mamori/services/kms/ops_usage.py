"""GetKeyLastUsage: a key's last successful cryptographic use, answered from the audit journal.

Every KMS call is already journaled as its CloudTrail record, with the key it used in
``resources`` (calls made on a caller's behalf by other services, as S3's SSE-KMS
GenerateDataKey and Decrypt, too: :mod:`.api`). So the last use of a key is the newest record
of a successful cryptographic operation naming it: nothing is written on the Encrypt/Decrypt
path to track it. ``Operation``, ``Timestamp``, ``CloudTrailEventId`` and ``KmsRequestId`` are
that record's eventName, eventTime, eventID and requestID. A cross-account use is found through
the copy of its record journaled for the key owner's account, whose eventID is the owner's (as
AWS answers: "the CloudTrail event ID from the respective key owner's account"); a ReEncrypt
names both its keys, so it counts for each.

Records are group-committed a few milliseconds after their call, so a use shows a moment later
(KMS documents GetKeyLastUsage as eventually consistent).
"""

from __future__ import annotations

from typing import Any

from mamori.errors import AwsError
from mamori.iam.policy import Decision
from mamori.service_models import service_model
from mamori.services.cloudtrail.history import RETENTION, last_successful_event
from mamori.services.kms.base import KmsBase, kms_status
from mamori.services.kms.keys import when

EVENT_SOURCE = "kms.amazonaws.com"

#: The operations that count as a use: those KeyLastUsage.Operation can name (the model's enum:
#: Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, GenerateDataKeyPair*, Sign, Verify,
#: GenerateMac, VerifyMac, DeriveSharedSecret, ...). GenerateRandom names no key.
CRYPTOGRAPHIC_OPERATIONS = frozenset(
    service_model("kms")
    .operation_model("GetKeyLastUsage")
    .output_shape.members["KeyLastUsage"]
    .members["Operation"]
    .enum
)


class UsageOps(KmsBase):
    def get_key_last_usage(self, ctx, params):
        # Key ID or key ARN only ("Alias names are not supported"); any key state.
        with self._read() as conn:
            key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        if key["AWSAccountId"] != ctx.account_id:
            # "Cross-account use: No": no key policy can open it to another account.
            action = "kms:GetKeyLastUsage"
            message = Decision(False, "no_allow_resource").denial_message(
                ctx.principal.arn, action, key["Arn"]
            )
            raise kms_status(ctx, AwsError("AccessDeniedException", message))
        self._authorize(ctx, key, "kms:GetKeyLastUsage")
        created = when(key["CreationDate"])
        # TrackingStartDate: the journal answers for the last RETENTION (90 days, CloudTrail's
        # event history) and older events are pruned, so tracking starts then — or at the key's
        # creation, whichever is later (AWS: "or the date the KMS key was created, whichever is
        # later"). The journal began keeping the account's events no later than the key was
        # created (its CreateKey is journaled with it), so no earlier start needs considering.
        oldest = ctx.now - RETENTION
        last = last_successful_event(
            self.runtime.journal,
            account_id=key["AWSAccountId"],
            region=key["Arn"].split(":")[3],
            resource_name=key["Arn"],
            event_source=EVENT_SOURCE,
            event_names=CRYPTOGRAPHIC_OPERATIONS,
            # Not the creation date: eventTimes are whole seconds, so a use in the second the
            # key was created may sort before it (and no use can predate the key).
            start=oldest,
        )
        usage: dict[str, Any] = {}
        if last is not None:
            usage = {
                "Operation": last.event_name,
                "Timestamp": last.event_time,
                "CloudTrailEventId": last.event_id,
            }
            if last.request_id:
                usage["KmsRequestId"] = last.request_id
        return {
            "KeyId": key["KeyId"],
            "KeyLastUsage": usage,
            "TrackingStartDate": max(oldest, created),
            "KeyCreationDate": created,
        }
