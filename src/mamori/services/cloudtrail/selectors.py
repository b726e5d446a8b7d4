"""Event selectors: which events a trail logs.

Basic selectors (``EventSelectors``): each has ``ReadWriteType`` (All / ReadOnly / WriteOnly),
``IncludeManagementEvents``, ``ExcludeManagementEventSources`` and ``DataResources`` (S3 object
ARNs or prefixes, ``arn:aws:s3`` for every bucket, ``AWS::Lambda::Function`` ...). An event is
logged when any selector matches it.

Advanced selectors (``AdvancedEventSelectors``): each is a list of field selectors on
``eventCategory``, ``readOnly``, ``eventSource``, ``eventName``, ``resources.type``,
``resources.ARN`` (and ``eventType``, ``userIdentity.arn``, ``sessionCredentialFromConsole``);
within one field, any ``Equals``/``StartsWith``/``EndsWith`` value may match, every
``NotEquals``/``NotStartsWith``/``NotEndsWith`` value must not; all fields of a selector must hold;
any selector may match.

Which events are data events is :mod:`mamori.journal.categories`' table (S3 object-level
operations, with the object, ``AWS::S3::Object``, as resource); everything else is a management
event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mamori.errors import AwsError
from mamori.journal import categories

DEFAULT_EVENT_SELECTORS = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": [],
    }
]

S3_SOURCE = "s3.amazonaws.com"
FIELDS = {
    "eventCategory",
    "readOnly",
    "eventSource",
    "eventName",
    "eventType",
    "resources.type",
    "resources.ARN",
    "userIdentity.arn",
    "sessionCredentialFromConsole",
    "errorCode",
}
OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")
#: Fields whose only valid operator is Equals (model: AdvancedFieldSelector.Equals).
EQUALS_ONLY_FIELDS = ("readOnly", "eventCategory", "resources.type")
#: The most values all conditions of all advanced selectors of a trail may have together.
MAX_ADVANCED_VALUES = 500
#: The resource types basic selectors' DataResources may name (model: DataResource.Type).
BASIC_RESOURCE_TYPES = ("AWS::DynamoDB::Table", "AWS::Lambda::Function", "AWS::S3::Object")
#: The most data resources (values) all basic selectors of a trail may have together.
MAX_DATA_RESOURCES = 250
#: The event sources ExcludeManagementEventSources may name (model: EventSelector).
EXCLUDABLE_SOURCES = ("kms.amazonaws.com", "rdsdata.amazonaws.com")


def invalid_selectors(message: str) -> AwsError:
    return AwsError("InvalidEventSelectorsException", message)


@dataclass
class EventView:
    """What selectors look at in one journal record."""

    category: str  # Management | Data
    read_only: bool
    source: str
    name: str
    event_type: str
    resources: list[tuple[str, str]] = field(default_factory=list)  # (type, ARN)
    user_arn: str = ""
    error_code: str = ""


def _s3_object_arn(record: dict[str, Any]) -> str | None:
    params = record.get("requestParameters") or {}
    bucket = params.get("bucketName") or params.get("bucket")
    if not bucket:
        return None
    key = params.get("key") or ""
    return f"arn:aws:s3:::{bucket}/{key}"


def view(record: dict[str, Any]) -> EventView:
    source = str(record.get("eventSource") or "")
    name = str(record.get("eventName") or "")
    read_only = record.get("readOnly")
    if isinstance(read_only, str):
        read_only = read_only.lower() == "true"
    resources = [
        (str(r.get("type") or ""), str(r.get("ARN") or ""))
        for r in record.get("resources") or []
        if isinstance(r, dict)
    ]
    category = categories.event_category(source, name)
    if category == categories.DATA and source == S3_SOURCE:
        arn = _s3_object_arn(record)
        if arn is not None and not any(t == "AWS::S3::Object" for t, _ in resources):
            resources.append(("AWS::S3::Object", arn))
    identity = record.get("userIdentity") or {}
    return EventView(
        category=category,
        read_only=bool(read_only),
        source=source,
        name=name,
        event_type=str(record.get("eventType") or "AwsApiCall"),
        resources=resources,
        user_arn=str(identity.get("arn") or "") if isinstance(identity, dict) else "",
        error_code=str(record.get("errorCode") or ""),
    )


# -- validation ----------------------------------------------------------------------------------


def check_basic(selectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not 1 <= len(selectors) <= 5:
        raise invalid_selectors("You can specify between 1 and 5 event selectors.")
    normalized = []
    for sel in selectors:
        rw = sel.get("ReadWriteType", "All")
        if rw not in ("All", "ReadOnly", "WriteOnly"):
            raise invalid_selectors(f"Invalid ReadWriteType: {rw}")
        data = []
        for resource in sel.get("DataResources") or []:
            kind = resource.get("Type")
            if not kind:
                raise invalid_selectors("DataResources must specify a Type.")
            if kind not in BASIC_RESOURCE_TYPES:
                raise invalid_selectors(
                    f"Invalid DataResource type: {kind}. Basic event selectors support only "
                    f"{', '.join(BASIC_RESOURCE_TYPES)}."
                )
            values = list(resource.get("Values") or [])
            if kind == "AWS::S3::Object":
                for value in values:
                    if not value.startswith("arn:") or not (
                        value.rstrip("/") in ("arn:aws:s3", "arn:aws:s3:::")
                        or value.startswith("arn:aws:s3:::")
                    ):
                        raise invalid_selectors(
                            f"Value {value} for DataResources.Values is invalid."
                        )
            data.append({"Type": kind, "Values": values})
        excluded = list(sel.get("ExcludeManagementEventSources") or [])
        for source in excluded:
            if source not in EXCLUDABLE_SOURCES:
                raise invalid_selectors(
                    f"Invalid ExcludeManagementEventSources value: {source}. Only "
                    f"{' and '.join(EXCLUDABLE_SOURCES)} can be excluded."
                )
        normalized.append(
            {
                "ReadWriteType": rw,
                "IncludeManagementEvents": bool(sel.get("IncludeManagementEvents", True)),
                "DataResources": data,
                "ExcludeManagementEventSources": excluded,
            }
        )
    resources = sum(len(r["Values"]) for sel in normalized for r in sel["DataResources"])
    if resources > MAX_DATA_RESOURCES:
        raise invalid_selectors(
            f"A trail can have at most {MAX_DATA_RESOURCES} data resources across all event "
            f"selectors; {resources} were specified."
        )
    return normalized


def check_advanced(selectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not 1 <= len(selectors) <= 500:
        raise invalid_selectors("You can specify between 1 and 500 advanced event selectors.")
    normalized = []
    for sel in selectors:
        fields = sel.get("FieldSelectors") or []
        if not fields:
            raise invalid_selectors("An advanced event selector must have field selectors.")
        if not any(f.get("Field") == "eventCategory" for f in fields):
            raise invalid_selectors(
                "Invalid eventCategory value: each advanced event selector must include an "
                "eventCategory field."
            )
        out_fields = []
        for f in fields:
            name = f.get("Field")
            if name not in FIELDS:
                raise invalid_selectors(f"Invalid field: {name}")
            entry: dict[str, Any] = {"Field": name}
            for op in OPERATORS:
                if f.get(op):
                    entry[op] = [str(v) for v in f[op]]
            if len(entry) == 1:
                raise invalid_selectors(f"Field {name} must have at least one condition.")
            if name in EQUALS_ONLY_FIELDS and set(entry) != {"Field", "Equals"}:
                raise invalid_selectors(
                    f"Invalid operator for field {name}: Equals is the only valid operator for "
                    f"the {', '.join(EQUALS_ONLY_FIELDS)} fields."
                )
            if name == "eventCategory":
                for value in entry.get("Equals", []) + entry.get("NotEquals", []):
                    if value not in ("Management", "Data", "Insight", "NetworkActivity"):
                        raise invalid_selectors(f"Invalid eventCategory value: {value}")
            out_fields.append(entry)
        item: dict[str, Any] = {"FieldSelectors": out_fields}
        if sel.get("Name"):
            item["Name"] = sel["Name"]
        normalized.append(item)
    values = sum(
        len(f[op])
        for sel in normalized
        for f in sel["FieldSelectors"]
        for op in OPERATORS
        if op in f
    )
    if values > MAX_ADVANCED_VALUES:
        raise invalid_selectors(
            f"Advanced event selectors can have at most {MAX_ADVANCED_VALUES} values for all "
            f"conditions and selectors on a trail; {values} were specified."
        )
    return normalized


# -- matching ------------------------------------------------------------------------------------


def _rw_ok(rw: str, read_only: bool) -> bool:
    return rw == "All" or (rw == "ReadOnly") == read_only


def _data_resource_ok(resources: list[dict[str, Any]], ev: EventView) -> bool:
    for resource in resources:
        kind = resource.get("Type")
        for rtype, arn in ev.resources:
            if rtype != kind:
                continue
            for value in resource.get("Values") or []:
                if value.rstrip("/") in ("arn:aws:s3", "arn:aws:s3:::") or arn.startswith(value):
                    return True
    return False


def basic_match(selectors: list[dict[str, Any]], ev: EventView) -> bool:
    for sel in selectors:
        if not _rw_ok(sel.get("ReadWriteType", "All"), ev.read_only):
            continue
        if ev.category == "Management":
            if sel.get("IncludeManagementEvents", True) and ev.source not in (
                sel.get("ExcludeManagementEventSources") or []
            ):
                return True
        elif ev.category == "Data" and _data_resource_ok(sel.get("DataResources") or [], ev):
            return True
    return False


def _values(name: str, ev: EventView) -> list[str]:
    if name == "eventCategory":
        return [ev.category]
    if name == "readOnly":
        return ["true" if ev.read_only else "false"]
    if name == "eventSource":
        return [ev.source]
    if name == "eventName":
        return [ev.name]
    if name == "eventType":
        return [ev.event_type]
    if name == "resources.type":
        return [t for t, _ in ev.resources]
    if name == "resources.ARN":
        return [a for _, a in ev.resources]
    if name == "userIdentity.arn":
        return [ev.user_arn]
    if name == "errorCode":
        return [ev.error_code]
    return ["false"]  # sessionCredentialFromConsole


def _field_ok(f: dict[str, Any], values: list[str]) -> bool:
    if not values:
        # A condition on a field the event does not have: only negative conditions hold.
        return not any(f.get(op) for op in ("Equals", "StartsWith", "EndsWith"))
    for value in values:
        positives = [op for op in ("Equals", "StartsWith", "EndsWith") if f.get(op)]
        if positives:
            ok = (
                value in f.get("Equals", [])
                or any(value.startswith(p) for p in f.get("StartsWith", []))
                or any(value.endswith(p) for p in f.get("EndsWith", []))
            )
            if not ok:
                continue
        if value in f.get("NotEquals", []):
            continue
        if any(value.startswith(p) for p in f.get("NotStartsWith", [])):
            continue
        if any(value.endswith(p) for p in f.get("NotEndsWith", [])):
            continue
        return True
    return False


def advanced_match(selectors: list[dict[str, Any]], ev: EventView) -> bool:
    for sel in selectors:
        if all(_field_ok(f, _values(f["Field"], ev)) for f in sel["FieldSelectors"]):
            return True
    return False


def matches(config: dict[str, Any], ev: EventView) -> bool:
    advanced = config.get("AdvancedEventSelectors")
    if advanced:
        return advanced_match(advanced, ev)
    return basic_match(config.get("EventSelectors") or DEFAULT_EVENT_SELECTORS, ev)
