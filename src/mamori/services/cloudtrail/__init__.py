"""AWS CloudTrail: event history over the journal (trails come with S3 and KMS)."""
