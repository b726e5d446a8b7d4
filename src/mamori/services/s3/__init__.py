"""Amazon S3 with real server-side encryption: buckets, objects streamed to disk encrypted,
SSE-S3 / SSE-KMS / SSE-C, multipart uploads, bucket policies and Block Public Access."""
