"""requestParameters/responseElements: the compiled redaction records exactly what the plain
walk over the model records, for every operation's input and output of every service, and for
shapes nested past the depth limit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.model import ServiceModel, Shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.gateway.redaction import ALWAYS_HIDDEN, HIDDEN, MAX_DEPTH, redact, trail_time
from mamori.service_models import SERVICES, service_model
from tests.protocols.strategies import shape_strategy
from tests.protocols.test_request_oracle import EXAMPLES, RANDOM


def reference(value: Any, shape: Shape | None, depth: int = 0) -> Any:
    """The plain recursive walk, asking the model at every step: the oracle."""
    if shape is None or depth > MAX_DEPTH:
        return None
    if shape.metadata.get("sensitive"):
        return HIDDEN
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            return None
        result = {}
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None or member_value is None:
                continue
            if member.type_name == "blob" or member.serialization.get("streaming"):
                continue
            recorded = name[0].lower() + name[1:] if name and not name[0].islower() else name
            if name in ALWAYS_HIDDEN:
                result[recorded] = HIDDEN
                continue
            redacted = reference(member_value, member, depth + 1)
            if redacted is not None:
                result[recorded] = redacted
        return result
    if shape.type_name == "list":
        if not isinstance(value, list | tuple):
            return None
        return [reference(v, shape.member, depth + 1) for v in value]
    if shape.type_name == "map":
        if not isinstance(value, dict):
            return None
        return {k: reference(v, shape.value, depth + 1) for k, v in value.items()}
    if shape.type_name == "blob":
        return None
    if shape.type_name == "timestamp":
        if isinstance(value, datetime):
            return trail_time(value if value.tzinfo else value.replace(tzinfo=UTC))
        if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-":
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
            return trail_time(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
        return value
    return value


def _shapes(name: str) -> list[Shape]:
    model = service_model(name)
    shapes = []
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        shapes += [s for s in (op.input_shape, op.output_shape) if s is not None]
    return shapes


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_compiled_redaction_records_what_the_model_walk_records(service: str) -> None:
    shapes = _shapes(service)

    @settings(
        max_examples=max(EXAMPLES * 40, 60),
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.sampled_from(shapes).flatmap(
            lambda shape: st.tuples(st.just(shape), shape_strategy(shape, max_depth=3))
        )
    )
    def check(case: tuple[Shape, Any]) -> None:
        shape, value = case
        assert redact(value, shape) == reference(value, shape)

    check()


def _recursive_model() -> ServiceModel:
    return ServiceModel(
        {
            "metadata": {"protocol": "json", "apiVersion": "2026-01-01", "endpointPrefix": "x"},
            "operations": {
                "Nest": {"name": "Nest", "input": {"shape": "Node"}, "http": {"method": "POST"}}
            },
            "shapes": {
                "Node": {
                    "type": "structure",
                    "members": {
                        "Name": {"shape": "Str"},
                        "Secret": {"shape": "Secret"},
                        "SessionToken": {"shape": "Str"},
                        "Data": {"shape": "Blob"},
                        "When": {"shape": "Ts"},
                        "Child": {"shape": "Node"},
                        "Children": {"shape": "Nodes"},
                        "ByName": {"shape": "NodeMap"},
                    },
                },
                "Nodes": {"type": "list", "member": {"shape": "Node"}},
                "NodeMap": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Node"}},
                "Str": {"type": "string"},
                "Secret": {"type": "string", "sensitive": True},
                "Blob": {"type": "blob"},
                "Ts": {"type": "timestamp"},
            },
        }
    )


def _chain(depth: int, via: str) -> dict[str, Any]:
    node: dict[str, Any] = {
        "Name": f"n{depth}",
        "Secret": "s3cr3t",
        "SessionToken": "token",
        "Data": b"bytes",
        "When": datetime(2026, 11, 3, 19, 5, 9, tzinfo=UTC),
    }
    if depth:
        child = _chain(depth - 1, via)
        if via == "Child":
            node["Child"] = child
        elif via == "Children":
            node["Children"] = [child, "not a node"]
        else:
            node["ByName"] = {"k": child}
    return node


@pytest.mark.parametrize("via", ["Child", "Children", "ByName"])
@pytest.mark.parametrize("depth", [MAX_DEPTH // 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 5])
def test_nesting_past_the_depth_limit_records_what_the_model_walk_records(via, depth) -> None:
    shape = _recursive_model().operation_model("Nest").input_shape
    value = _chain(depth, via)
    recorded = redact(value, shape)
    assert recorded == reference(value, shape)
    assert recorded["name"] == f"n{depth}"
    assert recorded["secret"] == HIDDEN and recorded["sessionToken"] == HIDDEN
    assert "data" not in recorded and recorded["when"] == "Nov 3, 2026, 7:05:09 PM"
    assert "s3cr3t" not in repr(recorded) and "token'" not in repr(recorded)
