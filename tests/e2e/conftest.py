"""Fixtures the live-server tests share (the server itself is in tests/conftest.py)."""

import pytest

from tests.e2e.sts_helpers import require_iam


@pytest.fixture
def iam(server):
    """The root user's IAM client (skips when the server has no IAM)."""
    require_iam(server)
    return server.client("iam")
