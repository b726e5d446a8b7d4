"""Amazon S3.

``S3Provider`` is assembled from one mixin per family of operations; the domain lives beside
it: buckets (names, defaults), objects (versions, uploads, parts), blobs (encrypted bodies on
disk), crypto and encryption (SSE-S3, SSE-KMS, SSE-C), access (bucket policies, Block Public
Access), conditions, bodies (ranges, streams).
"""

from __future__ import annotations

from mamori.services.s3 import schema  # noqa: F401 - registers S3's tables on the metadata
from mamori.services.s3.ops_buckets import BucketOps
from mamori.services.s3.ops_listing import ListingOps
from mamori.services.s3.ops_multipart import MultipartOps
from mamori.services.s3.ops_objects import ObjectOps


class S3Provider(BucketOps, ObjectOps, ListingOps, MultipartOps):
    service_name = "s3"

    def __init__(self, runtime) -> None:
        super().__init__(runtime)
        if runtime is not None:
            # The store was created before this module registered S3's tables.
            runtime.store.create_all()
