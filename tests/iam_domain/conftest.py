"""A runtime-shaped object over a throw-away SQLite store, for IAM domain tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from mamori.iam.credentials import CredentialDirectory
from mamori.iam.identity_policies import IdentityPolicies
from mamori.store import Store
from mamori.store.resources import Resources

ACCOUNT = "111122223333"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path) -> Iterator[SimpleNamespace]:
    store = Store(tmp_path / "data", None, master_key=secrets.token_bytes(32))
    rt = SimpleNamespace(
        store=store, resources=Resources(store), credentials=CredentialDirectory(store)
    )
    rt.identity_policies = IdentityPolicies(rt)
    yield rt
    store.close()
