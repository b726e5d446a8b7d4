"""Work that falls due on the domain clock: the end of a pending-deletion window (the key
material is destroyed and the key is gone), automatic rotation, and the expiry of imported key
material. Each is journaled as CloudTrail records it: an ``AwsServiceEvent`` (DeleteKey,
RotateKey, DeleteExpiredKeyMaterial) in the key's account."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from mamori.journal.journal import new_event_id
from mamori.services.kms.keys import ALIAS_TYPE, GRANT_TYPE, KEY_TYPE, iso, when
from mamori.services.kms.keystore import clear_due, due_work, set_due

log = logging.getLogger(__name__)

INTERVAL = timedelta(seconds=5)


def service_event(key: dict[str, Any], name: str, now: datetime, details: dict | None = None):
    account, region = key["AWSAccountId"], key["Arn"].split(":")[3]
    record = {
        "eventVersion": "1.11",
        "userIdentity": {"accountId": account, "invokedBy": "kms.amazonaws.com"},
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "kms.amazonaws.com",
        "userAgent": "kms.amazonaws.com",
        "requestParameters": None,
        "responseElements": None,
        "eventID": new_event_id(),
        "readOnly": False,
        "resources": [{"ARN": key["Arn"], "accountId": account, "type": KEY_TYPE}],
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if details:
        record["serviceEventDetails"] = details
    return record


class KmsJobs:
    def __init__(self, provider) -> None:
        self.provider = provider
        self.runtime = provider.runtime

    def run(self, now: datetime) -> None:
        store = self.runtime.store
        with store.connect() as conn:
            work = due_work(conn, now)
        for key_id, kind, account, region in work:
            try:
                with store.begin() as conn:
                    self._one(conn, key_id, kind, account, region, now)
            except Exception:
                log.exception("kms: %s of key %s failed", kind, key_id)

    def _one(self, conn, key_id: str, kind: str, account: str, region: str, now: datetime):
        resources = self.runtime.resources
        key = resources.get(conn, account, region, KEY_TYPE, key_id)
        if key is None:
            clear_due(conn, key_id)
            return
        if kind == "delete":
            if key["KeyState"] != "PendingDeletion" or when(key["DeletionDate"]) > now:
                return
            self.delete(conn, key, now)
        elif kind == "rotate":
            self.rotate(conn, key, now)
        elif kind == "expire":
            material = next((m for m in key["Materials"] if m["Id"] == key.get("Current")), None)
            if material is None or not material.get("ValidTo") or when(material["ValidTo"]) > now:
                set_due(conn, key, "expire", None)
                return
            self.provider.delete_imported_material(conn, key)
            self._save(conn, key, now)
            self._journal(conn, service_event(key, "DeleteExpiredKeyMaterial", now))

    def delete(self, conn, key: dict[str, Any], now: datetime) -> None:
        """The end of the waiting period: material destroyed, key, aliases and grants gone."""
        resources = self.runtime.resources
        account, region = key["AWSAccountId"], key["Arn"].split(":")[3]
        self.provider.materials.destroy(conn, key["KeyId"])
        for name in key.get("Aliases") or []:
            resources.delete(conn, account, region, ALIAS_TYPE, name, now)
        for grant_id, _ in resources.list(
            conn, account, region, GRANT_TYPE, id_prefix=f"{key['KeyId']}/"
        ):
            resources.delete(conn, account, region, GRANT_TYPE, grant_id, now)
        resources.delete(conn, account, region, KEY_TYPE, key["KeyId"], now)
        clear_due(conn, key["KeyId"])
        self._journal(conn, service_event(key, "DeleteKey", now))

    def rotate(self, conn, key: dict[str, Any], now: datetime) -> None:
        rotation = key.get("Rotation")
        if not rotation:
            set_due(conn, key, "rotate", None)
            return
        if key["KeyState"] != "Enabled":
            # Rotation waits while the key is disabled or pending deletion.
            set_due(conn, key, "rotate", now + timedelta(days=1))
            return
        self.provider.rotate(conn, key, now, "AUTOMATIC")
        nxt = now + timedelta(days=rotation["PeriodDays"])
        key["Rotation"] = {**rotation, "Next": iso(nxt)}
        set_due(conn, key, "rotate", nxt)
        self._save(conn, key, now)
        self._journal(conn, service_event(key, "RotateKey", now, {"keyMaterialId": key["Current"]}))

    def _save(self, conn, key: dict[str, Any], now: datetime) -> None:
        self.runtime.resources.put(
            conn,
            account=key["AWSAccountId"],
            region=key["Arn"].split(":")[3],
            type=KEY_TYPE,
            id=key["KeyId"],
            data=key,
            now=now,
        )

    def _journal(self, conn, record: dict) -> None:
        if self.runtime.settings.journal:
            self.runtime.journal.append_in(conn, record)
