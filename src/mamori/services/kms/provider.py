"""AWS Key Management Service.

``KmsProvider`` is assembled from one mixin per family of operations; the domain lives beside
it: key records (:mod:`.keys`), key specs (:mod:`.specs`), primitives (:mod:`.crypto`), the
ciphertext format (:mod:`.ciphertext`), sealed material and due dates (:mod:`.keystore`),
scheduled work (:mod:`.jobs`), last usage from the audit journal (:mod:`.ops_usage`). Other
services use KMS through :mod:`.api`.
"""

from __future__ import annotations

from mamori.services.kms.jobs import INTERVAL, KmsJobs
from mamori.services.kms.ops_aliases import AliasOps
from mamori.services.kms.ops_crypto import CryptoOps
from mamori.services.kms.ops_grants import GrantOps
from mamori.services.kms.ops_import import ImportOps
from mamori.services.kms.ops_keys import KeyOps
from mamori.services.kms.ops_usage import UsageOps


class KmsProvider(KeyOps, AliasOps, CryptoOps, GrantOps, ImportOps, UsageOps):
    service_name = "kms"

    def __init__(self, runtime) -> None:
        super().__init__(runtime)
        if runtime is None:  # `mamori coverage` only looks at the methods
            return
        # KMS's tables are defined on the shared metadata when this module is imported, which
        # may be after the store was created: create what is missing (idempotent).
        runtime.store.create_all()
        self.jobs = KmsJobs(self)
        runtime.scheduler.every("kms", INTERVAL, self.jobs.run)
