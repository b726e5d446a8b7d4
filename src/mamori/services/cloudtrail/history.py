"""CloudTrail's event history: ``LookupEvents`` over the journal, and its 90-day retention.

Every call already has a CloudTrail record in the journal, with the columns LookupEvents filters
on (account, region, event name and source, read-only, username, access key, eventID) and one
``journal_resources`` row per resource. A lookup is one ordered index range scan over the
journal's LookupEvents indexes (see :mod:`mamori.store.schema`): (account, region[, value],
event_time, seq) walked backwards from the newest event; eventID through its unique index;
ResourceType/ResourceName through ``journal_resources``' indexes, joined to the journal by seq.

Order and pages: newest first by ``(event_time, seq)``. A NextToken carries the last event's
``(event_time, seq)`` and a fingerprint of the query, sealed (AES-GCM under the store's master
key), so it is opaque and tamper-evident; a token from another query, account or region is an
``InvalidNextTokenException``. New events never shift later pages (they sort before them).

Only management events: data events (:mod:`mamori.journal.categories`) stay in the journal for
trails but are never looked up, as AWS's event history does not record them.

Scope: the caller's account and the request's region. Events of global services (IAM,
CloudFront, Route 53, Organizations) are recorded in us-east-1 (see
:mod:`mamori.gateway.audit`), so, as in AWS since November 2021, they are looked up there.

Retention: events older than 90 days by the domain clock are never returned; a scheduler job
deletes them from the journal in small batches, oldest first, never past the position of the
slowest journal consumer (its durable cursor), so a consumer that lags does not lose records.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from mamori.errors import AwsError
from mamori.journal import categories
from mamori.journal.journal import JournalBase
from mamori.store.engine import Store
from mamori.store.schema import journal_cursors_table, journal_resources_table, journal_table
from mamori.store.seal import SealError

RETENTION = timedelta(days=90)
MAX_RESULTS = 50
ATTRIBUTE_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)

_j = journal_table.c
_r = journal_resources_table.c
_COLUMNS = {
    "EventId": _j.event_id,
    "EventName": _j.event_name,
    "ReadOnly": _j.read_only,
    "Username": _j.username,
    "EventSource": _j.event_source,
    "AccessKeyId": _j.access_key_id,
}
_RESOURCE_COLUMNS = {"ResourceType": _r.resource_type, "ResourceName": _r.resource_name}
_SELECTED = (
    _j.seq,
    _j.event_id,
    _j.event_time,
    _j.event_source,
    _j.event_name,
    _j.read_only,
    _j.username,
    _j.access_key_id,
    _j.record,
)
_TOKEN_CONTEXT = b"mamori cloudtrail LookupEvents NextToken v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def invalid_attributes(message: str) -> AwsError:
    return AwsError("InvalidLookupAttributesException", message)


def invalid_time_range(message: str) -> AwsError:
    return AwsError("InvalidTimeRangeException", message)


def invalid_next_token() -> AwsError:
    return AwsError("InvalidNextTokenException", "Invalid NextToken.")


@dataclass(frozen=True)
class LookupQuery:
    """What to look up: one account and region, at most one attribute, a time range."""

    account_id: str
    region: str
    attribute: tuple[str, str] | None = None  # (AttributeKey, AttributeValue)
    start: datetime | None = None
    end: datetime | None = None
    category: str | None = None  # "insight": Insights events (mamori records none)

    @classmethod
    def from_params(cls, params: dict[str, Any], *, account_id: str, region: str) -> LookupQuery:
        """The query of a LookupEvents request, checked as AWS checks it."""
        attributes = params.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise invalid_attributes("You can only specify one lookup attribute.")
        attribute = None
        if attributes:
            key = attributes[0].get("AttributeKey")
            value = attributes[0].get("AttributeValue")
            if key not in ATTRIBUTE_KEYS:
                raise invalid_attributes(f"Invalid attribute key: {key}.")
            if not value:
                raise invalid_attributes("The attribute value must not be empty.")
            attribute = (str(key), str(value))
        start = _aware(params.get("StartTime"))
        end = _aware(params.get("EndTime"))
        if start is not None and end is not None and start > end:
            raise invalid_time_range("The start time must not be after the end time.")
        category = params.get("EventCategory")
        if category is not None and category != "insight":
            raise AwsError("InvalidEventCategoryException", f"Invalid event category: {category}")
        return cls(account_id, region, attribute, start, end, category)

    def fingerprint(self) -> str:
        """Binds a NextToken to the query it continues (AWS: same parameters on every page)."""
        text = json.dumps(
            [
                self.account_id,
                self.region,
                list(self.attribute) if self.attribute else None,
                _micros(self.start) if self.start else None,
                _micros(self.end) if self.end else None,
                self.category,
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise invalid_time_range(f"Invalid time: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _micros(when: datetime) -> int:
    delta = when.astimezone(UTC) - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class EventHistory:
    """LookupEvents and retention over one store's journal."""

    def __init__(self, store: Store, retention: timedelta = RETENTION) -> None:
        self.store = store
        self.retention = retention

    # -- tokens ------------------------------------------------------------------------------------

    def _token(self, query: LookupQuery, when: datetime, seq: int) -> str:
        payload = f"{query.fingerprint()}|{_micros(when)}|{seq}".encode()
        sealed = self.store.sealer.seal(payload, _TOKEN_CONTEXT)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def _position(self, query: LookupQuery, token: str) -> tuple[datetime, int]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            fingerprint, micros, seq = (
                self.store.sealer.unseal(raw, _TOKEN_CONTEXT).decode().split("|")
            )
            position = (_from_micros(int(micros)), int(seq))
        except (SealError, ValueError, TypeError, UnicodeError):
            raise invalid_next_token() from None
        if fingerprint != query.fingerprint():
            raise invalid_next_token()
        return position

    # -- lookup ------------------------------------------------------------------------------------

    def lookup(
        self,
        query: LookupQuery,
        *,
        now: datetime,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        """One page of LookupEvents' answer: ``{"Events": [...], "NextToken": ...}``."""
        limit = MAX_RESULTS if max_results is None else int(max_results)
        if not 1 <= limit <= MAX_RESULTS:
            raise AwsError(
                "InvalidMaxResultsException",
                f"MaxResults must be between 1 and {MAX_RESULTS}.",
            )
        after = self._position(query, next_token) if next_token else None
        if query.category == "insight":
            return {"Events": []}  # no Insights events are generated (yet)
        lowest = now - self.retention
        start = lowest if query.start is None or query.start < lowest else query.start
        end = query.end
        if end is not None and end < start:
            return {"Events": []}
        with self.store.connect() as conn:
            rows = self._rows(conn, query, start, end, after, limit + 1)
            more = len(rows) > limit
            rows = rows[:limit]
            resources = self._resources(conn, [row.seq for row in rows]) if rows else {}
        result: dict[str, Any] = {"Events": [_event(row, resources.get(row.seq)) for row in rows]}
        if more:
            last = rows[-1]
            result["NextToken"] = self._token(query, last.event_time, last.seq)
        return result

    def _rows(self, conn, query, start, end, after, limit) -> list:
        attribute = query.attribute
        key = attribute[0] if attribute else None
        if key in _RESOURCE_COLUMNS:
            return self._resource_rows(conn, query, start, end, after, limit)
        table = _j
        stmt = sa.select(*_SELECTED).where(
            table.account_id == query.account_id, table.region == query.region
        )
        if attribute is not None:
            value: Any = attribute[1]
            if key == "ReadOnly":
                lowered = value.lower()
                if lowered not in ("true", "false"):
                    return []
                value = lowered == "true"
            stmt = stmt.where(_COLUMNS[key] == value)
        stmt = management_events_only(_time_range(stmt, table, start, end, after))
        stmt = stmt.order_by(table.event_time.desc(), table.seq.desc()).limit(limit)
        return conn.execute(stmt).all()

    def _resource_rows(self, conn, query, start, end, after, limit) -> list:
        """Events naming a resource of the type (or name): one journal_resources index range,
        joined to the journal by seq. An event listing two matching resources shows once."""
        column = _RESOURCE_COLUMNS[query.attribute[0]]
        rows: list = []
        seen: set[int] = set()
        while True:
            stmt = (
                sa.select(*_SELECTED)
                .select_from(journal_resources_table.join(journal_table, _j.seq == _r.seq))
                .where(
                    _r.account_id == query.account_id,
                    _r.region == query.region,
                    column == query.attribute[1],
                )
            )
            stmt = management_events_only(_time_range(stmt, _r, start, end, after))
            stmt = stmt.order_by(_r.event_time.desc(), _r.seq.desc()).limit(limit)
            batch = conn.execute(stmt).all()
            for row in batch:
                if row.seq not in seen:
                    seen.add(row.seq)
                    rows.append(row)
            if len(rows) >= limit or len(batch) < limit:
                return rows[:limit]
            after = (batch[-1].event_time, batch[-1].seq)

    @staticmethod
    def _resources(conn, seqs: Sequence[int]) -> dict[int, list[dict[str, str]]]:
        stmt = (
            sa.select(_r.seq, _r.resource_type, _r.resource_name)
            .where(_r.seq.in_(seqs))
            .order_by(_r.seq, _r.resource_type, _r.resource_name)
        )
        found: dict[int, list[dict[str, str]]] = {}
        for seq, kind, name in conn.execute(stmt):
            entry: dict[str, str] = {}
            if kind:
                entry["ResourceType"] = kind
            if name:
                entry["ResourceName"] = name
            found.setdefault(seq, []).append(entry)
        return found

    # -- retention ---------------------------------------------------------------------------------

    def prune(self, now: datetime, *, batch: int = 5000, max_batches: int = 40) -> int:
        """Delete events older than the retention period, oldest first: at most ``batch`` per
        transaction and ``batch * max_batches`` per call, never past the slowest journal
        consumer's cursor. Returns how many events were deleted.

        Walks the journal in ``seq`` order from its start (the primary key; no time index is
        needed) and stops at the first event still within retention: event times follow ``seq``
        (one forward-only clock), so an event recorded slightly out of order only waits for the
        next run."""
        cutoff = now - self.retention
        deleted = 0
        with self.store.connect() as conn:
            floor = conn.execute(sa.select(sa.func.min(journal_cursors_table.c.seq))).scalar()
        for _ in range(max_batches):
            with self.store.begin() as conn:
                stmt = sa.select(_j.seq, _j.event_time).order_by(_j.seq).limit(batch)
                if floor is not None:
                    stmt = stmt.where(_j.seq <= floor)
                seqs = []
                rows = conn.execute(stmt).all()
                for seq, when in rows:
                    if when >= cutoff:
                        break
                    seqs.append(seq)
                if seqs:
                    conn.execute(journal_resources_table.delete().where(_r.seq.in_(seqs)))
                    conn.execute(journal_table.delete().where(_j.seq.in_(seqs)))
            deleted += len(seqs)
            if len(seqs) < batch:
                break
        return deleted


@dataclass(frozen=True)
class LastEvent:
    """The newest event a :func:`last_successful_event` query found."""

    event_id: str
    event_time: datetime
    event_name: str
    request_id: str | None


def last_successful_event(
    journal: JournalBase,
    *,
    account_id: str,
    region: str,
    resource_name: str,
    event_source: str,
    event_names: Collection[str],
    start: datetime,
) -> LastEvent | None:
    """The newest event of ``account_id``/``region`` at or after ``start`` that names
    ``resource_name`` among its resources, comes from ``event_source`` with one of
    ``event_names``, and succeeded (no errorCode); None if there is none.

    Walks ``journal_resources``' name index backwards from the newest event, as a ResourceName
    lookup does, and reads only rows below the journal's commit-safe horizon (PostgreSQL), so it
    never answers from a partially committed view. Only the one row found has its record read
    (for its requestID)."""
    stmt = (
        sa.select(_j.event_id, _j.event_time, _j.event_name, _j.record)
        .select_from(journal_resources_table.join(journal_table, _j.seq == _r.seq))
        .where(
            _r.account_id == account_id,
            _r.region == region,
            _r.resource_name == resource_name,
            _j.event_source == event_source,
            _j.event_name.in_(sorted(event_names)),
            _j.error_code.is_(None),
        )
    )
    stmt = _time_range(stmt, _r, start, None, None)
    with journal.store.connect() as conn:
        horizon = journal.safe_horizon(conn)
        if horizon is not None:
            stmt = stmt.where(_r.seq <= horizon)
        stmt = stmt.order_by(_r.event_time.desc(), _r.seq.desc()).limit(1)
        row = conn.execute(stmt).first()
    if row is None:
        return None
    request_id = json.loads(row.record).get("requestID")
    return LastEvent(row.event_id, row.event_time, row.event_name, request_id)


def management_events_only(stmt):
    """The event history records no data events (AWS: "The CloudTrail Event history doesn't
    record data events"); the journal keeps them for trails."""
    for source, names in categories.DATA_EVENTS.items():
        stmt = stmt.where(
            sa.or_(
                _j.event_source.is_(None),
                _j.event_source != source,
                _j.event_name.is_(None),
                _j.event_name.not_in(sorted(names)),
            )
        )
    return stmt


def _time_range(stmt, table, start: datetime, end: datetime | None, after):
    """``start <= event_time <= end``, and strictly older than ``after`` = (event_time, seq),
    written so that the index range on event_time stays a range."""
    stmt = stmt.where(table.event_time >= start)
    if after is not None:
        when, seq = after
        if end is None or when < end:
            end = when
        stmt = stmt.where(table.event_time <= end)
        return stmt.where(sa.or_(table.event_time < when, table.seq < seq))
    if end is not None:
        stmt = stmt.where(table.event_time <= end)
    return stmt


def _event(row, resources: list[dict[str, str]] | None) -> dict[str, Any]:
    event: dict[str, Any] = {"EventId": row.event_id}
    if row.event_name is not None:
        event["EventName"] = row.event_name
    if row.read_only is not None:
        event["ReadOnly"] = "true" if row.read_only else "false"
    if row.access_key_id:
        event["AccessKeyId"] = row.access_key_id
    event["EventTime"] = row.event_time
    if row.event_source is not None:
        event["EventSource"] = row.event_source
    if row.username:
        event["Username"] = row.username
    event["Resources"] = resources or []
    event["CloudTrailEvent"] = row.record
    return event
