"""The journal's indexes serve CloudTrail LookupEvents' first page as an ordered index scan.

LookupEvents: scoped by account and region, at most one lookup attribute, optional StartTime and
EndTime, newest first. Every filter must be an index range scan that needs no sort (SQLite's
query plan says so); a full scan or a temporary B-tree for ORDER BY would make the first page
cost O(events). Timings over a million events are a benchmark matter, not a test.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.sql import Select

from mamori.services.cloudtrail.history import management_events_only
from mamori.store import Store
from mamori.store.schema import journal_resources_table, journal_table

_j = journal_table.c
_r = journal_resources_table.c

START = datetime(2024, 5, 1, tzinfo=UTC)
END = datetime(2024, 5, 2, tzinfo=UTC)

_COLUMNS = {
    "EventId": _j.event_id,
    "EventName": _j.event_name,
    "ReadOnly": _j.read_only,
    "Username": _j.username,
    "EventSource": _j.event_source,
    "AccessKeyId": _j.access_key_id,
}


def lookup(attribute: str | None, value, *, window: bool) -> Select:
    """The first page of LookupEvents for one attribute (None: no attribute)."""
    if attribute in ("ResourceType", "ResourceName"):
        column = _r.resource_type if attribute == "ResourceType" else _r.resource_name
        query = (
            sa.select(_j.seq, _j.record)
            .select_from(journal_resources_table.join(journal_table, _j.seq == _r.seq))
            .where(_r.account_id == "000000000000", _r.region == "us-east-1", column == value)
            .order_by(_r.event_time.desc(), _r.seq.desc())
        )
        if window:
            query = query.where(_r.event_time >= START, _r.event_time <= END)
        return query.limit(50)
    query = sa.select(_j.seq, _j.record).where(
        _j.account_id == "000000000000", _j.region == "us-east-1"
    )
    if attribute is not None:
        query = query.where(_COLUMNS[attribute] == value)
    if window:
        query = query.where(_j.event_time >= START, _j.event_time <= END)
    return query.order_by(_j.event_time.desc(), _j.seq.desc()).limit(50)


CASES = [
    (None, None, "ix_journal_acct_time_ro"),
    ("EventId", "e-1", "sqlite_autoindex_journal_1"),
    ("EventName", "CreateKey", "ix_journal_acct_event_name"),
    ("ReadOnly", False, "ix_journal_acct_time_ro"),
    ("Username", "alice", "ix_journal_acct_username"),
    ("EventSource", "kms.amazonaws.com", "ix_journal_acct_event_source"),
    ("AccessKeyId", "AKIAALICE", "ix_journal_acct_access_key_id"),
    ("ResourceType", "AWS::KMS::Key", "ix_journal_resources_type"),
    ("ResourceName", "arn:aws:kms:us-east-1:000000000000:key/k", "ix_journal_resources_name"),
]


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("lookup"), master_key=b"k" * 32)
    yield store
    store.close()


@pytest.mark.parametrize("window", [False, True], ids=["all-time", "time-window"])
@pytest.mark.parametrize(("attribute", "value", "index"), CASES, ids=[c[0] or "-" for c in CASES])
def test_lookup_first_page_is_an_ordered_index_scan(sqlite_store, attribute, value, index, window):
    query = management_events_only(lookup(attribute, value, window=window))  # as EventHistory asks
    with sqlite_store.connect() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
    assert f"INDEX {index} " in plan[0], plan
    assert not any("TEMP B-TREE" in step or step.startswith("SCAN") for step in plan), plan
