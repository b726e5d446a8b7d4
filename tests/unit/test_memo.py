"""PerObject: worked out once per object, by identity, within a bound."""

from __future__ import annotations

from mamori.memo import PerObject


class Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, name: str) -> None:
        self.name = name


def test_computed_once_per_object_and_by_identity_not_equality():
    calls: list[str] = []

    def compute(obj: Unhashable) -> str:
        calls.append(obj.name)
        return obj.name.upper()

    memo = PerObject(compute)
    a, twin = Unhashable("a"), Unhashable("a")
    assert memo(a) == "A" and memo(a) == "A"
    assert memo(twin) == "A"
    assert calls == ["a", "a"]  # the twin is another object: computed for it too


def test_a_full_memo_starts_again_and_still_answers():
    calls: list[int] = []
    memo = PerObject(lambda obj: calls.append(1) or obj.name, max_entries=2)
    objects = [Unhashable(str(i)) for i in range(3)]
    assert [memo(o) for o in objects] == ["0", "1", "2"]
    assert memo(objects[2]) == "2" and len(calls) == 3  # the newest entry stays
    assert memo(objects[0]) == "0" and len(calls) == 4  # the oldest was dropped
    memo.clear()
    assert memo(objects[2]) == "2" and len(calls) == 5
